//! Global value numbering: an operation that computes what a dominating operation
//! already computed reuses that result.
//!
//! Two pure instructions are the same computation when they have the same opcode, the
//! same immediate (compared by bits, so `0.0` and `-0.0` stay apart) and the same
//! operands, taken in a canonical order for commutative operations (`iadd a, b` is
//! `iadd b, a`). Purity is what makes this sound: the op table's `PURE` flag promises no
//! effects and no failure, so the first computation's result is the second's wherever
//! the first dominates the second.
//!
//! The pass walks the dominator tree depth first with a scoped table of the computations
//! seen on the path from the entry: entering a block adds its computations, leaving it
//! forgets them, so a computation is only ever replaced by one in a dominating block
//! (or earlier in the same block). A replaced instruction is taken out of its block and
//! every use of its result (operands, branch arguments, snapshot sources) is rewritten
//! to the earlier result. Operands are looked up after rewriting, so whole expression
//! trees merge in one walk.
//!
//! Guards take part too: a guard that checks what a dominating guard checked (same op,
//! same operand, same tag or function) cannot fail where the first one passed, and goes,
//! whatever its snapshot. Not `guard.elems`: a table's elements change with stores, so
//! it merges as a heap read does, within a block (below). `type_spec` guards each
//! operand of each call it speculates, so a value used twice is guarded twice, and
//! `licm` may hoist the same guard in front of two loops one after the other.
//!
//! Constants take part like any pure operation (two `iconst 1` merge). Runtime calls,
//! calls, cell reads and anything with effects never do. Of the heap reads, the field
//! ops merge within a block: a `hash.find` of the same table and key as an earlier one
//! with no call or runtime call between (only those add or remove keys or rebuild a
//! hash part; a later `hash.set` of `nil` leaves the entry number right, and the value
//! guard every user of it makes catches the missing value), and a `hash.get` of the
//! same entry with no store into a table between either; a `hash.get` of the entry a
//! `hash.set` stored into, with no other store or call between, is the value stored; a
//! `guard.elems` of the same table and tag as an earlier one with no element store or
//! call between.
//! Merging loads across blocks needs memory dependence, which MIR does not model yet.

use std::collections::HashMap;

use lazyjit_ir::dominators::DominatorTree;
use lazyjit_ir::ops::flags::{CALLS, COMMUTATIVE};
use lazyjit_ir::{Block, Const, Function, InstData, Opcode, SnapSource, Value};

use crate::{Pass, PassReport};

/// The global value numbering pass (`gvn`).
pub struct Gvn;

/// An immediate, compared by bits.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Imm {
    None,
    Int(i64),
    Const(u8, u64),
}

fn const_key(c: &Const) -> Imm {
    match c {
        Const::Nil => Imm::Const(0, 0),
        Const::Bool(b) => Imm::Const(1, *b as u64),
        Const::Int(i) => Imm::Const(2, *i as u64),
        Const::Float(x) => Imm::Const(3, x.to_bits()),
        Const::Str(s) => Imm::Const(4, s.index() as u64),
    }
}

/// What an instruction computes, if it is a pure one-result computation.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    op: Opcode,
    args: Vec<Value>,
    imm: Imm,
}

fn key_of(data: &InstData, nresults: usize, subst: &[Value]) -> Option<Key> {
    let op = data.opcode();
    if let InstData::Guard { arg, imm, .. } = data {
        let imm = if op == Opcode::Guard { Imm::None } else { Imm::Int(*imm) };
        return Some(Key { op, args: vec![subst[arg.index()]], imm });
    }
    if !op.is_pure() || nresults != 1 {
        return None;
    }
    let (args, imm) = match data {
        InstData::Nullary { .. } => (Vec::new(), Imm::None),
        InstData::NullaryImm { imm, .. } => (Vec::new(), Imm::Int(*imm)),
        InstData::Unary { arg, .. } => (vec![*arg], Imm::None),
        InstData::UnaryImm { arg, imm, .. } => (vec![*arg], Imm::Int(*imm)),
        InstData::Binary { args, .. } => (args.to_vec(), Imm::None),
        InstData::Const { imm, .. } => (Vec::new(), const_key(imm)),
        _ => return None,
    };
    let mut args: Vec<Value> = args.into_iter().map(|v| subst[v.index()]).collect();
    if op.flags() & COMMUTATIVE != 0 {
        args.sort();
    }
    Some(Key { op, args, imm })
}

/// The heap reads an instruction of `op` may change the answer of: a call or runtime call
/// may add or remove keys and rebuild a hash part (`hash.find` and `hash.get`); a store
/// into a table (`hash.set`, `arr.set`, `arr.push`) changes no entry numbers, but may
/// change an entry's value (`hash.get`). Calls and element stores may also change
/// what a `guard.elems` checked. `None`: none.
fn read_clobbers(op: Opcode) -> Option<&'static [Opcode]> {
    if op.flags() & CALLS != 0 {
        return Some(&[Opcode::HashFind, Opcode::HashGet, Opcode::GuardElems]);
    }
    match op {
        _ if op.stores_element() => Some(&[Opcode::HashGet, Opcode::GuardElems]),
        Opcode::HashSet => Some(&[Opcode::HashGet]),
        _ => None,
    }
}

impl Pass for Gvn {
    fn run(&self, _cx: &crate::Context, f: &mut Function) -> PassReport {
        let dom = DominatorTree::compute(f);
        let mut children: Vec<Vec<Block>> = vec![Vec::new(); f.blocks.len()];
        for &b in dom.reverse_postorder() {
            if let Some(parent) = dom.idom(b) {
                children[parent.index()].push(b);
            }
        }
        let mut subst: Vec<Value> = (0..f.values.len()).map(Value::new).collect();
        let mut table: HashMap<Key, Option<Value>> = HashMap::new();
        let mut dead = vec![false; f.insts.len()];
        let (mut merged, mut guards) = (0u64, 0u64);
        // Depth first over the dominator tree; `Exit` forgets what a block added.
        enum Step {
            Enter(Block),
            Exit(Vec<Key>),
        }
        let mut stack = vec![Step::Enter(f.entry())];
        while let Some(step) = stack.pop() {
            let block = match step {
                Step::Enter(b) => b,
                Step::Exit(keys) => {
                    for k in keys {
                        table.remove(&k);
                    }
                    continue;
                }
            };
            let mut added = Vec::new();
            // Heap reads merged within the block, each until something may change what
            // it read.
            let mut reads: HashMap<Key, Value> = HashMap::new();
            for &inst in &f.blocks[block.index()].insts {
                let node = &f.insts[inst.index()];
                let op = node.data.opcode();
                if let Some(forget) = read_clobbers(op) {
                    reads.retain(|k, _| !forget.contains(&k.op));
                }
                // What a store put into an entry is what reading the entry gives, until
                // the next store or call.
                if let InstData::Ternary { op: Opcode::HashSet, args: [t, e, v] } = node.data {
                    let key = Key { op: Opcode::HashGet, args: vec![subst[t.index()], subst[e.index()]], imm: Imm::None };
                    reads.insert(key, subst[v.index()]);
                    continue;
                }
                // A check of a table's element tag holds until an element store or call.
                if let InstData::Guard { op: Opcode::GuardElems, arg, imm, .. } = node.data {
                    let key = Key { op, args: vec![subst[arg.index()]], imm: Imm::Int(imm) };
                    if reads.contains_key(&key) {
                        guards += 1;
                        dead[inst.index()] = true;
                    } else {
                        reads.insert(key, arg);
                    }
                    continue;
                }
                if let (Opcode::HashFind | Opcode::HashGet, InstData::Binary { args, .. }, [r]) = (op, &node.data, &node.results[..]) {
                    let key = Key { op, args: args.iter().map(|v| subst[v.index()]).collect(), imm: Imm::None };
                    match reads.get(&key) {
                        Some(&earlier) => {
                            subst[r.index()] = earlier;
                            merged += 1;
                            dead[inst.index()] = true;
                        }
                        None => {
                            reads.insert(key, *r);
                        }
                    }
                    continue;
                }
                let Some(key) = key_of(&node.data, node.results.len(), &subst) else { continue };
                // A guard has no result: it stands for itself in the table.
                let result = node.results.first().copied();
                match table.get(&key) {
                    Some(&earlier) => {
                        if let (Some(r), Some(e)) = (result, earlier) {
                            subst[r.index()] = e;
                            merged += 1;
                        } else {
                            guards += 1;
                        }
                        dead[inst.index()] = true;
                    }
                    None => {
                        table.insert(key.clone(), result);
                        added.push(key);
                    }
                }
            }
            stack.push(Step::Exit(added));
            for &child in children[block.index()].iter().rev() {
                stack.push(Step::Enter(child));
            }
        }
        if merged + guards > 0 {
            for block in &mut f.blocks {
                block.insts.retain(|i| !dead[i.index()]);
            }
            for node in &mut f.insts {
                node.data.map_operands(|v| subst[v.index()]);
            }
            for snap in &mut f.snapshots {
                for (_, src) in &mut snap.entries {
                    if let SnapSource::Value(v) = src {
                        *v = subst[v.index()];
                    }
                }
            }
        }
        PassReport { changed: merged + guards > 0, counts: vec![("instructions merged", merged), ("guards removed", guards)] }
    }
}
