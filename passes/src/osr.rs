//! On-stack entries: a copy of a function that starts at one of its loop headers.
//!
//! A function called once (a main chunk) or rarely, with a long loop, only reaches
//! optimized code if it can change code *during* the call: its first code, at a back edge
//! to a loop header, leaves for an on-stack entry of that header and returns what the
//! entry returns. [`entry_at`] makes the MIR of such an entry from the function's generic
//! MIR, before the optimizing pipeline runs over it:
//!
//! ```text
//! block0(y0, y1, y2):            ; one parameter per value live at the header
//!   u = unbox.int y1             ; the values were ints when the entry was made
//!   v7 = box.int u               ; v7 (live in the loop) keeps its number
//!   a = unbox.int y0
//!   b = box.int a
//!   jump block3(b, y2)           ; the header, with its parameters
//! ```
//!
//! The new entry block replaces block 0; the blocks the header does not reach (the code
//! before the loop, the old entry) are left as empty `return` stubs, so every other block
//! keeps its number and every instruction its position: resume points of snapshots
//! (positions in the generic function) and generic value numbers stay valid, and
//! `type_spec` speculates on the copy as on the function itself. The values live at the
//! header that the pre-loop code defined are now defined in block 0, under their own
//! numbers.
//!
//! The entry is specialized to the tags the live values had when it was made: an int,
//! float or boolean `val` is unboxed and boxed again, which tells `box_elim` the tag (so
//! a loop variable can live unboxed from the first iteration on); a typed value (the
//! frame holds it boxed) is unboxed. Whoever enters the entry must
//! check those tags first ([`OsrEntry::from`] lists them with the generic values they
//! come from) and not enter when they differ.
//!
//! A value live at the header that an *enclosing* loop defines (an outer loop's counter,
//! a value computed in its body) is defined again on each trip round the enclosing
//! loop, which the copy keeps: block 0 cannot simply take over its definition. Block 0
//! and the old definition now both define it, so the copy is put back into SSA form for
//! it: a new block parameter wherever the two meet and the value is live (the header,
//! and any block where the enclosing loop's paths join after it), and every use reads
//! the definition that reaches it:
//!
//! ```text
//! block0(y0, y1):                ; y1: the frame's ci
//!   jump block5(y0, y1)
//! block2:                        ; in the enclosing loop
//!   v9 = rtcall @lua.sub(..)     ; ci
//!   jump block5(v4, v9)
//! block5(v12: val, v30: val) loop:   ; v30 stands for v9 from here on
//!   ...
//!   jump block5(v13, v30)        ; back edge
//! ```
//!
//! The new parameters stand for the generic value in snapshots
//! ([`OsrEntry::stands_for`]: a deopt inside the loop writes the parameter to the
//! generic value's slot).
//!
//! It declines (an error saying why) where the header heads no loop, reaches the
//! function's entry, or has a live pack.

use lazyjit_ir::dominators::DominatorTree;
use lazyjit_ir::liveness::Liveness;
use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Block, BlockCall, DebugInfo, Function, Inst, InstData, InstNode, Opcode, Type, Value, ValueDef};

use crate::edit::unboxed;

/// An on-stack entry's MIR, and where its entry parameters come from.
#[derive(Clone, Debug)]
pub struct OsrEntry {
    /// The function, entered at block 0, which jumps to the loop header.
    pub function: Function,
    /// Per parameter of block 0, in order: the generic value it starts from (in the
    /// frame of the function at the back edge) and the tag the entry was specialized to.
    pub from: Vec<(Value, Tag)>,
    /// Values of the function that stand for another (generic) value: the header's
    /// parameters added for values of enclosing loops, with the value each replaces.
    /// Snapshots name the generic value.
    pub stands_for: Vec<(Value, Value)>,
}

/// Why a header gets no on-stack entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Decline {
    /// The block heads no loop (or does not exist).
    #[error("{0} heads no loop")]
    NotAHeader(Block),
    /// The loop reaches the function's entry block.
    #[error("{0} reaches the function's entry")]
    ReachesEntry(Block),
    /// A value live at the header is a pack.
    #[error("{0}, live at the header, is a pack")]
    Pack(Value),
    /// A typed value holds a value of another tag (the frame is not what the MIR says).
    #[error("{0}, live at the header, is an {1} but holds a {2:?}")]
    Mistyped(Value, &'static str, Tag),
}

/// The blocks reachable from `start` (by index).
fn reachable_from(f: &Function, start: Block) -> Vec<bool> {
    let mut seen = vec![false; f.blocks.len()];
    let mut work = vec![start];
    seen[start.index()] = true;
    while let Some(b) = work.pop() {
        let Some(t) = f.terminator(b) else { continue };
        for dest in f.insts[t.index()].data.successors() {
            let d = dest.block.index();
            if d < seen.len() && !seen[d] {
                seen[d] = true;
                work.push(dest.block);
            }
        }
    }
    seen
}

/// The block each placed instruction is in.
fn block_of_insts(f: &Function) -> Vec<Option<Block>> {
    let mut at = vec![None; f.insts.len()];
    for (bi, b) in f.blocks.iter().enumerate() {
        for &i in &b.insts {
            at[i.index()] = Some(Block::new(bi));
        }
    }
    at
}

fn push_inst(f: &mut Function, data: InstData, results: Vec<Value>) -> Inst {
    let inst = Inst::new(f.insts.len());
    for (n, &r) in results.iter().enumerate() {
        f.values[r.index()].def = ValueDef::Result(inst, n as u32);
    }
    f.insts.push(InstNode { data, results, debug: DebugInfo::default() });
    inst
}

/// The on-stack entry of `f` at loop header `header`, specialized to the tags
/// `tag_of` gives for the values live there (the frame's values at the back edge).
pub fn entry_at(f: &Function, header: Block, tag_of: impl Fn(Value) -> Tag) -> Result<OsrEntry, Decline> {
    let h = header.index();
    if h == 0 || h >= f.blocks.len() || !f.blocks[h].loop_header {
        return Err(Decline::NotAHeader(header));
    }
    let reached = reachable_from(f, header);
    if reached[0] {
        return Err(Decline::ReachesEntry(header));
    }
    let params = f.blocks[h].params.clone();
    let live = Liveness::compute(f).live_before(f, header, 0);
    let carried: Vec<Value> = live.iter().map(Value::new).filter(|v| !params.contains(v)).collect();
    let inst_block = block_of_insts(f);
    for &v in params.iter().chain(&carried) {
        if f.value_type(v) == Type::Pack {
            return Err(Decline::Pack(v));
        }
    }
    // How each value reaches the header: values of enclosing loops are defined again on
    // the way back to it.
    let kinds: Vec<Carried> = params
        .iter()
        .map(|_| Carried::HeaderParam)
        .chain(carried.iter().map(|&v| {
            let def = match f.values[v.index()].def {
                ValueDef::Param(b, _) => Some(b),
                ValueDef::Result(i, _) => inst_block[i.index()],
            };
            if def.is_some_and(|b| reached[b.index()]) { Carried::Enclosed } else { Carried::Before }
        }))
        .collect();

    let mut g = f.clone();
    // The code the header does not reach becomes stubs; block numbers stay.
    for (bi, &r) in reached.iter().enumerate() {
        if r {
            continue;
        }
        g.blocks[bi].params.clear();
        g.blocks[bi].loop_header = false;
        g.blocks[bi].insts.clear();
        if bi != 0 {
            let ret = push_inst(&mut g, InstData::Return { op: Opcode::Return, args: Vec::new(), spread: false }, Vec::new());
            g.blocks[bi].insts.push(ret);
        }
    }
    let mut entry_params = Vec::with_capacity(params.len() + carried.len());
    let mut from = Vec::with_capacity(params.len() + carried.len());
    let mut insts = Vec::new();
    let mut args = Vec::with_capacity(params.len());
    let mut from_enclosing = Vec::new();
    let entry = Block::new(0);
    for (&v, &kind) in params.iter().chain(&carried).zip(&kinds) {
        // A value from before the loop keeps its number (block 0 defines it now); the
        // header's parameters get theirs from block 0's arguments, and values of
        // enclosing loops from new header parameters.
        let keeps_number = kind == Carried::Before;
        let ty = f.value_type(v);
        let tag = tag_of(v);
        let n = entry_params.len() as u32;
        // A `val` that is not an int, float or boolean arrives as it is.
        let value = if ty == Type::Val && unboxed(tag).is_none() {
            let y = if keeps_number {
                g.values[v.index()].def = ValueDef::Param(entry, n);
                v
            } else {
                g.make_value(Type::Val, ValueDef::Param(entry, n))
            };
            entry_params.push(y);
            from.push((v, tag));
            y
        } else {
            // Unboxed from the parameter: a typed value (the frame keeps it boxed), or a
            // `val` boxed again, so that its tag is known.
            let Some((unboxed_ty, boxop, unbox)) = unboxed(tag) else {
                return Err(Decline::Mistyped(v, ty.name(), tag));
            };
            if ty != Type::Val && ty != unboxed_ty {
                return Err(Decline::Mistyped(v, ty.name(), tag));
            }
            let y = g.make_value(Type::Val, ValueDef::Param(entry, n));
            entry_params.push(y);
            from.push((v, tag));
            let typed = if ty != Type::Val && keeps_number { v } else { g.make_value(unboxed_ty, ValueDef::Param(entry, 0)) };
            insts.push(push_inst(&mut g, InstData::Unary { op: unbox, arg: y }, vec![typed]));
            if ty == Type::Val {
                let boxed = if keeps_number { v } else { g.make_value(Type::Val, ValueDef::Param(entry, 0)) };
                insts.push(push_inst(&mut g, InstData::Unary { op: boxop, arg: typed }, vec![boxed]));
                boxed
            } else {
                typed
            }
        };
        match kind {
            Carried::HeaderParam => args.push(value),
            Carried::Enclosed => from_enclosing.push((v, value)),
            Carried::Before => {}
        }
    }
    let stands_for = if from_enclosing.is_empty() {
        Vec::new()
    } else {
        let (stands_for, header_args) = repair(&mut g, header, &reached, &from_enclosing);
        args.extend(header_args);
        stands_for
    };
    let jump = push_inst(&mut g, InstData::Jump { op: Opcode::Jump, dest: BlockCall { block: header, args } }, Vec::new());
    insts.push(jump);
    g.blocks[0].params = entry_params;
    g.blocks[0].insts = insts;
    g.params = g.blocks[0].params.len() as u32;
    Ok(OsrEntry { function: g, from, stands_for })
}

/// How a value live at the header reaches the entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Carried {
    /// A parameter of the header.
    HeaderParam,
    /// Defined before the loop: block 0 defines it now.
    Before,
    /// Defined in an enclosing loop (again on each of its trips).
    Enclosed,
}

/// Puts `g` (the entry's copy, its unreached blocks already stubs, block 0 about to jump
/// to `header`) back into SSA form for values of enclosing loops: each `(v, e)` of
/// `values` is a value live at the header that a block the header reaches defines, and
/// `e` its value from block 0. Both now define `v`'s variable, so block parameters go
/// where the two meet (the iterated dominance frontier of `v`'s block, where `v` is
/// live: at least the header), and every use reads the definition that reaches it.
/// Returns each new parameter with the value it stands for, and the arguments block 0
/// passes to the header's new parameters (in order).
fn repair(g: &mut Function, header: Block, reached: &[bool], values: &[(Value, Value)]) -> (Vec<(Value, Value)>, Vec<Value>) {
    let n = g.blocks.len();
    // The entry's CFG: block 0 jumps to the header; the rest as in `g`.
    let mut succs: Vec<Vec<Block>> = vec![Vec::new(); n];
    succs[0].push(header);
    for bi in (0..n).filter(|&b| reached[b]) {
        if let Some(t) = g.terminator(Block::new(bi)) {
            succs[bi].extend(g.insts[t.index()].data.successors().iter().map(|d| d.block));
        }
    }
    let mut preds: Vec<Vec<Block>> = vec![Vec::new(); n];
    for (bi, ss) in succs.iter().enumerate() {
        for s in ss {
            preds[s.index()].push(Block::new(bi));
        }
    }
    let dom = DominatorTree::from_successors(&succs);
    // Dominance frontiers.
    let mut frontier: Vec<Vec<Block>> = vec![Vec::new(); n];
    for b in dom.reverse_postorder() {
        if preds[b.index()].len() < 2 {
            continue;
        }
        let idom = dom.idom(*b);
        for &p in preds[b.index()].iter().filter(|p| dom.is_reachable(**p)) {
            let mut runner = Some(p);
            while let Some(r) = runner.filter(|&r| Some(r) != idom) {
                if !frontier[r.index()].contains(b) {
                    frontier[r.index()].push(*b);
                }
                runner = dom.idom(r);
            }
        }
    }
    let liveness = Liveness::compute(g);
    let live_in: Vec<Option<lazyjit_ir::liveness::BitSet>> =
        (0..n).map(|b| reached[b].then(|| liveness.live_before(g, Block::new(b), 0))).collect();
    let inst_block = block_of_insts(g);
    let mut stands_for = Vec::new();
    let mut header_args = Vec::new();
    for &(v, entry_value) in values {
        let def_block = match g.values[v.index()].def {
            ValueDef::Param(b, _) => b,
            ValueDef::Result(i, _) => inst_block[i.index()].expect("a value of a reached block is placed"),
        };
        // Blocks where the two definitions meet and `v` is live: a parameter each.
        let mut param_at: Vec<Option<Value>> = vec![None; n];
        let mut work = vec![def_block];
        while let Some(w) = work.pop() {
            for &x in &frontier[w.index()] {
                if x == def_block || param_at[x.index()].is_some() || !live_in[x.index()].as_ref().is_some_and(|l| l.contains(v.index())) {
                    continue;
                }
                let p = g.make_value(g.value_type(v), ValueDef::Param(x, g.blocks[x.index()].params.len() as u32));
                g.blocks[x.index()].params.push(p);
                param_at[x.index()] = Some(p);
                stands_for.push((p, v));
                work.push(x);
            }
        }
        match param_at[header.index()] {
            Some(p) => {
                debug_assert!(g.blocks[header.index()].params.last() == Some(&p));
                header_args.push(entry_value);
            }
            // (The header is always where the two meet; if it were not, uses would read
            // block 0's value itself, which then stands for `v` too.)
            None => stands_for.push((entry_value, v)),
        }
        // Each use reads the definition that reaches it: walk the dominator tree.
        let mut reaching: Vec<Option<Value>> = vec![None; n];
        reaching[0] = Some(entry_value);
        for &b in dom.reverse_postorder().iter().filter(|b| b.index() != 0) {
            let mut cur = match param_at[b.index()] {
                Some(p) => p,
                None => reaching[dom.idom(b).expect("a reachable block other than the entry").index()].expect("set before"),
            };
            if matches!(g.values[v.index()].def, ValueDef::Param(d, _) if d == b) {
                cur = v;
            }
            for k in 0..g.blocks[b.index()].insts.len() {
                let inst = g.blocks[b.index()].insts[k];
                let node = &mut g.insts[inst.index()];
                node.data.map_operands(|x| if x == v { cur } else { x });
                match &mut node.data {
                    InstData::Jump { dest, .. } => {
                        if param_at[dest.block.index()].is_some() {
                            dest.args.push(cur);
                        }
                    }
                    InstData::Brif { then_dest, else_dest, .. } => {
                        for dest in [then_dest, else_dest] {
                            if param_at[dest.block.index()].is_some() {
                                dest.args.push(cur);
                            }
                        }
                    }
                    _ => {}
                }
                if node.results.contains(&v) {
                    cur = v;
                }
            }
            reaching[b.index()] = Some(cur);
        }
    }
    (stands_for, header_args)
}
