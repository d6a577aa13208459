//! `orcrun`: runs a Lua program.
//!
//! ```text
//! orcrun [OPTIONS] FILE.lua [ARGS...]   run a file (ARGS become `...` and `arg`)
//! orcrun [OPTIONS] -e CODE [ARGS...]    run a string
//! orcrun [OPTIONS] - [ARGS...]          run standard input
//! OPTIONS: --tier interp    run in the interpreter (the default)
//!          --tier baseline  compile each function to machine code when first called
//!          --emit mir       print the generic MIR instead of running
//!          --stats          print compile and run statistics on stderr at exit
//!          --stats-json P   write them to P as one JSON object
//! ```

use std::io::Read;
use std::process::ExitCode;

use std::sync::atomic::Ordering;
use std::time::Instant;

use lazyjit_lua::driver::{self, RunError};
use lazyjit_orc::engine::Engine;
use lazyjit_orc::OptLevel;

const USAGE: &str =
    "usage: orcrun [--tier interp|baseline] [--emit mir] [--stats] [--stats-json PATH] (FILE.lua | -e CODE | -) [ARGS...]";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tier {
    Interp,
    Baseline,
}

struct Options {
    tier: Tier,
    emit_mir: bool,
    stats: bool,
    stats_json: Option<String>,
    source: Source,
    args: Vec<String>,
}

enum Source {
    File(String),
    Code(String),
    Stdin,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut emit_mir = false;
    let mut tier = Tier::Interp;
    let mut stats = false;
    let mut stats_json = None;
    let source = loop {
        let Some(arg) = argv.next() else { return Err(USAGE.to_string()) };
        match arg.as_str() {
            "--tier" => match argv.next().as_deref() {
                Some("interp") => tier = Tier::Interp,
                Some("baseline") => tier = Tier::Baseline,
                Some(other) => return Err(format!("unknown tier '{other}' (available: interp, baseline)")),
                None => return Err("--tier needs a value".to_string()),
            },
            "--emit" => match argv.next().as_deref() {
                Some("mir") => emit_mir = true,
                Some(other) => return Err(format!("cannot emit '{other}' (available: mir)")),
                None => return Err("--emit needs a value".to_string()),
            },
            "--stats" => stats = true,
            "--stats-json" => stats_json = Some(argv.next().ok_or("--stats-json needs a path")?),
            "-e" => break Source::Code(argv.next().ok_or("-e needs a chunk of code")?),
            "-" => break Source::Stdin,
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unrecognized option '{s}'\n{USAGE}")),
            _ => break Source::File(arg),
        }
    };
    Ok(Options { tier, emit_mir, stats, stats_json, source, args: argv.collect() })
}

/// What a run did and where its time went.
#[derive(Default)]
struct RunStats {
    tier: &'static str,
    functions_defined: usize,
    functions_compiled: u64,
    parse_ns: u64,
    lower_mir_ns: u64,
    llvm_ir_ns: u64,
    llvm_opt_ns: u64,
    codegen_ns: u64,
    link_ns: u64,
    /// Wall time of the run, compile phases excluded.
    run_ns: u64,
}

impl RunStats {
    fn to_json(&self) -> String {
        let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
        format!(
            concat!(
                "{{\"tier\":\"{}\",\"functions_defined\":{},\"functions_compiled\":{},",
                "\"compiles\":{{\"baseline\":{}}},\"phase_ms\":{{\"parse\":{},\"lower_mir\":{},",
                "\"passes\":{},\"llvm_ir\":{},\"llvm_opt\":{},\"codegen\":{},\"link\":{},\"run\":{}}}}}"
            ),
            self.tier,
            self.functions_defined,
            self.functions_compiled,
            self.functions_compiled,
            ms(self.parse_ns),
            ms(self.lower_mir_ns),
            ms(0),
            ms(self.llvm_ir_ns),
            ms(self.llvm_opt_ns),
            ms(self.codegen_ns),
            ms(self.link_ns),
            ms(self.run_ns),
        )
    }
}

/// Compiles and runs the program in the chosen tier (on the VM thread).
fn run(source: &[u8], chunkname: &str, script: &str, args: &[String], tier: Tier, stats: &mut RunStats) -> Result<i32, RunError> {
    let t = Instant::now();
    let chunk = lazyjit_lua::parser::parse(source, chunkname)?;
    stats.parse_ns = t.elapsed().as_nanos() as u64;
    let t = Instant::now();
    let module = lazyjit_lua::lower::lower_chunk(&chunk, chunkname);
    stats.lower_mir_ns = t.elapsed().as_nanos() as u64;
    stats.functions_defined = module.functions.len();
    match tier {
        Tier::Interp => {
            stats.tier = "interp";
            let t = Instant::now();
            let r = driver::run_module(module, script, args);
            stats.run_ns = t.elapsed().as_nanos() as u64;
            r
        }
        Tier::Baseline => {
            stats.tier = "baseline";
            // The engine outlives the VM's run: its code is only called from within it.
            let engine = Engine::new(OptLevel::O0).map_err(|e| RunError::Engine(format!("cannot start the JIT: {e}")))?;
            let t = Instant::now();
            let r = driver::run_module_with(module, script, args, &mut |vm| {
                let last = vm.modules().len() - 1;
                engine.attach(vm, last).map_err(|e| format!("cannot set up the JIT: {e}"))
            });
            let total = t.elapsed().as_nanos() as u64;
            let s = engine.stats();
            stats.functions_compiled = s.functions_compiled.load(Ordering::Relaxed);
            stats.llvm_ir_ns = s.llvm_ir_ns.load(Ordering::Relaxed);
            stats.llvm_opt_ns = s.llvm_opt_ns.load(Ordering::Relaxed);
            stats.codegen_ns = s.codegen_ns.load(Ordering::Relaxed);
            stats.link_ns = engine.link_ns();
            let compile = stats.llvm_ir_ns + stats.llvm_opt_ns + stats.codegen_ns + stats.link_ns;
            stats.run_ns = total.saturating_sub(compile);
            r
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("orcrun: {msg}");
            return ExitCode::from(1);
        }
    };
    let (source, chunkname, script) = match &opts.source {
        Source::File(path) => match std::fs::read(path) {
            Ok(bytes) => (bytes, path.clone(), path.clone()),
            Err(e) => {
                eprintln!("orcrun: cannot open {path}: {e}");
                return ExitCode::from(1);
            }
        },
        Source::Code(code) => (code.clone().into_bytes(), "(command line)".to_string(), "-e".to_string()),
        Source::Stdin => {
            let mut buf = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
                eprintln!("orcrun: cannot read stdin: {e}");
                return ExitCode::from(1);
            }
            (buf, "stdin".to_string(), "-".to_string())
        }
    };
    if opts.emit_mir {
        return match lazyjit_lua::compile(&source, &chunkname) {
            Ok(module) => {
                print!("{}", lazyjit_ir::print_module(&module));
                ExitCode::SUCCESS
            }
            Err(diag) => {
                eprintln!("orcrun: {diag}");
                ExitCode::from(1)
            }
        };
    }
    std::panic::set_hook(Box::new(|info| eprintln!("orcrun: internal error: {info}")));
    let (args, tier) = (opts.args, opts.tier);
    let outcome = driver::on_vm_thread(move || {
        let mut stats = RunStats::default();
        let r = run(&source, &chunkname, &script, &args, tier, &mut stats);
        (r, stats)
    });
    let outcome = match outcome {
        Ok((r, stats)) => {
            if opts.stats {
                eprintln!("{}", stats.to_json());
            }
            if let Some(path) = &opts.stats_json {
                if let Err(e) = std::fs::write(path, stats.to_json() + "\n") {
                    eprintln!("orcrun: cannot write {path}: {e}");
                }
            }
            Ok(r)
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Ok(code)) => ExitCode::from(code.clamp(0, 255) as u8),
        Ok(Err(RunError::Uncaught { message, traceback })) => {
            eprintln!("orcrun: {message}");
            if let Some(tb) = traceback {
                eprintln!("{tb}");
            }
            ExitCode::from(1)
        }
        Ok(Err(e)) => {
            eprintln!("orcrun: {e}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}
