//! `orc-inspect`: what the optimizing tier makes of a program's functions, pass by pass.
//!
//! ```text
//! orc-inspect [OPTIONS] FILE.lua|FILE.mir [--profile-run [ARGS...]]
//!   --fn NAME          only the function(s) named NAME (a Lua main chunk is `main`)
//!   --policy P         the optimizing tier of policy P (a built-in name or a RON
//!                      file; default: default): its passes and LLVM level
//!   --passes a,b,c     run these passes instead of the policy's
//!   --no-llvm          the MIR and the passes only (no LLVM IR, no assembly)
//!   --format text|json text (default) or one JSON object
//!   --profile-run [ARGS...]  run the program first (in the interpreter, its output
//!                      discarded) with ARGS, so that speculation works from the type
//!                      profiles it gathered; without it the profiles are empty and
//!                      the passes that speculate do nothing
//! ```
//!
//! For each function: its MIR before the pipeline; for each pass that changed it, a
//! unified diff with what the pass counted and the time it took (the passes that changed
//! nothing, in one line); the MIR after; then the LLVM IR the optimized code lowers to,
//! before and after LLVM's optimizer, and the assembly.

use std::process::ExitCode;
use std::time::Instant;

use lazyjit_ir::interp::{LoadedModule, Proto};
use lazyjit_orc::lower::{lower_proto, LowerOptions};
use lazyjit_orc::policy::TierPolicy;
use lazyjit_orc::{emit_assembly, optimize_module, CodegenOptions, CpuTarget, OptLevel, RegAlloc};
use serde::Serialize;

const USAGE: &str = "usage: orc-inspect [--fn NAME] [--policy P | --passes a,b,c] [--no-llvm] [--format text|json] FILE.lua|FILE.mir [--profile-run [ARGS...]]";

struct Options {
    file: String,
    only: Option<String>,
    policy: Option<String>,
    passes: Option<Vec<String>>,
    llvm: bool,
    json: bool,
    /// `--profile-run` and its arguments.
    profile_run: Option<Vec<String>>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options { file: String::new(), only: None, policy: None, passes: None, llvm: true, json: false, profile_run: None };
    let mut file = None;
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--fn" => opts.only = Some(argv.next().ok_or("--fn needs a function name")?),
            "--policy" => opts.policy = Some(argv.next().ok_or("--policy needs a policy name or file")?),
            "--passes" => {
                let list = argv.next().ok_or("--passes needs a comma-separated list")?;
                opts.passes = Some(list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
            }
            "--no-llvm" => opts.llvm = false,
            "--format" => match argv.next().as_deref() {
                Some("text") => opts.json = false,
                Some("json") => opts.json = true,
                Some(other) => return Err(format!("unknown format '{other}' (available: text, json)")),
                None => return Err("--format needs a value".into()),
            },
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
    if opts.policy.is_some() && opts.passes.is_some() {
        return Err("--policy and --passes exclude each other".into());
    }
    Ok(opts)
}

/// One pass's effect on one function.
#[derive(Serialize)]
struct PassStep {
    pass: String,
    /// Whether the function's text changed.
    changed: bool,
    /// What the pass counted (instructions removed, guards inserted, ...).
    counts: Vec<(String, u64)>,
    ms: f64,
    /// A unified diff of the function's text (empty if unchanged).
    diff: String,
}

/// Everything shown for one function.
#[derive(Serialize)]
struct FunctionReport {
    name: String,
    line: u32,
    before: String,
    passes: Vec<PassStep>,
    after: String,
    /// The optimized code's LLVM IR before and after LLVM's optimizer, and its assembly
    /// (absent with `--no-llvm`).
    llvm: Option<String>,
    llvm_optimized: Option<String>,
    asm: Option<String>,
    /// Why the pipeline or LLVM stopped, if one did.
    error: Option<String>,
}

#[derive(Serialize)]
struct Report {
    file: String,
    pipeline: Vec<String>,
    opt_level: String,
    profiled: bool,
    functions: Vec<FunctionReport>,
}

/// The pipeline and LLVM level asked for.
fn pipeline_of(opts: &Options) -> Result<(Vec<String>, OptLevel), String> {
    let policy = TierPolicy::load(opts.policy.as_deref().unwrap_or("default"))?;
    let optimize = policy.tiering().optimize;
    // Without an optimizing tier, hot code is the baseline's inline code.
    let opt = optimize.as_ref().map_or(policy.inline_opt(), |o| o.opt);
    let pipeline = match &opts.passes {
        Some(list) => list.clone(),
        None => optimize.map(|o| o.pipeline).unwrap_or_default(),
    };
    for name in &pipeline {
        if lazyjit_passes::pass_by_name(name).is_none() {
            let available: Vec<&str> = lazyjit_passes::PASSES.iter().map(|p| p.name).collect();
            return Err(format!("unknown pass '{name}' (available: {})", available.join(", ")));
        }
    }
    Ok((pipeline, opt))
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

/// A unified diff of two texts of a function.
fn diff(before: &str, after: &str, pass: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header("before", &format!("after {pass}"))
        .to_string()
}

/// Runs the pipeline over `proto` pass by pass, then (with `llvm`) lowers the result.
/// `profiles`: every function's, by number.
fn inspect(
    loaded: &LoadedModule,
    module: &lazyjit_ir::Module,
    profiles: &[lazyjit_passes::Profile],
    proto: &Proto,
    pipeline: &[String],
    opt: OptLevel,
    llvm: bool,
) -> FunctionReport {
    let profile = &profiles[proto.index as usize];
    let cx = lazyjit_passes::Context {
        module,
        runtime: &loaded.runtime,
        profile: Some(profile),
        stands_for: &[],
        copied_from: &[],
        profiles,
        natives: &loaded.natives,
    };
    let name = proto.mir.name.clone();
    let mut f = proto.mir.clone();
    let print = |f: &lazyjit_ir::Function| lazyjit_ir::print_function_at(module, proto.index as usize, f);
    let before = print(&f);
    let mut report = FunctionReport { name, line: proto.mir.line, before: before.clone(), passes: Vec::new(), after: String::new(), llvm: None, llvm_optimized: None, asm: None, error: None };
    let mut text = before;
    for pass in pipeline {
        let t = Instant::now();
        let runs = match lazyjit_passes::run_pipeline(&cx, &mut f, &[pass.as_str()], true) {
            Ok(runs) => runs,
            Err(e) => {
                report.error = Some(e.to_string());
                break;
            }
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let now = print(&f);
        let changed = now != text;
        let counts = runs.into_iter().flat_map(|r| r.report.counts).map(|(k, n)| (k.to_string(), n)).collect();
        let diff = if changed { diff(&text, &now, pass) } else { String::new() };
        report.passes.push(PassStep { pass: pass.clone(), changed, counts, ms, diff });
        text = now;
    }
    report.after = text;
    if llvm && report.error.is_none() {
        if let Err(e) = lower_and_compile(loaded, proto, f, opt, &mut report) {
            report.error = Some(e);
        }
    }
    report
}

/// The LLVM IR and assembly of `f` (the pipeline's result) as the optimizing tier
/// compiles it: a version of `proto`, inline code at `opt`.
fn lower_and_compile(loaded: &LoadedModule, proto: &Proto, f: lazyjit_ir::Function, opt: OptLevel, report: &mut FunctionReport) -> Result<(), String> {
    let version = Box::new(loaded.decode_version(f, proto.index));
    let ctx = lazyjit_orc::inkwell::context::Context::create();
    let symbol = format!("inspect.{}", report.name);
    let opts = LowerOptions { symbol, version: Some(&*version as *const Proto as u64), ..Default::default() };
    let m = lower_proto(&ctx, &version, loaded, &opts).map_err(|e| format!("lowering: {e}"))?;
    report.llvm = Some(m.print_to_string().to_string());
    let codegen = CodegenOptions { opt, cpu: CpuTarget::Generic, regalloc: RegAlloc::Greedy };
    optimize_module(&m, &codegen).map_err(|e| e.to_string())?;
    report.llvm_optimized = Some(m.print_to_string().to_string());
    report.asm = Some(emit_assembly(&m, &codegen).map_err(|e| e.to_string())?);
    Ok(())
}

fn text_report(r: &Report) -> String {
    let mut out = String::new();
    let profile = if r.profiled { "with the profile of a run" } else { "without a profile (--profile-run gathers one)" };
    out.push_str(&format!("# {}: passes {} at LLVM {}, {profile}\n", r.file, if r.pipeline.is_empty() { "(none)".to_string() } else { r.pipeline.join(", ") }, r.opt_level));
    for f in &r.functions {
        out.push_str(&format!("\n== {} (line {})\n-- MIR before the pipeline\n{}", f.name, f.line, f.before));
        let mut unchanged = Vec::new();
        for p in &f.passes {
            if !p.changed {
                unchanged.push(p.pass.as_str());
                continue;
            }
            let counts: Vec<String> = p.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let counts = if counts.is_empty() { String::new() } else { format!(": {}", counts.join(", ")) };
            out.push_str(&format!("-- {}{counts} ({:.2} ms)\n{}", p.pass, p.ms, p.diff));
        }
        if !unchanged.is_empty() {
            out.push_str(&format!("-- changed nothing: {}\n", unchanged.join(", ")));
        }
        out.push_str(&format!("-- MIR after the pipeline\n{}", f.after));
        if let Some(ir) = &f.llvm {
            out.push_str(&format!("-- LLVM IR before LLVM's optimizer\n{ir}"));
        }
        if let Some(ir) = &f.llvm_optimized {
            out.push_str(&format!("-- LLVM IR after LLVM's optimizer\n{ir}"));
        }
        if let Some(asm) = &f.asm {
            out.push_str(&format!("-- assembly\n{asm}"));
        }
        if let Some(e) = &f.error {
            out.push_str(&format!("-- stopped: {e}\n"));
        }
    }
    out
}

fn run(opts: &Options) -> Result<String, String> {
    let (pipeline, opt) = pipeline_of(opts)?;
    let module = load(&opts.file)?;
    if let Some(name) = &opts.only {
        if !module.functions.iter().any(|f| &f.name == name) {
            return Err(format!("no function named '{name}'"));
        }
    }
    let args = opts.profile_run.clone().unwrap_or_default();
    let mut session = lazyjit_lua::driver::Session::new(&opts.file, &args);
    if opts.profile_run.is_some() {
        lazyjit_lua::runtime::capture_stdout(session.vm());
        if let Err(e) = session.run_chunk(module, &args, false, &mut |_, _| Ok(())) {
            eprintln!("orc-inspect: the profile run ended with an error ({e}); the profiles gathered so far are used");
        }
    } else {
        session.vm().load(module, &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    }
    let vm = session.vm();
    let loaded = &vm.modules()[0];
    let mir = loaded.to_module();
    let profiles: Vec<lazyjit_passes::Profile> = loaded.protos.iter().map(lazyjit_passes::Profile::of).collect();
    let functions = loaded
        .protos
        .iter()
        .filter(|p| opts.only.as_ref().is_none_or(|name| &p.mir.name == name))
        .map(|p| inspect(loaded, &mir, &profiles, p, &pipeline, opt, opts.llvm))
        .collect();
    let report = Report { file: opts.file.clone(), pipeline, opt_level: format!("{opt:?}"), profiled: opts.profile_run.is_some(), functions };
    let out = if opts.json {
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n"
    } else {
        text_report(&report)
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
    let outcome = lazyjit_lua::driver::on_vm_thread(move || run(&opts));
    match outcome {
        Ok(Ok(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Err(msg)) => {
            eprintln!("orc-inspect: {msg}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}
