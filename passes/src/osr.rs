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
//! It declines (an error saying why) where the header heads no loop, reaches the
//! function's entry, has a live pack, or has a live value defined
//! inside an enclosing loop (the value would need a block parameter on the way back to
//! the header; not done yet).

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
    /// A value live at the header is defined inside a loop enclosing the header:
    /// entering the enclosing loop's header instead would do.
    #[error("{0}, live at the header, is defined inside a loop enclosing it")]
    Enclosed(Value),
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
    for &v in &carried {
        let def = match f.values[v.index()].def {
            ValueDef::Param(b, _) => Some(b),
            ValueDef::Result(i, _) => inst_block[i.index()],
        };
        if def.is_some_and(|b| reached[b.index()]) {
            return Err(Decline::Enclosed(v));
        }
    }

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
    let entry = Block::new(0);
    for (k, &v) in params.iter().chain(&carried).enumerate() {
        let carried_value = k >= params.len();
        let ty = f.value_type(v);
        let tag = tag_of(v);
        let n = entry_params.len() as u32;
        // A `val` that is not an int, float or boolean arrives as it is: as the
        // parameter itself if it is a carried value (which keeps its number).
        if ty == Type::Val && unboxed(tag).is_none() {
            let y = if carried_value {
                g.values[v.index()].def = ValueDef::Param(entry, n);
                v
            } else {
                g.make_value(Type::Val, ValueDef::Param(entry, n))
            };
            entry_params.push(y);
            from.push((v, tag));
            if !carried_value {
                args.push(y);
            }
            continue;
        }
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
        let typed = if ty != Type::Val && carried_value { v } else { g.make_value(unboxed_ty, ValueDef::Param(entry, 0)) };
        insts.push(push_inst(&mut g, InstData::Unary { op: unbox, arg: y }, vec![typed]));
        let value = if ty == Type::Val {
            let boxed = if carried_value { v } else { g.make_value(Type::Val, ValueDef::Param(entry, 0)) };
            insts.push(push_inst(&mut g, InstData::Unary { op: boxop, arg: typed }, vec![boxed]));
            boxed
        } else {
            typed
        };
        if !carried_value {
            args.push(value);
        }
    }
    let jump = push_inst(&mut g, InstData::Jump { op: Opcode::Jump, dest: BlockCall { block: header, args } }, Vec::new());
    insts.push(jump);
    g.blocks[0].params = entry_params;
    g.blocks[0].insts = insts;
    g.params = g.blocks[0].params.len() as u32;
    Ok(OsrEntry { function: g, from })
}
