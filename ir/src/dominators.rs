//! Dominator trees, computed with the iterative algorithm of Cooper, Harvey and Kennedy
//! ("A Simple, Fast Dominance Algorithm", 2001) over the reverse postorder of the blocks
//! reachable from the entry (`block0`).

use crate::entity::Block;
use crate::function::Function;

/// The dominator tree of a function's control-flow graph.
#[derive(Clone, Debug)]
pub struct DominatorTree {
    /// Immediate dominator of each block (`None` for the entry and unreachable blocks).
    idom: Vec<Option<Block>>,
    /// Reachable blocks in reverse postorder (the entry first).
    rpo: Vec<Block>,
    /// Preorder and postorder numbers in the dominator tree (`u32::MAX`: unreachable).
    pre: Vec<u32>,
    post: Vec<u32>,
}

const UNREACHABLE: u32 = u32::MAX;

impl DominatorTree {
    /// The dominator tree of `f`. The successors of a block are the targets of all its
    /// instructions (only the terminator has any in a valid function); targets that
    /// are not blocks of `f` and instruction ids out of range are ignored, so this works
    /// on invalid functions too.
    pub fn compute(f: &Function) -> DominatorTree {
        DominatorTree::from_successors(&crate::loops::successors(f))
    }

    /// The dominator tree of the graph whose block `i` has the successors `succs[i]`,
    /// entered at block 0 (edges to blocks out of range are ignored).
    pub fn from_successors(succs: &[Vec<Block>]) -> DominatorTree {
        let n = succs.len();
        let valid = |b: &&Block| b.index() < n;

        // Postorder by an iterative depth-first search.
        let mut po_number = vec![UNREACHABLE; n];
        let mut postorder = Vec::with_capacity(n);
        if n > 0 {
            let mut visited = vec![false; n];
            let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
            visited[0] = true;
            while let Some(&mut (b, ref mut next)) = stack.last_mut() {
                if let Some(s) = succs[b].get(*next) {
                    *next += 1;
                    if s.index() < n && !visited[s.index()] {
                        visited[s.index()] = true;
                        stack.push((s.index(), 0));
                    }
                } else {
                    po_number[b] = postorder.len() as u32;
                    postorder.push(b);
                    stack.pop();
                }
            }
        }
        let rpo: Vec<usize> = postorder.iter().rev().copied().collect();

        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &b in &rpo {
            for s in succs[b].iter().filter(valid) {
                preds[s.index()].push(b);
            }
        }

        // The iteration: idom[b] is the intersection of the processed predecessors.
        let mut idom: Vec<Option<usize>> = vec![None; n];
        if n > 0 {
            idom[0] = Some(0);
        }
        let intersect = |idom: &[Option<usize>], mut a: usize, mut b: usize| {
            while a != b {
                while po_number[a] < po_number[b] {
                    a = idom[a].unwrap_or(0);
                }
                while po_number[b] < po_number[a] {
                    b = idom[b].unwrap_or(0);
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for &b in rpo.iter().skip(1) {
                let mut new_idom: Option<usize> = None;
                for &p in &preds[b] {
                    if idom[p].is_some() {
                        new_idom = Some(match new_idom {
                            None => p,
                            Some(cur) => intersect(&idom, p, cur),
                        });
                    }
                }
                if new_idom != idom[b] {
                    idom[b] = new_idom;
                    changed = true;
                }
            }
        }

        // Tree numbering for constant-time dominance queries.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &b in rpo.iter().skip(1) {
            if let Some(d) = idom[b] {
                children[d].push(b);
            }
        }
        let mut pre = vec![UNREACHABLE; n];
        let mut post = vec![UNREACHABLE; n];
        if n > 0 {
            let (mut pre_n, mut post_n) = (0u32, 0u32);
            let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
            pre[0] = 0;
            pre_n += 1;
            while let Some(&mut (b, ref mut next)) = stack.last_mut() {
                if let Some(&c) = children[b].get(*next) {
                    *next += 1;
                    pre[c] = pre_n;
                    pre_n += 1;
                    stack.push((c, 0));
                } else {
                    post[b] = post_n;
                    post_n += 1;
                    stack.pop();
                }
            }
        }

        let idom = idom.iter().enumerate().map(|(b, d)| d.filter(|&d| b != 0 && d != b).map(Block::new)).collect();
        DominatorTree { idom, rpo: rpo.into_iter().map(Block::new).collect(), pre, post }
    }

    /// Whether `b` is reachable from the entry.
    pub fn is_reachable(&self, b: Block) -> bool {
        self.pre.get(b.index()).is_some_and(|&n| n != UNREACHABLE)
    }

    /// The immediate dominator of `b` (`None` for the entry and unreachable blocks).
    pub fn idom(&self, b: Block) -> Option<Block> {
        self.idom.get(b.index()).copied().flatten()
    }

    /// Whether `a` dominates `b` (every block dominates itself). False when either is
    /// unreachable.
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        if !self.is_reachable(a) || !self.is_reachable(b) {
            return false;
        }
        let (a, b) = (a.index(), b.index());
        self.pre[a] <= self.pre[b] && self.post[b] <= self.post[a]
    }

    /// Whether `a` dominates `b` and is not `b`.
    pub fn strictly_dominates(&self, a: Block, b: Block) -> bool {
        a != b && self.dominates(a, b)
    }

    /// The reachable blocks in reverse postorder (the entry first).
    pub fn reverse_postorder(&self) -> &[Block] {
        &self.rpo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(edges: &[&[usize]]) -> DominatorTree {
        let succs: Vec<Vec<Block>> = edges.iter().map(|s| s.iter().map(|&b| Block::new(b)).collect()).collect();
        DominatorTree::from_successors(&succs)
    }

    fn idoms(t: &DominatorTree, n: usize) -> Vec<Option<u32>> {
        (0..n).map(|b| t.idom(Block::new(b)).map(|d| d.0)).collect()
    }

    #[test]
    fn diamond() {
        // 0 -> 1, 2; 1 -> 3; 2 -> 3
        let t = tree(&[&[1, 2], &[3], &[3], &[]]);
        assert_eq!(idoms(&t, 4), vec![None, Some(0), Some(0), Some(0)]);
        assert!(t.dominates(Block(0), Block(3)));
        assert!(!t.dominates(Block(1), Block(3)));
        assert!(t.dominates(Block(3), Block(3)));
        assert!(!t.strictly_dominates(Block(3), Block(3)));
        assert_eq!(t.reverse_postorder()[0], Block(0));
    }

    #[test]
    fn loop_with_exit() {
        // 0 -> 1; 1 -> 2, 4; 2 -> 3; 3 -> 1; 4
        let t = tree(&[&[1], &[2, 4], &[3], &[1], &[]]);
        assert_eq!(idoms(&t, 5), vec![None, Some(0), Some(1), Some(2), Some(1)]);
        assert!(t.dominates(Block(1), Block(3)));
        assert!(!t.dominates(Block(3), Block(1)));
        assert!(!t.dominates(Block(2), Block(4)));
    }

    #[test]
    fn unreachable_blocks() {
        // 2 is unreachable and jumps into 1.
        let t = tree(&[&[1], &[], &[1]]);
        assert!(!t.is_reachable(Block(2)));
        assert_eq!(t.idom(Block(1)), Some(Block(0)));
        assert_eq!(t.idom(Block(2)), None);
        assert!(!t.dominates(Block(2), Block(1)));
        assert!(!t.dominates(Block(0), Block(2)));
        assert_eq!(t.reverse_postorder().len(), 2);
    }

    #[test]
    fn irreducible_graph() {
        // 0 -> 1, 2; 1 -> 2; 2 -> 1: neither loop entry dominates the other.
        let t = tree(&[&[1, 2], &[2], &[1]]);
        assert_eq!(idoms(&t, 3), vec![None, Some(0), Some(0)]);
        assert!(!t.dominates(Block(1), Block(2)));
        assert!(!t.dominates(Block(2), Block(1)));
    }

    #[test]
    fn classic_example_needs_several_iterations() {
        // The example of Cooper, Harvey and Kennedy (figure 4), renumbered with 0 = entry:
        // 0 -> 1, 2; 1 -> 3; 2 -> 4, 5; 3 -> 4; 4 -> 3, 5; 5 -> 4.
        let t = tree(&[&[1, 2], &[3], &[4, 5], &[4], &[3, 5], &[4]]);
        assert_eq!(idoms(&t, 6), vec![None, Some(0), Some(0), Some(0), Some(0), Some(0)]);
    }

    #[test]
    fn self_loops_and_bad_edges_are_harmless() {
        let t = tree(&[&[0, 1, 7], &[1, 2], &[]]);
        assert_eq!(idoms(&t, 3), vec![None, Some(0), Some(1)]);
        assert!(t.dominates(Block(0), Block(2)));
        let empty = DominatorTree::from_successors(&[]);
        assert!(!empty.is_reachable(Block(0)));
    }

    #[test]
    fn long_chain() {
        let n = 2000;
        let succs: Vec<Vec<Block>> = (0..n).map(|i| if i + 1 < n { vec![Block::new(i + 1)] } else { vec![] }).collect();
        let t = DominatorTree::from_successors(&succs);
        assert!(t.dominates(Block(0), Block::new(n - 1)));
        assert!(t.dominates(Block(1000), Block(1999)));
        assert!(!t.dominates(Block(1999), Block(1000)));
    }
}
