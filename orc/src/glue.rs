//! The host helpers compiled code calls (see [`crate::abi`] for the contract).
//!
//! Each helper does what the interpreter does for the same instruction, with the
//! running frame's position set first, so errors get the same positions and messages
//! in every tier. A helper never unwinds into compiled code: a Rust panic inside one
//! aborts the process with a message (`extern "C"`), and Lua errors come back as a
//! status with the error left in [`Vm::jit_error`].

use std::sync::atomic::{AtomicU32, Ordering};

use lazyjit_ir::interp::compiled;
use lazyjit_ir::interp::exec::locate;
use lazyjit_ir::interp::{access, ChainFn, VmError, Proto, RegVal, Vm};
use lazyjit_ir::rt::object::{lookup_epoch, Cell, Closure, LookupCache, Table};
use lazyjit_ir::rt::{Tag, Val};

use crate::abi;

/// The running frame's function, after noting that it stopped at `pc`.
///
/// # Safety
/// `vm` has a running frame whose proto is loaded.
unsafe fn running(vm: &mut Vm, pc: i32) -> &'static Proto {
    compiled::enter_helper(vm);
    let frame = vm.frames.last_mut().expect("compiled code runs in a frame");
    frame.pc = pc as u32;
    // SAFETY: frame protos belong to loaded modules, which outlive the run.
    unsafe { &*frame.proto }
}

/// Stores a failure for the body to report.
fn fail(vm: &mut Vm, proto: &Proto, pc: i32, e: VmError) -> i32 {
    let e = locate(vm, proto, pc as usize, e);
    vm.jit_error = Some(e);
    1
}

unsafe extern "C" fn lz_rtcall(
    vm: *mut Vm,
    rt: i32,
    site: i32,
    args: *const Val,
    nargs: i32,
    out: *mut Val,
    pc: i32,
) -> i32 {
    // SAFETY: the ABI: a live VM, `nargs` values at `args`, `out` a frame slot.
    unsafe {
        let vm = &mut *vm;
        let proto = running(vm, pc);
        let args = std::slice::from_raw_parts(args, nargs as usize);
        if let Some(s) = proto.sites.get(site as usize) {
            s.record(args);
        }
        let module = &*proto.module;
        let f = module.runtime[proto.refs.rts[rt as usize].index()].f;
        // Arguments staged on the value stack (a spread call) must stay below `top`, or a
        // metamethod the function calls would build its frame over them.
        let saved_top = vm.top;
        if let Some(first) = vm.stack_slot_of(args.as_ptr()) {
            vm.top = vm.top.max(first + args.len());
        }
        let r = f(vm, args);
        vm.top = saved_top;
        match r {
            Ok(v) => {
                *out = v;
                0
            }
            Err(e) => fail(vm, proto, pc, e),
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn lz_rtcall_v(
    vm: *mut Vm,
    rt: i32,
    site: i32,
    pc: i32,
    nargs: i32,
    t0: u64,
    p0: u64,
    t1: u64,
    p1: u64,
    t2: u64,
    p2: u64,
) -> RegVal {
    let val = |t: u64, p: u64| Val::from_raw(Tag::from_u8(t as u8).unwrap_or(Tag::Nil), p);
    let args = [val(t0, p0), val(t1, p1), val(t2, p2)];
    let n = (nargs as usize).min(args.len());
    let mut out = Val::NIL;
    // SAFETY: the ABI: a live VM; the arguments are on this stack, not the value stack.
    let status = unsafe { lz_rtcall(vm, rt, site, args.as_ptr(), n as i32, &mut out, pc) };
    if status != 0 {
        return RegVal { tag: abi::ERROR_TAG, payload: 0 };
    }
    RegVal::of(out)
}

unsafe extern "C" fn lz_rtcall_v2(vm: *mut Vm, call: u64, t0: u64, p0: u64, t1: u64, p1: u64) -> RegVal {
    let (rt, nargs, site, pc) = abi::unpack_rtcall(call);
    // SAFETY: the ABI of `lz_rtcall_v`, with the fields unpacked.
    unsafe { lz_rtcall_v(vm, rt as i32, site as i32, pc as i32, nargs as i32, t0, p0, t1, p1, 0, 0) }
}

unsafe extern "C" fn lz_call(
    vm: *mut Vm,
    callee: *const Val,
    at: *mut Val,
    nargs: i32,
    pc: i32,
    nret: *mut i32,
) -> i32 {
    // SAFETY: the ABI: `at` is the end of the running frame on the value stack.
    unsafe {
        let vm = &mut *vm;
        let proto = running(vm, pc);
        let f = *callee;
        let at = vm.slot_index(at);
        let saved_top = vm.top;
        vm.top = at + nargs as usize;
        // Compiled code calls compiled code directly; anything else goes through the VM.
        let closure = f.payload() as *mut Closure;
        let r = match (f.tag() == Tag::Func)
            .then(|| compiled::entry_of(closure))
            .flatten()
        {
            Some(body) => {
                let n = compiled::call_compiled(vm, closure, body, at, nargs as usize);
                vm.top = saved_top;
                if n >= 0 {
                    *nret = n as i32;
                    return 0;
                }
                Err(vm.jit_error.take().unwrap_or_else(|| VmError::msg("compiled code failed without an error")))
            }
            None => vm.call_at(f, at, nargs as usize),
        };
        vm.top = saved_top;
        match r {
            Ok(n) => {
                *nret = n as i32;
                0
            }
            Err(e) => fail(vm, proto, pc, e),
        }
    }
}

unsafe extern "C" fn lz_stage_pack(
    vm: *mut Vm,
    pack: *const Val,
    at: *mut Val,
    n: *mut i32,
) -> i32 {
    // SAFETY: the ABI: `pack` holds a pack value, `at` points into the value stack.
    unsafe {
        let vm = &mut *vm;
        let p = *pack;
        let vals: &[Val] = if p.tag() == Tag::Pack {
            &access::pack_of(p).vals
        } else {
            &[]
        };
        let index = vm.slot_index(at);
        if vm.ensure_stack(index, vals.len()).is_err() {
            let frame = *vm.frames.last().expect("a frame");
            let proto = &*frame.proto;
            return fail(vm, proto, frame.pc as i32, VmError::msg("stack overflow"));
        }
        for (i, &v) in vals.iter().enumerate() {
            *at.add(i) = v;
        }
        *n = vals.len() as i32;
        0
    }
}

unsafe extern "C" fn lz_tail_call(vm: *mut Vm, callee: *const Val, nargs: i32, pc: i32) {
    // SAFETY: the ABI.
    unsafe {
        let vm = &mut *vm;
        running(vm, pc);
        vm.tail_call = Some((*callee, nargs as usize));
    }
}

unsafe extern "C" fn lz_new_pack(vm: *mut Vm, vals: *const Val, n: i32, out: *mut Val) -> i32 {
    // SAFETY: the ABI.
    unsafe {
        let vals = std::slice::from_raw_parts(vals, n as usize).to_vec();
        *out = (*vm).new_pack(&vals);
    }
    0
}

unsafe extern "C" fn lz_pack_get(pack: *const Val, index: i32, out: *mut Val) {
    // SAFETY: the ABI: `pack` holds a pack value.
    unsafe {
        let p = access::pack_of(*pack);
        *out = p.vals.get(index as usize).copied().unwrap_or(Val::NIL);
    }
}

unsafe extern "C" fn lz_pack_len(pack: *const Val) -> i64 {
    // SAFETY: the ABI: `pack` holds a pack value.
    unsafe { access::pack_of(*pack).vals.len() as i64 }
}

unsafe extern "C" fn lz_cell_new(vm: *mut Vm, value: *const Val, out: *mut Val) {
    // SAFETY: the ABI.
    unsafe { *out = (*vm).new_cell(*value) };
}

unsafe extern "C" fn lz_upval(closure: *mut Closure, index: i32, out: *mut Val) {
    // SAFETY: the ABI: the running closure; the verifier checked the index.
    unsafe {
        let cell: *mut Cell = (*closure).cells()[index as usize];
        *out = Val::from_raw(Tag::Cell, cell as u64);
    }
}

unsafe extern "C" fn lz_globals(vm: *mut Vm, out: *mut Val) {
    // SAFETY: the ABI.
    unsafe { *out = Val::from_raw(Tag::Table, (*vm).globals as u64) };
}

/// Remembers hash-part entry `i` in an instruction's inline-cache word.
fn fill_cache(cache: *const AtomicU32, i: usize) {
    // SAFETY: the ABI: `cache` is the instruction's word in its function's `ics`.
    unsafe { (*cache).store(i as u32, Ordering::Relaxed) };
}

unsafe extern "C" fn lz_hash_get(table: *mut Table, key: u64, cache: *const AtomicU32) -> RegVal {
    // SAFETY: the ABI: a live table and a string object.
    let t = unsafe { &*table };
    match t.hash_entry_of(Val::from_raw(Tag::Str, key)) {
        Some((i, v)) => {
            fill_cache(cache, i);
            RegVal::of(v)
        }
        None => RegVal::MISS,
    }
}

unsafe extern "C" fn lz_hash_set(table: *mut Table, key: u64, tag: u64, payload: u64, cache: *const AtomicU32) -> i32 {
    let Some(tag) = Tag::from_u8(tag as u8) else { return 0 };
    // SAFETY: the ABI: a live table and a string object; the VM is single-threaded.
    let t = unsafe { &mut *table };
    match t.hash_entry_of(Val::from_raw(Tag::Str, key)) {
        Some((i, _)) => {
            t.set_hash_entry(i, Val::from_raw(tag, payload));
            fill_cache(cache, i);
            1
        }
        None => 0,
    }
}

unsafe extern "C" fn lz_hash_find(table: *mut Table, key: u64, cache: *const AtomicU32) -> i64 {
    // SAFETY: the ABI: a live table and a string object.
    let t = unsafe { &*table };
    match t.hash_entry_of(Val::from_raw(Tag::Str, key)) {
        Some((i, _)) => {
            fill_cache(cache, i);
            i as i64
        }
        None => -1,
    }
}

unsafe extern "C" fn lz_elems_are(table: *mut Table, tag: u64) -> i64 {
    let Some(tag) = Tag::from_u8(tag as u8) else { return 0 };
    // SAFETY: the ABI: a live table; the VM is single-threaded.
    unsafe { (*table).elems_are(tag) as i64 }
}

unsafe extern "C" fn lz_arr_reserve(vm: *mut Vm, table: *mut Table, n: i64) {
    // SAFETY: the ABI: the running VM and a live table; the VM is single-threaded.
    unsafe {
        let grew = (*table).reserve(usize::try_from(n).unwrap_or(0));
        (*vm).heap.account(grew);
    }
}

unsafe extern "C" fn lz_hash_store(table: *mut Table, entry: i64, tag: u64, payload: u64) {
    let tag = Tag::from_u8(tag as u8).unwrap_or(Tag::Nil);
    // SAFETY: the ABI: a live table whose entry `hash.find` gave; the VM is single-threaded.
    unsafe { (*table).set_hash_entry_at(entry, Val::from_raw(tag, payload)) };
}

unsafe extern "C" fn lz_hash_lookup(
    vm: *mut Vm,
    table: *mut Table,
    key: u64,
    word: *const AtomicU32,
    cache: *mut LookupCache,
    chain: ChainFn,
) -> RegVal {
    // SAFETY: the ABI: a live VM and table, a string object, the instruction's words and
    // the runtime function's chain lookup.
    unsafe {
        let t = &*table;
        if let Some((i, v)) = t.hash_entry_of(Val::from_raw(Tag::Str, key)) {
            fill_cache(word, i);
            return RegVal::of(v);
        }
        let meta = t.meta;
        if meta.is_null() {
            return RegVal::of(Val::NIL);
        }
        if let Some(v) = (*cache).get(meta) {
            return RegVal::of(v);
        }
        let epoch = lookup_epoch();
        let found = chain(vm, meta, key);
        if let Some(tag) = Tag::from_u8(found.tag as u8) {
            (*cache).fill(epoch, meta, Val::from_raw(tag, found.payload));
        }
        found
    }
}

unsafe extern "C" fn lz_closure(
    vm: *mut Vm,
    proto: *const Proto,
    func: i32,
    cells: *const Val,
    n: i32,
    out: *mut Val,
) {
    // SAFETY: the ABI: `proto` is the running code's (a version's in optimized code),
    // `func` a local number of its; `n` cell values at `cells`.
    unsafe {
        let proto = &*proto;
        let module = &*proto.module;
        let target: *const Proto = &module.protos[proto.refs.funcs[func as usize].index()];
        let cells: Vec<*mut Cell> = std::slice::from_raw_parts(cells, n as usize)
            .iter()
            .map(|c| c.payload() as *mut Cell)
            .collect();
        *out = (*vm).new_closure(target, &cells);
    }
}

unsafe extern "C" fn lz_backedge(vm: *mut Vm, pc: i32) -> i32 {
    // SAFETY: the ABI.
    unsafe {
        let vm = &mut *vm;
        running(vm, pc);
        vm.safepoint();
        if let Err(e) = vm.check_interrupt() {
            vm.jit_error = Some(e);
            return 1;
        }
    }
    0
}

unsafe extern "C" fn lz_deopt(vm: *mut Vm, snap: i32, pc: i32) -> i64 {
    // SAFETY: the ABI: a live VM running the optimized body's frame.
    unsafe { compiled::deopt(&mut *vm, snap as u32, pc as u32) }
}

unsafe extern "C" fn lz_enter_version(vm: *mut Vm, proto: *const Proto) -> i64 {
    // SAFETY: the ABI: the code passes the version it was made from.
    unsafe { compiled::enter_version(&mut *vm, proto) }
}

unsafe extern "C" fn lz_call_finish(vm: *mut Vm, status: i64, floor: i64, top: i64, pc: i32, nret: *mut i32) -> i32 {
    // SAFETY: the ABI: a live VM whose innermost frames are the call's (see `abi::CALL_FINISH`).
    unsafe {
        let vm = &mut *vm;
        let n = compiled::finish_call(vm, status, floor as usize);
        vm.top = top as usize;
        if n >= 0 {
            *nret = n as i32;
            return 0;
        }
        let e = vm.jit_error.take().unwrap_or_else(|| VmError::msg("compiled code failed without an error"));
        let frame = *vm.frames.last().expect("compiled code runs in a frame");
        fail(vm, &*frame.proto, pc, e)
    }
}

unsafe extern "C" fn lz_osr(vm: *mut Vm, closure: *mut Closure, base: *mut Val, header: i32) -> i64 {
    // SAFETY: the ABI: a live VM running the calling body's frame, with its arguments.
    unsafe { compiled::osr(&mut *vm, closure, base, header as u32) }
}

unsafe extern "C" fn lz_hot(vm: *mut Vm, proto: *const Proto) {
    // SAFETY: the ABI: a live VM and the running function.
    unsafe {
        let vm = &mut *vm;
        if let Some(jit) = vm.jit.clone() {
            jit.hot(vm, &*proto);
        }
    }
}

unsafe extern "C" fn lz_step(vm: *mut Vm, pc: i32) -> i64 {
    // SAFETY: the ABI: a live VM running the calling body's frame.
    unsafe { compiled::step(&mut *vm, pc as u32) }
}

/// Every helper with its address, for [`crate::Session::define_host_symbols`].
pub fn helper_symbols() -> Vec<(&'static str, u64)> {
    let table: Vec<(&'static str, u64)> = vec![
        (abi::STEP, lz_step as *const () as usize as u64),
        (abi::RTCALL, lz_rtcall as *const () as usize as u64),
        (abi::RTCALL_V, lz_rtcall_v as *const () as usize as u64),
        (abi::RTCALL_V2, lz_rtcall_v2 as *const () as usize as u64),
        (abi::CALL, lz_call as *const () as usize as u64),
        (abi::STAGE_PACK, lz_stage_pack as *const () as usize as u64),
        (abi::TAIL_CALL, lz_tail_call as *const () as usize as u64),
        (abi::NEW_PACK, lz_new_pack as *const () as usize as u64),
        (abi::PACK_GET, lz_pack_get as *const () as usize as u64),
        (abi::PACK_LEN, lz_pack_len as *const () as usize as u64),
        (abi::CELL_NEW, lz_cell_new as *const () as usize as u64),
        (abi::UPVAL, lz_upval as *const () as usize as u64),
        (abi::GLOBALS, lz_globals as *const () as usize as u64),
        (abi::CLOSURE, lz_closure as *const () as usize as u64),
        (abi::BACKEDGE, lz_backedge as *const () as usize as u64),
        (abi::DEOPT, lz_deopt as *const () as usize as u64),
        (abi::ENTER_VERSION, lz_enter_version as *const () as usize as u64),
        (abi::CALL_FINISH, lz_call_finish as *const () as usize as u64),
        (abi::OSR, lz_osr as *const () as usize as u64),
        (abi::HOT, lz_hot as *const () as usize as u64),
        (abi::HASH_GET, lz_hash_get as *const () as usize as u64),
        (abi::HASH_SET, lz_hash_set as *const () as usize as u64),
        (abi::HASH_LOOKUP, lz_hash_lookup as *const () as usize as u64),
        (abi::HASH_FIND, lz_hash_find as *const () as usize as u64),
        (abi::HASH_STORE, lz_hash_store as *const () as usize as u64),
        (abi::ELEMS_ARE, lz_elems_are as *const () as usize as u64),
        (abi::ARR_RESERVE, lz_arr_reserve as *const () as usize as u64),
    ];
    debug_assert_eq!(table.len(), abi::HELPERS.len());
    table
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_abi_helper_has_a_host_function() {
        let names: Vec<&str> = super::helper_symbols().iter().map(|(n, _)| *n).collect();
        for h in crate::abi::HELPERS {
            assert!(names.contains(h), "{h} has no host function");
        }
    }
}
