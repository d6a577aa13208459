//! Bounds-check elimination: the range checks a loop makes on an induction variable on
//! every trip become a few checks made once, before the loop, on its first and last
//! values; the growth of an array a loop appends to becomes one reservation before it.
//!
//! `type_spec` guards an array read `t[i]` with `1 <= i` and `i <= arr.len t`; `licm`
//! moves `arr.len t` out of a loop that cannot resize `t`. Inside
//! `for i = 1, #t do ... t[i] ... end` the checks then compare a variable that steps by
//! one with values the loop does not change, and the range of the variable over the
//! whole loop is known before it starts, so two guards per trip become three guards
//! per loop.
//!
//! What the pass proves, for each loop with a preheader (`licm` makes them) and a header
//! snapshot (`type_spec` leaves them):
//!
//! - **Induction variables**: header parameters that every back edge passes as
//!   `iadd p, c` or `isub p, c` of themselves with an `iconst` `c`, or as `iadd p, s`
//!   with a value `s` defined before the loop (`for j = i * i, n, i` inside a loop over
//!   `i`): `p` is `p0 + step * k` on trip `k` (from 0), `p0` being what the preheader
//!   passes.
//! - **The trip bound**: a block that runs on every trip (it dominates every latch) ends
//!   in a branch that leaves the loop when a counter stepping by -1 equals a value `e`
//!   known to be non-negative (`icmp.eq x, e`, or `icmp.ne` staying). If `e <= x0`,
//!   the counter reaches `e` on trip `x0 - e` at the latest, so no trip goes past
//!   `kmax = x0 - e`. (Lua's numeric `for` is lowered this way: an iteration count
//!   counting down to zero beside the loop variable.)
//! - **Checks**: a `guard` on `icmp.le`/`icmp.lt` of a value known before the loop (`lo`)
//!   and an induction variable `i` stepping up (`lo <= i`), together with one of `i`
//!   and a value known before the loop (`hi`) that is non-negative (`i <= hi`, such as
//!   `arr.len t`), where `lo` is non-negative too. On trip `k`, `i = i0 + s * k` with
//!   `0 <= k <= kmax` and `s >= 1`, so both hold on every trip exactly when `lo <= i0`
//!   and `s * kmax <= hi - i0` (neither subtraction can overflow: `x0 >= e >= 0`,
//!   `hi >= 0` and `i0 >= lo >= 0`; and `i` cannot wrap, since it stays at most `hi`).
//!   For a step other than 1 the preheader first checks `kmax <= 2^31` and, for a
//!   variable step, `1 <= s <= 2^31`, so the product cannot overflow either. The
//!   checked value may also be such a variable plus or minus a constant `c`
//!   (`t[j + 1]` in `for j = 0, n - 1`): its first value is `i0 + c`, computed in the
//!   preheader with the loop's wrapping addition (one that wrapped below 0 fails
//!   `lo <= i0 + c`), and its trips go as the variable's.
//!
//! The loop's checks go; the preheader checks `e <= x0`, the step's range, `lo <= i0`
//! and `s * kmax <= hi - i0` (or `<` for `icmp.lt`) before entering, with the loop's
//! header snapshot: a loop that would index past the end deoptimizes before its first
//! trip and runs in the interpreter, which is what the checks inside it would have done
//! sooner or later, except that those would also have run the trips before. The failure
//! is blamed on the site of the access, so the next compile leaves that access alone.
//!
//! **Room for appends.** The same trip bound sizes a loop's appends: an `arr.push` (typed
//! or not) of a table defined before the loop at a variable stepping by 1, or such a
//! variable plus a constant (`r[i] = f(t[i])`, `r[j + 1] = ...`), appends at most up to
//! the index of the last trip, `i0 + c + kmax`, since an append lands only at one past
//! the array part. The preheader gets `arr.reserve r, i0 + c + kmax`, which makes that
//! much room at once (at most 2^16 elements past the part's length; a bound below the
//! part's size changes nothing), instead of the part doubling, and being copied, a
//! dozen times inside the loop. The reservation changes no element, length or key, so
//! it needs no guard: a loop that leaves early has only taken room it did not use. An
//! append at a counter that steps on some trips only (`n = n + 1; r[n] = v` under an
//! `if`) is left alone: the count could be far above what it appends.
//!
//! **Loops bounded by an array.** The same induction variables answer a question of the
//! code generator's ([`bounded_by_an_array`]): a loop whose every trip accesses another
//! element of one array part makes at most as many trips as it has elements, so it
//! needs no interrupt test on its back edge.
//!
//! Values known non-negative (the *value ranges* the pass needs): `iconst` of a
//! non-negative number, `arr.len` and `pack.len`. What the pass does not do (yet): loops
//! counting down, bounds from `i <= n` loop conditions (`while` loops), checks on
//! `i * c` or on sums of two variables.

use lazyjit_ir::dominators::DominatorTree;
use lazyjit_ir::loops::{Loop, LoopForest};
use lazyjit_ir::{Block, Const, DebugInfo, Function, Inst, InstData, Opcode, Value, ValueDef};

use crate::edit::{def_block, find_preheader, inst_blocks, make1, preheader_snapshot};
use crate::{Pass, PassReport};

/// The bounds-check elimination pass (`bce`).
pub struct Bce;

/// The largest step other than 1, and trip bound with such a step, that the checks
/// before a loop handle: their product cannot overflow.
const STEP_LIMIT: i64 = 1 << 31;

/// The instruction defining `v`, if an instruction does.
fn def_inst(f: &Function, v: Value) -> Option<&InstData> {
    match f.values.get(v.index())?.def {
        ValueDef::Result(i, 0) => Some(&f.insts[i.index()].data),
        _ => None,
    }
}

fn iconst(f: &Function, v: Value) -> Option<i64> {
    match def_inst(f, v)? {
        InstData::Const { op: Opcode::Iconst, imm: Const::Int(c) } => Some(*c),
        _ => None,
    }
}

/// Whether `v` is known to be at least 0.
fn non_negative(f: &Function, v: Value) -> bool {
    match def_inst(f, v) {
        Some(InstData::Unary { op: Opcode::ArrLen | Opcode::PackLen, .. }) => true,
        _ => iconst(f, v).is_some_and(|c| c >= 0),
    }
}

/// How an induction variable steps on every trip.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Step {
    /// By a constant.
    Const(i64),
    /// Up by a value known before the loop (its sign is checked before the loop).
    Var(Value),
}

/// Header parameter `j`'s step: what every back edge adds to it (a constant, or a value
/// `invariant` says the loop does not change).
fn step_of(f: &Function, header: Block, latches: &[Block], j: usize, invariant: impl Fn(Value) -> bool) -> Option<Step> {
    let param = *f.blocks[header.index()].params.get(j)?;
    let added = |v: Value| match iconst(f, v) {
        Some(c) => Some(Step::Const(c)),
        None if invariant(v) => Some(Step::Var(v)),
        None => None,
    };
    let mut step = None;
    for &latch in latches {
        let term = f.terminator(latch)?;
        for dest in f.insts[term.index()].data.successors() {
            if dest.block != header {
                continue;
            }
            let s = match def_inst(f, *dest.args.get(j)?)? {
                InstData::Binary { op: Opcode::Iadd, args: [a, b] } if *a == param => added(*b)?,
                InstData::Binary { op: Opcode::Iadd, args: [a, b] } if *b == param => added(*a)?,
                InstData::Binary { op: Opcode::Isub, args: [a, b] } if *a == param => Step::Const(iconst(f, *b)?.checked_neg()?),
                _ => return None,
            };
            if step.is_some_and(|st| st != s) {
                return None;
            }
            step = Some(s);
        }
    }
    step
}

impl Pass for Bce {
    fn run(&self, _cx: &crate::Context, f: &mut Function) -> PassReport {
        let dom = DominatorTree::compute(f);
        let forest = LoopForest::compute(f, &dom);
        let (mut removed, mut added, mut reserved) = (0u64, 0u64, 0u64);
        for l in forest.loops() {
            let (r, a, n) = bound_loop(f, &dom, l);
            removed += r;
            added += a;
            reserved += n;
        }
        PassReport {
            changed: removed > 0 || reserved > 0,
            counts: vec![
                ("bounds checks removed", removed),
                ("guards added before loops", added),
                ("array parts reserved", reserved),
            ],
        }
    }
}

/// Removes the checks of one loop that its induction variables' ranges prove and
/// reserves room for its appends; returns how many checks went, how many guards the
/// preheader got and how many `arr.reserve` it got.
fn bound_loop(f: &mut Function, dom: &DominatorTree, l: &Loop) -> (u64, u64, u64) {
    let (header, latches) = (l.header, &l.latches[..]);
    let in_loop = |b: Block| l.contains(b);
    let Some(pre) = find_preheader(f, header, in_loop) else { return (0, 0, 0) };
    let Some(entry_args) = f.terminator(pre).and_then(|t| f.insts[t.index()].data.successors().first().map(|d| d.args.clone())) else {
        return (0, 0, 0);
    };
    let params = f.blocks[header.index()].params.clone();
    let at = inst_blocks(f);
    let invariant = |v: Value| def_block(f, &at, v).is_some_and(|b| !in_loop(b));
    let steps: Vec<Option<Step>> = (0..params.len()).map(|j| step_of(f, header, latches, j, invariant)).collect();
    let iv = |v: Value, want: i64| params.iter().position(|&p| p == v).filter(|&j| steps[j] == Some(Step::Const(want)));
    // A variable stepping up: by a constant of at least 1, or by a value known before
    // the loop (see `Step::Var`).
    let rising = |v: Value| {
        params.iter().position(|&p| p == v).filter(|&j| match steps[j] {
            Some(Step::Const(c)) => c >= 1,
            Some(Step::Var(_)) => true,
            None => false,
        })
    };
    // A rising variable plus a constant (`t[i + 1]`): the variable and the constant.
    let rising_at = |v: Value| {
        if let Some(j) = rising(v) {
            return Some((j, 0));
        }
        match def_inst(f, v)? {
            InstData::Binary { op: Opcode::Iadd, args: [a, b] } => rising(*a).zip(iconst(f, *b)).or_else(|| rising(*b).zip(iconst(f, *a))),
            InstData::Binary { op: Opcode::Isub, args: [a, b] } => rising(*a).zip(iconst(f, *b).and_then(i64::checked_neg)),
            _ => None,
        }
    };
    let every_trip = |b: Block| latches.iter().all(|&latch| dom.dominates(b, latch));

    // The trip bound: a counter x (step -1) leaving the loop when it equals e >= 0.
    let mut bound: Option<(Value, Value)> = None; // (x0, e)
    for &b in &l.blocks {
        if !every_trip(b) {
            continue;
        }
        let Some(term) = f.terminator(b) else { continue };
        let InstData::Brif { cond, then_dest, else_dest, .. } = &f.insts[term.index()].data else { continue };
        let (exit_when, args) = match def_inst(f, *cond) {
            Some(InstData::Binary { op: Opcode::IcmpEq, args }) => (true, *args),
            Some(InstData::Binary { op: Opcode::IcmpNe, args }) => (false, *args),
            _ => continue,
        };
        let exit = if exit_when { then_dest } else { else_dest };
        if in_loop(exit.block) {
            continue;
        }
        for (x, e) in [(args[0], args[1]), (args[1], args[0])] {
            if let Some(j) = iv(x, -1) {
                if invariant(e) && non_negative(f, e) {
                    bound = Some((entry_args[j], e));
                }
            }
        }
        if bound.is_some() {
            break;
        }
    }
    let Some((x0, e)) = bound else { return (0, 0, 0) };

    // Appends at a variable stepping by 1 (plus a constant) to a table the loop does
    // not change: the table and the variable's index and offset.
    let mut appends: Vec<(Value, usize, i64)> = Vec::new();
    for &b in &l.blocks {
        for &inst in &f.blocks[b.index()].insts {
            let InstData::Ternary { op, args: [t, i, _] } = f.insts[inst.index()].data else { continue };
            if !op.appends_element() || !invariant(t) || appends.iter().any(|a| a.0 == t) {
                continue;
            }
            if let Some((j, offset)) = rising_at(i).filter(|&(j, _)| steps[j] == Some(Step::Const(1))) {
                appends.push((t, j, offset));
            }
        }
    }

    // The checks that go, and the guards before the loop that replace them.
    let (removed, added) = 'checks: {
        // The checks: lower `lo <= i` and upper `i <= hi` / `i < hi` guards.
        struct Check {
            guard: Inst,
            iv: usize,
            /// The checked value is the variable plus this.
            offset: i64,
            other: Value,
            strict: bool,
            upper: bool,
        }
        let mut checks: Vec<Check> = Vec::new();
        for &b in &l.blocks {
            for &inst in &f.blocks[b.index()].insts {
                let InstData::Guard { op: Opcode::Guard, arg, .. } = f.insts[inst.index()].data else { continue };
                let (strict, [l, r]) = match def_inst(f, arg) {
                    Some(InstData::Binary { op: Opcode::IcmpLe, args }) => (false, *args),
                    Some(InstData::Binary { op: Opcode::IcmpLt, args }) => (true, *args),
                    _ => continue,
                };
                if let (Some((j, offset)), true) = (rising_at(r), invariant(l) && non_negative(f, l) && !strict) {
                    checks.push(Check { guard: inst, iv: j, offset, other: l, strict, upper: false });
                } else if let (Some((j, offset)), true) = (rising_at(l), invariant(r) && non_negative(f, r)) {
                    checks.push(Check { guard: inst, iv: j, offset, other: r, strict, upper: true });
                }
            }
        }
        // An upper check goes only with a lower one on the same value (which makes
        // `hi - i0` safe to compute); a lower one only with an upper one (which rules out
        // wrapping).
        let kinds: Vec<(usize, i64, bool)> = checks.iter().map(|c| (c.iv, c.offset, c.upper)).collect();
        checks.retain(|c| kinds.contains(&(c.iv, c.offset, true)) && kinds.contains(&(c.iv, c.offset, false)));
        if checks.is_empty() {
            break 'checks (0, 0);
        }

        // The preheader's guards, in order: e <= x0, then lo <= i0, then kmax <= hi - i0.
        let def_blocks: Vec<Option<lazyjit_ir::Block>> = (0..f.values.len()).map(|v| def_block(f, &at, Value::new(v))).collect();
        let mut new_insts: Vec<Inst> = Vec::new();
        let mut added = 0u64;
        let mut place = |f: &mut Function, data: InstData, debug: DebugInfo| {
            let (i, r) = make1(f, data, debug);
            new_insts.push(i);
            r
        };
        let snap_of = |f: &mut Function, guard: Inst| {
            let InstData::Guard { snap, .. } = f.insts[guard.index()].data else { return None };
            preheader_snapshot(f, header, pre, in_loop, |v| def_blocks.get(v.index()).copied().flatten(), snap)
        };
        let snaps: Option<Vec<_>> = checks.iter().map(|c| snap_of(f, c.guard)).collect();
        let Some(snaps) = snaps else { break 'checks (0, 0) };
        let jump = f.blocks[pre.index()].insts.pop().expect("a preheader ends with its jump");
        let first_snap = snaps[0];
        let debug = f.insts[checks[0].guard.index()].debug;
        let ok = place(f, InstData::Binary { op: Opcode::IcmpLe, args: [e, x0] }, debug).expect("a comparison");
        place(f, InstData::Guard { op: Opcode::Guard, arg: ok, imm: 0, snap: first_snap }, debug);
        added += 1;
        let kmax = place(f, InstData::Binary { op: Opcode::Isub, args: [x0, e] }, debug).expect("a difference");
        // Steps other than 1: each (a constant, or a value checked to be 1..=STEP_LIMIT)
        // times kmax (checked to be at most STEP_LIMIT too) cannot overflow.
        let mut step_values: Vec<(usize, Value)> = Vec::new();
        let mut kmax_bounded = false;
        for c in &checks {
            let step = match steps[c.iv] {
                Some(Step::Const(1)) | None => continue,
                Some(s) => s,
            };
            if step_values.iter().any(|&(j, _)| j == c.iv) {
                continue;
            }
            let limit = place(f, InstData::Const { op: Opcode::Iconst, imm: Const::Int(STEP_LIMIT) }, debug).expect("a constant");
            if !kmax_bounded {
                let ok = place(f, InstData::Binary { op: Opcode::IcmpLe, args: [kmax, limit] }, debug).expect("a comparison");
                place(f, InstData::Guard { op: Opcode::Guard, arg: ok, imm: 0, snap: first_snap }, debug);
                added += 1;
                kmax_bounded = true;
            }
            let s = match step {
                Step::Const(c) => place(f, InstData::Const { op: Opcode::Iconst, imm: Const::Int(c) }, debug).expect("a constant"),
                Step::Var(s) => {
                    let one = place(f, InstData::Const { op: Opcode::Iconst, imm: Const::Int(1) }, debug).expect("a constant");
                    for args in [[one, s], [s, limit]] {
                        let ok = place(f, InstData::Binary { op: Opcode::IcmpLe, args }, debug).expect("a comparison");
                        place(f, InstData::Guard { op: Opcode::Guard, arg: ok, imm: 0, snap: first_snap }, debug);
                        added += 1;
                    }
                    s
                }
            };
            step_values.push((c.iv, s));
        }
        let mut removed = Vec::new();
        for upper in [false, true] {
            for (c, &snap) in checks.iter().zip(&snaps).filter(|(c, _)| c.upper == upper) {
                let debug = f.insts[c.guard.index()].debug;
                // The checked value's first value (computed as the loop computes it,
                // wrapping: a first value that wrapped below 0 fails the lower check).
                let i0 = match c.offset {
                    0 => entry_args[c.iv],
                    offset => {
                        let k = place(f, InstData::Const { op: Opcode::Iconst, imm: Const::Int(offset) }, debug).expect("a constant");
                        place(f, InstData::Binary { op: Opcode::Iadd, args: [entry_args[c.iv], k] }, debug).expect("a sum")
                    }
                };
                let cond = if upper {
                    let room = place(f, InstData::Binary { op: Opcode::Isub, args: [c.other, i0] }, debug).expect("a difference");
                    let op = if c.strict { Opcode::IcmpLt } else { Opcode::IcmpLe };
                    let span = match step_values.iter().find(|&&(j, _)| j == c.iv) {
                        Some(&(_, s)) => place(f, InstData::Binary { op: Opcode::Imul, args: [s, kmax] }, debug).expect("a product"),
                        None => kmax,
                    };
                    place(f, InstData::Binary { op, args: [span, room] }, debug)
                } else {
                    place(f, InstData::Binary { op: Opcode::IcmpLe, args: [c.other, i0] }, debug)
                }
                .expect("a comparison");
                place(f, InstData::Guard { op: Opcode::Guard, arg: cond, imm: 0, snap }, debug);
                added += 1;
                removed.push(c.guard);
            }
        }
        let pre_insts = &mut f.blocks[pre.index()].insts;
        pre_insts.extend(new_insts);
        pre_insts.push(jump);
        for &b in &l.blocks {
            f.blocks[b.index()].insts.retain(|i| !removed.contains(i));
        }
        (removed.len() as u64, added)
    };
    (removed, added, reserve_appends(f, pre, x0, e, &entry_args, &appends))
}

/// Puts an `arr.reserve` at the end of preheader `pre` for each of `appends` (table,
/// induction variable, offset): room for the element the last trip would append,
/// `i0 + offset + (x0 - e)`. Returns how many it put.
fn reserve_appends(f: &mut Function, pre: Block, x0: Value, e: Value, entry_args: &[Value], appends: &[(Value, usize, i64)]) -> u64 {
    if appends.is_empty() {
        return 0;
    }
    let jump = f.blocks[pre.index()].insts.pop().expect("a preheader ends with its jump");
    let debug = f.insts[jump.index()].debug;
    let mut new_insts = Vec::new();
    let mut place = |f: &mut Function, data: InstData| {
        let (i, r) = make1(f, data, debug);
        new_insts.push(i);
        r
    };
    let kmax = place(f, InstData::Binary { op: Opcode::Isub, args: [x0, e] }).expect("a difference");
    for &(t, j, offset) in appends {
        let mut last = place(f, InstData::Binary { op: Opcode::Iadd, args: [entry_args[j], kmax] }).expect("a sum");
        if offset != 0 {
            let k = place(f, InstData::Const { op: Opcode::Iconst, imm: Const::Int(offset) }).expect("a constant");
            last = place(f, InstData::Binary { op: Opcode::Iadd, args: [last, k] }).expect("a sum");
        }
        place(f, InstData::Binary { op: Opcode::ArrReserve, args: [t, last] });
    }
    let pre_insts = &mut f.blocks[pre.index()].insts;
    pre_insts.extend(new_insts);
    pre_insts.push(jump);
    appends.len() as u64
}

/// The largest step of an induction variable [`bounded_by_an_array`] accepts.
const BOUNDED_STEP: u64 = 1 << 32;

/// Whether every trip of loop `l` reads or writes an element of the array part of one
/// table defined before the loop, at a header parameter (or it plus a constant) that
/// every back edge moves by the same nonzero constant of at most 2^32 (`BOUNDED_STEP`).
/// `arr.get` and `arr.set` are within the array part and each trip accesses another
/// element of it, so the loop makes at most as many trips as the part has elements
/// before it leaves (or a guard fails). In a loop that reaches no safepoint nothing
/// but `arr.reserve` grows the part (such a loop is not bounded). The index could come
/// back to one it had only by wrapping around through 2^64 / step values, all past any
/// array part memory can hold. (The code generator's back edges need no interrupt test
/// in such a loop.)
pub fn bounded_by_an_array(f: &Function, dom: &DominatorTree, l: &Loop) -> bool {
    let at = inst_blocks(f);
    let outside = |v: Value| def_block(f, &at, v).is_some_and(|b| !l.contains(b));
    let params = &f.blocks[l.header.index()].params;
    let moving_param = |v: Value| {
        params.iter().position(|&p| p == v).is_some_and(|j| {
            matches!(step_of(f, l.header, &l.latches, j, |_| false), Some(Step::Const(c)) if c != 0 && c.unsigned_abs() <= BOUNDED_STEP)
        })
    };
    let moving = |v: Value| {
        moving_param(v)
            || match def_inst(f, v) {
                Some(InstData::Binary { op: Opcode::Iadd, args: [a, b] }) => {
                    (moving_param(*a) && iconst(f, *b).is_some()) || (moving_param(*b) && iconst(f, *a).is_some())
                }
                Some(InstData::Binary { op: Opcode::Isub, args: [a, b] }) => moving_param(*a) && iconst(f, *b).is_some(),
                _ => false,
            }
    };
    let grows = l.blocks.iter().any(|b| f.blocks[b.index()].insts.iter().any(|&i| f.insts[i.index()].data.opcode() == Opcode::ArrReserve));
    let every_trip = |b: &&Block| l.latches.iter().all(|&latch| dom.dominates(**b, latch));
    !grows
        && l.blocks.iter().filter(every_trip).any(|b| {
            f.blocks[b.index()].insts.iter().any(|&i| match f.insts[i.index()].data {
                InstData::Binary { op: Opcode::ArrGet | Opcode::ArrGetInt | Opcode::ArrGetFloat | Opcode::ArrGetBool, args: [t, k] }
                | InstData::Ternary { op: Opcode::ArrSet | Opcode::ArrSetInt | Opcode::ArrSetFloat | Opcode::ArrSetBool, args: [t, k, _] } => {
                    outside(t) && moving(k)
                }
                _ => false,
            })
        })
}

#[cfg(test)]
mod tests {
    /// Loops whose every trip accesses another element of one array end within a pass
    /// over it; loops that may not are told apart.
    #[test]
    fn loops_bounded_by_an_array_are_told_apart() {
        // Each function: one loop at block1 (latch block2 or block1 itself), table v0.
        let cases = [
            // Every trip reads t[i], i up by 1: bounded.
            ("bounded_read", "block1(v2: i64) loop:\n    v3 = arr.get.int v0, v2\n    v4 = iadd v2, v1\n    jump block1(v4)", true),
            // t[i + 1] with i down by 3 (`isub`), stored to: bounded.
            ("offset_write", "block1(v2: i64) loop:\n    v3 = iadd v2, v1\n    arr.set v0, v3, v0\n    v4 = iconst 3\n    v5 = isub v2, v4\n    jump block1(v5)", true),
            // The index does not move.
            ("same_index", "block1(v2: i64) loop:\n    v3 = arr.get v0, v1\n    v4 = iadd v2, v1\n    jump block1(v4)", false),
            // A step past the limit (2^62).
            ("huge_step", "block1(v2: i64) loop:\n    v3 = arr.get v0, v2\n    v4 = iconst 4611686018427387904\n    v5 = iadd v2, v4\n    jump block1(v5)", false),
            // Not every trip reaches the access.
            ("sometimes", "block1(v2: i64) loop:\n    v3 = icmp.lt v2, v1\n    brif v3, block2, block3\nblock2:\n    v4 = arr.get v0, v2\n    jump block3\nblock3:\n    v5 = iadd v2, v1\n    jump block1(v5)", false),
            // A table of the loop's own (another one each trip, maybe).
            ("own_table", "block1(v2: i64, v3: val) loop:\n    v4 = arr.get v3, v2\n    v5 = iadd v2, v1\n    jump block1(v5, v4)", false),
            // Room reserved as it goes: the part may grow.
            ("reserving", "block1(v2: i64) loop:\n    v3 = arr.get v0, v2\n    arr.reserve v0, v2\n    v4 = iadd v2, v1\n    jump block1(v4)", false),
        ];
        for (name, body, want) in cases {
            let args = if body.contains("v3: val") { "v1, v0" } else { "v1" };
            let src = format!(
                "module \"m\"\n\nfunction fn0 \"{name}\" (params 1, upvals 0, sites 0, line 0) {{\nblock0(v0: val):\n    v1 = iconst 1\n    jump block1({args})\n{body}\n}}\n"
            );
            let module = lazyjit_ir::text::parse_module(&src).unwrap_or_else(|e| panic!("{name}: {e}\n{src}"));
            let f = &module.functions[0];
            let dom = lazyjit_ir::dominators::DominatorTree::compute(f);
            let forest = lazyjit_ir::loops::LoopForest::compute(f, &dom);
            let [l] = forest.loops() else { panic!("{name}: one loop") };
            assert_eq!(super::bounded_by_an_array(f, &dom, l), want, "{name}");
        }
    }
}
