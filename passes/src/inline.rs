//! Inlining: a call of a small function that the profile says always called one
//! function of the module, and whose body speculates to code without effects (or with
//! raw stores after which nothing can fail), becomes that body.
//!
//! `type_spec` leaves a call whose callee has always been a closure of one function
//! guarded (`guard.fn c, fnK, snapS` in front of `dsts = call c(args)`, with a snapshot
//! that resumes the generic function *at the call*). This pass speculates the callee's
//! own generic MIR with the callee's profile (`type_spec`, `inline`, `box_elim`,
//! `const_fold`, `dce`, as if it were being optimized itself: a closure that calls the
//! closures it captured inlines them first, one level deep, so that a recursive
//! function is not unfolded; `gvn` makes a field read back after the body stored it
//! the value stored) and inlines the result when it is *pure up to its stores*: only
//! pure operations, reads of the heap and of captured variables, guards, branches,
//! returns and raw stores (`hash.set`, `arr.set`, `cell.set`), with no guard after a
//! store, no loops, within [`BUDGET`] instructions. The call's block is split at the
//! call:
//!
//! ```text
//! guard.fn v4, fn1, snap0        ; stays: the callee must be a closure of fn1
//! jump block9                    ; the callee's entry, its parameters the arguments
//! block9:
//!   guard.tag v2, int, snap0     ; the callee's guards resume at the call (snap0)
//!   v12 = unbox.int v2
//!   ...
//!   jump block10(v15)            ; was `return v15`
//! block10(v6: val):              ; the call's results, same numbers
//!   (the rest of the caller's block)
//! ```
//!
//! Why nothing may fail after a store: a guard of the inlined code that fails resumes
//! the caller at the call with the caller's snapshot, and the interpreter performs the
//! whole call again. That is only right if nothing the inlined code did before the
//! guard can be seen: its stores come after every guard (a store cannot fail itself),
//! so a failure finds them not made yet, and once they are made the body runs to its
//! end; a guard of the caller after the call resumes after it, as for any call. It also
//! means a deoptimization inside inlined code is an ordinary one (one frame to rebuild,
//! the caller's). The failure is recorded at the call's site, so the next compile
//! neither guards the target nor inlines it.
//!
//! Missing arguments are `nil`, extra ones are dropped, and a return with fewer values
//! than the call wants gives `nil` for the rest, as a call does. A `call.pack` whose
//! pack is only the spread operand of a later instruction of its block (`f(g(x))`) is
//! inlined when every return of the callee gives the same number of values: the block
//! after the body takes them as parameters, and that instruction takes them as fixed
//! operands instead of the pack; when that instruction is the next call, guarded in
//! front of both (`type_spec` does so), it is inlined as well if the first body stores
//! nothing, its guards resuming in front of both calls (the body between has no effects
//! to repeat). A tail call is
//! inlined with the body's returns left as returns of the caller. The callee's captures
//! (`upval N`) are those of the closure called: `closure.cell c, N`, which reads the
//! cell pointer the closure holds itself (a closure keeps up to
//! [`INLINE_CELLS`] there); reading the variable stays a `cell.get` where the call was,
//! after whatever the caller stored into it.
//!
//! It does not inline where:
//! - the call is not guarded by a `guard.fn` right before it (no single target), or
//!   spreads a pack; a `call.pack` whose pack has another use (a snapshot entry, a
//!   second operand) or whose callee's returns give different numbers of values;
//! - the callee takes varargs, captures more than [`INLINE_CELLS`] variables, has a
//!   loop, or is larger than the budget;
//! - the speculated body still has effects other than raw stores (a runtime call the
//!   profile could not type, a call), has a guard after a store, or returns a spread
//!   pack;
//! - there is no profile of the callee (nothing would be speculated).

use lazyjit_ir::rt::object::INLINE_CELLS;
use lazyjit_ir::{Block, BlockCall, BlockData, Const, Function, Inst, InstData, Opcode, SnapId, SnapSource, Type, Value, ValueDef};

use crate::edit::{make1, push_inst};
use crate::{Context, Pass, PassReport};

/// The inlining pass (`inline`).
pub struct Inline;

/// The most instructions an inlined body may have (after speculation).
pub const BUDGET: usize = 40;

/// How deep bodies being inlined inline their own callees.
const MAX_NESTING: u32 = 1;

thread_local! {
    /// How many callee bodies are being speculated on this thread right now.
    static NESTING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The callee's body, speculated, if it can be inlined.
fn speculated_body(cx: &Context, callee: u32) -> Option<Function> {
    let generic = cx.module.functions.get(callee as usize)?;
    let profile = cx.profiles.get(callee as usize)?;
    if generic.vararg || generic.upvals as usize > INLINE_CELLS || generic.blocks.iter().any(|b| b.loop_header) {
        return None;
    }
    let mut body = generic.clone();
    // The callee inlines its own callees, one level deep (a recursive function's body
    // is not unfolded further).
    let nested = NESTING.with(|n| n.get()) < MAX_NESTING;
    let callee_cx = Context {
        module: cx.module,
        runtime: cx.runtime,
        profile: Some(profile),
        stands_for: &[],
        copied_from: &[],
        profiles: if nested { cx.profiles } else { &[] },
        natives: cx.natives,
    };
    NESTING.with(|n| n.set(n.get() + 1));
    let passes: [&dyn Pass; 8] = [
        &crate::type_spec::TypeSpec,
        &Inline,
        &crate::box_elim::BoxElim,
        &crate::const_fold::ConstFold,
        // Reading back a field the body stored is the value stored (so no guard on it
        // follows the store).
        &crate::gvn::Gvn,
        &crate::box_elim::BoxElim,
        &crate::const_fold::ConstFold,
        &crate::dce::Dce,
    ];
    for pass in passes {
        if pass.run(&callee_cx, &mut body).changed {
            body.compact();
        }
    }
    NESTING.with(|n| n.set(n.get() - 1));
    let mut size = 0;
    // Blocks that run after a store of the body (a guard there could fail after it).
    let mut stored = vec![false; body.blocks.len()];
    for b in body_order(&body) {
        let mut after_store = stored[b.index()];
        for &inst in &body.blocks[b.index()].insts {
            size += 1;
            let data = &body.insts[inst.index()].data;
            let op = data.opcode();
            let allowed = match data {
                InstData::Return { spread, .. } => !spread,
                InstData::Guard { .. } => !after_store,
                InstData::Jump { .. } | InstData::Brif { .. } | InstData::Const { .. } => true,
                // Raw stores into a table entry or a captured variable cannot fail.
                _ if is_store(op) => {
                    after_store = true;
                    true
                }
                // Reading a captured variable has no effect either.
                _ => op.is_pure() || op.only_reads() || op == Opcode::CellGet,
            };
            if !allowed || size > BUDGET {
                return None;
            }
        }
        if after_store {
            if let Some(&last) = body.blocks[b.index()].insts.last() {
                for s in body.insts[last.index()].data.successors() {
                    stored[s.block.index()] = true;
                }
            }
        }
    }
    Some(body)
}

/// Whether `body` stores into a table or a captured variable.
fn stores(body: &Function) -> bool {
    body.blocks.iter().flat_map(|b| &b.insts).any(|&i| is_store(body.insts[i.index()].data.opcode()))
}

/// The raw stores an inlined body may make (they cannot fail).
fn is_store(op: Opcode) -> bool {
    matches!(op, Opcode::HashSet | Opcode::CellSet) || op.stores_element() && !op.appends_element()
}

/// The blocks of `body` (which has no loops) in reverse postorder, each after every
/// block that branches to it, then any unreachable ones.
fn body_order(body: &Function) -> Vec<Block> {
    let mut order = lazyjit_ir::dominators::DominatorTree::compute(body).reverse_postorder().to_vec();
    let mut seen = vec![false; body.blocks.len()];
    order.iter().for_each(|b| seen[b.index()] = true);
    order.extend((0..body.blocks.len()).filter(|&b| !seen[b]).map(Block::new));
    order
}

/// A `call.pack`'s results passed on: its pack is the spread operand of the instruction
/// `consumer` places further in the block and used nowhere else, and every return of
/// the callee gives `n` values, which that instruction then takes as operands instead.
#[derive(Clone, Copy)]
struct PassedOn {
    consumer: usize,
    n: usize,
}

/// The number of values every return of `body` gives, if they all give as many.
fn fixed_return_count(body: &Function) -> Option<usize> {
    let mut counts = body.blocks.iter().flat_map(|b| &b.insts).filter_map(|&i| match &body.insts[i.index()].data {
        InstData::Return { args, spread: false, .. } => Some(Some(args.len())),
        InstData::Return { .. } => Some(None),
        _ => None,
    });
    let first = counts.next()??;
    counts.all(|c| c == Some(first)).then_some(first)
}

/// Where the pack of the `call.pack` at index `k` of `block` is passed on: the index of
/// the later instruction of the block whose spread operand it is, if that is its only
/// use (no other operand, branch argument or snapshot entry).
fn pack_consumer(f: &Function, block: Block, k: usize, pack: Value) -> Option<usize> {
    let mut uses = 0;
    for node in &f.insts {
        node.data.for_each_operand(|v| uses += (v == pack) as usize);
    }
    let in_snapshots = f.snapshots.iter().any(|s| s.entries.iter().any(|(_, src)| *src == SnapSource::Value(pack)));
    if uses != 1 || in_snapshots {
        return None;
    }
    let insts = &f.blocks[block.index()].insts;
    (k + 1..insts.len()).find(|&j| match &f.insts[insts[j].index()].data {
        InstData::Call { args, spread: true, .. } | InstData::RtCall { args, spread: true, .. } | InstData::Return { args, spread: true, .. } => {
            args.last() == Some(&pack)
        }
        _ => false,
    })
}

/// Inlines `body` (a speculated callee) for the call `call` at index `k` of `block`,
/// whose guards now use `snap`. Returns nothing; `f` is rewritten.
fn splice(f: &mut Function, block: Block, k: usize, call: Inst, body: &Function, snap: SnapId, passed: Option<PassedOn>, tail: bool) {
    let InstData::Call { callee, args, .. } = f.insts[call.index()].data.clone() else { unreachable!("a call") };
    let debug = f.insts[call.index()].debug;
    // The rest of the caller's block goes on in a block taking the call's results.
    let mut rest: Vec<Inst> = f.blocks[block.index()].insts.split_off(k + 1);
    f.blocks[block.index()].insts.truncate(k);
    let cont = Block::new(f.blocks.len());
    let dsts: Vec<Value> = match passed {
        // A tail call's block ends with it, and the body's returns are the caller's.
        _ if tail => Vec::new(),
        None => {
            let dsts = f.insts[call.index()].results.clone();
            for (n, &d) in dsts.iter().enumerate() {
                f.values[d.index()].def = ValueDef::Param(cont, n as u32);
            }
            dsts
        }
        Some(PassedOn { consumer, n }) => {
            // The values become the consumer's last operands in place of the pack.
            let vals: Vec<Value> = (0..n).map(|i| f.make_value(Type::Val, ValueDef::Param(cont, i as u32))).collect();
            let at = rest[consumer - (k + 1)];
            match &mut f.insts[at.index()].data {
                InstData::Call { args, spread, .. } | InstData::RtCall { args, spread, .. } | InstData::Return { args, spread, .. } => {
                    args.pop();
                    args.extend_from_slice(&vals);
                    *spread = false;
                }
                _ => unreachable!("pack_consumer found a spreading instruction"),
            }
            vals
        }
    };
    if !tail {
        f.blocks.push(BlockData { params: dsts.clone(), insts: std::mem::take(&mut rest), loop_header: false });
    }
    // Missing arguments and results are nil, made once at the body's entry (which
    // dominates every use).
    let entry_params = &body.blocks[0].params;
    let short_return = body.blocks.iter().flat_map(|b| &b.insts).any(|&i| {
        matches!(&body.insts[i.index()].data, InstData::Return { args: vals, .. } if vals.len() < dsts.len())
    });
    let mut head: Vec<Inst> = Vec::new();
    let nil = (args.len() < entry_params.len() || short_return).then(|| {
        let (i, v) = make1(f, InstData::Const { op: Opcode::Const, imm: Const::Nil }, debug);
        head.push(i);
        v.expect("const has a result")
    });
    // The callee's values and blocks, renumbered into the caller's.
    let mut value_map: Vec<Option<Value>> = vec![None; body.values.len()];
    for (i, &p) in entry_params.iter().enumerate() {
        value_map[p.index()] = Some(args.get(i).copied().or(nil).expect("nil made for a missing argument"));
    }
    let first = f.blocks.len();
    let block_of = |b: Block| Block::new(first + b.index());
    for (bi, b) in body.blocks.iter().enumerate() {
        let nb = block_of(Block::new(bi));
        let params: Vec<Value> = if bi == 0 {
            Vec::new()
        } else {
            b.params
                .iter()
                .enumerate()
                .map(|(n, &p)| {
                    let v = f.make_value(body.value_type(p), ValueDef::Param(nb, n as u32));
                    value_map[p.index()] = Some(v);
                    v
                })
                .collect()
        };
        f.blocks.push(BlockData { params, insts: Vec::new(), loop_header: false });
        for &inst in &b.insts {
            for &r in &body.insts[inst.index()].results {
                value_map[r.index()] = Some(f.make_value(body.value_type(r), ValueDef::Param(nb, 0)));
            }
        }
    }
    let map = |v: Value| value_map[v.index()].expect("every callee value is defined");
    for (bi, b) in body.blocks.iter().enumerate() {
        let nb = block_of(Block::new(bi));
        let mut insts = if bi == 0 { std::mem::take(&mut head) } else { Vec::new() };
        for &inst in &b.insts {
            let node = &body.insts[inst.index()];
            let mut data = node.data.clone();
            data.map_operands(map);
            match &mut data {
                // The callee's captures are the cells of the closure called.
                InstData::NullaryImm { op: Opcode::Upval, imm } => {
                    data = InstData::UnaryImm { op: Opcode::ClosureCell, arg: callee, imm: *imm };
                }
                InstData::Guard { snap: s, .. } => *s = snap,
                InstData::Jump { dest, .. } => dest.block = block_of(dest.block),
                InstData::Brif { then_dest, else_dest, .. } => {
                    then_dest.block = block_of(then_dest.block);
                    else_dest.block = block_of(else_dest.block);
                }
                InstData::Return { args: vals, .. } if !tail => {
                    let mut out: Vec<Value> = vals.iter().copied().take(dsts.len()).collect();
                    while out.len() < dsts.len() {
                        out.push(nil.expect("nil made for a short return"));
                    }
                    data = InstData::Jump { op: Opcode::Jump, dest: BlockCall { block: cont, args: out } };
                }
                _ => {}
            }
            let results: Vec<Value> = node.results.iter().map(|&r| map(r)).collect();
            insts.push(push_inst(f, data, results, node.debug));
        }
        f.blocks[nb.index()].insts = insts;
    }
    let (jump, _) = make1(f, InstData::Jump { op: Opcode::Jump, dest: BlockCall { block: block_of(Block::new(0)), args: Vec::new() } }, debug);
    f.blocks[block.index()].insts.push(jump);
}

impl Pass for Inline {
    fn run(&self, cx: &Context, f: &mut Function) -> PassReport {
        let (mut inlined, mut insts) = (0u64, 0u64);
        let mut bodies: std::collections::HashMap<u32, Option<Function>> = std::collections::HashMap::new();
        let mut bi = 0;
        while bi < f.blocks.len() {
            let block = Block::new(bi);
            bi += 1;
            let mut k = 1;
            while k < f.blocks[block.index()].insts.len() {
                let (guard, call) = (f.blocks[block.index()].insts[k - 1], f.blocks[block.index()].insts[k]);
                k += 1;
                let (InstData::Guard { op: Opcode::GuardFn, arg, imm, snap }, InstData::Call { op: op @ (Opcode::Call | Opcode::CallPack | Opcode::TailCall), callee, spread: false, .. }) =
                    (&f.insts[guard.index()].data, &f.insts[call.index()].data)
                else {
                    continue;
                };
                if arg != callee || *imm < 0 {
                    continue;
                }
                let (target, snap, op) = (*imm as u32, *snap, *op);
                let body = bodies.entry(target).or_insert_with(|| speculated_body(cx, target));
                let Some(body) = body.as_ref() else { continue };
                let passed = match op {
                    Opcode::CallPack => {
                        let pack = f.insts[call.index()].results[0];
                        let Some(n) = fixed_return_count(body) else { continue };
                        let Some(consumer) = pack_consumer(f, block, k - 1, pack) else { continue };
                        Some(PassedOn { consumer, n })
                    }
                    _ => None,
                };
                insts += body.blocks.iter().map(|b| b.insts.len() as u64).sum::<u64>();
                let cont = Block::new(f.blocks.len());
                splice(f, block, k - 1, call, body, snap, passed, op == Opcode::TailCall);
                inlined += 1;
                // The call the results went to, right after this one and guarded in front
                // of it (`type_spec` does so for `f(g(x))`), is inlined too when it can
                // be: its guards resume in front of both calls, so the body between must
                // store nothing (a failure would run it again).
                let front = k.checked_sub(3).map(|i| f.blocks[block.index()].insts[i]).filter(|_| !stores(body));
                if let (Some(PassedOn { consumer, .. }), Some(front)) = (passed, front) {
                    let next = f.blocks[cont.index()].insts[0];
                    let (InstData::Guard { op: Opcode::GuardFn, arg, imm, snap }, InstData::Call { op: next_op @ (Opcode::Call | Opcode::TailCall), callee, spread: false, .. }) =
                        (&f.insts[front.index()].data, &f.insts[next.index()].data)
                    else {
                        break;
                    };
                    if consumer != k || arg != callee || *imm < 0 {
                        break;
                    }
                    let (target, snap, next_op) = (*imm as u32, *snap, *next_op);
                    let Some(body) = bodies.entry(target).or_insert_with(|| speculated_body(cx, target)).as_ref() else { break };
                    insts += body.blocks.iter().map(|b| b.insts.len() as u64).sum::<u64>();
                    splice(f, cont, 0, next, body, snap, None, next_op == Opcode::TailCall);
                    inlined += 1;
                }
                // The rest of the block moved to a new block, which the walk reaches.
                break;
            }
        }
        PassReport { changed: inlined > 0, counts: vec![("calls inlined", inlined), ("instructions inlined", insts)] }
    }
}
