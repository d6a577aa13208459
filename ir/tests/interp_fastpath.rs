//! Declared typed fast paths of runtime functions: checked when declared, taken by the
//! interpreter when the operand tags match, and the slow function otherwise.

use lazyjit_ir::interp::{Effects, FloatPromotion, VmResult, RtRegistry, Vm};
use lazyjit_ir::rt::{Tag, Val};
use lazyjit_ir::{Function, FunctionBuilder, Module, Opcode, Type};

/// The slow path adds 1000 so the tests can tell which path ran.
fn slow_add(_: &mut Vm, args: &[Val]) -> VmResult<Val> {
    let num = |v: Val| v.as_int().map(|i| i as f64).or(v.as_float()).unwrap_or(0.0);
    Ok(Val::float(num(args[0]) + num(args[1]) + 1000.0))
}

fn registry() -> RtRegistry {
    let mut r = RtRegistry::new();
    r.register("t.add", slow_add, Type::Val, Effects::default());
    r.declare_fast_path("t.add", [Tag::Int, Tag::Int], Opcode::Iadd).expect("iadd fits (int, int)");
    r.declare_fast_path("t.add", [Tag::Float, Tag::Float], Opcode::Fadd).expect("fadd fits (float, float)");
    r
}

fn add_module() -> Module {
    let mut m = Module::new("add.mir");
    let rt = m.declare_rt("t.add", Type::Val);
    let mut f = Function::new("add");
    f.params = 2;
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let x = b.append_block_param(entry, Type::Val);
        let y = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        let site = Some(b.new_site());
        let r = b.rtcall(rt, Type::Val, vec![x, y], false, site);
        b.ret(vec![r], false);
    }
    m.add_function(f);
    m
}

#[test]
fn fast_paths_must_fit_the_tags_and_result() {
    let mut r = registry();
    assert!(r.declare_fast_path("t.add", [Tag::Int, Tag::Float], Opcode::Iadd).is_err());
    assert!(r.declare_fast_path("t.add", [Tag::Int, Tag::Int], Opcode::IcmpLt).is_err(), "i1 result for a val function");
    assert!(r.declare_fast_path("t.add", [Tag::Int, Tag::Int], Opcode::CellNew).is_err(), "not pure");
    assert!(r.declare_fast_path("missing", [Tag::Int, Tag::Int], Opcode::Iadd).is_err());
}

#[test]
fn float_promotions_must_be_float_ops_of_value_functions() {
    let mut r = registry();
    let promote = |op| FloatPromotion { op, ints_too: false };
    assert!(r.declare_float_promotion("t.add", promote(Opcode::Fadd)).is_ok());
    assert_eq!(r.get("t.add").and_then(|e| e.promotion), Some(promote(Opcode::Fadd)));
    assert!(r.declare_float_promotion("t.add", promote(Opcode::Iadd)).is_err(), "not a float op");
    assert!(r.declare_float_promotion("t.add", promote(Opcode::FcmpLt)).is_err(), "not a float result");
    assert!(r.declare_float_promotion("t.add", promote(Opcode::Fneg)).is_err(), "one operand");
    assert!(r.declare_float_promotion("missing", promote(Opcode::Fadd)).is_err());
    r.register("t.half", slow_add, Type::F64, Effects::default());
    assert!(r.declare_float_promotion("t.half", promote(Opcode::Fadd)).is_err(), "not a val function");
}

#[test]
fn interpreter_takes_the_fast_path_only_when_tags_match() {
    let mut vm = Vm::new(None);
    let f = vm.load(add_module(), &registry()).expect("load");
    let r = vm.call(f, &[Val::int(2), Val::int(3)]).expect("call");
    assert_eq!(r[0].as_int(), Some(5), "(int, int) takes iadd");
    let r = vm.call(f, &[Val::float(0.5), Val::float(0.25)]).expect("call");
    assert_eq!(r[0].as_float(), Some(0.75), "(float, float) takes fadd");
    let r = vm.call(f, &[Val::int(1), Val::float(0.5)]).expect("call");
    assert_eq!(r[0].as_float(), Some(1001.5), "mixed operands take the function");
    let site = &vm.modules()[0].protos[0].sites[0];
    assert_eq!(site.operand_tags(0), (1 << Tag::Int as u16) | (1 << Tag::Float as u16), "operand 0: ints and floats");
    assert_eq!(site.operand_tags(1), (1 << Tag::Int as u16) | (1 << Tag::Float as u16), "operand 1: ints and floats");
}
