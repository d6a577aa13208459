//! lazyjit's ORC session layer: an LLVM ORC LLJIT (through `llvm_sys::orc2`)
//! with host symbols, eagerly added objects, lazily materialized functions and
//! dispatch slots, plus `compile_module` to turn inkwell modules into object
//! bytes.
//!
//! The session layer knows nothing of Lua or of lazyjit's MIR: a lazy function is a
//! name and a closure that produces an object when the function is first
//! called. See [`Session`] for the layout of the JIT and
//! [`take_failed_lazy_calls`] for what a failed first call does.
#![deny(missing_docs)]

pub mod abi;
pub mod engine;
mod compile;
mod error;
pub mod fault;
mod glue;
pub mod lower;
mod object;
pub mod policy;
mod session;

pub use compile::{codegen_fingerprint, compile_module, compile_module_timed, compile_module_with, emit_assembly, optimize_module, CodegenOptions, CompileTimes, CpuTarget, OptLevel, RegAlloc};
pub use error::OrcError;
pub use inkwell;
pub use object::ObjectBuffer;
pub use session::{
    body_symbol, take_failed_lazy_calls, DispatchSlot, MaterializeRequest, Materializer, Session,
    SessionOptions, SessionStats, FAILED_LAZY_CALL_RESULT, GDB_REGISTRATION_SYMBOLS,
};
