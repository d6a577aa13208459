//! Tiny IR builders shared by the integration tests. Each builds its own
//! module in its own context and compiles it at O0.
#![allow(dead_code)]

use lazyjit_orc::inkwell::context::Context;
use lazyjit_orc::inkwell::module::{Linkage, Module};
use lazyjit_orc::inkwell::values::BasicValue;
use lazyjit_orc::inkwell::AtomicOrdering;
use lazyjit_orc::{compile_module, ObjectBuffer, OptLevel};

/// A JIT function of type `i64 (i64)`.
pub type I64Fn = unsafe extern "C" fn(i64) -> i64;

/// Reinterprets a JIT address as an `i64 (i64)` function.
///
/// # Safety
/// `address` must be the entry of a function of that type that stays alive.
pub unsafe fn as_fn(address: u64) -> I64Fn {
    assert_ne!(address, 0, "null function address");
    // SAFETY: by the caller's contract.
    unsafe { std::mem::transmute::<usize, I64Fn>(address as usize) }
}

fn finish(module: &Module<'_>) -> ObjectBuffer {
    compile_module(module, OptLevel::O0).expect("compile test module")
}

/// `i64 @name(i64 %x) { ret x + k }`
pub fn add_const(name: &str, k: i64) -> ObjectBuffer {
    let cx = Context::create();
    let m = cx.create_module(name);
    let i64t = cx.i64_type();
    let f = m.add_function(name, i64t.fn_type(&[i64t.into()], false), None);
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    let x = f.get_nth_param(0).expect("param").into_int_value();
    let sum = b
        .build_int_add(x, i64t.const_int(k as u64, true), "sum")
        .expect("add");
    b.build_return(Some(&sum)).expect("ret");
    finish(&m)
}

/// `i64 @name(i64 %x) { ret callee(x) + k }`, `callee` declared external.
pub fn call_plus(name: &str, callee: &str, k: i64) -> ObjectBuffer {
    let cx = Context::create();
    let m = cx.create_module(name);
    let i64t = cx.i64_type();
    let ty = i64t.fn_type(&[i64t.into()], false);
    let f = m.add_function(name, ty, None);
    let g = m.add_function(callee, ty, Some(Linkage::External));
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    let x = f.get_nth_param(0).expect("param").into_int_value();
    let r = b
        .build_call(g, &[x.into()], "r")
        .expect("call")
        .try_as_basic_value()
        .basic()
        .expect("value")
        .into_int_value();
    let sum = b
        .build_int_add(r, i64t.const_int(k as u64, true), "sum")
        .expect("add");
    b.build_return(Some(&sum)).expect("ret");
    finish(&m)
}

/// `i64 @name(i64 %x) { %f = load atomic acquire @slot; ret %f(x) }`
pub fn call_through_slot(name: &str, slot: &str) -> ObjectBuffer {
    let cx = Context::create();
    let m = cx.create_module(name);
    let i64t = cx.i64_type();
    let ptr = cx.ptr_type(Default::default());
    let ty = i64t.fn_type(&[i64t.into()], false);
    let f = m.add_function(name, ty, None);
    let g = m.add_global(ptr, None, slot);
    g.set_linkage(Linkage::External);
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    let x = f.get_nth_param(0).expect("param").into_int_value();
    let load = b
        .build_load(ptr, g.as_pointer_value(), "target")
        .expect("load");
    let inst = load.as_instruction_value().expect("instruction");
    inst.set_atomic_ordering(AtomicOrdering::Acquire)
        .expect("acquire");
    inst.set_alignment(8).expect("align");
    let r = b
        .build_indirect_call(ty, load.into_pointer_value(), &[x.into()], "r")
        .expect("call")
        .try_as_basic_value()
        .basic()
        .expect("value");
    b.build_return(Some(&r)).expect("ret");
    finish(&m)
}
