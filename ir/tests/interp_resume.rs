//! The interpreter resumes a function in the middle of a loop from a hand-built
//! snapshot (the deopt landing pad), and counts calls and back-edges as it runs.

use std::sync::atomic::Ordering;

use lazyjit_ir::interp::{resume, RtRegistry, Vm};
use lazyjit_ir::rt::Val;
use lazyjit_ir::{Block, Function, FunctionBuilder, Module, Opcode, ResumeAt, Type, Value};

/// `sum(n)`: 1 + 2 + ... + n with typed integer arithmetic and a loop.
fn sum_module() -> (Module, [Value; 4]) {
    let mut f = Function::new("sum");
    f.params = 1;
    let (n, acc, i, acc2);
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let header = b.create_block();
        let body = b.create_block();
        let exit = b.create_block();
        let p = b.append_block_param(entry, Type::Val);
        b.switch_to_block(entry);
        n = b.unary(Opcode::UnboxInt, p);
        let zero = b.iconst(0);
        let one = b.iconst(1);
        b.jump(header, vec![zero, one]);
        b.set_loop_header(header);
        acc = b.append_block_param(header, Type::I64);
        i = b.append_block_param(header, Type::I64);
        b.switch_to_block(header);
        let go = b.binary(Opcode::IcmpLe, i, n);
        b.brif(go, body, vec![], exit, vec![]);
        b.switch_to_block(body);
        acc2 = b.binary(Opcode::Iadd, acc, i);
        let one = b.iconst(1);
        let i2 = b.binary(Opcode::Iadd, i, one);
        b.jump(header, vec![acc2, i2]);
        b.switch_to_block(exit);
        let boxed = b.unary(Opcode::BoxInt, acc);
        b.ret(vec![boxed], false);
    }
    let mut m = Module::new("sum.mir");
    m.add_function(f);
    (m, [n, acc, i, acc2])
}

fn load() -> (Vm, Val, [Value; 4]) {
    let (m, values) = sum_module();
    lazyjit_ir::verify_module(&m).expect("valid MIR");
    let mut vm = Vm::new(None);
    let main = vm.load(m, &RtRegistry::new()).expect("load");
    (vm, main, values)
}

#[test]
fn runs_from_the_start() {
    let (mut vm, main, _) = load();
    let r = vm.call(main, &[Val::int(10)]).expect("run");
    assert_eq!(r[0].as_int(), Some(55));
    let proto = &vm.modules()[0].protos[0];
    assert_eq!(proto.calls.load(Ordering::Relaxed), 1);
    assert_eq!(proto.backedges.load(Ordering::Relaxed), 11, "ten loop iterations plus the entry edge");
}

#[test]
fn resumes_at_the_loop_header() {
    let (mut vm, main, [n, acc, i, _]) = load();
    // As if 1..9 had already been added: acc = 45, i = 10.
    let at = ResumeAt { block: Block(1), index: 0 };
    let r = resume(&mut vm, main, at, &[(n, Val::int(10)), (acc, Val::int(45)), (i, Val::int(10))]).expect("resume");
    assert_eq!(r[0].as_int(), Some(55));
}

#[test]
fn resumes_mid_block_with_values_the_loop_never_computed() {
    let (mut vm, main, [n, _, i, acc2]) = load();
    // Resume in the loop body after `acc2 = acc + i`, with acc2 = 100 and i = 3, n = 5:
    // the rest of the loop adds 4 and 5.
    let at = ResumeAt { block: Block(2), index: 1 };
    let r = resume(&mut vm, main, at, &[(n, Val::int(5)), (i, Val::int(3)), (acc2, Val::int(100))]).expect("resume");
    assert_eq!(r[0].as_int(), Some(109));
    let proto = &vm.modules()[0].protos[0];
    assert_eq!(proto.calls.load(Ordering::Relaxed), 0, "a resumed frame is not a new call");
}

#[test]
fn resume_rejects_a_block_that_does_not_exist() {
    let (mut vm, main, _) = load();
    let at = ResumeAt { block: Block(9), index: 0 };
    assert!(resume(&mut vm, main, at, &[]).is_err());
}
