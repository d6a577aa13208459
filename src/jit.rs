//! [`Jit`]: a VM with an engine attached, loading modules and calling their functions.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::convert::{Args, Results};
use crate::engine::{Engine, EngineOptions, ObjectCache, TierPolicy, TraceSink, Traces};
use crate::mir::{verify_module, Module, VerifyError};
use crate::runtime::{access, LoadError, RtRegistry, Tag, Val, Vm, VmError, VARINFO};

/// Why a [`Jit`] could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module breaks MIR's rules (found by [`verify_module`] before loading).
    #[error("the module does not verify:{}", .0.iter().map(|e| format!("\n  {e}")).collect::<String>())]
    Verify(Vec<VerifyError>),
    /// The module could not be loaded (a runtime function it declares is unknown, say).
    #[error("{0}")]
    Load(#[from] LoadError),
    /// The engine could not be started or attached.
    #[error("the JIT could not be set up: {0}")]
    Engine(String),
    /// No loaded function has this name (functions with upvalues are not looked up).
    #[error("no function named '{0}'")]
    NoFunction(String),
    /// A typed call names a function of another arity.
    #[error("'{name}' takes {params} arguments, not {given}")]
    Arity {
        /// The function.
        name: String,
        /// Its parameters.
        params: usize,
        /// The arguments of the signature.
        given: usize,
    },
    /// A result was not of the type the signature names.
    #[error("result {index} of '{name}' is not a {expected}")]
    ResultType {
        /// The function.
        name: String,
        /// The position of the result, from 0.
        index: usize,
        /// The type expected.
        expected: &'static str,
    },
    /// The call raised an error.
    #[error("{message}")]
    Raised {
        /// The error's message (a runtime error's with its position).
        message: String,
        /// The interpreted frames where it was raised, if it was not caught.
        traceback: Option<String>,
    },
    /// The program asked to exit with this status.
    #[error("exit {0}")]
    Exit(i32),
}

/// A function of a loaded module, callable with the Rust signature `A -> R` (see
/// [`Args`], [`Results`]). It holds the function's closure, which the VM keeps alive.
///
/// ```
/// # use lazyjit::{mir, runtime::RtRegistry, Func, Jit};
/// let module = mir::parse_module(
///     "module \"m\"\nfunction fn0 \"main\" (params 0, upvals 0, sites 0, line 1) {\nblock0:\n    return\n}\n\
///      function fn1 \"twice\" (params 1, upvals 0, sites 0, line 1) {\nblock0(v0: val):\n    \
///      v1 = unbox.int v0\n    v2 = iadd v1, v1\n    v3 = box.int v2\n    return v3\n}\n",
/// ).unwrap();
/// let mut jit = Jit::builder(RtRegistry::new()).interpreter_only().build().unwrap();
/// jit.load(module).unwrap();
/// let twice: Func<(i64,), i64> = jit.function("twice").unwrap();
/// assert_eq!(twice.call(&mut jit, (21,)).unwrap(), 42);
/// ```
pub struct Func<A, R> {
    value: Val,
    name: String,
    marker: PhantomData<fn(A) -> R>,
}

impl<A, R> Clone for Func<A, R> {
    fn clone(&self) -> Self {
        Func { value: self.value, name: self.name.clone(), marker: PhantomData }
    }
}

impl<A: Args, R: Results> Func<A, R> {
    /// Calls the function in `jit` (see [`Jit::call`]).
    pub fn call(&self, jit: &mut Jit, args: A) -> Result<R, Error> {
        jit.call(self, args)
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The closure value.
    pub fn value(&self) -> Val {
        self.value
    }

    /// The same function with another signature (checked at the call: results by
    /// type; the arity is not checked again).
    pub fn retype<A2: Args, R2: Results>(self) -> Func<A2, R2> {
        Func { value: self.value, name: self.name, marker: PhantomData }
    }
}

/// What an engine and the heap have done so far ([`Jit::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Functions given a lazy entry (every function of every loaded module).
    pub functions_defined: u64,
    /// Functions whose first code LLVM compiled (code found in the cache not counted).
    pub functions_compiled: u64,
    /// Functions that shared the code of an identical function loaded before.
    pub functions_shared: u64,
    /// Code found in the persistent cache instead of compiled.
    pub cache_hits: u64,
    /// Code looked up in the cache and not found (then compiled and stored).
    pub cache_misses: u64,
    /// Optimized code found in the persistent cache (a version made alike in an
    /// earlier run) instead of compiled; not counted in `cache_hits`.
    pub optimized_cache_hits: u64,
    /// Optimized code looked up in the cache and not found.
    pub optimized_cache_misses: u64,
    /// Compiles in the baseline tier's compact shape.
    pub compiles_compact: u64,
    /// Compiles in the baseline tier's inline shape.
    pub compiles_inline: u64,
    /// Compiles of on-stack entries into loops.
    pub compiles_osr: u64,
    /// Compiles of optimized (speculative) code: tier-ups.
    pub compiles_optimized: u64,
    /// Failed guards of optimized code.
    pub deopts: u64,
    /// Garbage collections.
    pub collections: u64,
}

/// How to make a [`Jit`]: the runtime functions, the tier policy, the cache and
/// traces.
///
/// ```
/// use lazyjit::engine::{TierPolicy, Traces};
/// use lazyjit::runtime::RtRegistry;
/// use lazyjit::Jit;
///
/// let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
/// let sink = lines.clone();
/// let jit = Jit::builder(RtRegistry::new())
///     .policy(TierPolicy::builtin("optimize-now").unwrap())
///     .no_cache()
///     .traces(Traces { tier: true, deopt: true })
///     .trace_sink(move |line| sink.lock().unwrap().push(line.to_string()))
///     .build()
///     .unwrap();
/// assert!(jit.is_compiling());
/// ```
pub struct JitBuilder {
    registry: RtRegistry,
    policy: TierPolicy,
    interpreter_only: bool,
    cache: CacheChoice,
    traces: Traces,
    sink: Option<TraceSink>,
}

enum CacheChoice {
    Policy,
    Dir(PathBuf),
    Off,
}

impl JitBuilder {
    /// The tier policy (default: [`TierPolicy::default`], `policies/default.ron`).
    pub fn policy(mut self, policy: TierPolicy) -> JitBuilder {
        self.policy = policy;
        self
    }

    /// No engine: everything runs in the interpreter (links no code at run time).
    pub fn interpreter_only(mut self) -> JitBuilder {
        self.interpreter_only = true;
        self
    }

    /// Keeps compiled code in (and takes it from) the cache in `dir`, whatever the
    /// policy says.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> JitBuilder {
        self.cache = CacheChoice::Dir(dir.into());
        self
    }

    /// No persistent cache, whatever the policy says.
    pub fn no_cache(mut self) -> JitBuilder {
        self.cache = CacheChoice::Off;
        self
    }

    /// What the engine traces (on standard error, or to [`JitBuilder::trace_sink`]).
    pub fn traces(mut self, traces: Traces) -> JitBuilder {
        self.traces = traces;
        self
    }

    /// Sends trace lines to `sink` instead of standard error (from whichever thread
    /// compiled or deoptimized).
    pub fn trace_sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> JitBuilder {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// The [`Jit`]: a fresh VM and, unless interpreter-only, an engine.
    pub fn build(self) -> Result<Jit, Error> {
        let engine = if self.interpreter_only {
            None
        } else {
            let engine = Engine::with_options(self.policy.inline_opt(), self.policy.tiering(), EngineOptions::default())
                .map_err(|e| Error::Engine(e.to_string()))?;
            engine.set_traces(self.traces);
            engine.set_trace_sink(self.sink);
            let config = match self.cache {
                CacheChoice::Off => None,
                CacheChoice::Dir(dir) => self.policy.cache_config(Some(dir)),
                CacheChoice::Policy => self.policy.cache_config(None),
            };
            if let Some(config) = config {
                engine.set_cache(Arc::new(ObjectCache::open(config)));
            }
            Some(engine)
        };
        Ok(Jit { vm: Box::new(Vm::new(None)), registry: self.registry, functions: HashMap::new(), engine })
    }
}

/// A VM with the frontend's runtime functions and (unless interpreter-only) an engine
/// attached: modules are verified, loaded and attached (every function gets a lazy
/// stub: nothing is compiled before its first call), and their functions called with
/// typed signatures.
///
/// Calls run on the calling thread; deep recursion in compiled code recurses on its
/// native stack, so a language with deep recursion calls from a thread with a large
/// stack ([`crate::on_large_stack`]). A `Jit` waits for its background compiles and
/// cache writes when dropped.
///
/// ```
/// use lazyjit::mir::{Const, Function, FunctionBuilder, Module, Opcode, Type};
/// use lazyjit::runtime::RtRegistry;
/// use lazyjit::{Func, Jit};
///
/// // fn0 is the main function; fn1 "square" multiplies its integer argument by itself.
/// let mut module = Module::new("example");
/// let mut main = Function::new("main");
/// let mut b = FunctionBuilder::new(&mut main);
/// let entry = b.create_block();
/// b.switch_to_block(entry);
/// b.ret(vec![], false);
/// module.add_function(main);
///
/// let mut square = Function::new("square");
/// square.params = 1;
/// let mut b = FunctionBuilder::new(&mut square);
/// let entry = b.create_block();
/// let x = b.append_block_param(entry, Type::Val);
/// b.switch_to_block(entry);
/// let n = b.unary(Opcode::UnboxInt, x);
/// let sq = b.binary(Opcode::Imul, n, n);
/// let boxed = b.unary(Opcode::BoxInt, sq);
/// b.ret(vec![boxed], false);
/// module.add_function(square);
///
/// let mut jit = Jit::builder(RtRegistry::new()).no_cache().build().unwrap();
/// jit.load(module).unwrap();
/// let square: Func<(i64,), i64> = jit.function("square").unwrap();
/// assert_eq!(square.call(&mut jit, (12,)).unwrap(), 144);
/// jit.wait_idle();
/// assert_eq!(jit.stats().functions_compiled, 1, "main was never called");
/// ```
pub struct Jit {
    // Dropped before the engine: a VM quiets the engine's background work for it.
    vm: Box<Vm>,
    registry: RtRegistry,
    /// Functions looked up by name: closure, parameters, variadic.
    functions: HashMap<String, (Val, usize, bool)>,
    engine: Option<Engine>,
}

impl Jit {
    /// A builder for a `Jit` whose modules call the runtime functions of `registry`.
    pub fn builder(registry: RtRegistry) -> JitBuilder {
        JitBuilder { registry, policy: TierPolicy::default(), interpreter_only: false, cache: CacheChoice::Policy, traces: Traces::default(), sink: None }
    }

    /// The VM: its globals, registry, hooks and heap (install a runtime library here
    /// before loading).
    pub fn vm(&mut self) -> &mut Vm {
        &mut self.vm
    }

    /// The engine, if there is one.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Whether functions are compiled (an engine is attached).
    pub fn is_compiling(&self) -> bool {
        self.engine.is_some()
    }

    /// Verifies `module`, loads it and attaches it to the engine; returns its main
    /// function (function 0), not yet called.
    pub fn load(&mut self, module: Module) -> Result<Func<(), ()>, Error> {
        verify_module(&module).map_err(Error::Verify)?;
        let name = module.functions[0].name.clone();
        let main = self.vm.load(module, &self.registry)?;
        self.vm.registry.push(main);
        if let Some(engine) = &self.engine {
            let index = self.vm.modules().len() - 1;
            engine.attach(&mut self.vm, index).map_err(|e| Error::Engine(e.to_string()))?;
        }
        Ok(Func { value: main, name, marker: PhantomData })
    }

    /// The function named `name` of the loaded modules (the last loaded first), as a
    /// typed function; it must take `A::COUNT` parameters (or be variadic) and have no
    /// upvalues.
    pub fn function<A: Args, R: Results>(&mut self, name: &str) -> Result<Func<A, R>, Error> {
        let (value, params, vararg) = match self.functions.get(name) {
            Some(&found) => found,
            None => {
                let proto = self
                    .vm
                    .modules()
                    .iter()
                    .rev()
                    .flat_map(|m| m.protos.iter())
                    .find(|p| p.mir.name == name && p.mir.upvals == 0)
                    .ok_or_else(|| Error::NoFunction(name.to_string()))?;
                let (params, vararg, proto) = (proto.mir.params as usize, proto.mir.vararg, proto as *const _);
                let v = self.vm.new_closure(proto, &[]);
                self.vm.registry.push(v);
                self.functions.insert(name.to_string(), (v, params, vararg));
                (v, params, vararg)
            }
        };
        if params != A::COUNT && !(vararg && A::COUNT >= params) {
            return Err(Error::Arity { name: name.to_string(), params, given: A::COUNT });
        }
        Ok(Func { value, name: name.to_string(), marker: PhantomData })
    }

    /// Calls `f` with `args`; results are converted as `R` says.
    pub fn call<A: Args, R: Results>(&mut self, f: &Func<A, R>, args: A) -> Result<R, Error> {
        let args = args.into_vals(&mut self.vm);
        let vals = self.call_value(f.value, &args)?;
        R::from_vals(&self.vm, &vals).map_err(|(index, expected)| Error::ResultType { name: f.name.clone(), index, expected })
    }

    /// Calls any callable value with boxed arguments; returns every result (no roots:
    /// read them before calling into the VM again).
    pub fn call_value(&mut self, f: Val, args: &[Val]) -> Result<Vec<Val>, Error> {
        let outermost = self.vm.depth == 0;
        let marker = 0u8;
        let saved = self.vm.native_stack_base;
        if outermost {
            // The collector scans the native stack from here up for values held by
            // compiled code and runtime functions.
            self.vm.native_stack_base = &marker as *const u8 as usize;
        }
        let r = self.vm.call(f, args);
        self.vm.native_stack_base = saved;
        r.map_err(|e| self.error(e))
    }

    fn error(&mut self, e: VmError) -> Error {
        let message = match e {
            VmError::Exit(code) => return Error::Exit(code),
            VmError::Runtime { msg, .. } => msg.replace(VARINFO, ""),
            VmError::Value(v) => match v.tag() {
                Tag::Str => String::from_utf8_lossy(access::bytes_of(v)).into_owned(),
                Tag::Int | Tag::Float => format!("{v:?}"),
                t => format!("(error object is a {} value)", t.name()),
            },
        };
        Error::Raised { message, traceback: self.vm.pending_traceback.take() }
    }

    /// Waits until background compiles and cache writes are done.
    pub fn wait_idle(&self) {
        if let Some(engine) = &self.engine {
            engine.wait_idle();
            engine.flush_cache();
        }
    }

    /// The counters so far (background compiles still running are not counted yet:
    /// [`Jit::wait_idle`] first for a settled picture).
    pub fn stats(&self) -> Stats {
        let mut s = Stats { collections: self.vm.heap.stats.collections, ..Stats::default() };
        if let Some(engine) = &self.engine {
            let e = engine.stats();
            let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            s.functions_defined = get(&e.functions_defined);
            s.functions_compiled = get(&e.functions_compiled);
            s.functions_shared = get(&e.functions_shared);
            s.cache_hits = get(&e.cache_hits);
            s.cache_misses = get(&e.cache_misses);
            s.optimized_cache_hits = get(&e.optimized_cache_hits);
            s.optimized_cache_misses = get(&e.optimized_cache_misses);
            s.compiles_compact = get(&e.compiles_compact);
            s.compiles_inline = get(&e.compiles_inline);
            s.compiles_osr = get(&e.compiles_osr);
            s.compiles_optimized = get(&e.compiles_optimized);
            s.deopts = get(&e.deopts);
        }
        s
    }

    /// Problems the engine met and worked around (code LLVM could not build, which then
    /// ran in the interpreter; cache directories it could not use), each once.
    pub fn warnings(&self) -> Vec<String> {
        let Some(engine) = &self.engine else { return Vec::new() };
        let mut out = engine.errors();
        if let Some(cache) = engine.cache() {
            out.extend(cache.take_warnings());
        }
        out
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        self.wait_idle();
    }
}
