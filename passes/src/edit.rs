//! Small editing tools the passes share: making instructions, rewriting uses.

use lazyjit_ir::rt::Tag;
use lazyjit_ir::{DebugInfo, Function, Inst, InstData, InstNode, Opcode, Results, SnapSource, Type, Value, ValueDef};

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
