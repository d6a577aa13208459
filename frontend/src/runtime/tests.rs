//! Unit tests of the runtime library: runtime functions and natives called directly,
//! and a few whole programs. Every expected output and message is what `lua5.4`
//! (5.4.4) gives.

use lazyjit::runtime::{access, VmError, Vm, VARINFO};
use lazyjit::runtime::{Tag, Val};
use lazyjit::mir::Type;

use super::state::Out;
use super::*;

/// A VM with the library installed and program output captured.
fn new_vm() -> Vm {
    let mut vm = Vm::new(None);
    install(&mut vm, "test.lua", &["a1".to_string(), "a2".to_string()]);
    st(&mut vm).out = Out::Capture(Vec::new());
    vm
}

/// What the program wrote so far (and clears it).
fn output(vm: &mut Vm) -> String {
    match &mut st(vm).out {
        Out::Capture(v) => String::from_utf8_lossy(&std::mem::take(v)).into_owned(),
        Out::Stdout(_) => String::new(),
    }
}

fn s(vm: &mut Vm, text: &str) -> Val {
    vm.new_str(text.as_bytes())
}

fn text(v: Val) -> String {
    assert_eq!(v.tag(), Tag::Str, "not a string: {v:?}");
    String::from_utf8_lossy(access::bytes_of(v)).into_owned()
}

/// Global `name`, or `lib.name` for `"lib.name"`.
fn func(vm: &mut Vm, path: &str) -> Val {
    let g = Val::from_raw(Tag::Table, vm.globals as u64);
    let mut v = g;
    for part in path.split('.') {
        let k = s(vm, part);
        v = access::table_of(v).get(k);
    }
    assert!(!v.is_nil(), "{path} is not defined");
    v
}

/// Calls a library function; results or the error message.
fn call(vm: &mut Vm, path: &str, args: &[Val]) -> Result<Vec<Val>, String> {
    let f = func(vm, path);
    vm.call(f, args).map_err(|e| message(vm, e))
}

fn message(vm: &mut Vm, e: VmError) -> String {
    match e {
        VmError::Value(v) => error_to_string(vm, v),
        VmError::Runtime { msg, .. } => msg.replace(VARINFO, ""),
        VmError::Exit(c) => format!("exit {c}"),
    }
}

/// Calls a runtime function by name.
fn rt(vm: &mut Vm, name: &str, args: &[Val]) -> Result<Val, VmError> {
    let r = registry();
    let e = r.get(name).unwrap_or_else(|| panic!("{name} not registered"));
    (e.f)(vm, args)
}

fn rt_msg(vm: &mut Vm, name: &str, args: &[Val]) -> (String, Option<u8>) {
    match rt(vm, name, args) {
        Err(VmError::Runtime { msg, operand }) => (msg, operand),
        Err(VmError::Value(v)) => (text(v), None),
        other => panic!("{name}: expected a runtime error, got {:?}", other.map(|v| v.tag())),
    }
}

/// `tostring` of every result, tab-separated (as `print` shows them).
fn shown(vm: &mut Vm, vals: &[Val]) -> String {
    let mut parts = Vec::new();
    for &v in vals {
        let t = convert::tostring(vm, v).unwrap_or(Val::NIL);
        parts.push(text(t));
    }
    parts.join("\t")
}

fn show_call(vm: &mut Vm, path: &str, args: &[Val]) -> String {
    match call(vm, path, args) {
        Ok(r) => shown(vm, &r),
        Err(m) => format!("error: {m}"),
    }
}

#[test]
fn registry_has_every_rtcall_with_its_type() {
    let r = registry();
    for &(name, _, ty) in ops::RTCALLS {
        let e = r.get(name).unwrap_or_else(|| panic!("{name} missing"));
        let want = match ty {
            "i1" => Type::I1,
            "i64" => Type::I64,
            "f64" => Type::F64,
            _ => Type::Val,
        };
        assert_eq!(e.ret, want, "{name}");
    }
    assert_eq!(r.get("lua.add").map(|e| e.fast_paths.len()), Some(2));
}

#[test]
fn arithmetic_follows_int_float_rules() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let cases: &[(&str, Val, Val, &str)] = &[
        ("lua.add", Val::int(1), Val::int(2), "3"),
        ("lua.add", Val::int(i64::MAX), Val::int(1), "-9223372036854775808"),
        ("lua.add", Val::int(1), Val::float(0.5), "1.5"),
        ("lua.div", Val::int(10), Val::int(2), "5.0"),
        ("lua.pow", Val::int(2), Val::int(10), "1024.0"),
        ("lua.idiv", Val::int(-7), Val::int(2), "-4"),
        ("lua.idiv", Val::int(i64::MIN), Val::int(-1), "-9223372036854775808"),
        ("lua.idiv", Val::float(7.5), Val::int(2), "3.0"),
        ("lua.idiv", Val::int(1), Val::float(0.0), "inf"),
        ("lua.mod", Val::int(-7), Val::int(3), "2"),
        ("lua.mod", Val::float(-7.5), Val::int(-2), "-1.5"),
        ("lua.mod", Val::int(-5), Val::float(f64::INFINITY), "inf"),
        ("lua.mod", Val::int(5), Val::float(f64::NEG_INFINITY), "-inf"),
        ("lua.band", Val::float(3.0), Val::int(1), "1"),
        ("lua.shl", Val::int(1), Val::int(64), "0"),
        ("lua.shr", Val::int(-1), Val::int(63), "1"),
        ("lua.shl", Val::int(2), Val::int(-1), "1"),
        ("lua.shr", Val::int(3), Val::int(i64::MIN), "0"),
    ];
    for &(f, a, b, want) in cases {
        let r = rt(vm, f, &[a, b]).unwrap_or_else(|e| panic!("{f}: {}", message(vm, e)));
        assert_eq!(shown(vm, &[r]), want, "{f}({a:?}, {b:?})");
    }
    let x = s(vm, "10");
    let r = rt(vm, "lua.add", &[x, Val::int(1)]).ok();
    assert_eq!(r.and_then(|v| v.as_int()), Some(11));
    let x = s(vm, " 0x10 ");
    let r = rt(vm, "lua.mul", &[x, Val::int(2)]).ok();
    assert_eq!(r.and_then(|v| v.as_int()), Some(32));
    let x = s(vm, "3.0");
    let r = rt(vm, "lua.add", &[x, Val::int(1)]).ok();
    assert_eq!(r.and_then(|v| v.as_float()), Some(4.0));
    let x = s(vm, "2");
    let r = rt(vm, "lua.unm", &[x]).ok();
    assert_eq!(r.and_then(|v| v.as_int()), Some(-2));
    assert_eq!(rt(vm, "lua.bnot", &[Val::int(0)]).ok().and_then(|v| v.as_int()), Some(-1));
}

#[test]
fn arithmetic_errors_name_the_operand_at_fault() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let t = vm.new_table(0, 0);
    let abc = s(vm, "abc");
    let arith = "attempt to perform arithmetic on a nil value".to_string();
    assert_eq!(rt_msg(vm, "lua.add", &[Val::NIL, Val::int(1)]), (arith.clone(), Some(0)));
    assert_eq!(rt_msg(vm, "lua.sub", &[Val::int(1), Val::NIL]), (arith, Some(1)));
    assert_eq!(rt_msg(vm, "lua.unm", &[t]), ("attempt to perform arithmetic on a table value".into(), Some(0)));
    assert_eq!(rt_msg(vm, "lua.add", &[abc, Val::int(1)]), ("attempt to add a 'string' with a 'number'".into(), None));
    assert_eq!(rt_msg(vm, "lua.idiv", &[t, abc]), ("attempt to idiv a 'table' with a 'string'".into(), None));
    assert_eq!(rt_msg(vm, "lua.unm", &[abc]), ("attempt to unm a 'string' with a 'string'".into(), None));
    assert_eq!(rt_msg(vm, "lua.idiv", &[Val::int(7), Val::int(0)]), ("attempt to divide by zero".into(), None));
    assert_eq!(rt_msg(vm, "lua.mod", &[Val::int(7), Val::int(0)]), ("attempt to perform 'n%0'".into(), None));
    let noint = format!("number{VARINFO} has no integer representation");
    assert_eq!(rt_msg(vm, "lua.bor", &[Val::float(1.5), Val::int(0)]), (noint.clone(), Some(0)));
    assert_eq!(rt_msg(vm, "lua.shl", &[Val::int(1), Val::float(0.5)]), (noint, Some(1)));
    let three = s(vm, "3");
    assert_eq!(
        rt_msg(vm, "lua.band", &[three, Val::int(1)]),
        ("attempt to perform bitwise operation on a string value".into(), Some(0))
    );
    assert_eq!(
        rt_msg(vm, "lua.bxor", &[Val::int(1), Val::TRUE]),
        ("attempt to perform bitwise operation on a boolean value".into(), Some(1))
    );
    // Errors on coerced strings come from Lua's string metamethods: no position.
    let ten = s(vm, "10");
    assert!(matches!(rt(vm, "lua.idiv", &[ten, Val::int(0)]), Err(VmError::Value(_))));
}

#[test]
fn concat_len_and_compare() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let a = s(vm, "a");
    let r = rt(vm, "lua.concat", &[a, Val::float(1.0)]).ok().map(text);
    assert_eq!(r.as_deref(), Some("a1.0"));
    let r = rt(vm, "lua.concat", &[Val::int(-3), Val::float(1e100)]).ok().map(text);
    assert_eq!(r.as_deref(), Some("-31e+100"));
    let t = vm.new_table(0, 0);
    assert_eq!(rt_msg(vm, "lua.concat", &[a, t]), ("attempt to concatenate a table value".into(), Some(1)));
    assert_eq!(rt_msg(vm, "lua.concat", &[Val::NIL, a]), ("attempt to concatenate a nil value".into(), Some(0)));
    let abc = s(vm, "abc");
    assert_eq!(rt(vm, "lua.len", &[abc]).ok().and_then(|v| v.as_int()), Some(3));
    assert_eq!(rt_msg(vm, "lua.len", &[Val::int(1)]), ("attempt to get length of a number value".into(), Some(0)));

    let yes = |r: Result<Val, VmError>| r.ok().and_then(|v| v.as_bool());
    assert_eq!(yes(rt(vm, "lua.eq", &[Val::int(1), Val::float(1.0)])), Some(true));
    assert_eq!(yes(rt(vm, "lua.eq", &[Val::float(f64::NAN), Val::float(f64::NAN)])), Some(false));
    let a2 = s(vm, "a");
    assert_eq!(yes(rt(vm, "lua.eq", &[a, a2])), Some(true));
    assert_eq!(yes(rt(vm, "lua.lt", &[Val::int(i64::MAX), Val::float(9.223_372_036_854_776e18)])), Some(true));
    assert_eq!(
        yes(rt(vm, "lua.le", &[Val::float(9.007_199_254_740_992e15), Val::int(9_007_199_254_740_993)])),
        Some(true)
    );
    assert_eq!(
        yes(rt(vm, "lua.lt", &[Val::int(9_007_199_254_740_993), Val::float(9.007_199_254_740_992e15)])),
        Some(false)
    );
    assert_eq!(yes(rt(vm, "lua.lt", &[Val::int(1), Val::float(f64::NAN)])), Some(false));
    let b = s(vm, "b");
    assert_eq!(yes(rt(vm, "lua.lt", &[a, b])), Some(true));
    let t2 = vm.new_table(0, 0);
    assert_eq!(rt_msg(vm, "lua.lt", &[t, t2]), ("attempt to compare two table values".into(), None));
    assert_eq!(rt_msg(vm, "lua.le", &[Val::int(1), Val::NIL]), ("attempt to compare number with nil".into(), None));
}

#[test]
fn index_and_setindex_with_metatables() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let base = vm.new_table(0, 0);
    let k = s(vm, "greet");
    let hello = s(vm, "hello");
    raw_set(vm, base, k, hello);
    let mt = vm.new_table(0, 0);
    let ik = key(vm, Key::Index);
    raw_set(vm, mt, ik, base);
    let t = vm.new_table(0, 0);
    access::table_of(t).meta = mt.payload() as *mut _;
    assert_eq!(rt(vm, "lua.index", &[t, k]).ok().map(text).as_deref(), Some("hello"));
    let missing = s(vm, "missing");
    assert!(rt(vm, "lua.index", &[t, missing]).is_ok_and(|v| v.is_nil()));
    // Strings index the string library.
    let x = s(vm, "x");
    let rep = s(vm, "rep");
    let f = rt(vm, "lua.index", &[x, rep]).ok();
    assert_eq!(f.map(|v| v.tag()), Some(Tag::Native));
    assert_eq!(rt_msg(vm, "lua.index", &[Val::NIL, x]), ("attempt to index a nil value".into(), Some(0)));
    assert_eq!(rt_msg(vm, "lua.setindex", &[Val::int(5), x, x]), ("attempt to index a number value".into(), Some(0)));
    let plain = vm.new_table(0, 0);
    assert_eq!(rt_msg(vm, "lua.setindex", &[plain, Val::NIL, x]), ("table index is nil".into(), None));
    assert_eq!(rt_msg(vm, "lua.rawset", &[plain, Val::float(f64::NAN), x]), ("table index is NaN".into(), None));
    // __newindex table: the write goes to the other table.
    let store = vm.new_table(0, 0);
    let nk = key(vm, Key::NewIndex);
    raw_set(vm, mt, nk, store);
    assert!(rt(vm, "lua.setindex", &[t, x, hello]).is_ok());
    assert!(access::table_of(t).get(x).is_nil());
    assert_eq!(text(access::table_of(store).get(x)), "hello");
}

/// Calls the leaf of runtime function `name` on up to three operands.
fn leaf(vm: &mut Vm, name: &str, args: &[Val]) -> lazyjit::runtime::RegVal {
    let r = registry();
    let l = r.get(name).and_then(|e| e.leaf).unwrap_or_else(|| panic!("{name} has no leaf"));
    let a = |i: usize| args.get(i).map_or((0, 0), |v| (v.tag() as u64, v.payload()));
    let ((t0, p0), (t1, p1), (t2, p2)) = (a(0), a(1), a(2));
    // SAFETY: a live VM and live operands, as compiled code passes them.
    unsafe { (l.f)(vm, t0, p0, t1, p1, t2, p2) }
}

#[test]
fn leaves_answer_as_their_functions_or_miss() {
    use lazyjit::runtime::RegVal;
    let mut vm = new_vm();
    let vm = &mut vm;
    let same = |vm: &mut Vm, args: &[Val]| {
        let want = rt(vm, "lua.index", args).ok().expect("index works");
        assert_eq!(leaf(vm, "lua.index", args), RegVal::of(want), "index {args:?}");
    };
    // Array part, hash part, absent keys, float keys that are integers.
    let t = vm.new_table(0, 0);
    let (k, hello) = (s(vm, "greet"), s(vm, "hello"));
    raw_set(vm, t, Val::int(1), Val::int(10));
    raw_set(vm, t, k, hello);
    for key in [Val::int(1), Val::float(1.0), Val::int(2), Val::int(0), k, Val::float(f64::NAN), Val::TRUE] {
        same(vm, &[t, key]);
    }
    // A chain of `__index` tables is followed; a missing key at its end is nil.
    let mt = vm.new_table(0, 0);
    let ik = key(vm, Key::Index);
    raw_set(vm, mt, ik, t);
    let child = vm.new_table(0, 0);
    access::table_of(child).meta = mt.payload() as *mut _;
    let missing = s(vm, "missing");
    same(vm, &[child, k]);
    same(vm, &[child, missing]);
    // A function handler, or a non-table, is left to the function.
    let f = func(vm, "print");
    let fmt = vm.new_table(0, 0);
    raw_set(vm, fmt, ik, f);
    access::table_of(child).meta = fmt.payload() as *mut _;
    assert_eq!(leaf(vm, "lua.index", &[child, k]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.index", &[hello, k]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.index", &[Val::NIL, k]), RegVal::MISS);

    // setindex: existing slots are written, and appends to the array part of a table
    // without a metatable; other insertions and `__newindex` are missed.
    let nil = RegVal::of(Val::NIL);
    assert_eq!(leaf(vm, "lua.setindex", &[t, Val::int(1), Val::int(11)]), nil);
    assert_eq!(access::table_of(t).get(Val::int(1)).as_int(), Some(11));
    assert_eq!(leaf(vm, "lua.setindex", &[t, k, Val::int(3)]), nil);
    assert_eq!(access::table_of(t).get(k).as_int(), Some(3));
    let bytes = vm.heap.bytes;
    for i in 2..=9 {
        assert_eq!(leaf(vm, "lua.setindex", &[t, Val::int(i), Val::int(i * 10)]), nil);
    }
    assert_eq!(access::table_of(t).array_len(), 9);
    assert_eq!(access::table_of(t).get(Val::int(9)).as_int(), Some(90));
    assert!(vm.heap.bytes > bytes, "the growth is accounted");
    assert_eq!(leaf(vm, "lua.setindex", &[t, Val::int(11), Val::int(1)]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.setindex", &[t, Val::int(10), Val::NIL]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.setindex", &[child, Val::int(1), Val::int(1)]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.setindex", &[t, missing, Val::int(1)]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.setindex", &[child, k, Val::int(1)]), RegVal::MISS);
    assert_eq!(leaf(vm, "lua.setindex", &[Val::int(1), k, Val::int(1)]), RegVal::MISS);
    assert!(access::table_of(child).get(k).is_nil());
}

#[test]
fn constructors_presize_the_array_part() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let t = rt(vm, "lua.newtable", &[Val::int(3), Val::int(0)]).unwrap_or(Val::NIL);
    assert!(rt(vm, "lua.setlist", &[t, Val::int(1), Val::int(1), Val::NIL, Val::int(3)]).is_ok());
    assert_eq!(rt(vm, "lua.len", &[t]).ok().and_then(|v| v.as_int()), Some(3));
    // The leaf makes what the function makes, accounted alike; items that fit the
    // presized array part add nothing to the account, more do.
    let before = vm.heap.bytes;
    let made = leaf(vm, "lua.newtable", &[Val::int(3), Val::int(0)]);
    assert_eq!(made.tag, Tag::Table as u64);
    let size = vm.heap.bytes - before;
    let u = Val::from_raw(Tag::Table, made.payload);
    assert!(rt(vm, "lua.setlist", &[u, Val::int(1), Val::int(1), Val::int(2), Val::int(3)]).is_ok());
    assert_eq!(vm.heap.bytes - before, size, "items within the presized array part");
    assert!(rt(vm, "lua.newtable", &[Val::int(3), Val::int(0)]).is_ok());
    assert_eq!(vm.heap.bytes - before, 2 * size, "the function's table is accounted as the leaf's");
    assert!(rt(vm, "lua.setlist", &[u, Val::int(4), Val::int(4)]).is_ok());
    assert!(vm.heap.bytes - before > 2 * size, "growth is accounted");
    assert_eq!(access::table_of(u).array_len(), 4);
}

#[test]
fn numeric_for_preparation() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let kind = |vm: &mut Vm, a: &[Val]| rt(vm, "lua.forprep", a).ok().and_then(|v| v.as_int());
    let count = |vm: &mut Vm, a: &[Val]| rt(vm, "lua.for_icount", a).ok().and_then(|v| v.as_int());
    assert_eq!(kind(vm, &[Val::int(1), Val::int(3), Val::int(1)]), Some(1));
    assert_eq!(count(vm, &[Val::int(1), Val::int(3), Val::int(1)]), Some(2));
    assert_eq!(kind(vm, &[Val::int(1), Val::int(0), Val::int(1)]), Some(0));
    assert_eq!(kind(vm, &[Val::float(1.0), Val::int(3), Val::int(1)]), Some(2));
    let three = s(vm, "3");
    assert_eq!(kind(vm, &[Val::int(1), three, Val::int(1)]), Some(1), "string limit, integer loop");
    assert_eq!(kind(vm, &[three, Val::int(5), Val::int(1)]), Some(2), "string start, float loop");
    assert_eq!(count(vm, &[Val::int(i64::MIN), Val::int(i64::MAX), Val::int(1)]), Some(-1), "2^64 - 1 iterations");
    assert_eq!(count(vm, &[Val::int(1), Val::float(2f64.powi(70)), Val::int(i64::MAX)]), Some(0), "clipped limit");
    assert_eq!(count(vm, &[Val::int(10), Val::float(1.5), Val::int(-3)]), Some(2), "ceiled limit 2: 10, 7, 4");
    assert_eq!(kind(vm, &[Val::int(1), Val::float(-1e300), Val::int(1)]), Some(0));
    assert_eq!(rt_msg(vm, "lua.forprep", &[Val::int(1), Val::int(2), Val::int(0)]).0, "'for' step is zero");
    assert_eq!(
        rt_msg(vm, "lua.forprep", &[Val::int(1), Val::NIL, Val::int(1)]).0,
        "bad 'for' limit (number expected, got nil)"
    );
    let x = s(vm, "x");
    assert_eq!(
        rt_msg(vm, "lua.forprep", &[x, Val::int(1), Val::int(1)]).0,
        "bad 'for' initial value (number expected, got string)"
    );
    let half = s(vm, "0.5");
    assert_eq!(rt(vm, "lua.tofloat", &[half]).ok().and_then(|v| v.as_float()), Some(0.5));
}

#[test]
fn print_tostring_and_type() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let x = s(vm, "x");
    let t = vm.new_table(0, 0);
    call(vm, "print", &[Val::int(1), Val::float(2.0), Val::NIL, Val::TRUE, x, Val::float(-0.0)]).ok();
    assert_eq!(output(vm), "1\t2.0\tnil\ttrue\tx\t-0.0\n");
    let shown_t = show_call(vm, "tostring", &[t]);
    assert!(shown_t.starts_with("table: 0x"), "{shown_t}");
    let p = func(vm, "print");
    let shown_p = show_call(vm, "tostring", &[p]);
    assert!(shown_p.starts_with("function: 0x"), "{shown_p}");
    assert_eq!(show_call(vm, "tostring", &[Val::float(1e15)]), "1e+15");
    assert_eq!(show_call(vm, "tostring", &[Val::float(f64::INFINITY)]), "inf");
    assert_eq!(show_call(vm, "tostring", &[Val::float(2f64.powi(63))]), "9.2233720368548e+18");
    assert_eq!(show_call(vm, "tostring", &[]), "error: bad argument #1 to 'tostring' (value expected)");
    assert_eq!(show_call(vm, "type", &[Val::float(1.0)]), "number");
    assert_eq!(show_call(vm, "type", &[p]), "function");
    assert_eq!(show_call(vm, "math.type", &[Val::float(1.0)]), "float");
    // __name and __tostring
    let mt = vm.new_table(0, 0);
    let nk = key(vm, Key::Name);
    let my = s(vm, "MyType");
    raw_set(vm, mt, nk, my);
    access::table_of(t).meta = mt.payload() as *mut _;
    assert!(show_call(vm, "tostring", &[t]).starts_with("MyType: 0x"));
    assert_eq!(show_call(vm, "math.floor", &[t]), "error: bad argument #1 to 'floor' (number expected, got MyType)");
    let tk = key(vm, Key::ToString);
    let ts = func(vm, "type");
    raw_set(vm, mt, tk, ts);
    assert_eq!(show_call(vm, "tostring", &[t]), "table");
}

#[test]
fn tonumber_with_and_without_base() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let cases: &[(&str, Option<i64>, &str)] = &[
        ("  10  ", None, "10"),
        ("0x1A", None, "26"),
        ("1e3", None, "1000.0"),
        ("9223372036854775808", None, "9.2233720368548e+18"),
        ("-9223372036854775808", None, "-9223372036854775808"),
        ("0xffffffffffffffff", None, "-1"),
        ("inf", None, "nil"),
        ("1 2", None, "nil"),
        ("ff", Some(16), "255"),
        ("-ff", Some(16), "-255"),
        ("zz", Some(36), "1295"),
        ("8", Some(8), "nil"),
        ("1.5", Some(10), "nil"),
    ];
    for &(input, base, want) in cases {
        let v = s(vm, input);
        let mut args = vec![v];
        if let Some(b) = base {
            args.push(Val::int(b));
        }
        assert_eq!(show_call(vm, "tonumber", &args), want, "tonumber({input:?}, {base:?})");
    }
    assert_eq!(show_call(vm, "tonumber", &[Val::TRUE]), "nil");
    let ten = s(vm, "10");
    assert_eq!(
        show_call(vm, "tonumber", &[ten, Val::int(99)]),
        "error: bad argument #2 to 'tonumber' (base out of range)"
    );
    assert_eq!(
        show_call(vm, "tonumber", &[Val::int(10), Val::int(16)]),
        "error: bad argument #1 to 'tonumber' (string expected, got number)"
    );
}

#[test]
fn pcall_error_and_select() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let err = func(vm, "error");
    let msg = s(vm, "boom");
    assert_eq!(show_call(vm, "pcall", &[err, msg]), "false\tboom");
    let t = vm.new_table(0, 0);
    let r = call(vm, "pcall", &[err, t]).unwrap_or_default();
    assert!(r.len() == 2 && r[1].raw_identical(t));
    // A native's runtime error becomes a plain message, named as pcall sees it.
    let rep = func(vm, "string.rep");
    assert_eq!(
        show_call(vm, "pcall", &[rep]),
        "false\tbad argument #1 to 'string.rep' (string expected, got no value)"
    );
    let ok = func(vm, "select");
    let a = s(vm, "a");
    let b = s(vm, "b");
    assert_eq!(show_call(vm, "pcall", &[ok, Val::int(2), a, b]), "true\tb");
    assert_eq!(show_call(vm, "pcall", &[]), "error: bad argument #1 to 'pcall' (value expected)");
    let hash = s(vm, "#");
    assert_eq!(show_call(vm, "select", &[hash, Val::NIL, Val::NIL]), "2");
    assert_eq!(show_call(vm, "select", &[Val::int(-1), a, b]), "b");
    assert_eq!(show_call(vm, "select", &[Val::int(0), a]), "error: bad argument #1 to 'select' (index out of range)");
    // os.exit passes through pcall.
    let exit = func(vm, "os.exit");
    let pcall = func(vm, "pcall");
    assert!(matches!(vm.call(pcall, &[exit, Val::int(3)]), Err(VmError::Exit(3))));
    let assert_f = func(vm, "assert");
    assert_eq!(show_call(vm, "pcall", &[assert_f, Val::FALSE]), "false\tassertion failed!");
    assert_eq!(show_call(vm, "assert", &[Val::int(1), a]), "1\ta");
}

#[test]
fn string_library() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let hello = s(vm, "hello");
    assert_eq!(show_call(vm, "string.sub", &[hello, Val::int(2), Val::int(-2)]), "ell");
    assert_eq!(show_call(vm, "string.sub", &[hello, Val::int(-100), Val::int(2)]), "he");
    let ab = s(vm, "ab");
    let comma = s(vm, ",");
    assert_eq!(show_call(vm, "string.rep", &[ab, Val::int(3), comma]), "ab,ab,ab");
    assert_eq!(
        show_call(vm, "string.rep", &[ab, Val::float(2.5)]),
        "error: bad argument #2 to 'rep' (number has no integer representation)"
    );
    assert_eq!(show_call(vm, "string.byte", &[hello, Val::int(-3), Val::int(-1)]), "108\t108\t111");
    assert_eq!(show_call(vm, "string.byte", &[hello, Val::int(0)]), "");
    assert_eq!(show_call(vm, "string.char", &[Val::int(72), Val::int(105)]), "Hi");
    assert_eq!(show_call(vm, "string.char", &[Val::int(256)]), "error: bad argument #1 to 'char' (value out of range)");
    assert_eq!(show_call(vm, "string.upper", &[hello]), "HELLO");
    assert_eq!(show_call(vm, "string.reverse", &[hello]), "olleh");
    assert_eq!(show_call(vm, "string.len", &[Val::int(123)]), "3");
    let l = s(vm, "l");
    assert_eq!(show_call(vm, "string.find", &[hello, l]), "3\t3");
    assert_eq!(show_call(vm, "string.find", &[hello, l, Val::int(-1)]), "nil");
    let dot = s(vm, ".");
    let adotb = s(vm, "a.b");
    assert_eq!(show_call(vm, "string.find", &[adotb, dot, Val::int(1), Val::TRUE]), "2\t2");
    assert!(show_call(vm, "string.find", &[adotb, dot]).contains("not supported"));
    assert!(show_call(vm, "string.gsub", &[adotb, dot, dot]).contains("not supported"));
    let fmt = s(vm, "%5.2f|%-4d|%x|%q|%s");
    let q = s(vm, "a\"b\n");
    assert_eq!(
        show_call(vm, "string.format", &[fmt, Val::float(1.23456), Val::int(7), Val::int(255), q, Val::TRUE]),
        " 1.23|7   |ff|\"a\\\"b\\\n\"|true"
    );
    let d = s(vm, "%d");
    assert_eq!(
        show_call(vm, "string.format", &[d, Val::float(1.5)]),
        "error: bad argument #2 to 'format' (number has no integer representation)"
    );
    assert_eq!(show_call(vm, "string.format", &[d]), "error: bad argument #2 to 'format' (no value)");
    let y = s(vm, "%y");
    assert_eq!(show_call(vm, "string.format", &[y, Val::int(1)]), "error: invalid conversion '%y' to 'format'");
}

#[test]
fn math_library() {
    let mut vm = new_vm();
    let vm = &mut vm;
    assert_eq!(show_call(vm, "math.floor", &[Val::float(-3.5)]), "-4");
    assert_eq!(show_call(vm, "math.ceil", &[Val::float(1e300)]), "1e+300");
    assert_eq!(show_call(vm, "math.abs", &[Val::int(i64::MIN)]), "-9223372036854775808");
    assert_eq!(show_call(vm, "math.max", &[Val::int(2), Val::float(2.0)]), "2");
    assert_eq!(show_call(vm, "math.min", &[Val::float(1.0), Val::int(1)]), "1.0");
    assert_eq!(show_call(vm, "math.max", &[]), "error: bad argument #1 to 'max' (value expected)");
    assert_eq!(show_call(vm, "math.fmod", &[Val::int(-7), Val::int(3)]), "-1");
    assert_eq!(show_call(vm, "math.fmod", &[Val::int(1), Val::int(0)]), "error: bad argument #2 to 'fmod' (zero)");
    assert_eq!(show_call(vm, "math.fmod", &[Val::float(7.5), Val::int(2)]), "1.5");
    assert_eq!(show_call(vm, "math.modf", &[Val::float(-3.7)]), "-3\t-0.7");
    assert_eq!(show_call(vm, "math.tointeger", &[Val::float(3.0)]), "3");
    assert_eq!(show_call(vm, "math.tointeger", &[Val::float(3.5)]), "nil");
    assert_eq!(show_call(vm, "math.ult", &[Val::int(1), Val::int(-1)]), "true");
    assert_eq!(show_call(vm, "math.log", &[Val::int(8), Val::int(2)]), "3.0");
    call(vm, "math.randomseed", &[Val::int(42)]).ok();
    let mut draws = Vec::new();
    for _ in 0..5 {
        draws.push(show_call(vm, "math.random", &[Val::int(1), Val::int(100)]));
    }
    assert_eq!(draws.join(" "), "50 76 86 54 64");
    assert_eq!(
        show_call(vm, "math.random", &[Val::int(3), Val::int(1)]),
        "error: bad argument #1 to 'random' (interval is empty)"
    );
}

#[test]
fn table_library() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let t = vm.new_table(0, 0);
    for v in [5, 3, 8, 1] {
        call(vm, "table.insert", &[t, Val::int(v)]).ok();
    }
    call(vm, "table.insert", &[t, Val::int(1), Val::int(9)]).ok();
    let sep = s(vm, ",");
    assert_eq!(show_call(vm, "table.concat", &[t, sep]), "9,5,3,8,1");
    call(vm, "table.sort", &[t]).ok();
    assert_eq!(show_call(vm, "table.concat", &[t, sep]), "1,3,5,8,9");
    let gt = s(vm, "x");
    assert_eq!(
        show_call(vm, "table.sort", &[t, gt]),
        "error: bad argument #2 to 'sort' (function expected, got string)"
    );
    assert_eq!(show_call(vm, "table.remove", &[t, Val::int(1)]), "1");
    assert_eq!(show_call(vm, "table.remove", &[t]), "9");
    assert_eq!(show_call(vm, "table.unpack", &[t]), "3\t5\t8");
    assert_eq!(
        show_call(vm, "table.insert", &[t, Val::int(9), Val::int(1)]),
        "error: bad argument #2 to 'insert' (position out of bounds)"
    );
    assert_eq!(
        show_call(vm, "table.insert", &[t, Val::int(1), Val::int(2), Val::int(3)]),
        "error: wrong number of arguments to 'insert'"
    );
    assert_eq!(
        show_call(vm, "table.remove", &[t, Val::int(7)]),
        "error: bad argument #1 to 'remove' (position out of bounds)"
    );
    let inner = vm.new_table(0, 0);
    let bad = vm.new_table(0, 0);
    call(vm, "table.insert", &[bad, inner]).ok();
    assert_eq!(show_call(vm, "table.concat", &[bad]), "error: invalid value (table) at index 1 in table for 'concat'");
    let p = call(vm, "table.pack", &[Val::int(1), Val::NIL, Val::int(3)]).unwrap_or_default();
    let n = key(vm, Key::N);
    assert_eq!(access::table_of(p[0]).get(n).as_int(), Some(3));
    // An inconsistent comparator (always true: `type` returns a string) is detected.
    let big = vm.new_table(0, 0);
    for i in 0..100 {
        call(vm, "table.insert", &[big, Val::int((i * 37) % 101)]).ok();
    }
    let always = func(vm, "type");
    let r = show_call(vm, "table.sort", &[big, always]);
    assert_eq!(r, "error: invalid order function for sorting");
}

#[test]
fn io_write_formats_numbers_like_lua() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let nl = s(vm, "\n");
    let r = call(vm, "io.write", &[Val::float(1.0), Val::int(2), Val::float(-0.0), Val::float(0.1), nl])
        .unwrap_or_default();
    assert_eq!(output(vm), "12-00.1\n");
    let stdout = st(vm).stdout_obj;
    assert!(r[0].raw_identical(stdout));
    let t = vm.new_table(0, 0);
    let x = s(vm, "x");
    assert_eq!(show_call(vm, "io.write", &[x, t]), "error: bad argument #2 to 'write' (string expected, got table)");
    assert_eq!(output(vm), "x");
}

#[test]
fn io_read_formats() {
    let mut vm = new_vm();
    let vm = &mut vm;
    st(vm).input = In::Bytes(std::io::Cursor::new(b"12 0x1F rest\n3.5e2\nabc\nlast".to_vec()));
    let (n, l, a) = (s(vm, "n"), s(vm, "l"), s(vm, "a"));
    assert_eq!(show_call(vm, "io.read", &[n, n, l]), "12\t31\t rest");
    assert_eq!(show_call(vm, "io.read", &[n]), "350.0");
    assert_eq!(show_call(vm, "io.read", &[l]), "");
    assert_eq!(show_call(vm, "io.read", &[n]), "nil");
    assert_eq!(show_call(vm, "io.read", &[l]), "abc");
    assert_eq!(show_call(vm, "io.read", &[a]), "last");
    assert_eq!(show_call(vm, "io.read", &[l]), "nil");
    let bad = s(vm, "x");
    assert_eq!(show_call(vm, "io.read", &[bad]), "error: bad argument #1 to 'read' (invalid format)");
}

#[test]
fn metatables_and_raw_access() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let t = vm.new_table(0, 0);
    let mt = vm.new_table(0, 0);
    let mk = key(vm, Key::Metatable);
    let locked = s(vm, "locked");
    raw_set(vm, mt, mk, locked);
    assert!(call(vm, "setmetatable", &[t, mt]).is_ok());
    assert_eq!(show_call(vm, "getmetatable", &[t]), "locked");
    assert_eq!(show_call(vm, "setmetatable", &[t, mt]), "error: cannot change a protected metatable");
    let x = s(vm, "x");
    assert!(show_call(vm, "getmetatable", &[x]).starts_with("table: "));
    assert_eq!(
        show_call(vm, "setmetatable", &[t]),
        "error: bad argument #2 to 'setmetatable' (nil or table expected, got no value)"
    );
    let gc = s(vm, "__gc");
    let weak = vm.new_table(0, 0);
    raw_set(vm, weak, gc, Val::TRUE);
    let plain = vm.new_table(0, 0);
    assert!(show_call(vm, "setmetatable", &[plain, weak]).contains("not supported"));
    assert_eq!(show_call(vm, "rawset", &[plain, Val::NIL, x]), "error: table index is nil");
    assert_eq!(
        show_call(vm, "rawlen", &[Val::int(1)]),
        "error: bad argument #1 to 'rawlen' (table or string expected, got number)"
    );
    assert_eq!(show_call(vm, "rawequal", &[Val::int(1), Val::float(1.0)]), "true");
    assert_eq!(show_call(vm, "next", &[plain, x]), "error: invalid key to 'next'");
    assert_eq!(show_call(vm, "next", &[plain]), "nil");
}

#[test]
fn uncaught_error_values_as_lua_c_shows_them() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let m = s(vm, "msg");
    assert_eq!(error_to_string(vm, m), "msg");
    assert_eq!(error_to_string(vm, Val::float(42.0)), "42.0");
    assert_eq!(error_to_string(vm, Val::NIL), "(error object is a nil value)");
    let t = vm.new_table(0, 0);
    assert_eq!(error_to_string(vm, t), "(error object is a table value)");
}

#[test]
fn globals_arg_and_unsupported_features() {
    let mut vm = new_vm();
    let vm = &mut vm;
    let argt = func(vm, "arg");
    assert_eq!(text(access::table_of(argt).get_int(0)), "test.lua");
    assert_eq!(text(access::table_of(argt).get_int(2)), "a2");
    assert_eq!(
        show_call(vm, "require", &[]),
        "error: 'require' is not supported (loading code at run time is out of scope)"
    );
    assert!(show_call(vm, "coroutine.wrap", &[]).contains("'coroutine.wrap' is not supported"));
    let collect = s(vm, "collect");
    assert_eq!(show_call(vm, "collectgarbage", &[collect]), "0");
    let count = s(vm, "count");
    let kb = call(vm, "collectgarbage", &[count]).unwrap_or_default();
    assert!(kb[0].as_float().is_some_and(|k| k > 0.0));
    let stop = s(vm, "stop");
    assert!(show_call(vm, "collectgarbage", &[stop]).contains("not supported"));
    let bogus = s(vm, "bogus");
    assert_eq!(
        show_call(vm, "collectgarbage", &[bogus]),
        "error: bad argument #1 to 'collectgarbage' (invalid option 'bogus')"
    );
    assert!(func(vm, "_G").raw_identical(Val::from_raw(Tag::Table, vm.globals as u64)));
}

/// Compiles and runs `src`; what it printed, and its error message if it failed.
fn run(src: &str) -> (String, Option<String>) {
    let module = match crate::compile(src.as_bytes(), "prog.lua") {
        Ok(m) => m,
        Err(d) => return (String::new(), Some(format!("compile: {d}"))),
    };
    let mut vm = new_vm();
    let main = match vm.load(module, &registry()) {
        Ok(m) => m,
        Err(e) => return (String::new(), Some(format!("load: {e}"))),
    };
    let r = vm.call(main, &[]);
    let err = r.err().map(|e| message(&mut vm, e));
    (output(&mut vm), err)
}

#[test]
fn programs_with_errors_positions_and_metamethods() {
    let (out, err) = run(concat!(
        "local function E(f, ...) local ok, e = pcall(f, ...) return e end\n",
        "print(E(function() local x; return x + 1 end))\n",
        "print(E(function() error('lvl1') end))\n",
        "local function lvl2() error('lvl2', 2) end\n",
        "print(E(function()\n lvl2()\n end))\n",
        "print(E(function() assert(false, 'why') end))\n",
        "print(E(function() return ('x'):rep() end))\n",
        "print(E(function() return #nil end))\n",
        "local V = setmetatable({}, {__add = function(a, b) return 'added' end, __index = function(t, k) return k .. '!' end})\n",
        "print(V + 1, 1 + V, V.key, #V)\n",
        "print(select('#', E(error)))\n",
    ));
    assert_eq!(err, None);
    assert_eq!(
        out,
        concat!(
            "prog.lua:2: attempt to perform arithmetic on a nil value (local 'x')\n",
            "prog.lua:3: lvl1\n",
            "prog.lua:6: lvl2\n",
            "prog.lua:8: why\n",
            "prog.lua:9: bad argument #1 to 'rep' (number expected, got no value)\n",
            "prog.lua:10: attempt to get length of a nil value\n",
            "added\tadded\tkey!\t0\n",
            "1\n",
        )
    );
}

#[test]
fn programs_sort_iterate_and_format() {
    let (out, err) = run(concat!(
        "local t = {5, 2, 8, 1, 9, 3}\n",
        "table.sort(t, function(a, b) return a > b end)\n",
        "print(table.concat(t, ' '))\n",
        "local keys = {}\n",
        "for k, v in pairs({a = 1, b = 2, c = 3}) do keys[#keys + 1] = k end\n",
        "table.sort(keys) print(table.concat(keys))\n",
        "for i, v in ipairs({10, 20, nil, 40}) do io.write(i, '=', v, ' ') end print()\n",
        "for i = 1, 3 do io.write(i) end for x = 1, 2, 0.5 do io.write(' ', x) end print()\n",
        "print(string.format('%g %5.1f %-3d|%s', 1e20, 2.25, 7, {} ~= nil))\n",
        "print(('abc'):upper(), #'abc', 10 // 3, 10 % -3, 2^10, 7 / 2, 1e15, 2^63)\n",
    ));
    assert_eq!(err, None);
    assert_eq!(
        out,
        concat!(
            "9 8 5 3 2 1\n",
            "abc\n",
            "1=10 2=20 \n",
            "123 1 1.5 2\n",
            "1e+20   2.2 7  |true\n",
            "ABC\t3\t3\t-2\t1024.0\t3.5\t1e+15\t9.2233720368548e+18\n",
        )
    );
}

#[test]
fn uncaught_error_keeps_a_traceback_and_exit_flushes() {
    let module = crate::compile(b"print('a')\nerror('fatal')\n", "prog.lua").ok();
    let mut vm = new_vm();
    let main = module.and_then(|m| vm.load(m, &registry()).ok()).unwrap_or(Val::NIL);
    let r = vm.call(main, &[]);
    let msg = r.err().map(|e| message(&mut vm, e));
    assert_eq!(msg.as_deref(), Some("prog.lua:2: fatal"));
    let tb = vm.pending_traceback.take().unwrap_or_default();
    assert!(tb.starts_with("stack traceback:\n\t[C]: in function 'error'\n\tprog.lua:2:"), "{tb}");
    assert_eq!(output(&mut vm), "a\n");
    let (out, err) = run("io.write('x') os.exit(3)");
    assert_eq!((out.as_str(), err.as_deref()), ("x", Some("exit 3")));
}
