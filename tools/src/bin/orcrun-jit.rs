//! `orcrun-jit`: `orcrun` with the JIT linked in (see `cli.rs` for the options);
//! `orcrun` runs it for the compiling tiers.

#[path = "../cli.rs"]
mod cli;

#[path = "../repl.rs"]
mod repl;

#[path = "../alloc.rs"]
mod alloc;

// `--emit mir-opt` runs the pipeline as orc-inspect does (its renderings unused here).
#[allow(dead_code)]
#[path = "../inspect/mod.rs"]
mod inspect;

#[global_allocator]
static ALLOCATOR: alloc::ToolAlloc = alloc::ToolAlloc;

use std::sync::atomic::Ordering;
use std::time::Instant;

use lazyjit_lua::driver::{self, RunError};
use std::process::ExitCode;
use std::sync::Arc;

use lazyjit_cache::ObjectCache;
use lazyjit_orc::engine::{Ahead, Engine, EngineOptions, Shape, Tiering, Traces};
use lazyjit_orc::policy::TierPolicy;
use lazyjit_orc::{CodegenOptions, CpuTarget, OptLevel, RegAlloc};

/// The tiering and inline-code level for `tier` (a policy's, for [`cli::Tier::Policy`]),
/// and the policy whose cache settings apply (the default one for the other tiers).
fn tiering_of(tier: cli::Tier, policy: Option<&str>) -> Result<(Tiering, OptLevel, TierPolicy), String> {
    Ok(match tier {
        cli::Tier::Compact => (Tiering::only(Shape::Compact), OptLevel::O0, TierPolicy::default()),
        cli::Tier::Inline => (Tiering::only(Shape::Inline), OptLevel::O0, TierPolicy::default()),
        cli::Tier::Eager => (Tiering::eager(), OptLevel::O0, TierPolicy::default()),
        cli::Tier::Policy => {
            let p = TierPolicy::load(policy.unwrap_or("default"))?;
            (p.tiering(), p.inline_opt(), p)
        }
        _ => (Tiering::default(), OptLevel::O0, TierPolicy::default()),
    })
}

/// The cache `choice` and `policy` call for (`None`: no caching).
fn open_cache(choice: &cli::CacheChoice, policy: &TierPolicy) -> Option<Arc<ObjectCache>> {
    if choice.off {
        return None;
    }
    let config = policy.cache_config(choice.dir.as_ref().map(Into::into))?;
    Some(Arc::new(ObjectCache::open(config)))
}

/// Prints the cache's warnings (each once) on standard error.
fn report_cache_warnings(engine: &Engine) {
    for w in engine.cache().map(|c| c.take_warnings()).unwrap_or_default() {
        eprintln!("orcrun: warning: {w}");
    }
}

/// An engine for `config`: its tier or policy, traces and cache.
fn start_engine(config: &cli::JitConfig) -> Result<Engine, String> {
    let (tiering, opt, policy) = tiering_of(config.tier, config.policy.as_deref())?;
    let options = EngineOptions { debugger: config.gdb };
    let engine = Engine::with_options(opt, tiering, options).map_err(|e| format!("cannot start the JIT: {e}"))?;
    engine.set_traces(Traces { tier: config.traces.tier, deopt: config.traces.deopt });
    engine.set_code_log(config.perf);
    if let Some(cache) = open_cache(&config.cache, &policy) {
        engine.set_cache(cache);
    }
    Ok(engine)
}

/// Writes the engine's code map where `perf report` looks for it (`/tmp/perf-PID.map`).
fn write_perf_map(engine: &Engine) {
    let path = format!("/tmp/perf-{}.map", std::process::id());
    if let Err(e) = std::fs::write(&path, engine.perf_map()) {
        eprintln!("orcrun: cannot write {path}: {e}");
    }
}

/// Sets the engine's counters and compile phase times in `stats`.
fn fill_stats(engine: &Engine, stats: &mut cli::RunStats) {
    let s = engine.stats();
    stats.functions_shared = s.functions_shared.load(Ordering::Relaxed);
    stats.functions_compiled = s.functions_compiled.load(Ordering::Relaxed);
    stats.cache_hits = s.cache_hits.load(Ordering::Relaxed);
    stats.cache_misses = s.cache_misses.load(Ordering::Relaxed);
    stats.optimized_cache_hits = s.optimized_cache_hits.load(Ordering::Relaxed);
    stats.optimized_cache_misses = s.optimized_cache_misses.load(Ordering::Relaxed);
    stats.precompiled = s.precompiled.load(Ordering::Relaxed);
    stats.first_calls_ready = s.first_calls_ready.load(Ordering::Relaxed);
    stats.first_calls_waited = s.first_calls_waited.load(Ordering::Relaxed);
    stats.compiles_compact = s.compiles_compact.load(Ordering::Relaxed);
    stats.compiles_inline = s.compiles_inline.load(Ordering::Relaxed);
    stats.compiles_osr = s.compiles_osr.load(Ordering::Relaxed);
    stats.compiles_optimized = s.compiles_optimized.load(Ordering::Relaxed);
    stats.deopts = s.deopts.load(Ordering::Relaxed);
    stats.passes_ns = s.passes_ns.load(Ordering::Relaxed);
    stats.llvm_ir_ns = s.llvm_ir_ns.load(Ordering::Relaxed);
    stats.llvm_opt_ns = s.llvm_opt_ns.load(Ordering::Relaxed);
    stats.codegen_ns = s.codegen_ns.load(Ordering::Relaxed);
    stats.link_ns = engine.link_ns();
}

/// The engine of an interactive session: every input's module is attached to it;
/// `perf`: a perf map is written at the end.
struct ReplEngine(Engine, bool);

impl repl::Host for ReplEngine {
    fn attach(&mut self, vm: &mut lazyjit_ir::interp::Vm, module: usize) -> Result<(), String> {
        self.0.attach(vm, module).map_err(|e| format!("cannot set up the JIT: {e}"))
    }

    fn counters(&mut self, stats: &mut cli::RunStats) {
        self.0.wait_idle();
        fill_stats(&self.0, stats);
    }

    fn report(&mut self) {
        for e in self.0.errors() {
            eprintln!("orcrun: JIT: {e}");
        }
        report_cache_warnings(&self.0);
    }

    fn finish(&mut self) {
        self.0.wait_idle();
        if self.1 {
            write_perf_map(&self.0);
        }
        self.report();
    }
}

fn repl_host(config: &cli::JitConfig) -> Result<Box<dyn repl::Host>, String> {
    Ok(Box::new(ReplEngine(start_engine(config)?, config.perf)))
}

/// Runs `module` compiled lazily: under a policy, or in the baseline tier's code shapes
/// that `tier` asks for (generic inline code at O0).
fn run_jit(
    module: lazyjit_ir::Module,
    script: &str,
    args: &[String],
    config: &cli::JitConfig,
    stats: &mut cli::RunStats,
) -> Result<i32, RunError> {
    let engine = start_engine(config).map_err(RunError::Engine)?;
    let traces = config.traces;
    let t = Instant::now();
    // Background compiles still running when the program ends are waited for only when
    // something reports on them; else the process ends without them.
    let wait = stats.reported || traces.tier || traces.deopt || config.perf;
    let r = driver::run_module_with(
        module,
        script,
        args,
        &mut |vm| {
            let last = vm.modules().len() - 1;
            engine.attach(vm, last).map_err(|e| format!("cannot set up the JIT: {e}"))?;
            cli::arm_time_limit(vm);
            Ok(())
        },
        !wait,
    );
    if !wait {
        cli::LEFT_COMPILING.store(true, Ordering::Release);
        engine.flush_cache();
        for e in engine.errors() {
            eprintln!("orcrun: JIT: {e}");
        }
        report_cache_warnings(&engine);
        std::mem::forget(engine);
        return r;
    }
    engine.wait_idle();
    let total = t.elapsed().as_nanos() as u64;
    if config.perf {
        write_perf_map(&engine);
    }
    // A function whose code could not be built raised a Lua error; say why.
    for e in engine.errors() {
        eprintln!("orcrun: JIT: {e}");
    }
    report_cache_warnings(&engine);
    fill_stats(&engine, stats);
    stats.run_ns = total.saturating_sub(stats.compile_ns());
    r
}

/// What `--emit` asks for of every function of `module` (or of the one named). The
/// code is the optimizing tier's (the MIR after the policy's pipeline, without a
/// profile, lowered as an optimized version at the tier's level), or with `--tier
/// compact` or `--tier inline` that baseline code; `mir-opt` is always the pipeline's
/// MIR.
fn emit(module: lazyjit_ir::Module, request: &cli::EmitRequest) -> Result<String, String> {
    use cli::Emit;
    if let Some(name) = request.only {
        if !module.functions.iter().any(|f| f.name == name) {
            return Err(format!("no function named '{name}'"));
        }
    }
    let mut vm = lazyjit_ir::interp::Vm::new(None);
    lazyjit_lua::runtime::install(&mut vm, "-", &[]);
    vm.load(module, &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    let loaded = &vm.modules()[0];
    let protos = loaded.protos.iter().filter(|p| request.only.is_none_or(|n| p.mir.name == n));
    let mut out = String::new();
    let policy = TierPolicy::load(request.policy.unwrap_or("default"))?;
    let baseline = match request.tier {
        cli::Tier::Compact => Some((Shape::Compact, CodegenOptions { opt: OptLevel::O0, cpu: CpuTarget::Generic, regalloc: RegAlloc::Fast })),
        cli::Tier::Inline | cli::Tier::Baseline => Some((Shape::Inline, CodegenOptions { opt: policy.inline_opt(), cpu: CpuTarget::Generic, regalloc: RegAlloc::Greedy })),
        _ => None,
    };
    let Some((shape, codegen)) = baseline.filter(|_| request.emit != Emit::MirOpt) else {
        let (pipeline, opt) = inspect::pipeline_of(&policy, None, false)?;
        let mir = loaded.to_module();
        let profiles = inspect::profiles(loaded, false);
        let llvm = request.emit != Emit::MirOpt;
        for proto in protos {
            let report = inspect::inspect(loaded, &mir, &profiles, proto, &pipeline, opt, llvm);
            if let Some(e) = report.error {
                return Err(format!("{}: {e}", proto.mir.name));
            }
            let text = match request.emit {
                Emit::Llvm => report.llvm,
                Emit::LlvmOpt => report.llvm_optimized,
                Emit::Asm => report.asm,
                Emit::Mir | Emit::MirOpt => Some(report.after),
            };
            out.push_str(&text.unwrap_or_default());
        }
        return Ok(out);
    };
    for proto in protos {
        let ctx = lazyjit_orc::inkwell::context::Context::create();
        let symbol = format!("fn{}.{}", proto.index, proto.mir.name);
        let opts = lazyjit_orc::lower::LowerOptions { symbol, ..Default::default() };
        let m = match shape {
            Shape::Compact => lazyjit_orc::lower::lower_compact(&ctx, proto, &opts),
            Shape::Inline => lazyjit_orc::lower::lower_proto(&ctx, proto, loaded, &opts),
        }
        .map_err(|e| format!("lowering {}: {e}", proto.mir.name))?;
        if request.emit != Emit::Llvm {
            lazyjit_orc::optimize_module(&m, &codegen).map_err(|e| e.to_string())?;
        }
        match request.emit {
            Emit::Asm => out.push_str(&lazyjit_orc::emit_assembly(&m, &codegen).map_err(|e| e.to_string())?),
            _ => out.push_str(&m.print_to_string().to_string()),
        }
    }
    Ok(out)
}

/// `orcrun compile` and `orcrun cache ...`.
fn cache_command(cmd: &cli::CacheCommand) -> ExitCode {
    match cache_command_inner(cmd) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("orcrun: {msg}");
            ExitCode::from(1)
        }
    }
}

fn cache_command_inner(cmd: &cli::CacheCommand) -> Result<ExitCode, String> {
    let (tiering, opt, policy) = tiering_of(cmd.tier, cmd.policy.as_deref())?;
    let cache = open_cache(&cmd.cache, &policy).ok_or("no cache: the policy has none and no --cache-dir is given")?;
    let dir = cache.dir().display().to_string();
    match cmd.action {
        cli::CacheAction::Stats => {
            let usage = cache.usage().map_err(|e| format!("cannot read cache directory {dir}: {e}"))?;
            let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
            println!("cache directory: {dir}");
            println!("entries: {}", usage.entries);
            println!("size: {:.2} MiB of {:.0} MiB", mib(usage.bytes), mib(cache.max_bytes()));
            return Ok(ExitCode::SUCCESS);
        }
        cli::CacheAction::Clear => {
            let removed = cache.clear().map_err(|e| format!("cannot clear cache directory {dir}: {e}"))?;
            println!("removed {removed} entries from {dir}");
            return Ok(ExitCode::SUCCESS);
        }
        cli::CacheAction::Compile | cli::CacheAction::Verify => {}
    }
    let mut failed = false;
    if cmd.action == cli::CacheAction::Verify {
        let bad = cache.check_all().map_err(|e| format!("cannot read cache directory {dir}: {e}"))?;
        let total = cache.usage().map(|u| u.entries).unwrap_or(0);
        for (entry, why) in &bad {
            println!("bad entry {}: {why}", entry.path.display());
        }
        println!("{} entries checked in {dir}: {} bad", total, bad.len());
        failed = !bad.is_empty();
    }
    let Some(file) = &cmd.file else {
        return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
    };
    let source = std::fs::read(file).map_err(|e| format!("cannot open {file}: {e}"))?;
    let module = lazyjit_lua::compile(&source, file).map_err(|d| d.to_string())?;
    let mut vm = lazyjit_ir::interp::Vm::new(None);
    lazyjit_lua::runtime::install(&mut vm, file, &[]);
    vm.load(module, &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    let engine = Engine::with_tiering(opt, tiering).map_err(|e| format!("cannot start the JIT: {e}"))?;
    engine.set_cache(cache);
    let verify = cmd.action == cli::CacheAction::Verify;
    let t = Instant::now();
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |done: usize, total: usize| {
        if bar {
            let width = 40;
            let filled = done * width / total.max(1);
            eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled));
            if done == total {
                eprintln!();
            }
        }
    };
    let outcomes = engine.compile_ahead(&vm, 0, verify, &progress);
    let count = |want: fn(&Ahead) -> bool| outcomes.iter().filter(|(_, a)| want(a)).count();
    for (name, outcome) in &outcomes {
        match outcome {
            Ahead::Failed(why) => eprintln!("orcrun: {name}: {why}"),
            Ahead::Differs => println!("{name}: compiled code differs from the cache's"),
            _ => {}
        }
    }
    report_cache_warnings(&engine);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let failures = count(|a| matches!(a, Ahead::Failed(_)));
    if verify {
        let (same, differ, absent) = (count(|a| *a == Ahead::Matches), count(|a| *a == Ahead::Differs), count(|a| *a == Ahead::NotCached));
        println!("{file}: {same} functions compiled again match the cache, {differ} differ, {absent} not cached, {failures} failed ({ms:.0} ms)");
        failed |= differ > 0 || failures > 0;
    } else {
        let (compiled, cached) = (count(|a| *a == Ahead::Compiled), count(|a| *a == Ahead::Cached));
        println!("{file}: {compiled} functions compiled, {cached} already cached, {failures} failed, into {dir} ({ms:.0} ms)");
        failed |= failures > 0;
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn main() -> ExitCode {
    cli::main_with(Some(cli::Jit { run: run_jit, emit, cache_command, repl_host }))
}
