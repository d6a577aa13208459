//! Dead-code elimination: removes instructions that compute values nobody uses.
//!
//! An instruction can go when it is *pure* (the op table's `PURE` flag: no effects, and
//! it cannot fail, so running it or not is unobservable) or only reads the heap
//! (`READS`: `arr.len`, `arr.get`), and none of its results is used. A use is an operand
//! of an instruction that stays, a branch argument, or an entry of a snapshot some guard
//! uses: a deoptimization rebuilds the generic frame from the values its snapshot names,
//! so a value only a snapshot reads is still live. Snapshots no guard uses (guards
//! removed, or loop-header snapshots `licm` had no use for) are dropped first, and the
//! guards' snapshot numbers follow.
//!
//! Removing one instruction can make its operands dead, so the pass counts uses once and
//! then works through a list of candidates: when an instruction goes, the use counts of
//! its operands drop, and an operand whose count reaches zero and whose definition is a
//! pure instruction becomes a candidate in turn. Each instruction is looked at a bounded
//! number of times, so the pass is linear in the function's size.
//!
//! What it does not do (yet): remove unused block parameters (that means rewriting
//! every branch to the block), unreachable blocks, or runtime calls that the frontend
//! declared free of effects (their declarations live in the runtime registry, which the
//! pass does not see).

use lazyjit_ir::{Function, Inst, InstData, SnapId, SnapSource, ValueDef};

use crate::{Pass, PassReport};

/// The dead-code elimination pass (`dce`).
pub struct Dce;

impl Pass for Dce {
    fn run(&self, _cx: &crate::Context, f: &mut Function) -> PassReport {
        let dropped = drop_unused_snapshots(f);
        let mut uses = vec![0u32; f.values.len()];
        let mut placed = vec![false; f.insts.len()];
        for block in &f.blocks {
            for &inst in &block.insts {
                placed[inst.index()] = true;
                f.insts[inst.index()].data.for_each_operand(|v| uses[v.index()] += 1);
            }
        }
        for snap in &f.snapshots {
            for (_, src) in &snap.entries {
                if let SnapSource::Value(v) = src {
                    uses[v.index()] += 1;
                }
            }
        }
        let is_dead = |f: &Function, uses: &[u32], inst: Inst| {
            let node = &f.insts[inst.index()];
            (node.data.opcode().is_pure() || node.data.opcode().only_reads()) && node.results.iter().all(|r| uses[r.index()] == 0)
        };
        let mut dead = vec![false; f.insts.len()];
        let mut work: Vec<Inst> = f.blocks.iter().flat_map(|b| b.insts.iter().copied()).collect();
        let mut removed = 0u64;
        while let Some(inst) = work.pop() {
            if dead[inst.index()] || !placed[inst.index()] || !is_dead(f, &uses, inst) {
                continue;
            }
            dead[inst.index()] = true;
            removed += 1;
            let mut freed = Vec::new();
            f.insts[inst.index()].data.for_each_operand(|v| {
                uses[v.index()] -= 1;
                if uses[v.index()] == 0 {
                    freed.push(v);
                }
            });
            for v in freed {
                if let ValueDef::Result(def, _) = f.values[v.index()].def {
                    work.push(def);
                }
            }
        }
        if removed > 0 {
            for block in &mut f.blocks {
                block.insts.retain(|i| !dead[i.index()]);
            }
        }
        PassReport {
            changed: removed + dropped > 0,
            counts: vec![("instructions removed", removed), ("snapshots dropped", dropped)],
        }
    }
}

/// Removes the snapshots no placed guard uses and renumbers the rest; returns how many
/// went.
fn drop_unused_snapshots(f: &mut Function) -> u64 {
    let mut used = vec![false; f.snapshots.len()];
    for block in &f.blocks {
        for &inst in &block.insts {
            if let InstData::Guard { snap, .. } = f.insts[inst.index()].data {
                if let Some(u) = used.get_mut(snap.index()) {
                    *u = true;
                }
            }
        }
    }
    let dropped = used.iter().filter(|&&u| !u).count() as u64;
    if dropped == 0 {
        return 0;
    }
    let mut renumber = Vec::with_capacity(used.len());
    let mut next = 0;
    for &u in &used {
        renumber.push(SnapId::new(next));
        next += u as usize;
    }
    let mut k = 0;
    f.snapshots.retain(|_| {
        k += 1;
        used[k - 1]
    });
    for block in &f.blocks {
        for &inst in &block.insts {
            if let InstData::Guard { snap, .. } = &mut f.insts[inst.index()].data {
                if let Some(&n) = renumber.get(snap.index()) {
                    *snap = n;
                }
            }
        }
    }
    dropped
}
