//! Loop-invariant code motion: computations and guards whose operands do not change
//! while a loop runs move to the loop's preheader, so they run once per entry into the
//! loop instead of once per trip round it.
//!
//! Loops are the natural loops of the control-flow graph ([`lazyjit_ir::loops`]), taken
//! innermost first, so that what leaves an inner loop lands in its preheader, inside
//! the enclosing loop, and may leave that one too. A loop without a preheader (one
//! block outside the loop that jumps to the header) gets one: a new block with the
//! header's parameters that every edge from outside enters.
//!
//! A value is *invariant* in a loop when it is defined outside it, or by an instruction
//! that moved out. What moves, walking the loop's blocks in reverse postorder so that
//! operands move before their users:
//!
//! - **pure** instructions (the op table's `PURE`: no effects, cannot fail) with
//!   invariant operands, from any block of the loop. Running one on a trip where it
//!   would not have run is unobservable; unboxing is a copy, so an `unbox.int` moved
//!   above the guard that checked the tag reads garbage no one uses when the guard fails.
//! - **guards** on invariant values (a value's tag never changes, nor does a condition
//!   computed from invariant values), from the blocks that run on every trip (those
//!   that dominate every latch: a guard in a conditional block would deoptimize loops
//!   that never take its branch; a loop that runs no trip at all still makes the check,
//!   which costs a deoptimization when it fails, never a wrong answer). The guard now
//!   checks before the loop and, failing,
//!   resumes the generic function at the loop header with the values the loop is
//!   entered with: a snapshot made from the loop's *header snapshot* (`type_spec`
//!   leaves one per loop header: the state at the header's first instruction), with
//!   the header's parameters read from the preheader's jump. The failure is blamed on
//!   the site the guard speculated on (`Snapshot::blame`), so the next compile does not
//!   speculate there again. No header snapshot, no hoisted guards.
//! - **heap reads** (`READS`) on invariant operands, from the blocks that run on every
//!   trip, when nothing in the loop may write what they read: `arr.len`, `meta.nil` and
//!   `hash.find` when the loop has no call or runtime call (`arr.set` writes within the
//!   array part and `hash.set` into an entry's value: neither changes a length, a key or
//!   a metatable); `cell.get` when the loop also stores to no cell. A runtime call of a
//!   declared table write (`TableAccess::Set`) on a table that a `meta.nil` guard before
//!   it proved to have no metatable only stores raw: like `arr.push`, it may change
//!   lengths and keys (`arr.len` and `hash.find` stay), but no metatable or cell (the
//!   append path a write past the array part keeps leaves the rest of its loop free).
//!   `hash.get` (an entry's value) where `hash.find` moves and no `hash.set` of the
//!   loop may store into an entry with the same key: entries are numbered by a
//!   `hash.find` of a constant key, and one with another key is another entry, in
//!   whichever table (so reading `math.sqrt` leaves a loop that stores `a.vx`, but
//!   `u.vx` stays where `t.vx` is stored).
//!   `closure.cell` (the cell an inlined closure captured), calls or not: a closure's
//!   cells are fixed when it is made, so no instruction changes what it reads, once a
//!   `guard.fn` on the closure before the loop says it has the cell.
//!   A read moves only if its operand is known to be a table before the loop (a
//!   `guard.tag ..., table` on it that already moved out, or that dominates the loop):
//!   reading the length of something that is not a table is not a wasted instruction
//!   but a crash.
//!   `arr.get` stays (an element read needs its bounds checks first; `bce` deals with
//!   those).
//! - **`guard.elems`** (every element of a table's array part has one tag) moves like a
//!   guard, but only out of a loop that may change no table's elements but by storing
//!   that tag as a payload (`arr.set.float` or `arr.push.float` under a
//!   `guard.elems ..., float`): no call or runtime call, no `arr.set` or `arr.push` of
//!   any value, no typed store of another tag; and only for a table known before the
//!   loop (as for the reads).
//!
//! Everything else stays: calls, runtime calls, stores, allocations, block parameters.

use lazyjit_ir::dominators::DominatorTree;
use lazyjit_ir::loops::LoopForest;
use lazyjit_ir::rt::Tag;
use lazyjit_ir::interp::TableAccess;
use lazyjit_ir::{Block, Const, Function, Inst, InstData, Opcode, SnapId};

use crate::edit::{def_block, def_data, ensure_preheader, inst_blocks, preheader_snapshot};
use crate::{Pass, PassReport};

/// The loop-invariant code motion pass (`licm`).
pub struct Licm;

/// What the instructions of one loop may change.
#[derive(Default)]
struct Clobbers {
    /// A call or runtime call: anything.
    anything: bool,
    /// A store to a cell.
    cells: bool,
    /// A raw store into a table that may add a key or grow a part (lengths and hash
    /// entries change; metatables and cells do not).
    tables: bool,
    /// The keys of the hash-part entries `hash.set` stores into (`None`: an entry whose
    /// key is not a known constant, which may be any).
    entry_keys: Vec<Option<Const>>,
    /// A store of a value of any tag into an array part (`arr.set`, `arr.push`): any
    /// table's element tag may change.
    elements: bool,
    /// The tags typed element stores (`arr.set.float`, `arr.push.int`, ...) store.
    element_tags: Vec<Tag>,
}

impl Clobbers {
    /// Whether every table's elements that all have tag `tag` keep it through the loop.
    fn keeps_elements(&self, tag: i64) -> bool {
        !self.anything && !self.elements && self.element_tags.iter().all(|&t| t as i64 == tag)
    }

    /// Whether the loop may store into a hash-part entry holding `key`: entries are
    /// told apart by their constant keys, in whichever table they are.
    fn may_store_entry(&self, key: &Const) -> bool {
        self.entry_keys.iter().any(|k| k.as_ref().is_none_or(|k| k.same(key)))
    }
}

/// The constant key of the hash-part entry number `index` holds, if `index` is a
/// `hash.find` of a constant key.
fn entry_key(f: &Function, index: lazyjit_ir::Value) -> Option<&Const> {
    let Some(InstData::Binary { op: Opcode::HashFind, args: [_, key] }) = def_data(f, index) else { return None };
    match def_data(f, *key)? {
        InstData::Const { imm, .. } => Some(imm),
        _ => None,
    }
}

fn clobbers(cx: &crate::Context, f: &Function, dom: &DominatorTree, blocks: &[Block]) -> Clobbers {
    // Tables a `guard (meta.nil t)` proved to have no metatable, and where.
    let mut plain: Vec<(lazyjit_ir::Value, Block, usize)> = Vec::new();
    for &b in blocks {
        for (k, &i) in f.blocks[b.index()].insts.iter().enumerate() {
            if let InstData::Guard { op: Opcode::Guard, arg, .. } = f.insts[i.index()].data {
                if let Some(InstData::Unary { op: Opcode::MetaNil, arg: t }) = def_data(f, arg) {
                    plain.push((*t, b, k));
                }
            }
        }
    }
    let proven_plain = |t: lazyjit_ir::Value, b: Block, k: usize| {
        plain.iter().any(|&(p, gb, gk)| p == t && if gb == b { gk < k } else { dom.dominates(gb, b) })
    };
    let mut c = Clobbers::default();
    for &b in blocks {
        for (k, &i) in f.blocks[b.index()].insts.iter().enumerate() {
            let data = &f.insts[i.index()].data;
            let op = data.opcode();
            match data {
                _ if op == Opcode::CellSet => c.cells = true,
                // Element and field stores change no lengths, keys or metatables; a
                // field store changes the value of an entry with its key.
                InstData::Ternary { op: Opcode::HashSet, args: [_, index, _] } => {
                    c.entry_keys.push(entry_key(f, *index).cloned());
                }
                _ if op == Opcode::CellGet => {}
                // An append grows an array part; a store of a typed value keeps the
                // elements' tag if it is that one.
                _ if op.stores_element() => {
                    c.tables |= op.appends_element();
                    match op.element_tag() {
                        Some(tag) => c.element_tags.push(tag),
                        None => c.elements = true,
                    }
                }
                _ if op.is_pure() || op.only_reads() || op.is_terminator() || op.is_guard() => {}
                // A declared table write on a table without a metatable only stores raw
                // (see `TableAccess::Set`).
                InstData::RtCall { rt, args, spread: false, .. }
                    if args.len() == 3
                        && cx.runtime.get(rt.index()).is_some_and(|e| e.table == Some(TableAccess::Set))
                        && proven_plain(args[0], b, k) =>
                {
                    c.tables = true;
                    c.elements = true;
                }
                _ => c.anything = true,
            }
        }
    }
    c
}

#[derive(Default)]
struct Moved {
    pure: u64,
    guards: u64,
    reads: u64,
    preheaders: u64,
}

impl Pass for Licm {
    fn run(&self, cx: &crate::Context, f: &mut Function) -> PassReport {
        let mut moved = Moved::default();
        let headers: Vec<Block> = {
            let dom = DominatorTree::compute(f);
            let forest = LoopForest::compute(f, &dom);
            forest.innermost_first().into_iter().map(|i| forest.loops()[i].header).collect()
        };
        for header in headers {
            hoist_from(cx, f, header, &mut moved);
        }
        PassReport {
            changed: moved.pure + moved.guards + moved.reads + moved.preheaders > 0,
            counts: vec![
                ("instructions hoisted", moved.pure + moved.reads),
                ("guards hoisted", moved.guards),
                ("preheaders made", moved.preheaders),
            ],
        }
    }
}

/// Moves what is invariant out of the loop headed by `header`.
fn hoist_from(cx: &crate::Context, f: &mut Function, header: Block, moved: &mut Moved) {
    // The analyses are made again for each loop: a preheader made for an inner loop is
    // a block of the loops around it.
    let dom = DominatorTree::compute(f);
    let forest = LoopForest::compute(f, &dom);
    let Some(l) = forest.loops().iter().find(|l| l.header == header) else { return };
    let in_loop = |b: Block| l.contains(b);
    let clobbered = clobbers(cx, f, &dom, &l.blocks);
    let before = f.blocks.len();
    let Some(pre) = ensure_preheader(f, header, in_loop) else { return };
    if f.blocks.len() > before {
        moved.preheaders += 1;
    }
    // The preheader dominates the header, so whatever dominates it dominates the loop.
    let dom = DominatorTree::compute(f);
    let mut at = inst_blocks(f);
    let invariant = |f: &Function, at: &[Option<Block>], v| def_block(f, at, v).is_some_and(|b| !in_loop(b));
    // Values known to be tables, and closures of a known function, before the loop:
    // guarded in a block that dominates it.
    let mut tables: Vec<lazyjit_ir::Value> = Vec::new();
    let mut closures: Vec<lazyjit_ir::Value> = Vec::new();
    for (b, data) in f.blocks.iter().enumerate() {
        if !dom.dominates(Block::new(b), pre) {
            continue;
        }
        for &i in &data.insts {
            note_known(&f.insts[i.index()].data, &mut tables, &mut closures);
        }
    }
    let every_trip = |b: Block| l.latches.iter().all(|&latch| dom.dominates(b, latch));
    // Where the values the header snapshot may read are defined (moving instructions
    // out of the loop changes nothing for them: they are defined outside it already).
    let def_blocks: Vec<Option<Block>> = (0..f.values.len()).map(|v| def_block(f, &at, lazyjit_ir::Value::new(v))).collect();
    let order: Vec<Block> = dom.reverse_postorder().iter().copied().filter(|&b| in_loop(b)).collect();
    let mut hoisted: Vec<Inst> = Vec::new();
    for b in order {
        let every = every_trip(b);
        let insts = f.blocks[b.index()].insts.clone();
        let mut keep = Vec::with_capacity(insts.len());
        for inst in insts {
            let data = &f.insts[inst.index()].data;
            let op = data.opcode();
            let operands_invariant = {
                let mut all = true;
                data.for_each_operand(|v| all &= invariant(f, &at, v));
                all
            };
            let hoist = if !operands_invariant || op.is_terminator() {
                false
            } else if op.is_pure() {
                moved.pure += 1;
                true
            } else if op.is_guard()
                && every
                && (op != Opcode::GuardElems
                    || matches!(*data, InstData::Guard { arg, imm, .. } if clobbered.keeps_elements(imm) && tables.contains(&arg)))
            {
                let InstData::Guard { snap, .. } = *data else { unreachable!("a guard") };
                match preheader_snapshot(f, header, pre, in_loop, |v| def_blocks[v.index()], snap) {
                    Some(new) => {
                        retarget(f, inst, new);
                        note_known(&f.insts[inst.index()].data, &mut tables, &mut closures);
                        moved.guards += 1;
                        true
                    }
                    None => false,
                }
            } else if op == Opcode::ClosureCell && every {
                // A closure's cells are fixed when it is made: no instruction changes
                // what this reads, once a `guard.fn` before the loop says the closure
                // holds the cell.
                let ok = closures.contains(&data.operands()[0]);
                moved.reads += ok as u64;
                ok
            } else if (op.only_reads() || op == Opcode::CellGet) && every && !clobbered.anything {
                let arg = data.operands()[0];
                let ok = match op {
                    Opcode::ArrLen | Opcode::HashFind => tables.contains(&arg) && !clobbered.tables,
                    Opcode::HashGet => {
                        tables.contains(&arg)
                            && !clobbered.tables
                            && entry_key(f, data.operands()[1]).is_some_and(|k| !clobbered.may_store_entry(k))
                    }
                    Opcode::MetaNil => tables.contains(&arg),
                    Opcode::CellGet => !clobbered.cells,
                    _ => false,
                };
                moved.reads += ok as u64;
                ok
            } else {
                false
            };
            if hoist {
                hoisted.push(inst);
                at[inst.index()] = Some(pre);
            } else {
                keep.push(inst);
            }
        }
        f.blocks[b.index()].insts = keep;
    }
    if !hoisted.is_empty() {
        let pre_insts = &mut f.blocks[pre.index()].insts;
        let jump = pre_insts.pop().expect("a preheader ends with its jump");
        pre_insts.extend(hoisted);
        pre_insts.push(jump);
    }
}

/// Notes what a guard before the loop proves: a value is a table, or a closure of a
/// known function.
fn note_known(data: &InstData, tables: &mut Vec<lazyjit_ir::Value>, closures: &mut Vec<lazyjit_ir::Value>) {
    match *data {
        InstData::Guard { op: Opcode::GuardTag, arg, imm, .. } if imm == Tag::Table as i64 => tables.push(arg),
        InstData::Guard { op: Opcode::GuardFn, arg, .. } => closures.push(arg),
        _ => {}
    }
}

fn retarget(f: &mut Function, guard: Inst, snap: SnapId) {
    if let InstData::Guard { snap: s, .. } = &mut f.insts[guard.index()].data {
        *s = snap;
    }
}
