//! The interpreter loop: runs decoded MIR in a frame of value-stack slots.
//!
//! A frame is `proto.nslots` consecutive stack slots starting at `base`; parameters sit
//! in the first slots, where the caller put the arguments. Calls stage their arguments
//! just above the frame and leave their results there. Typed values live in slots as
//! boxed values of the matching tag (`i64` as an integer, `f64` as a float, `i1` as a
//! boolean), so boxing and unboxing are copies here. Tail calls reuse the frame and the
//! native stack frame, so `return f(x)` runs in constant space.

use std::sync::atomic::Ordering;

use super::compiled;
use super::error::{VmResult, VmError, VARINFO};
use super::proto::{BrCmpIFOp, BrRtOp, CallOp, Op, Proto, RtCallOp, Target};
use super::vm::{access, FrameInfo, Native, Vm};
use crate::entity::Value;
use crate::function::ResumeAt;
use crate::ops::Opcode;
use crate::rt::object::{Cell, Closure};
use crate::rt::{Tag, Val};

/// Runs closure `closure` with `nargs` arguments at `stack[base..]`; the results are
/// left at `stack[base..]` and their number returned. Calls between interpreted
/// functions stay in this activation's loop; only calls through natives nest.
pub fn run(vm: &mut Vm, closure: *mut Closure, base: usize, nargs: usize) -> VmResult<usize> {
    // Each call from Rust (a native, a metamethod dispatch) nests native frames; bound
    // their depth as Lua bounds its C calls.
    if vm.nesting >= MAX_NESTED_ACTIVATIONS {
        return Err(VmError::msg("C stack overflow"));
    }
    vm.nesting += 1;
    let floor = vm.frames.len();
    let saved_top = vm.top;
    let regions = vm.interp_regions.len();
    let r = push_frame(vm, closure, base, nargs).and_then(|()| match compiled::entry_of(closure) {
        Some(body) => compiled::run_pushed(vm, body, floor),
        None => interpret(vm, floor),
    });
    vm.interp_regions.truncate(regions);
    unwind_to(vm, floor);
    vm.top = saved_top;
    vm.nesting -= 1;
    r
}

/// How many calls into Lua from Rust code (natives calling Lua, metamethods) may nest;
/// Lua's own limit on nested C calls is 200.
pub const MAX_NESTED_ACTIVATIONS: usize = 200;

/// Resumes `closure`'s function in the middle: its frame is built at the top of the
/// stack from `values` (generic-function value -> content) and execution continues at
/// `at`. This is how a deoptimized frame continues in the interpreter. Returns the
/// function's results.
pub fn resume(vm: &mut Vm, closure: Val, at: ResumeAt, values: &[(Value, Val)]) -> VmResult<Vec<Val>> {
    if closure.tag() != Tag::Func {
        return Err(VmError::msg("resume: not a function"));
    }
    let c = closure.payload() as *mut Closure;
    // SAFETY: a function value points to a live closure whose proto is loaded.
    let proto = unsafe { &*(*c).proto };
    let base = vm.top;
    vm.ensure_stack(base, proto.nslots as usize + 16)?;
    for &(v, content) in values {
        let slot = *proto.slot_of.get(v.index()).ok_or_else(|| VmError::msg(format!("resume: no value {v}")))?;
        vm.set(base + slot as usize, content);
    }
    let pc = proto
        .pc_of(at.block, at.index)
        .ok_or_else(|| VmError::msg(format!("resume: no instruction {} in {}", at.index, at.block)))?;
    if vm.depth >= vm.max_depth || vm.frames.len() == vm.frames.capacity() {
        return Err(VmError::msg("stack overflow"));
    }
    if vm.nesting >= MAX_NESTED_ACTIVATIONS {
        return Err(VmError::msg("C stack overflow"));
    }
    let floor = vm.frames.len();
    let saved_top = vm.top;
    vm.depth += 1;
    vm.frames.push(FrameInfo { proto, pc, base, closure: c });
    vm.top = base + proto.nslots as usize;
    let regions = vm.interp_regions.len();
    let r = interpret(vm, floor);
    vm.interp_regions.truncate(regions);
    unwind_to(vm, floor);
    vm.top = saved_top;
    let n = r?;
    Ok(vm.slice(base, n).to_vec())
}

/// Drops the frames above `floor` (after an error, or the bottom frame after a return).
#[inline]
pub(super) fn unwind_to(vm: &mut Vm, floor: usize) {
    let extra = vm.frames.len().saturating_sub(floor);
    vm.depth -= extra;
    vm.frames.truncate(floor);
}

/// Pushes a frame for `closure` whose `nargs` arguments are at `stack[base..]`: checks
/// the depth and stack, sets up the parameters, counts the call, and offers a safepoint.
#[inline]
pub(super) fn push_frame(vm: &mut Vm, closure: *mut Closure, base: usize, nargs: usize) -> VmResult<()> {
    if vm.depth >= vm.max_depth || vm.frames.len() == vm.frames.capacity() {
        return Err(VmError::msg("stack overflow"));
    }
    // SAFETY: closures refer to protos of loaded modules, which outlive the VM's run.
    let proto = unsafe { &*(*closure).proto };
    vm.ensure_stack(base, (proto.nslots as usize).max(nargs) + 16)?;
    vm.depth += 1;
    vm.frames.push(FrameInfo { proto, pc: 0, base, closure });
    start_frame(vm, proto, base, nargs)
}

/// Replaces the innermost frame by a call of `closure` with `nargs` arguments already
/// moved to its base (a tail call).
pub(super) fn replace_frame(vm: &mut Vm, closure: *mut Closure, nargs: usize) -> VmResult<()> {
    // SAFETY: as in `push_frame`.
    let proto = unsafe { &*(*closure).proto };
    let frame = vm.frames.last_mut().expect("a running frame");
    frame.proto = proto;
    frame.closure = closure;
    frame.pc = 0;
    let base = frame.base;
    vm.ensure_stack(base, (proto.nslots as usize).max(nargs) + 16)?;
    start_frame(vm, proto, base, nargs)
}

#[inline]
fn start_frame(vm: &mut Vm, proto: &Proto, base: usize, nargs: usize) -> VmResult<()> {
    setup_params(vm, proto, base, nargs);
    vm.top = base + proto.nslots as usize;
    proto.calls.store(proto.calls.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    if vm.heap.wants_collection() {
        vm.collect_garbage();
        return vm.check_interrupt();
    }
    Ok(())
}

/// The current native stack pointer (0 where unknown: then nothing is skipped).
#[inline(always)]
pub(super) fn stack_pointer() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let sp: usize;
        // SAFETY: reads a register.
        unsafe { std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
        sp
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Pads missing parameters with `nil` and packs extra arguments of a vararg function.
#[inline]
fn setup_params(vm: &mut Vm, proto: &Proto, base: usize, nargs: usize) {
    let nparams = proto.nparams as usize;
    if proto.vararg {
        pack_varargs(vm, base, nparams, nargs);
    }
    for i in nargs..nparams {
        vm.set(base + i, Val::NIL);
    }
}

/// Packs the arguments past the `nparams` fixed ones into slot `base + nparams`.
#[cold]
fn pack_varargs(vm: &mut Vm, base: usize, nparams: usize, nargs: usize) {
    let pack = if nargs > nparams {
        let extra = vm.slice(base + nparams, nargs - nparams).to_vec();
        vm.new_pack(&extra)
    } else {
        vm.new_pack(&[])
    };
    vm.set(base + nparams, pack);
}

/// Turns a runtime message raised at op `pc` into a positioned Lua error value.
pub fn locate(vm: &mut Vm, proto: &Proto, pc: usize, e: VmError) -> VmError {
    let VmError::Runtime { msg, operand } = e else { return e };
    let debug = proto.debug.get(pc).copied().unwrap_or_default();
    let info = operand
        .and_then(|i| debug.names.get(i as usize).copied().flatten())
        .map(|n| {
            // SAFETY: the proto's module outlives it.
            let module = unsafe { &*proto.module };
            format!(" ({} '{}')", n.kind.message_name(), String::from_utf8_lossy(module.string(n.name)))
        })
        .unwrap_or_default();
    let msg = if msg.contains(VARINFO) { msg.replace(VARINFO, &info) } else { msg + &info };
    let full = format!("{}:{}: {}", proto.chunk_name(), proto.line_at(pc as u32), msg);
    if vm.protected == 0 && vm.pending_traceback.is_none() {
        vm.pending_traceback = Some(vm.traceback());
    }
    VmError::Value(vm.new_str(full.as_bytes()))
}

/// Copies values into block parameter slots with parallel-move semantics.
#[inline(always)]
fn do_moves(regs: *mut Val, moves: &[(u32, u32)], t: &Target) {
    if t.nmoves == 0 {
        return;
    }
    let moves = &moves[t.moves as usize..t.moves as usize + t.nmoves as usize];
    // SAFETY: move slots are within the frame (they are slots of the function's values).
    unsafe {
        if !t.overlapping {
            for &(from, to) in moves {
                *regs.add(to as usize) = *regs.add(from as usize);
            }
        } else {
            parallel_moves(regs, moves);
        }
    }
}

/// Moves where some destination is also a source: read everything, then write.
#[cold]
unsafe fn parallel_moves(regs: *mut Val, moves: &[(u32, u32)]) {
    let tmp: Vec<Val> = moves.iter().map(|&(from, _)| unsafe { *regs.add(from as usize) }).collect();
    for (&(_, to), &v) in moves.iter().zip(tmp.iter()) {
        unsafe { *regs.add(to as usize) = v };
    }
}

/// Writes the call arguments (with a spread pack expanded) at `stack[at..]`; returns
/// their number. `at` is the end of the running frame, which has 16 spare slots.
#[inline(always)]
fn stage_args(vm: &mut Vm, regs: *mut Val, args: &[u32], spread: bool, at: usize) -> VmResult<usize> {
    if !spread && args.len() <= 16 {
        let dst = vm.slot_ptr(at);
        for (i, &a) in args.iter().enumerate() {
            // SAFETY: argument slots are within the frame; the frame was checked to have
            // 16 free slots above it (`push_frame`).
            unsafe { *dst.add(i) = *regs.add(a as usize) };
        }
        return Ok(args.len());
    }
    stage_args_slow(vm, regs, args, spread, at)
}

#[cold]
fn stage_args_slow(vm: &mut Vm, regs: *mut Val, args: &[u32], spread: bool, at: usize) -> VmResult<usize> {
    let fixed = if spread { args.len() - 1 } else { args.len() };
    // SAFETY: argument slots are within the frame.
    let reg = |i: u32| unsafe { *regs.add(i as usize) };
    vm.ensure_stack(at, fixed)?;
    for (i, &a) in args[..fixed].iter().enumerate() {
        vm.set(at + i, reg(a));
    }
    if !spread {
        return Ok(fixed);
    }
    let pack = reg(args[fixed]);
    let vals = &access::pack_of(pack).vals;
    vm.ensure_stack(at, fixed + vals.len())?;
    for (i, &v) in vals.iter().enumerate() {
        vm.set(at + fixed + i, v);
    }
    Ok(fixed + vals.len())
}

/// Defines `r!(slot)` and `w!(slot, value)`, the slot accessors `frame_ops!` uses, over
/// the frame whose first slot `$regs` (a `*mut Val`) points to; `$d` is a `$` token,
/// for the inner macros' own parameters.
macro_rules! slot_access {
    ($d:tt $regs:ident) => {
        macro_rules! r {
            ($d i:expr) => {
                // SAFETY: decoded slot numbers are below `nslots`, and the frame fits the stack.
                unsafe { *$regs.add($d i as usize) }
            };
        }
        macro_rules! w {
            ($d i:expr, $d v:expr) => {{
                let v = $d v;
                // SAFETY: as for `r!`.
                unsafe { *$regs.add($d i as usize) = v }
            }};
        }
    };
}

/// Whether `t` is a table and `k` an integer key outside its array part (what
/// [`super::proto::SiteProfile::record_past_array`] records).
#[inline(always)]
fn past_array(t: Val, k: Val) -> bool {
    if t.tag() != Tag::Table || k.tag() != Tag::Int {
        return false;
    }
    // SAFETY: a table value points to a live table.
    let len = unsafe { (*(t.payload() as *const crate::rt::object::Table)).array_len() };
    (k.payload() as i64).wrapping_sub(1) as u64 >= len as u64
}

/// Whether `t` is a table without a value at string key `k` in itself (what
/// [`super::proto::SiteProfile::record_field_absent`] records).
#[inline(always)]
fn field_absent(t: Val, k: Val) -> bool {
    if t.tag() != Tag::Table || k.tag() != Tag::Str {
        return false;
    }
    // SAFETY: a table value points to a live table.
    unsafe { (*(t.payload() as *const crate::rt::object::Table)).get_str(k).is_nil() }
}

/// A runtime call with a fixed number of operands (in the context of `frame_ops!`).
macro_rules! rtcall_fixed {
    ($vm:ident, $proto:ident, $f:expr, $dst:expr, $site:expr, $args:expr) => {{
        let args = $args;
        if let Some(s) = $proto.sites.get(*$site as usize) {
            s.record(&args);
        }
        here!();
        match $f($vm, &args) {
            Ok(v) => w!(*$dst, v),
            Err(e) => fail!(e),
        }
    }};
}

/// A runtime call with integer and float fast paths: `$int` on two integers, `$float` on
/// two floats, the function `$f` otherwise. Evaluates to the result. Uses the caller's
/// `here!()` (note the frame before a call out) and `fail!(error)`.
macro_rules! int_float {
    ($vm:ident, $proto:ident, $f:expr, $site:expr, $x:expr, $y:expr, |$i:ident, $j:ident| $int:expr, |$p:ident, $q:ident| $float:expr) => {{
        let (x, y) = ($x, $y);
        if let Some(s) = $proto.sites.get($site as usize) {
            s.record(&[x, y]);
        }
        if x.tag() == Tag::Int && y.tag() == Tag::Int {
            let ($i, $j) = (x.int_unchecked(), y.int_unchecked());
            $int
        } else if x.tag() == Tag::Float && y.tag() == Tag::Float {
            let ($p, $q) = (x.float_unchecked(), y.float_unchecked());
            $float
        } else {
            here!();
            match $f($vm, &[x, y]) {
                Ok(v) => v,
                Err(e) => fail!(e),
            }
        }
    }};
}

/// A comparison with integer and float fast paths fused with its branch (in the
/// context of `frame_ops!`).
macro_rules! br_cmp_if {
    ($vm:ident, $proto:ident, $br:expr, |$i:ident, $j:ident| $int:expr, |$p:ident, $q:ident| $float:expr) => {{
        let BrCmpIFOp { f, a, b, site, then_t, else_t } = &**$br;
        let v = int_float!($vm, $proto, f, *site, r!(*a), r!(*b), |$i, $j| Val::bool($int), |$p, $q| Val::bool($float));
        branch!(if v.payload() != 0 { then_t } else { else_t });
    }};
}

macro_rules! arith_if {
    ($vm:ident, $proto:ident, $f:expr, $dst:expr, $a:expr, $b:expr, $site:expr, |$i:ident, $j:ident| $int:expr, |$p:ident, $q:ident| $float:expr) => {{
        let v = int_float!($vm, $proto, $f, *$site, r!(*$a), r!(*$b), |$i, $j| $int, |$p, $q| $float);
        w!(*$dst, v);
    }};
}

/// The ops that stay in their frame (everything but calls and returns), as one `match`
/// on `$op` whose further arms are `$rest`: the interpreter's loop and compiled code's
/// per-op helper ([`step_in_frame`]) both run ops through it, so they agree by
/// construction. The caller defines `r!(slot)` and `w!(slot, value)` (frame slots),
/// `here!()` (note the frame at this op, before anything that may reach a safepoint),
/// `fail!(error)` (return the error, positioned at this op) and `branch!(target)` (take
/// a branch).
macro_rules! frame_ops {
    ($op:expr, $vm:ident, $proto:ident, $closure:ident, { $($rest:tt)* }) => {
        match $op {
        Op::Const { dst, val } => w!(*dst, *val),
        Op::Move { dst, src } => w!(*dst, r!(*src)),
        Op::Truthy { dst, a } => w!(*dst, Val::bool(r!(*a).truthy())),
        Op::Not { dst, a } => w!(*dst, Val::bool(r!(*a).payload() == 0)),
        Op::CellNew { dst, a } => {
            let v = $vm.new_cell(r!(*a));
            w!(*dst, v);
        }
        Op::CellGet { dst, a } => w!(*dst, access::cell_of(r!(*a)).value),
        Op::Unary { op, dst, a } => w!(*dst, unary(*op, r!(*a))),
        Op::Iadd { dst, a, b } => w!(*dst, Val::int(r!(*a).int_unchecked().wrapping_add(r!(*b).int_unchecked()))),
        Op::Isub { dst, a, b } => w!(*dst, Val::int(r!(*a).int_unchecked().wrapping_sub(r!(*b).int_unchecked()))),
        Op::Fadd { dst, a, b } => w!(*dst, Val::float(r!(*a).float_unchecked() + r!(*b).float_unchecked())),
        Op::Fmul { dst, a, b } => w!(*dst, Val::float(r!(*a).float_unchecked() * r!(*b).float_unchecked())),
        Op::Binary { op, dst, a, b } => w!(*dst, binary(*op, r!(*a), r!(*b))),
        Op::PackGet { dst, pack, index } => {
            let p = access::pack_of(r!(*pack));
            w!(*dst, p.vals.get(*index as usize).copied().unwrap_or(Val::NIL));
        }
        Op::Varargs { dst } => w!(*dst, r!($proto.nparams)),
        Op::Upval { dst, index } => {
            // SAFETY: the running closure is live; the verifier checked the index.
            let cell = unsafe { (*$closure).cells()[*index as usize] };
            w!(*dst, Val::from_raw(Tag::Cell, cell as u64));
        }
        Op::ClosureCell { dst, closure, index } => {
            let cell = access::closure_of(r!(*closure)).cells()[*index as usize];
            w!(*dst, Val::from_raw(Tag::Cell, cell as u64));
        }
        Op::IsFn { dst, a, func } => {
            let x = r!(*a);
            // SAFETY: as for `guard.fn` below.
            let is = x.tag() == Tag::Func && unsafe {
                (&(*$proto.module).protos).get(*func as usize).is_some_and(|p| std::ptr::eq((*(x.payload() as *const Closure)).proto, p))
            };
            w!(*dst, Val::bool(is));
        }
        Op::Globals { dst } => w!(*dst, Val::from_raw(Tag::Table, $vm.globals as u64)),
        Op::CellSet { cell, value } => access::cell_of(r!(*cell)).value = r!(*value),
        Op::ArrSet { table, index, value } => {
            // Within the array part (guarded): no growth to account for.
            access::table_of(r!(*table)).set_int(r!(*index).int_unchecked(), r!(*value));
        }
        Op::ArrReserve { table, count } => {
            let n = usize::try_from(r!(*count).int_unchecked()).unwrap_or(0);
            let grew = access::table_of(r!(*table)).reserve(n);
            $vm.heap.account(grew);
        }
        Op::HashSet { table, index, value } => {
            access::table_of(r!(*table)).set_hash_entry_at(r!(*index).int_unchecked(), r!(*value));
        }
        Op::ArrPush { dst, table, index, value } => {
            let pushed = access::table_of(r!(*table)).push_within(r!(*index).int_unchecked(), r!(*value));
            w!(*dst, Val::bool(pushed));
        }
        Op::Closure { dst, func, cells } => {
            let mut buf = [std::ptr::null_mut::<Cell>(); 8];
            let spilled: Vec<*mut Cell>;
            let cells: &[*mut Cell] = if cells.len() <= buf.len() {
                for (b, &c) in buf.iter_mut().zip(cells.iter()) {
                    *b = r!(c).payload() as *mut Cell;
                }
                &buf[..cells.len()]
            } else {
                spilled = cells.iter().map(|&c| r!(c).payload() as *mut Cell).collect();
                &spilled
            };
            // SAFETY: protos of a module are contiguous and `func` indexes the module.
            let target = unsafe { ($proto as *const Proto).sub($proto.index as usize).add(*func as usize) };
            let v = $vm.new_closure(target, cells);
            w!(*dst, v);
        }
        Op::RtCall2 { f, dst, a, b, site } => {
            let (t, k) = (r!(*a), r!(*b));
            if let Some(s) = $proto.sites.get(*site as usize) {
                if field_absent(t, k) {
                    s.record_field_absent();
                }
            }
            rtcall_fixed!($vm, $proto, f, dst, site, [t, k])
        }
        Op::RtCall3 { f, dst, a, b, c, site } => {
            let (t, k) = (r!(*a), r!(*b));
            if let Some(s) = $proto.sites.get(*site as usize) {
                if past_array(t, k) {
                    s.record_past_array();
                }
                if field_absent(t, k) {
                    s.record_field_absent();
                }
            }
            rtcall_fixed!($vm, $proto, f, dst, site, [t, k, r!(*c)])
        }
        Op::RtCall { dst, call } => {
            let RtCallOp { f, args, spread, site } = &**call;
            let mut buf = [Val::NIL; 6];
            let mut heap_args;
            let argv: &[Val] = if !*spread && args.len() <= buf.len() {
                for (i, &a) in args.iter().enumerate() {
                    buf[i] = r!(a);
                }
                &buf[..args.len()]
            } else {
                heap_args = args.iter().map(|&a| r!(a)).collect::<Vec<_>>();
                if *spread {
                    let pack = heap_args.pop().unwrap_or(Val::NIL);
                    if pack.tag() == Tag::Pack {
                        heap_args.extend_from_slice(&access::pack_of(pack).vals);
                    }
                }
                &heap_args
            };
            if let Some(s) = $proto.sites.get(*site as usize) {
                s.record(argv);
            }
            here!();
            match f($vm, argv) {
                Ok(v) => w!(*dst, v),
                Err(e) => fail!(e),
            }
        }
        Op::AddIF { f, dst, a, b, site } => arith_if!($vm, $proto, f, dst, a, b, site, |i, j| Val::int(i.wrapping_add(j)), |p, q| Val::float(p + q)),
        Op::SubIF { f, dst, a, b, site } => arith_if!($vm, $proto, f, dst, a, b, site, |i, j| Val::int(i.wrapping_sub(j)), |p, q| Val::float(p - q)),
        Op::MulIF { f, dst, a, b, site } => arith_if!($vm, $proto, f, dst, a, b, site, |i, j| Val::int(i.wrapping_mul(j)), |p, q| Val::float(p * q)),
        Op::LtIF { f, dst, a, b, site } => arith_if!($vm, $proto, f, dst, a, b, site, |i, j| Val::bool(i < j), |p, q| Val::bool(p < q)),
        Op::LeIF { f, dst, a, b, site } => arith_if!($vm, $proto, f, dst, a, b, site, |i, j| Val::bool(i <= j), |p, q| Val::bool(p <= q)),
        Op::EqIF { f, dst, a, b, site } => arith_if!($vm, $proto, f, dst, a, b, site, |i, j| Val::bool(i == j), |p, q| Val::bool(p == q)),
        Op::RtFast { f, dst, a, b, unary: is_unary, paths, site } => {
            let (x, y) = (r!(*a), r!(*b));
            let args = [x, y];
            let argv = if *is_unary { &args[..1] } else { &args[..] };
            if let Some(s) = $proto.sites.get(*site as usize) {
                s.record(argv);
            }
            let v = match paths.find(x, y, *is_unary) {
                Some(op) if *is_unary => unary(op, x),
                Some(op) => binary(op, x, y),
                None => {
                    here!();
                    match f($vm, argv) {
                        Ok(v) => v,
                        Err(e) => fail!(e),
                    }
                }
            };
            w!(*dst, v);
        }
        Op::Guard { op, arg, imm, snap } => {
            let x = r!(*arg);
            let ok = match op {
                Opcode::GuardTag => x.tag() as i64 == *imm,
                Opcode::GuardElems => Tag::from_u8(*imm as u8).is_some_and(|tag| access::table_of(x).elems_are(tag)),
                // SAFETY: a `Func` value's payload is a live closure, and a proto's
                // module outlives it.
                Opcode::GuardFn => x.tag() == Tag::Func && unsafe {
                    let protos = &(*$proto.module).protos;
                    usize::try_from(*imm).ok().and_then(|n| protos.get(n)).is_some_and(|p| std::ptr::eq((*(x.payload() as *const Closure)).proto, p))
                },
                // SAFETY: a proto's module outlives it.
                Opcode::GuardNative => x.tag() == Tag::Native && unsafe {
                    usize::try_from(*imm).ok().and_then(|n| (&(*$proto.module).natives).get(n)).is_some_and(|op| op.native as *const Native as u64 == x.payload())
                },
                _ => x.payload() != 0,
            };
            if !ok {
                return Err(VmError::msg(format!(
                    "guard failed at snap{snap} in '{}' (the interpreter runs generic code only)",
                    $proto.mir.name
                )));
            }
        }
        Op::BrLtIF(br) => br_cmp_if!($vm, $proto, br, |i, j| i < j, |p, q| p < q),
        Op::BrLeIF(br) => br_cmp_if!($vm, $proto, br, |i, j| i <= j, |p, q| p <= q),
        Op::BrEqIF(br) => br_cmp_if!($vm, $proto, br, |i, j| i == j, |p, q| p == q),
        Op::Jump(t) => branch!(t),
        Op::Brif { cond, then_t, else_t } => {
            let t = if r!(*cond).payload() != 0 { then_t } else { else_t };
            branch!(t);
        }
        Op::BrCmp { op, a, b, then_t, else_t } => {
            let t = if binary(*op, r!(*a), r!(*b)).payload() != 0 { then_t } else { else_t };
            branch!(t);
        }
        Op::BrCmpStep(st) => {
            let cond = binary(st.op, r!(st.a), r!(st.b)).payload() != 0;
            if cond == st.steps_when {
                for &(op, dst, a, b) in st.steps.iter() {
                    let (x, y) = (r!(a).int_unchecked(), r!(b).int_unchecked());
                    w!(dst, Val::int(if op == Opcode::Iadd { x.wrapping_add(y) } else { x.wrapping_sub(y) }));
                }
                branch!(&st.jump);
            } else {
                branch!(&st.other);
            }
        }
        Op::BrTruthy { a, then_t, else_t } => {
            let t = if r!(*a).truthy() { then_t } else { else_t };
            branch!(t);
        }
        Op::BrRtFast(br) => {
            let BrRtOp { f, a, b, paths, site, then_t, else_t } = &**br;
            let args = [r!(*a), r!(*b)];
            if let Some(s) = $proto.sites.get(*site as usize) {
                s.record(&args);
            }
            let cond = match paths.find(args[0], args[1], false) {
                Some(op) => binary(op, args[0], args[1]),
                None => {
                    here!();
                    match f($vm, &args) {
                        Ok(v) => v,
                        Err(e) => fail!(e),
                    }
                }
            };
            let t = if cond.payload() != 0 { then_t } else { else_t };
            branch!(t);
        }
            $($rest)*
        }
    };
}

/// Runs the innermost frame and every interpreted frame it calls, until the frame just
/// above `floor` returns; its results are then at its base.
pub(super) fn interpret(vm: &mut Vm, floor: usize) -> VmResult<usize> {
    run_ops::<false>(vm, floor)
}

/// Runs one op of the innermost frame (the one just above `floor`), at its noted `pc`,
/// as [`interpret`] would, and returns where the frame goes on: the next op's pc after a
/// straight-line op or a call (which runs to completion, compiled callees through
/// [`compiled::call_compiled`]), the target's pc after a branch, the result count after
/// a return. A tail call is not taken: its callee and arguments are left in
/// [`Vm::tail_call`] (the arguments at the frame's base) for the trampoline. The step
/// runs inside the native region of the compiled body that asked for it.
pub(super) fn step_op(vm: &mut Vm, floor: usize) -> VmResult<usize> {
    run_ops::<true>(vm, floor)
}

/// [`interpret`], or with `STEP`, [`step_op`]: one loop, so that both run every op the
/// same way.
fn run_ops<const STEP: bool>(vm: &mut Vm, floor: usize) -> VmResult<usize> {
    let mut closure: *mut Closure;
    let mut proto: &Proto;
    let mut base: usize;
    let mut regs: *mut Val;
    let mut code: &[Op];
    let mut frame_end: usize;
    let mut pc: u32;
    let mut cur_frame: *mut FrameInfo;
    // Makes the innermost frame of `vm.frames` the running one.
    macro_rules! load_frame {
        () => {{
            cur_frame = vm.frames.last_mut().expect("a running frame");
            // SAFETY: just taken from the frame table, which never reallocates.
            let fr = unsafe { *cur_frame };
            closure = fr.closure;
            // SAFETY: frame protos belong to loaded modules.
            proto = unsafe { &*fr.proto };
            base = fr.base;
            regs = vm.slot_ptr(base);
            code = &proto.code;
            frame_end = base + proto.nslots as usize;
            pc = fr.pc;
        }};
    }
    load_frame!();
    // This activation's native frame holds no roots while it calls out: everything it
    // still needs is in its frames' live slots. Register the frame (from a local, which
    // lies below the callee-saved registers the prologue saved) so the collector's
    // native-stack scan skips it and stale copies in it cannot keep garbage alive.
    let marker = 0usize;
    if !STEP {
        vm.interp_regions.push((0, std::hint::black_box(&marker) as *const usize as usize));
    }
    let region: *mut (usize, usize) = vm.interp_regions.last_mut().expect("a native region");
    // Before anything that may run the collector or other code: note where the frame
    // stopped (for liveness and tracebacks) and the native stack pointer.
    macro_rules! callout {
        ($at:expr) => {{
            // SAFETY: the frame and region tables never reallocate (capacity reserved and
            // checked on push), and the running frame and this region stay where they
            // are until this activation pops them.
            unsafe {
                (*cur_frame).pc = $at;
                (*region).0 = stack_pointer();
            }
        }};
    }
    slot_access!($ regs);
    // The running frame returns `$n` values, now at its base.
    macro_rules! do_return {
        ($n:expr) => {{
            let n: usize = $n;
            if vm.frames.len() <= floor + 1 {
                return Ok(n);
            }
            vm.frames.pop();
            vm.depth -= 1;
            let results = base;
            load_frame!();
            // The caller stopped at its call, whose results go to its slots.
            let Op::Call(call) = &code[pc as usize] else { unreachable!("a frame returns to a call") };
            vm.top = frame_end;
            write_results(vm, regs, call, results, n);
            pc += 1;
        }};
    }
    // A branch to a loop header counts the loop's run, may collect, and (in a frame the
    // interpreter runs to its end) may leave for the loop's on-stack entry when the loop
    // has run long: the entry either runs the call to its end, or deoptimizes and leaves
    // the frame to go on here, rebuilt.
    macro_rules! branch {
        ($t:expr) => {{
            let t: &Target = $t;
            do_moves(regs, &proto.moves, t);
            pc = t.pc;
            if t.loop_header {
                let runs = loop_run(proto, t);
                if vm.heap.wants_collection() {
                    callout!(pc);
                    vm.collect_garbage();
                    vm.check_interrupt()?;
                }
                if !STEP && wants_osr(vm, runs) {
                    callout!(pc);
                    let header = proto.origin[pc as usize].0;
                    match compiled::enter_loop(vm, header)? {
                        compiled::Entered::Declined => {}
                        compiled::Entered::Resumed => load_frame!(),
                        compiled::Entered::Returned(n) => do_return!(n),
                    }
                }
            }
        }};
    }
    // What the shared straight-line ops (`frame_ops!`) need: note the frame at this
    // op before anything that may reach a safepoint, and fail with a positioned error.
    macro_rules! here {
        () => {
            callout!(pc - 1)
        };
    }
    macro_rules! fail {
        ($e:expr) => {
            return Err(locate(vm, proto, pc as usize - 1, $e))
        };
    }
    let mut stepped = false;
    loop {
        if STEP {
            if stepped && vm.frames.len() == floor + 1 {
                return Ok(pc as usize);
            }
            stepped = true;
        }
        debug_assert!((pc as usize) < code.len());
        // SAFETY: every block ends in a terminator, which leaves through a branch or a
        // return, so `pc` always indexes an op (resume points are checked on entry).
        let op = unsafe { code.get_unchecked(pc as usize) };
        pc += 1;
        frame_ops!(op, vm, proto, closure, {
            Op::Call(call) => {
                let CallOp { op, callee, args, spread, dsts: _, site } = &**call;
                let f = r!(*callee);
                record_call(proto, *site, f);
                let at = frame_end;
                let n = stage_args(vm, regs, args, *spread, at)?;
                if STEP && *op == Opcode::TailCall && vm.frames.len() == floor + 1 {
                    for i in 0..n {
                        let v = vm.get(at + i);
                        vm.set(base + i, v);
                    }
                    callout!(pc - 1);
                    vm.tail_call = Some((f, n));
                    return Ok(n);
                }
                if f.tag() == Tag::Func && *op == Opcode::TailCall {
                    let callee = f.payload() as *mut Closure;
                    // Reuse this frame: arguments move down to its base.
                    for i in 0..n {
                        let v = vm.get(at + i);
                        vm.set(base + i, v);
                    }
                    callout!(pc - 1);
                    if let Err(e) = replace_frame(vm, callee, n) {
                        return Err(locate(vm, proto, pc as usize - 1, e));
                    }
                    if let Some(body) = compiled::entry_of(callee) {
                        // The callee has machine code: it runs this frame to its return.
                        // Same frame, same base: its results are where `do_return!` expects.
                        let n = compiled::run_pushed(vm, body, vm.frames.len() - 1)?;
                        do_return!(n);
                        continue;
                    }
                    load_frame!();
                    continue;
                }
                if f.tag() == Tag::Func && compiled::entry_of(f.payload() as *mut Closure).is_none() {
                    let callee = f.payload() as *mut Closure;
                    {
                        callout!(pc - 1);
                        if let Err(e) = push_frame(vm, callee, at, n) {
                            return Err(locate(vm, proto, pc as usize - 1, e));
                        }
                    }
                    load_frame!();
                    continue;
                }
                // Any other callee (a native, a value with `__call`, or a value that cannot
                // be called) is called through the VM, so its errors get this
                // instruction's position and names.
                callout!(pc - 1);
                vm.top = at + n;
                let result = match (STEP && f.tag() == Tag::Func).then(|| compiled::entry_of(f.payload() as *mut Closure)).flatten() {
                    // Compiled code calling compiled code does not nest a host activation.
                    Some(body) => {
                        let n = compiled::call_compiled(vm, f.payload() as *mut Closure, body, at, n);
                        if n >= 0 { Ok(n as usize) } else { Err(compiled::take_error(vm)) }
                    }
                    None => vm.call_at(f, at, n),
                };
                vm.top = frame_end;
                let nret = match result {
                    Ok(n) => n,
                    Err(e) => return Err(locate(vm, proto, pc as usize - 1, e)),
                };
                if *op == Opcode::TailCall {
                    for i in 0..nret {
                        let v = vm.get(at + i);
                        vm.set(base + i, v);
                    }
                    do_return!(nret);
                    continue;
                }
                write_results(vm, regs, call, at, nret);
            }
            Op::Return { args, spread } => {
                let n = return_values(vm, regs, args, *spread, base, frame_end)?;
                do_return!(n);
            }
        })
    }
}

/// Profiles a call of `f` at `site`: its tag, and its target (see
/// [`SiteProfile::record_target`](super::proto::SiteProfile::record_target)).
#[inline(always)]
fn record_call(proto: &Proto, site: u32, f: Val) {
    if let Some(s) = proto.sites.get(site as usize) {
        s.record(&[f]);
        let target = if f.tag() == Tag::Func {
            // SAFETY: a `Func` value's payload is a live closure.
            unsafe { (*(f.payload() as *const Closure)).proto as u64 }
        } else {
            f.payload()
        };
        s.record_target(target);
    }
}

/// Counts a branch to loop header `t` (in the function's back edges and the loop's runs,
/// [`Proto::loop_entries`]); returns the loop's runs.
#[inline(always)]
fn loop_run(proto: &Proto, t: &Target) -> u32 {
    proto.backedges.store(proto.backedges.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    let Some(runs) = proto.origin.get(t.pc as usize).and_then(|&(b, _)| proto.loop_entries.get(b as usize)) else { return 0 };
    let n = runs.load(Ordering::Relaxed).wrapping_add(1);
    runs.store(n, Ordering::Relaxed);
    n
}

/// How often a loop that has run long tries its on-stack entry again (the JIT may have
/// had none ready, or none to give).
const OSR_RETRY: u32 = 256;

/// Whether a loop that has run `runs` times should leave the interpreter for its
/// on-stack entry: at [`Vm::osr_loop_runs`] runs, then every [`OSR_RETRY`].
#[inline(always)]
fn wants_osr(vm: &Vm, runs: u32) -> bool {
    runs >= vm.osr_loop_runs && (runs - vm.osr_loop_runs) % OSR_RETRY == 0
}

/// A return's values, moved to the frame's base; returns their number.
#[inline(always)]
fn return_values(vm: &mut Vm, regs: *mut Val, args: &[u32], spread: bool, base: usize, frame_end: usize) -> VmResult<usize> {
    let n = stage_args(vm, regs, args, spread, frame_end)?;
    for i in 0..n {
        let v = vm.get(frame_end + i);
        vm.set(base + i, v);
    }
    Ok(n)
}

/// Writes a finished call's `n` results, at `stack[at..]`, to its destination slots.
#[inline(always)]
fn write_results(vm: &mut Vm, regs: *mut Val, call: &CallOp, at: usize, n: usize) {
    // SAFETY: destination slots are below `nslots`, and the frame fits the stack.
    let w = |d: u32, v: Val| unsafe { *regs.add(d as usize) = v };
    if call.op == Opcode::CallPack {
        let vals = vm.slice(at, n).to_vec();
        let p = vm.new_pack(&vals);
        w(call.dsts[0], p);
    } else {
        for (i, &d) in call.dsts.iter().enumerate() {
            w(d, if i < n { vm.get(at + i) } else { Val::NIL });
        }
    }
}

/// What [`step_in_frame`] did.
pub(super) enum Stepped {
    /// It ran the op; the frame goes on at this pc.
    At(u32),
    /// The op returned this many results (now at the frame's base).
    Returned(usize),
    /// It left the op alone: a tail call, or a call of something without machine code.
    Other,
}

/// Runs op `pc` of the innermost frame, which a compiled body runs, unless it is a tail
/// call or a call of something without machine code: the cheap part of
/// [`super::compiled::step`] (no activation of the interpreter's loop). Branches make
/// their moves and count back edges as the interpreter's do; calls run to completion
/// through [`super::compiled::call_compiled`].
#[inline]
pub(super) fn step_in_frame(vm: &mut Vm, pc: u32) -> VmResult<Stepped> {
    let frame: *mut FrameInfo = vm.frames.last_mut().expect("a running frame");
    // SAFETY: just taken from the frame table, which never reallocates; frame protos
    // belong to loaded modules.
    let (proto, closure, base) = unsafe { (&*(*frame).proto, (*frame).closure, (*frame).base) };
    let Some(op) = proto.code.get(pc as usize) else {
        return Err(VmError::msg(format!("internal error: no op {pc} in '{}'", proto.mir.name)));
    };
    // The frame is at this op (for the collector's liveness and tracebacks); the native
    // region of the compiled body ends here.
    // SAFETY: as above.
    unsafe { (*frame).pc = pc };
    super::compiled::enter_helper(vm);
    let regs = vm.slot_ptr(base);
    let frame_end = base + proto.nslots as usize;
    slot_access!($ regs);
    macro_rules! here {
        () => {};
    }
    macro_rules! fail {
        ($e:expr) => {
            return Err(locate(vm, proto, pc as usize, $e))
        };
    }
    macro_rules! branch {
        ($t:expr) => {{
            let t: &Target = $t;
            do_moves(regs, &proto.moves, t);
            if t.loop_header {
                loop_run(proto, t);
                if vm.heap.wants_collection() {
                    // SAFETY: as above.
                    unsafe { (*frame).pc = t.pc };
                    vm.collect_garbage();
                    vm.check_interrupt()?;
                }
            }
            return Ok(Stepped::At(t.pc));
        }};
    }
    frame_ops!(op, vm, proto, closure, {
        Op::Return { args, spread } => return return_values(vm, regs, args, *spread, base, frame_end).map(Stepped::Returned),
        Op::Call(call) if call.op != Opcode::TailCall => {
            let f = r!(call.callee);
            let callee = f.payload() as *mut Closure;
            let Some(body) = (f.tag() == Tag::Func).then(|| compiled::entry_of(callee)).flatten() else {
                return Ok(Stepped::Other);
            };
            record_call(proto, call.site, f);
            let n = stage_args(vm, regs, &call.args, call.spread, frame_end)?;
            vm.top = frame_end + n;
            let nret = compiled::call_compiled(vm, callee, body, frame_end, n);
            vm.top = frame_end;
            if nret < 0 {
                let e = compiled::take_error(vm);
                fail!(e);
            }
            write_results(vm, regs, call, frame_end, nret as usize);
        }
        Op::Call(_) => return Ok(Stepped::Other),
    });
    Ok(Stepped::At(pc + 1))
}

/// A pure one-operand op on slot values (typed values are boxed in slots).
#[inline(always)]
fn unary(op: Opcode, x: Val) -> Val {
    match op {
        Opcode::Tag => Val::int(x.tag() as i64),
        Opcode::Ineg => Val::int(x.int_unchecked().wrapping_neg()),
        Opcode::Fneg => Val::float(-x.float_unchecked()),
        Opcode::Fsqrt => Val::float(x.float_unchecked().sqrt()),
        Opcode::IntToFloat => Val::float(x.int_unchecked() as f64),
        Opcode::PackLen => Val::int(access::pack_of(x).vals.len() as i64),
        Opcode::ArrLen => Val::int(access::table_of(x).array_len() as i64),
        Opcode::MetaNil => Val::bool(access::table_of(x).meta.is_null()),
        other => unreachable!("unary {}", other.mnemonic()),
    }
}

/// A pure two-operand op on slot values.
#[inline(always)]
fn binary(op: Opcode, x: Val, y: Val) -> Val {
    let (i, j) = (x.int_unchecked(), y.int_unchecked());
    let (f, g) = (x.float_unchecked(), y.float_unchecked());
    match op {
        Opcode::Iadd => Val::int(i.wrapping_add(j)),
        Opcode::Isub => Val::int(i.wrapping_sub(j)),
        Opcode::Imul => Val::int(i.wrapping_mul(j)),
        Opcode::Imod => Val::int(Opcode::imod(i, j)),
        Opcode::IcmpEq => Val::bool(i == j),
        Opcode::IcmpNe => Val::bool(i != j),
        Opcode::IcmpLt => Val::bool(i < j),
        Opcode::IcmpLe => Val::bool(i <= j),
        Opcode::Fadd => Val::float(f + g),
        Opcode::Fsub => Val::float(f - g),
        Opcode::Fmul => Val::float(f * g),
        Opcode::Fdiv => Val::float(f / g),
        Opcode::FcmpEq => Val::bool(f == g),
        Opcode::FcmpLt => Val::bool(f < g),
        Opcode::FcmpLe => Val::bool(f <= g),
        Opcode::ArrGet | Opcode::ArrGetInt | Opcode::ArrGetFloat | Opcode::ArrGetBool => access::table_of(x).get_int(j),
        Opcode::HashFind => Val::int(access::table_of(x).hash_index_of(y)),
        Opcode::HashGet => access::table_of(x).hash_entry_value(j),
        other => unreachable!("binary {}", other.mnemonic()),
    }
}
