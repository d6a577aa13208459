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
//! A constant from before the loop (`iconst 0`, `const nil`) is not a parameter: block
//! 0 makes it again, under its own number, so that the passes see the constant (a
//! loop's bounds and step, what a check compares with) as they do in the function.
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
use lazyjit_ir::loops::LoopForest;
use lazyjit_ir::{Block, BlockCall, BlockData, DebugInfo, Function, InstData, Opcode, Type, Value, ValueDef};

use crate::edit::{inst_blocks, push_inst, reachable_from, stub_blocks, unboxed};

/// An on-stack entry's MIR, and where its entry parameters come from.
#[derive(Clone, Debug)]
pub struct OsrEntry {
    /// The function, entered at block 0, which jumps to the loop header.
    pub function: Function,
    /// Per parameter of block 0, in order: the generic value it starts from (in the
    /// frame of the function at the back edge) and the tag the entry was specialized to.
    pub from: Vec<(Value, Tag)>,
    /// Values of the function that stand for another (generic) value: block
    /// parameters added for values defined in two places now (enclosing loops' values,
    /// the entered loop's values after its copy), block 0's values for enclosing loops'
    /// values, and the copy's values, each with the generic value it stands for.
    /// Snapshots name the generic value.
    pub stands_for: Vec<(Value, Value)>,
    /// Blocks of the copy of the entered loop (when it is nested in another loop), each
    /// with the block of the function it copies: resume points name the original.
    pub copied_from: Vec<(Block, Block)>,
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
    let inst_block = inst_blocks(f);
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
    // The code the header does not reach becomes stubs, but block 0, which is made anew
    // below; block numbers stay.
    let mut keep = reached.clone();
    keep[0] = true;
    stub_blocks(&mut g, &keep);
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
        // A constant from before the loop is made again, not read from the frame: the
        // passes then see the constant (a loop's step and bounds, `nil` for a check).
        if keeps_number {
            if let ValueDef::Result(def, 0) = f.values[v.index()].def {
                if let data @ InstData::Const { .. } = &f.insts[def.index()].data {
                    insts.push(push_inst(&mut g, data.clone(), vec![v], DebugInfo::default()));
                    continue;
                }
            }
        }
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
            insts.push(push_inst(&mut g, InstData::Unary { op: unbox, arg: y }, vec![typed], DebugInfo::default()));
            if ty == Type::Val {
                let boxed = if keeps_number { v } else { g.make_value(Type::Val, ValueDef::Param(entry, 0)) };
                insts.push(push_inst(&mut g, InstData::Unary { op: boxop, arg: typed }, vec![boxed], DebugInfo::default()));
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
    // Entered at the header of a loop nested in another, the copy would have the
    // header head every cycle through it (block 0 enters the enclosing loop there), and
    // the loop itself would not be a loop of its own for `licm` and `bce`. So block 0
    // enters a copy of the loop, which runs the rest of the loop's current run and then
    // leaves into the enclosing loop, whose later runs of the loop go through the
    // original, a proper inner loop again.
    let dom = DominatorTree::compute(f);
    let forest = LoopForest::compute(f, &dom);
    let nested = forest.loops().iter().find(|l| l.header == header && l.parent.is_some());
    let (target, copies, copied_values) = match nested {
        Some(l) => copy_loop(&mut g, &l.blocks),
        None => (header, Vec::new(), Vec::new()),
    };
    let jump = push_inst(&mut g, InstData::Jump { op: Opcode::Jump, dest: BlockCall { block: target, args } }, Vec::new(), DebugInfo::default());
    insts.push(jump);
    g.blocks[0].params = entry_params;
    g.blocks[0].insts = insts;
    g.params = g.blocks[0].params.len() as u32;
    // Values defined in two places now: values of enclosing loops (there, and from
    // block 0), and the loop's values the code after the loop reads (in the loop and
    // in its copy).
    let mut stands_for: Vec<(Value, Value)> = Vec::new();
    let mut twice: Vec<(Value, Value)> = Vec::new();
    for &(v, e) in &from_enclosing {
        twice.push((v, e));
        stands_for.push((e, v));
    }
    let read_after = values_read_outside(&g, &copies);
    for &(v, copy) in &copied_values {
        stands_for.push((copy, v));
        if read_after[v.index()] {
            twice.push((v, copy));
        }
    }
    stands_for.extend(repair(&mut g, &twice));
    stands_for.sort_by_key(|&(p, _)| p);
    stands_for.dedup_by_key(|&mut (p, _)| p);
    Ok(OsrEntry { function: g, from, stands_for, copied_from: copies })
}

/// Copies the loop of `blocks` (sorted; the header first) in `g`: new blocks with new
/// parameters and results, branches within the loop going to the copies, branches out
/// of it to where the loop's go. Returns the copy of the header, each copy with its
/// original, and each value the loop defines with its copy.
fn copy_loop(g: &mut Function, blocks: &[Block]) -> (Block, Vec<(Block, Block)>, Vec<(Value, Value)>) {
    let first = g.blocks.len();
    let copy_of_block = |b: Block| blocks.binary_search(&b).ok().map(|i| Block::new(first + i));
    let mut value_copy: Vec<Option<Value>> = vec![None; g.values.len()];
    let mut copied_values = Vec::new();
    let mut copies = Vec::with_capacity(blocks.len());
    // New values first (a use may come before its definition in layout order).
    for (i, &b) in blocks.iter().enumerate() {
        let nb = Block::new(first + i);
        for (n, &p) in g.blocks[b.index()].params.clone().iter().enumerate() {
            let c = g.make_value(g.value_type(p), ValueDef::Param(nb, n as u32));
            value_copy[p.index()] = Some(c);
            copied_values.push((p, c));
        }
        for &inst in &g.blocks[b.index()].insts.clone() {
            for &r in &g.insts[inst.index()].results.clone() {
                // The definition is set when the instruction is made.
                let c = g.make_value(g.value_type(r), ValueDef::Param(nb, 0));
                value_copy[r.index()] = Some(c);
                copied_values.push((r, c));
            }
        }
    }
    let map = |v: Value| value_copy.get(v.index()).copied().flatten().unwrap_or(v);
    for (i, &b) in blocks.iter().enumerate() {
        let nb = Block::new(first + i);
        let params: Vec<Value> = g.blocks[b.index()].params.iter().map(|&p| map(p)).collect();
        let mut insts = Vec::with_capacity(g.blocks[b.index()].insts.len());
        for &inst in &g.blocks[b.index()].insts.clone() {
            let node = &g.insts[inst.index()];
            let mut data = node.data.clone();
            data.map_operands(map);
            match &mut data {
                InstData::Jump { dest, .. } => dest.block = copy_of_block(dest.block).unwrap_or(dest.block),
                InstData::Brif { then_dest, else_dest, .. } => {
                    for dest in [then_dest, else_dest] {
                        dest.block = copy_of_block(dest.block).unwrap_or(dest.block);
                    }
                }
                _ => {}
            }
            let results: Vec<Value> = node.results.iter().map(|&r| map(r)).collect();
            let debug = node.debug;
            insts.push(push_inst(g, data, results, debug));
        }
        let loop_header = g.blocks[b.index()].loop_header;
        g.blocks.push(BlockData { params, insts, loop_header });
        copies.push((nb, b));
    }
    (Block::new(first), copies, copied_values)
}

/// Per value of `g`: whether a placed instruction outside the blocks of `copies` and
/// their originals reads it.
fn values_read_outside(g: &Function, copies: &[(Block, Block)]) -> Vec<bool> {
    let mut inside = vec![false; g.blocks.len()];
    for &(c, o) in copies {
        inside[c.index()] = true;
        inside[o.index()] = true;
    }
    let mut read = vec![false; g.values.len()];
    for (bi, block) in g.blocks.iter().enumerate() {
        if inside[bi] {
            continue;
        }
        for &inst in &block.insts {
            g.insts[inst.index()].data.for_each_operand(|v| read[v.index()] = true);
        }
    }
    read
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

/// Puts `g` (the entry's copy of the function, complete) back into SSA form for values
/// defined in two places: each `(v, w)` of `values` is a value `v` and a second
/// definition `w` of the same variable (block 0's value for a value of an enclosing
/// loop; the loop copy's value for a value of the entered loop that code after it
/// reads). Block parameters go where the two meet (the iterated dominance frontier of
/// their blocks, where the variable is live), and every use of either reads the
/// definition that reaches it. Returns each new parameter with the value it stands for.
fn repair(g: &mut Function, values: &[(Value, Value)]) -> Vec<(Value, Value)> {
    if values.is_empty() {
        return Vec::new();
    }
    let n = g.blocks.len();
    let succs = lazyjit_ir::loops::successors(g);
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
        (0..n).map(|b| dom.is_reachable(Block::new(b)).then(|| liveness.live_before(g, Block::new(b), 0))).collect();
    let inst_block = inst_blocks(g);
    let block_of = |g: &Function, v: Value| match g.values[v.index()].def {
        ValueDef::Param(b, _) => Some(b),
        ValueDef::Result(i, _) => inst_block.get(i.index()).copied().flatten(),
    };
    let mut stands_for = Vec::new();
    for &(v, w) in values {
        let defs: Vec<Block> = [v, w].iter().filter_map(|&x| block_of(g, x)).collect();
        let live = |x: Block| live_in[x.index()].as_ref().is_some_and(|l| l.contains(v.index()) || l.contains(w.index()));
        // Blocks where the two definitions meet and the variable is live: a parameter
        // each.
        let mut param_at: Vec<Option<Value>> = vec![None; n];
        let mut work = defs.clone();
        while let Some(d) = work.pop() {
            for &x in &frontier[d.index()] {
                if defs.contains(&x) || param_at[x.index()].is_some() || !live(x) {
                    continue;
                }
                let p = g.make_value(g.value_type(v), ValueDef::Param(x, g.blocks[x.index()].params.len() as u32));
                g.blocks[x.index()].params.push(p);
                param_at[x.index()] = Some(p);
                stands_for.push((p, v));
                work.push(x);
            }
        }
        // Each use reads the definition that reaches it: walk the dominator tree.
        let mut reaching: Vec<Option<Value>> = vec![None; n];
        for &b in dom.reverse_postorder() {
            let mut cur = param_at[b.index()].or_else(|| dom.idom(b).and_then(|i| reaching[i.index()]));
            if let Some(&own) = g.blocks[b.index()].params.iter().find(|&&p| p == v || p == w) {
                cur = Some(own);
            }
            for k in 0..g.blocks[b.index()].insts.len() {
                let inst = g.blocks[b.index()].insts[k];
                let node = &mut g.insts[inst.index()];
                if let Some(c) = cur {
                    node.data.map_operands(|x| if x == v || x == w { c } else { x });
                }
                match &mut node.data {
                    InstData::Jump { dest, .. } => {
                        if param_at[dest.block.index()].is_some() {
                            dest.args.extend(cur);
                        }
                    }
                    InstData::Brif { then_dest, else_dest, .. } => {
                        for dest in [then_dest, else_dest] {
                            if param_at[dest.block.index()].is_some() {
                                dest.args.extend(cur);
                            }
                        }
                    }
                    _ => {}
                }
                if let Some(&own) = node.results.iter().find(|&&r| r == v || r == w) {
                    cur = Some(own);
                }
            }
            reaching[b.index()] = cur;
        }
    }
    stands_for
}
