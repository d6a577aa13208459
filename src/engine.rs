//! The engine and its settings: tier policies, traces, the persistent object cache.
//! [`crate::Jit`] puts them together; a frontend with its own driver (a VM it set up
//! itself) uses [`Engine`] directly: [`Engine::attach`] gives each function of a loaded
//! module its lazy stub.
//!
//! ```
//! use lazyjit::engine::{Engine, EngineOptions, TierPolicy};
//!
//! let policy = TierPolicy::builtin("baseline-only").unwrap();
//! let engine = Engine::with_options(policy.inline_opt(), policy.tiering(), EngineOptions::default()).unwrap();
//! assert_eq!(engine.stats().functions_compiled.load(std::sync::atomic::Ordering::Relaxed), 0);
//! ```

/// A JIT engine: an ORC session, the baseline tier and the optimizing tier.
///
/// ```
/// use lazyjit::engine::{Engine, EngineOptions, TierPolicy};
/// use lazyjit::mir::parse_module;
/// use lazyjit::runtime::{RtRegistry, Vm};
///
/// let policy = TierPolicy::default();
/// let engine = Engine::with_options(policy.inline_opt(), policy.tiering(), EngineOptions::default()).unwrap();
/// let mut vm = Vm::new(None);
/// let module = parse_module("module \"m\"\nfunction fn0 \"main\" (params 0, upvals 0, sites 0, line 1) {\nblock0:\n    v0 = const 5\n    return v0\n}\n").unwrap();
/// let main = vm.load(module, &RtRegistry::new()).unwrap();
/// engine.attach(&mut vm, 0).unwrap(); // lazy stubs: nothing compiled yet
/// assert_eq!(vm.call1(main, &[]).unwrap().as_int(), Some(5)); // compiled at this call
/// drop(vm); // before the engine, whose code it ran
/// ```
pub use lazyjit_orc::engine::Engine;

/// Options of an engine beyond its tiering (a debugger's JIT interface).
///
/// ```
/// let options = lazyjit::engine::EngineOptions { debugger: false };
/// # let _ = options;
/// ```
pub use lazyjit_orc::engine::EngineOptions;

/// An engine's counters (atomics; [`crate::Jit::stats`] reads them into [`crate::Stats`]).
///
/// ```
/// use std::sync::atomic::Ordering;
/// let stats = lazyjit::engine::EngineStats::default();
/// assert_eq!(stats.deopts.load(Ordering::Relaxed), 0);
/// ```
pub use lazyjit_orc::engine::EngineStats;

/// What an engine traces: compiles (`[tier]` lines) and deoptimizations (`[deopt]`).
///
/// ```
/// let traces = lazyjit::engine::Traces { tier: true, deopt: false };
/// assert!(traces.tier);
/// ```
pub use lazyjit_orc::engine::Traces;

/// Where trace lines go instead of standard error ([`Engine::set_trace_sink`]).
///
/// ```
/// use std::sync::Arc;
/// let sink: lazyjit::engine::TraceSink = Arc::new(|line: &str| assert!(!line.is_empty()));
/// # let _ = sink;
/// ```
pub use lazyjit_orc::engine::TraceSink;

/// How an engine tiers functions (made from a policy by [`TierPolicy::tiering`]).
///
/// ```
/// let tiering = lazyjit::engine::TierPolicy::builtin("optimize-now").unwrap().tiering();
/// assert_eq!(tiering.hot_calls, Some(2));
/// assert!(tiering.optimize.is_some());
/// ```
pub use lazyjit_orc::engine::Tiering;

/// A code shape of the baseline tier: compact (a call per op) or inline.
///
/// ```
/// assert_eq!(lazyjit::engine::Shape::Compact.name(), "compact");
/// ```
pub use lazyjit_orc::engine::Shape;

/// LLVM's optimization level.
///
/// ```
/// use lazyjit::engine::{OptLevel, TierPolicy};
/// assert_eq!(TierPolicy::default().inline_opt(), OptLevel::O0);
/// ```
pub use lazyjit_orc::OptLevel;

/// A tier policy, written in RON (`policies/*.ron` are commented examples).
///
/// ```
/// use lazyjit::engine::TierPolicy;
/// let p = TierPolicy::parse(
///     "TierPolicy(baseline: (loop_free: Compact, with_loops: Compact, hot_calls: Some(50), \
///      osr_backedges: Some(500), opt_level: O0), \
///      optimize: Some((pipeline: [\"type_spec\", \"box_elim\", \"dce\"], opt_level: O2, \
///      max_deopts: 3, background: true, verify: false)), cache: None)",
/// ).unwrap();
/// assert_eq!(p.tiering().hot_calls, Some(50));
/// let err = TierPolicy::parse("TierPolicy(baseline: (loop_free: Fast))").unwrap_err();
/// assert_eq!(err.line, 1);
/// ```
pub use lazyjit_orc::policy::TierPolicy;

/// A malformed policy: line, column and what is wrong.
///
/// ```
/// let err = lazyjit::engine::TierPolicy::parse("TierPolicy(").unwrap_err();
/// assert!(err.to_string().starts_with("1:"));
/// ```
pub use lazyjit_orc::policy::PolicyError;

/// A policy's baseline tier.
///
/// ```
/// let p = lazyjit::engine::TierPolicy::default();
/// assert!(p.baseline.hot_calls.is_some());
/// ```
pub use lazyjit_orc::policy::BaselinePolicy;

/// A policy's optimizing tier.
///
/// ```
/// let p = lazyjit::engine::TierPolicy::default();
/// assert!(p.optimize.unwrap().pipeline.iter().any(|pass| pass == "type_spec"));
/// ```
pub use lazyjit_orc::policy::OptimizePolicy;

/// A policy's persistent cache settings.
///
/// ```
/// let p = lazyjit::engine::TierPolicy::builtin("optimize-now").unwrap();
/// let _dir = p.cache.and_then(|c| c.config()).map(|c| c.dir);
/// ```
pub use lazyjit_orc::policy::CachePolicy;

/// A code shape as a policy names it.
///
/// ```
/// use lazyjit::engine::{ShapeName, TierPolicy};
/// assert_eq!(TierPolicy::default().baseline.loop_free, ShapeName::Compact);
/// ```
pub use lazyjit_orc::policy::ShapeName;

/// An optimization level as a policy names it.
///
/// ```
/// use lazyjit::engine::{OptLevelName, TierPolicy};
/// assert_eq!(TierPolicy::default().optimize.unwrap().opt_level, OptLevelName::O2);
/// ```
pub use lazyjit_orc::policy::OptLevelName;

/// The persistent object cache: compiled code by key, across runs.
///
/// ```
/// use lazyjit::engine::{CacheConfig, ObjectCache};
/// let dir = std::env::temp_dir().join(format!("lazyjit-doc-{}", std::process::id()));
/// let cache = ObjectCache::open(CacheConfig::at(&dir));
/// assert!(cache.is_writable());
/// assert!(cache.entries().unwrap().is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub use lazyjit_cache::ObjectCache;

/// Where a cache is and how large it may grow.
///
/// ```
/// let config = lazyjit::engine::CacheConfig::at("/tmp/my-cache");
/// assert_eq!(config.max_bytes, lazyjit::engine::CacheConfig::DEFAULT_MAX_BYTES);
/// ```
pub use lazyjit_cache::CacheConfig;

/// The names of the optimization passes a policy's pipeline may list.
///
/// ```
/// let names: Vec<&str> = lazyjit::engine::PASSES.iter().map(|p| p.name).collect();
/// assert!(names.contains(&"licm") && names.contains(&"inline"));
/// ```
pub use lazyjit_passes::PASSES;

/// Why the engine could not start or attach a module.
///
/// ```
/// fn explain(e: &lazyjit::engine::OrcError) -> String {
///     format!("cannot set up the JIT: {e}")
/// }
/// # let _ = explain;
/// ```
pub use lazyjit_orc::OrcError;
