//! The engine: gives every function of a loaded module a lazy machine-code entry.
//!
//! Attaching a module defines, for each of its functions, a lazy ORC function whose
//! materializer lowers the function's MIR ([`crate::lower`]) and compiles it; the stub's
//! address goes into the function's dispatch slot ([`Proto::entry`]). Nothing is compiled
//! until a function is first called; a function never called is never compiled.
//! Functions with the same code (the same [`code_key`]: a definition entered again in
//! an interactive session, the same function in two modules) share one set of lazy
//! functions, so their code is compiled once.
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
//!
//! With an optimizing tier ([`Tiering::optimize`]), a hot function is not moved to
//! inline code but *optimized*: a copy of its MIR goes through the tier's pass
//! pipeline with the function's type profile (`type_spec` speculates, `box_elim`
//! unboxes, ...), is decoded into a *version* of the function ([`Proto`], kept by the
//! engine) and lowered as inline code that runs as that version, with guards whose
//! failure deoptimizes to the interpreter ([`lazyjit_ir::interp::compiled::deopt`]). A
//! deoptimization puts the function back on its first code with its call count reset,
//! so it gets hot again and is optimized again from a profile that now shows the
//! failure (the failed site is not speculated on again); after
//! [`Optimize::max_deopts`] it moves to generic inline code for good. The optimized
//! code is compiled on a rayon thread while the function keeps running in its first
//! code ([`Optimize::background`]), or at its next call.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use lazyjit_ir::interp::compiled::{OSR_PENDING, STATUS_NO_CODE};
use lazyjit_ir::interp::{JitHooks, LoadedModule, Proto, Vm};
use lazyjit_ir::rt::object::Closure;
use lazyjit_ir::rt::Val;
use lazyjit_cache::{Key, KeyBuilder, Lookup, ObjectCache};

use crate::lower::{lower_compact, lower_proto, LowerOptions, OsrExits};
use crate::{codegen_fingerprint, compile_module_timed, glue, CodegenOptions, CpuTarget, OptLevel, OrcError, RegAlloc, Session, SessionOptions};

/// Compile counters and phase times of an engine (nanoseconds).
#[derive(Default, Debug)]
pub struct EngineStats {
    /// Functions given a lazy entry.
    pub functions_defined: AtomicU64,
    /// Functions given the lazy code of an identical function attached before (same
    /// code key: a definition entered again, the same function in another module):
    /// they share whatever it compiles.
    pub functions_shared: AtomicU64,
    /// Functions whose first code was compiled by LLVM (each counted once, whatever its
    /// shapes; not those whose first code came from the cache).
    pub functions_compiled: AtomicU64,
    /// Code found in the persistent cache instead of compiled ([`Engine::set_cache`]).
    pub cache_hits: AtomicU64,
    /// Code looked up in the cache and not found there (then compiled and stored).
    pub cache_misses: AtomicU64,
    /// Optimized code found in the persistent cache instead of compiled: a version made
    /// again with the same profile in another run (not counted in `cache_hits`).
    pub optimized_cache_hits: AtomicU64,
    /// Optimized code looked up in the cache and not found there.
    pub optimized_cache_misses: AtomicU64,
    /// Leaf functions whose first code the pre-compiler built (or loaded from the
    /// cache) before their first call asked for it ([`Tiering::precompile_leaves`]).
    pub precompiled: AtomicU64,
    /// First calls of leaf functions that found their code built ahead.
    pub first_calls_ready: AtomicU64,
    /// First calls of leaf functions that found the pre-compiler building their code,
    /// and waited for it.
    pub first_calls_waited: AtomicU64,
    /// Compiles in the compact shape (by LLVM: code from the cache is not counted).
    pub compiles_compact: AtomicU64,
    /// Compiles in the inline shape (whole functions).
    pub compiles_inline: AtomicU64,
    /// Compiles of on-stack entries (inline code from a loop header on).
    pub compiles_osr: AtomicU64,
    /// Compiles of optimized code (versions made by the pass pipeline).
    pub compiles_optimized: AtomicU64,
    /// Deoptimizations (failed guards of optimized code).
    pub deopts: AtomicU64,
    /// Time in the pass pipeline.
    pub passes_ns: AtomicU64,
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

/// The optimizing tier: speculative code made from a function's type profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Optimize {
    /// The passes run, in order, over a copy of the function's MIR (names of
    /// [`lazyjit_passes::PASSES`]).
    pub pipeline: Vec<String>,
    /// LLVM's optimization level for the code.
    pub opt: OptLevel,
    /// Deoptimizations after which a function is given generic inline code for good.
    pub max_deopts: u32,
    /// Compile on a rayon thread while the function keeps running in its first code
    /// (else the code is compiled at the function's next call).
    pub background: bool,
    /// Verify the MIR after every pass (a pass that breaks it is a bug: the function
    /// then gets generic inline code).
    pub verify: bool,
}

/// Which code a function gets when.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The optimizing tier, which hot functions move to instead of inline code
    /// (`None`: none; the default policy's is `TierPolicy::default().tiering()`, see
    /// [`crate::policy`]).
    pub optimize: Option<Optimize>,
    /// Compile the first code of *leaf* functions (whose MIR calls no function: runtime
    /// functions only) on rayon's pool as soon as a module is attached, so that their
    /// first calls find it ready.
    pub precompile_leaves: bool,
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
        Tiering { loop_free: shape, with_loops: shape, hot_calls: None, osr_backedges: None, optimize: None, precompile_leaves: false }
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
            optimize: None,
            precompile_leaves: false,
        }
    }
}

/// Choices made when an engine is created, besides its tiering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Register the code it links with GDB's JIT interface, so that a debugger attached
    /// to the process sees the compiled functions (named by their symbols, `lzf.KEY`;
    /// [`Engine::perf_map`] says which Lua function each is).
    pub debugger: bool,
}

/// A JIT engine: one ORC session, the baseline tier and, if the tiering has one, the
/// optimizing tier.
///
/// The code it makes lives as long as the engine: a VM whose functions it attached must
/// not run them after the engine is dropped (drop the VM first, or never call into it
/// again).
pub struct Engine {
    inner: Arc<Inner>,
}

/// The engine's state, shared with the VMs it is attached to (as their
/// [`JitHooks`]) and its background compiles.
struct Inner {
    session: Session,
    opt: OptLevel,
    tiering: Tiering,
    stats: Arc<EngineStats>,
    /// What is traced, and where it goes.
    traces: Arc<TraceState>,
    /// The persistent object cache, if one is used.
    cache: std::sync::OnceLock<Arc<ObjectCache>>,
    /// The lazy functions defined for each code key so far: a function attached later
    /// with the same code shares them.
    defined: Mutex<HashMap<Key, Defined>>,
    /// Leaf symbols bound so far, and their addresses.
    leaves: Mutex<HashMap<&'static str, u64>>,
    /// Versions of functions (optimized code's protos), kept as long as their code.
    versions: Mutex<Vec<Box<Proto>>>,
    /// The version keys ([`version_key`]) whose code is named by its key so far: a
    /// version made again with the same key in this process (an identical function's)
    /// gets a name by number and is not cached.
    version_keys: Mutex<std::collections::HashSet<Key>>,
    /// Modules as MIR (what passes read), by the address of their loaded module.
    modules: Mutex<HashMap<usize, Arc<lazyjit_ir::Module>>>,
    /// The generic on-stack entries (inline code from a loop header on), by proto
    /// address and header, where an optimizing tier may choose another.
    generic_osr: Mutex<HashMap<(usize, u32), u64>>,
    /// Loop headers (by proto address and header) whose slot was given an optimized
    /// on-stack entry.
    optimized_osr: Mutex<Vec<(usize, u32)>>,
    /// Functions (by proto address) whose optimized code for calls is compiling in the
    /// background: their loops wait for it rather than compile an on-stack entry too.
    entries_compiling: Mutex<std::collections::HashSet<usize>>,
    /// The code linked so far, for a profiler's symbol map ([`Engine::set_code_log`]).
    code_log: Arc<CodeLog>,
    /// Functions (generic protos, by address) whose optimized code could not be built.
    unoptimizable: Mutex<std::collections::HashSet<usize>>,
    /// Background compiles running.
    pending: Mutex<usize>,
    idle: Condvar,
}

/// Where a call lands instead of a body that could not be built (LLVM failed, say; the
/// session's error log has why): the function loses its machine code and runs in the
/// interpreter, this call from its start and later calls too; an on-stack entry is
/// declined. A failed compile costs time, never the result.
unsafe extern "C" fn failed_body(_vm: *mut Vm, closure: *mut Closure, _base: *mut Val) -> i64 {
    // SAFETY: called with the body's arguments: a closure of a loaded function.
    let proto = unsafe { &*(*closure).proto };
    for slot in [&proto.entry, &proto.first_entry, &proto.hot_entry] {
        slot.store(0, Ordering::Release);
    }
    STATUS_NO_CODE
}

/// What the engine reports on standard error as it works ([`Engine::set_traces`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traces {
    /// One line per compile: the function, the code it gets, why, and the time taken
    /// (passes and LLVM); and one per loop whose optimized entry was declined.
    pub tier: bool,
    /// One line per deoptimization: the function, the guard that failed, its snapshot,
    /// and what the guarded value held.
    pub deopt: bool,
}

const TRACE_TIER: u8 = 1;
const TRACE_DEOPT: u8 = 2;

/// Receives trace lines instead of standard error ([`Engine::set_trace_sink`]). It is
/// called from the thread that compiled or deoptimized (background compiles run on
/// rayon's threads), one whole line at a time.
pub type TraceSink = Arc<dyn Fn(&str) + Send + Sync>;

/// [`Traces`] as bits, and where lines go.
#[derive(Default)]
struct TraceState {
    bits: AtomicU8,
    sink: Mutex<Option<TraceSink>>,
}

impl TraceState {
    fn on(&self, bit: u8) -> bool {
        self.bits.load(Ordering::Relaxed) & bit != 0
    }

    fn emit(&self, line: &str) {
        let sink = self.sink.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match sink {
            Some(sink) => sink(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Traces {
    fn bits(self) -> u8 {
        (if self.tier { TRACE_TIER } else { 0 }) | (if self.deopt { TRACE_DEOPT } else { 0 })
    }
}

/// What one lazy function of a proto compiles to.
#[derive(Clone)]
struct Body {
    shape: Shape,
    /// Compact code: calls at which it moves the function on.
    hot_calls: Option<u32>,
    /// Compact code: its on-stack replacement.
    osr: Option<OsrExits>,
    /// Inline code: an on-stack entry at this loop header (a block number).
    osr_entry: Option<u32>,
    /// Inline code of a version of the function (optimized code).
    optimized: bool,
    /// LLVM's optimization level (inline code).
    opt: OptLevel,
    /// Why it is compiled (for the tier trace).
    why: String,
    /// The key of the code ([`code_key`] for baseline code, [`version_key`] for optimized
    /// code), for code that may come from and go to the persistent cache: code refers to
    /// nothing of the process but by symbol. `None`: not cached.
    code: Option<Key>,
}

impl Body {
    fn compact(hot_calls: Option<u32>, osr: Option<OsrExits>) -> Body {
        Body { shape: Shape::Compact, hot_calls, osr, osr_entry: None, optimized: false, opt: OptLevel::O0, why: "first call".into(), code: None }
    }

    fn inline(opt: OptLevel) -> Body {
        Body { shape: Shape::Inline, hot_calls: None, osr: None, osr_entry: None, optimized: false, opt, why: "first call".into(), code: None }
    }
}

impl Body {
    /// What code this is, in words (traces, profiler maps).
    fn kind(&self) -> String {
        match (self.shape, self.osr_entry, self.optimized) {
            (Shape::Compact, _, _) => "compact code".to_string(),
            (Shape::Inline, None, false) => "inline code".to_string(),
            (Shape::Inline, _, true) => "optimized code".to_string(),
            (Shape::Inline, Some(h), false) => format!("inline code entered at block{h}"),
        }
    }

    fn codegen(&self) -> CodegenOptions {
        match self.shape {
            Shape::Compact => CodegenOptions { opt: OptLevel::O0, cpu: CpuTarget::Generic, regalloc: RegAlloc::Fast },
            Shape::Inline => CodegenOptions { opt: self.opt, cpu: CpuTarget::Generic, regalloc: RegAlloc::Greedy },
        }
    }

    /// The cache key of this body's object, defining `symbol` (`None`: not cached).
    fn object_key(&self, symbol: &str) -> Option<Key> {
        let code = self.code?;
        let mut b = KeyBuilder::new("lazyjit object");
        b.number("code.hi", (code.0 >> 64) as u64).number("code.lo", code.0 as u64);
        b.part("symbol", symbol.as_bytes());
        b.part("shape", self.shape.name().as_bytes());
        b.part("codegen", codegen_fingerprint(&self.codegen()).as_bytes());
        b.number("hot_calls", self.hot_calls.map_or(u64::MAX, u64::from));
        b.number("osr_backedges", self.osr.as_ref().map_or(u64::MAX, |o| u64::from(o.backedges)));
        b.number("osr_entry", self.osr_entry.map_or(u64::MAX, u64::from));
        Some(b.key())
    }
}

/// The framework build that makes code (see `build.rs`): part of every code key.
pub const BUILD_ID: &str = env!("LAZYJIT_BUILD_ID");

/// The key of everything a function's baseline code depends on besides how it is
/// compiled: the framework build, the function's MIR ([`lazyjit_ir::Function::hash_code`]:
/// strings, runtime functions and functions by local number, not by their place in the
/// module; not its name or source lines) and the declarations of the runtime functions
/// it calls, in local order. Functions are named by it, so that their symbols, and with
/// them their objects, are the same in every run and every module that has the same
/// code, wherever it sits in the module.
pub fn code_key(loaded: &LoadedModule, proto: &Proto) -> Key {
    let mut b = KeyBuilder::new("lazyjit function");
    b.part("build", BUILD_ID.as_bytes());
    b.part("mir", &[]);
    proto.mir.hash_code(&proto.refs, &mut b);
    for &rt in &proto.refs.rts {
        match (loaded.runtime.get(rt.index()), loaded.decls.get(rt.index())) {
            (Some(entry), Some(decl)) => {
                b.part("rt.name", decl.name.as_bytes());
                entry.hash_declaration(&mut b);
            }
            _ => {
                b.part("rt.missing", &[]);
            }
        }
    }
    b.key()
}

/// The key of everything the code of `version`, a version of `proto`, depends on besides
/// how it is compiled: the function's code key, the version's (its MIR after the
/// pipeline, with the runtime declarations it calls: [`code_key`]), the frame slots and
/// tags an on-stack entry starts from, and the code keys of the functions and the
/// natives its guards expect (whose addresses the code takes from data symbols, see
/// [`crate::lower::version_symbols`]). The same function profiled alike in another run
/// makes the same version, and with it the same key.
pub fn version_key(loaded: &LoadedModule, proto: &Proto, version: &Proto) -> Key {
    let mut b = KeyBuilder::new("lazyjit version");
    let key = |b: &mut KeyBuilder, what: &str, k: Key| {
        b.number(what, (k.0 >> 64) as u64).number(what, k.0 as u64);
    };
    key(&mut b, "generic", code_key(loaded, proto));
    key(&mut b, "version", code_key(loaded, version));
    for &(slot, tag) in &version.osr_from {
        b.number("osr.slot", u64::from(slot)).number("osr.tag", u64::from(tag));
    }
    let (functions, natives) = crate::lower::guarded_targets(&version.mir);
    for k in functions {
        b.number("fn", k as u64);
        if let Some(p) = loaded.protos.get(k) {
            key(&mut b, "fn.code", code_key(loaded, p));
        }
    }
    for k in natives {
        b.number("native", k as u64);
        if let Some(n) = loaded.natives.get(k) {
            b.part("native.name", n.native.name.as_bytes());
            b.number("native.arg", n.arg as u64);
            b.part("native.op", n.op.mnemonic().as_bytes());
        }
    }
    b.key()
}

/// The name of the lazy function of the functions with code key `key` (its other code's
/// names add suffixes): the same in every run and every engine.
fn function_name(key: Key) -> String {
    format!("lzf.{key}")
}

/// The lazy functions (stub addresses) defined for one code key, which every function
/// with that code shares: code refers to its function only through the closure it is
/// called with, so identical functions (a definition entered again, the same function
/// in two modules) run the same machine code, compiled once.
#[derive(Clone)]
struct Defined {
    /// The first code.
    first: u64,
    /// The inline code compact code moves to when hot.
    hot: Option<u64>,
    /// The generic on-stack entries, by loop header.
    osr: Vec<(u32, u64)>,
}

/// A leaf function's first code, built once by whichever asks first: the leaf
/// pre-compiler or the function's first call.
#[derive(Default)]
struct Prebuilt {
    object: std::sync::OnceLock<Result<crate::ObjectBuffer, String>>,
    /// The pre-compiler built it (else the first call did).
    by_precompiler: std::sync::atomic::AtomicBool,
}

/// The code an engine linked, kept when a profiler's symbol map is asked for
/// ([`Engine::set_code_log`]).
#[derive(Default)]
struct CodeLog {
    on: std::sync::atomic::AtomicBool,
    /// Lazy function name, code size, and what the code is.
    records: Mutex<Vec<(String, u64, String)>>,
}

/// What [`Engine::compile_ahead`] did with one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ahead {
    /// Compiled and stored in the cache.
    Compiled,
    /// The cache held its code already (nothing compiled).
    Cached,
    /// Verifying: compiled again, and the bytes match the cache's.
    Matches,
    /// Verifying: compiled again, and the bytes differ from the cache's.
    Differs,
    /// Verifying: the cache does not hold its code (nothing compiled).
    NotCached,
    /// Its code could not be built.
    Failed(String),
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
        Engine::with_options(opt, tiering, EngineOptions::default())
    }

    /// [`Engine::with_tiering`], with `options`.
    pub fn with_options(opt: OptLevel, tiering: Tiering, options: EngineOptions) -> Result<Engine, OrcError> {
        let options = SessionOptions {
            lazy_call_error_handler: Some(failed_body as *const () as usize as u64),
            debugger_support: options.debugger,
        };
        let session = Session::with_options(options)?;
        session.define_host_symbols(&glue::helper_symbols())?;
        let epoch = &lazyjit_ir::rt::object::LOOKUP_EPOCH as *const std::sync::atomic::AtomicU64 as u64;
        session.define_host_data(&[(crate::abi::LOOKUP_EPOCH_SYMBOL, epoch)])?;
        let inner = Inner {
            session,
            opt,
            tiering,
            stats: Arc::new(EngineStats::default()),
            traces: Arc::new(TraceState::default()),
            cache: std::sync::OnceLock::new(),
            defined: Mutex::new(HashMap::new()),
            leaves: Mutex::new(HashMap::new()),
            versions: Mutex::new(Vec::new()),
            version_keys: Mutex::new(std::collections::HashSet::new()),
            modules: Mutex::new(HashMap::new()),
            generic_osr: Mutex::new(HashMap::new()),
            optimized_osr: Mutex::new(Vec::new()),
            entries_compiling: Mutex::new(std::collections::HashSet::new()),
            code_log: Arc::new(CodeLog::default()),
            unoptimizable: Mutex::default(),
            pending: Mutex::new(0),
            idle: Condvar::new(),
        };
        Ok(Engine { inner: Arc::new(inner) })
    }

    /// Keeps code in `cache` from now on: each function's code is looked up there before
    /// it is compiled, and stored after; optimized code under its [`version_key`], so
    /// that a run making the same version links it. Returns false, changing nothing, if
    /// the engine has a cache already.
    pub fn set_cache(&self, cache: Arc<ObjectCache>) -> bool {
        self.inner.cache.set(cache).is_ok()
    }

    /// The persistent cache, if one is set.
    pub fn cache(&self) -> Option<&Arc<ObjectCache>> {
        self.inner.cache.get()
    }

    /// The counters.
    pub fn stats(&self) -> &EngineStats {
        &self.inner.stats
    }

    /// Reports compiles and deoptimizations on standard error (or to the sink given to
    /// [`Engine::set_trace_sink`]) from now on, as `traces`
    /// says.
    pub fn set_traces(&self, traces: Traces) {
        self.inner.traces.bits.store(traces.bits(), Ordering::Relaxed);
    }

    /// Sends trace lines to `sink` (`None`: standard error again).
    pub fn set_trace_sink(&self, sink: Option<TraceSink>) {
        *self.inner.traces.sink.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    /// Nanoseconds ORC spent linking compiled objects.
    pub fn link_ns(&self) -> u64 {
        self.inner.session.stats().link_ns
    }

    /// Keeps a record of every body linked from now on (its name, size and what it is),
    /// for [`Engine::perf_map`].
    pub fn set_code_log(&self, on: bool) {
        self.inner.code_log.on.store(on, Ordering::Relaxed);
    }

    /// The code linked while the code log was on, as `perf` reads a JIT's symbol map
    /// (`/tmp/perf-PID.map`): one line per body, its start and size in hex and a name
    /// (`lua:FUNCTION CHUNK:LINE [CODE]`), so that profiles name Lua functions.
    pub fn perf_map(&self) -> String {
        let records = self.inner.code_log.records.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = String::new();
        for (name, size, what) in records {
            if let Ok(start) = self.inner.session.lookup_body(&name) {
                out.push_str(&format!("{start:x} {size:x} {what}\n"));
            }
        }
        out
    }

    /// Messages of compilations that failed.
    pub fn errors(&self) -> Vec<String> {
        self.inner.session.take_errors()
    }

    /// Waits until no background compile is running and the code compiled so far is in
    /// the cache (stores are written on the cache's own thread:
    /// [`ObjectCache::put_later`]).
    pub fn wait_idle(&self) {
        self.inner.wait_idle();
        self.flush_cache();
    }

    /// Waits until the code compiled so far is in the cache (not for background
    /// compiles).
    pub fn flush_cache(&self) {
        if let Some(cache) = self.inner.cache.get() {
            cache.flush();
        }
    }

    /// Compiles the first code of every function of the VM's module number `module` into
    /// the engine's cache ahead of any call, in parallel on rayon's pool, linking and
    /// running nothing: a later run with the same cache (a fresh process) attaches the
    /// module and finds that code ready. With `verify`, compiles again every function
    /// whose code the cache holds and compares the bytes instead (storing nothing).
    /// `progress` is called after each function with the number done and the total.
    /// Returns each function's name and what became of it, in the module's order; a
    /// function identical to one before it shares that one's code and is not listed.
    ///
    /// Without a cache ([`Engine::set_cache`]) nothing is compiled and every function is
    /// reported as failed.
    pub fn compile_ahead(
        &self,
        vm: &Vm,
        module: usize,
        verify: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Vec<(String, Ahead)> {
        use rayon::prelude::*;
        let inner = &self.inner;
        let loaded = &vm.modules()[module];
        // One body per code key (identical functions share their code), named as attach
        // names it.
        let mut seen = std::collections::HashSet::new();
        let bodies: Vec<(usize, String, Body)> = loaded
            .protos
            .iter()
            .enumerate()
            .filter_map(|(i, proto)| {
                let key = code_key(loaded, proto);
                seen.insert(key).then(|| (i, function_name(key), Body { code: Some(key), ..inner.first_body(proto) }))
            })
            .collect();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let total = bodies.len();
        let cache = inner.cache.get().map(Arc::as_ref);
        // Largest first, one function per task: the largest compile is the critical
        // path, and the small ones fill the other threads meanwhile.
        let mut order: Vec<usize> = (0..total).collect();
        order.sort_by_key(|&b| std::cmp::Reverse(loaded.protos[bodies[b].0].mir.insts.len()));
        let mut outcomes: Vec<(usize, (String, Ahead))> = order
            .into_par_iter()
            .with_max_len(1)
            .map(|b| {
                let (i, name, body) = &bodies[b];
                let proto = &loaded.protos[*i];
                let outcome = match cache {
                    Some(cache) => inner.ahead_one(proto, loaded, body, name, cache, verify),
                    None => Ahead::Failed("no cache to compile into".into()),
                };
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                (*i, (format!("{} (line {})", proto.describe(), proto.mir.line), outcome))
            })
            .collect();
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }

    /// Gives every function of the VM's module number `module` a lazy entry, and
    /// attaches the engine to the VM ([`Vm::jit`]) so that hot functions and
    /// deoptimizations reach it.
    pub fn attach(&self, vm: &mut Vm, module: usize) -> Result<(), OrcError> {
        let inner = &self.inner;
        let loaded = &vm.modules()[module];
        inner.define_leaves(loaded)?;
        let mut leaves = Vec::new();
        let mut defined = inner.defined.lock().unwrap_or_else(|p| p.into_inner());
        for proto in &loaded.protos {
            let code = code_key(loaded, proto);
            let lazy = match defined.get(&code) {
                Some(lazy) => {
                    inner.stats.functions_shared.fetch_add(1, Ordering::Relaxed);
                    lazy.clone()
                }
                None => {
                    let lazy = inner.define_lazy(proto, loaded, code, &mut leaves)?;
                    defined.insert(code, lazy.clone());
                    lazy
                }
            };
            for &(h, stub) in &lazy.osr {
                if inner.tiering.optimize.is_some() {
                    // With an optimizing tier, it chooses when the loop gets hot.
                    let key = (proto as *const Proto as usize, h);
                    inner.generic_osr.lock().unwrap_or_else(|p| p.into_inner()).insert(key, stub);
                } else {
                    proto.osr_slots[h as usize].store(stub as usize, Ordering::Release);
                }
            }
            if let Some(hot) = lazy.hot {
                proto.hot_entry.store(hot as usize, Ordering::Release);
            }
            proto.first_entry.store(lazy.first as usize, Ordering::Release);
            proto.entry.store(lazy.first as usize, Ordering::Release);
            inner.stats.functions_defined.fetch_add(1, Ordering::Relaxed);
        }
        drop(defined);
        for (proto, name, body, prebuilt) in leaves {
            inner.precompile(proto, loaded, &name, body, prebuilt);
        }
        let hooks: Arc<dyn JitHooks> = self.inner.clone();
        vm.jit = Some(hooks);
        // The interpreter (running what optimized code left to it) enters long loops
        // on the stack too.
        vm.osr_loop_runs = inner.tiering.osr_backedges.unwrap_or(u32::MAX);
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.wait_idle();
    }
}

impl Inner {
    fn wait_idle(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        while *pending > 0 {
            pending = self.idle.wait(pending).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Binds the leaf fast paths and chain lookups of the module's runtime functions
    /// (see [`lazyjit_ir::interp::Leaf`], [`lazyjit_ir::interp::ChainLookup`]) by their
    /// symbols, once each.
    fn define_leaves(&self, loaded: &LoadedModule) -> Result<(), OrcError> {
        let mut defined = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        let mut new: Vec<(&str, u64)> = Vec::new();
        let leaves = loaded.runtime.iter().filter_map(|e| e.leaf).map(|l| (l.symbol, l.f as usize as u64));
        let chains = loaded.runtime.iter().filter_map(|e| e.chain).map(|c| (c.symbol, c.f as usize as u64));
        for (symbol, addr) in leaves.chain(chains) {
            match defined.get(symbol) {
                Some(&a) if a == addr => {}
                Some(_) => {
                    return Err(OrcError::Codegen(format!("two different host functions are named `{symbol}`")))
                }
                None => {
                    defined.insert(symbol, addr);
                    new.push((symbol, addr));
                }
            }
        }
        if !new.is_empty() {
            self.session.define_host_symbols(&new)?;
        }
        Ok(())
    }

    /// The code a function gets at its first call, as the tiering says (without a code
    /// key).
    fn first_body(&self, proto: &Proto) -> Body {
        let has_loop = proto.mir.blocks.iter().any(|b| b.loop_header);
        let first = if has_loop { self.tiering.with_loops } else { self.tiering.loop_free };
        match first {
            Shape::Compact => {
                let hot_calls = self.tiering.hot_calls;
                let osr = self.tiering.osr_backedges.filter(|_| has_loop).map(|backedges| OsrExits { backedges });
                Body::compact(hot_calls, osr)
            }
            Shape::Inline => Body::inline(self.opt),
        }
    }

    /// Defines the lazy functions of `proto`, whose code key is `code`: its first code,
    /// the inline code it moves to when hot, and its generic on-stack entries. A leaf to
    /// build ahead ([`Tiering::precompile_leaves`]; not the main chunk, which is called at
    /// once) is added to `leaves`.
    fn define_lazy<'p>(
        &self,
        proto: &'p Proto,
        loaded: &LoadedModule,
        code: Key,
        leaves: &mut Vec<(&'p Proto, String, Body, Arc<Prebuilt>)>,
    ) -> Result<Defined, OrcError> {
        let name = function_name(code);
        let code = Some(code);
        let first = Body { code, ..self.first_body(proto) };
        let mut osr = Vec::new();
        if first.osr.is_some() {
            for (h, _) in proto.mir.blocks.iter().enumerate().filter(|(_, b)| b.loop_header) {
                let why = format!("loop at block{h} hot");
                let entry = Body { osr_entry: Some(h as u32), why, code, ..Body::inline(self.opt) };
                osr.push((h as u32, self.define_body(&format!("{name}.osr{h}"), proto, loaded, entry, false, None)?));
            }
        }
        let leaf = proto.index != 0
            && !proto.mir.insts.iter().any(|node| matches!(node.data, lazyjit_ir::InstData::Call { .. }));
        let prebuilt = (self.tiering.precompile_leaves && leaf).then(|| Arc::new(Prebuilt::default()));
        if let Some(prebuilt) = &prebuilt {
            leaves.push((proto, name.clone(), first.clone(), prebuilt.clone()));
        }
        let hot_calls = first.hot_calls;
        let stub = self.define_body(&name, proto, loaded, first, true, prebuilt)?;
        let hot = match hot_calls {
            Some(_) => {
                let body = Body { why: "hot".into(), code, ..Body::inline(self.opt) };
                Some(self.define_body(&format!("{name}.hot"), proto, loaded, body, false, None)?)
            }
            None => None,
        };
        Ok(Defined { first: stub, hot, osr })
    }

    /// [`Engine::compile_ahead`] for one function, `body` of `proto`, named `name`.
    fn ahead_one(&self, proto: &Proto, loaded: &LoadedModule, body: &Body, name: &str, cache: &ObjectCache, verify: bool) -> Ahead {
        let symbol = crate::body_symbol(name);
        let Some(key) = body.object_key(&symbol) else { return Ahead::Failed("its code is not cacheable".into()) };
        let held = match cache.get(key) {
            Lookup::Hit(bytes) => Some(bytes),
            Lookup::Miss | Lookup::Rejected(_) => None,
        };
        match (&held, verify) {
            (Some(_), false) => return Ahead::Cached,
            (None, true) => return Ahead::NotCached,
            _ => {}
        }
        let object = match build_body(proto, loaded, body, &symbol, true, &self.stats, &TraceState::default(), None) {
            Ok(object) => object,
            Err(e) => return Ahead::Failed(e),
        };
        match held {
            Some(bytes) if object.as_bytes() == bytes.as_slice() => Ahead::Matches,
            Some(_) => Ahead::Differs,
            None if cache.put(key, object.as_bytes()) => Ahead::Compiled,
            None => Ahead::Failed("the cache did not store it".into()),
        }
    }

    /// Defines `name` as a lazy function compiling `body` of `proto`; `first`: it is the
    /// function's first code, counted in `functions_compiled`. Returns the stub's address.
    ///
    /// With `prebuilt`, the object may be built ahead by the leaf pre-compiler
    /// ([`Inner::precompile`]): the first call takes it, waits for it, or (coming first)
    /// builds it itself; never both.
    fn define_body(
        &self,
        name: &str,
        proto: &Proto,
        loaded: &LoadedModule,
        body: Body,
        first: bool,
        prebuilt: Option<Arc<Prebuilt>>,
    ) -> Result<u64, OrcError> {
        let target = Target(proto, loaded);
        let (stats, traces, cache) = (self.stats.clone(), self.traces.clone(), self.cache.get().cloned());
        let log = self.code_log.clone();
        self.session.add_lazy_function(name, move |req| {
            let target = target;
            // SAFETY: see `Target`.
            let (proto, loaded) = unsafe { (&*target.0, &*target.1) };
            let build = || build_body(proto, loaded, &body, req.symbol(), first, &stats, &traces, cache.as_deref());
            let object = match &prebuilt {
                None => build(),
                Some(prebuilt) => {
                    let ready = prebuilt.object.get().is_some();
                    let object = prebuilt.object.get_or_init(build).clone();
                    if prebuilt.by_precompiler.load(Ordering::Acquire) {
                        let count = if ready { &stats.first_calls_ready } else { &stats.first_calls_waited };
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    object
                }
            };
            if let (true, Ok(object)) = (log.on.load(Ordering::Relaxed), &object) {
                let size = object.symbol_size(req.symbol()).unwrap_or(0);
                let function = if proto.index == 0 { "main chunk" } else { proto.mir.name.as_str() };
                let what = format!("lua:{function} {}:{} [{}]", proto.chunk_name(), proto.mir.line, body.kind());
                log.records.lock().unwrap_or_else(|p| p.into_inner()).push((req.name().to_string(), size, what));
            }
            object
        })?;
        self.session.lookup(name)
    }

    /// The module of `loaded` as MIR, made once.
    fn module_of(&self, loaded: &LoadedModule) -> Arc<lazyjit_ir::Module> {
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        modules.entry(loaded as *const LoadedModule as usize).or_insert_with(|| Arc::new(loaded.to_module())).clone()
    }

    /// Runs the optimizing pipeline over `proto` with its current profile and keeps the
    /// result as a new version of the function; returns the version.
    /// The number is the version's among the engine's (for unique symbol names).
    ///
    /// With `osr`, the version is that on-stack entry ([`lazyjit_passes::osr`]) instead
    /// of the whole function.
    fn make_version(
        &self,
        proto: &Proto,
        loaded: &LoadedModule,
        optimize: &Optimize,
        osr: Option<lazyjit_passes::osr::OsrEntry>,
    ) -> Result<(*const Proto, usize), String> {
        let t0 = Instant::now();
        let module = self.module_of(loaded);
        let profiles: Vec<lazyjit_passes::Profile> = loaded.protos.iter().map(lazyjit_passes::Profile::of).collect();
        let mut profile = profiles.get(proto.index as usize).cloned().unwrap_or_else(|| lazyjit_passes::Profile::of(proto));
        if self.tiering.with_loops != Shape::Compact {
            // Loop runs are counted by the interpreter and compact code only: a function
            // whose loops ran in inline code would look as if they never ran.
            profile.loop_runs.clear();
        }
        let (mut f, from, stands_for, copied_from) = match osr {
            None => (proto.mir.clone(), Vec::new(), Vec::new(), Vec::new()),
            Some(e) => (e.function, e.from, e.stands_for, e.copied_from),
        };
        let cx = lazyjit_passes::Context {
            module: &module,
            runtime: &loaded.runtime,
            profile: Some(&profile),
            stands_for: &stands_for,
            copied_from: &copied_from,
            profiles: &profiles,
            natives: &loaded.natives,
        };
        let names: Vec<&str> = optimize.pipeline.iter().map(String::as_str).collect();
        // A pass that panics (a bug) costs the function its optimized code, not the
        // process: this runs under a helper called from compiled code, where a panic
        // could not unwind.
        let passes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lazyjit_passes::run_pipeline(&cx, &mut f, &names, optimize.verify)));
        match passes {
            Ok(result) => result.map_err(|e| e.to_string())?,
            Err(payload) => {
                let what = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
                return Err(format!("a pass panicked: {}", what.unwrap_or_else(|| "(no message)".into())));
            }
        };
        let mut version = Box::new(loaded.decode_version(f, proto.index));
        version.osr_from = from.iter().map(|&(v, tag)| (proto.slot_of[v.index()], tag as u8)).collect();
        let ptr: *const Proto = &*version;
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        versions.push(version);
        self.stats.passes_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok((ptr, versions.len()))
    }

    /// Whether `proto` is not to be optimized (again): it deoptimized too often, or its
    /// optimized code could not be built once.
    fn stays_generic(&self, proto: &Proto, optimize: &Optimize) -> bool {
        proto.deopts.load(Ordering::Relaxed) >= optimize.max_deopts
            || self.unoptimizable.lock().unwrap_or_else(|p| p.into_inner()).contains(&(proto as *const Proto as usize))
    }

    /// Moves hot `proto` on: to optimized code (compiled now or in the background), or
    /// to its generic inline code (no optimizing tier, too many deoptimizations, code
    /// that could not be built, or a pipeline that failed).
    fn tier_up(self: &Arc<Self>, proto: &Proto) {
        let generic = || {
            let hot = proto.hot_entry.load(Ordering::Acquire);
            if hot != 0 {
                proto.entry.store(hot, Ordering::Release);
            }
        };
        let Some(optimize) = &self.tiering.optimize else { return generic() };
        if self.stays_generic(proto, optimize) {
            return generic();
        }
        // SAFETY: a loaded proto's module outlives it.
        let loaded = unsafe { &*proto.module };
        let t0 = Instant::now();
        match self.make_version(proto, loaded, optimize, None) {
            Ok((version, n)) => {
                let deopts = proto.deopts.load(Ordering::Relaxed);
                let again = if deopts > 0 { format!(" (again, after {deopts} deoptimizations)") } else { String::new() };
                let hot = self.tiering.hot_calls.map_or(String::new(), |n| format!(" after {n} calls"));
                let why = format!("hot{hot}{again}; passes {:.2} ms", t0.elapsed().as_secs_f64() * 1e3);
                if self.install(proto, version, n, &proto.mir.name, optimize, &proto.entry, why).is_ok() {
                    return;
                }
            }
            Err(e) => self.session.record_error(format!("optimizing {}: {e}", proto.mir.name)),
        }
        generic()
    }

    /// Defines the code of `version` (of `proto`, the engine's `n`-th, `label` naming
    /// the function and entry) and stores its entry into `slot`: the lazy stub at once,
    /// or (compiling in the background) a pending mark and then the compiled body.
    ///
    /// With a persistent cache, the code is named by its [`version_key`], and a later
    /// run that makes the same version (the same function, profiled alike) links the
    /// cached object instead of compiling it.
    #[allow(clippy::too_many_arguments)]
    fn install(
        self: &Arc<Self>,
        proto: &Proto,
        version: *const Proto,
        n: usize,
        label: &str,
        optimize: &Optimize,
        slot: &std::sync::atomic::AtomicUsize,
        why: String,
    ) -> Result<(), ()> {
        // SAFETY: a loaded proto's module outlives it; the version lives as long as the
        // engine.
        let (loaded, version) = unsafe { (&*proto.module, &*version) };
        let key = self.cache.get().map(|_| version_key(loaded, proto, version));
        let keyed = key.filter(|&k| self.version_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(k));
        let name = match keyed {
            Some(key) => format!("lzo.{key}.{label}"),
            None => format!("lzo.{n}.{label}"),
        };
        let symbols = crate::lower::version_symbols(&crate::body_symbol(&name), version, loaded);
        let symbols: Vec<(&str, u64)> = symbols.iter().map(|(s, a)| (s.as_str(), *a)).collect();
        if let Err(e) = self.session.define_host_data(&symbols) {
            self.session.record_error(format!("optimizing {}: {e}", proto.mir.name));
            return Err(());
        }
        let body = Body { optimized: true, why, code: keyed, ..Body::inline(optimize.opt) };
        let stub = match self.define_body(&name, version, loaded, body, false, None) {
            Ok(stub) => stub,
            Err(e) => {
                self.session.record_error(format!("optimizing {}: {e}", proto.mir.name));
                return Err(());
            }
        };
        if !optimize.background {
            slot.store(stub as usize, Ordering::Release);
            return Ok(());
        }
        let is_entry = std::ptr::eq(slot, &proto.entry);
        if !is_entry {
            // An on-stack entry slot: nothing to enter until the code is ready.
            slot.store(OSR_PENDING, Ordering::Release);
        }
        let key = proto as *const Proto as usize;
        if is_entry {
            self.entries_compiling.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
        }
        let (target, name) = (SlotRef(slot), name.to_string());
        self.in_background(move |inner| {
            let target = target;
            // SAFETY: the VM waits for background compiles before it drops its modules
            // (`JitHooks::quiesce`), and slots live in its protos.
            let slot = unsafe { &*target.0 };
            match inner.session.lookup_body(&name) {
                Ok(body) => slot.store(body as usize, Ordering::Release),
                // The code could not be built (the session's error log says why): the
                // function is not optimized again, and an on-stack entry is not made
                // again (the pending mark stays).
                Err(_) => {
                    inner.unoptimizable.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
                }
            }
            if is_entry {
                inner.entries_compiling.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            }
        });
        Ok(())
    }

    /// Runs `job` on rayon's pool as a background compile: [`Inner::wait_idle`] (and
    /// with it the VM before it drops its modules) waits for it.
    fn in_background(self: &Arc<Self>, job: impl FnOnce(&Inner) + Send + 'static) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let inner = self.clone();
        rayon::spawn(move || {
            job(&inner);
            let mut pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
            *pending -= 1;
            inner.idle.notify_all();
        });
    }

    /// Starts building the first code of `proto`, a leaf function, on rayon's pool, into
    /// `prebuilt` (unless its first call has come first).
    fn precompile(self: &Arc<Self>, proto: &Proto, loaded: &LoadedModule, name: &str, body: Body, prebuilt: Arc<Prebuilt>) {
        let (target, symbol) = (Target(proto, loaded), crate::body_symbol(name));
        self.in_background(move |inner| {
            let target = target;
            // SAFETY: see `Target`; the VM waits for background compiles before it drops
            // its modules.
            let (proto, loaded) = unsafe { (&*target.0, &*target.1) };
            prebuilt.object.get_or_init(|| {
                prebuilt.by_precompiler.store(true, Ordering::Release);
                inner.stats.precompiled.fetch_add(1, Ordering::Relaxed);
                let cache = inner.cache.get().map(Arc::as_ref);
                build_body(proto, loaded, &body, &symbol, true, &inner.stats, &inner.traces, cache)
            });
        });
    }

    /// Stores the generic on-stack entry of loop header `header` of `proto` into the
    /// header's slot and returns it.
    fn take_generic_osr(&self, proto: &Proto, header: u32) -> usize {
        let key = (proto as *const Proto as usize, header);
        let stub = self.generic_osr.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied().unwrap_or(0) as usize;
        proto.osr_slots[header as usize].store(stub, Ordering::Release);
        stub
    }

    /// Chooses the on-stack entry of loop header `header` of `proto`, whose frame is the
    /// innermost of `vm`: an optimized version specialized to the frame's values, or the
    /// generic entry. Stores it in the header's slot and returns it (0: none yet).
    fn choose_osr(self: &Arc<Self>, vm: &Vm, proto: &Proto, header: u32) -> usize {
        let slot = &proto.osr_slots[header as usize];
        let generic = || self.take_generic_osr(proto, header);
        let Some(optimize) = &self.tiering.optimize else { return generic() };
        if self.stays_generic(proto, optimize) {
            return generic();
        }
        // A loop that runs only a few times per call, in a function called often, gets
        // optimized code through the calls soon enough: an on-stack entry as well would
        // double the compile (an entry is for loops that run long in few calls).
        let runs = proto.loop_entries.get(header as usize).map_or(0, |r| r.load(Ordering::Relaxed));
        if runs / proto.calls.load(Ordering::Relaxed).max(1) < OSR_MIN_RUNS_PER_CALL {
            return 0;
        }
        // One on-stack entry of a function compiles at a time: the loop whose entry is
        // being made is where the function runs (other headers it passes wait for it).
        if proto.osr_slots.iter().any(|s| s.load(Ordering::Acquire) == OSR_PENDING) {
            return 0;
        }
        // A function hot by its calls whose optimized code is compiling: its next calls
        // get that code, and its loops wait for it (an on-stack entry too would double
        // the compile for a function whose loops are short).
        if self.entries_compiling.lock().unwrap_or_else(|p| p.into_inner()).contains(&(proto as *const Proto as usize)) {
            return 0;
        }
        let Some(frame) = vm.frames.last() else { return generic() };
        let base = frame.base;
        let tag_of = |v: lazyjit_ir::Value| vm.get(base + proto.slot_of[v.index()] as usize).tag();
        let entry = match lazyjit_passes::osr::entry_at(&proto.mir, lazyjit_ir::Block(header), tag_of) {
            Ok(entry) => entry,
            Err(decline) => {
                if self.traces.on(TRACE_TIER) {
                    let (name, line) = (proto.describe(), proto.mir.line);
                    self.traces.emit(&format!("[tier] {name} (line {line}): the loop at block{header} gets inline code: {decline}"));
                }
                return generic();
            }
        };
        let t0 = Instant::now();
        // SAFETY: a loaded proto's module outlives it.
        let loaded = unsafe { &*proto.module };
        let (version, n) = match self.make_version(proto, loaded, optimize, Some(entry)) {
            Ok(v) => v,
            Err(e) => {
                self.session.record_error(format!("optimizing {} at block{header}: {e}", proto.mir.name));
                return generic();
            }
        };
        let label = format!("{}.osr{header}", proto.mir.name);
        let why = format!("entered at block{header} (loop hot); passes {:.2} ms", t0.elapsed().as_secs_f64() * 1e3);
        if self.install(proto, version, n, &label, optimize, slot, why).is_err() {
            return generic();
        }
        self.optimized_osr.lock().unwrap_or_else(|p| p.into_inner()).push((proto as *const Proto as usize, header));
        match slot.load(Ordering::Acquire) {
            OSR_PENDING => 0,
            entry => entry,
        }
    }
}

/// Makes the object of `body` of `proto` defining `symbol`: from the cache when it holds
/// it, else compiled (and stored in the cache). `first`: the function's first code.
fn build_body(
    proto: &Proto,
    loaded: &LoadedModule,
    body: &Body,
    symbol: &str,
    first: bool,
    stats: &EngineStats,
    traces: &TraceState,
    cache: Option<&ObjectCache>,
) -> Result<crate::ObjectBuffer, String> {
    let t0 = Instant::now();
    let trace = |source: &str| {
        if traces.on(TRACE_TIER) {
            let code = body.kind();
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            traces.emit(&format!("[tier] {} (line {}): {code}, {}{source}, {ms:.2} ms", proto.describe(), proto.mir.line, body.why));
        }
    };
    let key = cache.and_then(|_| body.object_key(symbol));
    if let (Some(cache), Some(key)) = (cache, key) {
        if let Lookup::Hit(bytes) = cache.get(key) {
            let object = crate::ObjectBuffer::from_bytes(bytes);
            // The entry passed the cache's checks of its header and checksum; it is
            // linked only if it is an object defining this body (else compiled afresh,
            // which replaces it).
            if object.defines(symbol) {
                let hits = if body.optimized { &stats.optimized_cache_hits } else { &stats.cache_hits };
                hits.fetch_add(1, Ordering::Relaxed);
                trace(", from the cache");
                return Ok(object);
            }
        }
        let misses = if body.optimized { &stats.optimized_cache_misses } else { &stats.cache_misses };
        misses.fetch_add(1, Ordering::Relaxed);
    }
    let ctx = crate::inkwell::context::Context::create();
    let lower_opts = LowerOptions {
        symbol: symbol.to_string(),
        hot_calls: body.hot_calls,
        osr: body.osr.clone(),
        osr_entry: body.osr_entry,
        version: body.optimized,
    };
    let m = match body.shape {
        Shape::Compact => lower_compact(&ctx, proto, &lower_opts),
        Shape::Inline => lower_proto(&ctx, proto, loaded, &lower_opts),
    };
    let m = m.map_err(|e| format!("lowering {}: {e}", proto.mir.name))?;
    let ir_ns = t0.elapsed().as_nanos() as u64;
    if crate::fault::llvm_fails() {
        return Err(format!("LLVM failed to compile {symbol} (injected: {})", crate::fault::LLVM_FAILURES));
    }
    let (object, times) = compile_module_timed(&m, &body.codegen())?;
    stats.llvm_ir_ns.fetch_add(ir_ns, Ordering::Relaxed);
    stats.llvm_opt_ns.fetch_add(times.opt_ns, Ordering::Relaxed);
    stats.codegen_ns.fetch_add(times.codegen_ns, Ordering::Relaxed);
    if first {
        stats.functions_compiled.fetch_add(1, Ordering::Relaxed);
    }
    let count = match (body.shape, body.osr_entry, body.optimized) {
        (Shape::Compact, _, _) => &stats.compiles_compact,
        (Shape::Inline, _, true) => &stats.compiles_optimized,
        (Shape::Inline, None, false) => &stats.compiles_inline,
        (Shape::Inline, Some(_), false) => &stats.compiles_osr,
    };
    count.fetch_add(1, Ordering::Relaxed);
    if let (Some(cache), Some(key)) = (cache, key) {
        // The caller (a first call, most often) does not wait for the file system.
        cache.put_later(key, object.as_bytes());
    }
    trace("");
    Ok(object)
}

/// The fewest runs per call of a loop (entries and trips, [`Proto::loop_entries`] over
/// [`Proto::calls`]) for which an on-stack entry is made.
const OSR_MIN_RUNS_PER_CALL: u32 = 64;

/// What failed at a deoptimization at op `pc` of `version` with snapshot `snap`: the
/// guard, its snapshot and resume point, and what the guarded value held (read from
/// the rebuilt generic frame, the innermost of `vm`, when the snapshot carries it).
fn explain_deopt(vm: &Vm, proto: &Proto, version: &Proto, snap: u32, pc: u32) -> String {
    use lazyjit_ir::function::{InstData, SnapSource};
    let inst = version
        .origin
        .get(pc as usize)
        .and_then(|&(b, i)| version.mir.blocks.get(b as usize)?.insts.get(i as usize).copied());
    let Some(InstData::Guard { op, arg, imm, .. }) = inst.map(|i| &version.mir.insts[i.index()].data) else {
        return format!("snapshot {snap} at op {pc}");
    };
    let what = match op {
        lazyjit_ir::Opcode::GuardFn => format!("fn{imm}"),
        lazyjit_ir::Opcode::GuardTag | lazyjit_ir::Opcode::GuardElems => lazyjit_ir::rt::Tag::from_u8(*imm as u8).map_or("?", |t| t.name()).to_string(),
        _ => String::new(),
    };
    let mut text = format!("{} {arg}{}{what}, snap{snap} failed", op.mnemonic(), if what.is_empty() { "" } else { ", " });
    // A condition: what it compared.
    if let (lazyjit_ir::Opcode::Guard, lazyjit_ir::ValueDef::Result(def, _)) = (op, version.mir.values[arg.index()].def) {
        let data = &version.mir.insts[def.index()].data;
        let operands: Vec<String> = data.operands().iter().map(|v| v.to_string()).collect();
        text += &format!(" ({arg} = {} {})", data.opcode().mnemonic(), operands.join(", "));
    }
    let Some(snapshot) = version.mir.snapshots.get(snap as usize) else { return text };
    let held = snapshot.entries.iter().find(|(_, src)| *src == SnapSource::Value(*arg)).map(|(generic, _)| *generic);
    if let (Some(generic), Some(frame)) = (held, vm.frames.last()) {
        if let Some(&slot) = proto.slot_of.get(generic.index()) {
            let tag = vm.get(frame.base + slot as usize).tag();
            text += &format!(" ({arg} holds a {})", tag.name());
        }
    }
    text + &format!("; resumes at {}:{} in the interpreter", snapshot.resume.block, snapshot.resume.index)
}

/// A dispatch slot moved into a background compile (see [`Target`] for why it stays
/// valid).
struct SlotRef(*const std::sync::atomic::AtomicUsize);
// SAFETY: an atomic, shared by design.
unsafe impl Send for SlotRef {}

impl JitHooks for Inner {
    fn hot(self: Arc<Self>, _vm: &mut Vm, proto: &Proto) {
        self.tier_up(proto);
    }

    fn deoptimized(&self, vm: &mut Vm, proto: &Proto, version: &Proto, snap: u32, pc: u32) {
        self.stats.deopts.fetch_add(1, Ordering::Relaxed);
        if self.traces.on(TRACE_DEOPT) {
            let optimize = self.tiering.optimize.as_ref();
            let limit = optimize.map_or(String::new(), |o| format!(" of {}", o.max_deopts));
            let (name, line) = (proto.describe(), version.line_at(pc));
            let deopts = proto.deopts.load(Ordering::Relaxed);
            let unreached = version.mir.snapshots.get(snap as usize).filter(|s| s.unreached);
            if let Some(s) = unreached {
                let at = s.resume.block;
                self.traces.emit(&format!(
                    "[deopt] {name} (line {line}): the loop at {at} had not run when the code was made; resumes at {at}:0 in the interpreter (not counted: deoptimizations {deopts}{limit})"
                ));
            } else {
                self.traces.emit(&format!("[deopt] {name} (line {line}): {}; deoptimization {deopts}{limit}", explain_deopt(vm, proto, version, snap, pc)));
            }
        }
        // All of the function's optimized code came from a profile that has now failed
        // somewhere. Its on-stack entries are chosen again at their next hot back edge
        // (re-optimized from the profile that shows the failure, or generic after too
        // many deoptimizations); one still compiling stays listed, to be dropped at the
        // next deoptimization (its compile stores it when done)...
        let key = proto as *const Proto as usize;
        self.optimized_osr.lock().unwrap_or_else(|p| p.into_inner()).retain(|&(p, header)| {
            if p != key {
                return true;
            }
            let slot = &proto.osr_slots[header as usize];
            if slot.load(Ordering::Acquire) == OSR_PENDING {
                return true;
            }
            slot.store(0, Ordering::Release);
            false
        });
        // ...and calls go back to the first code, which counts them and tiers up again.
        let first = proto.first_entry.load(Ordering::Acquire);
        if first != 0 {
            proto.calls.store(0, Ordering::Relaxed);
            proto.entry.store(first, Ordering::Release);
        }
    }

    fn osr_entry(self: Arc<Self>, vm: &mut Vm, proto: &Proto, header: u32) -> usize {
        self.choose_osr(vm, proto, header)
    }

    fn osr_declined(&self, _vm: &mut Vm, proto: &Proto, header: u32) {
        // Specialized to tags the loop no longer has: generic from now on.
        self.take_generic_osr(proto, header);
    }

    fn quiesce(&self) {
        self.wait_idle();
    }
}
