//! `orc-inspect`: what the optimizing tier makes of a program's functions, pass by pass.
//!
//! ```text
//! orc-inspect [OPTIONS] FILE.lua|FILE.mir [--profile-run [ARGS...]]
//!   --fn NAME          only the function(s) named NAME (a Lua main chunk is `main`)
//!   --policy P         the optimizing tier of policy P (a built-in name or a RON
//!                      file; default: default): its passes and LLVM level
//!   --tier optimize    the policy's optimizing tier (the default)
//!   --tier baseline    the policy's baseline hot code: no passes, the baseline's
//!                      LLVM level
//!   --passes a,b,c     run these passes instead of the policy's
//!   --no-llvm          the MIR and the passes only (no LLVM IR, no assembly)
//!   --format text      text (the default): coloured on a terminal (see --color)
//!   --format json      one JSON object
//!   --format html      one self-contained HTML page: a function list, each pass's
//!                      before and after side by side, collapsible LLVM IR and assembly
//!   --color auto|always|never  colour in text (auto: on a terminal, unless NO_COLOR
//!                      is set)
//!   -o FILE            write the report to FILE
//!   --profile-run [ARGS...]  run the program first with ARGS (under the policy, with
//!                      its tier-ups and deoptimizations; its output discarded), so
//!                      that speculation works from the type profiles it gathered and
//!                      leaves the sites that deoptimized; without it nothing is known
//!                      and the passes that speculate do nothing
//! ```
//!
//! For each function: its MIR before the pipeline (with what the profile saw written
//! after each site and loop header); for each pass that changed it, a
//! unified diff with what the pass counted and the time it took (the passes that changed
//! nothing, in one line); the MIR after; then the LLVM IR the optimized code lowers to,
//! before and after LLVM's optimizer, and the assembly.

#[path = "../inspect/mod.rs"]
mod inspect;

use std::io::IsTerminal;
use std::process::ExitCode;

use inspect::{pipeline_of, Report};
use lazyjit_orc::engine::{Engine, EngineOptions};
use lazyjit_orc::policy::TierPolicy;

const USAGE: &str = "usage: orc-inspect [--fn NAME] [--policy P] [--tier optimize|baseline | --passes a,b,c] [--no-llvm] [--format text|json|html] [--color auto|always|never] [-o FILE] FILE.lua|FILE.mir [--profile-run [ARGS...]]";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Html,
}

struct Options {
    file: String,
    only: Option<String>,
    policy: Option<String>,
    passes: Option<Vec<String>>,
    /// `--tier baseline`.
    baseline: bool,
    llvm: bool,
    format: Format,
    /// `--color`: None for auto (colour when standard output is a terminal).
    colour: Option<bool>,
    /// `-o`: write the report here instead of standard output.
    output: Option<String>,
    /// `--profile-run` and its arguments.
    profile_run: Option<Vec<String>>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options { file: String::new(), only: None, policy: None, passes: None, baseline: false, llvm: true, format: Format::Text, colour: None, output: None, profile_run: None };
    let mut file = None;
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--fn" => opts.only = Some(argv.next().ok_or("--fn needs a function name")?),
            "--policy" => opts.policy = Some(argv.next().ok_or("--policy needs a policy name or file")?),
            "--passes" => {
                let list = argv.next().ok_or("--passes needs a comma-separated list")?;
                opts.passes = Some(list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
            }
            "--tier" => match argv.next().as_deref() {
                Some("optimize") => opts.baseline = false,
                Some("baseline") => opts.baseline = true,
                Some(other) => return Err(format!("unknown tier '{other}' (available: optimize, baseline)")),
                None => return Err("--tier needs a value".into()),
            },
            "--no-llvm" => opts.llvm = false,
            "--format" => {
                opts.format = match argv.next().as_deref() {
                    Some("text") => Format::Text,
                    Some("json") => Format::Json,
                    Some("html") => Format::Html,
                    Some(other) => return Err(format!("unknown format '{other}' (available: text, json, html)")),
                    None => return Err("--format needs a value".into()),
                }
            }
            "--color" | "--colour" => {
                opts.colour = match argv.next().as_deref() {
                    Some("auto") => None,
                    Some("always") => Some(true),
                    Some("never") => Some(false),
                    Some(other) => return Err(format!("unknown colour choice '{other}' (available: auto, always, never)")),
                    None => return Err("--color needs a value".into()),
                }
            }
            "-o" | "--output" => opts.output = Some(argv.next().ok_or("-o needs a file name")?),
            "--profile-run" => {
                opts.profile_run = Some(argv.by_ref().collect());
            }
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with('-') => return Err(format!("unrecognized option '{s}'\n{USAGE}")),
            _ if file.is_none() => file = Some(arg),
            _ => return Err(format!("unexpected argument '{arg}'\n{USAGE}")),
        }
    }
    opts.file = file.ok_or_else(|| format!("no file given\n{USAGE}"))?;
    if opts.baseline && opts.passes.is_some() {
        return Err("--tier baseline runs no passes: it excludes --passes".into());
    }
    Ok(opts)
}

/// The program as a module: Lua source, or MIR text.
fn load(file: &str) -> Result<lazyjit_ir::Module, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot open {file}: {e}"))?;
    if file.ends_with(".mir") {
        let text = String::from_utf8(bytes).map_err(|_| format!("{file}: not UTF-8"))?;
        let module = lazyjit_ir::parse_module(&text).map_err(|e| format!("{file}:{e}"))?;
        lazyjit_ir::verify_module(&module).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            format!("{file}: the module does not verify: {}", list.join("; "))
        })?;
        Ok(module)
    } else {
        lazyjit_lua::compile(&bytes, file).map_err(|d| d.to_string())
    }
}

fn run(opts: &Options) -> Result<String, String> {
    let policy = TierPolicy::load(opts.policy.as_deref().unwrap_or("default"))?;
    let (pipeline, opt) = pipeline_of(&policy, opts.passes.as_deref(), opts.baseline)?;
    let module = load(&opts.file)?;
    if let Some(name) = &opts.only {
        if !module.functions.iter().any(|f| &f.name == name) {
            return Err(format!("no function named '{name}'"));
        }
    }
    let args = opts.profile_run.clone().unwrap_or_default();
    let mut session = lazyjit_lua::driver::Session::new(&opts.file, &args);
    if opts.profile_run.is_some() {
        // The run is the policy's: its tier-ups, and the deoptimizations that mark the
        // sites not to speculate on again.
        let engine = Engine::with_options(policy.inline_opt(), policy.tiering(), EngineOptions::default()).map_err(|e| format!("cannot start the JIT: {e}"))?;
        lazyjit_lua::runtime::capture_stdout(session.vm());
        let attach = &mut |vm: &mut lazyjit_ir::interp::Vm, index| engine.attach(vm, index).map_err(|e| format!("cannot set up the JIT: {e}"));
        if let Err(e) = session.run_chunk(module, &args, false, attach) {
            eprintln!("orc-inspect: the profile run ended with an error ({e}); the profiles gathered so far are used");
        }
        engine.wait_idle();
        // The VM's code is the engine's: both live until the process ends.
        std::mem::forget(engine);
    } else {
        session.vm().load(module, &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    }
    let vm = session.vm();
    let loaded = &vm.modules()[0];
    let mir = loaded.to_module();
    let profiles = inspect::profiles(loaded, opts.profile_run.is_some());
    let functions = loaded
        .protos
        .iter()
        .filter(|p| opts.only.as_ref().is_none_or(|name| &p.mir.name == name))
        .map(|p| inspect::inspect(loaded, &mir, &profiles, p, &pipeline, opt, opts.llvm))
        .collect();
    let report = Report { file: opts.file.clone(), pipeline, opt_level: format!("{opt:?}"), profiled: opts.profile_run.is_some(), functions };
    let out = match opts.format {
        Format::Json => serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n",
        Format::Html => inspect::html::render(&report),
        Format::Text => {
            let colour = opts.colour.unwrap_or_else(|| opts.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none());
            inspect::text::render(&report, colour)
        }
    };
    // The process ends next: nothing to gain from tearing the VM down.
    std::mem::forget(session);
    Ok(out)
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("orc-inspect: {msg}");
            return ExitCode::from(2);
        }
    };
    // Deep recursion in a profile run needs the VM's large stack.
    let output = opts.output.clone();
    let outcome = lazyjit_lua::driver::on_vm_thread(move || run(&opts).map(|text| (text, output)));
    match outcome {
        Ok(Ok((text, None))) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Ok((text, Some(path)))) => match std::fs::write(&path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("orc-inspect: cannot write {path}: {e}");
                ExitCode::from(1)
            }
        },
        Ok(Err(msg)) => {
            eprintln!("orc-inspect: {msg}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}
