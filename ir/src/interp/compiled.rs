//! Running functions that have machine code.
//!
//! A compiled body runs in the frame the interpreter would use (same slots, same
//! [`super::FrameInfo`]), so frames, errors, tracebacks and the collector work the same
//! in every tier, and a body is just another way to run a pushed frame. The host pushes
//! and pops frames; bodies report through a status: results, an error left in
//! [`Vm::jit_error`], a tail call left in [`Vm::tail_call`], or a deoptimized frame
//! for the interpreter to go on with ([`STATUS_DEOPTED`]). Tail calls return to
//! the trampoline here, which reuses the frame, so chains of them run in constant space
//! whatever tier each function is in.

use std::sync::atomic::Ordering;

use super::error::{VmResult, VmError};
use super::exec;
use super::vm::Vm;
use crate::rt::object::Closure;
use crate::rt::{Tag, Val};

/// A compiled body: `(vm, closure, base) -> status`.
pub type CompiledFn = unsafe extern "C" fn(*mut Vm, *mut Closure, *mut Val) -> i64;

/// A body's status: an error is pending in [`Vm::jit_error`].
pub const STATUS_ERROR: i64 = -1;
/// A body's status: a tail call is pending in [`Vm::tail_call`].
pub const STATUS_TAIL_CALL: i64 = -2;
/// A status of an on-stack entry only: the frame's values do not have the tags the
/// entry was specialized to; nothing happened, and the caller goes on in its own code.
pub const STATUS_OSR_DECLINED: i64 = -3;
/// A body's status: a guard failed and the frame deoptimized (see [`deopt`]): it is
/// now a frame of the generic function, stopped at the op to resume at, for the
/// caller to run in the interpreter. Returning to the caller, rather than interpreting
/// from inside the optimized code, keeps a chain of deoptimizations and on-stack
/// entries in one interpreter activation.
pub const STATUS_DEOPTED: i64 = -4;
/// A body's status: the function has no machine code after all (it could not be built:
/// the call landed in the engine's stand-in for the missing body); nothing ran and the
/// frame is as pushed. A call runs the function in the interpreter from its start; an
/// on-stack entry is declined ([`STATUS_OSR_DECLINED`]).
pub const STATUS_NO_CODE: i64 = -5;
/// In an on-stack entry slot ([`super::Proto::osr_slots`]): the entry is being compiled;
/// until it is ready, the code goes on without it.
pub const OSR_PENDING: usize = 1;

/// The machine-code entry of a closure's function, if it has one.
#[inline]
pub fn entry_of(closure: *mut Closure) -> Option<CompiledFn> {
    // SAFETY: closures refer to protos of loaded modules.
    let entry = unsafe { (*(*closure).proto).entry.load(Ordering::Acquire) };
    // SAFETY: a non-zero entry is the address of a body with the `CompiledFn` ABI.
    (entry != 0).then(|| unsafe { std::mem::transmute::<usize, CompiledFn>(entry) })
}

/// Calls a closure whose function has machine code, from compiled code's call helper:
/// like [`Vm::call_at`] but without counting a nested call from Rust (compiled frames
/// call each other directly; only the depth limit applies). Returns the result count,
/// or [`STATUS_ERROR`] with the error left in [`Vm::jit_error`] (an integer result
/// keeps the common path free of moving a `Result` through memory).
///
/// The frame is pushed in place and the body called from here, with no trampoline of
/// its own: the callee's native frame joins the caller's native region (see
/// [`enter_helper`]), which is sound because every value the frames between them hold
/// is also in a value-stack frame. Tail calls and errors the body reports continue as
/// in `run_pushed`.
#[inline]
pub fn call_compiled(vm: &mut Vm, closure: *mut Closure, body: CompiledFn, base: usize, nargs: usize) -> i64 {
    let floor = vm.frames.len();
    let saved_top = vm.top;
    let status = match exec::push_frame(vm, closure, base, nargs) {
        Ok(()) => {
            let at = vm.slot_ptr(base);
            // SAFETY: the body follows the ABI and the frame is set up for it.
            let status = unsafe { body(vm, closure, at) };
            if status >= 0 {
                status
            } else {
                let r = finish(vm, status, floor);
                into_status(vm, r)
            }
        }
        Err(e) => into_status(vm, Err(e)),
    };
    exec::unwind_to(vm, floor);
    vm.top = saved_top;
    status
}

/// Finishes a call whose frame compiled code pushed and whose body returned the
/// negative `status` (a tail call, a deoptimized frame or an error), as
/// [`call_compiled`] does after the body; then pops the frames above `floor` (the frame
/// count before the call). Returns the result count, or [`STATUS_ERROR`] with the error
/// in [`Vm::jit_error`].
pub fn finish_call(vm: &mut Vm, status: i64, floor: usize) -> i64 {
    enter_helper(vm);
    let r = finish(vm, status, floor);
    let status = match r {
        Ok(n) => n as i64,
        Err(e) => {
            vm.jit_error = Some(e);
            STATUS_ERROR
        }
    };
    exec::unwind_to(vm, floor);
    status
}

/// A result as [`call_compiled`] reports it.
#[cold]
fn into_status(vm: &mut Vm, r: VmResult<usize>) -> i64 {
    match r {
        Ok(n) => n as i64,
        Err(e) => {
            vm.jit_error = Some(e);
            STATUS_ERROR
        }
    }
}

/// Notes, on entry to a host helper called by compiled code, where the native stack
/// is: the stretch from here up to the trampoline that entered the outermost body of
/// the current run (see `run_pushed`) holds only native frames of bodies and of the
/// call helpers between them ([`call_compiled`]). Every value those hold that the
/// collector needs is also in a value-stack frame (a value live across an instruction
/// that can reach a safepoint is stored in its frame slot), so the collector's
/// conservative native-stack scan skips the stretch and stale spills in it cannot keep
/// garbage alive. The helper's own frame lies above the point noted here, but
/// everything it holds (the instruction's operands) is in a value-stack frame too.
#[inline(always)]
pub fn enter_helper(vm: &mut Vm) {
    let sp = exec::stack_pointer();
    if let Some(region) = vm.interp_regions.last_mut() {
        region.0 = sp;
    }
}

/// Runs the innermost frame (already pushed) in compiled code, following tail calls
/// into any tier, until it returns; `floor` is the frame count below it.
pub(super) fn run_pushed(vm: &mut Vm, body: CompiledFn, floor: usize) -> VmResult<usize> {
    in_native_region(vm, |vm| run_bodies(vm, body, floor)).unwrap_or_else(|| Err(VmError::msg("stack overflow")))
}

/// Runs `f`, which enters compiled code, in a native region of its own (see
/// `enter_helper`): from the helper the code calls (noted then) up to this frame.
/// `None` (and `f` not run) if the region table has no room: there is one region per
/// pushed frame at most and the frame depth is bounded, so that means the stack is
/// full; the test keeps the table from ever moving (interpreter activations point into
/// it) and helpers from marking a region that is not their code's.
fn in_native_region<R>(vm: &mut Vm, f: impl FnOnce(&mut Vm) -> R) -> Option<R> {
    let marker = 0usize;
    let regions = vm.interp_regions.len();
    if regions + exec::MAX_NESTED_ACTIVATIONS + 8 >= vm.interp_regions.capacity() {
        return None;
    }
    vm.interp_regions.push((0, std::hint::black_box(&marker) as *const usize as usize));
    let r = f(vm);
    vm.interp_regions.truncate(regions);
    Some(r)
}

/// [`run_pushed`] without the native region.
fn run_bodies(vm: &mut Vm, body: CompiledFn, floor: usize) -> VmResult<usize> {
    let frame = *vm.frames.last().expect("a pushed frame");
    let base = vm.slot_ptr(frame.base);
    // SAFETY: the body follows the ABI and the frame is set up for it.
    let status = unsafe { body(vm, frame.closure, base) };
    finish(vm, status, floor)
}

/// Takes the innermost frame's body `status` to the frame's result count: reports its
/// error, or follows its tail calls into any tier until one returns.
fn finish(vm: &mut Vm, mut status: i64, floor: usize) -> VmResult<usize> {
    loop {
        if status >= 0 {
            return Ok(status as usize);
        }
        if status == STATUS_DEOPTED {
            return exec::interpret(vm, floor);
        }
        if status == STATUS_NO_CODE {
            if let Some(frame) = vm.frames.last_mut() {
                frame.pc = 0;
            }
            return exec::interpret(vm, floor);
        }
        if status != STATUS_TAIL_CALL {
            return Err(take_error(vm));
        }
        let frame = *vm.frames.last().expect("a pushed frame");
        let (callee, nargs) = vm.tail_call.take().expect("a pending tail call");
        if callee.tag() != Tag::Func {
            // A native or a value with `__call`: an ordinary call, whose results are the
            // frame's results; its errors are reported at the tail call.
            vm.top = frame.base + nargs;
            return vm.call_at(callee, frame.base, nargs).map_err(|e| {
                // SAFETY: frame protos belong to loaded modules.
                let proto = unsafe { &*frame.proto };
                exec::locate(vm, proto, frame.pc as usize, e)
            });
        }
        let closure = callee.payload() as *mut Closure;
        exec::replace_frame(vm, closure, nargs)?;
        let Some(body) = entry_of(closure) else {
            return exec::interpret(vm, floor);
        };
        let base = vm.slot_ptr(frame.base);
        // SAFETY: the body follows the ABI and the frame is set up for it.
        status = unsafe { body(vm, closure, base) };
    }
}

/// The error a body or [`call_compiled`] reported.
pub fn take_error(vm: &mut Vm) -> VmError {
    vm.jit_error.take().unwrap_or_else(|| VmError::msg("compiled code failed without an error"))
}

/// Runs op `pc` of the innermost frame, which a compiled body runs, as the interpreter
/// does: with the interpreter's own code for the op (`exec::step_in_frame`; a tail call
/// or a call of something without machine code goes through the interpreter's loop,
/// stopped after one op of this frame), calls running to completion. This is all a body
/// of the compact code shape does per op. Returns the
/// pc where the frame goes on (the next op, or the target of a branch), the result
/// count after a return (results at the frame's base), [`STATUS_TAIL_CALL`] after a tail
/// call (pending in [`Vm::tail_call`], arguments at the base) or [`STATUS_ERROR`] (the
/// error in [`Vm::jit_error`]).
///
/// Once an op has failed, every later step returns [`STATUS_ERROR`] at once without
/// running its op, until the error is taken: a body can run straight-line ops without
/// testing each one's status, and find the error at its next branch, return or tail call.
#[inline]
pub fn step(vm: &mut Vm, pc: u32) -> i64 {
    if vm.jit_error.is_some() {
        return STATUS_ERROR;
    }
    match exec::step_in_frame(vm, pc) {
        Ok(exec::Stepped::At(next)) => return next as i64,
        Ok(exec::Stepped::Returned(n)) => return n as i64,
        Ok(exec::Stepped::Other) => {}
        Err(e) => {
            vm.jit_error = Some(e);
            return STATUS_ERROR;
        }
    }
    step_in_loop(vm, pc)
}

/// [`step`] for ops the cheap path leaves alone (tail calls, calls of functions without
/// machine code): the interpreter's loop, stopped after one op of this frame.
#[cold]
fn step_in_loop(vm: &mut Vm, pc: u32) -> i64 {
    enter_helper(vm);
    let floor = vm.frames.len() - 1;
    vm.frames[floor].pc = pc;
    match exec::step_op(vm, floor) {
        Ok(_) if vm.tail_call.is_some() => STATUS_TAIL_CALL,
        Ok(n) => n as i64,
        Err(e) => {
            exec::unwind_to(vm, floor + 1);
            vm.jit_error = Some(e);
            STATUS_ERROR
        }
    }
}

/// Makes the innermost frame, just pushed for a closure of a function whose dispatch
/// slot holds optimized code, a frame of that code's `version` (its own slots and code
/// positions, for the collector, errors and deoptimization). Returns 0, or
/// [`STATUS_ERROR`] if the stack has no room for the version's frame.
///
/// # Safety
/// `version` points to a live proto, a version of the frame's function.
///
/// A version made for an on-stack entry ([`super::Proto::osr_from`]) is entered by the
/// function's own code in the middle of a call: its entry parameters are read from the
/// function's frame slots, after checking that they have the tags the version expects
/// (else [`STATUS_OSR_DECLINED`], with the frame untouched).
pub unsafe fn enter_version(vm: &mut Vm, version: *const super::Proto) -> i64 {
    let floor = vm.frames.len() - 1;
    let base = vm.frames[floor].base;
    // SAFETY: the caller's promise.
    let version = unsafe { &*version };
    let nslots = version.nslots as usize;
    let mut entry_values = Vec::new();
    let mut varargs = None;
    if !version.osr_from.is_empty() {
        entry_values.reserve(version.osr_from.len());
        for &(slot, tag) in version.osr_from.iter() {
            let v = vm.get(base + slot as usize);
            if v.tag() as u8 != tag {
                return STATUS_OSR_DECLINED;
            }
            entry_values.push(v);
        }
        if version.vararg {
            // The extra arguments' pack sits past the fixed parameters, in both frames.
            // SAFETY: frames run closures of loaded functions.
            let nparams = unsafe { (*(*vm.frames[floor].closure).proto).nparams };
            varargs = Some(vm.get(base + nparams as usize));
        }
    }
    if let Err(e) = vm.ensure_stack(base, nslots + 16) {
        vm.jit_error = Some(e);
        return STATUS_ERROR;
    }
    let params = &version.mir.blocks[version.mir.entry().index()].params;
    for (&p, v) in params.iter().zip(entry_values) {
        vm.set(base + version.slot_of[p.index()] as usize, v);
    }
    if let Some(pack) = varargs {
        vm.set(base + version.nparams as usize, pack);
    }
    vm.frames[floor].proto = version;
    vm.top = base + nslots;
    0
}

/// Leaves the innermost frame's code for the on-stack entry of loop header `header` of
/// its function (the code is at a back edge to it, with the frame's values in their
/// slots), asking the JIT to choose the entry if none is chosen yet. Returns the
/// entry's status: the call's result count, [`STATUS_ERROR`], [`STATUS_TAIL_CALL`] or
/// [`STATUS_DEOPTED`] as a body does, or [`STATUS_OSR_DECLINED`] if there is no entry to
/// take (the caller goes on to the header itself).
///
/// # Safety
/// `closure` is the innermost frame's closure and `base` its frame base, as a body gets
/// them.
pub unsafe fn osr(vm: &mut Vm, closure: *mut Closure, base: *mut Val, header: u32) -> i64 {
    // SAFETY: frames run closures of loaded functions.
    let proto = unsafe { &*(*closure).proto };
    let Some(slot) = proto.osr_slots.get(header as usize) else { return STATUS_OSR_DECLINED };
    let mut entry = slot.load(Ordering::Acquire);
    if entry == OSR_PENDING {
        return STATUS_OSR_DECLINED;
    }
    if entry == 0 {
        let Some(jit) = vm.jit.clone() else { return STATUS_OSR_DECLINED };
        enter_helper(vm);
        entry = jit.osr_entry(vm, proto, header);
        if entry == 0 {
            return STATUS_OSR_DECLINED;
        }
    }
    // SAFETY: osr slots hold on-stack entries, which take a body's arguments.
    let status = unsafe {
        let body: CompiledFn = std::mem::transmute::<usize, CompiledFn>(entry);
        body(vm, closure, base)
    };
    if status == STATUS_NO_CODE {
        // The entry could not be built: the loop goes on without one, for good.
        slot.store(OSR_PENDING, Ordering::Release);
        return STATUS_OSR_DECLINED;
    }
    if status == STATUS_OSR_DECLINED {
        if let Some(jit) = vm.jit.clone() {
            jit.osr_declined(vm, proto, header);
        }
    }
    status
}

/// What became of the interpreter's frame at a hot loop header ([`enter_loop`]).
pub(super) enum Entered {
    /// There was no entry to take: the interpreter goes on at the header.
    Declined,
    /// The entry ran and deoptimized: the frame is the generic function's again, stopped
    /// where the interpreter resumes it.
    Resumed,
    /// The entry ran the call to its end: this many results, at the frame's base.
    Returned(usize),
}

/// Leaves the interpreter's innermost frame, at a branch to loop header `header` (the
/// block parameters moved), for the header's on-stack entry ([`osr`]), in a native
/// region of its own as [`run_pushed`] runs a body; follows tail calls to the call's
/// results.
pub(super) fn enter_loop(vm: &mut Vm, header: u32) -> VmResult<Entered> {
    let floor = vm.frames.len() - 1;
    let frame = vm.frames[floor];
    in_native_region(vm, |vm| {
        let at = vm.slot_ptr(frame.base);
        // SAFETY: the frame is the innermost, running a closure of a loaded function.
        match unsafe { osr(vm, frame.closure, at, header) } {
            STATUS_OSR_DECLINED => Ok(Entered::Declined),
            STATUS_DEOPTED => Ok(Entered::Resumed),
            status => finish(vm, status, floor).map(Entered::Returned),
        }
    })
    .unwrap_or(Ok(Entered::Declined))
}

/// Deoptimizes the innermost frame, which runs optimized code, at the failed guard of
/// op `pc` with snapshot `snap`: rebuilds the generic function's frame in place from the
/// snapshot (the guard's code stored every value the snapshot names to its slot),
/// records the failure at the site the guard speculated on and tells the JIT. Returns
/// [`STATUS_DEOPTED`] (the body returns it, and its caller runs the rest of the call in
/// the interpreter), or [`STATUS_ERROR`] with the error in [`Vm::jit_error`].
///
/// Leaving code the profile never reached ([`crate::Snapshot::unreached`]) is not a
/// failed speculation: it does not count toward the function's deoptimizations.
pub fn deopt(vm: &mut Vm, snap: u32, pc: u32) -> i64 {
    enter_helper(vm);
    let floor = vm.frames.len() - 1;
    let frame = vm.frames[floor];
    // SAFETY: frames refer to live protos and closures of loaded modules.
    let (version, proto) = unsafe { (&*frame.proto, &*(*frame.closure).proto) };
    vm.frames[floor].pc = pc;
    let elems_failed = matches!(version.code.get(pc as usize), Some(super::proto::Op::Guard { op: crate::Opcode::GuardElems, .. }));
    let rebuilt = rebuild_frame(vm, version, proto, frame.base, snap, elems_failed);
    let (resume_pc, unreached) = match rebuilt {
        Ok(r) => r,
        Err(e) => {
            vm.jit_error = Some(e);
            return STATUS_ERROR;
        }
    };
    vm.frames[floor].proto = proto;
    vm.frames[floor].pc = resume_pc;
    vm.top = frame.base + proto.nslots as usize;
    if !unreached {
        proto.deopts.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(jit) = vm.jit.clone() {
        jit.deoptimized(vm, proto, version, snap, pc);
    }
    STATUS_DEOPTED
}

/// Writes the generic frame of `proto` that snapshot `snap` of `version` describes over
/// the version's frame at `base`; records the failure at the site the snapshot blames
/// (else the site of the instruction it resumes at), unless the snapshot is an exit from
/// unreached code: as a failed `guard.elems` there when `elems_failed` (the site's
/// other guesses stand), else as a failed guess; counts a resumption at a loop header
/// as a run of the loop. Returns the pc to resume at and whether the snapshot is such
/// an exit.
fn rebuild_frame(
    vm: &mut Vm,
    version: &super::Proto,
    proto: &super::Proto,
    base: usize,
    snap: u32,
    elems_failed: bool,
) -> VmResult<(u32, bool)> {
    let snapshot = version
        .mir
        .snapshots
        .get(snap as usize)
        .ok_or_else(|| VmError::msg(format!("deoptimization: no snapshot {snap} in '{}'", version.mir.name)))?;
    let resume_pc = proto
        .pc_of(snapshot.resume.block, snapshot.resume.index)
        .ok_or_else(|| VmError::msg(format!("deoptimization: '{}' has no {}:{}", proto.mir.name, snapshot.resume.block, snapshot.resume.index)))?;
    // SAFETY: a loaded proto's module outlives it.
    let consts = unsafe { &(*proto.module).consts };
    let mut values = Vec::with_capacity(snapshot.entries.len());
    for &(generic, src) in &snapshot.entries {
        let v = match src {
            crate::function::SnapSource::Value(v) => {
                let slot = *version.slot_of.get(v.index()).ok_or_else(|| VmError::msg("deoptimization: a snapshot names a missing value"))?;
                vm.get(base + slot as usize)
            }
            crate::function::SnapSource::Const(c) => super::const_val(c, consts),
        };
        let slot = *proto.slot_of.get(generic.index()).ok_or_else(|| VmError::msg("deoptimization: a snapshot names a missing generic value"))?;
        values.push((slot, v));
    }
    for (slot, v) in values {
        vm.set(base + slot as usize, v);
    }
    // Resuming at a loop's header runs the loop as a branch to it does.
    if snapshot.resume.index == 0 && proto.mir.blocks.get(snapshot.resume.block.index()).is_some_and(|b| b.loop_header) {
        proto.loop_entries[snapshot.resume.block.index()].fetch_add(1, Ordering::Relaxed);
    }
    if snapshot.unreached {
        return Ok((resume_pc, true));
    }
    let at = proto.mir.blocks.get(snapshot.resume.block.index()).and_then(|b| b.insts.get(snapshot.resume.index as usize));
    let site = snapshot.blame.or_else(|| match at.map(|&inst| &proto.mir.insts[inst.index()].data) {
        Some(crate::function::InstData::RtCall { site, .. } | crate::function::InstData::Call { site, .. }) => *site,
        _ => None,
    });
    match site.and_then(|s| proto.sites.get(s.index())) {
        Some(s) if elems_failed => s.record_mixed_elements(),
        Some(s) => s.record_deopt(),
        None => {}
    }
    Ok((resume_pc, false))
}
