//! Type speculation: a runtime call whose operands' types the profile knows becomes
//! guarded typed code.
//!
//! Generic MIR does every dynamic operation with a runtime call (`rtcall @lua.add`),
//! and the frontend declares, for each runtime function, what it amounts to on operands
//! of given types: *fast paths* (`lua.add` on two ints is `iadd`) and *float
//! promotion* (`lua.add` on an int and a float is `fadd` of the converted operands).
//! The framework knows nothing of Lua; it only reads those declarations. The profile
//! says which tags each operand of each site has had. Where every operand has always
//! had one tag, and a declaration covers that combination, the call becomes
//!
//! ```text
//! guard.tag a, int, snapN        ; deoptimize unless the profile's guess holds
//! guard.tag b, int, snapN
//! x = unbox.int a
//! y = unbox.int b
//! r = iadd x, y
//! v = box.int r                  ; the call's own result value, rewritten in place
//! ```
//!
//! The call instruction is rewritten in place into the box (or, for a function whose
//! declared result is already the typed op's result, such as a comparison returning
//! `i1`, into the op itself), so its result keeps its number and no use changes.
//! `box_elim` then removes the box/unbox pairs this leaves between operations.
//!
//! Every guard has a snapshot that resumes the generic function *at the call*, with
//! every generic value live there: a failing guard rebuilds the generic frame and the
//! interpreter performs the call itself, so nothing is lost. The guards of one call
//! share its snapshot, which names the call's site as the one to blame
//! (`Snapshot::blame`): the failure is recorded there, and the next compile does not
//! speculate on it again. When it guarded anything, the pass also leaves one snapshot
//! per loop header, resuming at the header's first instruction with no blame: the state
//! a loop is entered with, which `licm` and `bce` need for the guards they move in front
//! of a loop (`dce` drops the ones no guard uses).
//!
//! A loop the profile never saw run (its header's run count, `Profile::loop_runs`, is
//! 0) has no types to speculate from: compiled generically it would run every
//! operation as a runtime call, for as long as the code lives. So it becomes an exit:
//! its header's code is replaced by a guard that always fails, whose snapshot
//! resumes the generic function at the header and is marked `unreached`:
//!
//! ```text
//! block7(v16: i64, v17: i64, v18: val):   ; was the loop's header
//!   v21 = bconst false
//!   guard v21, snap2                       ; snap2 = resume block7:0 unreached { .. }
//!   return                                 ; never runs
//! ```
//!
//! and the code only the loop reached is emptied. When the loop runs after all, the
//! interpreter takes over at its header, counts the run, and enters optimized code
//! again once the loop runs long (a new on-stack entry made from a profile that now
//! covers it); such an exit does not count as a failed guess. This is what makes a
//! main chunk, optimized in its first long loop, fast in its later loops.
//!
//! A call (`call`, `call.pack`) with a fixed argument list whose callee has always been
//! a closure of one function of the module (the profile's call target) gets a guard on
//! it (a `call` whose callees were closures of two or three functions gets `is.fn` tests
//! choosing between as many copies of it, each guarded this way):
//!
//! ```text
//! guard.fn v4, fn2, snap1        ; deoptimize unless v4 is a closure of fn2
//! v5 = call v4(v3)
//! ```
//!
//! so that the call's target is known in the code after it (a hot global function that
//! is replaced, or a method found through another metatable, deoptimizes). The call
//! itself stays a call through the callee's dispatch slot, unless `inline` makes it the
//! callee's body (tail calls too). A call or tail call spreading the results of the
//! call right before it (`f(g(x))`) gets its guard in front of that call, resuming
//! there, so that no snapshot keeps the pack alive (`inline` may then pass the values
//! on and inline both). Other calls that spread a pack get no guard: they are neither
//! inlined nor made with a known frame, so a guard would only cost (and its snapshot
//! would keep the pack alive, which otherwise stays where the call before left its
//! values).
//!
//! A runtime call the frontend declared as a table access (`TableAccess`: a raw read or
//! write where the raw value is present, or a write into the array part of a table with
//! no metatable), whose operands were always a table and an integer key, becomes
//! guarded array-part code (`arr.len`, `arr.get`, `arr.set`, `meta.nil`; see
//! `speculate_array`): a read guards that the key is within the array part and the
//! element not `nil`; a write branches to the call itself past the array part, since
//! filling an array appends, unless the profile says no write at the site ever went
//! past it (the interpreter records that for runtime calls of three operands): then it
//! guards on the bounds as a read does. Past the array part, an append that fits it
//! as it is (`arr.push`) comes before the call.
//!
//! Where what a function does with a table says its elements are all integers, all
//! floats or all booleans (every `guard.tag` on a read's result checks the same one of
//! those, or its writes store boxes or constants of one; see `speculate_elements`),
//! its accesses check the table's *element tag* instead (`guard.elems t, float`: every
//! element of the array part has that tag, which the table keeps; `licm` moves the
//! check out of a loop that stores no other tag) and read the element's payload
//! (`arr.get.float`, no tag check per element) or write it alone (`arr.set.float`). A
//! failed `guard.elems` marks its site (`SiteSeen::mixed_elements`): the next compile
//! reads and writes there with tags.
//!
//! The same access with a string constant key, whose table operand was always a table
//! that had a value at the key itself, becomes field code (`hash.find`, `hash.get`,
//! `hash.set`; see `speculate_field`): the key's hash-part entry, guarded found, then
//! its value read or written, guarded not `nil`. Where the profile says an access found
//! no value in the table itself (`SiteSeen::field_absent`: the interpreter records it,
//! and a filled lookup cache shows compiled code answered from a metatable, as a method
//! call does), the call stays, so that a method site never deoptimizes for it. A loop
//! of such accesses holds no call, so `licm` moves the entry finds of the tables it
//! does not change out of it.
//!
//! A call of one argument whose callee has always been the same native function (a
//! host function value), for which the frontend declared a fast path (`NativeOp`: the
//! call computes a pure unary op on its argument), becomes the op itself:
//!
//! ```text
//! guard.native v4, 0, snap1      ; deoptimize unless v4 is native op 0's function
//! guard.tag v3, float, snap1
//! v6 = unbox.float v3
//! v7 = fsqrt v6
//! v5 = box.float v7              ; was: v5 = call v4(v3)
//! ```
//!
//! The path is chosen by the argument's tag where this pass knows it (a box made here),
//! else the first declared one is guarded. A loop calling `math.sqrt` is then free of
//! calls, so `licm` may hoist its heap reads.
//!
//! It does not fire where:
//! - the site never ran, an operand has had more than one tag, or no declaration
//!   covers the tags seen (a polymorphic site stays a runtime call); a call whose
//!   callees were closures of more than three functions, or anything else;
//! - a speculation on the site deoptimized before (the profile marks the site failed:
//!   guessing again would deoptimize again);
//! - the call spreads a pack or has more than two operands, or has no site;
//! - the function already has snapshots: speculation starts from generic MIR, whose
//!   positions are the resume points (a second run of the pass changes nothing);
//! - (for exits) the loop ran at least once, or its runs are unknown (an empty
//!   `loop_runs`, as for a function whose loops ran in code that does not count them).

use lazyjit_ir::dominators::DominatorTree;
use lazyjit_ir::interp::{NativeOp, RtEntry, TableAccess};
use lazyjit_ir::liveness::Liveness;
use lazyjit_ir::loops::LoopForest;
use lazyjit_ir::rt::Tag;
use lazyjit_ir::{
    Block, BlockCall, BlockData, Const, DebugInfo, Function, Inst, InstData, Opcode, ResumeAt, SiteId, SnapId, SnapSource, Snapshot, Type,
    Value, ValueDef,
};

use crate::edit::{boxed_tag, def_data, make1, make_inst, reachable_from, stub_blocks, unboxed};
use crate::profile::SiteSeen;
use crate::{Context, Pass, PassReport};

/// The type speculation pass (`type_spec`).
pub struct TypeSpec;

/// How a speculated call computes its result.
struct Plan {
    /// The operand tags the guards check.
    tags: Vec<Tag>,
    /// The typed op.
    op: Opcode,
    /// Convert integer operands to float first (float promotion).
    promote: bool,
}

fn box_op(ty: Type) -> Option<Opcode> {
    Some(match ty {
        Type::I64 => Opcode::BoxInt,
        Type::F64 => Opcode::BoxFloat,
        Type::I1 => Opcode::BoxBool,
        _ => return None,
    })
}

fn result_type(op: Opcode) -> Option<Type> {
    match op.results() {
        lazyjit_ir::Results::One(t) => Some(t),
        _ => None,
    }
}

/// What a call of `entry` on operands of `tags` can become, if anything.
fn plan(entry: &RtEntry, tags: &[Tag]) -> Option<Plan> {
    let unary = tags.len() == 1;
    let fast = entry
        .fast_paths
        .iter()
        .find(|p| p.tags[0] == tags[0] && (unary || p.tags[1] == tags[1]));
    if let Some(p) = fast {
        return Some(Plan { tags: tags.to_vec(), op: p.op, promote: false });
    }
    let promotion = entry.promotion?;
    let number = |t: &Tag| matches!(t, Tag::Int | Tag::Float);
    if tags.len() == 2 && tags.iter().all(number) && (promotion.ints_too || tags.contains(&Tag::Float)) {
        return Some(Plan { tags: tags.to_vec(), op: promotion.op, promote: true });
    }
    None
}

/// The native fast path for a call of native op `n`'s function with argument `arg`:
/// the one for the argument's tag when it is known (a box made here), else the first
/// declared (its tag is then guarded). Its number and declaration.
fn native_way(cx: &Context, f: &Function, n: usize, arg: Value) -> Option<(usize, NativeOp)> {
    let target = cx.natives.get(n)?.native;
    let known = match def_data(f, arg) {
        Some(InstData::Unary { op, .. }) => boxed_tag(*op),
        _ => None,
    };
    let mut ways = cx.natives.iter().enumerate().filter(|(_, w)| std::ptr::eq(w.native, target));
    match known {
        Some(tag) => ways.find(|(_, w)| w.arg == tag),
        None => ways.next(),
    }
    .map(|(i, w)| (i, *w))
}

/// Replaces `call` (of `callee` with `arg`, one result or none) by the native fast path
/// `way`: `guard.native` on the callee, `guard.tag` on the argument, the op on its
/// payload, boxed as the call's result. Returns the number of guards.
#[allow(clippy::too_many_arguments)]
fn speculate_native(
    f: &mut Function,
    insts: &mut Vec<Inst>,
    call: Inst,
    (n, way): (usize, NativeOp),
    callee: Value,
    arg: Value,
    snap: SnapId,
    debug: DebugInfo,
) -> u64 {
    let mut place = |f: &mut Function, data: InstData| {
        let (i, r) = make1(f, data, debug);
        insts.push(i);
        r
    };
    place(f, InstData::Guard { op: Opcode::GuardNative, arg: callee, imm: n as i64, snap });
    place(f, InstData::Guard { op: Opcode::GuardTag, arg, imm: way.arg as i64, snap });
    let (_, _, unbox) = unboxed(way.arg).expect("native fast paths take ints or floats");
    let mut x = place(f, InstData::Unary { op: unbox, arg }).expect("an unbox has a result");
    if way.arg == Tag::Int && way.op.operand_types() == [Type::F64] {
        x = place(f, InstData::Unary { op: Opcode::IntToFloat, arg: x }).expect("i2f has a result");
    }
    let r = place(f, InstData::Unary { op: way.op, arg: x }).expect("a native op has a result");
    let boxed = result_type(way.op).and_then(box_op).expect("declared results are i64, f64 or i1");
    if f.insts[call.index()].results.is_empty() {
        // Nothing uses the result: the call becomes the (pure) op alone.
        f.insts[call.index()].data = InstData::Unary { op: boxed, arg: r };
        let v = f.make_value(Type::Val, ValueDef::Result(call, 0));
        f.insts[call.index()].results.push(v);
    } else {
        f.insts[call.index()].data = InstData::Unary { op: boxed, arg: r };
    }
    insts.push(call);
    2
}

/// Rewrites `call`, a table access declared as `access` on `args` (a table and an
/// integer key, as the profile says, then the stored value for a write), into guarded
/// array-part code with snapshot `snap`, appending its instructions to the block being
/// built (`out`: the block and its instructions so far). A read:
///
/// ```text
/// guard.tag t, table, snap       ; the profile's guesses
/// guard.tag k, int, snap
/// i = unbox.int k
/// c0 = icmp.le one, i            ; 1 <= i <= n: in the array part
/// guard c0, snap
/// n = arr.len t
/// c1 = icmp.le i, n
/// guard c1, snap
/// r = arr.get t, i               ; the call's result, rewritten in place, which the
/// g = tag r                      ; declaration covers only if it is not nil
/// c2 = icmp.ne g, zero
/// guard c2, snap
/// ```
///
/// A write that the profile saw go past the array part (filling an array appends;
/// `past_array`) branches instead of guarding on the upper bound: the block is split,
/// and its rest goes on in a new block that takes the call's result as its parameter:
///
/// ```text
///   (the guards on the tags and on 1 <= i, as above)
///   m = meta.nil t               ; the declaration covers a table without one
///   guard m, snap
///   n = arr.len t
///   c1 = icmp.le i, n
///   z = const nil
///   brif c1, blockF, blockA
/// blockF:
///   arr.set t, i, v
///   jump blockJ(z)
/// blockA:
///   p = arr.push t, i, v         ; an append that fits the array part as it is
///   brif p, blockJ(z), blockS
/// blockS:
///   w = rtcall @set(t, k, v)     ; the call itself
///   jump blockJ(w)
/// blockJ(r: val):                ; r: the call's result, same number
/// ```
///
/// A write that always stayed within the array part guards on the upper bound as a
/// read does, then `arr.set t, i, v`; the call becomes `r = const nil`. A loop of such
/// writes then holds no call, so what the loop reads of its tables (their lengths,
/// metatables, the cells holding them) can move out of it (`licm`).
///
/// Returns the number of guards.
fn speculate_array(
    f: &mut Function,
    (out, insts): (&mut Block, &mut Vec<Inst>),
    call: Inst,
    access: TableAccess,
    seen: &SiteSeen,
    args: &[Value],
    snap: SnapId,
    debug: DebugInfo,
    elements: &mut Vec<(Inst, SnapId)>,
) -> u64 {
    let at = Placer { debug, snap };
    let place = |f: &mut Function, insts: &mut Vec<Inst>, data: InstData| at.put(f, insts, data);
    let (t, k) = (args[0], args[1]);
    at.guard(f, insts, t, Opcode::GuardTag, Tag::Table as i64);
    at.guard(f, insts, k, Opcode::GuardTag, Tag::Int as i64);
    let i = at.value(f, insts, InstData::Unary { op: Opcode::UnboxInt, arg: k });
    let one = at.iconst(f, insts, 1);
    let low = at.value(f, insts, InstData::Binary { op: Opcode::IcmpLe, args: [one, i] });
    at.guard(f, insts, low, Opcode::Guard, 0);
    if access == TableAccess::Set {
        let plain = at.value(f, insts, InstData::Unary { op: Opcode::MetaNil, arg: t });
        at.guard(f, insts, plain, Opcode::Guard, 0);
    }
    let n = at.value(f, insts, InstData::Unary { op: Opcode::ArrLen, arg: t });
    let inside = at.value(f, insts, InstData::Binary { op: Opcode::IcmpLe, args: [i, n] });
    match access {
        TableAccess::Get => {
            at.guard(f, insts, inside, Opcode::Guard, 0);
            f.insts[call.index()].data = InstData::Binary { op: Opcode::ArrGet, args: [t, i] };
            let r = f.insts[call.index()].results[0];
            insts.push(call);
            at.guard_present(f, insts, r);
            elements.push((call, snap));
            5
        }
        TableAccess::Set if !seen.past_array => {
            at.guard(f, insts, inside, Opcode::Guard, 0);
            let (set, _) = make1(f, InstData::Ternary { op: Opcode::ArrSet, args: [t, i, args[2]] }, debug);
            insts.push(set);
            elements.push((set, snap));
            f.insts[call.index()].data = InstData::Const { op: Opcode::Const, imm: Const::Nil };
            insts.push(call);
            5
        }
        TableAccess::Set => {
            let new_block = |f: &mut Function| {
                f.blocks.push(BlockData { params: Vec::new(), insts: Vec::new(), loop_header: false });
                Block::new(f.blocks.len() - 1)
            };
            let (fast, append, slow, join) = (new_block(f), new_block(f), new_block(f), new_block(f));
            // The call's result becomes the join block's parameter; the call gets a new one.
            let r = f.insts[call.index()].results[0];
            let w = f.make_value(Type::Val, ValueDef::Result(call, 0));
            f.insts[call.index()].results[0] = w;
            f.values[r.index()].def = ValueDef::Param(join, 0);
            f.blocks[join.index()].params.push(r);
            let to = |block: Block, args: Vec<Value>| BlockCall { block, args };
            let z = at.value(f, insts, InstData::Const { op: Opcode::Const, imm: Const::Nil });
            let branch = InstData::Brif { op: Opcode::Brif, cond: inside, then_dest: to(fast, vec![]), else_dest: to(append, vec![]) };
            place(f, insts, branch);
            f.blocks[out.index()].insts = std::mem::take(insts);
            let mut body = Vec::new();
            let (set, _) = make1(f, InstData::Ternary { op: Opcode::ArrSet, args: [t, i, args[2]] }, debug);
            body.push(set);
            place(f, &mut body, InstData::Jump { op: Opcode::Jump, dest: to(join, vec![z]) });
            f.blocks[fast.index()].insts = body;
            let mut body = Vec::new();
            let (push, pushed) = make1(f, InstData::Ternary { op: Opcode::ArrPush, args: [t, i, args[2]] }, debug);
            let pushed = pushed.expect("arr.push has a result");
            body.push(push);
            elements.extend([(set, snap), (push, snap)]);
            let branch = InstData::Brif { op: Opcode::Brif, cond: pushed, then_dest: to(join, vec![z]), else_dest: to(slow, vec![]) };
            place(f, &mut body, branch);
            f.blocks[append.index()].insts = body;
            let mut body = vec![call];
            place(f, &mut body, InstData::Jump { op: Opcode::Jump, dest: to(join, vec![w]) });
            f.blocks[slow.index()].insts = body;
            *out = join;
            4
        }
    }
}

/// Array accesses (`accesses`: each `arr.get`, `arr.set` and `arr.push` made, with its
/// access's snapshot) on tables whose elements seem to be all integers, all floats or
/// all booleans: the access checks that every element of the table has that tag and
/// reads or writes the payload alone. A read is rewritten in place into the box of the payload read:
///
/// ```text
/// guard.elems t, float, snap     ; the access's snapshot
/// x = arr.get.float t, i
/// r = box.float x                ; the read's result, same number
/// ```
///
/// and a write of a boxed value (or a constant) writes what was boxed
/// (`arr.set.float t, i, x`; an append, `arr.push.float`).
///
/// What says which tag a table's elements have: every `guard.tag` on a read's result
/// checking the same one, and writes of values boxed from one (a typed read's result
/// among them). Each table, by where it comes from (its value, or the captured
/// variable it is read from: see `Origin`), collects the tags of its accesses; where
/// there is exactly one, its other reads take it too, and the writes of boxes of it go
/// typed; this runs until nothing more changes. `box_elim` then folds the `nil` check
/// on a typed read's result and the `guard.tag`s on it. Returns the guards placed.
fn speculate_elements(f: &mut Function, accesses: &[(Inst, SnapId)]) -> u64 {
    if accesses.is_empty() {
        return 0;
    }
    // Per value, the tags the `guard.tag`s on it check.
    let mut checked: std::collections::HashMap<Value, u16> = std::collections::HashMap::new();
    for block in &f.blocks {
        for &i in &block.insts {
            if let InstData::Guard { op: Opcode::GuardTag, arg, imm, .. } = f.insts[i.index()].data {
                *checked.entry(arg).or_default() |= 1 << (imm as u16 & 15);
            }
        }
    }
    // The one tag of `bits`, if elements of it have typed ops.
    let typed_tag = |bits: u16| {
        let tag = (bits.count_ones() == 1).then(|| Tag::from_u8(bits.trailing_zeros() as u8)).flatten()?;
        Opcode::typed_element_ops(tag).map(|ops| (tag, ops))
    };
    // Per table (by where it comes from), the tags its accesses say its elements have.
    let mut evidence: std::collections::HashMap<Origin, u16> = std::collections::HashMap::new();
    let note = |f: &Function, evidence: &mut std::collections::HashMap<Origin, u16>, inst: Inst| match &f.insts[inst.index()].data {
        InstData::Binary { op: Opcode::ArrGet, args: [t, _] } => {
            if let Some(&bits) = checked.get(&f.insts[inst.index()].results[0]) {
                *evidence.entry(origin(f, *t)).or_default() |= bits;
            }
        }
        InstData::Ternary { op: Opcode::ArrSet | Opcode::ArrPush, args: [t, _, v] } => {
            if let Some((tag, _)) = typed_value(f, *v) {
                *evidence.entry(origin(f, *t)).or_default() |= 1 << tag as u16;
            }
        }
        _ => {}
    };
    for &(inst, _) in accesses {
        note(f, &mut evidence, inst);
    }
    let mut placed = 0;
    let mut done = vec![false; accesses.len()];
    loop {
        let mut changed = false;
        for (n, &(inst, snap)) in accesses.iter().enumerate() {
            if done[n] {
                continue;
            }
            let node = &f.insts[inst.index()];
            let debug = node.debug;
            let (t, i, stored, push) = match node.data {
                InstData::Binary { op: Opcode::ArrGet, args: [t, i] } => (t, i, None, false),
                InstData::Ternary { op: Opcode::ArrSet, args: [t, i, v] } => (t, i, Some(v), false),
                InstData::Ternary { op: Opcode::ArrPush, args: [t, i, v] } => (t, i, Some(v), true),
                _ => continue,
            };
            let Some((tag, [get_op, set_op, push_op])) = evidence.get(&origin(f, t)).copied().and_then(typed_tag) else { continue };
            let Some((_, box_op, _)) = unboxed(tag) else { continue };
            let set_op = if push { push_op } else { set_op };
            // A write goes typed only with a value of the tag.
            let payload = match stored.map(|v| typed_value(f, v)) {
                None => None,
                Some(Some((t, payload))) if t == tag => Some(payload),
                Some(_) => continue,
            };
            let Some(block) = f.blocks.iter().position(|b| b.insts.contains(&inst)) else { continue };
            let (guard, _) = make1(f, InstData::Guard { op: Opcode::GuardElems, arg: t, imm: tag as i64, snap }, debug);
            let mut placed_insts = vec![guard];
            match payload {
                Some(Payload::Value(x)) => f.insts[inst.index()].data = InstData::Ternary { op: set_op, args: [t, i, x] },
                Some(Payload::Const(imm)) => {
                    let op = match tag {
                        Tag::Int => Opcode::Iconst,
                        Tag::Float => Opcode::Fconst,
                        _ => Opcode::Bconst,
                    };
                    let (k, x) = make1(f, InstData::Const { op, imm }, debug);
                    placed_insts.push(k);
                    f.insts[inst.index()].data = InstData::Ternary { op: set_op, args: [t, i, x.expect("a constant")] };
                }
                None => {
                    let (load, x) = make1(f, InstData::Binary { op: get_op, args: [t, i] }, debug);
                    let x = x.expect("an element read has a result");
                    f.insts[inst.index()].data = InstData::Unary { op: box_op, arg: x };
                    placed_insts.push(load);
                }
            }
            let insts = &mut f.blocks[block].insts;
            let at = insts.iter().position(|&k| k == inst).expect("found above");
            insts.splice(at..at, placed_insts);
            done[n] = true;
            placed += 1;
            changed = true;
        }
        // Writes of what typed reads gave are evidence for their tables.
        for (n, &(inst, _)) in accesses.iter().enumerate() {
            if !done[n] {
                note(f, &mut evidence, inst);
            }
        }
        if !changed {
            return placed;
        }
    }
}

/// What a typed element write stores: a value, or a constant to make.
enum Payload {
    Value(Value),
    Const(Const),
}

/// The tag of `v` and what its payload is, if it is an integer, a float or a boolean
/// known to be one: a box of one, or a constant.
fn typed_value(f: &Function, v: Value) -> Option<(Tag, Payload)> {
    match def_data(f, v)? {
        InstData::Unary { op, arg } => boxed_tag(*op).map(|t| (t, Payload::Value(*arg))),
        InstData::Const { op: Opcode::Const, imm: imm @ Const::Int(_) } => Some((Tag::Int, Payload::Const(imm.clone()))),
        InstData::Const { op: Opcode::Const, imm: imm @ Const::Float(_) } => Some((Tag::Float, Payload::Const(imm.clone()))),
        InstData::Const { op: Opcode::Const, imm: imm @ Const::Bool(_) } => Some((Tag::Bool, Payload::Const(imm.clone()))),
        _ => None,
    }
}

/// Where a table value comes from, for `speculate_elements`: one captured variable's
/// cell, read in several places (each loop reads it for itself), is one table as far as
/// the evidence goes (a guess either way: each access checks its own table).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Origin {
    Value(Value),
    Upval(i64),
    Cell(Value),
}

fn origin(f: &Function, t: Value) -> Origin {
    match def_data(f, t) {
        Some(&InstData::Unary { op: Opcode::CellGet, arg: cell }) => match def_data(f, cell) {
            Some(&InstData::NullaryImm { op: Opcode::Upval, imm }) => Origin::Upval(imm),
            _ => Origin::Cell(cell),
        },
        _ => Origin::Value(t),
    }
}

/// A call whose callee was always a closure of one of a few module functions: `is.fn`
/// tests, one per function but the last, pick one of as many copies of the call, each
/// behind a `guard.fn` on its function (the last's deoptimizes for any other callee),
/// which `inline` may then inline; the copies' results meet as the parameters of the
/// block after them. Returns the guards placed.
fn speculate_few_targets(
    f: &mut Function,
    (out, insts): (&mut Block, &mut Vec<Inst>),
    call: Inst,
    callee: Value,
    fns: &[u32],
    snap: SnapId,
    debug: DebugInfo,
) -> u64 {
    let at = Placer { debug, snap };
    let new_block = |f: &mut Function| {
        f.blocks.push(BlockData { params: Vec::new(), insts: Vec::new(), loop_header: false });
        Block::new(f.blocks.len() - 1)
    };
    let join = new_block(f);
    // The call's results become the join block's parameters; each copy gets its own
    // (the first copy is the call itself).
    let results = f.insts[call.index()].results.clone();
    let types: Vec<Type> = results.iter().map(|&r| f.value_type(r)).collect();
    let data = f.insts[call.index()].data.clone();
    let mut copies = vec![(call, types.iter().enumerate().map(|(i, &t)| f.make_value(t, ValueDef::Result(call, i as u32))).collect::<Vec<_>>())];
    f.insts[call.index()].results = copies[0].1.clone();
    for _ in 1..fns.len() {
        copies.push(make_inst(f, data.clone(), &types, debug));
    }
    for (i, &r) in results.iter().enumerate() {
        f.values[r.index()].def = ValueDef::Param(join, i as u32);
    }
    f.blocks[join.index()].params = results;
    let to = |block: Block, args: Vec<Value>| BlockCall { block, args };
    // The tests: each sends its function's closures to its copy, the rest on.
    let mut test_at = *out;
    let mut test = std::mem::take(insts);
    // The last function's copy goes where the last test would (no test: its guard).
    for (j, (&func, (c, rs))) in fns.iter().zip(copies).enumerate() {
        let arm = if j + 1 < fns.len() {
            let is = at.value(f, &mut test, InstData::UnaryImm { op: Opcode::IsFn, arg: callee, imm: i64::from(func) });
            let (arm, next) = (new_block(f), new_block(f));
            at.put(f, &mut test, InstData::Brif { op: Opcode::Brif, cond: is, then_dest: to(arm, vec![]), else_dest: to(next, vec![]) });
            f.blocks[test_at.index()].insts = std::mem::take(&mut test);
            test_at = next;
            arm
        } else {
            test_at
        };
        let mut body = Vec::new();
        at.guard(f, &mut body, callee, Opcode::GuardFn, i64::from(func));
        body.push(c);
        at.put(f, &mut body, InstData::Jump { op: Opcode::Jump, dest: to(join, rs) });
        f.blocks[arm.index()].insts = body;
    }
    *out = join;
    fns.len() as u64
}

/// Places the instructions of one speculated call: at its position, guarded by its
/// snapshot.
struct Placer {
    debug: DebugInfo,
    snap: SnapId,
}

impl Placer {
    /// Appends an instruction to `insts`; its result, if it has one.
    fn put(&self, f: &mut Function, insts: &mut Vec<Inst>, data: InstData) -> Option<Value> {
        let (i, r) = make1(f, data, self.debug);
        insts.push(i);
        r
    }

    /// Appends an instruction with a result; the result.
    fn value(&self, f: &mut Function, insts: &mut Vec<Inst>, data: InstData) -> Value {
        let op = data.opcode();
        self.put(f, insts, data).unwrap_or_else(|| panic!("{} has a result", op.mnemonic()))
    }

    fn iconst(&self, f: &mut Function, insts: &mut Vec<Inst>, n: i64) -> Value {
        self.value(f, insts, InstData::Const { op: Opcode::Iconst, imm: Const::Int(n) })
    }

    /// A guard (`op`: `guard`, `guard.tag`) on `v` with the snapshot.
    fn guard(&self, f: &mut Function, insts: &mut Vec<Inst>, v: Value, op: Opcode, imm: i64) {
        self.put(f, insts, InstData::Guard { op, arg: v, imm, snap: self.snap });
    }

    /// Guards that `v` (a `val`) is not `nil`.
    fn guard_present(&self, f: &mut Function, insts: &mut Vec<Inst>, v: Value) {
        let tag = self.value(f, insts, InstData::Unary { op: Opcode::Tag, arg: v });
        let nil = self.iconst(f, insts, Tag::Nil as i64);
        let present = self.value(f, insts, InstData::Binary { op: Opcode::IcmpNe, args: [tag, nil] });
        self.guard(f, insts, present, Opcode::Guard, 0);
    }
}

/// Speculates a declared table access with a string constant key (see [`TableAccess`])
/// to find the key in the table itself: the entry is found (`hash.find`, which `licm`
/// may move out of a loop that adds no keys) and read or written where it is.
///
/// ```text
/// guard.tag t, table, snap
/// e = hash.find t, k            ; the entry holding k with a value, or -1
/// none = iconst -1
/// c0 = icmp.ne e, none
/// guard c0, snap
/// r = hash.get t, e             ; a read: the call's result, rewritten in place; not
/// g = tag r                     ; nil (a write of nil to the entry since the find
/// c1 = icmp.ne g, zero          ; would leave the answer to the metatable)
/// guard c1, snap
/// ```
///
/// A write checks the entry's value the same way (a key whose value is `nil` is absent,
/// and `__newindex` would decide), then `hash.set t, e, v`; the call becomes
/// `r = const nil`. Returns the number of guards.
fn speculate_field(f: &mut Function, insts: &mut Vec<Inst>, call: Inst, access: TableAccess, args: &[Value], snap: SnapId, debug: DebugInfo) -> u64 {
    let at = Placer { debug, snap };
    let (t, k) = (args[0], args[1]);
    at.guard(f, insts, t, Opcode::GuardTag, Tag::Table as i64);
    let e = at.value(f, insts, InstData::Binary { op: Opcode::HashFind, args: [t, k] });
    let none = at.iconst(f, insts, -1);
    let found = at.value(f, insts, InstData::Binary { op: Opcode::IcmpNe, args: [e, none] });
    at.guard(f, insts, found, Opcode::Guard, 0);
    match access {
        TableAccess::Get => {
            f.insts[call.index()].data = InstData::Binary { op: Opcode::HashGet, args: [t, e] };
            let r = f.insts[call.index()].results[0];
            insts.push(call);
            at.guard_present(f, insts, r);
        }
        TableAccess::Set => {
            let old = at.value(f, insts, InstData::Binary { op: Opcode::HashGet, args: [t, e] });
            at.guard_present(f, insts, old);
            at.put(f, insts, InstData::Ternary { op: Opcode::HashSet, args: [t, e, args[2]] });
            f.insts[call.index()].data = InstData::Const { op: Opcode::Const, imm: Const::Nil };
            insts.push(call);
        }
    }
    3
}

impl Pass for TypeSpec {
    fn run(&self, cx: &Context, f: &mut Function) -> PassReport {
        let Some(profile) = cx.profile else { return PassReport::default() };
        if !f.snapshots.is_empty() {
            return PassReport::default();
        }
        let liveness = Liveness::compute(f);
        // Resume points are positions in the function as it is now (splits move
        // instructions to new blocks as the walk goes on).
        let generic = f.clone();
        let (mut calls, mut guards, mut targets, mut tables, mut natives) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut fields = 0u64;
        // The `arr.get`s and `arr.set`s made, with their snapshots, for
        // `speculate_elements`.
        let mut elements: Vec<(Inst, SnapId)> = Vec::new();
        // A snapshot resuming the generic function at instruction `k` of `block`, where
        // a failure is recorded at `site`.
        let snapshot_at = |f: &mut Function, block: Block, k: usize, blame: Option<SiteId>| {
            let snap = SnapId::new(f.snapshots.len());
            let live = liveness.live_before(&generic, block, k);
            f.snapshots.push(Snapshot {
                resume: ResumeAt { block: cx.generic_block(block), index: k as u32 },
                entries: live.iter().map(|v| (cx.generic_value(Value::new(v)), SnapSource::Value(Value::new(v)))).collect(),
                blame,
                unreached: false,
            });
            snap
        };
        for bi in 0..f.blocks.len() {
            let block = Block::new(bi);
            let original = f.blocks[bi].insts.clone();
            let mut insts: Vec<Inst> = Vec::with_capacity(original.len());
            // Where `insts` goes: the block, or the last block a split of it made.
            let mut out = block;
            for (k, &inst) in original.iter().enumerate() {
                let node = &f.insts[inst.index()];
                if let InstData::Call { op: Opcode::Call, callee, args, spread: false, site: Some(site) } = &node.data {
                    // A call of one argument that always called a native with fast paths.
                    let seen = profile.site(site.index() as u32).filter(|s| !s.failed());
                    let native = seen.and_then(|s| s.native).filter(|_| args.len() == 1 && node.results.len() <= 1);
                    if let Some(n) = native {
                        let (callee, arg, site, debug) = (*callee, args[0], *site, node.debug);
                        if let Some(way) = native_way(cx, f, n as usize, arg) {
                            let snap = snapshot_at(f, block, k, Some(site));
                            guards += speculate_native(f, &mut insts, inst, way, callee, arg, snap, debug);
                            natives += 1;
                            continue;
                        }
                    }
                }
                if let InstData::Call { op: Opcode::Call | Opcode::CallPack | Opcode::TailCall, callee, spread: false, site: Some(site), .. } = &node.data {
                    // A call that always called closures of one function of the module.
                    let all = profile.site(site.index() as u32);
                    let seen = all.filter(|s| !s.failed());
                    // The callees of a call that always called closures of one of two
                    // or three functions: a guess of one callee that failed once (the
                    // second came) leaves this guess open.
                    let few = all.filter(|s| s.deopts <= 1).map(|s| s.callees).filter(|c| !c.as_slice().is_empty());
                    if let Some(n) = seen.and_then(|s| s.callee) {
                        let (callee, debug) = (*callee, node.debug);
                        let snap = snapshot_at(f, block, k, Some(*site));
                        let guard = InstData::Guard { op: Opcode::GuardFn, arg: callee, imm: n as i64, snap };
                        insts.push(make1(f, guard, debug).0);
                        guards += 1;
                        targets += 1;
                    } else if let (Opcode::Call, Some(few)) = (node.data.opcode(), few) {
                        let (callee, debug) = (*callee, node.debug);
                        let snap = snapshot_at(f, block, k, Some(*site));
                        guards += speculate_few_targets(f, (&mut out, &mut insts), inst, callee, few.as_slice(), snap, debug);
                        targets += few.as_slice().len() as u64;
                        continue;
                    }
                    insts.push(inst);
                    continue;
                }
                // A call or tail call of the results of the call before it (`f(g(x))`),
                // which always called closures of one function: guarded in front of that
                // call, resuming there, so that no snapshot holds the results' pack and
                // `inline` may pass them on as values, then inline this call too.
                if let InstData::Call { op: Opcode::Call | Opcode::TailCall, callee, args, spread: true, site: Some(site) } = &node.data {
                    let before = k.checked_sub(1).map(|j| original[j]);
                    let passed_on = before.filter(|&p| {
                        matches!(f.insts[p.index()].data, InstData::Call { op: Opcode::CallPack, .. })
                            && args.last() == f.insts[p.index()].results.first()
                    });
                    let seen = profile.site(site.index() as u32).filter(|s| !s.failed());
                    if let (Some(pack_call), Some(n)) = (passed_on, seen.and_then(|s| s.callee)) {
                        let (callee, debug) = (*callee, node.debug);
                        let snap = snapshot_at(f, block, k - 1, Some(*site));
                        let guard = InstData::Guard { op: Opcode::GuardFn, arg: callee, imm: n as i64, snap };
                        let (g, _) = make1(f, guard, debug);
                        // In front of the call before and the guard on its callee, if any.
                        let mut at = insts.iter().rposition(|&i| i == pack_call).unwrap_or(insts.len());
                        if at > 0 && matches!(f.insts[insts[at - 1].index()].data, InstData::Guard { op: Opcode::GuardFn, .. }) {
                            at -= 1;
                        }
                        insts.insert(at, g);
                        guards += 1;
                        targets += 1;
                    }
                    insts.push(inst);
                    continue;
                }
                let InstData::RtCall { rt, args, spread: false, site: Some(site), .. } = &node.data else {
                    insts.push(inst);
                    continue;
                };
                let site = *site;
                let (Some(entry), Some(seen)) = (cx.runtime.get(rt.index()), profile.site(site.index() as u32)) else {
                    insts.push(inst);
                    continue;
                };
                // A table access whose operands were always a table and an integer.
                let array_access = entry.table.filter(|a| {
                    !seen.failed() && args.len() == a.arity() && seen.only_tag(0) == Some(Tag::Table) && seen.only_tag(1) == Some(Tag::Int)
                });
                if let Some(access) = array_access {
                    let (args, debug, seen) = (args.clone(), node.debug, *seen);
                    let snap = snapshot_at(f, block, k, Some(site));
                    let before = elements.len();
                    guards += speculate_array(f, (&mut out, &mut insts), inst, access, &seen, &args, snap, debug, &mut elements);
                    if seen.mixed_elements {
                        // Tags checked per element there (a `guard.elems` failed).
                        elements.truncate(before);
                    }
                    tables += 1;
                    continue;
                }
                // A field access: always a table, a string constant key, and the key
                // always found in the table itself.
                let field_access = entry.table.filter(|a| {
                    !seen.failed()
                        && !seen.field_absent
                        && args.len() == a.arity()
                        && seen.only_tag(0) == Some(Tag::Table)
                        && f.is_str_const(args[1])
                });
                if let Some(access) = field_access {
                    let (args, debug) = (args.clone(), node.debug);
                    let snap = snapshot_at(f, block, k, Some(site));
                    guards += speculate_field(f, &mut insts, inst, access, &args, snap, debug);
                    fields += 1;
                    continue;
                }
                let tags: Option<Vec<Tag>> = (0..args.len()).map(|i| seen.only_tag(i)).collect();
                let plan = match tags {
                    Some(tags) if (1..=2).contains(&args.len()) && !seen.failed() => plan(entry, &tags),
                    _ => None,
                };
                let Some(plan) = plan else {
                    insts.push(inst);
                    continue;
                };
                let (args, debug, result) = (args.clone(), node.debug, node.results[0]);
                let result_ty = f.value_type(result);
                let Some(op_ty) = result_type(plan.op) else {
                    insts.push(inst);
                    continue;
                };
                // The call's result becomes the op's (same type) or a box of it.
                let boxed = if result_ty == op_ty {
                    false
                } else if result_ty == Type::Val && box_op(op_ty).is_some() {
                    true
                } else {
                    insts.push(inst);
                    continue;
                };
                let snap = snapshot_at(f, block, k, Some(site));
                let mut place = |f: &mut Function, data: InstData| {
                    let (i, r) = make1(f, data, debug);
                    insts.push(i);
                    r
                };
                let mut operands = Vec::with_capacity(args.len());
                for (&a, &tag) in args.iter().zip(&plan.tags) {
                    place(f, InstData::Guard { op: Opcode::GuardTag, arg: a, imm: tag as i64, snap });
                    guards += 1;
                    let (_, _, unbox) = unboxed(tag).expect("fast paths and promotion take ints, floats or booleans");
                    let mut x = place(f, InstData::Unary { op: unbox, arg: a }).expect("an unbox has a result");
                    if plan.promote && tag == Tag::Int {
                        x = place(f, InstData::Unary { op: Opcode::IntToFloat, arg: x }).expect("i2f has a result");
                    }
                    operands.push(x);
                }
                if plan.op.needs_nonzero_rhs() {
                    // The fast path holds for a second operand other than 0 only.
                    let zero = place(f, InstData::Const { op: Opcode::Iconst, imm: Const::Int(0) }).expect("iconst has a result");
                    let nonzero = place(f, InstData::Binary { op: Opcode::IcmpNe, args: [operands[1], zero] }).expect("icmp has a result");
                    place(f, InstData::Guard { op: Opcode::Guard, arg: nonzero, imm: 0, snap });
                    guards += 1;
                }
                let typed = |op: Opcode, operands: &[Value]| match operands {
                    [a] => InstData::Unary { op, arg: *a },
                    [a, b] => InstData::Binary { op, args: [*a, *b] },
                    _ => unreachable!("one or two operands"),
                };
                if boxed {
                    let r = place(f, typed(plan.op, &operands)).expect("a typed op has a result");
                    let op = box_op(op_ty).expect("checked above");
                    f.insts[inst.index()].data = InstData::Unary { op, arg: r };
                } else {
                    f.insts[inst.index()].data = typed(plan.op, &operands);
                }
                insts.push(inst);
                calls += 1;
            }
            f.blocks[out.index()].insts = insts;
        }
        guards += speculate_elements(f, &elements);
        let dom = DominatorTree::compute(&generic);
        let forest = LoopForest::compute(&generic, &dom);
        // Loops the profile never saw run become exits to the interpreter, earliest
        // first: a loop only such a loop leads to is left unreached by the exit.
        let never_ran = |h: Block| h.index() != 0 && generic.blocks[h.index()].loop_header && profile.never_ran(cx.generic_block(h).index() as u32);
        let mut order = vec![usize::MAX; generic.blocks.len()];
        for (n, b) in dom.reverse_postorder().iter().enumerate() {
            order[b.index()] = n;
        }
        let mut headers: Vec<Block> = forest.loops().iter().map(|l| l.header).filter(|&h| never_ran(h)).collect();
        headers.sort_by_key(|h| order[h.index()]);
        let mut left = 0u64;
        for header in headers {
            if !reachable_from(f, f.entry())[header.index()] {
                continue;
            }
            let snap = snapshot_at(f, header, 0, None);
            f.snapshots[snap.index()].unreached = true;
            let debug = f.blocks[header.index()].insts.first().map_or_else(DebugInfo::default, |&i| f.insts[i.index()].debug);
            let (no, c) = make1(f, InstData::Const { op: Opcode::Bconst, imm: Const::Bool(false) }, debug);
            let c = c.expect("bconst has a result");
            let (exit, _) = make1(f, InstData::Guard { op: Opcode::Guard, arg: c, imm: 0, snap }, debug);
            let (ret, _) = make1(f, InstData::Return { op: Opcode::Return, args: Vec::new(), spread: false }, debug);
            let block = &mut f.blocks[header.index()];
            block.insts = vec![no, exit, ret];
            block.loop_header = false;
            left += 1;
        }
        let emptied = if left > 0 { stub_blocks(f, &reachable_from(f, f.entry())) } else { 0 };
        if guards > 0 {
            // The state at each loop header's start, for guards `licm` hoists out of
            // loops (`dce` drops the ones no guard uses).
            // (Not for a copy of a loop: its snapshot would resume where the original's
            // does, and `licm` would not tell them apart.)
            for l in forest.loops() {
                if f.blocks[l.header.index()].loop_header && cx.generic_block(l.header) == l.header {
                    snapshot_at(f, l.header, 0, None);
                }
            }
        }
        PassReport {
            changed: calls + targets + tables + fields + natives + left > 0,
            counts: vec![
                ("calls speculated", calls),
                ("array accesses speculated", tables),
                ("field accesses speculated", fields),
                ("call targets guarded", targets),
                ("native calls speculated", natives),
                ("guards inserted", guards),
                ("loops left (never ran)", left),
                ("blocks emptied", emptied),
            ],
        }
    }
}
