//! Host symbols, eagerly added objects, lookups and compile errors.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};

use common::{add_const, as_fn, call_plus};
use lazyjit_orc::inkwell::context::Context;
use lazyjit_orc::{compile_module, ObjectBuffer, OptLevel, OrcError, Session};

static HOST_CALLS: AtomicI64 = AtomicI64::new(0);

extern "C" fn lz_host_counter(x: i64) -> i64 {
    HOST_CALLS.fetch_add(1, Ordering::SeqCst);
    x * 10
}

#[test]
fn jit_code_calls_a_host_symbol() {
    let session = Session::new().expect("session");
    session
        .define_host_symbols(&[(
            "lz_host_counter",
            lz_host_counter as extern "C" fn(i64) -> i64 as usize as u64,
        )])
        .expect("define host symbol");
    session
        .add_object(&call_plus("via_host", "lz_host_counter", 1))
        .expect("add object");
    let f = unsafe { as_fn(session.lookup("via_host").expect("lookup")) };
    assert_eq!(unsafe { f(4) }, 41);
    assert_eq!(unsafe { f(-2) }, -19);
    assert_eq!(HOST_CALLS.load(Ordering::SeqCst), 2);
    assert!(session.take_errors().is_empty());
}

#[test]
fn compiled_object_is_added_looked_up_and_called() {
    let session = Session::new().expect("session");
    let object = add_const("add1", 1);
    assert!(object.as_bytes().starts_with(b"\x7fELF"), "an ELF object");
    session.add_object(&object).expect("add object");
    let add1 = unsafe { as_fn(session.lookup("add1").expect("lookup")) };
    assert_eq!(unsafe { add1(41) }, 42);
    assert_eq!(session.stats().materializer_runs, 0);
}

#[test]
fn every_opt_level_compiles_to_working_code() {
    for (i, opt) in [OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3]
        .into_iter()
        .enumerate()
    {
        let session = Session::new().expect("session");
        let cx = Context::create();
        let m = cx.create_module("m");
        let i64t = cx.i64_type();
        let f = m.add_function("twice", i64t.fn_type(&[i64t.into()], false), None);
        let b = cx.create_builder();
        b.position_at_end(cx.append_basic_block(f, "entry"));
        let x = f.get_nth_param(0).expect("param").into_int_value();
        let y = b.build_int_add(x, x, "y").expect("add");
        b.build_return(Some(&y)).expect("ret");
        session
            .add_object(&compile_module(&m, opt).expect("compile"))
            .expect("add");
        let twice = unsafe { as_fn(session.lookup("twice").expect("lookup")) };
        assert_eq!(
            unsafe { twice(i as i64 + 1) },
            2 * (i as i64 + 1),
            "{opt:?}"
        );
    }
}

#[test]
fn looking_up_an_unknown_name_is_an_llvm_error() {
    let session = Session::new().expect("session");
    match session.lookup("no_such_function") {
        Err(OrcError::Llvm { message, .. }) => {
            assert!(message.contains("no_such_function"), "{message}")
        }
        other => panic!("expected an LLVM error, got {other:?}"),
    }
    assert!(matches!(
        session.lookup("a\0b"),
        Err(OrcError::InvalidName(_))
    ));
}

#[test]
fn invalid_ir_is_refused_before_codegen() {
    let cx = Context::create();
    let m = cx.create_module("broken");
    let i64t = cx.i64_type();
    let f = m.add_function("no_terminator", i64t.fn_type(&[], false), None);
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    b.build_int_add(i64t.const_int(1, false), i64t.const_int(2, false), "x")
        .expect("add");
    match compile_module(&m, OptLevel::O0) {
        Err(OrcError::InvalidModule { module, message }) => {
            assert_eq!(module, "broken");
            assert!(!message.is_empty());
        }
        other => panic!("expected InvalidModule, got {other:?}"),
    }
}

#[test]
fn a_malformed_object_is_refused() {
    let session = Session::new().expect("session");
    let err = session
        .add_object(&ObjectBuffer::from_bytes(b"not an object".to_vec()))
        .expect_err("garbage");
    assert!(matches!(err, OrcError::Llvm { .. }), "{err}");
}

#[test]
fn duplicate_definitions_are_refused() {
    let session = Session::new().expect("session");
    session
        .define_host_symbols(&[("dup", 0x1000)])
        .expect("first");
    let err = session
        .define_host_symbols(&[("dup", 0x2000)])
        .expect_err("second");
    assert!(err.to_string().contains("dup"), "{err}");
    assert_eq!(session.lookup("dup").expect("lookup"), 0x1000);
}
