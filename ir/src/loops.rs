//! Natural loops: the loop nest of a function's control-flow graph.
//!
//! An edge `b -> h` whose target dominates its source is a *back edge*; `h` is a loop
//! header and `b` one of its latches. The natural loop of `h` is `h` with every block
//! that reaches a latch without passing through `h`. Back edges to the same header make
//! one loop. Loops nest: a loop's parent is the smallest other loop holding its header.
//! A cycle entered at more than one block (irreducible control flow) has no header that
//! dominates it and is not a loop here; passes leave such code alone.

use crate::dominators::DominatorTree;
use crate::entity::Block;
use crate::function::Function;

/// One natural loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    /// The header: the one block the loop is entered at.
    pub header: Block,
    /// Every block of the loop (the header and nested loops' blocks included), sorted.
    pub blocks: Vec<Block>,
    /// The blocks with a back edge to the header, sorted.
    pub latches: Vec<Block>,
    /// The innermost loop enclosing this one (an index into [`LoopForest::loops`]).
    pub parent: Option<usize>,
    /// 1 for an outermost loop, 2 for a loop in it, and so on.
    pub depth: u32,
}

impl Loop {
    /// Whether `b` is a block of the loop.
    pub fn contains(&self, b: Block) -> bool {
        self.blocks.binary_search(&b).is_ok()
    }
}

/// The natural loops of a function.
#[derive(Clone, Debug, Default)]
pub struct LoopForest {
    loops: Vec<Loop>,
    /// The innermost loop of each block, if any.
    innermost: Vec<Option<usize>>,
}

/// The successors of every block (targets of its terminator).
pub fn successors(f: &Function) -> Vec<Vec<Block>> {
    f.blocks
        .iter()
        .map(|b| {
            b.insts
                .iter()
                .filter_map(|i| f.insts.get(i.index()))
                .flat_map(|node| node.data.successors().into_iter().map(|bc| bc.block))
                .filter(|s| s.index() < f.blocks.len())
                .collect()
        })
        .collect()
}

/// The predecessors of every block (a block appears once per edge).
pub fn predecessors(f: &Function) -> Vec<Vec<Block>> {
    let mut preds = vec![Vec::new(); f.blocks.len()];
    for (b, succs) in successors(f).into_iter().enumerate() {
        for s in succs {
            preds[s.index()].push(Block::new(b));
        }
    }
    preds
}

impl LoopForest {
    /// The loops of `f`, whose dominator tree is `dom`.
    pub fn compute(f: &Function, dom: &DominatorTree) -> LoopForest {
        let n = f.blocks.len();
        let succs = successors(f);
        let mut preds: Vec<Vec<Block>> = vec![Vec::new(); n];
        for (b, ss) in succs.iter().enumerate() {
            for &s in ss {
                preds[s.index()].push(Block::new(b));
            }
        }
        // Headers in reverse postorder, so an enclosing loop comes before the loops in it.
        let mut loops: Vec<Loop> = Vec::new();
        for &h in dom.reverse_postorder() {
            let latches: Vec<Block> = {
                let mut l: Vec<Block> =
                    preds[h.index()].iter().copied().filter(|&p| dom.is_reachable(p) && dom.dominates(h, p)).collect();
                l.sort();
                l.dedup();
                l
            };
            if latches.is_empty() {
                continue;
            }
            let mut member = vec![false; n];
            member[h.index()] = true;
            let mut work: Vec<Block> = latches.clone();
            while let Some(b) = work.pop() {
                if member[b.index()] {
                    continue;
                }
                member[b.index()] = true;
                work.extend(preds[b.index()].iter().copied().filter(|&p| dom.is_reachable(p) && !member[p.index()]));
            }
            let blocks: Vec<Block> = (0..n).filter(|&b| member[b]).map(Block::new).collect();
            loops.push(Loop { header: h, blocks, latches, parent: None, depth: 1 });
        }
        // Parents: the smallest earlier loop that holds the header (earlier loops in
        // reverse postorder are the only ones that can enclose a later one).
        for i in 0..loops.len() {
            let h = loops[i].header;
            let parent = (0..i).filter(|&j| loops[j].contains(h)).min_by_key(|&j| loops[j].blocks.len());
            loops[i].parent = parent;
            loops[i].depth = parent.map_or(1, |p| loops[p].depth + 1);
        }
        let mut innermost: Vec<Option<usize>> = vec![None; n];
        for (i, l) in loops.iter().enumerate() {
            for &b in &l.blocks {
                let deeper = innermost[b.index()].is_none_or(|j: usize| loops[j].depth < l.depth);
                if deeper {
                    innermost[b.index()] = Some(i);
                }
            }
        }
        LoopForest { loops, innermost }
    }

    /// Every loop, enclosing loops before the loops in them.
    pub fn loops(&self) -> &[Loop] {
        &self.loops
    }

    /// The innermost loop holding `b`, if any.
    pub fn innermost(&self, b: Block) -> Option<usize> {
        self.innermost.get(b.index()).copied().flatten()
    }

    /// Loop indices, innermost loops first (deepest first, then in reverse order).
    pub fn innermost_first(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.loops.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(self.loops[i].depth), std::cmp::Reverse(i)));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_module;

    fn forest(text: &str) -> LoopForest {
        let m = parse_module(text).expect("parses");
        let f = &m.functions[0];
        LoopForest::compute(f, &DominatorTree::compute(f))
    }

    #[test]
    fn nested_loops_have_parents_and_depths() {
        // block1: outer header; block2: inner header; block3: inner latch; block4: outer latch.
        let lf = forest(
            "function fn0 \"f\" (params 1) {
block0(v0: i1):
    jump block1
block1:
    brif v0, block2, block5
block2:
    brif v0, block3, block4
block3:
    jump block2
block4:
    jump block1
block5:
    return
}
",
        );
        let loops = lf.loops();
        assert_eq!(loops.len(), 2);
        assert_eq!(loops[0].header, Block::new(1));
        assert_eq!(loops[0].blocks, vec![Block::new(1), Block::new(2), Block::new(3), Block::new(4)]);
        assert_eq!(loops[0].latches, vec![Block::new(4)]);
        assert_eq!((loops[0].parent, loops[0].depth), (None, 1));
        assert_eq!(loops[1].header, Block::new(2));
        assert_eq!(loops[1].blocks, vec![Block::new(2), Block::new(3)]);
        assert_eq!((loops[1].parent, loops[1].depth), (Some(0), 2));
        assert_eq!(lf.innermost(Block::new(3)), Some(1));
        assert_eq!(lf.innermost(Block::new(4)), Some(0));
        assert_eq!(lf.innermost(Block::new(5)), None);
        assert_eq!(lf.innermost_first(), vec![1, 0]);
    }

    #[test]
    fn back_edges_to_one_header_make_one_loop() {
        let lf = forest(
            "function fn0 \"f\" (params 1) {
block0(v0: i1):
    jump block1
block1:
    brif v0, block2, block3
block2:
    jump block1
block3:
    brif v0, block1, block4
block4:
    return
}
",
        );
        assert_eq!(lf.loops().len(), 1);
        assert_eq!(lf.loops()[0].latches, vec![Block::new(2), Block::new(3)]);
        assert_eq!(lf.loops()[0].blocks, vec![Block::new(1), Block::new(2), Block::new(3)]);
    }

    #[test]
    fn irreducible_cycles_are_not_loops() {
        // block1 and block2 jump to each other, and the entry reaches both.
        let lf = forest(
            "function fn0 \"f\" (params 1) {
block0(v0: i1):
    brif v0, block1, block2
block1:
    brif v0, block2, block3
block2:
    brif v0, block1, block3
block3:
    return
}
",
        );
        assert!(lf.loops().is_empty());
    }
}
