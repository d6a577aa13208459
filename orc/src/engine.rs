//! The engine: gives every function of a loaded module a lazy machine-code entry.
//!
//! Attaching a module defines, for each of its functions, a lazy ORC function whose
//! materializer lowers the function's MIR ([`crate::lower`]) and compiles it; the stub's
//! address goes into the function's dispatch slot ([`Proto::entry`]). Nothing is compiled
//! until a function is first called; a function never called is never compiled.
//!
//! Code comes in two shapes ([`Shape`]): *compact* code (one host call per op, several
//! times cheaper to compile) and *inline* code (values in registers, typed fast paths
//! and caches inline, several times faster to run). [`Tiering`] says which a function
//! gets at its first call (by default compact) and when compact code moves on: its
//! entry counts calls and, at [`Tiering::hot_calls`], stores the stub of the function's
//! inline code (another lazy function, compiled at its first call) into the dispatch
//! slot ([`Proto::hot_entry`]); and once the function has taken
//! [`Tiering::osr_backedges`] back edges, a branch to a loop header calls the header's
//! on-stack entry (one more lazy function per loop header: inline code from that
//! header on) to run the rest of the call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lazyjit_ir::interp::compiled::STATUS_ERROR;
use lazyjit_ir::interp::{LoadedModule, LuaError, Proto, Vm};
use lazyjit_ir::rt::object::Closure;
use lazyjit_ir::rt::Val;

use crate::lower::{lower_compact, lower_proto, LowerOptions, OsrExits};
use crate::{compile_module_timed, glue, CodegenOptions, CpuTarget, OptLevel, OrcError, RegAlloc, Session, SessionOptions};

/// Compile counters and phase times of an engine (nanoseconds).
#[derive(Default, Debug)]
pub struct EngineStats {
    /// Functions given a lazy entry.
    pub functions_defined: AtomicU64,
    /// Functions compiled to machine code (each counted once, whatever its shapes).
    pub functions_compiled: AtomicU64,
    /// Compiles in the compact shape.
    pub compiles_compact: AtomicU64,
    /// Compiles in the inline shape (whole functions).
    pub compiles_inline: AtomicU64,
    /// Compiles of on-stack entries (inline code from a loop header on).
    pub compiles_osr: AtomicU64,
    /// Time building LLVM IR from MIR.
    pub llvm_ir_ns: AtomicU64,
    /// Time in LLVM's IR optimizer (and verifier).
    pub llvm_opt_ns: AtomicU64,
    /// Time generating object code.
    pub codegen_ns: AtomicU64,
}

/// A code shape of the baseline tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// One host call per op ([`crate::lower::lower_compact`]).
    Compact,
    /// Values in registers, fast paths inline ([`crate::lower::lower_proto`]).
    Inline,
}

impl Shape {
    /// The shape's name in statistics and options.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Compact => "compact",
            Shape::Inline => "inline",
        }
    }
}

/// Which code a function gets when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiering {
    /// The shape at the first call of a function without loops.
    pub loop_free: Shape,
    /// The shape at the first call of a function with a loop.
    pub with_loops: Shape,
    /// The call count at which a function in the compact shape moves to the inline one
    /// (`None`: never).
    pub hot_calls: Option<u32>,
    /// The back-edge count at which compact code, at a branch to a loop header, leaves
    /// for inline code entered at that header (on-stack replacement; `None`: never).
    pub osr_backedges: Option<u32>,
}

impl Tiering {
    /// Calls after which compact code moves on by default. A 50-op function costs
    /// about 5 ms more to compile inline than compact, and inline code saves some tens
    /// of nanoseconds per op; a thousand calls of a small function earn most of it back.
    pub const DEFAULT_HOT_CALLS: u32 = 1000;

    /// Back edges after which compact code replaces itself on the stack by default: a
    /// loop body of tens of ops costs milliseconds to compile inline and runs some
    /// tens of nanoseconds per op faster there.
    pub const DEFAULT_OSR_BACKEDGES: u32 = 1000;

    /// Every function in `shape`, for good.
    pub fn only(shape: Shape) -> Tiering {
        Tiering { loop_free: shape, with_loops: shape, hot_calls: None, osr_backedges: None }
    }

    /// The default tiering, moving on at the first call and the first back edge: every
    /// transition happens at once (for tests).
    pub fn eager() -> Tiering {
        Tiering { hot_calls: Some(1), osr_backedges: Some(1), ..Tiering::default() }
    }
}

impl Default for Tiering {
    /// Compact code first, inline code when hot (by calls, or by back edges through
    /// on-stack replacement).
    fn default() -> Tiering {
        Tiering {
            loop_free: Shape::Compact,
            with_loops: Shape::Compact,
            hot_calls: Some(Self::DEFAULT_HOT_CALLS),
            osr_backedges: Some(Self::DEFAULT_OSR_BACKEDGES),
        }
    }
}

/// A JIT engine: one ORC session and the baseline tier.
///
/// The code it makes lives as long as the engine: a VM whose functions it attached must
/// not run them after the engine is dropped (drop the VM first, or never call into it
/// again).
pub struct Engine {
    session: Session,
    opt: OptLevel,
    tiering: Tiering,
    stats: Arc<EngineStats>,
    /// Leaf symbols bound so far, and their addresses.
    leaves: Mutex<HashMap<&'static str, u64>>,
}

/// Where a failed first call lands instead of the body: it reports the failure as a Lua
/// error the caller raises.
unsafe extern "C" fn failed_body(vm: *mut Vm, _closure: *mut Closure, _base: *mut Val) -> i64 {
    // SAFETY: called with the body's arguments, so `vm` is the running VM.
    unsafe { (*vm).jit_error = Some(LuaError::msg("the function's machine code could not be built")) };
    STATUS_ERROR
}

/// What one lazy function of a proto compiles to.
struct Body {
    shape: Shape,
    /// Compact code: calls at which it moves the function on.
    hot_calls: Option<u32>,
    /// Compact code: its on-stack replacement.
    osr: Option<OsrExits>,
    /// Inline code: an on-stack entry at this loop header (a block number).
    osr_entry: Option<u32>,
}

/// Raw pointers to a function and its module, moved into its materializer. They stay
/// valid while the VM that loaded them lives, which outlasts every call of the function.
struct Target(*const Proto, *const LoadedModule);
// SAFETY: protos and modules are immutable after loading except for atomics.
unsafe impl Send for Target {}

impl Engine {
    /// An engine compiling inline code at `opt`, with the default [`Tiering`].
    pub fn new(opt: OptLevel) -> Result<Engine, OrcError> {
        Engine::with_tiering(opt, Tiering::default())
    }

    /// An engine compiling inline code at `opt`, its shapes chosen by `tiering`.
    pub fn with_tiering(opt: OptLevel, tiering: Tiering) -> Result<Engine, OrcError> {
        let options = SessionOptions { lazy_call_error_handler: Some(failed_body as *const () as usize as u64) };
        let session = Session::with_options(options)?;
        session.define_host_symbols(&glue::helper_symbols())?;
        Ok(Engine { session, opt, tiering, stats: Arc::new(EngineStats::default()), leaves: Mutex::new(HashMap::new()) })
    }

    /// The counters.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Nanoseconds ORC spent linking compiled objects.
    pub fn link_ns(&self) -> u64 {
        self.session.stats().link_ns
    }

    /// Messages of compilations that failed.
    pub fn errors(&self) -> Vec<String> {
        self.session.take_errors()
    }

    /// Binds the leaf fast paths of the module's runtime functions (see
    /// [`lazyjit_ir::interp::Leaf`]) by their symbols, once each.
    fn define_leaves(&self, loaded: &LoadedModule) -> Result<(), OrcError> {
        let mut defined = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        let mut new: Vec<(&str, u64)> = Vec::new();
        for leaf in loaded.runtime.iter().filter_map(|e| e.leaf) {
            match defined.get(leaf.symbol) {
                Some(&addr) if addr == leaf.f as usize as u64 => {}
                Some(_) => {
                    return Err(OrcError::Codegen(format!(
                        "two different leaf functions are named `{}`",
                        leaf.symbol
                    )))
                }
                None => {
                    defined.insert(leaf.symbol, leaf.f as usize as u64);
                    new.push((leaf.symbol, leaf.f as usize as u64));
                }
            }
        }
        if !new.is_empty() {
            self.session.define_host_symbols(&new)?;
        }
        Ok(())
    }

    /// Gives every function of the VM's module number `module` a lazy entry.
    pub fn attach(&self, vm: &Vm, module: usize) -> Result<(), OrcError> {
        let loaded = &vm.modules()[module];
        self.define_leaves(loaded)?;
        for proto in &loaded.protos {
            let has_loop = proto.mir.blocks.iter().any(|b| b.loop_header);
            let first = if has_loop { self.tiering.with_loops } else { self.tiering.loop_free };
            let hot_calls = self.tiering.hot_calls.filter(|_| first == Shape::Compact);
            let name = format!("lzf.{module}.{}", proto.index);
            let osr = self.tiering.osr_backedges.filter(|_| first == Shape::Compact && has_loop).map(|backedges| {
                OsrExits { backedges, symbol_prefix: format!("{name}.osr") }
            });
            if let Some(osr) = &osr {
                // The on-stack entries the compact code calls by name, one per loop header.
                for (h, _) in proto.mir.blocks.iter().enumerate().filter(|(_, b)| b.loop_header) {
                    let entry = Body { shape: Shape::Inline, hot_calls: None, osr: None, osr_entry: Some(h as u32) };
                    self.define_body(&format!("{}{h}", osr.symbol_prefix), proto, loaded, entry, false)?;
                }
            }
            let body = Body { shape: first, hot_calls, osr, osr_entry: None };
            let stub = self.define_body(&name, proto, loaded, body, true)?;
            if hot_calls.is_some() {
                let hot = Body { shape: Shape::Inline, hot_calls: None, osr: None, osr_entry: None };
                let hot = self.define_body(&format!("{name}.hot"), proto, loaded, hot, false)?;
                proto.hot_entry.store(hot as usize, Ordering::Release);
            }
            proto.entry.store(stub as usize, Ordering::Release);
            self.stats.functions_defined.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Defines `name` as a lazy function compiling `body` of `proto`; `first`: it is the
    /// function's first code, counted in `functions_compiled`. Returns the stub's address.
    fn define_body(&self, name: &str, proto: &Proto, loaded: &LoadedModule, body: Body, first: bool) -> Result<u64, OrcError> {
        let Body { shape, hot_calls, osr, osr_entry } = body;
        let target = Target(proto, loaded);
        let (stats, opt) = (self.stats.clone(), self.opt);
        self.session.add_lazy_function(name, move |req| {
            let target = target;
            // SAFETY: see `Target`.
            let (proto, loaded) = unsafe { (&*target.0, &*target.1) };
            let ctx = crate::inkwell::context::Context::create();
            let t0 = Instant::now();
            let lower_opts = LowerOptions { symbol: req.symbol().to_string(), hot_calls, osr: osr.clone(), osr_entry };
            let (m, codegen) = match shape {
                Shape::Compact => (
                    lower_compact(&ctx, proto, &lower_opts),
                    CodegenOptions { opt: OptLevel::O0, cpu: CpuTarget::Generic, regalloc: RegAlloc::Fast },
                ),
                Shape::Inline => (
                    lower_proto(&ctx, proto, loaded, &lower_opts),
                    CodegenOptions { opt, cpu: CpuTarget::Generic, regalloc: RegAlloc::Greedy },
                ),
            };
            let m = m.map_err(|e| format!("lowering {}: {e}", proto.mir.name))?;
            let ir_ns = t0.elapsed().as_nanos() as u64;
            let (object, times) = compile_module_timed(&m, &codegen)?;
            stats.llvm_ir_ns.fetch_add(ir_ns, Ordering::Relaxed);
            stats.llvm_opt_ns.fetch_add(times.opt_ns, Ordering::Relaxed);
            stats.codegen_ns.fetch_add(times.codegen_ns, Ordering::Relaxed);
            if first {
                stats.functions_compiled.fetch_add(1, Ordering::Relaxed);
            }
            let count = match (shape, osr_entry) {
                (Shape::Compact, _) => &stats.compiles_compact,
                (Shape::Inline, None) => &stats.compiles_inline,
                (Shape::Inline, Some(_)) => &stats.compiles_osr,
            };
            count.fetch_add(1, Ordering::Relaxed);
            Ok(object)
        })?;
        self.session.lookup(name)
    }
}
