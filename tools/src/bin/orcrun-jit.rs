//! `orcrun-jit`: `orcrun` with the JIT linked in (see `cli.rs` for the options);
//! `orcrun` runs it for the compiling tiers.

#[path = "../cli.rs"]
mod cli;

#[path = "../alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOCATOR: alloc::ToolAlloc = alloc::ToolAlloc;

use std::sync::atomic::Ordering;
use std::time::Instant;

use lazyjit_lua::driver::{self, RunError};
use lazyjit_orc::engine::{Engine, Shape, Tiering, Traces};
use lazyjit_orc::policy::TierPolicy;
use lazyjit_orc::OptLevel;

/// The policy `--policy` names: a built-in one, or a RON file.
fn load_policy(name: &str) -> Result<TierPolicy, String> {
    if let Some(p) = TierPolicy::builtin(name) {
        return Ok(p);
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        let builtin: Vec<&str> = lazyjit_orc::policy::BUILTIN.iter().map(|(n, _)| *n).collect();
        format!("cannot read policy {name}: {e} (built-in policies: {})", builtin.join(", "))
    })?;
    TierPolicy::parse(&text).map_err(|e| format!("{name}:{e}"))
}

/// Runs `module` compiled lazily: under a policy, or in the baseline tier's code shapes
/// that `tier` asks for (generic inline code at O0).
fn run_jit(
    module: lazyjit_ir::Module,
    script: &str,
    args: &[String],
    tier: cli::Tier,
    policy: Option<&str>,
    traces: cli::Traces,
    stats: &mut cli::RunStats,
) -> Result<i32, RunError> {
    let (tiering, opt) = match tier {
        cli::Tier::Compact => (Tiering::only(Shape::Compact), OptLevel::O0),
        cli::Tier::Inline => (Tiering::only(Shape::Inline), OptLevel::O0),
        cli::Tier::Eager => (Tiering::eager(), OptLevel::O0),
        cli::Tier::Policy => {
            let p = load_policy(policy.unwrap_or("default")).map_err(RunError::Engine)?;
            (p.tiering(), p.inline_opt())
        }
        _ => (Tiering::default(), OptLevel::O0),
    };
    // The engine outlives the VM's run: its code is only called from within it.
    let engine = Engine::with_tiering(opt, tiering)
        .map_err(|e| RunError::Engine(format!("cannot start the JIT: {e}")))?;
    engine.set_traces(Traces { tier: traces.tier, deopt: traces.deopt });
    let t = Instant::now();
    // Background compiles still running when the program ends are waited for only when
    // something reports on them; else the process ends without them.
    let wait = stats.reported || traces.tier || traces.deopt;
    let r = driver::run_module_with(
        module,
        script,
        args,
        &mut |vm| {
            let last = vm.modules().len() - 1;
            engine.attach(vm, last).map_err(|e| format!("cannot set up the JIT: {e}"))
        },
        !wait,
    );
    if !wait {
        cli::LEFT_COMPILING.store(true, Ordering::Release);
        for e in engine.errors() {
            eprintln!("orcrun: JIT: {e}");
        }
        std::mem::forget(engine);
        return r;
    }
    engine.wait_idle();
    let total = t.elapsed().as_nanos() as u64;
    // A function whose code could not be built raised a Lua error; say why.
    for e in engine.errors() {
        eprintln!("orcrun: JIT: {e}");
    }
    let s = engine.stats();
    stats.functions_compiled = s.functions_compiled.load(Ordering::Relaxed);
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
    let compile = stats.passes_ns + stats.llvm_ir_ns + stats.llvm_opt_ns + stats.codegen_ns + stats.link_ns;
    stats.run_ns = total.saturating_sub(compile);
    r
}

/// The LLVM IR of every function of `module` (or of the one named `only`), in compact
/// code for `--tier compact`, else in inline code.
fn emit_llvm(module: lazyjit_ir::Module, only: Option<&str>, tier: cli::Tier) -> Result<String, String> {
    if let Some(name) = only {
        if !module.functions.iter().any(|f| f.name == name) {
            return Err(format!("no function named '{name}'"));
        }
    }
    let mut vm = lazyjit_ir::interp::Vm::new(None);
    lazyjit_lua::runtime::install(&mut vm, "-", &[]);
    vm.load(module, &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    let loaded = &vm.modules()[0];
    let mut out = String::new();
    for proto in loaded.protos.iter().filter(|p| only.is_none_or(|n| p.mir.name == n)) {
        let ctx = lazyjit_orc::inkwell::context::Context::create();
        let symbol = format!("fn{}.{}", proto.index, proto.mir.name);
        let opts = lazyjit_orc::lower::LowerOptions { symbol, ..Default::default() };
        let m = match tier {
            cli::Tier::Compact => lazyjit_orc::lower::lower_compact(&ctx, proto, &opts),
            _ => lazyjit_orc::lower::lower_proto(&ctx, proto, loaded, &opts),
        }
        .map_err(|e| format!("lowering {}: {e}", proto.mir.name))?;
        out.push_str(&m.print_to_string().to_string());
    }
    Ok(out)
}

fn main() -> std::process::ExitCode {
    cli::main_with(Some(cli::Jit { run: run_jit, emit_llvm }))
}
