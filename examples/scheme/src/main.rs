//! `lzscheme`: runs a Scheme program with lazyjit.
//!
//! ```text
//! lzscheme [--interp] [--policy NAME|FILE.ron] [--cache-dir DIR | --no-cache]
//!          [--stats] [--trace-tier] [--trace-deopt] [--emit-mir] FILE.scm
//! ```

use std::process::ExitCode;

use lazyjit::engine::{TierPolicy, Traces};
use lazyjit_scheme::{install, jit_builder, runtime, STACK_BYTES};

const USAGE: &str = "usage: lzscheme [--interp] [--policy NAME|FILE.ron] [--cache-dir DIR | --no-cache] [--stats] [--trace-tier] [--trace-deopt] [--emit-mir] FILE.scm";

struct Options {
    interp: bool,
    policy: Option<String>,
    cache_dir: Option<String>,
    no_cache: bool,
    stats: bool,
    traces: Traces,
    emit_mir: bool,
    file: String,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options { interp: false, policy: None, cache_dir: None, no_cache: false, stats: false, traces: Traces::default(), emit_mir: false, file: String::new() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--interp" => o.interp = true,
            "--policy" => o.policy = Some(it.next().ok_or("--policy needs a name or a file")?.clone()),
            "--cache-dir" => o.cache_dir = Some(it.next().ok_or("--cache-dir needs a directory")?.clone()),
            "--no-cache" => o.no_cache = true,
            "--stats" => o.stats = true,
            "--trace-tier" => o.traces.tier = true,
            "--trace-deopt" => o.traces.deopt = true,
            "--emit-mir" => o.emit_mir = true,
            "-h" | "--help" => return Err(USAGE.into()),
            f if !f.starts_with('-') && o.file.is_empty() => o.file = f.to_string(),
            other => return Err(format!("unknown option '{other}'\n{USAGE}")),
        }
    }
    if o.file.is_empty() {
        return Err(USAGE.into());
    }
    Ok(o)
}

fn run(o: Options) -> Result<(), String> {
    let source = std::fs::read_to_string(&o.file).map_err(|e| format!("cannot read {}: {e}", o.file))?;
    if o.emit_mir {
        let module = lazyjit_scheme::compile(&source, &o.file).map_err(|e| e.to_string())?;
        print!("{}", lazyjit::mir::print_module(&module));
        return Ok(());
    }
    let policy = match &o.policy {
        Some(p) => TierPolicy::load(p)?,
        None => TierPolicy::default(),
    };
    let mut builder = jit_builder().policy(policy).traces(o.traces);
    if o.interp {
        builder = builder.interpreter_only();
    }
    if let Some(dir) = &o.cache_dir {
        builder = builder.cache_dir(dir);
    }
    if o.no_cache {
        builder = builder.no_cache();
    }
    let mut jit = builder.build().map_err(|e| e.to_string())?;
    install(&mut jit);
    let result = lazyjit_scheme::run(&mut jit, &source, &o.file);
    runtime::flush(jit.vm());
    jit.wait_idle();
    for w in jit.warnings() {
        eprintln!("lzscheme: warning: {w}");
    }
    if o.stats {
        let s = jit.stats();
        eprintln!(
            "{{\"functions\": {}, \"compiled\": {}, \"cache_hits\": {}, \"cache_misses\": {}, \"compact\": {}, \"inline\": {}, \"osr\": {}, \"optimized\": {}, \"deopts\": {}, \"collections\": {}}}",
            s.functions_defined, s.functions_compiled, s.cache_hits, s.cache_misses, s.compiles_compact, s.compiles_inline, s.compiles_osr, s.compiles_optimized, s.deopts, s.collections
        );
    }
    result
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match lazyjit::on_large_stack(STACK_BYTES, move || run(options)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("lzscheme: {e}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}
