//! Value liveness: which values may still be used at a point of a function.
//!
//! Block parameters are defined on the edge into their block, so a block's live-out set
//! holds its successors' live-in values minus their parameters, plus the branch
//! arguments (which the terminator uses). Computed by the usual backward iteration to a
//! fixed point; points inside a block are answered by walking back from its end.

use crate::entity::{Block, Value};
use crate::function::{Function, SnapSource};

/// A set of values (or any dense indices).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// An empty set for indices below `n`.
    pub fn new(n: usize) -> BitSet {
        BitSet { words: vec![0; n.div_ceil(64)] }
    }
    /// Adds `i`.
    #[inline]
    pub fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }
    /// Removes `i`.
    #[inline]
    pub fn remove(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
    }
    /// Whether `i` is in the set.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// Adds every element of `other`; returns whether the set grew.
    pub fn union_with(&mut self, other: &BitSet) -> bool {
        let mut changed = false;
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            let n = *a | b;
            changed |= n != *a;
            *a = n;
        }
        changed
    }
    /// The elements in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            (0..64).filter(move |b| w & (1 << b) != 0).map(move |b| wi * 64 + b)
        })
    }
}

/// Live-out sets of every block of a function.
pub struct Liveness {
    live_out: Vec<BitSet>,
    nvalues: usize,
}

impl Liveness {
    /// Computes liveness for `f`.
    pub fn compute(f: &Function) -> Liveness {
        let n = f.values.len();
        let nb = f.blocks.len();
        let succs: Vec<Vec<Block>> = (0..nb)
            .map(|b| {
                f.terminator(Block::new(b))
                    .map(|t| f.insts[t.index()].data.successors().iter().map(|bc| bc.block).collect())
                    .unwrap_or_default()
            })
            .collect();
        let mut live_out = vec![BitSet::new(n); nb];
        let mut live_in = vec![BitSet::new(n); nb];
        let mut changed = true;
        while changed {
            changed = false;
            for b in (0..nb).rev() {
                let mut out = BitSet::new(n);
                for s in &succs[b] {
                    let mut incoming = live_in[s.index()].clone();
                    for p in &f.blocks[s.index()].params {
                        incoming.remove(p.index());
                    }
                    out.union_with(&incoming);
                }
                let inn = walk_back(f, Block::new(b), &out, 0);
                if out != live_out[b] {
                    live_out[b] = out;
                    changed = true;
                }
                if inn != live_in[b] {
                    live_in[b] = inn;
                    changed = true;
                }
            }
        }
        Liveness { live_out, nvalues: n }
    }

    /// The values that may be used after block `b` (its successors' live-in values less
    /// their parameters, plus the branch arguments).
    pub fn live_out(&self, b: Block) -> Option<&BitSet> {
        self.live_out.get(b.index())
    }

    /// The values that may be used at or after instruction `index` of block `b`
    /// (before it runs: its operands are included, its results are not).
    pub fn live_before(&self, f: &Function, b: Block, index: usize) -> BitSet {
        match self.live_out.get(b.index()) {
            Some(out) => walk_back(f, b, out, index),
            None => BitSet::new(self.nvalues),
        }
    }
}

/// Walks block `b` backwards from its end to instruction `stop`, starting from `out`.
fn walk_back(f: &Function, b: Block, out: &BitSet, stop: usize) -> BitSet {
    let mut live = out.clone();
    let insts = &f.blocks[b.index()].insts;
    for &inst in insts[stop.min(insts.len())..].iter().rev() {
        let node = &f.insts[inst.index()];
        for r in &node.results {
            live.remove(r.index());
        }
        node.data.for_each_operand(|v: Value| live.insert(v.index()));
        if let crate::function::InstData::Guard { snap, .. } = node.data {
            if let Some(s) = f.snapshots.get(snap.index()) {
                for (_, src) in &s.entries {
                    if let SnapSource::Value(v) = src {
                        live.insert(v.index());
                    }
                }
            }
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FunctionBuilder, Opcode, Type};

    #[test]
    fn loop_carried_and_dead_values() {
        // block0(p): d = iconst 7 (dead); jump block1(p)
        // block1(x) loop: y = iadd x, x; brif c, block1(y), block2
        // block2: return p
        let mut f = Function::new("t");
        f.params = 1;
        let (p, d, x, y);
        {
            let mut b = FunctionBuilder::new(&mut f);
            let b0 = b.create_block();
            let b1 = b.create_block();
            let b2 = b.create_block();
            p = b.append_block_param(b0, Type::Val);
            b.switch_to_block(b0);
            d = b.iconst(7);
            let one = b.iconst(1);
            b.jump(b1, vec![one]);
            x = b.append_block_param(b1, Type::I64);
            b.switch_to_block(b1);
            y = b.binary(Opcode::Iadd, x, x);
            let c = b.binary(Opcode::IcmpLt, y, d);
            b.brif(c, b1, vec![y], b2, vec![]);
            b.switch_to_block(b2);
            b.ret(vec![p], false);
        }
        let l = Liveness::compute(&f);
        let at_loop = l.live_before(&f, Block(1), 0);
        assert!(at_loop.contains(p.index()), "p is used after the loop");
        assert!(at_loop.contains(x.index()));
        assert!(at_loop.contains(d.index()), "d is used by the compare in the loop");
        assert!(!at_loop.contains(y.index()), "y is defined inside");
        let at_exit = l.live_before(&f, Block(2), 0);
        assert_eq!(at_exit.iter().collect::<Vec<_>>(), vec![p.index()]);
    }
}
