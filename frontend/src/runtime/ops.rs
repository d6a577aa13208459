//! The runtime functions the lowering calls (`rtcall lua.*`), and their registration.

use lazyjit::runtime::{access, ChainLookup, Effects, FloatPromotion, VmResult, Leaf, VmError, RegVal, RtFn, RtRegistry, TableAccess, Vm};
use lazyjit::runtime::Table;
use lazyjit::runtime::{Tag, Val};
use lazyjit::mir::{Opcode, Type};

use super::arith::{arith, concat as concat_vals, equal, len as len_val, less_equal, less_than, Op};
use crate::lualib::{number, ForLoop, Num};

use super::convert::{num_of, to_float, to_number, tostring as tostring_val};
use super::meta::{index as index_val, setindex as setindex_val};
use super::{key, obj_type_name, raw_set_checked, Key};

#[inline]
fn arg(a: &[Val], i: usize) -> Val {
    a.get(i).copied().unwrap_or(Val::NIL)
}

macro_rules! binary {
    ($($name:ident => $op:expr;)*) => {$(
        fn $name(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
            arith(vm, $op, arg(a, 0), arg(a, 1))
        }
    )*};
}

binary! {
    add => Op::Add;
    sub => Op::Sub;
    mul => Op::Mul;
    div => Op::Div;
    modulo => Op::Mod;
    pow => Op::Pow;
    idiv => Op::IDiv;
    band => Op::BAnd;
    bor => Op::BOr;
    bxor => Op::BXor;
    shl => Op::Shl;
    shr => Op::Shr;
}

fn unm(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let x = arg(a, 0);
    arith(vm, Op::Unm, x, x)
}

fn bnot(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let x = arg(a, 0);
    arith(vm, Op::BNot, x, x)
}

fn concat(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    concat_vals(vm, arg(a, 0), arg(a, 1))
}

fn len(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    len_val(vm, arg(a, 0))
}

fn eq(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    equal(vm, arg(a, 0), arg(a, 1)).map(Val::bool)
}

fn lt(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    less_than(vm, arg(a, 0), arg(a, 1)).map(Val::bool)
}

fn le(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    less_equal(vm, arg(a, 0), arg(a, 1)).map(Val::bool)
}

fn index(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let (obj, k) = (arg(a, 0), arg(a, 1));
    // The common case first: a table that has the key or no metatable to consult.
    if obj.tag() == Tag::Table {
        let t = access::table_of(obj);
        let v = t.get(k);
        if !v.is_nil() || t.meta.is_null() {
            return Ok(v);
        }
    }
    index_val(vm, obj, k)
}

fn setindex(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let (obj, k, v) = (arg(a, 0), arg(a, 1), arg(a, 2));
    // The common case first: an existing array slot of a table without a metatable.
    if obj.tag() == Tag::Table && k.tag() == Tag::Int {
        let t = access::table_of(obj);
        if t.meta.is_null() && t.set_existing_int(k.int_unchecked(), v) {
            return Ok(Val::NIL);
        }
    }
    setindex_val(vm, obj, k, v).map(|_| Val::NIL)
}

/// The leaf of `lua.index`: a table read, following `__index` tables (a function
/// handler, or anything not a table, is left to [`index`]).
unsafe extern "C" fn index_leaf(vm: *mut Vm, t0: u64, p0: u64, t1: u64, p1: u64, _: u64, _: u64) -> RegVal {
    let Some(ktag) = Tag::from_u8(t1 as u8) else { return RegVal::MISS };
    let k = Val::from_raw(ktag, p1);
    let mut obj = (t0, p0);
    for _ in 0..LEAF_CHAIN {
        if obj.0 != Tag::Table as u64 {
            return RegVal::MISS;
        }
        let t = access::table_of(Val::from_raw(Tag::Table, obj.1));
        let v = t.get(k);
        if !v.is_nil() || t.meta.is_null() {
            return RegVal::of(v);
        }
        // SAFETY: the ABI gives a live VM; a metatable pointer refers to a live table.
        let h = unsafe { (*t.meta).get_str(key(&mut *vm, Key::Index)) };
        if h.is_nil() {
            return RegVal::of(Val::NIL);
        }
        obj = (h.tag() as u64, h.payload());
    }
    RegVal::MISS
}

/// The chain of `lua.index` (see [`lazyjit::runtime::ChainLookup`]): for a table
/// without the string key `key` and with metatable `meta`, the `__index` tables in
/// turn, each watched; a `__index` that is not a table (a function to call) is left to
/// [`index`](index_val).
unsafe extern "C" fn index_chain(vm: *mut Vm, meta: *mut Table, key_str: u64) -> RegVal {
    let k = Val::from_raw(Tag::Str, key_str);
    // SAFETY: the ABI gives the running VM.
    let index_key = key(unsafe { &mut *vm }, Key::Index);
    let mut m = meta;
    for _ in 0..LEAF_CHAIN {
        // SAFETY: the ABI gives a live metatable; metatable pointers of live tables are live.
        let mt = unsafe { &mut *m };
        mt.watch();
        let h = mt.get_str(index_key);
        if h.is_nil() {
            return RegVal::of(Val::NIL);
        }
        if h.tag() != Tag::Table {
            return RegVal::MISS;
        }
        let t = access::table_of(h);
        t.watch();
        let v = t.get_str(k);
        if !v.is_nil() || t.meta.is_null() {
            return RegVal::of(v);
        }
        m = t.meta;
    }
    RegVal::MISS
}

/// The leaf of `lua.setindex`: a write to an existing slot of a table (any slot of the
/// array part, or an append to it, when the table has no metatable). Other insertions
/// and `__newindex` are left to [`setindex`].
unsafe extern "C" fn setindex_leaf(vm: *mut Vm, t0: u64, p0: u64, t1: u64, p1: u64, t2: u64, p2: u64) -> RegVal {
    let (Some(ktag), Some(vtag)) = (Tag::from_u8(t1 as u8), Tag::from_u8(t2 as u8)) else {
        return RegVal::MISS;
    };
    if t0 != Tag::Table as u64 {
        return RegVal::MISS;
    }
    let t = access::table_of(Val::from_raw(Tag::Table, p0));
    let (k, v) = (Val::from_raw(ktag, p1), Val::from_raw(vtag, p2));
    if ktag == Tag::Int && t.meta.is_null() {
        let i = k.int_unchecked();
        if t.set_existing_int(i, v) {
            return RegVal::of(Val::NIL);
        }
        if !v.is_nil() && i == t.array_len() as i64 + 1 {
            let grow = t.set_int(i, v);
            // SAFETY: the ABI gives the running VM.
            unsafe { (*vm).heap.account(grow) };
            return RegVal::of(Val::NIL);
        }
    }
    let done = t.set_existing(k, v);
    if done {
        RegVal::of(Val::NIL)
    } else {
        RegVal::MISS
    }
}

/// How many `__index` tables a leaf follows before leaving the lookup to the runtime
/// function.
const LEAF_CHAIN: usize = 8;

fn tostring(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    tostring_val(vm, arg(a, 0))
}

fn size_hint(v: Val) -> usize {
    v.as_int().unwrap_or(0).clamp(0, 1 << 24) as usize
}

fn newtable(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(vm.new_table(size_hint(arg(a, 0)), size_hint(arg(a, 1))))
}

/// The leaf of `lua.newtable`: the new table, without the generic call's dispatch.
unsafe extern "C" fn newtable_leaf(vm: *mut Vm, t0: u64, p0: u64, t1: u64, p1: u64, _: u64, _: u64) -> RegVal {
    let hint = |t: u64, p: u64| size_hint(Val::from_raw(Tag::from_u8(t as u8).unwrap_or(Tag::Nil), p));
    // SAFETY: the ABI gives the running VM.
    let vm = unsafe { &mut *vm };
    RegVal::of(vm.new_table(hint(t0, p0), hint(t1, p1)))
}

fn rawset(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let t = arg(a, 0);
    if t.tag() != Tag::Table {
        return Err(VmError::msg("rawset on a non-table"));
    }
    raw_set_checked(vm, t, arg(a, 1), arg(a, 2))?;
    Ok(Val::NIL)
}

/// `t[start + i] = items[i]` for the positional items of a constructor. Items go
/// straight into the array part when they extend it (as Lua presizes it), so
/// `#{1, nil, 3}` is 3 as in Lua.
fn setlist(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let t = arg(a, 0);
    if t.tag() != Tag::Table {
        return Err(VmError::msg("setlist on a non-table"));
    }
    let start = arg(a, 1).as_int().unwrap_or(1);
    let items = a.get(2..).unwrap_or(&[]);
    let tab = access::table_of(t);
    let append = start >= 1 && (start - 1) as usize == tab.array_len() && tab.hash_entries().next().is_none();
    let mut grow = 0;
    for (i, &v) in items.iter().enumerate() {
        if append {
            grow += tab.push_array(v);
        } else {
            grow += tab.set_int(start.wrapping_add(i as i64), v);
        }
    }
    vm.heap.account(grow);
    Ok(Val::NIL)
}

// ---- numeric for -------------------------------------------------------------------------

fn for_error(vm: &mut Vm, what: &str, v: Val) -> VmError {
    let t = obj_type_name(vm, v);
    VmError::msg(format!("bad 'for' {what} (number expected, got {t})"))
}

/// Lua's `forprep` on boxed operands: an integer loop when start and step are
/// integers (the limit may be any number or numeric string), else a float loop with
/// every operand converted (numeric strings included). Errors name the bad operand.
fn prepare(vm: &mut Vm, a: &[Val]) -> VmResult<ForLoop> {
    let (init, limit, step) = (arg(a, 0), arg(a, 1), arg(a, 2));
    let r = if let (Some(i), Some(s)) = (init.as_int(), step.as_int()) {
        let Some(l) = to_number(limit).and_then(num_of) else { return Err(for_error(vm, "limit", limit)) };
        number::for_prep(Num::Int(i), l, Num::Int(s))
    } else {
        let Some(fl) = to_float(limit) else { return Err(for_error(vm, "limit", limit)) };
        let Some(fs) = to_float(step) else { return Err(for_error(vm, "step", step)) };
        let Some(fi) = to_float(init) else { return Err(for_error(vm, "initial value", init)) };
        number::for_prep(Num::Float(fi), Num::Float(fl), Num::Float(fs))
    };
    r.map_err(VmError::msg)
}

/// 0: the loop does not run; 1: integer loop; 2: float loop.
fn forprep(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::int(match prepare(vm, a)? {
        ForLoop::Skip => 0,
        ForLoop::Int { .. } => 1,
        ForLoop::Float { .. } => 2,
    }))
}

/// Iterations minus one of an integer loop that runs (Lua's unsigned loop counter, in
/// the bits of an i64).
fn for_icount(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::int(match prepare(vm, a)? {
        ForLoop::Int { count, .. } => count as i64,
        _ => 0,
    }))
}

/// A number (or numeric string) as a float.
fn tofloat(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let v = arg(a, 0);
    match to_float(v) {
        Some(f) => Ok(Val::float(f)),
        None => Err(for_error(vm, "initial value", v)),
    }
}

/// Registers every `lua.*` runtime function.
pub(crate) fn register(r: &mut RtRegistry) {
    let fx = Effects::default();
    let val: &[(&str, RtFn)] = &[
        ("lua.add", add),
        ("lua.sub", sub),
        ("lua.mul", mul),
        ("lua.div", div),
        ("lua.mod", modulo),
        ("lua.pow", pow),
        ("lua.idiv", idiv),
        ("lua.band", band),
        ("lua.bor", bor),
        ("lua.bxor", bxor),
        ("lua.shl", shl),
        ("lua.shr", shr),
        ("lua.concat", concat),
        ("lua.unm", unm),
        ("lua.bnot", bnot),
        ("lua.len", len),
        ("lua.index", index),
        ("lua.setindex", setindex),
        ("lua.newtable", newtable),
        ("lua.rawset", rawset),
        ("lua.setlist", setlist),
        ("lua.tostring", tostring),
    ];
    for &(name, f) in val {
        r.register(name, f, Type::Val, fx);
    }
    for (name, f) in [("lua.eq", eq as RtFn), ("lua.lt", lt), ("lua.le", le)] {
        r.register(name, f, Type::I1, fx);
    }
    r.register("lua.forprep", forprep, Type::I64, fx);
    r.register("lua.for_icount", for_icount, Type::I64, fx);
    r.register("lua.tofloat", tofloat, Type::F64, fx);

    // Typed fast paths: what these functions amount to on two ints or two floats.
    let (i, f, n) = (Tag::Int, Tag::Float, Tag::Nil);
    let paths: &[(&str, [Tag; 2], Opcode)] = &[
        ("lua.add", [i, i], Opcode::Iadd),
        ("lua.add", [f, f], Opcode::Fadd),
        ("lua.sub", [i, i], Opcode::Isub),
        ("lua.sub", [f, f], Opcode::Fsub),
        ("lua.mul", [i, i], Opcode::Imul),
        ("lua.mul", [f, f], Opcode::Fmul),
        ("lua.div", [f, f], Opcode::Fdiv),
        // (Not for a divisor of 0: `imod` says so, and the function raises the error.)
        ("lua.mod", [i, i], Opcode::Imod),
        ("lua.unm", [i, n], Opcode::Ineg),
        ("lua.unm", [f, n], Opcode::Fneg),
        ("lua.eq", [i, i], Opcode::IcmpEq),
        ("lua.eq", [f, f], Opcode::FcmpEq),
        ("lua.lt", [i, i], Opcode::IcmpLt),
        ("lua.lt", [f, f], Opcode::FcmpLt),
        ("lua.le", [i, i], Opcode::IcmpLe),
        ("lua.le", [f, f], Opcode::FcmpLe),
    ];
    for &(name, tags, op) in paths {
        if let Err(e) = r.declare_fast_path(name, tags, op) {
            debug_assert!(false, "{e}");
        }
    }
    // Arithmetic on an int and a float is float arithmetic; `/` is on any numbers.
    let promotions: &[(&str, Opcode, bool)] = &[
        ("lua.add", Opcode::Fadd, false),
        ("lua.sub", Opcode::Fsub, false),
        ("lua.mul", Opcode::Fmul, false),
        ("lua.div", Opcode::Fdiv, true),
    ];
    for &(name, op, ints_too) in promotions {
        if let Err(e) = r.declare_float_promotion(name, FloatPromotion { op, ints_too }) {
            debug_assert!(false, "{e}");
        }
    }
    let leaves: &[(&str, Leaf)] = &[
        ("lua.index", Leaf { symbol: "lua.index.leaf", f: index_leaf }),
        ("lua.setindex", Leaf { symbol: "lua.setindex.leaf", f: setindex_leaf }),
        ("lua.newtable", Leaf { symbol: "lua.newtable.leaf", f: newtable_leaf }),
    ];
    for &(name, leaf) in leaves {
        if let Err(e) = r.declare_leaf(name, leaf) {
            debug_assert!(false, "{e}");
        }
    }
    // `index` and `setindex` are raw accesses where the raw value is present (and an
    // array write needs no metatable): see their common cases.
    for (name, access) in [("lua.index", TableAccess::Get), ("lua.setindex", TableAccess::Set)] {
        if let Err(e) = r.declare_table_access(name, access) {
            debug_assert!(false, "{e}");
        }
    }
    // A constructor's items go to the end of its fresh table's array part.
    if let Err(e) = r.declare_array_append("lua.setlist") {
        debug_assert!(false, "{e}");
    }
    // A field missing from a table is looked up through its `__index` tables.
    if let Err(e) = r.declare_chain_lookup("lua.index", ChainLookup { symbol: "lua.index.chain", f: index_chain }) {
        debug_assert!(false, "{e}");
    }
}

/// The names, arities and result types of the runtime functions (for documentation and
/// tests).
#[cfg(test)]
pub(crate) const RTCALLS: &[(&str, usize, &str)] = &[
    ("lua.add", 2, "val"),
    ("lua.sub", 2, "val"),
    ("lua.mul", 2, "val"),
    ("lua.div", 2, "val"),
    ("lua.mod", 2, "val"),
    ("lua.pow", 2, "val"),
    ("lua.idiv", 2, "val"),
    ("lua.band", 2, "val"),
    ("lua.bor", 2, "val"),
    ("lua.bxor", 2, "val"),
    ("lua.shl", 2, "val"),
    ("lua.shr", 2, "val"),
    ("lua.concat", 2, "val"),
    ("lua.unm", 1, "val"),
    ("lua.bnot", 1, "val"),
    ("lua.len", 1, "val"),
    ("lua.eq", 2, "i1"),
    ("lua.lt", 2, "i1"),
    ("lua.le", 2, "i1"),
    ("lua.index", 2, "val"),
    ("lua.setindex", 3, "val"),
    ("lua.newtable", 2, "val"),
    ("lua.rawset", 3, "val"),
    ("lua.setlist", 2, "val (+ items, last may be a spread pack)"),
    ("lua.forprep", 3, "i64"),
    ("lua.for_icount", 3, "i64"),
    ("lua.tofloat", 1, "f64"),
    ("lua.tostring", 1, "val"),
];
