//! The runtime: every built-in as a runtime function, declared to the compiler with
//! what it may assume (typed fast paths for arithmetic and comparisons, float
//! promotion, inline vector and global access, leaves for `car`/`cdr`), pairs and the
//! empty list as host objects, and `display`'s output buffer.

use lazyjit::mir::{Opcode, Type};
use lazyjit::runtime::{
    access, Effects, FloatPromotion, Hooks, HostObject, Leaf, Marker, ObjectKind, RegVal, RtFn, RtRegistry, TableAccess, Tag, Val, Vm, VmError,
    VmResult, VARINFO,
};

/// A pair (`cons`).
pub struct Pair {
    /// The first element.
    pub car: Val,
    /// The rest.
    pub cdr: Val,
}

impl HostObject for Pair {
    fn trace(&self, marker: &mut Marker) {
        marker.mark_val(self.car);
        marker.mark_val(self.cdr);
    }
}

/// The empty list: one object per VM.
pub struct Null;

impl HostObject for Null {
    fn trace(&self, _: &mut Marker) {}
}

/// Per-VM state.
struct State {
    pair: ObjectKind,
    null: Val,
    out: Vec<u8>,
}

fn st(vm: &mut Vm) -> &mut State {
    vm.ext.as_mut().and_then(|e| e.downcast_mut::<State>()).expect("the Scheme runtime is installed")
}

/// Prepares `vm` for Scheme programs: the object kinds, the empty list, the hooks.
pub fn install(vm: &mut Vm) {
    let pair = vm.register_kind::<Pair>("pair");
    let null_kind = vm.register_kind::<Null>("null");
    let null = vm.new_object(null_kind, Null);
    vm.registry.push(null);
    vm.ext = Some(Box::new(State { pair, null, out: Vec::new() }));
    vm.hooks = Hooks { call_handler: |_, _| None, call_error };
}

fn call_error(vm: &mut Vm, v: Val) -> VmError {
    VmError::about(0, format!("attempt to apply a non-procedure{VARINFO}: {}", show(vm, v)))
}

/// Writes what `display` buffered to standard output.
pub fn flush(vm: &mut Vm) {
    use std::io::Write;
    let out = std::mem::take(&mut st(vm).out);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out);
    let _ = stdout.flush();
}

/// Takes what `display` buffered (for tests and embedders).
pub fn take_output(vm: &mut Vm) -> Vec<u8> {
    std::mem::take(&mut st(vm).out)
}

/// The runtime function of a built-in that is lowered to one call.
pub fn rt_name(prim: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(p, _, _)| *p == prim).map(|(_, rt, _)| *rt)
}

type Builtin = (&'static str, &'static str, RtFn);

/// Built-ins lowered to one call of a runtime function: name, function, code.
const BUILTINS: &[Builtin] = &[
    ("quotient", "scm.quotient", quotient),
    ("remainder", "scm.remainder", remainder),
    ("modulo", "scm.modulo", modulo),
    ("abs", "scm.abs", abs),
    ("min", "scm.min", min),
    ("max", "scm.max", max),
    ("sqrt", "scm.sqrt", sqrt),
    ("exact->inexact", "scm.inexact", inexact),
    ("null?", "scm.nullp", nullp),
    ("pair?", "scm.pairp", pairp),
    ("number?", "scm.numberp", numberp),
    ("integer?", "scm.integerp", integerp),
    ("procedure?", "scm.procedurep", procedurep),
    ("vector?", "scm.vectorp", vectorp),
    ("string?", "scm.stringp", stringp),
    ("eq?", "scm.eqp", eqp),
    ("equal?", "scm.equalp", equalp),
    ("cons", "scm.cons", cons),
    ("car", "scm.car", car),
    ("cdr", "scm.cdr", cdr),
    ("set-car!", "scm.set_car", set_car),
    ("set-cdr!", "scm.set_cdr", set_cdr),
    ("length", "scm.length", length),
    ("vector", "scm.vector", vector),
    ("vector-length", "scm.vector_length", vector_length),
    ("string-append", "scm.string_append", string_append),
    ("number->string", "scm.number_to_string", number_to_string),
    ("display", "scm.display", display),
    ("newline", "scm.newline", newline),
    ("error", "scm.error", error),
];

/// Every runtime function the lowering calls, with its declarations.
pub fn registry() -> RtRegistry {
    let mut r = RtRegistry::new();
    let pure = Effects { pure: true };
    let effects = Effects::default();
    for &(_, name, f) in BUILTINS {
        r.register(name, f, Type::Val, effects);
    }
    r.register("scm.null", null, Type::Val, pure);
    let arith: [(&str, RtFn, Opcode, Opcode); 3] = [("scm.add", add, Opcode::Iadd, Opcode::Fadd), ("scm.sub", sub, Opcode::Isub, Opcode::Fsub), ("scm.mul", mul, Opcode::Imul, Opcode::Fmul)];
    for (name, f, int_op, float_op) in arith {
        r.register(name, f, Type::Val, effects);
        declare(r.declare_fast_path(name, [Tag::Int, Tag::Int], int_op));
        declare(r.declare_fast_path(name, [Tag::Float, Tag::Float], float_op));
        declare(r.declare_float_promotion(name, FloatPromotion { op: float_op, ints_too: false }));
    }
    r.register("scm.div", div, Type::Val, effects);
    declare(r.declare_fast_path("scm.div", [Tag::Float, Tag::Float], Opcode::Fdiv));
    declare(r.declare_float_promotion("scm.div", FloatPromotion { op: Opcode::Fdiv, ints_too: false }));
    r.register("scm.neg", neg, Type::Val, effects);
    declare(r.declare_fast_path("scm.neg", [Tag::Int, Tag::Int], Opcode::Ineg));
    declare(r.declare_fast_path("scm.neg", [Tag::Float, Tag::Float], Opcode::Fneg));
    let compare: [(&str, RtFn, Opcode, Opcode); 3] = [("scm.lt", lt, Opcode::IcmpLt, Opcode::FcmpLt), ("scm.le", le, Opcode::IcmpLe, Opcode::FcmpLe), ("scm.num_eq", num_eq, Opcode::IcmpEq, Opcode::FcmpEq)];
    for (name, f, int_op, float_op) in compare {
        r.register(name, f, Type::I1, effects);
        declare(r.declare_fast_path(name, [Tag::Int, Tag::Int], int_op));
        declare(r.declare_fast_path(name, [Tag::Float, Tag::Float], float_op));
    }
    r.register("scm.global", global, Type::Val, effects);
    declare(r.declare_table_access("scm.global", TableAccess::Get));
    r.register("scm.set_global", set_global, Type::Val, effects);
    declare(r.declare_table_access("scm.set_global", TableAccess::Set));
    r.register("scm.define", define, Type::Val, effects);
    r.register("scm.make_vector", make_vector, Type::Val, effects);
    r.register("scm.vector_ref", vector_ref, Type::Val, effects);
    declare(r.declare_table_access("scm.vector_ref", TableAccess::Get));
    r.register("scm.vector_set", vector_set, Type::Val, effects);
    declare(r.declare_table_access("scm.vector_set", TableAccess::Set));
    declare(r.declare_leaf("scm.car", Leaf { symbol: "scm_car_leaf", f: car_leaf }));
    declare(r.declare_leaf("scm.cdr", Leaf { symbol: "scm_cdr_leaf", f: cdr_leaf }));
    r
}

fn declare(r: Result<(), String>) {
    if let Err(e) = r {
        panic!("a runtime declaration does not fit: {e}");
    }
}

// ---- numbers ---------------------------------------------------------------------------

fn num(v: Val) -> Option<f64> {
    match v.tag() {
        Tag::Int => Some(v.int_unchecked() as f64),
        Tag::Float => Some(v.float_unchecked()),
        _ => None,
    }
}

fn wrong_type(vm: &mut Vm, op: &str, i: u8, v: Val) -> VmError {
    VmError::about(i, format!("wrong type argument to {op}{VARINFO}: {}", show(vm, v)))
}

/// `int op int` as `int_op`, any other two numbers as floats.
fn arith(vm: &mut Vm, a: &[Val], op: &str, int_op: fn(i64, i64) -> i64, float_op: fn(f64, f64) -> f64) -> VmResult<Val> {
    let (x, y) = (a[0], a[1]);
    if x.tag() == Tag::Int && y.tag() == Tag::Int {
        return Ok(Val::int(int_op(x.int_unchecked(), y.int_unchecked())));
    }
    match (num(x), num(y)) {
        (Some(p), Some(q)) => Ok(Val::float(float_op(p, q))),
        (None, _) => Err(wrong_type(vm, op, 0, x)),
        _ => Err(wrong_type(vm, op, 1, y)),
    }
}

fn add(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    arith(vm, a, "+", i64::wrapping_add, |p, q| p + q)
}

fn sub(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    arith(vm, a, "-", i64::wrapping_sub, |p, q| p - q)
}

fn mul(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    arith(vm, a, "*", i64::wrapping_mul, |p, q| p * q)
}

/// `/`: exact when an integer divides another evenly, else a float (this subset has no
/// rationals).
fn div(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let (x, y) = (a[0], a[1]);
    if let (Some(p), Some(q)) = (x.as_int(), y.as_int()) {
        if q == 0 {
            return Err(VmError::msg("division by zero"));
        }
        if p.checked_rem(q) == Some(0) {
            return Ok(Val::int(p / q));
        }
    }
    match (num(x), num(y)) {
        (Some(p), Some(q)) => Ok(Val::float(p / q)),
        (None, _) => Err(wrong_type(vm, "/", 0, x)),
        _ => Err(wrong_type(vm, "/", 1, y)),
    }
}

fn neg(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    match a[0].tag() {
        Tag::Int => Ok(Val::int(a[0].int_unchecked().wrapping_neg())),
        Tag::Float => Ok(Val::float(-a[0].float_unchecked())),
        _ => Err(wrong_type(vm, "-", 0, a[0])),
    }
}

fn compare(vm: &mut Vm, a: &[Val], op: &str, ints: fn(&i64, &i64) -> bool, floats: fn(&f64, &f64) -> bool) -> VmResult<Val> {
    let (x, y) = (a[0], a[1]);
    if x.tag() == Tag::Int && y.tag() == Tag::Int {
        return Ok(Val::bool(ints(&x.int_unchecked(), &y.int_unchecked())));
    }
    match (num(x), num(y)) {
        (Some(p), Some(q)) => Ok(Val::bool(floats(&p, &q))),
        (None, _) => Err(wrong_type(vm, op, 0, x)),
        _ => Err(wrong_type(vm, op, 1, y)),
    }
}

fn lt(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    compare(vm, a, "<", i64::lt, f64::lt)
}

fn le(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    compare(vm, a, "<=", i64::le, f64::le)
}

fn num_eq(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    compare(vm, a, "=", i64::eq, f64::eq)
}

fn integer_args(vm: &mut Vm, a: &[Val], op: &str) -> VmResult<(i64, i64)> {
    let x = a[0].as_int().ok_or_else(|| wrong_type(vm, op, 0, a[0]))?;
    let y = a[1].as_int().ok_or_else(|| wrong_type(vm, op, 1, a[1]))?;
    if y == 0 {
        return Err(VmError::msg(format!("division by zero in {op}")));
    }
    Ok((x, y))
}

fn quotient(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let (x, y) = integer_args(vm, a, "quotient")?;
    Ok(Val::int(x.wrapping_div(y)))
}

fn remainder(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let (x, y) = integer_args(vm, a, "remainder")?;
    Ok(Val::int(x.wrapping_rem(y)))
}

fn modulo(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let (x, y) = integer_args(vm, a, "modulo")?;
    let r = x.wrapping_rem(y);
    Ok(Val::int(if r != 0 && (r < 0) != (y < 0) { r + y } else { r }))
}

fn abs(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    match a[0].tag() {
        Tag::Int => Ok(Val::int(a[0].int_unchecked().wrapping_abs())),
        Tag::Float => Ok(Val::float(a[0].float_unchecked().abs())),
        _ => Err(wrong_type(vm, "abs", 0, a[0])),
    }
}

/// `min`/`max`: a float if either is one (as Scheme's inexact contagion).
fn extremum(vm: &mut Vm, a: &[Val], op: &str, pick_first: fn(f64, f64) -> bool) -> VmResult<Val> {
    let (x, y) = (a[0], a[1]);
    let (p, q) = match (num(x), num(y)) {
        (Some(p), Some(q)) => (p, q),
        (None, _) => return Err(wrong_type(vm, op, 0, x)),
        _ => return Err(wrong_type(vm, op, 1, y)),
    };
    if x.tag() == Tag::Int && y.tag() == Tag::Int {
        return Ok(if pick_first(p, q) { x } else { y });
    }
    Ok(Val::float(if pick_first(p, q) { p } else { q }))
}

fn min(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    extremum(vm, a, "min", |p, q| p <= q)
}

fn max(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    extremum(vm, a, "max", |p, q| p >= q)
}

/// `sqrt`: exact for a perfect square, else a float.
fn sqrt(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    if let Some(n) = a[0].as_int() {
        let r = (n as f64).sqrt() as i64;
        if n >= 0 && r.checked_mul(r) == Some(n) {
            return Ok(Val::int(r));
        }
    }
    num(a[0]).map(|x| Val::float(x.sqrt())).ok_or_else(|| wrong_type(vm, "sqrt", 0, a[0]))
}

fn inexact(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    num(a[0]).map(Val::float).ok_or_else(|| wrong_type(vm, "exact->inexact", 0, a[0]))
}

// ---- predicates ------------------------------------------------------------------------

fn nullp(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let null = st(vm).null;
    Ok(Val::bool(a[0].raw_identical(null)))
}

fn pairp(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(vm.object::<Pair>(a[0]).is_some()))
}

fn numberp(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(num(a[0]).is_some()))
}

fn integerp(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(a[0].tag() == Tag::Int || a[0].as_float().is_some_and(|x| x.fract() == 0.0)))
}

fn procedurep(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(matches!(a[0].tag(), Tag::Func | Tag::Native)))
}

fn vectorp(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(a[0].tag() == Tag::Table))
}

fn stringp(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(a[0].tag() == Tag::Str))
}

fn eqp(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(a[0].raw_identical(a[1]) || (a[0].tag() == Tag::Str && a[1].tag() == Tag::Str && access::bytes_of(a[0]) == access::bytes_of(a[1]))))
}

fn equal(vm: &Vm, x: Val, y: Val, depth: usize) -> bool {
    if x.raw_identical(y) {
        return true;
    }
    if depth > 10_000 {
        return false;
    }
    match (x.tag(), y.tag()) {
        (Tag::Str, Tag::Str) => access::bytes_of(x) == access::bytes_of(y),
        (Tag::Table, Tag::Table) => {
            let (p, q) = (access::table_of(x).elements(), access::table_of(y).elements());
            p.len() == q.len() && p.zip(q).all(|(a, b)| equal(vm, a, b, depth + 1))
        }
        (Tag::Object, Tag::Object) => match (vm.object::<Pair>(x), vm.object::<Pair>(y)) {
            (Some(p), Some(q)) => equal(vm, p.car, q.car, depth + 1) && equal(vm, p.cdr, q.cdr, depth + 1),
            _ => false,
        },
        _ => false,
    }
}

fn equalp(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(Val::bool(equal(vm, a[0], a[1], 0)))
}

// ---- pairs and lists -------------------------------------------------------------------

fn null(vm: &mut Vm, _: &[Val]) -> VmResult<Val> {
    Ok(st(vm).null)
}

fn cons(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let kind = st(vm).pair;
    Ok(vm.new_object(kind, Pair { car: a[0], cdr: a[1] }))
}

fn pair_of<'v>(vm: &'v mut Vm, op: &str, v: Val) -> VmResult<&'v mut Pair> {
    if vm.object::<Pair>(v).is_none() {
        return Err(wrong_type(vm, op, 0, v));
    }
    Ok(vm.object::<Pair>(v).expect("checked"))
}

fn car(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(pair_of(vm, "car", a[0])?.car)
}

fn cdr(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    Ok(pair_of(vm, "cdr", a[0])?.cdr)
}

fn set_car(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    pair_of(vm, "set-car!", a[0])?.car = a[1];
    Ok(Val::NIL)
}

fn set_cdr(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    pair_of(vm, "set-cdr!", a[0])?.cdr = a[1];
    Ok(Val::NIL)
}

/// `car` without a call: compiled code tries it first ([`Leaf`]).
unsafe extern "C" fn car_leaf(vm: *mut Vm, tag: u64, payload: u64, _: u64, _: u64, _: u64, _: u64) -> RegVal {
    pair_leaf(vm, tag, payload, |p| p.car)
}

/// `cdr` without a call.
unsafe extern "C" fn cdr_leaf(vm: *mut Vm, tag: u64, payload: u64, _: u64, _: u64, _: u64, _: u64) -> RegVal {
    pair_leaf(vm, tag, payload, |p| p.cdr)
}

fn pair_leaf(vm: *mut Vm, tag: u64, payload: u64, field: fn(&Pair) -> Val) -> RegVal {
    if tag != Tag::Object as u64 {
        return RegVal::MISS;
    }
    // SAFETY: compiled code passes the running VM; an object-tagged payload is a live
    // host object.
    let vm = unsafe { &*vm };
    match vm.object::<Pair>(Val::from_raw(Tag::Object, payload)) {
        Some(p) => RegVal::of(field(p)),
        None => RegVal::MISS,
    }
}

fn length(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let null = st(vm).null;
    let mut n = 0;
    let mut v = a[0];
    while !v.raw_identical(null) {
        match vm.object::<Pair>(v) {
            Some(p) => v = p.cdr,
            None => return Err(wrong_type(vm, "length", 0, a[0])),
        }
        n += 1;
    }
    Ok(Val::int(n))
}

// ---- vectors: framework tables, element i at array slot i + 1 --------------------------

fn make_vector(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let n = match a[0].as_int() {
        Some(n) if (0..=1 << 28).contains(&n) => n as usize,
        _ => return Err(wrong_type(vm, "make-vector", 0, a[0])),
    };
    let v = vm.new_table(n, 0);
    let t = access::table_of(v);
    for _ in 0..n {
        t.push_array(a[1]);
    }
    Ok(v)
}

fn vector(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let v = vm.new_table(a.len(), 0);
    let t = access::table_of(v);
    for &x in a {
        t.push_array(x);
    }
    Ok(v)
}

fn slot(vm: &mut Vm, op: &str, v: Val, k: Val) -> VmResult<usize> {
    if v.tag() != Tag::Table {
        return Err(wrong_type(vm, op, 0, v));
    }
    let len = access::table_of(v).array_len();
    match k.as_int() {
        Some(k) if k >= 1 && k as u64 <= len as u64 => Ok(k as usize),
        Some(k) => Err(VmError::about(1, format!("{op}: index {} out of range{VARINFO}", k.wrapping_sub(1)))),
        None => Err(wrong_type(vm, op, 1, k)),
    }
}

fn vector_ref(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let k = slot(vm, "vector-ref", a[0], a[1])?;
    Ok(access::table_of(a[0]).get_int(k as i64))
}

fn vector_set(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let k = slot(vm, "vector-set!", a[0], a[1])?;
    access::table_of(a[0]).set_existing_int(k as i64, a[2]);
    Ok(Val::NIL)
}

fn vector_length(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    if a[0].tag() != Tag::Table {
        return Err(wrong_type(vm, "vector-length", 0, a[0]));
    }
    Ok(Val::int(access::table_of(a[0]).array_len() as i64))
}

// ---- globals ---------------------------------------------------------------------------

fn global(_: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let v = access::table_of(a[0]).get(a[1]);
    if v.is_nil() {
        return Err(VmError::msg(format!("unbound variable '{}'", String::from_utf8_lossy(access::bytes_of(a[1])))));
    }
    Ok(v)
}

fn set_global(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    global(vm, &a[..2])?;
    access::table_of(a[0]).set_existing(a[1], a[2]);
    Ok(Val::NIL)
}

fn define(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    if let Ok(grown) = access::table_of(a[0]).set(a[1], a[2]) {
        vm.heap.account(grown);
    }
    Ok(Val::NIL)
}

// ---- strings and output ----------------------------------------------------------------

fn string_append(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let mut out = Vec::new();
    for (i, &s) in a.iter().enumerate() {
        if s.tag() != Tag::Str {
            return Err(wrong_type(vm, "string-append", i.min(255) as u8, s));
        }
        vm.try_extend(&mut out, access::bytes_of(s))?;
    }
    Ok(vm.str_from_buffer(out))
}

fn number_to_string(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    if num(a[0]).is_none() {
        return Err(wrong_type(vm, "number->string", 0, a[0]));
    }
    let s = show(vm, a[0]);
    Ok(vm.new_str(s.as_bytes()))
}

fn display(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let s = show(vm, a[0]);
    let state = st(vm);
    state.out.extend_from_slice(s.as_bytes());
    if state.out.len() > 1 << 16 {
        flush(vm);
    }
    Ok(Val::NIL)
}

fn newline(vm: &mut Vm, _: &[Val]) -> VmResult<Val> {
    st(vm).out.push(b'\n');
    Ok(Val::NIL)
}

fn error(vm: &mut Vm, a: &[Val]) -> VmResult<Val> {
    let mut msg = show(vm, a[0]);
    for &v in &a[1..] {
        msg.push(' ');
        msg.push_str(&show(vm, v));
    }
    Err(VmError::msg(msg))
}

/// A value as `display` writes it.
pub fn show(vm: &mut Vm, v: Val) -> String {
    let mut out = String::new();
    write_val(vm, v, &mut out, 0);
    out
}

fn write_val(vm: &mut Vm, v: Val, out: &mut String, depth: usize) {
    if depth > 1000 {
        out.push_str("...");
        return;
    }
    match v.tag() {
        Tag::Nil => out.push_str("#<unspecified>"),
        Tag::Bool => out.push_str(if v.truthy() { "#t" } else { "#f" }),
        Tag::Int => out.push_str(&v.int_unchecked().to_string()),
        Tag::Float => out.push_str(&format_float(v.float_unchecked())),
        Tag::Str => out.push_str(&String::from_utf8_lossy(access::bytes_of(v))),
        Tag::Table => {
            out.push_str("#(");
            let items: Vec<Val> = access::table_of(v).elements().collect();
            for (i, &x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_val(vm, x, out, depth + 1);
            }
            out.push(')');
        }
        Tag::Object => {
            let null = st(vm).null;
            out.push('(');
            let mut cur = v;
            let mut first = true;
            let mut items = 0usize;
            while let Some(p) = vm.object::<Pair>(cur) {
                let (car, cdr) = (p.car, p.cdr);
                if !first {
                    out.push(' ');
                }
                first = false;
                write_val(vm, car, out, depth + 1);
                cur = cdr;
                items += 1;
                if items > 1_000_000 {
                    out.push_str(" ...");
                    cur = null;
                    break;
                }
            }
            if !cur.raw_identical(null) {
                out.push_str(" . ");
                write_val(vm, cur, out, depth + 1);
            }
            out.push(')');
        }
        Tag::Func | Tag::Native => {
            let name = match v.tag() {
                // SAFETY: a closure value points to a live closure of a loaded function.
                Tag::Func => unsafe { (*access::closure_of(v).proto).mir.name.clone() },
                _ => "built-in".to_string(),
            };
            out.push_str(&format!("#<procedure {name}>"));
        }
        t => out.push_str(&format!("#<{}>", t.name())),
    }
}

/// A float as Guile writes it: the shortest digits that read back, with `.0` for whole
/// numbers, in exponent form from 10^7 up (unless the digits reach within three places
/// of the point) and below 10^-3.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "+nan.0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+inf.0" } else { "-inf.0" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    let exponent_form = exp <= -4 || (exp >= 7 && exp >= digits.len() as i32 + 3);
    if exponent_form {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        return format!("{sign}{first}.{rest}e{exp}");
    }
    if exp < 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize));
    }
    let point = exp as usize + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn floats_print_as_guile_prints_them() {
        let cases = [
            (1e9, "1.0e9"),
            (1.2e10, "1.2e10"),
            (12345678901.0, "12345678901.0"),
            (1234567e10, "1.234567e16"),
            (123456789e3, "123456789000.0"),
            (1.5e-3, "0.0015"),
            (1.5e-4, "1.5e-4"),
            (2.5, "2.5"),
            (1e21, "1.0e21"),
            (123456789012345678.0, "123456789012345680.0"),
            (1e6, "1000000.0"),
            (1e7, "1.0e7"),
            (1.5e6, "1500000.0"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "+inf.0"),
            (1.0 / 7.0, "0.14285714285714285"),
            (std::f64::consts::SQRT_2, "1.4142135623730951"),
            (-3.5, "-3.5"),
            (100.0, "100.0"),
        ];
        for (x, want) in cases {
            assert_eq!(format_float(x), want, "{x:e}");
        }
    }
}
