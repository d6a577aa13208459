//! `lazyjit-ir`: the typed mid-level IR (MIR) of lazyjit, the boxed value model and
//! runtime heap, and the interpreter that defines MIR's semantics.
#![deny(missing_docs)]

pub mod builder;
pub mod dominators;
pub mod entity;
pub mod function;
pub mod interp;
pub mod liveness;
pub mod loops;
pub mod ops;
pub mod rt;
pub mod ssa;
pub mod text;
pub mod types;
pub mod verify;

pub use builder::FunctionBuilder;
pub use entity::{Block, FuncId, Inst, RtId, SiteId, SnapId, StrId, Value};
pub use function::{
    BlockCall, BlockData, Const, DebugInfo, Function, InstData, InstNode, LocalRefs, Module, ResumeAt, RtDecl, SnapSource,
    Snapshot, ValueData, ValueDef, VarKind, VarName,
};
pub use ops::{Format, Opcode, Results};
pub use text::{parse_module, print_function, print_function_at, print_module, ParseError};
pub use types::Type;
pub use verify::{verify_function, verify_module, verify_version, VerifyError};
