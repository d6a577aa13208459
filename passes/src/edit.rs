//! Small editing tools the passes share: making instructions, rewriting uses.

use lazyjit_ir::rt::Tag;
use lazyjit_ir::{
    Block, BlockCall, BlockData, DebugInfo, Function, Inst, InstData, InstNode, Opcode, ResumeAt, Results, SnapId, SnapSource, Snapshot, Type,
    Value, ValueDef,
};

/// The defining instruction's data of a value, if it is an instruction result.
pub(crate) fn def_data(f: &Function, v: Value) -> Option<&InstData> {
    match f.values[v.index()].def {
        ValueDef::Result(i, _) => Some(&f.insts[i.index()].data),
        ValueDef::Param(..) => None,
    }
}

/// The tag a box op gives.
pub(crate) fn boxed_tag(op: Opcode) -> Option<Tag> {
    Some(match op {
        Opcode::BoxInt => Tag::Int,
        Opcode::BoxFloat => Tag::Float,
        Opcode::BoxBool => Tag::Bool,
        _ => return None,
    })
}

/// The type a tag's payload unboxes to, and the box and unbox ops (for ints, floats and
/// booleans; other values stay boxed).
pub(crate) fn unboxed(tag: Tag) -> Option<(Type, Opcode, Opcode)> {
    Some(match tag {
        Tag::Int => (Type::I64, Opcode::BoxInt, Opcode::UnboxInt),
        Tag::Float => (Type::F64, Opcode::BoxFloat, Opcode::UnboxFloat),
        Tag::Bool => (Type::I1, Opcode::BoxBool, Opcode::UnboxBool),
        _ => return None,
    })
}

/// Makes an instruction with results of `types` (placed in no block: the caller puts
/// `Inst` where it belongs). Returns it and its results.
pub(crate) fn make_inst(f: &mut Function, data: InstData, types: &[Type], debug: DebugInfo) -> (Inst, Vec<Value>) {
    let inst = Inst::new(f.insts.len());
    let results = types.iter().enumerate().map(|(i, &ty)| f.make_value(ty, ValueDef::Result(inst, i as u32))).collect::<Vec<_>>();
    f.insts.push(InstNode { data, results: results.clone(), debug });
    (inst, results)
}

/// [`make_inst`] for an op with at most one result of a fixed type; returns the result
/// (if any).
pub(crate) fn make1(f: &mut Function, data: InstData, debug: DebugInfo) -> (Inst, Option<Value>) {
    let types: Vec<Type> = match data.opcode().results() {
        Results::One(t) => vec![t],
        _ => Vec::new(),
    };
    let (inst, results) = make_inst(f, data, &types, debug);
    (inst, results.first().copied())
}

/// Rewrites every use of a value (operands of placed instructions, branch arguments,
/// snapshot sources) through `subst` (a value maps to itself when `subst` has nothing
/// for it), following chains (`a -> b -> c`).
pub(crate) fn replace_uses(f: &mut Function, subst: &[Option<Value>]) {
    let resolve = |mut v: Value| {
        let mut steps = 0;
        while let Some(Some(w)) = subst.get(v.index()) {
            if *w == v || steps > subst.len() {
                break;
            }
            v = *w;
            steps += 1;
        }
        v
    };
    let placed: Vec<Inst> = f.blocks.iter().flat_map(|b| b.insts.iter().copied()).collect();
    for inst in placed {
        f.insts[inst.index()].data.map_operands(resolve);
    }
    for snap in &mut f.snapshots {
        for (_, src) in &mut snap.entries {
            if let SnapSource::Value(v) = src {
                *v = resolve(*v);
            }
        }
    }
}

/// The preheader of the loop headed by `header` whose blocks are `in_loop`: the one block
/// outside the loop that branches to the header, when it does so with a plain `jump`.
pub(crate) fn find_preheader(f: &Function, header: Block, in_loop: impl Fn(Block) -> bool) -> Option<Block> {
    preheader_among(f, header, &outside_preds(f, header, in_loop))
}

/// The blocks outside the loop that branch to its header, each once.
fn outside_preds(f: &Function, header: Block, in_loop: impl Fn(Block) -> bool) -> Vec<Block> {
    let mut outside: Vec<Block> = lazyjit_ir::loops::predecessors(f)[header.index()].iter().copied().filter(|&p| !in_loop(p)).collect();
    outside.dedup();
    outside
}

/// The preheader, if `outside` (the header's predecessors outside the loop) is one block
/// that ends in a `jump` to the header.
fn preheader_among(f: &Function, header: Block, outside: &[Block]) -> Option<Block> {
    let &[p] = outside else { return None };
    let term = f.terminator(p)?;
    matches!(&f.insts[term.index()].data, InstData::Jump { dest, .. } if dest.block == header).then_some(p)
}

/// The preheader of the loop headed by `header` (see [`find_preheader`]), made if there
/// is none: a new block with the header's parameter types that every edge from outside
/// the loop now enters, and that jumps to the header. `None` when nothing outside the
/// loop branches to it (the entry block, or an unreachable loop).
pub(crate) fn ensure_preheader(f: &mut Function, header: Block, in_loop: impl Fn(Block) -> bool) -> Option<Block> {
    if header == f.entry() {
        return None;
    }
    let outside = outside_preds(f, header, in_loop);
    if let Some(p) = preheader_among(f, header, &outside) {
        return Some(p);
    }
    if outside.is_empty() {
        return None;
    }
    let pre = Block::new(f.blocks.len());
    let types: Vec<Type> = f.blocks[header.index()].params.iter().map(|&p| f.value_type(p)).collect();
    let params: Vec<Value> = types.iter().enumerate().map(|(i, &ty)| f.make_value(ty, ValueDef::Param(pre, i as u32))).collect();
    let (jump, _) = make_inst(f, InstData::Jump { op: Opcode::Jump, dest: BlockCall { block: header, args: params.clone() } }, &[], DebugInfo::default());
    f.blocks.push(BlockData { params, insts: vec![jump], loop_header: false });
    for p in outside {
        let Some(term) = f.terminator(p) else { continue };
        match &mut f.insts[term.index()].data {
            InstData::Jump { dest, .. } => {
                if dest.block == header {
                    dest.block = pre;
                }
            }
            InstData::Brif { then_dest, else_dest, .. } => {
                for d in [then_dest, else_dest] {
                    if d.block == header {
                        d.block = pre;
                    }
                }
            }
            _ => {}
        }
    }
    Some(pre)
}

/// A snapshot for a guard placed at the end of `pre`, the preheader of the loop headed by
/// `header`: the loop's header snapshot (resuming the generic function at the header's
/// first instruction, which `type_spec` made) with the header's parameters read from
/// the preheader's jump, and what the guard's own snapshot `like` says of a failure
/// (the site to blame, an exit from unreached code). `None` when there is no header
/// snapshot, or it reads a value the preheader does not have (defined in the loop).
pub(crate) fn preheader_snapshot(
    f: &mut Function,
    header: Block,
    pre: Block,
    in_loop: impl Fn(Block) -> bool,
    def_block: impl Fn(Value) -> Option<Block>,
    like: SnapId,
) -> Option<SnapId> {
    let (blame, unreached) = f.snapshots.get(like.index()).map(|s| (s.blame, s.unreached))?;
    let found = f.snapshots.iter().position(|s| s.resume == ResumeAt { block: header, index: 0 } && s.blame.is_none() && !s.unreached)?;
    let jump = f.terminator(pre)?;
    let InstData::Jump { dest, .. } = &f.insts[jump.index()].data else { return None };
    let args = dest.args.clone();
    let params = f.blocks[header.index()].params.clone();
    let mut entries = f.snapshots[found].entries.clone();
    for (_, src) in &mut entries {
        let SnapSource::Value(v) = src else { continue };
        if let Some(i) = params.iter().position(|p| p == v) {
            *v = *args.get(i)?;
        } else if def_block(*v).is_none_or(&in_loop) {
            return None;
        }
    }
    if let Some(existing) = f.snapshots.iter().position(|s| s.resume == f.snapshots[found].resume && s.blame == blame && s.unreached == unreached && s.entries == entries) {
        return Some(SnapId::new(existing));
    }
    f.snapshots.push(Snapshot { resume: ResumeAt { block: header, index: 0 }, entries, blame, unreached });
    Some(SnapId::new(f.snapshots.len() - 1))
}

/// The block each placed instruction is in (`None`: not placed).
pub(crate) fn inst_blocks(f: &Function) -> Vec<Option<Block>> {
    let mut at = vec![None; f.insts.len()];
    for (b, data) in f.blocks.iter().enumerate() {
        for &i in &data.insts {
            at[i.index()] = Some(Block::new(b));
        }
    }
    at
}

/// The block that defines `v`, given where each instruction is ([`inst_blocks`]).
pub(crate) fn def_block(f: &Function, at: &[Option<Block>], v: Value) -> Option<Block> {
    match f.values.get(v.index())?.def {
        ValueDef::Param(b, _) => Some(b),
        ValueDef::Result(i, _) => at.get(i.index()).copied().flatten(),
    }
}

/// The blocks `start` reaches (itself included), by block number.
pub(crate) fn reachable_from(f: &Function, start: Block) -> Vec<bool> {
    let succs = lazyjit_ir::loops::successors(f);
    let mut seen = vec![false; f.blocks.len()];
    let Some(s) = seen.get_mut(start.index()) else { return seen };
    *s = true;
    let mut work = vec![start.index()];
    while let Some(b) = work.pop() {
        for s in &succs[b] {
            if s.index() < seen.len() && !seen[s.index()] {
                seen[s.index()] = true;
                work.push(s.index());
            }
        }
    }
    seen
}

/// Empties every block `keep` says no to (by block number): no parameters, no
/// instructions but an empty `return`, not a loop header (block numbers stay, so resume
/// points and the values of the code kept keep their meaning). Returns how many it
/// emptied (a block that is such a stub already is left alone). Values the emptied
/// code defined are defined nowhere now; when `keep` is what some block reaches, no
/// code kept used them, since a definition dominates its uses.
pub(crate) fn stub_blocks(f: &mut Function, keep: &[bool]) -> u64 {
    let mut emptied = 0;
    for (bi, &kept) in keep.iter().enumerate() {
        let block = &f.blocks[bi];
        let is_stub = block.params.is_empty()
            && !block.loop_header
            && matches!(block.insts[..], [i] if matches!(&f.insts[i.index()].data, InstData::Return { args, .. } if args.is_empty()));
        if kept || is_stub {
            continue;
        }
        let ret = push_inst(f, InstData::Return { op: Opcode::Return, args: Vec::new(), spread: false }, Vec::new(), DebugInfo::default());
        f.blocks[bi] = BlockData { params: Vec::new(), insts: vec![ret], loop_header: false };
        emptied += 1;
    }
    emptied
}

/// Adds an instruction (placed in no block) whose results are the existing values
/// `results`, which it now defines.
pub(crate) fn push_inst(f: &mut Function, data: InstData, results: Vec<Value>, debug: DebugInfo) -> Inst {
    let inst = Inst::new(f.insts.len());
    for (n, &r) in results.iter().enumerate() {
        f.values[r.index()].def = ValueDef::Result(inst, n as u32);
    }
    f.insts.push(InstNode { data, results, debug });
    inst
}
