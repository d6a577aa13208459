//! The text format: print -> parse -> print is the identity and parse(print(m)) == m for
//! hand-built modules covering every opcode, odd constants, strings and layouts; parse
//! errors carry line and column; the parser never panics; `docs/mir-ops.md` is current.

use std::collections::HashSet;

use lazyjit_ir::text::{ops_reference_markdown, parse::GAP_VALUE, EXAMPLE};
use lazyjit_ir::{
    parse_module, print_function, print_module, verify_module, Block, BlockData, Const, DebugInfo, FuncId, Function,
    FunctionBuilder, Inst, InstData, Module, Opcode, ResumeAt, RtId, SiteId, SnapId, SnapSource, Snapshot, StrId, Type,
    Value, ValueDef, VarKind, VarName,
};

// ------------------------------------------------------------------------------------
// Helpers

/// Replaces every float constant by 0.0 and returns their bits (so that NaNs and signed
/// zeros are compared by bits, and the rest of the module with `==`).
fn take_floats(m: &mut Module) -> Vec<u64> {
    let mut bits = Vec::new();
    let mut take = |c: &mut Const| {
        if let Const::Float(x) = c {
            bits.push(x.to_bits());
            *x = 0.0;
        }
    };
    for f in &mut m.functions {
        for node in &mut f.insts {
            if let InstData::Const { imm, .. } = &mut node.data {
                take(imm);
            }
        }
        for s in &mut f.snapshots {
            for (_, src) in &mut s.entries {
                if let SnapSource::Const(c) = src {
                    take(c);
                }
            }
        }
    }
    bits
}

fn assert_same_module(a: &Module, b: &Module) {
    let (mut a, mut b) = (a.clone(), b.clone());
    assert_eq!(take_floats(&mut a), take_floats(&mut b), "float constants differ");
    assert_eq!(a.name, b.name);
    assert_eq!(a.strings, b.strings, "string pools differ");
    assert_eq!(a.runtime, b.runtime, "runtime declarations differ");
    assert_eq!(a.functions.len(), b.functions.len());
    for (fa, fb) in a.functions.iter().zip(&b.functions) {
        assert_eq!(fa, fb, "function {:?} differs", fa.name);
    }
    assert!(a == b, "modules differ (string index?)");
}

/// Print, parse, print again: the texts are identical and the modules equal.
fn roundtrip(m: &Module) -> String {
    let text = print_module(m);
    let parsed = match parse_module(&text) {
        Ok(p) => p,
        Err(e) => panic!("printed module does not parse: {e}\n{text}"),
    };
    let again = print_module(&parsed);
    assert_eq!(text, again, "print -> parse -> print is not the identity");
    assert_same_module(m, &parsed);
    text
}

fn name(m: &mut Module, kind: VarKind, s: &str) -> Option<VarName> {
    Some(VarName { kind, name: m.intern(s.as_bytes()) })
}

// ------------------------------------------------------------------------------------
// Modules

/// A valid module using every opcode.
fn all_ops_module() -> Module {
    let mut m = Module::new("all ops.lua");
    let hello = m.intern(b"hello");
    let rt_add = m.declare_rt("lua.add", Type::Val);
    let rt_lt = m.declare_rt("lua.lt", Type::I1);
    let rt_odd = m.declare_rt("odd name:1", Type::I64);
    m.declare_rt("unused", Type::Pack);
    let n_x = name(&mut m, VarKind::Local, "x");
    let n_print = name(&mut m, VarKind::Global, "print");
    let n_field = name(&mut m, VarKind::Field, "f\"ld");

    let mut f = Function::new("main");
    f.params = 2;
    f.vararg = true;
    f.upvals = 2;
    f.line = 7;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let b0 = b.create_block();
        let b1 = b.create_block();
        let b2 = b.create_block();
        let b3 = b.create_block();
        let b4 = b.create_block();
        let a = b.append_block_param(b0, Type::Val);
        let c = b.append_block_param(b0, Type::Val);
        b.switch_to_block(b0);
        b.debug = DebugInfo { line: 3, names: [n_x, None] };
        let g = b.ins1(InstData::Nullary { op: Opcode::Globals });
        let up = b.ins1(InstData::NullaryImm { op: Opcode::Upval, imm: 1 });
        let _cell_value = b.unary(Opcode::CellGet, up);
        b.debug = DebugInfo { line: 4, names: [None, n_print] };
        b.ins(InstData::Binary { op: Opcode::CellSet, args: [up, a] });
        b.debug = DebugInfo { line: 0, names: [n_field, n_x] };
        let cell = b.unary(Opcode::CellNew, c);
        b.debug = DebugInfo::default();
        let va = b.ins1(InstData::Nullary { op: Opcode::Varargs });
        let len = b.unary(Opcode::PackLen, va);
        let _third = b.ins1(InstData::UnaryImm { op: Opcode::PackGet, arg: va, imm: 3 });
        b.konst(Const::Str(hello));
        b.konst(Const::Nil);
        b.konst(Const::Bool(false));
        b.konst(Const::Int(-17));
        b.konst(Const::Float(-0.0));
        let imin = b.iconst(i64::MIN);
        let fnan = b.fconst(f64::NAN);
        let t = b.ins1(InstData::Const { op: Opcode::Bconst, imm: Const::Bool(true) });
        let bi = b.unary(Opcode::BoxInt, imin);
        let _bf = b.unary(Opcode::BoxFloat, fnan);
        let _bb = b.unary(Opcode::BoxBool, t);
        let tr = b.unary(Opcode::Truthy, g);
        let _nt = b.unary(Opcode::Not, tr);
        let _tg = b.unary(Opcode::Tag, a);
        let n = b.unary(Opcode::ArrLen, a);
        let elem = b.binary(Opcode::ArrGet, a, n);
        b.ternary(Opcode::ArrSet, a, n, elem);
        let _pushed = b.ins1(InstData::Ternary { op: Opcode::ArrPush, args: [a, n, elem] });
        b.ins(InstData::Binary { op: Opcode::ArrReserve, args: [a, n] });
        b.guard(Opcode::GuardElems, a, 3, SnapId(1));
        let fe = b.binary(Opcode::ArrGetFloat, a, n);
        b.ternary(Opcode::ArrSetFloat, a, n, fe);
        let ie = b.binary(Opcode::ArrGetInt, a, n);
        b.ternary(Opcode::ArrSetInt, a, n, ie);
        let _pi = b.ins1(InstData::Ternary { op: Opcode::ArrPushInt, args: [a, n, ie] });
        let _pf = b.ins1(InstData::Ternary { op: Opcode::ArrPushFloat, args: [a, n, fe] });
        let be = b.binary(Opcode::ArrGetBool, a, n);
        b.ternary(Opcode::ArrSetBool, a, n, be);
        let _pb = b.ins1(InstData::Ternary { op: Opcode::ArrPushBool, args: [a, n, be] });
        let key = b.konst(Const::Str(StrId(0)));
        let entry = b.binary(Opcode::HashFind, a, key);
        let field = b.binary(Opcode::HashGet, a, entry);
        b.ternary(Opcode::HashSet, a, entry, field);
        let _no_meta = b.unary(Opcode::MetaNil, a);
        let site = b.new_site();
        let sum = b.rtcall(rt_add, Type::Val, vec![a, c], false, Some(site));
        let lt = b.rtcall(rt_lt, Type::I1, vec![a, va], true, None);
        let _odd = b.rtcall(rt_odd, Type::I64, vec![], false, None);
        let clo = b.ins1(InstData::Closure { op: Opcode::Closure, func: FuncId(1), args: vec![cell, up] });
        let rs = b.call(clo, vec![a, va], true, 2);
        let _captured = b.ins1(InstData::UnaryImm { op: Opcode::ClosureCell, arg: clo, imm: 2 });
        let _is = b.ins1(InstData::UnaryImm { op: Opcode::IsFn, arg: clo, imm: 1 });
        let pk = b.call_pack(clo, vec![], false);
        b.guard(Opcode::Guard, lt, 0, SnapId(0));
        b.guard(Opcode::GuardTag, a, 2, SnapId(1));
        b.guard(Opcode::GuardFn, clo, 1, SnapId(1));
        b.guard(Opcode::GuardNative, clo, 0, SnapId(1));
        let ai = b.unary(Opcode::UnboxInt, a);
        b.brif(lt, b1, vec![ai, len], b2, vec![]);

        // block1: an integer loop.
        b.set_loop_header(b1);
        let i = b.append_block_param(b1, Type::I64);
        let n = b.append_block_param(b1, Type::I64);
        b.switch_to_block(b1);
        b.debug.line = 12;
        let one = b.iconst(1);
        let i2 = b.binary(Opcode::Iadd, i, one);
        let i3 = b.binary(Opcode::Isub, i2, one);
        let i4 = b.binary(Opcode::Imul, i3, n);
        let _m = b.binary(Opcode::Imod, i4, n);
        let i5 = b.unary(Opcode::Ineg, i4);
        let _eq = b.binary(Opcode::IcmpEq, i5, n);
        let _ne = b.binary(Opcode::IcmpNe, i5, n);
        let _le = b.binary(Opcode::IcmpLe, i5, n);
        let cont = b.binary(Opcode::IcmpLt, i2, n);
        b.brif(cont, b1, vec![i2, n], b3, vec![i2]);

        // block2: floats, then a tail call.
        b.switch_to_block(b2);
        b.debug.line = 20;
        b.guard(Opcode::GuardTag, c, 3, SnapId(1));
        let x = b.unary(Opcode::UnboxFloat, c);
        let y = b.fconst(2.5);
        let s1 = b.binary(Opcode::Fadd, x, y);
        let s2 = b.binary(Opcode::Fsub, s1, y);
        let s3 = b.binary(Opcode::Fmul, s2, y);
        let s4 = b.binary(Opcode::Fdiv, s3, y);
        let s5 = b.unary(Opcode::Fneg, s4);
        let _sq = b.unary(Opcode::Fsqrt, s5);
        let _fe = b.binary(Opcode::FcmpEq, s5, y);
        let _fl = b.binary(Opcode::FcmpLt, s5, y);
        let _fle = b.binary(Opcode::FcmpLe, s5, y);
        let _fi = b.unary(Opcode::IntToFloat, imin);
        let _ub = b.unary(Opcode::UnboxBool, g);
        b.tail_call(clo, vec![a, pk], true);

        // block3: return with a spread.
        let r = b.append_block_param(b3, Type::I64);
        b.switch_to_block(b3);
        b.debug.line = 30;
        let boxed = b.unary(Opcode::BoxInt, r);
        b.ret(vec![boxed, rs[0], rs[1], sum, bi, pk], true);

        // block4: unreachable, just a jump back to block3.
        b.switch_to_block(b4);
        b.debug = DebugInfo::default();
        b.jump(b3, vec![imin]);
    }
    f.snapshots.push(Snapshot {
        resume: ResumeAt { block: Block(0), index: 2 },
        entries: vec![(Value(0), SnapSource::Value(Value(0))), (Value(5), SnapSource::Const(Const::Float(1.5)))],
        blame: None,
        unreached: true,
    });
    f.snapshots.push(Snapshot {
        resume: ResumeAt { block: Block(2), index: 0 },
        entries: vec![
            (Value(1), SnapSource::Value(Value(1))),
            (Value(2), SnapSource::Const(Const::Nil)),
            (Value(3), SnapSource::Const(Const::Str(hello))),
            (Value(4), SnapSource::Const(Const::Int(i64::MAX))),
            (Value(6), SnapSource::Const(Const::Bool(true))),
        ],
        blame: Some(SiteId(0)),
        unreached: false,
    });
    m.add_function(f);

    // fn1: the closure's function, two captures.
    let mut h = Function::new("helper \u{e9}\n");
    h.upvals = 2;
    {
        let mut b = FunctionBuilder::new(&mut h);
        let b0 = b.create_block();
        b.switch_to_block(b0);
        let u = b.ins1(InstData::NullaryImm { op: Opcode::Upval, imm: 0 });
        let v = b.unary(Opcode::CellGet, u);
        b.ret(vec![v], false);
    }
    m.add_function(h);

    // fn2: empty return, no blocks params, a vararg function returning its varargs.
    let mut k = Function::new("");
    k.vararg = true;
    {
        let mut b = FunctionBuilder::new(&mut k);
        let b0 = b.create_block();
        b.switch_to_block(b0);
        let va = b.ins1(InstData::Nullary { op: Opcode::Varargs });
        b.ret(vec![va], true);
    }
    m.add_function(k);
    m
}

/// Edge-case floats: their spellings must read back to the same bits.
fn odd_floats() -> Vec<f64> {
    let mut xs = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1.0 / 3.0,
        1e16,
        1e15,
        123456789.0,
        1e300,
        -1e-300,
        5e-324,
        -5e-324,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::from_bits(0x7ff8_0000_0000_0001),
        f64::from_bits(0xfff8_0000_0000_0000),
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::from_bits(0xffff_ffff_ffff_ffff),
        9007199254740993.0,
        (2.0f64).powi(63),
    ];
    // Pseudo-random bit patterns.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..300 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        xs.push(f64::from_bits(s));
    }
    xs
}

fn odd_ints() -> Vec<i64> {
    vec![0, 1, -1, i64::MIN, i64::MAX, i64::MIN + 1, i32::MIN as i64, 1 << 53, 10_000_000_000]
}

fn odd_strings() -> Vec<Vec<u8>> {
    vec![
        b"".to_vec(),
        b"plain".to_vec(),
        b"quote \" backslash \\ newline \n tab \t cr \r nul \0".to_vec(),
        (0..=255u8).collect(),
        "unicode: \u{e9}\u{4e2d}\u{1f600}".as_bytes().to_vec(),
        b"; line 3 [local \"x\", -]".to_vec(),
        b"\\x41 is not an escape here".to_vec(),
        vec![0xff, 0xfe, b'"'],
    ]
}

/// Constants of every kind through `const`, `iconst`, `fconst`, `bconst` and snapshots.
fn constants_module() -> Module {
    let mut m = Module::new("m\"od\\ule\n\u{e9}");
    let strs: Vec<StrId> = odd_strings().iter().map(|s| m.intern(s)).collect();
    let mut f = Function::new("consts");
    {
        let mut b = FunctionBuilder::new(&mut f);
        let b0 = b.create_block();
        b.switch_to_block(b0);
        for x in odd_floats() {
            b.fconst(x);
            b.konst(Const::Float(x));
        }
        for n in odd_ints() {
            b.iconst(n);
            b.konst(Const::Int(n));
        }
        for &s in &strs {
            b.konst(Const::Str(s));
        }
        b.ins1(InstData::Const { op: Opcode::Bconst, imm: Const::Bool(false) });
        b.ret(vec![], false);
    }
    let mut entries = Vec::new();
    for (k, x) in odd_floats().into_iter().enumerate() {
        entries.push((Value::new(k), SnapSource::Const(Const::Float(x))));
    }
    for &s in &strs {
        entries.push((Value(1000), SnapSource::Const(Const::Str(s))));
    }
    f.snapshots.push(Snapshot { resume: ResumeAt { block: Block(0), index: 0 }, entries, blame: None, unreached: false });
    m.add_function(f);
    m
}

/// A structurally odd but representable module: instructions stored out of layout
/// order, detached instructions, stale values, out-of-range references, annotated
/// result types, empty spreads, raw ids. It does not verify; it must still round-trip.
fn odd_layout_module() -> Module {
    let mut m = Module::new("odd");
    let rt = m.declare_rt("lua.call", Type::Val);
    let mut f = Function::new("odd");
    f.sites = 1;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let b0 = b.create_block();
        let b1 = b.create_block();
        let b2 = b.create_block();
        // Fill block2 first, then block0, then block1: ids are not in layout order.
        b.switch_to_block(b2);
        let p = b.append_block_param(b2, Type::F64);
        b.ret(vec![p], false);
        b.switch_to_block(b0);
        let x = b.iconst(5);
        let c = b.ins1(InstData::Const { op: Opcode::Bconst, imm: Const::Bool(true) });
        b.brif(c, b1, vec![], b2, vec![x]);
        b.switch_to_block(b1);
        // An rtcall with a result of the wrong type, and one to a missing runtime function.
        b.rtcall(rt, Type::I64, vec![x], false, Some(SiteId(0)));
        b.rtcall(RtId(9), Type::F64, vec![], false, None);
        // Two results of a one-result op, one with the wrong type.
        b.ins_with_results(InstData::Binary { op: Opcode::Iadd, args: [x, x] }, &[Type::I64, Type::Ptr]);
        // Bad string, function, snapshot and tag references.
        b.konst(Const::Str(StrId(42)));
        b.ins1(InstData::Closure { op: Opcode::Closure, func: FuncId(7), args: vec![] });
        b.guard(Opcode::GuardTag, x, 99, SnapId(3));
        b.guard(Opcode::Guard, c, -4, SnapId(0));
        b.debug = DebugInfo { line: 1, names: [Some(VarName { kind: VarKind::Method, name: StrId(77) }), None] };
        b.call(x, vec![], true, 0);
        b.debug = DebugInfo::default();
        b.ret(vec![], true);
    }
    // Detach the `iconst` from block0 (its result stays defined by the detached inst),
    // and leave a stale value behind.
    let detached = f.blocks[0].insts.remove(0);
    assert_eq!(detached, Inst(1));
    f.make_value(Type::Pack, ValueDef::Param(Block(1), 3));
    f.make_value(Type::I1, ValueDef::Result(Inst(50), 2));
    f.values.push(GAP_VALUE);
    f.blocks.push(BlockData { params: vec![], insts: vec![], loop_header: true });
    f.snapshots.push(Snapshot { resume: ResumeAt { block: Block(9), index: 99 }, entries: vec![], blame: None, unreached: false });
    m.add_function(f);

    // A function whose instruction ids are all out of order and that has no blocks at all.
    let mut g = Function::new("no blocks");
    g.params = 3;
    g.sites = 4_000_000_000;
    g.line = u32::MAX;
    m.add_function(g);
    m
}

// ------------------------------------------------------------------------------------
// Round trips

#[test]
fn all_ops_module_verifies_and_roundtrips() {
    let m = all_ops_module();
    if let Err(errs) = verify_module(&m) {
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("all-ops module does not verify:\n{}\n{}", msgs.join("\n"), print_module(&m));
    }
    let text = roundtrip(&m);
    assert!(text.contains(" = rtcall @lua.lt(v0, ...v"), "{text}");
    assert!(text.contains("rt @\"odd name:1\" -> i64"), "{text}");
    assert!(text.contains("; line 4 [-, global \"print\"]"), "{text}");
    assert!(text.contains("; line 0 [field \"f\\\"ld\", local \"x\"]"), "{text}");
    assert!(text.contains("block1(v"), "{text}");
    assert!(text.contains(") loop:"), "{text}");
    assert!(text.contains("guard.tag v0, int, snap1"), "{text}");
    assert!(text.contains("guard.elems v0, float, snap1"), "{text}");
    assert!(text.contains("(params 2, vararg, upvals 2, sites 4, line 7)"), "{text}");
}

#[test]
fn every_opcode_is_covered() {
    let mut seen = HashSet::new();
    for m in [all_ops_module(), constants_module(), odd_layout_module()] {
        for f in &m.functions {
            for node in &f.insts {
                seen.insert(node.data.opcode());
            }
        }
    }
    let missing: Vec<&str> = Opcode::ALL.iter().filter(|op| !seen.contains(op)).map(|op| op.mnemonic()).collect();
    assert!(missing.is_empty(), "opcodes not covered by the round-trip tests: {missing:?}");
}

#[test]
fn constants_roundtrip_bit_exactly() {
    let m = constants_module();
    assert_eq!(verify_module(&m), Ok(()));
    let text = roundtrip(&m);
    assert!(text.contains("fconst nan\n"), "{text}");
    assert!(text.contains("fconst f64 0x7ff8000000000001\n"), "{text}");
    assert!(text.contains("fconst -0.0\n"), "{text}");
    assert!(text.contains("fconst -inf\n"), "{text}");
    assert!(text.contains("iconst -9223372036854775808\n"), "{text}");
    assert!(text.contains("const 5e-324\n"), "{text}");
    assert!(text.contains("\\x00\\x01"), "{text}");
}

#[test]
fn odd_layouts_roundtrip() {
    let m = odd_layout_module();
    let text = roundtrip(&m);
    assert!(verify_module(&m).is_err());
    assert!(text.contains("detached:\n"), "{text}");
    assert!(text.contains("detached:\n    v1 = iconst 5\n"), "{text}");
    assert!(text.contains("block0:\n    inst2: v2 = bconst true\n"), "{text}");
    assert!(text.contains("    inst0: return v0\n"), "{text}");
    assert!(text.contains("value v"), "{text}");
    assert!(text.contains("rtcall @9() -> f64"), "{text}");
    assert!(text.contains("v3: i64 = rtcall @lua.call(v1) -> val, site0"), "{text}");
    assert!(text.contains("const str42"), "{text}");
    assert!(text.contains("guard.tag v1, 99, snap3"), "{text}");
    assert!(text.contains("call v1(...), site1  ; line 1 [method str77, -]"), "{text}");
    assert!(text.contains("return ...\n"), "{text}");
    assert!(text.contains("v5, v6: ptr = iadd v1, v1"), "{text}");
}

#[test]
fn example_parses_verifies_and_roundtrips() {
    let m = parse_module(EXAMPLE).unwrap();
    assert_eq!(verify_module(&m), Ok(()));
    assert_eq!(print_module(&m), EXAMPLE);
    roundtrip(&m);
}

#[test]
fn print_function_labels_the_function_by_its_index() {
    let m = all_ops_module();
    let text = print_function(&m, &m.functions[1]);
    assert!(
        text.starts_with("function fn1 \"helper \\xc3\\xa9\\n\" (params 0, upvals 2, sites 0, line 0) {\n"),
        "{text}"
    );
    let alone = Function::new("alone");
    assert!(print_function(&m, &alone).starts_with("function fn3 \"alone\""));
    assert_eq!(lazyjit_ir::text::DisplayModule(&m).to_string(), print_module(&m));
}

#[test]
fn hand_written_text_with_forward_references() {
    let src = r#"
; a comment line
module "hand"
rt @lua.add -> val

function fn0 "loop" (params 1, sites 1) {
block0(v0: val):
    jump block1(v0, v9)
block1(v1: val, v2: i64) loop:   ; trailing comment
    v3 = rtcall @lua.add(v1, v1) -> val, site0
    brif v4, block1(v3, v2), block2
block2:
    v9 = iconst 0x10
    v4 = bconst true
    return v3
}
"#;
    let m = parse_module(src).unwrap();
    let f = &m.functions[0];
    assert_eq!(f.values.len(), 10);
    assert_eq!(f.values[9].ty, Type::I64);
    assert_eq!(f.values[4].ty, Type::I1);
    assert_eq!(f.values[5], GAP_VALUE);
    assert_eq!(f.values[3].def, ValueDef::Result(Inst(1), 0));
    assert_eq!(f.values[2].def, ValueDef::Param(Block(1), 1));
    assert!(f.blocks[1].loop_header);
    let errs = verify_module(&m).unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    // v9 and v4 are defined in block2, which does not dominate their uses; v3 (defined in
    // block1, used in block2) is fine: block1 is block2's only predecessor.
    assert_eq!(errs.len(), 2, "{text:?}");
    assert!(text.iter().any(|e| e.contains("use of v9 is not dominated")), "{text:?}");
    assert!(text.iter().any(|e| e.contains("use of v4 is not dominated")), "{text:?}");
    // Print and parse again: gaps come back as explicit `value` lines, stable from there.
    let printed = print_module(&m);
    assert!(printed.contains("value v5: val, param block4294967295:4294967295"), "{printed}");
    let again = parse_module(&printed).unwrap();
    assert_same_module(&m, &again);
    assert_eq!(print_module(&again), printed);
}

#[test]
fn explicit_instruction_ids() {
    let src = "function fn0 \"f\" () {\nblock0:\n    inst2: return v0\ndetached:\n    inst0: v0 = globals\n    v1 = globals\n}\n";
    let m = parse_module(src).unwrap();
    let f = &m.functions[0];
    assert_eq!(f.blocks[0].insts, vec![Inst(2)]);
    assert_eq!(f.insts.len(), 3);
    assert_eq!(f.values[1].def, ValueDef::Result(Inst(1), 0));
    assert_eq!(print_module(&parse_module(&print_module(&m)).unwrap()), print_module(&m));
}

// ------------------------------------------------------------------------------------
// Parse errors

fn parse_err(src: &str) -> (u32, u32, String) {
    match parse_module(src) {
        Ok(m) => panic!("expected a parse error for:\n{src}\ngot:\n{}", print_module(&m)),
        Err(e) => {
            assert_eq!(e.to_string(), format!("{}:{}: {}", e.line, e.col, e.message));
            (e.line, e.col, e.message)
        }
    }
}

#[track_caller]
fn check_err(src: &str, line: u32, col: u32, needle: &str) {
    let (l, c, msg) = parse_err(src);
    assert!(msg.contains(needle), "message {msg:?} does not contain {needle:?}");
    assert_eq!((l, c), (line, col), "wrong position for {msg:?}");
}

#[test]
fn parse_errors_have_positions() {
    let head = "function fn0 \"f\" (params 0) {\nblock0:\n";
    check_err(&format!("{head}    v1 = frob v2\n}}\n"), 3, 10, "unknown opcode `frob`");
    check_err(&format!("{head}    v1 = iadd v2 v3\n}}\n"), 3, 18, "expected `,`");
    check_err(&format!("{head}    v1 = const \"abc\n}}\n"), 3, 16, "unterminated string");
    check_err(&format!("{head}    v1 = const \"\\q\"\n}}\n"), 3, 17, "unknown escape");
    check_err(&format!("{head}    v1 = iconst 99999999999999999999\n}}\n"), 3, 17, "not a valid 64-bit integer");
    check_err(&format!("{head}    v1 = fconst 1.5e\n}}\n"), 3, 17, "not a valid float");
    check_err(&format!("{head}    return ...v1, v2\n}}\n"), 3, 17, "must be the last operand");
    check_err(&format!("{head}    guard.tag v1, integer, snap0\n}}\n"), 3, 19, "unknown tag `integer`");
    check_err(&format!("{head}    return\n"), 4, 1, "unterminated function body");
    check_err("function fn1 \"f\" () {\n}\n", 1, 10, "expected fn0, found fn1");
    check_err(&format!("{head}block2:\n}}\n"), 3, 1, "expected block1, found block2");
    check_err(&format!("{head}    v1 = iconst 1 extra\n}}\n"), 3, 19, "expected end of line");
    check_err("function fn0 \"f\" (params 0) {\n    return\n}\n", 2, 5, "expected a block header");
    check_err("module \"a\"\nstr1 = \"x\"\n", 2, 8, "out of order");
    check_err("rt @a -> val\nrt @a -> i1\n", 2, 4, "declared twice");
    check_err(
        "rt @a -> val\nfunction fn0 \"f\" () {\nblock0:\n    v0 = rtcall @a() -> i1\n}\n",
        4,
        17,
        "declared `-> val`",
    );
    check_err(&format!("{head}    v0 = iconst 1 ; line 3 [bogus \"x\"]\n}}\n"), 3, 29, "a variable kind");
    check_err(&format!("{head}    inst5: return\n}}\n"), 3, 5, "inst5 out of range");
    check_err(&format!("{head}    v5000000000 = iconst 1\n}}\n"), 3, 5, "too large");
    check_err(&format!("{head}    v400000 = iconst 1\n    return\n}}\n"), 3, 5, "too sparse");
    check_err("module \"a\" \u{e9}\n", 1, 12, "unexpected character 'é'");
    check_err(&format!("{head}    v1 = const \"\u{e9}\" +\n}}\n"), 3, 20, "unexpected character '+'");
}

// ------------------------------------------------------------------------------------
// No panics on garbage

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SNIPPETS: &[&str] = &[
    "v1",
    "v0",
    "v99",
    "block0",
    "block1",
    "block9",
    ",",
    "(",
    ")",
    "...",
    "\"",
    "\\x",
    "\\",
    ";",
    "; line 3 [",
    "; line 2",
    "inst0:",
    "inst99:",
    "->",
    "@",
    "@7",
    "-",
    "9999999999999999999",
    "-0.0",
    "nan",
    "inf",
    "f64",
    "f64 0x1",
    "\n",
    "}",
    "{",
    ":",
    "=",
    "str3",
    "fn2",
    "snap0",
    "site0",
    "loop",
    "detached:\n",
    "value v3: i64, param block0:0\n",
    "val",
    "pack",
    "i1",
    "call",
    "return",
    "jump",
    "brif",
    "guard.tag",
    "rtcall",
    "iconst",
    "const",
    "[",
    "]",
    "é",
    "\t",
    " ",
    "0x",
    "1e",
    "-inf",
    "v1: i64 =",
    "snap0 = resume block0:0 { v0 = v1 }\n",
    "module \"x\"\n",
];

fn mutate(rng: &mut Rng, base: &str) -> String {
    let chars: Vec<char> = base.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(7) {
            0 => out.truncate(rng.below(len + 1)),
            1 => {
                let a = rng.below(len + 1);
                let b = (a + rng.below(12)).min(len);
                out.drain(a..b);
            }
            2 | 3 => {
                let at = rng.below(len + 1);
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                out.splice(at..at, s.chars());
            }
            4 => {
                if len > 0 {
                    let at = rng.below(len);
                    out[at] = char::from(b' ' + rng.below(95) as u8);
                }
            }
            5 => {
                // Duplicate or move a line.
                let text: String = out.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let a = rng.below(lines.len());
                    let b = rng.below(lines.len());
                    if rng.below(2) == 0 {
                        lines.insert(b, lines[a]);
                    } else {
                        lines.swap(a, b);
                    }
                }
                out = lines.join("\n").chars().collect();
            }
            _ => {
                // Change a digit.
                let digits: Vec<usize> = (0..len).filter(|&i| out[i].is_ascii_digit()).collect();
                if !digits.is_empty() {
                    let at = digits[rng.below(digits.len())];
                    out[at] = char::from(b'0' + rng.below(10) as u8);
                }
            }
        }
    }
    out.into_iter().collect()
}

#[test]
fn parser_never_panics_on_mutations() {
    let mut bases = vec![print_module(&all_ops_module()), print_module(&odd_layout_module()), EXAMPLE.to_string()];
    // The verifier's test files, if present.
    if let Ok(dir) = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verifier")) {
        let mut files: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for p in files.iter().take(10) {
            if let Ok(s) = std::fs::read_to_string(p) {
                bases.push(s);
            }
        }
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut parsed = 0;
    let iterations = 4000;
    for k in 0..iterations {
        let base = &bases[k % bases.len()];
        let text = mutate(&mut rng, base);
        let result = std::panic::catch_unwind(|| {
            if let Ok(m) = parse_module(&text) {
                let _ = verify_module(&m);
                let printed = print_module(&m);
                let again =
                    parse_module(&printed).unwrap_or_else(|e| panic!("printed module does not parse: {e}\n{printed}"));
                assert_eq!(print_module(&again), printed, "print -> parse -> print differs");
                true
            } else {
                false
            }
        });
        match result {
            Ok(true) => parsed += 1,
            Ok(false) => {}
            Err(_) => panic!("panic on input:\n{text}"),
        }
    }
    // Some mutants must still parse, or the test exercises nothing past the first error.
    assert!(parsed > iterations / 20, "only {parsed} mutants parsed");
}

// ------------------------------------------------------------------------------------
// The op reference

#[test]
fn op_reference_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/mir-ops.md");
    let generated = ops_reference_markdown();
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("writing docs/mir-ops.md");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/mir-ops.md is out of date: run `BLESS=1 cargo test -p lazyjit-ir --test text_roundtrip`"
    );
    for op in Opcode::ALL {
        assert!(committed.contains(&format!("`{}`", op.mnemonic())));
    }
}

#[test]
fn compact_drops_detached_instructions_and_renumbers() {
    let src = "module \"c\"\n\nfunction fn0 \"f\" (params 1) {\nblock0(v0: val):\n    v1 = iconst 1\n    v2 = iconst 2\n    v3 = iadd v1, v2\n    v4 = box.int v3\n    return v4\n}\n";
    let mut m = lazyjit_ir::parse_module(src).expect("parses");
    let f = &mut m.functions[0];
    assert!(!f.compact(), "nothing to drop");
    // Detach `v2 = iconst 2` and use `v1` in its place.
    let two = f.blocks[0].insts.remove(1);
    let v2 = f.insts[two.index()].results[0];
    for node in &mut f.insts {
        node.data.map_operands(|v| if v == v2 { lazyjit_ir::Value::new(1) } else { v });
    }
    assert!(f.compact());
    assert_eq!(f.insts.len(), 4);
    assert_eq!(f.values.len(), 4);
    let text = lazyjit_ir::print_module(&m);
    assert!(text.contains("v2 = iadd v1, v1") && text.contains("v3 = box.int v2") && text.contains("return v3"), "{text}");
    assert!(!text.contains("detached"), "{text}");
    lazyjit_ir::verify_module(&m).expect("valid after compacting");
    assert_eq!(lazyjit_ir::parse_module(&text).expect("reparses"), m);
}
