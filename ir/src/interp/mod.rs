//! The interpreter: MIR's reference semantics, tier 0, and the deopt landing pad.

pub mod error;
pub mod exec;
pub mod compiled;
mod decode;
pub mod proto;
pub mod vm;

pub use error::{VmResult, VmError, VARINFO};
pub use exec::resume;
pub use decode::const_val;
pub use proto::{LoadedModule, Proto, SiteProfile};
pub use vm::{access, Interrupter, INTERRUPTED_EXIT, ChainFn, ChainLookup, NativeOp, TableAccess, Effects, FastPath, FloatPromotion, FrameInfo, FrameStack, Hooks, JitHooks, Leaf, LeafFn, RegVal, LoadError, Native, NativeFn, RtEntry, RtFn, RtRegistry, Vm, LEAF_MISS};
