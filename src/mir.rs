//! MIR, the mid-level IR a frontend compiles to: building it (with
//! [`FunctionBuilder`] and, for mutable locals, [`ssa::Ssa`]), its text format, and the
//! verifier. `docs/mir-ops.md` lists every operation.
//!
//! A module is functions (function 0 is the main function), a string pool and the
//! runtime functions its `rtcall`s name. A function is blocks with parameters (SSA:
//! no phi instructions) over typed values: `i1 i64 f64 ptr` and `val`, a boxed
//! dynamic value, and `pack`, a sequence of them. The *generic* MIR a frontend emits
//! uses `val`s and `rtcall`s; the optimizing tier makes typed code of it from the
//! profile of each `rtcall`'s *site*.
//!
//! ```
//! use lazyjit::mir::{parse_module, print_module, verify_module};
//!
//! let text = r#"module "sum.x"
//! rt @x.add -> val
//!
//! function fn0 "sum" (params 1, upvals 0, sites 1, line 1) {
//! block0(v0: val):
//!     v1 = const 0
//!     v2 = rtcall @x.add(v1, v0) -> val, site0
//!     return v2
//! }
//! "#;
//! let module = parse_module(text).unwrap();
//! verify_module(&module).unwrap();
//! assert_eq!(print_module(&module), text);
//! ```

/// A compilation unit: functions, string pool, runtime function declarations.
///
/// ```
/// use lazyjit::mir::{Function, Module, Type};
///
/// let mut m = Module::new("prog.x");
/// let hello = m.intern(b"hello");
/// assert_eq!(m.intern(b"hello"), hello, "strings are interned once");
/// let print = m.declare_rt("x.print", Type::Val);
/// assert_eq!(m.declare_rt("x.print", Type::Val), print);
/// let main = m.add_function(Function::new("main"));
/// assert_eq!(main.index(), 0);
/// ```
pub use lazyjit_ir::Module;

/// A MIR function: parameters, blocks, instructions, values, snapshots, sites.
///
/// ```
/// use lazyjit::mir::Function;
///
/// let mut f = Function::new("f");
/// f.params = 2; // the entry block's first two parameters are the arguments
/// f.line = 10; // where it is defined, for tracebacks
/// assert!(f.blocks.is_empty());
/// ```
pub use lazyjit_ir::Function;

/// Appends blocks, parameters and instructions to a [`Function`].
///
/// ```
/// use lazyjit::mir::{Const, Function, FunctionBuilder, Opcode, Type};
///
/// // f(x) = if x then 1 else 2
/// let mut f = Function::new("f");
/// f.params = 1;
/// let mut b = FunctionBuilder::new(&mut f);
/// let entry = b.create_block();
/// let x = b.append_block_param(entry, Type::Val);
/// let (yes, no) = (b.create_block(), b.create_block());
/// b.switch_to_block(entry);
/// let c = b.unary(Opcode::Truthy, x);
/// b.brif(c, yes, vec![], no, vec![]);
/// b.switch_to_block(yes);
/// let one = b.konst(Const::Int(1));
/// b.ret(vec![one], false);
/// b.switch_to_block(no);
/// let two = b.konst(Const::Int(2));
/// b.ret(vec![two], false);
/// lazyjit::mir::verify_function(&lazyjit::mir::Module::new("m"), &f).unwrap();
/// ```
pub use lazyjit_ir::FunctionBuilder;

/// On-the-fly SSA construction for a frontend's mutable variables.
pub use lazyjit_ir::ssa;

/// A block of a function (`blockN`).
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// assert_eq!(block.index(), 0);
/// ```
pub use lazyjit_ir::Block;

/// An SSA value of a function (`vN`).
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder, Type};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// let v = b.append_block_param(block, Type::Val);
/// assert_eq!(f.value_type(v), Type::Val);
/// ```
pub use lazyjit_ir::Value;

/// A function of a module (`fnN`), as `closure` names it.
///
/// ```
/// # use lazyjit::mir::{Function, Module};
/// let mut m = Module::new("m");
/// let f = m.add_function(Function::new("main"));
/// assert_eq!(m.functions[f.index()].name, "main");
/// ```
pub use lazyjit_ir::FuncId;

/// A runtime function declared by a module ([`Module::declare_rt`]).
///
/// ```
/// # use lazyjit::mir::{Module, Type};
/// let mut m = Module::new("m");
/// let rt = m.declare_rt("x.add", Type::Val);
/// assert_eq!(m.runtime[rt.index()].name, "x.add");
/// ```
pub use lazyjit_ir::RtId;

/// A string of a module's pool ([`Module::intern`]).
///
/// ```
/// # use lazyjit::mir::Module;
/// let mut m = Module::new("m");
/// let s = m.intern(b"name");
/// assert_eq!(m.string(s), b"name");
/// ```
pub use lazyjit_ir::StrId;

/// A type-profile site: the interpreter and baseline code record the operand tags of
/// each `rtcall` and `call` that has one ([`FunctionBuilder::new_site`]), and the
/// optimizing tier speculates on what they saw.
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let s = b.new_site();
/// assert_eq!((s.index(), f.sites), (0, 1));
/// ```
pub use lazyjit_ir::SiteId;

/// A deoptimization snapshot of a function (`snapN`), named by guards.
///
/// ```
/// use lazyjit::mir::{parse_module, SnapId};
/// let m = parse_module("module \"m\"\nfunction fn0 \"f\" (params 1, upvals 0, sites 0, line 1) {\nblock0(v0: val):\n    guard.tag v0, int, snap0\n    return v0\nsnap0 = resume block0:1 { v0 = v0 }\n}\n").unwrap();
/// assert_eq!(m.functions[0].snapshots.len(), 1);
/// let _first = SnapId::new(0);
/// ```
pub use lazyjit_ir::SnapId;

/// An instruction of a function.
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder, Opcode};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// b.switch_to_block(block);
/// b.ret(vec![], false);
/// let last = f.terminator(block).unwrap();
/// assert_eq!(f.inst(last).data.opcode(), Opcode::Return);
/// ```
pub use lazyjit_ir::Inst;

/// An instruction's operation and operands, as [`FunctionBuilder::ins`] takes them.
///
/// ```
/// use lazyjit::mir::{Function, FunctionBuilder, InstData, Opcode, Type};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// let x = b.append_block_param(block, Type::I64);
/// b.switch_to_block(block);
/// let neg = b.ins1(InstData::Unary { op: Opcode::Ineg, arg: x });
/// assert_eq!(f.value_type(neg), Type::I64);
/// ```
pub use lazyjit_ir::InstData;

/// An instruction with its results and source information.
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// b.switch_to_block(block);
/// let one = b.iconst(1);
/// assert_eq!(f.insts[0].results, vec![one]);
/// ```
pub use lazyjit_ir::InstNode;

/// A block's parameters and instructions.
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let head = b.create_block();
/// b.set_loop_header(head);
/// assert!(f.blocks[0].loop_header);
/// ```
pub use lazyjit_ir::BlockData;

/// A branch target and the values passed to its parameters.
///
/// ```
/// use lazyjit::mir::{Block, BlockCall};
/// let target = BlockCall { block: Block::new(1), args: vec![] };
/// assert_eq!(target.block.index(), 1);
/// ```
pub use lazyjit_ir::BlockCall;

/// A value's type and definition.
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder, Type, ValueDef};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// let p = b.append_block_param(block, Type::F64);
/// assert_eq!(f.values[p.index()].def, ValueDef::Param(block, 0));
/// ```
pub use lazyjit_ir::ValueData;

/// Where a value is defined: a block parameter or an instruction result.
///
/// ```
/// # use lazyjit::mir::{Function, FunctionBuilder, ValueDef};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// b.switch_to_block(block);
/// let v = b.iconst(5);
/// assert!(matches!(f.values[v.index()].def, ValueDef::Result(_, 0)));
/// ```
pub use lazyjit_ir::ValueDef;

/// A literal (`const`): nil, a boolean, an integer, a float or a pool string.
///
/// ```
/// use lazyjit::mir::Const;
/// use lazyjit::runtime::Tag;
/// assert_eq!(Const::Float(0.5).tag(), Tag::Float);
/// assert!(!Const::Float(0.0).same(&Const::Float(-0.0)), "compared by bits");
/// ```
pub use lazyjit_ir::Const;

/// An instruction's source line and the variables its first two operands came from,
/// for error messages (`attempt to add a nil value (local 'x')`).
///
/// ```
/// use lazyjit::mir::{DebugInfo, Function, FunctionBuilder, Module, VarKind, VarName};
/// let mut m = Module::new("m");
/// let x = m.intern(b"x");
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// b.switch_to_block(block);
/// b.iconst(1);
/// f.insts[0].debug = DebugInfo { line: 3, names: [Some(VarName { kind: VarKind::Local, name: x }), None] };
/// ```
pub use lazyjit_ir::DebugInfo;

/// What kind of variable an operand was read from ([`DebugInfo`]).
///
/// ```
/// use lazyjit::mir::VarKind;
/// assert_eq!(VarKind::from_name("global"), Some(VarKind::Global));
/// assert_eq!(VarKind::Upvalue.message_name(), "upvalue");
/// ```
pub use lazyjit_ir::VarKind;

/// A named operand ([`DebugInfo`]).
///
/// ```
/// use lazyjit::mir::{Module, VarKind, VarName};
/// let mut m = Module::new("m");
/// let name = VarName { kind: VarKind::Global, name: m.intern(b"print") };
/// assert_eq!(m.string(name.name), b"print");
/// ```
pub use lazyjit_ir::VarName;

/// A module's declaration of a runtime function (name and result type).
///
/// ```
/// use lazyjit::mir::{Module, RtDecl, Type};
/// let mut m = Module::new("m");
/// m.declare_rt("x.lt", Type::I1);
/// assert_eq!(m.runtime[0], RtDecl { name: "x.lt".into(), ret: Type::I1 });
/// ```
pub use lazyjit_ir::RtDecl;

/// Where a snapshot resumes the generic function and what each live value holds.
///
/// ```
/// use lazyjit::mir::{Block, ResumeAt, SnapSource, Snapshot, Value};
/// let snap = Snapshot {
///     resume: ResumeAt { block: Block::new(0), index: 1 },
///     entries: vec![(Value::new(0), SnapSource::Value(Value::new(0)))],
///     blame: None,
///     unreached: false,
/// };
/// assert_eq!(snap.resume.index, 1);
/// ```
pub use lazyjit_ir::Snapshot;

/// A snapshot's resume point.
///
/// ```
/// use lazyjit::mir::{Block, ResumeAt};
/// let at = ResumeAt { block: Block::new(2), index: 0 };
/// assert_eq!(at.block.index(), 2);
/// ```
pub use lazyjit_ir::ResumeAt;

/// Where a snapshot finds a generic value: a value of the code or a constant.
///
/// ```
/// use lazyjit::mir::{Const, SnapSource};
/// let nil = SnapSource::Const(Const::Nil);
/// assert!(matches!(nil, SnapSource::Const(Const::Nil)));
/// ```
pub use lazyjit_ir::SnapSource;

/// A value type: `i1 i64 f64 ptr val pack`.
///
/// ```
/// use lazyjit::mir::Type;
/// assert_eq!(Type::Val.to_string(), "val");
/// ```
pub use lazyjit_ir::Type;

/// An operation: its text name, format, operand and result types are in one table
/// (`docs/mir-ops.md`).
///
/// ```
/// use lazyjit::mir::Opcode;
/// assert_eq!(Opcode::Iadd.mnemonic(), "iadd");
/// assert!(Opcode::Iadd.is_pure());
/// ```
pub use lazyjit_ir::Opcode;

/// Parses a module from its text format.
///
/// ```
/// let err = lazyjit::mir::parse_module("module \"m\"\nfunction fn0").unwrap_err();
/// assert_eq!(err.line, 2);
/// ```
pub use lazyjit_ir::parse_module;

/// Why text did not parse, with the line and column.
///
/// ```
/// let err = lazyjit::mir::parse_module("modul").unwrap_err();
/// assert!(err.to_string().starts_with("1:"));
/// ```
pub use lazyjit_ir::ParseError;

/// Prints a module in the text format ([`parse_module`] reads it back).
///
/// ```
/// let m = lazyjit::mir::Module::new("empty");
/// assert_eq!(lazyjit::mir::print_module(&m), "module \"empty\"\n");
/// ```
pub use lazyjit_ir::print_module;

/// Prints one function in the text format.
///
/// ```
/// let m = lazyjit::mir::Module::new("m");
/// let f = lazyjit::mir::Function::new("f");
/// assert!(lazyjit::mir::print_function(&m, &f).contains("\"f\""));
/// ```
pub use lazyjit_ir::print_function;

/// Checks a module against MIR's rules, returning every rule broken
/// ([`crate::Jit::load`] checks before loading).
///
/// ```
/// use lazyjit::mir::{verify_module, Function, Module};
/// let mut m = Module::new("m");
/// m.add_function(Function::new("main")); // no blocks: not a valid function
/// assert!(verify_module(&m).is_err());
/// ```
pub use lazyjit_ir::verify_module;

/// Checks one function (with its module, for the ranges of references).
///
/// ```
/// use lazyjit::mir::{verify_function, Function, FunctionBuilder, Module};
/// let mut f = Function::new("f");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// b.switch_to_block(block);
/// b.ret(vec![], false);
/// assert!(verify_function(&Module::new("m"), &f).is_ok());
/// ```
pub use lazyjit_ir::verify_function;

/// A broken rule: the function, the place and what is wrong.
///
/// ```
/// use lazyjit::mir::{verify_module, Function, Module};
/// let mut m = Module::new("m");
/// m.add_function(Function::new("main"));
/// let errors = verify_module(&m).unwrap_err();
/// assert_eq!(errors[0].func, "main");
/// ```
pub use lazyjit_ir::VerifyError;
