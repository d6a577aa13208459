//! The baseline lowering (MIR -> LLVM IR): every op lowers to a module LLVM verifies and
//! compiles; the IR of a small function has the expected shape; and functions run in a
//! fake frame (null VM and closure) with fake host helpers, at O0 and O2, reproducing
//! the interpreter's results: typed loops and float arithmetic, back-edge counting,
//! runtime-call fast paths and their slow path, call results padded with nil, tail-call
//! argument moves, spread returns, inline cell access and guards.

use std::cell::RefCell;
use std::collections::HashSet;

use lazyjit_ir::interp::{ChainLookup, Effects, VmResult, LoadedModule, Native, Proto, RegVal, RtRegistry, TableAccess, Vm};
use lazyjit_ir::rt::object::Table;
use lazyjit_ir::rt::{Tag, Val};
use lazyjit_ir::{
    parse_module, verify_module, Block, Const, Function, FunctionBuilder, InstData, Module, Opcode,
    ResumeAt, SnapId, SnapSource, Snapshot, Type, Value,
};
use lazyjit_orc::inkwell::context::Context;
use lazyjit_orc::lower::{lower_compact, lower_proto, LowerOptions, OsrExits, MAX_STAGED};
use lazyjit_orc::{abi, compile_module, compile_module_with, CodegenOptions, OptLevel, RegAlloc, Session};

// ------------------------------------------------------------------------------------
// Loading MIR

fn dummy_rt(_: &mut Vm, _: &[Val]) -> VmResult<Val> {
    Ok(Val::NIL)
}

/// A native function for `guard.native` to name.
static TEST_SQRT: Native = Native { name: "sqrt", f: test_sqrt };

fn test_sqrt(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Ok(0)
}

/// A chain lookup that never decides.
unsafe extern "C" fn no_chain(_: *mut Vm, _: *mut Table, _: u64) -> RegVal {
    RegVal::MISS
}

/// A registry binding every runtime function `m` declares to a dummy, with `t.add`
/// given integer and float fast paths, `t.get`/`t.put` inline table paths, `t.field`
/// a read with a chain lookup and `t.append` an array append.
fn registry_for(m: &Module) -> RtRegistry {
    let mut r = RtRegistry::new();
    for d in &m.runtime {
        r.register(&d.name, dummy_rt, d.ret, Effects::default());
    }
    if m.runtime.iter().any(|d| d.name == "t.add") {
        r.declare_fast_path("t.add", [Tag::Int, Tag::Int], Opcode::Iadd)
            .expect("iadd path");
        r.declare_fast_path("t.add", [Tag::Float, Tag::Float], Opcode::Fadd)
            .expect("fadd path");
    }
    if m.runtime.iter().any(|d| d.name == "t.lt") {
        r.declare_fast_path("t.lt", [Tag::Int, Tag::Int], Opcode::IcmpLt)
            .expect("icmp.lt path");
        r.declare_fast_path("t.lt", [Tag::Float, Tag::Float], Opcode::FcmpLt)
            .expect("fcmp.lt path");
    }
    for (name, access) in [("t.get", TableAccess::Get), ("t.put", TableAccess::Set)] {
        if m.runtime.iter().any(|d| d.name == name) {
            r.declare_table_access(name, access).expect("table access");
        }
    }
    r.declare_native_op(&TEST_SQRT, Tag::Float, Opcode::Fsqrt).expect("native op");
    if m.runtime.iter().any(|d| d.name == "t.field") {
        r.declare_table_access("t.field", TableAccess::Get).expect("table access");
        r.declare_chain_lookup("t.field", ChainLookup { symbol: "t.field.chain", f: no_chain }).expect("chain lookup");
    }
    if m.runtime.iter().any(|d| d.name == "t.append") {
        r.declare_array_append("t.append").expect("array append");
    }
    if m.runtime.iter().any(|d| d.name == "t.neg") {
        r.declare_fast_path("t.neg", [Tag::Int, Tag::Nil], Opcode::Ineg)
            .expect("ineg path");
    }
    r
}

/// Verifies and loads `m`; the VM holds the decoded functions.
fn load(m: Module) -> Vm {
    verify_module(&m).unwrap_or_else(|e| panic!("invalid MIR: {e:?}"));
    let reg = registry_for(&m);
    let mut vm = Vm::new(None);
    vm.load(m, &reg).expect("load");
    vm
}

fn module_of(vm: &Vm) -> &LoadedModule {
    &vm.modules()[0]
}

/// Lowers, verifies and compiles `proto` at O0 and O2; returns the unoptimized IR text.
fn lower_and_compile(proto: &Proto, module: &LoadedModule, symbol: &str) -> String {
    lower_and_compile_with(proto, module, LowerOptions { symbol: symbol.to_string(), ..Default::default() })
}

/// [`lower_and_compile`] with `opts`.
fn lower_and_compile_with(proto: &Proto, module: &LoadedModule, opts: LowerOptions) -> String {
    let ctx = Context::create();
    let m = lower_proto(&ctx, proto, module, &opts)
        .unwrap_or_else(|e| panic!("lowering {}: {e}", proto.mir.name));
    if let Err(e) = m.verify() {
        panic!(
            "{} does not verify: {}\n{}",
            proto.mir.name,
            e.to_string(),
            m.print_to_string().to_string()
        );
    }
    let text = m.print_to_string().to_string();
    assert!(m.get_function(&opts.symbol).is_some(), "defines {}", opts.symbol);
    compile_module(&m, OptLevel::O0).expect("compile at O0");
    let ctx2 = Context::create();
    let m2 = lower_proto(&ctx2, proto, module, &opts).expect("lowering again");
    compile_module(&m2, OptLevel::O2).expect("compile at O2");
    text
}

fn opcodes_of(f: &Function) -> HashSet<Opcode> {
    f.blocks
        .iter()
        .flat_map(|b| b.insts.iter())
        .map(|i| f.insts[i.index()].data.opcode())
        .collect()
}

// ------------------------------------------------------------------------------------
// Every op

const ALL_OPS: &str = r#"module "allops.lua"
str0 = "hello"
rt @t.add -> val
rt @t.lt -> i1
rt @t.neg -> val
rt @t.concat -> val
rt @t.len -> i64
rt @t.half -> f64
rt @t.get -> val
rt @t.put -> val
rt @t.field -> val
rt @t.append -> val

function fn0 "main" (params 2, vararg, upvals 4, sites 12) {
block0(v0: val, v1: val):
    v2 = const nil
    v3 = const true
    v4 = const 42
    v5 = const 1.5
    v6 = const "hello"
    v7 = iconst 7
    v8 = fconst 2.5
    v9 = bconst true
    v10 = box.int v7
    v11 = box.float v8
    v12 = box.bool v9
    v13 = unbox.int v10
    v14 = unbox.float v11
    v15 = unbox.bool v12
    v16 = truthy v0
    v17 = tag v0
    v18 = iadd v13, v7
    v19 = isub v18, v7
    v20 = imul v19, v7
    v900 = imod v20, v7
    v21 = ineg v20
    v22 = icmp.eq v21, v7
    v23 = icmp.ne v21, v7
    v24 = icmp.lt v21, v7
    v25 = icmp.le v21, v7
    v26 = fadd v14, v8
    v27 = fsub v26, v8
    v28 = fmul v27, v8
    v29 = fdiv v28, v8
    v30 = fneg v29
    v903 = fsqrt v30
    v31 = fcmp.eq v30, v8
    v32 = fcmp.lt v30, v8
    v33 = fcmp.le v30, v8
    v34 = i2f v21
    v35 = not v33
    v36 = varargs
    v37 = pack.get v36, 1
    v38 = pack.len v36
    v39 = cell.new v0
    v40 = cell.get v39
    cell.set v39, v1
    v41 = upval 3
    v42 = globals
    v43 = closure fn1(v39, v41)
    v44 = rtcall @t.add(v0, v1) -> val, site0
    v45 = rtcall @t.lt(v0, v4) -> i1, site1
    v46 = rtcall @t.neg(v0) -> val, site2
    v47 = rtcall @t.concat(v0, v1, v6) -> val, site3
    v48 = rtcall @t.concat(v0, ...v36) -> val, site4
    v49 = rtcall @t.len(v0) -> i64
    v50 = rtcall @t.half(v1) -> f64, site5
    v51, v52, v53 = call v43(v0, v1), site6
    v54, v55 = call v43(v0, ...v36), site7
    v56 = call.pack v43(v1), site8
    v57 = call.pack v43(...v56), site9
    v64 = rtcall @t.get(v0, v6) -> val, site11
    v65 = rtcall @t.put(v0, v6, v1) -> val
    v907 = rtcall @t.append(v0, v4, v1, v2, v6) -> val
    v908 = rtcall @t.append(v0, v4, v1, ...v36) -> val
    v66 = rtcall @t.get(v0, v4) -> val
    v902 = rtcall @t.field(v0, v6) -> val
    v67 = arr.len v0
    v68 = arr.get v0, v67
    arr.set v0, v67, v68
    v905 = arr.push v0, v67, v68
    arr.reserve v0, v67
    guard.elems v0, float, snap0
    v912 = arr.get.float v0, v67
    arr.set.float v0, v67, v912
    v913 = arr.get.int v0, v67
    arr.set.int v0, v67, v913
    v914 = arr.push.int v0, v67, v913
    v915 = arr.push.float v0, v67, v912
    v916 = arr.get.bool v0, v67
    arr.set.bool v0, v67, v916
    v917 = arr.push.bool v0, v67, v916
    v909 = hash.find v0, v6
    v910 = hash.get v0, v909
    hash.set v0, v909, v910
    v69 = meta.nil v0
    guard.tag v0, int, snap0
    guard.fn v0, fn1, snap0
    v906 = closure.cell v0, 1
    v911 = is.fn v0, fn1
    guard.native v0, 0, snap0
    v901 = call v0(v1)
    guard v45, 0, snap0
    brif v45, block1(v13, v14), block2(v44)
block1(v58: i64, v59: f64) loop:
    v60 = iconst 1
    v61 = iadd v58, v60
    v62 = icmp.lt v61, v7
    brif v62, block1(v61, v59), block3
block2(v63: val):
    brif v16, block2(v0), block4
block3:
    return v10, v11, v12, v46, ...v57
block4:
    tailcall v43(v63, v40, ...v36), site10
snap0 = resume block0:0 { v0 = v0, v1 = v1 }
}

function fn1 "inner" (params 2, upvals 2, sites 2) {
block0(v0: val, v1: val):
    v2 = upval 1
    v3 = cell.get v2
    v4 = rtcall @t.add(v0, v3) -> val, site0
    v7 = truthy v4
    brif v7, block1, block2
block1:
    tailcall v0(v1, v0), site1
block2:
    jump block3(v1, v0)
block3(v5: val, v6: val):
    return v6, v5, v4
}
"#;

#[test]
fn every_op_lowers_verifies_and_compiles() {
    let m = parse_module(ALL_OPS).unwrap_or_else(|e| panic!("{e}"));
    let mut covered = HashSet::new();
    for f in &m.functions {
        covered.extend(opcodes_of(f));
    }
    let missing: Vec<&str> = Opcode::ALL
        .iter()
        .filter(|op| !covered.contains(op))
        .map(|op| op.mnemonic())
        .collect();
    assert!(missing.is_empty(), "the test module lacks {missing:?}");
    let vm = load(m);
    let module = module_of(&vm);
    for (i, proto) in module.protos.iter().enumerate() {
        let text = lower_and_compile(proto, module, &format!("lzf.0.{i}"));
        assert!(
            text.contains(&format!("define i64 @lzf.0.{i}(ptr")),
            "{text}"
        );
    }
    // Every function also lowers to compact code: one `lz_step` per op except jumps
    // that need no helper, a `switch` per branch that does.
    for (i, proto) in module.protos.iter().enumerate() {
        let text = lower_compact_and_compile(proto, &format!("lzc.0.{i}"));
        let steps = text.matches(&format!("call i64 @{}(", abi::STEP)).count();
        assert!(steps >= 1 && steps <= proto.code.len(), "{steps} steps for {} ops:\n{text}", proto.code.len());
    }
    // Every loop header has an on-stack entry (inline code from the header on); any
    // other block has none.
    let mut entries = 0;
    for proto in module.protos.iter() {
        for (h, block) in proto.mir.blocks.iter().enumerate() {
            let ctx = Context::create();
            let opts = LowerOptions { symbol: format!("osr{h}"), osr_entry: Some(h as u32), ..Default::default() };
            match lower_proto(&ctx, proto, module, &opts) {
                Ok(m) if block.loop_header => {
                    if let Err(e) = m.verify() {
                        panic!("on-stack entry at block{h} of {} does not verify: {e}\n{}", proto.mir.name, m.print_to_string());
                    }
                    compile_module(&m, OptLevel::O0).expect("compiles");
                    entries += 1;
                }
                Ok(_) => panic!("an on-stack entry at block{h} of {}, which heads no loop", proto.mir.name),
                Err(e) => assert!(!block.loop_header && e.to_string().contains("heads no loop"), "{e}"),
            };
        }
    }
    assert!(entries > 0, "the module has no loop");
    // The main function uses every helper (its four upvals are more than a closure
    // keeps inline, so `upval` goes through its helper; `lz_step` and `lz_hot` are
    // compact code's, `lz_enter_version` a version's).
    let proto = &module.protos[0];
    let version = LowerOptions { symbol: "allops_version".into(), version: true, ..Default::default() };
    let text = lower_and_compile(proto, module, "allops_main")
        + &lower_compact_and_compile(proto, "allops_main_compact")
        + &lower_and_compile_with(proto, module, version);
    for h in abi::HELPERS {
        assert!(text.contains(&format!("@{h}(")), "{h} is not used:\n{text}");
    }
}

/// Lowers `proto` to compact code, verifies it and compiles it with the fast register
/// allocator; returns the IR text.
fn lower_compact_and_compile(proto: &Proto, symbol: &str) -> String {
    let ctx = Context::create();
    let osr = Some(OsrExits { backedges: 10 });
    let opts = LowerOptions { symbol: symbol.to_string(), hot_calls: Some(10), osr, ..Default::default() };
    let m = lower_compact(&ctx, proto, &opts).unwrap_or_else(|e| panic!("lowering {}: {e}", proto.mir.name));
    if let Err(e) = m.verify() {
        panic!("compact {} does not verify: {e}\n{}", proto.mir.name, m.print_to_string());
    }
    let text = m.print_to_string().to_string();
    // A branch to a loop header can leave for the header's on-stack entry.
    for (h, _) in proto.mir.blocks.iter().enumerate().filter(|(_, b)| b.loop_header) {
        assert!(text.contains(&format!("@{}(ptr %vm, ptr %0, ptr %1, i32 {h})", abi::OSR)), "no on-stack exit to block{h}:\n{text}");
    }
    let codegen = CodegenOptions { regalloc: RegAlloc::Fast, ..CodegenOptions::default() };
    let object = compile_module_with(&m, &codegen).unwrap_or_else(|e| panic!("compiling compact {}: {e}", proto.mir.name));
    assert!(!object.is_empty());
    text
}

#[test]
fn the_verifier_examples_lower() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ir/tests/verifier");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("verifier examples") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.starts_with("ok_") || !name.ends_with(".mir") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let m = parse_module(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let vm = load(m);
        let module = module_of(&vm);
        for proto in &module.protos {
            lower_and_compile(proto, module, "body");
        }
        n += 1;
    }
    assert!(n >= 5, "found {n} examples");
}

// ------------------------------------------------------------------------------------
// The IR of a small function

/// `f(a, b)`: `a * b + 3 <= 100` with typed integers, returned boxed, and `a + b`
/// through a runtime function with fast paths.
fn small_module(with_rtcall: bool) -> Module {
    let mut m = Module::new("small.mir");
    let rt = m.declare_rt("t.add", Type::Val);
    let mut f = Function::new("small");
    f.params = 2;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let x = b.append_block_param(entry, Type::Val);
        let y = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let a = b.unary(Opcode::UnboxInt, x);
        let c = b.unary(Opcode::UnboxInt, y);
        let p = b.binary(Opcode::Imul, a, c);
        let k = b.iconst(3);
        let s = b.binary(Opcode::Iadd, p, k);
        let limit = b.iconst(100);
        let le = b.binary(Opcode::IcmpLe, s, limit);
        let bs = b.unary(Opcode::BoxInt, s);
        let bl = b.unary(Opcode::BoxBool, le);
        if with_rtcall {
            let site = Some(b.new_site());
            let r = b.rtcall(rt, Type::Val, vec![x, y], false, site);
            b.ret(vec![bs, bl, r], false);
        } else {
            b.ret(vec![bs, bl], false);
        }
    }
    m.add_function(f);
    m
}

#[test]
fn ir_of_a_small_arithmetic_function() {
    let vm = load(small_module(false));
    let text = lower_and_compile(&module_of(&vm).protos[0], module_of(&vm), "small_body");
    assert!(
        text.contains("define i64 @small_body(ptr %vm, ptr %closure, ptr %base)"),
        "{text}"
    );
    assert!(text.contains("mul i64"), "{text}");
    assert!(text.contains("add i64"), "{text}");
    assert!(text.contains("icmp sle i64"), "{text}");
    assert!(text.contains("ret i64 2"), "two results:\n{text}");
    assert!(
        !text.contains("declare"),
        "pure arithmetic calls no helper:\n{text}"
    );

    let vm = load(small_module(true));
    let text = lower_and_compile(&module_of(&vm).protos[0], module_of(&vm), "small_body");
    assert!(
        text.contains("declare { i64, i64 } @lz_rtcall_v2(ptr, i64, i64, i64, i64, i64)"),
        "two operands, the packed call and the result go in registers:\n{text}"
    );
    assert!(
        text.contains("fadd double"),
        "the float fast path is inline:\n{text}"
    );
    assert!(text.contains("ret i64 3"), "{text}");
}

// ------------------------------------------------------------------------------------
// Running compiled bodies with fake helpers

type Body = unsafe extern "C" fn(*mut u8, *mut u8, *mut Val) -> i64;

#[derive(Default)]
struct Calls {
    backedges: Vec<i32>,
    backedge_status: i32,
    rtcalls: Vec<(i32, i32, Vec<Val>, i32)>,
    calls: Vec<(Val, Vec<Val>, i32)>,
    tail_calls: Vec<(Val, i32)>,
    guards: Vec<(i32, i32)>,
}

thread_local! {
    static CALLS: RefCell<Calls> = RefCell::new(Calls::default());
}

fn calls<R>(f: impl FnOnce(&mut Calls) -> R) -> R {
    CALLS.with(|c| f(&mut c.borrow_mut()))
}

extern "C" fn fake_backedge(_vm: *mut u8, pc: i32) -> i32 {
    calls(|c| {
        c.backedges.push(pc);
        c.backedge_status
    })
}

/// Slow path of every runtime function: the sum of the operands as numbers plus 1000.
unsafe extern "C" fn fake_rtcall(
    _vm: *mut u8,
    rt: i32,
    site: i32,
    args: *const Val,
    n: i32,
    out: *mut Val,
    pc: i32,
) -> i32 {
    // SAFETY: the ABI: `n` values at `args`, `out` a frame slot.
    let args = unsafe { std::slice::from_raw_parts(args, n as usize) }.to_vec();
    let num = |v: &Val| v.as_int().map(|i| i as f64).or(v.as_float()).unwrap_or(0.0);
    let sum: f64 = args.iter().map(num).sum();
    // SAFETY: as above.
    unsafe { *out = Val::float(sum + 1000.0) };
    calls(|c| c.rtcalls.push((rt, site, args, pc)));
    0
}

/// The register form of [`fake_rtcall`] (`lz_rtcall_v`).
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn fake_rtcall_v(
    vm: *mut u8,
    rt: i32,
    site: i32,
    pc: i32,
    n: i32,
    t0: u64,
    p0: u64,
    t1: u64,
    p1: u64,
    t2: u64,
    p2: u64,
) -> lazyjit_ir::interp::RegVal {
    let val = |t: u64, p: u64| Val::from_raw(Tag::from_u8(t as u8).expect("a tag"), p);
    let args = [val(t0, p0), val(t1, p1), val(t2, p2)];
    let mut out = Val::NIL;
    // SAFETY: `n` (at most 3) values at `args`.
    unsafe { fake_rtcall(vm, rt, site, args.as_ptr(), n, &mut out, pc) };
    lazyjit_ir::interp::RegVal::of(out)
}

unsafe extern "C" fn fake_rtcall_v2(vm: *mut u8, call: u64, t0: u64, p0: u64, t1: u64, p1: u64) -> lazyjit_ir::interp::RegVal {
    let (rt, n, site, pc) = abi::unpack_rtcall(call);
    // SAFETY: as for `fake_rtcall_v`.
    unsafe { fake_rtcall_v(vm, rt as i32, site as i32, pc as i32, n as i32, t0, p0, t1, p1, 0, 0) }
}

/// Calls return `args[0] + 1` (an int), then `args[1] + 1`, ...: as many results as
/// arguments minus one.
unsafe extern "C" fn fake_call(
    _vm: *mut u8,
    callee: *const Val,
    at: *mut Val,
    n: i32,
    pc: i32,
    nret: *mut i32,
) -> i32 {
    // SAFETY: the ABI: `n` values at `at`.
    unsafe {
        let args = std::slice::from_raw_parts(at, n as usize).to_vec();
        calls(|c| c.calls.push((*callee, args.clone(), pc)));
        let k = args.len().saturating_sub(1);
        for (i, a) in args.iter().take(k).enumerate() {
            *at.add(i) = Val::int(a.as_int().unwrap_or(-1) + 1);
        }
        // Garbage past the results, which must not be read as results.
        *at.add(k) = Val::int(999);
        *nret = k as i32;
    }
    0
}

unsafe extern "C" fn fake_tail_call(_vm: *mut u8, callee: *const Val, n: i32, _pc: i32) {
    // SAFETY: the ABI.
    let callee = unsafe { *callee };
    calls(|c| c.tail_calls.push((callee, n)));
}

/// A fake pack is a value whose payload points to a `Vec<Val>`.
unsafe extern "C" fn fake_stage_pack(
    _vm: *mut u8,
    pack: *const Val,
    at: *mut Val,
    n: *mut i32,
) -> i32 {
    // SAFETY: the test's packs point to live vectors; `at` has room.
    unsafe {
        let vals = &*((*pack).payload() as *const Vec<Val>);
        for (i, &v) in vals.iter().enumerate() {
            *at.add(i) = v;
        }
        *n = vals.len() as i32;
    }
    0
}

/// Packs are leaked vectors (see `fake_stage_pack`).
unsafe extern "C" fn fake_new_pack(_vm: *mut u8, vals: *const Val, n: i32, out: *mut Val) -> i32 {
    // SAFETY: the ABI: `n` values at `vals`.
    unsafe {
        let v = Box::leak(Box::new(
            std::slice::from_raw_parts(vals, n as usize).to_vec(),
        ));
        *out = Val::from_raw(Tag::Pack, v as *const Vec<Val> as u64);
    }
    0
}

/// What the fake `lz_deopt` returns (the body must return it as its status).
const DEOPT_STATUS: i64 = 7;

extern "C" fn fake_deopt(_vm: *mut u8, snap: i32, pc: i32) -> i64 {
    calls(|c| c.guards.push((snap, pc)));
    DEOPT_STATUS
}

/// A session with the fake helpers and `proto`'s body compiled at `opt`.
fn jit(proto: &Proto, module: &LoadedModule, opt: OptLevel) -> (Session, Body) {
    let session = Session::new().expect("session");
    session
        .define_host_symbols(&[
            (
                abi::BACKEDGE,
                fake_backedge as extern "C" fn(*mut u8, i32) -> i32 as usize as u64,
            ),
            (
                abi::RTCALL,
                fake_rtcall
                    as unsafe extern "C" fn(
                        *mut u8,
                        i32,
                        i32,
                        *const Val,
                        i32,
                        *mut Val,
                        i32,
                    ) -> i32 as usize as u64,
            ),
            (
                abi::RTCALL_V,
                fake_rtcall_v
                    as unsafe extern "C" fn(
                        *mut u8,
                        i32,
                        i32,
                        i32,
                        i32,
                        u64,
                        u64,
                        u64,
                        u64,
                        u64,
                        u64,
                    ) -> lazyjit_ir::interp::RegVal as usize as u64,
            ),
            (
                abi::RTCALL_V2,
                fake_rtcall_v2 as unsafe extern "C" fn(*mut u8, u64, u64, u64, u64, u64) -> lazyjit_ir::interp::RegVal
                    as usize as u64,
            ),
            (
                abi::CALL,
                fake_call
                    as unsafe extern "C" fn(
                        *mut u8,
                        *const Val,
                        *mut Val,
                        i32,
                        i32,
                        *mut i32,
                    ) -> i32 as usize as u64,
            ),
            (
                abi::TAIL_CALL,
                fake_tail_call as unsafe extern "C" fn(*mut u8, *const Val, i32, i32) as usize
                    as u64,
            ),
            (
                abi::STAGE_PACK,
                fake_stage_pack
                    as unsafe extern "C" fn(*mut u8, *const Val, *mut Val, *mut i32) -> i32
                    as usize as u64,
            ),
            (
                abi::NEW_PACK,
                fake_new_pack as unsafe extern "C" fn(*mut u8, *const Val, i32, *mut Val) -> i32
                    as usize as u64,
            ),
            (
                abi::DEOPT,
                fake_deopt as extern "C" fn(*mut u8, i32, i32) -> i64 as usize as u64,
            ),
        ])
        .expect("host symbols");
    let ctx = Context::create();
    let symbol = format!("body.{}", proto.mir.name);
    let m = lower_proto(
        &ctx,
        proto,
        module,
        &LowerOptions {
            symbol: symbol.clone(),
            ..Default::default()
        },
    )
    .expect("lower");
    let object = compile_module(&m, opt).expect("compile");
    session.add_object(&object).expect("add object");
    let address = session.lookup(&symbol).expect("lookup");
    assert_ne!(address, 0);
    // SAFETY: the body has the ABI's signature and lives as long as the session.
    let body = unsafe { std::mem::transmute::<usize, Body>(address as usize) };
    (session, body)
}

/// What compiled code reads of the VM and the closure, without either: a zeroed VM-sized
/// block whose heap counters say a collection is always wanted (so every back edge calls
/// the fake `lz_backedge`), and a closure-sized block pointing to `proto`.
struct FakeContext {
    vm: Vec<u64>,
    closure: Vec<u64>,
}

impl FakeContext {
    fn new(proto: &Proto) -> FakeContext {
        let mut vm = vec![0u64; std::mem::size_of::<Vm>() / 8 + 1];
        vm[abi::VM_GC_BYTES_OFFSET as usize / 8] = 1;
        vm[abi::VM_GC_THRESHOLD_OFFSET as usize / 8] = 0;
        let mut closure = vec![0u64; 16];
        closure[abi::CLOSURE_PROTO_OFFSET as usize / 8] = proto as *const Proto as u64;
        FakeContext { vm, closure }
    }

    /// Calls `body` on `frame`.
    ///
    /// # Safety
    /// `frame` is laid out as the ABI says for `body`'s function, with room past it for
    /// staging.
    unsafe fn call(&mut self, body: Body, frame: &mut [Val]) -> i64 {
        // SAFETY: the caller's promise; the fake helpers never use the VM, the body
        // reads only the heap counters and the function pointer set up in `new`.
        unsafe {
            body(
                self.vm.as_mut_ptr() as *mut u8,
                self.closure.as_mut_ptr() as *mut u8,
                frame.as_mut_ptr(),
            )
        }
    }
}

/// Runs `body` in a fresh frame of `proto` holding `args`; returns the status and the
/// frame (results at its start).
fn run(proto: &Proto, body: Body, args: &[Val]) -> (i64, Vec<Val>) {
    let mut frame = vec![Val::NIL; proto.nslots as usize + 80 + 2 * WIDE];
    frame[..args.len()].copy_from_slice(args);
    calls(|c| *c = Calls::default());
    // SAFETY: a frame as the ABI lays it out, with room past it for staging.
    let status = unsafe { FakeContext::new(proto).call(body, &mut frame) };
    (status, frame)
}

const LEVELS: [OptLevel; 2] = [OptLevel::O0, OptLevel::O2];

/// More values than the lowering stores directly past the frame.
const WIDE: usize = MAX_STAGED + 6;

/// `sum(n)`: 1 + 2 + ... + n in a typed integer loop.
fn sum_module() -> Module {
    let mut f = Function::new("sum");
    f.params = 1;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let header = b.create_block();
        let body = b.create_block();
        let exit = b.create_block();
        let p = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let n = b.unary(Opcode::UnboxInt, p);
        let zero = b.iconst(0);
        let one = b.iconst(1);
        b.jump(header, vec![zero, one]);
        b.set_loop_header(header);
        let acc = b.append_block_param(header, Type::I64);
        let i = b.append_block_param(header, Type::I64);
        b.switch_to_block(header);
        let go = b.binary(Opcode::IcmpLe, i, n);
        b.brif(go, body, vec![], exit, vec![]);
        b.switch_to_block(body);
        let acc2 = b.binary(Opcode::Iadd, acc, i);
        let one = b.iconst(1);
        let i2 = b.binary(Opcode::Iadd, i, one);
        b.jump(header, vec![acc2, i2]);
        b.switch_to_block(exit);
        let boxed = b.unary(Opcode::BoxInt, acc);
        b.ret(vec![boxed], false);
    }
    let mut m = Module::new("sum.mir");
    m.add_function(f);
    m
}

#[test]
fn a_typed_loop_runs_and_counts_back_edges() {
    let vm = load(sum_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let header_pc = proto.pc_of(Block(1), 0).expect("header pc");
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let counted = proto.backedges.load(std::sync::atomic::Ordering::Relaxed);
        let (status, frame) = run(proto, body, &[Val::int(10)]);
        assert_eq!(status, 1, "{opt:?}");
        assert_eq!(frame[0].as_int(), Some(55), "{opt:?}");
        assert_eq!(
            proto.backedges.load(std::sync::atomic::Ordering::Relaxed) - counted,
            11,
            "the function's counter counts ten iterations plus the entry edge"
        );
        let backedges = calls(|c| c.backedges.clone());
        assert_eq!(
            backedges.len(),
            11,
            "a safepoint at every back edge while the heap wants a collection"
        );
        assert!(
            backedges.iter().all(|&pc| pc as u32 == header_pc),
            "{backedges:?} vs {header_pc}"
        );
        let (status, frame) = run(proto, body, &[Val::int(100_000)]);
        assert_eq!((status, frame[0].as_int()), (1, Some(5_000_050_000)));
        let (status, frame) = run(proto, body, &[Val::int(0)]);
        assert_eq!((status, frame[0].as_int()), (1, Some(0)));
        // A failing back-edge (e.g. an error raised at a safepoint) stops the body.
        calls(|c| c.backedge_status = 1);
        let mut frame = vec![Val::int(10); proto.nslots as usize + 80];
        // SAFETY: as in `run`.
        let status = unsafe { FakeContext::new(proto).call(body, &mut frame) };
        assert_eq!(status, abi::STATUS_ERROR);
        calls(|c| *c = Calls::default());
    }
    // The interpreter agrees.
    let mut vm2 = Vm::new(None);
    let main = vm2.load(sum_module(), &RtRegistry::new()).expect("load");
    assert_eq!(
        vm2.call(main, &[Val::int(10)]).expect("run")[0].as_int(),
        Some(55)
    );
}

/// `f(x, k)` with `x` a float and `k` an int: returns `(x * 2.5 + k) / 0.5 - x`, its
/// negation, whether it is below zero, `nan == nan`, and `nan <= 1` (both false).
fn float_module() -> Module {
    let mut f = Function::new("floats");
    f.params = 2;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let x = b.append_block_param(entry, Type::Val);
        let k = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let xf = b.unary(Opcode::UnboxFloat, x);
        let ki = b.unary(Opcode::UnboxInt, k);
        let c = b.fconst(2.5);
        let m = b.binary(Opcode::Fmul, xf, c);
        let kf = b.unary(Opcode::IntToFloat, ki);
        let s = b.binary(Opcode::Fadd, m, kf);
        let half = b.fconst(0.5);
        let d = b.binary(Opcode::Fdiv, s, half);
        let r = b.binary(Opcode::Fsub, d, xf);
        let neg = b.unary(Opcode::Fneg, r);
        let zero = b.fconst(0.0);
        let below = b.binary(Opcode::FcmpLt, r, zero);
        let nan = b.fconst(f64::NAN);
        let one = b.fconst(1.0);
        let eq = b.binary(Opcode::FcmpEq, nan, nan);
        let le = b.binary(Opcode::FcmpLe, nan, one);
        let out: Vec<Value> = vec![
            b.unary(Opcode::BoxFloat, r),
            b.unary(Opcode::BoxFloat, neg),
            b.unary(Opcode::BoxBool, below),
            b.unary(Opcode::BoxBool, eq),
            b.unary(Opcode::BoxBool, le),
        ];
        b.ret(out, false);
    }
    let mut m = Module::new("floats.mir");
    m.add_function(f);
    m
}

#[test]
fn float_arithmetic_runs() {
    let vm = load(float_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let (status, frame) = run(proto, body, &[Val::float(1.5), Val::int(3)]);
        assert_eq!(status, 5);
        let r = (1.5 * 2.5 + 3.0) / 0.5 - 1.5;
        assert_eq!(frame[0].as_float(), Some(r), "{opt:?}");
        assert_eq!(frame[1].as_float(), Some(-r));
        assert_eq!(frame[2].tag(), Tag::Bool);
        assert_eq!(frame[2].payload(), 0, "not below zero");
        assert_eq!(
            (frame[3].tag(), frame[3].payload()),
            (Tag::Bool, 0),
            "nan == nan is false"
        );
        assert_eq!(
            (frame[4].tag(), frame[4].payload()),
            (Tag::Bool, 0),
            "nan <= 1 is false"
        );
        let (_, frame) = run(proto, body, &[Val::float(-10.0), Val::int(-4)]);
        assert_eq!(
            (frame[2].tag(), frame[2].payload()),
            (Tag::Bool, 1),
            "below zero"
        );
    }
}

#[test]
fn runtime_calls_take_fast_paths_inline_and_call_the_helper_otherwise() {
    let vm = load(small_module(true));
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let rtcall_pc =
        proto.inst_pc[proto.mir.blocks[0].insts[proto.mir.blocks[0].insts.len() - 2].index()];
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let (status, frame) = run(proto, body, &[Val::int(2), Val::int(3)]);
        assert_eq!(status, 3);
        assert_eq!(frame[0].as_int(), Some(9));
        assert_eq!((frame[1].tag(), frame[1].payload()), (Tag::Bool, 1));
        assert_eq!(frame[2].as_int(), Some(5), "(int, int) takes iadd inline");
        assert!(calls(|c| c.rtcalls.is_empty()));

        // Floats: `unbox.int` of a float reads its bits (as the interpreter does), so
        // only the runtime call's result matters here.
        let (_, frame) = run(proto, body, &[Val::float(0.5), Val::float(0.25)]);
        assert_eq!(
            frame[2].as_float(),
            Some(0.75),
            "(float, float) takes fadd inline"
        );
        assert!(calls(|c| c.rtcalls.is_empty()));

        let (status, frame) = run(proto, body, &[Val::int(1), Val::float(0.5)]);
        assert_eq!(status, 3);
        assert_eq!(
            frame[2].as_float(),
            Some(1001.5),
            "mixed operands call the function"
        );
        let rtcalls = calls(|c| c.rtcalls.clone());
        assert_eq!(rtcalls.len(), 1);
        let (rt, site, args, pc) = &rtcalls[0];
        assert_eq!((*rt, *site, *pc as u32), (0, 0, rtcall_pc));
        assert_eq!(args.len(), 2);
        assert_eq!((args[0].as_int(), args[1].as_float()), (Some(1), Some(0.5)));
    }
}

/// `f(g, a)`: `r0, r1, r2 = g(a, a, a)`... with the fake `lz_call` returning two results,
/// `r2` is nil; then returns them.
fn call_module() -> Module {
    let mut f = Function::new("caller");
    f.params = 2;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let g = b.append_block_param(entry, Type::Val);
        let a = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let seven = b.konst(Const::Int(7));
        let rs = b.call(g, vec![a, seven, a], false, 3);
        b.ret(rs, false);
    }
    let mut m = Module::new("call.mir");
    m.add_function(f);
    m
}

#[test]
fn call_results_are_padded_with_nil() {
    let vm = load(call_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let call_pc = proto.inst_pc[proto.mir.blocks[0].insts[1].index()];
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let callee = Val::from_raw(Tag::Native, 0x1234);
        let (status, frame) = run(proto, body, &[callee, Val::int(40)]);
        assert_eq!(status, 3);
        assert_eq!(frame[0].as_int(), Some(41));
        assert_eq!(frame[1].as_int(), Some(8));
        assert_eq!(
            frame[2].tag(),
            Tag::Nil,
            "missing results are nil, whatever is past them"
        );
        let recorded = calls(|c| c.calls.clone());
        assert_eq!(recorded.len(), 1);
        let (c, args, pc) = &recorded[0];
        assert_eq!((c.tag(), c.payload()), (Tag::Native, 0x1234));
        assert_eq!(
            args.iter().map(|v| v.as_int()).collect::<Vec<_>>(),
            vec![Some(40), Some(7), Some(40)]
        );
        assert_eq!(*pc as u32, call_pc);
    }
}

/// `f(g, a)`: `tailcall a(g, a)` (the callee's slot is overwritten by the arguments) or,
/// with `spread`, `tailcall a(g, ...varargs)`.
fn tail_module(spread: bool) -> Module {
    let mut f = Function::new("tail");
    f.params = 2;
    f.vararg = spread;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let g = b.append_block_param(entry, Type::Val);
        let a = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        if spread {
            let va = b.ins1(InstData::Nullary {
                op: Opcode::Varargs,
            });
            b.tail_call(a, vec![g, va], true);
        } else {
            b.tail_call(a, vec![g, a], false);
        }
    }
    let mut m = Module::new("tail.mir");
    m.add_function(f);
    m
}

#[test]
fn tail_calls_move_arguments_to_the_base() {
    let vm = load(tail_module(false));
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let (status, frame) = run(
            proto,
            body,
            &[Val::int(1), Val::from_raw(Tag::Native, 0x99)],
        );
        assert_eq!(status, abi::STATUS_TAIL_CALL);
        assert_eq!(frame[0].as_int(), Some(1));
        assert_eq!((frame[1].tag(), frame[1].payload()), (Tag::Native, 0x99));
        let tc = calls(|c| c.tail_calls.clone());
        assert_eq!(tc.len(), 1);
        assert_eq!(
            (tc[0].0.tag(), tc[0].0.payload(), tc[0].1),
            (Tag::Native, 0x99, 2)
        );
    }
    let vm = load(tail_module(true));
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let extra = vec![Val::int(10), Val::int(20), Val::int(30)];
    let pack = Val::from_raw(Tag::Pack, &extra as *const Vec<Val> as u64);
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        // Slot 2 is the vararg pack.
        let (status, frame) = run(
            proto,
            body,
            &[Val::int(1), Val::from_raw(Tag::Native, 0x77), pack],
        );
        assert_eq!(status, abi::STATUS_TAIL_CALL);
        let got: Vec<Option<i64>> = frame[..4].iter().map(|v| v.as_int()).collect();
        assert_eq!(got, vec![Some(1), Some(10), Some(20), Some(30)]);
        let tc = calls(|c| c.tail_calls.clone());
        assert_eq!(
            (tc[0].0.tag(), tc[0].0.payload(), tc[0].1),
            (Tag::Native, 0x77, 4)
        );
    }
}

/// `f(a, ...)`: `return ...varargs-first, a, ...varargs` as `return a, ...v` and a
/// plain swap `return b, a` when not spread.
fn return_module() -> Module {
    let mut f = Function::new("ret");
    f.params = 2;
    f.vararg = true;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let spread_bb = b.create_block();
        let swap_bb = b.create_block();
        let x = b.append_block_param(entry, Type::Val);
        let y = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let t = b.unary(Opcode::Truthy, x);
        b.brif(t, spread_bb, vec![], swap_bb, vec![]);
        b.switch_to_block(spread_bb);
        let va = b.ins1(InstData::Nullary {
            op: Opcode::Varargs,
        });
        b.ret(vec![y, x, va], true);
        b.switch_to_block(swap_bb);
        b.ret(vec![y, x], false);
    }
    let mut m = Module::new("ret.mir");
    m.add_function(f);
    m
}

#[test]
fn returns_read_every_value_before_writing_and_spread_packs() {
    let vm = load(return_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let extra = vec![Val::int(7), Val::float(8.5)];
    let pack = Val::from_raw(Tag::Pack, &extra as *const Vec<Val> as u64);
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let (status, frame) = run(proto, body, &[Val::int(1), Val::int(2), pack]);
        assert_eq!(status, 4, "{opt:?}");
        assert_eq!(frame[0].as_int(), Some(2));
        assert_eq!(frame[1].as_int(), Some(1));
        assert_eq!(frame[2].as_int(), Some(7));
        assert_eq!(frame[3].as_float(), Some(8.5));
        let (status, frame) = run(proto, body, &[Val::bool(false), Val::int(2), pack]);
        assert_eq!(status, 2, "falsy first argument: the swap");
        assert_eq!(frame[0].as_int(), Some(2));
        assert_eq!((frame[1].tag(), frame[1].payload()), (Tag::Bool, 0));
        let (status, _) = run(proto, body, &[Val::NIL, Val::int(2), pack]);
        assert_eq!(status, 2, "nil is falsy");
    }
}

/// A fake cell object: a header word, then the value.
#[repr(C)]
struct FakeCell {
    header: u64,
    value: Val,
}

/// `f(cell, x)`: `old = cell.get cell; cell.set cell, x; return old, tag(x)`.
fn cell_module() -> Module {
    let mut f = Function::new("cells");
    f.params = 2;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let c = b.append_block_param(entry, Type::Val);
        let x = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let old = b.unary(Opcode::CellGet, c);
        b.ins(InstData::Binary {
            op: Opcode::CellSet,
            args: [c, x],
        });
        let t = b.unary(Opcode::Tag, x);
        let bt = b.unary(Opcode::BoxInt, t);
        b.ret(vec![old, bt], false);
    }
    let mut m = Module::new("cells.mir");
    m.add_function(f);
    m
}

#[test]
fn cells_are_read_and_written_inline() {
    assert_eq!(
        std::mem::offset_of!(FakeCell, value) as u64,
        abi::CELL_VALUE_OFFSET
    );
    let vm = load(cell_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let mut cell = Box::new(FakeCell {
            header: 0,
            value: Val::int(5),
        });
        let cv = Val::from_raw(Tag::Cell, &mut *cell as *mut FakeCell as u64);
        let (status, frame) = run(proto, body, &[cv, Val::float(2.5)]);
        assert_eq!(status, 2);
        assert_eq!(frame[0].as_int(), Some(5));
        assert_eq!(frame[1].as_int(), Some(Tag::Float as i64));
        assert_eq!(cell.value.as_float(), Some(2.5));
        assert_eq!(cell.header, 0);
    }
}

/// `f(x)`: `guard.tag x, int, snap0; return x`.
fn guard_module() -> Module {
    let mut f = Function::new("guarded");
    f.params = 1;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let x = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        b.guard(Opcode::GuardTag, x, Tag::Int as i64, SnapId(0));
        let xi = b.unary(Opcode::UnboxInt, x);
        let pos = b.iconst(0);
        let ok = b.binary(Opcode::IcmpLt, pos, xi);
        b.guard(Opcode::Guard, ok, 0, SnapId(0));
        b.ret(vec![x], false);
    }
    f.snapshots.push(Snapshot {
        resume: ResumeAt {
            block: Block(0),
            index: 0,
        },
        entries: vec![(Value::new(0), SnapSource::Value(Value::new(0)))],
        blame: None,
        unreached: false,
    });
    let mut m = Module::new("guard.mir");
    m.add_function(f);
    m
}

#[test]
fn failed_guards_deoptimize_at_their_snapshot_and_position() {
    let vm = load(guard_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let first_pc = proto.inst_pc[proto.mir.blocks[0].insts[0].index()] as i32;
    let second_pc = proto.inst_pc[proto.mir.blocks[0].insts[4].index()] as i32;
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let (status, frame) = run(proto, body, &[Val::int(3)]);
        assert_eq!((status, frame[0].as_int()), (1, Some(3)));
        assert!(calls(|c| c.guards.is_empty()));
        // The snapshot's value (the parameter) is in its slot when `lz_deopt` runs, and
        // the body returns what it reports.
        let (status, frame) = run(proto, body, &[Val::float(3.0)]);
        assert_eq!(status, DEOPT_STATUS);
        assert_eq!(frame[0].as_float(), Some(3.0));
        assert_eq!(calls(|c| c.guards.clone()), vec![(0, first_pc)]);
        let (status, frame) = run(proto, body, &[Val::int(-3)]);
        assert_eq!(status, DEOPT_STATUS);
        assert_eq!(frame[0].as_int(), Some(-3));
        assert_eq!(calls(|c| c.guards.clone()), vec![(0, second_pc)]);
    }
}

/// `f(g, x, mode)`: with `WIDE` values (`x`, then 1, 2, ...): mode 0 returns them, mode 1
/// calls `g` with them keeping `WIDE` results, and returns those; mode 2 tail-calls `g`
/// with them.
fn wide_module() -> Module {
    let mut f = Function::new("wide");
    f.params = 3;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let ret_bb = b.create_block();
        let not_ret = b.create_block();
        let call_bb = b.create_block();
        let tail_bb = b.create_block();
        let g = b.append_block_param(entry, Type::Val);
        let x = b.append_block_param(entry, Type::Val);
        let mode = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let mut vals = vec![x];
        for i in 1..WIDE {
            vals.push(b.konst(Const::Int(i as i64)));
        }
        let m = b.unary(Opcode::UnboxInt, mode);
        let zero = b.iconst(0);
        let one = b.iconst(1);
        let is0 = b.binary(Opcode::IcmpEq, m, zero);
        b.brif(is0, ret_bb, vec![], not_ret, vec![]);
        b.switch_to_block(ret_bb);
        b.ret(vals.clone(), false);
        b.switch_to_block(not_ret);
        let is1 = b.binary(Opcode::IcmpEq, m, one);
        b.brif(is1, call_bb, vec![], tail_bb, vec![]);
        b.switch_to_block(call_bb);
        let rs = b.call(g, vals.clone(), false, WIDE);
        b.ret(rs, false);
        b.switch_to_block(tail_bb);
        b.tail_call(g, vals, false);
    }
    let mut m = Module::new("wide.mir");
    m.add_function(f);
    m
}

#[test]
fn wide_calls_and_returns_stage_through_a_pack() {
    let vm = load(wide_module());
    let (proto, module) = (&module_of(&vm).protos[0], module_of(&vm));
    let expect: Vec<Option<i64>> = (0..WIDE as i64)
        .map(|i| Some(if i == 0 { 100 } else { i }))
        .collect();
    let g = Val::from_raw(Tag::Native, 0x55);
    for opt in LEVELS {
        let (_session, body) = jit(proto, module, opt);
        let (status, frame) = run(proto, body, &[g, Val::int(100), Val::int(0)]);
        assert_eq!(status, WIDE as i64, "{opt:?}");
        assert_eq!(
            frame[..WIDE].iter().map(|v| v.as_int()).collect::<Vec<_>>(),
            expect
        );

        let (status, frame) = run(proto, body, &[g, Val::int(100), Val::int(1)]);
        assert_eq!(status, WIDE as i64);
        let recorded = calls(|c| c.calls.clone());
        assert_eq!(
            recorded[0].1.iter().map(|v| v.as_int()).collect::<Vec<_>>(),
            expect,
            "arguments"
        );
        // The fake returns args[i] + 1 for all but the last argument: the last result is nil.
        let got: Vec<Option<i64>> = frame[..WIDE].iter().map(|v| v.as_int()).collect();
        let want: Vec<Option<i64>> = expect
            .iter()
            .enumerate()
            .map(|(i, v)| if i + 1 < WIDE { v.map(|v| v + 1) } else { None })
            .collect();
        assert_eq!(got, want);
        assert_eq!(frame[WIDE - 1].tag(), Tag::Nil);

        let (status, frame) = run(proto, body, &[g, Val::int(100), Val::int(2)]);
        assert_eq!(status, abi::STATUS_TAIL_CALL);
        assert_eq!(
            frame[..WIDE].iter().map(|v| v.as_int()).collect::<Vec<_>>(),
            expect
        );
        let tc = calls(|c| c.tail_calls.clone());
        assert_eq!(
            (tc[0].0.tag(), tc[0].0.payload(), tc[0].1 as usize),
            (Tag::Native, 0x55, WIDE)
        );
    }
}
