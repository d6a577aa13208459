//! The runtime a frontend builds on: boxed values, the VM and its heap, runtime
//! functions and what the compiler may assume of them, native function values, and the
//! frontend's own heap object kinds.
//!
//! A *runtime function* (`rtcall @name`) is a Rust function of fixed arguments with one
//! result ([`RtFn`]), registered by name in an [`RtRegistry`]. Its declarations are
//! promises the compiler builds on: a [`FastPath`] says that on operands of these tags
//! the result is this typed op (so the optimizing tier speculates on the tags the site
//! saw and computes inline), [`FloatPromotion`] that mixed numbers are computed in
//! float, [`TableAccess`] that it reads or writes a framework [`Table`] raw when the
//! slot is there, a [`Leaf`] a host function compiled code may try first. A *native
//! function* ([`Native`]) is a value programs call like any function.
//!
//! ```
//! use lazyjit::mir::{Opcode, Type};
//! use lazyjit::runtime::{Effects, FloatPromotion, RtRegistry, Tag, Val, Vm, VmError, VmResult};
//!
//! fn mul(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
//!     match (a[0].tag(), a[1].tag()) {
//!         (Tag::Int, Tag::Int) => Ok(Val::int(a[0].int_unchecked().wrapping_mul(a[1].int_unchecked()))),
//!         _ => match (num(a[0]), num(a[1])) {
//!             (Some(x), Some(y)) => Ok(Val::float(x * y)),
//!             _ => Err(VmError::about(0, "cannot multiply these")),
//!         },
//!     }
//! }
//! fn num(v: Val) -> Option<f64> {
//!     v.as_int().map(|i| i as f64).or(v.as_float())
//! }
//!
//! let mut registry = RtRegistry::new();
//! registry.register("x.mul", mul, Type::Val, Effects::default());
//! registry.declare_fast_path("x.mul", [Tag::Int, Tag::Int], Opcode::Imul).unwrap();
//! registry.declare_fast_path("x.mul", [Tag::Float, Tag::Float], Opcode::Fmul).unwrap();
//! registry.declare_float_promotion("x.mul", FloatPromotion { op: Opcode::Fmul, ints_too: false }).unwrap();
//! assert_eq!(registry.get("x.mul").unwrap().fast_paths.len(), 2);
//! ```

/// A boxed dynamic value: a tag and a payload word, 16 bytes.
///
/// ```
/// use lazyjit::runtime::{Tag, Val};
/// let v = Val::int(-3);
/// assert_eq!((v.tag(), v.as_int()), (Tag::Int, Some(-3)));
/// assert!(!Val::NIL.truthy() && !Val::FALSE.truthy() && Val::int(0).truthy());
/// ```
pub use lazyjit_ir::rt::Val;

/// A value's tag. The numbers are part of the text format and of compiled code.
///
/// ```
/// use lazyjit::runtime::Tag;
/// assert_eq!(Tag::from_name("float"), Some(Tag::Float));
/// assert!(Tag::Object.is_heap() && !Tag::Int.is_heap());
/// ```
pub use lazyjit_ir::rt::Tag;

/// The virtual machine: heap, value stack, globals, loaded modules, frames. A
/// [`crate::Jit`] owns one; a runtime function gets it as its first argument.
///
/// ```
/// use lazyjit::runtime::{access, Val, Vm};
/// let mut vm = Vm::new(None);
/// let s = vm.new_str(b"abc");
/// assert_eq!(access::bytes_of(s), b"abc");
/// let t = vm.new_table(4, 0);
/// access::table_of(t).set_int(1, Val::int(10));
/// assert_eq!(access::table_of(t).get_int(1).as_int(), Some(10));
/// ```
pub use lazyjit_ir::interp::Vm;

/// An error travelling up the stack: an error value, a runtime message (positioned by
/// the instruction that called the runtime function), or an exit request.
///
/// ```
/// use lazyjit::runtime::VmError;
/// // A message about operand 1 of the calling instruction: the debug information's
/// // name for that operand is added (`... (local 'x')`).
/// let e = VmError::about(1, "attempt to divide by zero");
/// assert!(matches!(e, VmError::Runtime { operand: Some(1), .. }));
/// ```
pub use lazyjit_ir::interp::VmError;

/// `Result<T, VmError>`.
///
/// ```
/// use lazyjit::runtime::{VmError, VmResult};
/// fn check(n: i64) -> VmResult<i64> {
///     if n < 0 { Err(VmError::msg("negative")) } else { Ok(n) }
/// }
/// assert!(check(-1).is_err());
/// ```
pub use lazyjit_ir::interp::VmResult;

/// Marks where a runtime message wants its operand's variable description.
///
/// ```
/// use lazyjit::runtime::{VmError, VARINFO};
/// let e = VmError::about(0, format!("attempt to call a nil value{VARINFO}"));
/// # let _ = e;
/// ```
pub use lazyjit_ir::interp::VARINFO;

/// Why a module could not be loaded.
///
/// ```
/// use lazyjit::mir::{Function, FunctionBuilder, Module, Type};
/// use lazyjit::runtime::{LoadError, RtRegistry, Vm};
/// let mut m = Module::new("m");
/// m.declare_rt("x.missing", Type::Val);
/// let mut f = Function::new("main");
/// let mut b = FunctionBuilder::new(&mut f);
/// let block = b.create_block();
/// b.switch_to_block(block);
/// b.ret(vec![], false);
/// m.add_function(f);
/// let err = Vm::new(None).load(m, &RtRegistry::new()).unwrap_err();
/// assert!(matches!(err, LoadError::UnknownRuntime(name) if name == "x.missing"));
/// ```
pub use lazyjit_ir::interp::LoadError;

/// Stops a running program from another thread (a time limit, say): the next safepoint
/// of any tier raises an exit with status [`INTERRUPTED_EXIT`].
///
/// ```
/// use lazyjit::runtime::Vm;
/// let mut vm = Vm::new(None);
/// let stop = vm.interrupter();
/// std::thread::spawn(move || stop.interrupt()).join().unwrap();
/// assert!(vm.check_interrupt().is_err());
/// ```
pub use lazyjit_ir::interp::Interrupter;

/// The exit status of an interrupted run.
///
/// ```
/// assert_eq!(lazyjit::runtime::INTERRUPTED_EXIT, 124);
/// ```
pub use lazyjit_ir::interp::INTERRUPTED_EXIT;

/// What the VM asks the frontend: how to call a value that is not a function (Lua's
/// `__call`) and the error when it cannot be called.
///
/// ```
/// use lazyjit::runtime::{Hooks, Val, Vm, VmError};
/// fn no_handler(_: &mut Vm, _: Val) -> Option<Val> { None }
/// fn not_callable(_: &mut Vm, v: Val) -> VmError {
///     VmError::about(0, format!("{:?} is not a procedure", v))
/// }
/// let vm = Vm::new(Some(Hooks { call_handler: no_handler, call_error: not_callable }));
/// # drop(vm);
/// ```
pub use lazyjit_ir::interp::Hooks;

/// Runtime functions by name, with their declarations; modules bind them at load.
///
/// ```
/// use lazyjit::mir::Type;
/// use lazyjit::runtime::{Effects, RtRegistry, Val, Vm, VmResult};
/// fn len(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
///     Ok(Val::int(lazyjit::runtime::access::bytes_of(a[0]).len() as i64))
/// }
/// let mut r = RtRegistry::new();
/// r.register("x.len", len, Type::Val, Effects { pure: false });
/// assert!(r.get("x.len").is_some() && r.get("x.other").is_none());
/// ```
pub use lazyjit_ir::interp::RtRegistry;

/// A runtime function: `f(vm, args) -> result` (typed results boxed).
///
/// ```
/// use lazyjit::runtime::{RtFn, Val, Vm, VmResult};
/// fn less(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
///     Ok(Val::bool(a[0].as_int() < a[1].as_int()))
/// }
/// let f: RtFn = less;
/// assert_eq!(f(&mut Vm::new(None), &[Val::int(1), Val::int(2)]).unwrap().as_bool(), Some(true));
/// ```
pub use lazyjit_ir::interp::RtFn;

/// A registered runtime function and its declarations ([`RtRegistry::get`]).
///
/// ```
/// # use lazyjit::mir::Type;
/// # use lazyjit::runtime::{Effects, RtRegistry, Val, Vm, VmResult};
/// # fn id(_: &mut Vm, a: &[Val]) -> VmResult<Val> { Ok(a[0]) }
/// let mut r = RtRegistry::new();
/// r.register("x.id", id, Type::Val, Effects { pure: true });
/// let entry = r.get("x.id").unwrap();
/// assert!(entry.effects.pure && entry.fast_paths.is_empty() && entry.leaf.is_none());
/// ```
pub use lazyjit_ir::interp::RtEntry;

/// A runtime function's effects: a pure one may be removed, merged and hoisted.
///
/// ```
/// let e = lazyjit::runtime::Effects { pure: true };
/// assert!(e.pure);
/// ```
pub use lazyjit_ir::interp::Effects;

/// A typed fast path: on operands of these tags, the call is this typed op
/// ([`RtRegistry::declare_fast_path`]).
///
/// ```
/// use lazyjit::mir::Opcode;
/// use lazyjit::runtime::{FastPath, Tag};
/// let p = FastPath { tags: [Tag::Int, Tag::Int], op: Opcode::Isub };
/// assert_eq!(p.op.mnemonic(), "isub");
/// ```
pub use lazyjit_ir::interp::FastPath;

/// Mixed-number arithmetic in float ([`RtRegistry::declare_float_promotion`]).
///
/// ```
/// use lazyjit::mir::Opcode;
/// use lazyjit::runtime::FloatPromotion;
/// // `/` on any two numbers divides in float.
/// let div = FloatPromotion { op: Opcode::Fdiv, ints_too: true };
/// assert!(div.ints_too);
/// ```
pub use lazyjit_ir::interp::FloatPromotion;

/// An inline raw read or write of a framework [`Table`]
/// ([`RtRegistry::declare_table_access`]).
///
/// ```
/// use lazyjit::runtime::TableAccess;
/// assert_eq!((TableAccess::Get.arity(), TableAccess::Set.arity()), (2, 3));
/// ```
pub use lazyjit_ir::interp::TableAccess;

/// A host function compiled code calls directly before the runtime function
/// ([`RtRegistry::declare_leaf`]).
///
/// ```
/// use lazyjit::runtime::{Leaf, RegVal, Vm};
/// // A leaf for `x.first(t)`: answers for tables with an element 1, else "miss".
/// unsafe extern "C" fn first(_: *mut Vm, tag: u64, payload: u64, _: u64, _: u64, _: u64, _: u64) -> RegVal {
///     if tag != lazyjit::runtime::Tag::Table as u64 {
///         return RegVal::MISS;
///     }
///     // SAFETY: a table-tagged payload points to a live table.
///     let t = unsafe { &*(payload as *const lazyjit::runtime::Table) };
///     match t.get_int(1) {
///         v if v.is_nil() => RegVal::MISS,
///         v => RegVal::of(v),
///     }
/// }
/// let leaf = Leaf { symbol: "x_first_leaf", f: first };
/// # let _ = leaf;
/// ```
pub use lazyjit_ir::interp::Leaf;

/// See [`Leaf`].
///
/// ```
/// # use lazyjit::runtime::{LeafFn, RegVal, Vm};
/// unsafe extern "C" fn miss(_: *mut Vm, _: u64, _: u64, _: u64, _: u64, _: u64, _: u64) -> RegVal {
///     RegVal::MISS
/// }
/// let f: LeafFn = miss;
/// # let _ = f;
/// ```
pub use lazyjit_ir::interp::LeafFn;

/// How a table read goes on through a metatable, cached per site by the metatable
/// ([`RtRegistry::declare_chain_lookup`]).
///
/// ```
/// use lazyjit::runtime::{ChainLookup, RegVal, Table, Vm};
/// unsafe extern "C" fn never(_: *mut Vm, _: *mut Table, _: u64) -> RegVal {
///     RegVal::MISS
/// }
/// let chain = ChainLookup { symbol: "x_chain", f: never };
/// # let _ = chain;
/// ```
pub use lazyjit_ir::interp::ChainLookup;

/// See [`ChainLookup`].
///
/// ```
/// # use lazyjit::runtime::{ChainFn, RegVal, Table, Vm};
/// unsafe extern "C" fn never(_: *mut Vm, _: *mut Table, _: u64) -> RegVal { RegVal::MISS }
/// let f: ChainFn = never;
/// # let _ = f;
/// ```
pub use lazyjit_ir::interp::ChainFn;

/// A value in two registers, as leaves return it.
///
/// ```
/// use lazyjit::runtime::{RegVal, Val, LEAF_MISS};
/// assert_eq!(RegVal::of(Val::int(7)).payload, 7);
/// assert_eq!(RegVal::MISS.tag, LEAF_MISS);
/// ```
pub use lazyjit_ir::interp::RegVal;

/// The tag a leaf returns to leave the call to the runtime function.
///
/// ```
/// assert_eq!(lazyjit::runtime::RegVal::MISS.tag, lazyjit::runtime::LEAF_MISS);
/// ```
pub use lazyjit_ir::interp::LEAF_MISS;

/// A native function value's description (`print`, say): a [`NativeFn`] and its name.
///
/// ```
/// use lazyjit::runtime::{Native, Val, Vm, VmResult};
/// fn answer(vm: &mut Vm, base: usize, _nargs: usize) -> VmResult<usize> {
///     vm.set(base, Val::int(42));
///     Ok(1)
/// }
/// static ANSWER: Native = Native { name: "answer", f: answer };
/// let mut vm = Vm::new(None);
/// let f = Vm::native(&ANSWER);
/// assert_eq!(vm.call1(f, &[]).unwrap().as_int(), Some(42));
/// ```
pub use lazyjit_ir::interp::Native;

/// A native function's code: arguments at `vm.get(base..base + nargs)`, results
/// written from `base` up, their number returned.
///
/// ```
/// use lazyjit::runtime::{NativeFn, Vm, VmResult};
/// fn nothing(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> { Ok(0) }
/// let f: NativeFn = nothing;
/// # let _ = f;
/// ```
pub use lazyjit_ir::interp::NativeFn;

/// A typed fast path of a native function value (`sqrt` is `fsqrt`), for call sites
/// that always call it ([`RtRegistry::declare_native_op`]).
///
/// ```
/// use lazyjit::mir::Opcode;
/// use lazyjit::runtime::{Native, RtRegistry, Tag, Vm, VmResult};
/// fn sqrt(vm: &mut Vm, base: usize, _: usize) -> VmResult<usize> {
///     let x = vm.get(base).as_float().unwrap_or(f64::NAN);
///     vm.set(base, lazyjit::runtime::Val::float(x.sqrt()));
///     Ok(1)
/// }
/// static SQRT: Native = Native { name: "sqrt", f: sqrt };
/// let mut r = RtRegistry::new();
/// r.declare_native_op(&SQRT, Tag::Float, Opcode::Fsqrt).unwrap();
/// ```
pub use lazyjit_ir::interp::NativeOp;

/// A frontend's own heap object type, registered with [`Vm::register_kind`].
///
/// ```
/// use lazyjit::runtime::{HostObject, Marker, Tag, Val, Vm};
/// struct Pair(Val, Val);
/// impl HostObject for Pair {
///     fn trace(&self, m: &mut Marker) {
///         m.mark_val(self.0);
///         m.mark_val(self.1);
///     }
/// }
/// let mut vm = Vm::new(None);
/// let pair = vm.register_kind::<Pair>("pair");
/// let p = vm.new_object(pair, Pair(Val::int(1), Val::NIL));
/// assert_eq!(p.tag(), Tag::Object);
/// assert_eq!(vm.object::<Pair>(p).unwrap().0.as_int(), Some(1));
/// ```
pub use lazyjit_ir::rt::host::HostObject;

/// A registered host object kind.
///
/// ```
/// # use lazyjit::runtime::{HostObject, Marker, Vm};
/// struct Blob(Vec<u8>);
/// impl HostObject for Blob {
///     fn trace(&self, _: &mut Marker) {}
///     fn extra_bytes(&self) -> usize { self.0.capacity() }
/// }
/// let mut vm = Vm::new(None);
/// let kind = vm.register_kind::<Blob>("blob");
/// assert_eq!(vm.kind_name(kind), "blob");
/// ```
pub use lazyjit_ir::rt::host::ObjectKind;

/// Marks reachable objects during a collection ([`HostObject::trace`]).
///
/// ```
/// # use lazyjit::runtime::{HostObject, Marker, Val};
/// struct Boxed(Val);
/// impl HostObject for Boxed {
///     fn trace(&self, m: &mut Marker) { m.mark_val(self.0) }
/// }
/// ```
pub use lazyjit_ir::rt::gc::Marker;

/// The garbage-collected heap (`vm.heap`): byte account and statistics.
///
/// ```
/// use lazyjit::runtime::Vm;
/// let mut vm = Vm::new(None);
/// let _garbage = vm.new_str(b"soon unreachable");
/// vm.collect_garbage();
/// assert_eq!(vm.heap.stats.collections, 1);
/// ```
pub use lazyjit_ir::rt::gc::Heap;

/// The framework's table: an array part (`1..=n`) and an insertion-ordered hash part.
/// MIR's `arr.*` ops, [`TableAccess`] and the globals use it.
///
/// ```
/// use lazyjit::runtime::{access, Val, Vm};
/// let mut vm = Vm::new(None);
/// let t = vm.new_table(0, 0);
/// let key = vm.new_str(b"k");
/// let grown = access::table_of(t).set(key, Val::TRUE).unwrap();
/// vm.heap.account(grown);
/// assert!(access::table_of(t).get(key).truthy());
/// ```
pub use lazyjit_ir::rt::object::Table;

/// Why a key cannot be stored in a table (`nil`, NaN).
///
/// ```
/// use lazyjit::runtime::{access, KeyError, Val, Vm};
/// let mut vm = Vm::new(None);
/// let t = vm.new_table(0, 0);
/// assert!(matches!(access::table_of(t).set(Val::NIL, Val::TRUE), Err(KeyError::Nil)));
/// ```
pub use lazyjit_ir::rt::object::KeyError;

/// A string object: immutable bytes and their hash.
///
/// ```
/// use lazyjit::runtime::{access, Vm};
/// let mut vm = Vm::new(None);
/// let s = vm.new_str(b"bytes");
/// assert_eq!(access::str_of(s).len(), 5);
/// ```
pub use lazyjit_ir::rt::object::LStr;

/// A closure: a loaded function and the cells it captured.
///
/// ```
/// # use lazyjit::runtime::Closure;
/// fn cells(c: &Closure) -> usize { c.cells().len() }
/// # let _ = cells;
/// ```
pub use lazyjit_ir::rt::object::Closure;

/// A heap cell: a captured local (`cell.new`, `upval`).
///
/// ```
/// use lazyjit::runtime::{access, Val, Vm};
/// let mut vm = Vm::new(None);
/// let c = vm.new_cell(Val::int(1));
/// access::cell_of(c).value = Val::int(2);
/// assert_eq!(access::cell_of(c).value.as_int(), Some(2));
/// ```
pub use lazyjit_ir::rt::object::Cell;

/// A pack: a sequence of values (varargs, all results of a call).
///
/// ```
/// use lazyjit::runtime::{access, Val, Vm};
/// let mut vm = Vm::new(None);
/// let p = vm.new_pack(&[Val::int(1), Val::int(2)]);
/// assert_eq!(access::pack_of(p).vals.len(), 2);
/// ```
pub use lazyjit_ir::rt::object::Pack;

/// Reading objects out of values whose tag was checked.
///
/// ```
/// use lazyjit::runtime::{access, Vm};
/// let mut vm = Vm::new(None);
/// let s = vm.new_str(b"x");
/// assert_eq!(access::bytes_of(s), b"x");
/// ```
pub use lazyjit_ir::interp::access;
