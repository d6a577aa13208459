//! The virtual machine state: heap, value stack, globals, loaded modules, call frames.

use std::any::Any;
use std::collections::HashMap;

use super::error::{VmResult, VmError};
use super::proto::{LoadedModule, Proto};
use crate::function::Module;
use crate::rt::gc::{with_spilled_registers, GcHeader, Heap};
use crate::rt::host::{self, HostBox, HostObject, KindInfo, ObjectKind};
use crate::rt::object::{Cell, Closure, LStr, Pack, Table};
use crate::rt::{Tag, Val};
use crate::types::Type;

/// A runtime function called by `rtcall`: fixed arguments in, one value out (typed
/// results are returned boxed: `i1` as a boolean, `i64` as an integer, `f64` as a float).
pub type RtFn = fn(&mut Vm, &[Val]) -> VmResult<Val>;

/// A native function callable as a value: `nargs` arguments are at
/// `vm.stack()[base..]`; it writes its results from `base` up and returns their number.
pub type NativeFn = fn(&mut Vm, usize, usize) -> VmResult<usize>;

/// A native function value's static description (a `native` value points to it).
#[derive(Debug)]
pub struct Native {
    /// Name used in messages (`print`, `insert`).
    pub name: &'static str,
    /// The code.
    pub f: NativeFn,
}

/// Flags describing a runtime function's effects, for the optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Effects {
    /// No side effects, no callbacks and no errors: may be removed or merged.
    pub pure: bool,
}

/// A typed fast path a frontend declares for a runtime function: when the operands have
/// exactly these tags, the call computes the typed MIR operation `op` on their payloads
/// (e.g. `lua.add` on (int, int) is `iadd`). The interpreter takes fast paths inline;
/// type speculation turns them into guarded typed code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastPath {
    /// Operand tags, one per operand.
    pub tags: [Tag; 2],
    /// A pure typed op of the table whose operand types match the tags (`int` -> `i64`,
    /// `float` -> `f64`) and whose result type matches the function's.
    pub op: crate::ops::Opcode,
}

/// A runtime function a frontend registers.
#[derive(Clone)]
pub struct RtEntry {
    /// The code.
    pub f: RtFn,
    /// Declared result type.
    pub ret: Type,
    /// Effects.
    pub effects: Effects,
    /// Typed fast paths, tried in order.
    pub fast_paths: Vec<FastPath>,
    /// A leaf fast path, if declared (see [`Leaf`]).
    pub leaf: Option<Leaf>,
    /// An inline table fast path, if declared (see [`TableAccess`]).
    pub table: Option<TableAccess>,
    /// Mixed-number arithmetic in float, if declared (see [`FloatPromotion`]).
    pub promotion: Option<FloatPromotion>,
    /// How a [`TableAccess::Get`] goes on through the metatable, if declared (see
    /// [`ChainLookup`]).
    pub chain: Option<ChainLookup>,
    /// The function stores a list of values into a table, as
    /// [`RtRegistry::declare_array_append`] describes.
    pub array_append: bool,
}

impl RtEntry {
    /// Feeds `h` what compiled code takes from the declaration: the result type, the
    /// effects, the fast paths, the inline table access and float promotion, and the
    /// symbols of the leaf and chain lookup (not the functions' addresses, which are
    /// bound by those symbols when code is linked). Code compiled against a declaration
    /// that hashes alike links and runs correctly against this one.
    pub fn hash_declaration<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.ret.hash(h);
        self.effects.pure.hash(h);
        self.fast_paths.len().hash(h);
        for path in &self.fast_paths {
            (path.tags, path.op).hash(h);
        }
        self.leaf.map(|l| l.symbol).hash(h);
        self.table.map(|t| t as u8).hash(h);
        self.promotion.map(|p| (p.op, p.ints_too)).hash(h);
        self.chain.map(|c| c.symbol).hash(h);
        self.array_append.hash(h);
    }
}

/// A runtime function's arithmetic on mixed numbers: for two operands that are each an
/// int or a float, at least one a float (or any two numbers when `ints_too`), the call
/// computes the float op `op` on both converted to float (an int as `i2f` converts it).
/// The baseline tier computes it inline where the operand tags are known to fit (type
/// speculation is for the rest); the declaration promises that the function behaves so
/// (Lua's `+ - *` on an int and a float, and `/` on any numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloatPromotion {
    /// A pure `(f64, f64) -> f64` op.
    pub op: crate::ops::Opcode,
    /// Also for two ints.
    pub ints_too: bool,
}

/// A runtime function's inline fast path on the raw contents of a table
/// ([`crate::rt::object::Table`]), which compiled code performs without a call when the
/// operands fit, before any leaf or the function itself: integer keys within the array
/// part are checked inline; a constant string key is looked up through an inline cache
/// of the hash-part entry that held it last. The declaration promises that the function
/// behaves so in those cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableAccess {
    /// `f(t, k)`: if `t` is a table whose raw value at `k` is not `nil`, the result is
    /// that value.
    Get,
    /// `f(t, k, v)`: if `t` is a table whose raw value at `k` is not `nil`, or `k` is an
    /// integer in `1..=n` (`n` the length of its array part) and `t` has no metatable,
    /// the call stores `v` at `t[k]` and returns `nil`. On a table without a metatable,
    /// whatever the key, the call only stores raw (or raises an error): it runs no other
    /// code and changes nothing but that table's parts.
    Set,
}

impl TableAccess {
    /// The number of operands of the access.
    pub fn arity(self) -> usize {
        match self {
            TableAccess::Get => 2,
            TableAccess::Set => 3,
        }
    }
}

/// A typed fast path a frontend declares for a native function (a host function value,
/// see [`Native`]): a call of `native` with one argument of tag `arg` returns one value,
/// the pure unary op `op` on the argument's payload, boxed (an `i64` argument of an op
/// taking `f64` converted as `i2f` does first). Type speculation turns a call site whose
/// callee has always been `native` into a `guard.native` and the op.
#[derive(Clone, Copy, Debug)]
pub struct NativeOp {
    /// The native function.
    pub native: &'static Native,
    /// The argument's tag (`int` or `float`).
    pub arg: Tag,
    /// The op computing the result.
    pub op: crate::ops::Opcode,
}

/// How a runtime function with a [`TableAccess::Get`] fast path goes on when the raw
/// value at a string key is `nil`, so that compiled code can cache the answer by the
/// table's metatable (prototype chains: Lua's `__index` tables).
///
/// `f(vm, meta, key)` receives a metatable (non-null) and a string key (the string
/// object's address) and returns the runtime function's result for *every* table whose
/// hash part lacks the key (or holds `nil` there) and whose metatable is `meta` (the
/// declaration also promises `nil` for such a table without a metatable), or the
/// tag [`LEAF_MISS`] when that result depends on more than the tables it read (say, a
/// function would be called). Before returning a result it must [`Table::watch`] every
/// table whose hash part or metatable it read, `meta` included: compiled code keeps the
/// result (a [`crate::rt::object::LookupCache`]) until one of them changes. The same
/// restrictions as for a [`Leaf`] apply: no allocation, no error, no Lua code.
///
/// [`Table::watch`]: crate::rt::object::Table::watch
#[derive(Clone, Copy, Debug)]
pub struct ChainLookup {
    /// The symbol compiled code calls it by (as for a [`Leaf`]).
    pub symbol: &'static str,
    /// The code.
    pub f: ChainFn,
}

/// See [`ChainLookup`].
pub type ChainFn = unsafe extern "C" fn(*mut Vm, *mut crate::rt::object::Table, u64) -> RegVal;

/// A runtime function's *leaf* fast path: a host function compiled code calls directly
/// (by `symbol`, bound when a module is attached to an engine) before the generic call.
///
/// `f(vm, tag0, payload0, tag1, payload1, tag2, payload2)` receives up to three
/// operands (missing ones as `nil`) and returns the runtime function's result as
/// `(tag, payload)`, or the tag [`LEAF_MISS`] when it cannot decide cheaply; then the
/// runtime function is called as usual. A leaf must return exactly what the runtime
/// function would for the operands, and must not collect garbage, raise an error, run
/// Lua code or change the VM other than as the runtime function would (it may write a
/// table slot, grow a table's parts and add the growth to the heap's account with
/// [`crate::rt::gc::Heap::account`], or allocate an object through the heap, which
/// collects at the next safepoint): it runs without a safepoint and without updating
/// the frame. Typical leaves: a table read, a write to an existing table slot, an
/// append to an array, a new table.
#[derive(Clone, Copy, Debug)]
pub struct Leaf {
    /// The symbol compiled code calls it by (unique per function, stable across runs so
    /// that compiled code can be cached).
    pub symbol: &'static str,
    /// The code.
    pub f: LeafFn,
}

/// See [`Leaf`].
pub type LeafFn = unsafe extern "C" fn(*mut Vm, u64, u64, u64, u64, u64, u64) -> RegVal;

/// A value in two registers (`RAX:RDX` on x86-64), as a [`Leaf`] and compiled code's
/// register-passing helpers return it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegVal {
    /// The tag number, or a marker such as [`LEAF_MISS`].
    pub tag: u64,
    /// The payload.
    pub payload: u64,
}

impl RegVal {
    /// The answer "not decided here".
    pub const MISS: RegVal = RegVal { tag: LEAF_MISS, payload: 0 };

    /// The value `v`.
    #[inline]
    pub fn of(v: Val) -> RegVal {
        RegVal { tag: v.tag() as u64, payload: v.payload() }
    }
}

/// The tag a [`Leaf`] returns when it leaves the call to the runtime function.
pub const LEAF_MISS: u64 = 0xfe;

/// Runtime functions by name, bound into modules when they are loaded.
#[derive(Default, Clone)]
pub struct RtRegistry {
    entries: HashMap<String, RtEntry>,
    natives: Vec<NativeOp>,
}

impl RtRegistry {
    /// An empty registry.
    pub fn new() -> RtRegistry {
        RtRegistry::default()
    }
    /// Registers a runtime function.
    pub fn register(&mut self, name: &str, f: RtFn, ret: Type, effects: Effects) {
        self.entries.insert(name.to_string(), RtEntry {
            f,
            ret,
            effects,
            fast_paths: Vec::new(),
            leaf: None,
            table: None,
            promotion: None,
            chain: None,
            array_append: false,
        });
    }
    /// Declares the inline table fast path of a registered function (see
    /// [`TableAccess`]). Fails if the function is unknown.
    pub fn declare_table_access(&mut self, name: &str, access: TableAccess) -> Result<(), String> {
        let e = self.entries.get_mut(name).ok_or_else(|| format!("runtime function '{name}' is not registered"))?;
        e.table = Some(access);
        Ok(())
    }
    /// Declares that the registered function `name`, called as `f(t, start, v1, ..., vn)`
    /// with its items as operands (no spread pack), appends them to the array part of a
    /// table `t` whose array part has length `start - 1` and room for `n` more elements
    /// without growing, and whose hash part is empty: it stores `v1` to `vn` (`nil` ones
    /// too) as elements `start` to `start + n - 1`, consults no metatable, and returns
    /// `nil` (a constructor's list of items). Compiled code then does that itself when
    /// the operands fit. Fails if the function is unknown.
    pub fn declare_array_append(&mut self, name: &str) -> Result<(), String> {
        let e = self.entries.get_mut(name).ok_or_else(|| format!("runtime function '{name}' is not registered"))?;
        e.array_append = true;
        Ok(())
    }
    /// Declares a typed fast path of a native function (see [`NativeOp`]). Fails if the
    /// op is not a pure unary op on the argument's type (`f64` also takes an `int`) with
    /// an `i64`, `f64` or `i1` result.
    pub fn declare_native_op(&mut self, native: &'static Native, arg: Tag, op: crate::ops::Opcode) -> Result<(), String> {
        use crate::ops::Results;
        let fits = match (arg, op.operand_types()) {
            (Tag::Int, [Type::I64 | Type::F64]) | (Tag::Float, [Type::F64]) => true,
            _ => false,
        };
        let result = matches!(op.results(), Results::One(Type::I64 | Type::F64 | Type::I1));
        if !op.is_pure() || !fits || !result || op.format() != crate::ops::Format::Unary {
            return Err(format!("`{}` cannot be the fast path of `{}` on a {}", op.mnemonic(), native.name, arg.name()));
        }
        self.natives.push(NativeOp { native, arg, op });
        Ok(())
    }
    /// Declares how the [`TableAccess::Get`] of a registered function goes on through a
    /// metatable (see [`ChainLookup`]). Fails if the function is unknown or has no `Get`
    /// access declared.
    pub fn declare_chain_lookup(&mut self, name: &str, chain: ChainLookup) -> Result<(), String> {
        let e = self.entries.get_mut(name).ok_or_else(|| format!("runtime function '{name}' is not registered"))?;
        if e.table != Some(TableAccess::Get) {
            return Err(format!("runtime function '{name}' declares no table read to continue"));
        }
        e.chain = Some(chain);
        Ok(())
    }
    /// Declares the leaf fast path of a registered function (see [`Leaf`]). Fails if the
    /// function is unknown or already has one.
    pub fn declare_leaf(&mut self, name: &str, leaf: Leaf) -> Result<(), String> {
        let e = self.entries.get_mut(name).ok_or_else(|| format!("runtime function '{name}' is not registered"))?;
        if e.leaf.is_some() {
            return Err(format!("runtime function '{name}' already has a leaf"));
        }
        e.leaf = Some(leaf);
        Ok(())
    }
    /// Declares a typed fast path of a registered function (see [`FastPath`]).
    /// Fails if the function is unknown or the op does not fit the tags and result type.
    pub fn declare_fast_path(&mut self, name: &str, tags: [Tag; 2], op: crate::ops::Opcode) -> Result<(), String> {
        let e = self.entries.get_mut(name).ok_or_else(|| format!("runtime function '{name}' is not registered"))?;
        let ty_of = |t: Tag| match t {
            Tag::Int => Some(Type::I64),
            Tag::Float => Some(Type::F64),
            _ => None,
        };
        let arity = op.operand_types().len();
        let want: Vec<Option<Type>> = tags[..arity].iter().map(|&t| ty_of(t)).collect();
        let got: Vec<Option<Type>> = op.operand_types().iter().map(|&t| Some(t)).collect();
        let result_ok = match op.results() {
            crate::ops::Results::One(t) => t == e.ret || (e.ret == Type::Val && matches!(t, Type::I64 | Type::F64)),
            _ => false,
        };
        if !op.is_pure() || want != got || !result_ok {
            return Err(format!("'{}' does not fit {name} on {tags:?}", op.mnemonic()));
        }
        e.fast_paths.push(FastPath { tags, op });
        Ok(())
    }
    /// Declares the float promotion of a registered function (see [`FloatPromotion`]).
    /// Fails if the function is unknown, does not return a value, or `op` is not a pure
    /// `(f64, f64) -> f64` op.
    pub fn declare_float_promotion(&mut self, name: &str, promotion: FloatPromotion) -> Result<(), String> {
        let e = self.entries.get_mut(name).ok_or_else(|| format!("runtime function '{name}' is not registered"))?;
        let op = promotion.op;
        let fits = op.is_pure()
            && op.operand_types() == [Type::F64, Type::F64]
            && matches!(op.results(), crate::ops::Results::One(Type::F64))
            && e.ret == Type::Val;
        if !fits {
            return Err(format!("'{}' cannot promote {name}'s operands", op.mnemonic()));
        }
        e.promotion = Some(promotion);
        Ok(())
    }
    /// Looks a function up.
    pub fn get(&self, name: &str) -> Option<&RtEntry> {
        self.entries.get(name)
    }
}

/// Frontend-specific behaviour the interpreter needs.
#[derive(Clone, Copy)]
pub struct Hooks {
    /// The handler for calling a value that is not a function (Lua's `__call`), if any.
    pub call_handler: fn(&mut Vm, Val) -> Option<Val>,
    /// The error for calling a value that cannot be called (about operand 0, the callee).
    pub call_error: fn(&mut Vm, Val) -> VmError,
}

fn no_call_handler(_: &mut Vm, _: Val) -> Option<Val> {
    None
}

fn default_call_error(_: &mut Vm, v: Val) -> VmError {
    VmError::about(0, format!("attempt to call a {} value", v.tag().name()))
}

/// What a JIT attached to a VM ([`Vm::jit`]) is told by the code it made.
pub trait JitHooks: Send + Sync {
    /// `proto`'s code counted enough calls to move it to its next tier.
    fn hot(self: std::sync::Arc<Self>, vm: &mut Vm, proto: &Proto);
    /// A guard of `version` (optimized code of `proto`), op `pc` of the version, failed
    /// at snapshot `snap`: the frame (the innermost of `vm`) now holds `proto`'s values
    /// and goes on in the interpreter. The site the guard speculated on has recorded the
    /// failure already.
    fn deoptimized(&self, vm: &mut Vm, proto: &Proto, version: &Proto, snap: u32, pc: u32);
    /// `proto`'s code is at a back edge to loop header `header` and has taken enough back
    /// edges to leave for an on-stack entry, but [`Proto::osr_slots`] names none: choose
    /// one and return it (also storing it there), or 0 to go on in the code running now.
    fn osr_entry(self: std::sync::Arc<Self>, vm: &mut Vm, proto: &Proto, header: u32) -> usize;
    /// The on-stack entry of `header` was a version specialized to tags the frame does
    /// not have now (it returned [`super::compiled::STATUS_OSR_DECLINED`]).
    fn osr_declined(&self, vm: &mut Vm, proto: &Proto, header: u32);
    /// The VM is going away: finish everything that may still touch its functions
    /// (background compiles storing dispatch slots).
    fn quiesce(&self);
}

/// One activation of an interpreted function, for error positions and tracebacks.
/// Laid out for compiled code, which reads and writes its fields (`FrameInfo::*_OFFSET`).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct FrameInfo {
    /// The running function.
    pub proto: *const Proto,
    /// The instruction running (updated at calls and safepoints).
    pub pc: u32,
    /// First value-stack slot of the frame.
    pub base: usize,
    /// The running closure.
    pub closure: *mut Closure,
}

impl FrameInfo {
    /// Byte offset of [`FrameInfo::proto`].
    pub const PROTO_OFFSET: usize = std::mem::offset_of!(FrameInfo, proto);
    /// Byte offset of [`FrameInfo::pc`].
    pub const PC_OFFSET: usize = std::mem::offset_of!(FrameInfo, pc);
    /// Byte offset of [`FrameInfo::base`].
    pub const BASE_OFFSET: usize = std::mem::offset_of!(FrameInfo, base);
    /// Byte offset of [`FrameInfo::closure`].
    pub const CLOSURE_OFFSET: usize = std::mem::offset_of!(FrameInfo, closure);
    /// The size of a frame record.
    pub const SIZE: usize = std::mem::size_of::<FrameInfo>();
}

/// The frames of the running calls, innermost last: a stack of fixed capacity that never
/// moves (the interpreter keeps a pointer to its running frame), laid out so that
/// compiled code can find the innermost frame itself ([`FrameStack::PTR_OFFSET`],
/// [`FrameStack::LEN_OFFSET`]). It reads as a slice of the frames.
#[repr(C)]
pub struct FrameStack {
    ptr: *mut FrameInfo,
    len: usize,
    cap: usize,
}

impl FrameStack {
    /// Byte offset of the frame array's address.
    pub const PTR_OFFSET: usize = std::mem::offset_of!(FrameStack, ptr);
    /// Byte offset of the number of frames.
    pub const LEN_OFFSET: usize = std::mem::offset_of!(FrameStack, len);
    /// Byte offset of the capacity.
    pub const CAP_OFFSET: usize = std::mem::offset_of!(FrameStack, cap);

    /// An empty stack with room for `cap` frames.
    pub fn with_capacity(cap: usize) -> FrameStack {
        let cap = cap.max(1);
        let layout = std::alloc::Layout::array::<FrameInfo>(cap).expect("frame stack layout");
        // SAFETY: a non-zero layout.
        let ptr = unsafe { std::alloc::alloc(layout) as *mut FrameInfo };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        FrameStack { ptr, len: 0, cap }
    }

    /// How many frames it holds at most.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Pushes a frame; the caller has checked that there is room (the stack never grows).
    #[inline]
    pub fn push(&mut self, frame: FrameInfo) {
        assert!(self.len < self.cap, "frame stack overflow");
        // SAFETY: within the allocation.
        unsafe { self.ptr.add(self.len).write(frame) };
        self.len += 1;
    }

    /// Removes and returns the innermost frame.
    #[inline]
    pub fn pop(&mut self) -> Option<FrameInfo> {
        let n = self.len.checked_sub(1)?;
        self.len = n;
        // SAFETY: frames below `len` were written.
        Some(unsafe { self.ptr.add(n).read() })
    }

    /// Keeps the `n` outermost frames.
    #[inline]
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }
}

impl std::ops::Deref for FrameStack {
    type Target = [FrameInfo];
    #[inline]
    fn deref(&self) -> &[FrameInfo] {
        // SAFETY: the first `len` frames were written.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl std::ops::DerefMut for FrameStack {
    #[inline]
    fn deref_mut(&mut self) -> &mut [FrameInfo] {
        // SAFETY: as in `deref`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for FrameStack {
    fn drop(&mut self) {
        let layout = std::alloc::Layout::array::<FrameInfo>(self.cap).expect("frame stack layout");
        // SAFETY: allocated in `with_capacity` with this layout.
        unsafe { std::alloc::dealloc(self.ptr as *mut u8, layout) };
    }
}

/// Why loading a module failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A runtime function the module calls is not registered.
    #[error("runtime function '{0}' is not registered")]
    UnknownRuntime(String),
    /// A runtime function is registered with another result type.
    #[error("runtime function '{name}' returns {registered}, the module expects {declared}")]
    RuntimeType {
        /// Its name.
        name: String,
        /// What the registry says.
        registered: Type,
        /// What the module declares.
        declared: Type,
    },
    /// The module has no functions.
    #[error("module has no main function")]
    Empty,
}

/// Default number of value-stack slots (virtual memory; pages are touched as used).
const STACK_SLOTS: usize = 1 << 24;
/// Default limit on nested calls (Lua's own limit lets 200,000-deep recursion run).
const MAX_DEPTH: usize = 220_000;

/// The exit status a run stopped by an [`Interrupter`] unwinds with (`timeout`'s).
pub const INTERRUPTED_EXIT: i32 = 124;

/// Stops a running [`Vm`] from another thread; made by [`Vm::interrupter`].
///
/// Interrupting sets a flag and zeroes the heap's collection threshold, so that the
/// next safepoint of any tier (every loop back edge and call has one, and compiled code
/// tests the threshold inline) takes its slow path, which checks the flag
/// ([`Vm::check_interrupt`]). Code that runs no further back edge or call ends anyway.
#[derive(Clone)]
pub struct Interrupter(std::sync::Arc<InterruptState>);

#[derive(Default)]
struct InterruptState {
    requested: std::sync::atomic::AtomicBool,
    /// The address of the VM's collection threshold (an `AtomicUsize`); 0 once the VM is
    /// gone (its drop takes the lock).
    threshold_at: std::sync::Mutex<usize>,
}

impl Interrupter {
    /// Asks the VM to stop at its next safepoint.
    pub fn interrupt(&self) {
        self.0.requested.store(true, std::sync::atomic::Ordering::SeqCst);
        let at = self.0.threshold_at.lock().unwrap_or_else(|p| p.into_inner());
        if *at != 0 {
            // SAFETY: the address of a live VM's threshold (the VM clears it, under this
            // lock, when dropped; it does not move while the handle lives).
            unsafe { (*(*at as *const std::sync::atomic::AtomicUsize)).store(0, std::sync::atomic::Ordering::SeqCst) };
        }
    }

    /// Whether [`Interrupter::interrupt`] was called.
    pub fn interrupted(&self) -> bool {
        self.0.requested.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The virtual machine.
pub struct Vm {
    /// The heap.
    pub heap: Heap,
    stack: *mut Val,
    stack_slots: usize,
    /// First free stack slot: everything below may hold live values.
    pub top: usize,
    /// The globals table.
    pub globals: *mut Table,
    /// Values kept alive for the frontend (e.g. the string metatable).
    pub registry: Vec<Val>,
    /// Frontend behaviour.
    pub hooks: Hooks,
    /// Interpreted frames, innermost last.
    pub frames: FrameStack,
    /// Current call depth (interpreted and native).
    pub depth: usize,
    /// Call depth limit ("stack overflow" past it); at most the default, which sizes the
    /// frame table.
    pub max_depth: usize,
    modules: Vec<Box<LoadedModule>>,
    /// Address near the bottom of the native stack of the thread running the VM
    /// (0: do not scan the native stack).
    pub native_stack_base: usize,
    /// Number of active protected calls (`pcall`).
    pub protected: u32,
    /// Frontend state (its library's data).
    pub ext: Option<Box<dyn Any>>,
    /// Calls into Lua from Rust code now running (bounded like Lua's C calls).
    pub nesting: usize,
    /// The JIT attached to this VM, if any: told when a function gets hot and when
    /// optimized code deoptimizes.
    pub jit: Option<std::sync::Arc<dyn JitHooks>>,
    /// Runs of a loop ([`super::Proto::loop_entries`]) after which the interpreter leaves
    /// it for its on-stack entry, when the JIT has one ([`JitHooks::osr_entry`]);
    /// `u32::MAX`: never.
    pub osr_loop_runs: u32,
    /// The error a helper of compiled code raised (compiled code returns
    /// [`super::compiled::STATUS_ERROR`] and the caller takes it from here).
    pub jit_error: Option<VmError>,
    /// A tail call compiled code asked for: the callee and the argument count (the
    /// arguments are at the frame's base).
    pub tail_call: Option<(Val, usize)>,
    /// Native-stack regions `(lo, hi)` of running interpreter activations, skipped by the
    /// conservative scan (`lo` 0: not calling out, nothing skipped).
    pub(crate) interp_regions: Vec<(usize, usize)>,
    /// The traceback of an error raised outside any protected call, taken where it was
    /// raised (for the uncaught-error report).
    pub pending_traceback: Option<String>,
    /// Never-collected strings by content (see [`Vm::fixed_str`]).
    fixed_strings: std::collections::HashMap<Box<[u8]>, Val>,
    /// What an [`Interrupter`] shares with the VM.
    interrupt: std::sync::Arc<InterruptState>,
    /// The address of `interrupt`'s flag, which compiled code reads on the back edges of
    /// loops that never reach a safepoint ([`Vm::INTERRUPT_FLAG_OFFSET`]).
    interrupt_flag: *const std::sync::atomic::AtomicBool,
    /// Registered host object kinds ([`Vm::register_kind`]).
    kinds: Vec<KindInfo>,
}

impl Vm {
    /// A new VM with an empty globals table.
    pub fn new(hooks: Option<Hooks>) -> Vm {
        let layout = std::alloc::Layout::array::<Val>(STACK_SLOTS).expect("stack layout");
        // SAFETY: non-zero layout; all-zero bytes are `nil` values.
        let stack = unsafe { std::alloc::alloc_zeroed(layout) as *mut Val };
        if stack.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let mut heap = Heap::new();
        let globals = heap.adopt(Table::new(0, 64), 0);
        let interrupt: std::sync::Arc<InterruptState> = Default::default();
        let interrupt_flag = &interrupt.requested as *const std::sync::atomic::AtomicBool;
        Vm {
            heap,
            stack,
            stack_slots: STACK_SLOTS,
            top: 0,
            globals,
            registry: Vec::new(),
            hooks: hooks.unwrap_or(Hooks { call_handler: no_call_handler, call_error: default_call_error }),
            // Reserved once: frames never move, so the interpreter may keep a pointer to
            // the running one (`push` refuses to grow past the capacity).
            frames: FrameStack::with_capacity(MAX_DEPTH + 8),
            depth: 0,
            max_depth: MAX_DEPTH,
            modules: Vec::new(),
            native_stack_base: 0,
            protected: 0,
            ext: None,
            pending_traceback: None,
            fixed_strings: std::collections::HashMap::new(),
            interrupt,
            interrupt_flag,
            kinds: Vec::new(),
            nesting: 0,
            jit: None,
            osr_loop_runs: u32::MAX,
            jit_error: None,
            tail_call: None,
            // Reserved once, like `frames`: interpreter activations keep a pointer to
            // their region. Compiled activations (one per compiled call depth) push only
            // while room for every interpreter activation remains.
            interp_regions: Vec::with_capacity(MAX_DEPTH + super::exec::MAX_NESTED_ACTIVATIONS + 16),
        }
    }

    // ---- the value stack ---------------------------------------------------------------

    /// Raw pointer to stack slot `i` (valid for the VM's lifetime; the stack never moves).
    #[inline]
    pub fn slot_ptr(&self, i: usize) -> *mut Val {
        debug_assert!(i < self.stack_slots);
        // SAFETY: in bounds of the allocation (checked by callers through `ensure_stack`).
        unsafe { self.stack.add(i) }
    }

    /// Reads stack slot `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Val {
        assert!(i < self.stack_slots);
        // SAFETY: bounds checked.
        unsafe { *self.stack.add(i) }
    }

    /// Writes stack slot `i`.
    #[inline]
    pub fn set(&mut self, i: usize, v: Val) {
        assert!(i < self.stack_slots);
        // SAFETY: bounds checked.
        unsafe { *self.stack.add(i) = v }
    }

    /// The stack slots `base..base+n`.
    pub fn slice(&self, base: usize, n: usize) -> &[Val] {
        assert!(base + n <= self.stack_slots);
        // SAFETY: bounds checked; the stack is initialised (zeroed) memory.
        unsafe { std::slice::from_raw_parts(self.stack.add(base), n) }
    }

    /// The slot `p` points to, if it points into the value stack.
    pub fn stack_slot_of(&self, p: *const Val) -> Option<usize> {
        let (lo, p) = (self.stack as usize, p as usize);
        let hi = lo + self.stack_slots * std::mem::size_of::<Val>();
        (p >= lo && p < hi).then(|| (p - lo) / std::mem::size_of::<Val>())
    }

    /// The stack slot a pointer into the value stack points to.
    #[inline]
    pub fn slot_index(&self, p: *const Val) -> usize {
        (p as usize - self.stack as usize) / std::mem::size_of::<Val>()
    }

    /// Fails with "stack overflow" unless `n` slots from `base` fit.
    #[inline]
    pub fn ensure_stack(&self, base: usize, n: usize) -> VmResult<()> {
        if base + n + Vm::STACK_MARGIN > self.stack_slots {
            return Err(VmError::msg("stack overflow"));
        }
        Ok(())
    }

    // ---- allocation --------------------------------------------------------------------

    /// A new string value.
    pub fn new_str(&mut self, bytes: &[u8]) -> Val {
        let p = self.heap.adopt(LStr::new(bytes), bytes.len());
        Val::from_raw(Tag::Str, p as u64)
    }

    /// Lua's memory error: the string "not enough memory", raised without a position
    /// (as Lua raises it) and caught by `pcall` like any error.
    pub fn memory_error(&mut self) -> VmError {
        VmError::Value(self.fixed_str(b"not enough memory"))
    }

    /// An empty buffer with room for exactly `n` bytes, for a string whose size a
    /// program chooses (`..`, `string.rep`): if the allocator refuses, a collection
    /// frees what it can and the allocation is tried again; if it still fails, Lua's
    /// memory error ([`Vm::memory_error`]) instead of an abort.
    pub fn try_buffer(&mut self, n: usize) -> VmResult<Vec<u8>> {
        let mut buf = Vec::new();
        if buf.try_reserve_exact(n).is_ok() {
            return Ok(buf);
        }
        self.collect_garbage();
        match buf.try_reserve_exact(n) {
            Ok(()) => Ok(buf),
            Err(_) => Err(self.memory_error()),
        }
    }

    /// Appends `bytes` to `buf` (a string being built piece by piece), or Lua's memory
    /// error if there is no room.
    pub fn try_extend(&mut self, buf: &mut Vec<u8>, bytes: &[u8]) -> VmResult<()> {
        if buf.try_reserve(bytes.len()).is_err() {
            self.collect_garbage();
            if buf.try_reserve(bytes.len()).is_err() {
                return Err(self.memory_error());
            }
        }
        buf.extend_from_slice(bytes);
        Ok(())
    }

    /// A new string value with a copy of `bytes`, or Lua's memory error.
    pub fn try_new_str(&mut self, bytes: &[u8]) -> VmResult<Val> {
        let mut buf = self.try_buffer(bytes.len())?;
        buf.extend_from_slice(bytes);
        Ok(self.str_from_buffer(buf))
    }

    /// A new string value owning the bytes of `buf` (not copied when the buffer is full,
    /// as [`Vm::try_buffer`] makes it).
    pub fn str_from_buffer(&mut self, buf: Vec<u8>) -> Val {
        let len = buf.len();
        let p = self.heap.adopt(LStr::from_boxed(buf.into_boxed_slice()), len);
        Val::from_raw(Tag::Str, p as u64)
    }

    /// The never-collected string with these bytes, made on first request. Module
    /// constants and the names a frontend keeps (library fields, metamethod names) share
    /// one object per content, so table lookups with them match keys by identity
    /// without comparing bytes.
    pub fn fixed_str(&mut self, bytes: &[u8]) -> Val {
        if let Some(&v) = self.fixed_strings.get(bytes) {
            return v;
        }
        let v = self.new_str(bytes);
        // SAFETY: a just-allocated string object.
        unsafe { (*(v.payload() as *mut LStr)).set_fixed() };
        self.fixed_strings.insert(bytes.into(), v);
        v
    }

    /// A new table value.
    pub fn new_table(&mut self, narr: usize, nhash: usize) -> Val {
        let parts = Table::array_bytes(narr) + nhash * 36;
        let p = if (1..=Table::MAX_COLOCATED).contains(&narr) {
            // A small array part in the table's own allocation.
            self.heap.adopt_raw(Table::new_colocated(narr, nhash), Table::SIZE + parts)
        } else {
            self.heap.adopt(Table::new(narr, nhash), parts)
        };
        Val::from_raw(Tag::Table, p as u64)
    }

    /// A new cell value.
    pub fn new_cell(&mut self, v: Val) -> Val {
        let p = self.heap.adopt(Cell::new(v), 0);
        Val::from_raw(Tag::Cell, p as u64)
    }

    /// A new pack value.
    pub fn new_pack(&mut self, vals: &[Val]) -> Val {
        let p = self.heap.adopt(Pack::new(vals), vals.len() * 16);
        Val::from_raw(Tag::Pack, p as u64)
    }

    /// A new closure value.
    pub fn new_closure(&mut self, proto: *const Proto, cells: &[*mut Cell]) -> Val {
        let n = cells.len().saturating_sub(3) * 8;
        let p = self.heap.adopt(Closure::new(proto, cells), n);
        Val::from_raw(Tag::Func, p as u64)
    }

    /// A native function value.
    pub fn native(n: &'static Native) -> Val {
        Val::from_raw(Tag::Native, n as *const Native as u64)
    }

    // ---- host objects ------------------------------------------------------------------

    /// Registers `T` as a heap object kind named `name` (the name is for messages: a
    /// frontend's `type` function, say). Registering a type again returns its kind.
    ///
    /// ```
    /// # use lazyjit_ir::interp::Vm;
    /// # use lazyjit_ir::rt::{gc::Marker, host::HostObject, Tag, Val};
    /// struct Counter(i64);
    /// impl HostObject for Counter {
    ///     fn trace(&self, _: &mut Marker) {}
    /// }
    ///
    /// let mut vm = Vm::new(None);
    /// let kind = vm.register_kind::<Counter>("counter");
    /// let v = vm.new_object(kind, Counter(41));
    /// assert_eq!(v.tag(), Tag::Object);
    /// vm.object::<Counter>(v).unwrap().0 += 1;
    /// assert_eq!(vm.object::<Counter>(v).unwrap().0, 42);
    /// assert_eq!(vm.kind_name(vm.object_kind(v).unwrap()), "counter");
    /// ```
    pub fn register_kind<T: HostObject>(&mut self, name: &'static str) -> ObjectKind {
        let type_id = std::any::TypeId::of::<T>();
        if let Some(i) = self.kinds.iter().position(|k| k.type_id == type_id) {
            return ObjectKind(i as u32);
        }
        self.kinds.push(KindInfo { name, type_id });
        ObjectKind(self.kinds.len() as u32 - 1)
    }

    /// A new object of a registered kind. Panics if `kind` was not registered for `T`
    /// (a frontend's mistake, not a program's).
    pub fn new_object<T: HostObject>(&mut self, kind: ObjectKind, value: T) -> Val {
        let info = self.kinds.get(kind.index()).expect("an object kind registered with this VM");
        assert!(info.type_id == std::any::TypeId::of::<T>(), "object kind '{}' was registered for another type", info.name);
        let obj = HostBox::new(kind, value);
        let extra = obj.value.extra_bytes();
        let p = self.heap.adopt(obj, extra);
        Val::from_raw(Tag::Object, p as u64)
    }

    /// The `T` a value holds, if it is a host object of type `T`.
    #[allow(clippy::mut_from_ref)]
    pub fn object<T: HostObject>(&self, v: Val) -> Option<&mut T> {
        if v.tag() != Tag::Object {
            return None;
        }
        // SAFETY: an `object` value points to a live host object.
        unsafe { host::value_of::<T>(v.payload() as *mut GcHeader) }
    }

    /// The kind of a host object value (`None` for any other value).
    pub fn object_kind(&self, v: Val) -> Option<ObjectKind> {
        // SAFETY: as in `object`.
        (v.tag() == Tag::Object).then(|| unsafe { host::kind_of(v.payload() as *mut GcHeader) })
    }

    /// The name a kind was registered with.
    pub fn kind_name(&self, kind: ObjectKind) -> &'static str {
        self.kinds.get(kind.index()).map_or("object", |k| k.name)
    }

    // ---- collection --------------------------------------------------------------------

    /// Byte offset of the heap's allocated-bytes counter in a `Vm` (see
    /// [`Heap::BYTES_OFFSET`]); with [`Vm::GC_THRESHOLD_OFFSET`], compiled code tests
    /// whether a safepoint would collect without calling out.
    pub const GC_BYTES_OFFSET: usize = std::mem::offset_of!(Vm, heap) + Heap::BYTES_OFFSET;
    /// Byte offset of the heap's collection threshold in a `Vm`.
    pub const GC_THRESHOLD_OFFSET: usize = std::mem::offset_of!(Vm, heap) + Heap::THRESHOLD_OFFSET;
    /// Byte offset of the address of the interrupt flag (a `bool` byte an
    /// [`Interrupter`] sets, atomically) in a `Vm`: a loop whose trips never reach a
    /// safepoint (nothing in it allocates or calls out) tests it on its back edge
    /// instead of the collection threshold, so that no call sits on its cycle.
    pub const INTERRUPT_FLAG_OFFSET: usize = std::mem::offset_of!(Vm, interrupt_flag);
    /// Byte offset of the address of the frame array ([`Vm::frames`]) in a `Vm`.
    pub const FRAMES_PTR_OFFSET: usize = std::mem::offset_of!(Vm, frames) + FrameStack::PTR_OFFSET;
    /// Byte offset of the number of frames in a `Vm`.
    pub const FRAMES_LEN_OFFSET: usize = std::mem::offset_of!(Vm, frames) + FrameStack::LEN_OFFSET;
    /// Byte offset of the frame capacity in a `Vm`.
    pub const FRAMES_CAP_OFFSET: usize = std::mem::offset_of!(Vm, frames) + FrameStack::CAP_OFFSET;
    /// Byte offset of [`Vm::depth`].
    pub const DEPTH_OFFSET: usize = std::mem::offset_of!(Vm, depth);
    /// Byte offset of [`Vm::max_depth`].
    pub const MAX_DEPTH_OFFSET: usize = std::mem::offset_of!(Vm, max_depth);
    /// Byte offset of [`Vm::top`] (a `usize` slot index).
    pub const TOP_OFFSET: usize = std::mem::offset_of!(Vm, top);
    /// Byte offset of the value stack's size in slots (a `usize`).
    pub const STACK_SLOTS_OFFSET: usize = std::mem::offset_of!(Vm, stack_slots);
    /// Slots [`Vm::ensure_stack`] keeps free past what a frame asks for.
    pub const STACK_MARGIN: usize = 64;

    /// Runs a collection if enough has been allocated.
    #[inline]
    pub fn safepoint(&mut self) {
        if self.heap.wants_collection() {
            self.collect_garbage();
        }
    }

    /// Runs a full collection now. Interpreted frames are scanned precisely (only their
    /// live slots); the rest of the value stack (arguments being passed, natives' values)
    /// and the native stack are scanned conservatively.
    pub fn collect_garbage(&mut self) {
        let top = self.top.min(self.stack_slots);
        let base = self.native_stack_base;
        // Precise frame regions, in stack order.
        let mut frames: Vec<(usize, usize, *const Proto, u32)> = self
            .frames
            .iter()
            .filter(|f| !f.proto.is_null())
            // SAFETY: frame protos belong to loaded modules.
            .map(|f| (f.base, f.base + unsafe { (*f.proto).nslots } as usize, f.proto, f.pc))
            .collect();
        // The running closures: compiled callers do not keep a callee in their frames.
        let closures: Vec<usize> = self.frames.iter().map(|f| f.closure as usize).collect();
        frames.sort_unstable_by_key(|f| f.0);
        let words = self.slice_words(top);
        let mut gaps: Vec<&[usize]> = Vec::new();
        let mut at = 0usize;
        for &(start, end, _, _) in &frames {
            if start > at && start <= top {
                gaps.push(&words[at * 2..start * 2]);
            }
            at = at.max(end);
        }
        if at < top {
            gaps.push(&words[at * 2..top * 2]);
        }
        let mut skip: Vec<(usize, usize)> =
            self.interp_regions.iter().copied().filter(|&(lo, hi)| lo != 0 && lo < hi).collect();
        skip.sort_unstable();
        with_spilled_registers(|sp| {
            // [sp, base) is the live part of this thread's stack, less the interpreter's
            // own frames.
            let mut at = sp;
            for &(lo, hi) in skip.iter().filter(|&&(_, hi)| hi <= base) {
                if lo > at {
                    // SAFETY: within the live stack.
                    gaps.push(unsafe { std::slice::from_raw_parts(at as *const usize, (lo - at) / 8) });
                }
                at = at.max(hi);
            }
            if base > at {
                // SAFETY: within the live stack.
                gaps.push(unsafe { std::slice::from_raw_parts(at as *const usize, (base - at) / 8) });
            }
            let globals = self.globals;
            let registry = &self.registry;
            let modules = &self.modules;
            let stack = self.stack;
            self.heap.collect(
                |m| {
                    m.mark_ptr(globals as *mut _);
                    registry.iter().for_each(|&v| m.mark_val(v));
                    for module in modules.iter() {
                        module.consts.iter().for_each(|&v| m.mark_val(v));
                    }
                    closures.iter().for_each(|&c| m.mark_word(c));
                    for &(start, _, proto, pc) in &frames {
                        // SAFETY: as above; live slots are within the frame, below `top`.
                        unsafe {
                            (*proto).live_slots(pc, |slot| {
                                let v = *stack.add(start + slot as usize);
                                m.mark_word(v.payload() as usize);
                            })
                        };
                    }
                },
                &gaps,
            );
        });
        // An interrupt that came during the collection keeps every safepoint slow.
        if self.interrupt.requested.load(std::sync::atomic::Ordering::SeqCst) {
            self.heap.threshold_cell().store(0, std::sync::atomic::Ordering::SeqCst);
        }
    }

    // ---- interrupts --------------------------------------------------------------------

    /// A handle that stops this VM from another thread ([`Interrupter::interrupt`]): a
    /// time limit. The VM must stay where it is while the handle lives (compiled code
    /// holds its address anyway); dropping the VM disarms the handle.
    pub fn interrupter(&mut self) -> Interrupter {
        let at = self.heap.threshold_cell() as *const std::sync::atomic::AtomicUsize as usize;
        *self.interrupt.threshold_at.lock().unwrap_or_else(|p| p.into_inner()) = at;
        Interrupter(self.interrupt.clone())
    }

    /// `Err(`[`VmError::Exit`]`(`[`INTERRUPTED_EXIT`]`))` once an [`Interrupter`] has
    /// fired: the run unwinds as `os.exit` does (no `pcall` catches it) and the host,
    /// which holds the interrupter, says why. Checked where safepoints take their slow
    /// path (loop back edges and calls in every tier), which an interrupt forces.
    #[inline]
    pub fn check_interrupt(&self) -> VmResult<()> {
        if self.interrupt.requested.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(VmError::Exit(INTERRUPTED_EXIT));
        }
        Ok(())
    }

    fn slice_words(&self, top: usize) -> &'static [usize] {
        // SAFETY: the stack lives as long as the VM; it is read only during collection.
        unsafe { std::slice::from_raw_parts(self.stack as *const usize, top.min(self.stack_slots) * 2) }
    }

    // ---- modules -----------------------------------------------------------------------

    /// Loads a module: binds its runtime functions, makes its constants, decodes its
    /// functions, and returns the main function as a closure value.
    pub fn load(&mut self, module: Module, rt: &RtRegistry) -> Result<Val, LoadError> {
        if module.functions.is_empty() {
            return Err(LoadError::Empty);
        }
        let mut bound = Vec::with_capacity(module.runtime.len());
        for decl in &module.runtime {
            let e = rt.get(&decl.name).ok_or_else(|| LoadError::UnknownRuntime(decl.name.clone()))?;
            if e.ret != decl.ret {
                return Err(LoadError::RuntimeType { name: decl.name.clone(), registered: e.ret, declared: decl.ret });
            }
            bound.push(e.clone());
        }
        let consts = module
            .strings
            .iter()
            .map(|s| self.fixed_str(s))
            .collect();
        let mut loaded = LoadedModule::new(module, bound, consts);
        loaded.natives = rt.natives.clone();
        let main = &loaded.protos[0] as *const Proto;
        self.modules.push(loaded);
        Ok(self.new_closure(main, &[]))
    }

    /// The loaded modules.
    pub fn modules(&self) -> &[Box<LoadedModule>] {
        &self.modules
    }

    // ---- calls -------------------------------------------------------------------------

    /// Calls `f` with the `nargs` arguments at `stack[base..]`; everything above them is
    /// free. Results are left at `stack[base..base+n]`; returns `n`.
    pub fn call_at(&mut self, f: Val, base: usize, nargs: usize) -> VmResult<usize> {
        match f.tag() {
            Tag::Func => super::exec::run(self, f.payload() as *mut Closure, base, nargs),
            Tag::Native => {
                // SAFETY: a native value points to a static `Native`.
                let native = unsafe { &*(f.payload() as *const Native) };
                if self.depth >= self.max_depth {
                    return Err(VmError::msg("stack overflow"));
                }
                self.ensure_stack(base, nargs)?;
                let saved_top = self.top;
                self.top = base + nargs;
                self.depth += 1;
                let r = (native.f)(self, base, nargs);
                self.depth -= 1;
                self.top = saved_top;
                r
            }
            _ => match (self.hooks.call_handler)(self, f) {
                Some(handler) => {
                    self.ensure_stack(base, nargs + 1)?;
                    for i in (0..nargs).rev() {
                        let v = self.get(base + i);
                        self.set(base + i + 1, v);
                    }
                    self.set(base, f);
                    self.call_at(handler, base, nargs + 1)
                }
                None => Err((self.hooks.call_error)(self, f)),
            },
        }
    }

    /// Calls `f` from Rust with `args`, using the free stack above `top`; returns the
    /// results (consume them before calling into Lua again: the vector is not a root).
    pub fn call(&mut self, f: Val, args: &[Val]) -> VmResult<Vec<Val>> {
        let base = self.top;
        self.ensure_stack(base, args.len())?;
        for (i, &a) in args.iter().enumerate() {
            self.set(base + i, a);
        }
        let saved_top = self.top;
        self.top = base + args.len();
        let r = self.call_at(f, base, args.len());
        self.top = saved_top;
        let n = r?;
        Ok(self.slice(base, n).to_vec())
    }

    /// Calls `f` and returns its first result (or `nil`).
    pub fn call1(&mut self, f: Val, args: &[Val]) -> VmResult<Val> {
        let base = self.top;
        self.ensure_stack(base, args.len())?;
        for (i, &a) in args.iter().enumerate() {
            self.set(base + i, a);
        }
        let saved_top = self.top;
        self.top = base + args.len();
        let r = self.call_at(f, base, args.len());
        self.top = saved_top;
        Ok(if r? > 0 { self.get(base) } else { Val::NIL })
    }

    /// The source line the innermost interpreted frame `level` levels up is at
    /// (level 0: innermost); `None` past the outermost.
    pub fn frame_line(&self, level: usize) -> Option<(String, u32)> {
        let f = self.frames.get(self.frames.len().checked_sub(level + 1)?)?;
        // SAFETY: frames refer to protos of loaded modules, which live as long as the VM.
        let proto = unsafe { &*f.proto };
        Some((proto.chunk_name().to_string(), proto.line_at(f.pc)))
    }

    /// The callee of the call the innermost interpreted frame is making, as its call
    /// instruction's debug information names it: what kind of variable it was read
    /// from and the name (`None` when the frame is not at a call, or the callee had no
    /// name). A runtime library uses it in messages about the function it implements
    /// (`bad argument #1 to 'insert'`), naming it as the program did.
    pub fn calling_name(&self) -> Option<(crate::function::VarKind, &[u8])> {
        let f = self.frames.last()?;
        if f.proto.is_null() {
            return None;
        }
        // SAFETY: frames refer to protos of loaded modules, which live as long as the VM.
        let proto = unsafe { &*f.proto };
        if !matches!(proto.code.get(f.pc as usize)?, super::proto::Op::Call { .. }) {
            return None;
        }
        let n = proto.debug.get(f.pc as usize)?.names[0]?;
        // SAFETY: a proto's module outlives it.
        let module = unsafe { &*proto.module };
        Some((n.kind, module.string(n.name)))
    }

    /// A `stack traceback:` text of the interpreted frames, innermost first.
    pub fn traceback(&self) -> String {
        let mut out = String::from("stack traceback:");
        for f in self.frames.iter().rev() {
            // SAFETY: as in `frame_line`.
            let proto = unsafe { &*f.proto };
            out.push_str(&format!("\n\t{}:{}: in {}", proto.chunk_name(), proto.line_at(f.pc), proto.describe()));
        }
        out.push_str("\n\t[C]: in ?");
        out
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        *self.interrupt.threshold_at.lock().unwrap_or_else(|p| p.into_inner()) = 0;
        if let Some(jit) = self.jit.take() {
            jit.quiesce();
        }
        let layout = std::alloc::Layout::array::<Val>(self.stack_slots).expect("stack layout");
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.stack as *mut u8, layout) };
    }
}

/// Helpers for reading objects out of values.
pub mod access {
    use super::*;

    /// The string object of a string value.
    #[inline]
    pub fn str_of<'a>(v: Val) -> &'a LStr {
        debug_assert_eq!(v.tag(), Tag::Str);
        // SAFETY: a string value points to a live string object; callers do not hold the
        // reference across a collection.
        unsafe { &*(v.payload() as *const LStr) }
    }

    /// The bytes of a string value.
    #[inline]
    pub fn bytes_of<'a>(v: Val) -> &'a [u8] {
        str_of(v).as_bytes()
    }

    /// The table object of a table value.
    #[inline]
    pub fn table_of<'a>(v: Val) -> &'a mut Table {
        debug_assert_eq!(v.tag(), Tag::Table);
        // SAFETY: a table value points to a live table; the VM is single-threaded.
        unsafe { &mut *(v.payload() as *mut Table) }
    }

    /// The pack object of a pack value.
    #[inline]
    pub fn pack_of<'a>(v: Val) -> &'a Pack {
        debug_assert_eq!(v.tag(), Tag::Pack);
        // SAFETY: a pack value points to a live pack.
        unsafe { &*(v.payload() as *const Pack) }
    }

    /// The cell object of a cell value.
    #[inline]
    pub fn cell_of<'a>(v: Val) -> &'a mut Cell {
        debug_assert_eq!(v.tag(), Tag::Cell);
        // SAFETY: a cell value points to a live cell.
        unsafe { &mut *(v.payload() as *mut Cell) }
    }

    /// The closure object of a function value.
    #[inline]
    pub fn closure_of<'a>(v: Val) -> &'a Closure {
        debug_assert_eq!(v.tag(), Tag::Func);
        // SAFETY: a function value points to a live closure.
        unsafe { &*(v.payload() as *const Closure) }
    }
}
