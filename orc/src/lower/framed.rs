//! Which MIR values compiled code keeps in their frame slots.
//!
//! A frame is read by three parties: the collector at a safepoint (it marks the slots
//! live at the frame's position, see `Proto::live_slots`), a guard's deoptimization
//! (the interpreter resumes from the frame), and helpers that take an operand by
//! address (a callee, a spread pack, a cell's initial value). A value is *framed*,
//! stored to its slot where it is defined (and by the edges into its block, for a block
//! parameter), when one of them may need it there:
//!
//! - it may hold the only reference to an object (`Proto::references`, the values the
//!   collector marks in a stopped frame: typed values hold none, and a function's
//!   upvalue cells, constants and globals table are reachable from its closure, module
//!   and VM) and is live across an instruction that may reach a safepoint (any helper
//!   that can allocate or run Lua code);
//! - it is an operand of an instruction that hands operands to helpers through memory
//!   (of a call with a few fixed arguments, none: the arguments are stored past the
//!   frame, where the callee's frame or the collector's conservative scan past the
//!   frames covers them, the callee is stored to its slot on the way through the host
//!   only, and the collector marks the closure of every frame);
//! - it is a `val` live into a loop header: every edge into one is a safepoint (typed
//!   values hold no references, so the collector does not need them).
//!
//! A failing guard stores the values its snapshot names on its own (cold) path, so
//! guards frame nothing.
//!
//! Runtime calls with up to three fixed operands pass them in registers (the helper
//! keeps them on its own, scanned, stack), so their operands are framed only if they
//! stay live after the call. Every other value lives in registers only; its slot may
//! hold a stale value of an earlier, dead occupant, which the collector's validated
//! marking tolerates.

use lazyjit_ir::interp::Proto;
use lazyjit_ir::liveness::BitSet;
use lazyjit_ir::{Block, InstData, Opcode, Type};

use super::MAX_STAGED;

/// The framed values of `proto`'s function, indexed by value.
pub(crate) fn framed_values(proto: &Proto) -> BitSet {
    let f = &proto.mir;
    let liveness = proto.liveness();
    let mut framed = BitSet::new(f.values.len());
    let held = proto.references();
    for (bi, block) in f.blocks.iter().enumerate() {
        let Some(out) = liveness.live_out(Block(bi as u32)) else { continue };
        let mut live = out.clone();
        for &inst in block.insts.iter().rev() {
            let node = &f.insts[inst.index()];
            // `live` holds the values live after `inst`.
            for s in node.data.successors() {
                let target = &f.blocks[s.block.index()];
                if target.loop_header {
                    let live = liveness.live_before(f, s.block, 0);
                    for v in live.iter().chain(target.params.iter().map(|p| p.index())) {
                        if f.values[v].ty == Type::Val {
                            framed.insert(v);
                        }
                    }
                }
            }
            for r in &node.results {
                live.remove(r.index());
            }
            let point = safepoint(&node.data);
            if !matches!(point, Safepoint::No) {
                live.iter().filter(|&v| held.contains(v)).for_each(|v| framed.insert(v));
            }
            if matches!(point, Safepoint::WithOperandsInMemory) {
                node.data.for_each_operand(|v| framed.insert(v.index()));
            }
            node.data.for_each_operand(|v| live.insert(v.index()));
        }
    }
    framed
}

/// The back edges (latch, header) of `proto`'s loops whose trips reach no safepoint:
/// every instruction of every block of the loop is one that calls nothing that could
/// collect (no allocation, no call, no runtime call). Such a back edge needs no
/// collection (nothing allocated since the loop was entered) and tests only for an
/// interrupt, leaving the loop when there is one, so that no call sits on the cycle
/// and LLVM may keep what the loop reads in registers. Mapped to `true` when the loop
/// needs no test even for an interrupt: its trips are bounded by the length of an
/// array ([`lazyjit_passes::bce::bounded_by_an_array`]), so it ends within one pass
/// over memory, and with no exit to an interrupt on its cycle LLVM may vectorize it.
pub(crate) fn quiet_back_edges(proto: &Proto) -> std::collections::HashMap<(u32, u32), bool> {
    let f = &proto.mir;
    let dom = lazyjit_ir::dominators::DominatorTree::compute(f);
    let forest = lazyjit_ir::loops::LoopForest::compute(f, &dom);
    let mut quiet = std::collections::HashMap::new();
    for l in forest.loops() {
        let calls_out = l.blocks.iter().any(|b| {
            f.blocks[b.index()].insts.iter().any(|&i| !matches!(safepoint(&f.insts[i.index()].data), Safepoint::No))
        });
        if !calls_out && f.blocks[l.header.index()].loop_header {
            let bounded = lazyjit_passes::bce::bounded_by_an_array(f, &dom, l);
            quiet.extend(l.latches.iter().map(|latch| ((latch.0, l.header.0), bounded)));
        }
    }
    quiet
}

/// Whether an instruction may reach a safepoint, and how its operands reach helpers.
enum Safepoint {
    /// It never calls a helper that allocates, runs Lua code or reads the frame.
    No,
    /// A runtime call whose operands travel in registers.
    AfterOperandsInRegisters,
    /// A call whose arguments are stored past the frame (`Lowerer::stage_args`), where
    /// the callee's frame or the collector's scan of the stack past the frames covers
    /// them; the way through the host stores the callee to its slot itself.
    CallWithStagedArgs,
    /// Anything else that calls out: operands may be read from their slots.
    WithOperandsInMemory,
}

fn safepoint(data: &InstData) -> Safepoint {
    match data.opcode() {
        Opcode::Const
        | Opcode::Iconst
        | Opcode::Fconst
        | Opcode::Bconst
        | Opcode::BoxInt
        | Opcode::BoxFloat
        | Opcode::BoxBool
        | Opcode::UnboxInt
        | Opcode::UnboxFloat
        | Opcode::UnboxBool
        | Opcode::Truthy
        | Opcode::Tag
        | Opcode::Iadd
        | Opcode::Isub
        | Opcode::Imul
        | Opcode::Imod
        | Opcode::Ineg
        | Opcode::IcmpEq
        | Opcode::IcmpNe
        | Opcode::IcmpLt
        | Opcode::IcmpLe
        | Opcode::Fadd
        | Opcode::Fsub
        | Opcode::Fmul
        | Opcode::Fdiv
        | Opcode::Fneg
        | Opcode::Fsqrt
        | Opcode::FcmpEq
        | Opcode::FcmpLt
        | Opcode::FcmpLe
        | Opcode::IntToFloat
        | Opcode::Not
        | Opcode::CellGet
        | Opcode::CellSet
        | Opcode::ArrLen
        | Opcode::ArrGet
        | Opcode::ArrSet
        | Opcode::ArrPush
        | Opcode::ArrPushInt
        | Opcode::ArrPushFloat
        | Opcode::ArrGetBool
        | Opcode::ArrSetBool
        | Opcode::ArrPushBool
        | Opcode::ArrGetInt
        | Opcode::ArrGetFloat
        | Opcode::ArrSetInt
        | Opcode::ArrSetFloat
        | Opcode::MetaNil
        | Opcode::HashGet
        | Opcode::HashSet
        // Inline, or a helper that neither allocates nor reads the frame.
        | Opcode::HashFind
        // A helper that allocates no object (the array part only) nor reads the frame.
        | Opcode::ArrReserve
        // Inline, or a helper that only reads the closure or the VM.
        | Opcode::Upval
        | Opcode::ClosureCell
        | Opcode::IsFn
        | Opcode::Globals
        | Opcode::Jump
        | Opcode::Brif
        | Opcode::Guard
        | Opcode::GuardTag
        // Inline, or a helper that only reads the table.
        | Opcode::GuardElems
        | Opcode::GuardFn
        | Opcode::GuardNative => Safepoint::No,
        // Small returns copy from registers to the frame's base; others stage a pack.
        Opcode::Return => match data {
            InstData::Return { args, spread: false, .. } if args.len() <= MAX_STAGED => Safepoint::No,
            _ => Safepoint::WithOperandsInMemory,
        },
        Opcode::Call | Opcode::CallPack => match data {
            InstData::Call { args, spread: false, .. } if args.len() <= MAX_STAGED => Safepoint::CallWithStagedArgs,
            _ => Safepoint::WithOperandsInMemory,
        },
        Opcode::RtCall => match data {
            InstData::RtCall { args, spread: false, .. } if args.len() <= 3 => {
                Safepoint::AfterOperandsInRegisters
            }
            _ => Safepoint::WithOperandsInMemory,
        },
        _ => Safepoint::WithOperandsInMemory,
    }
}

#[cfg(test)]
mod tests {
    use lazyjit_ir::ops::{Format, Results};
    use lazyjit_ir::{InstData, Opcode, Type, Value};

    use super::{safepoint, Safepoint};

    /// A pure operation on typed operands that makes no pack is computed inline: it
    /// reaches no safepoint, so its operands need no slots and a loop of such
    /// operations polls only for an interrupt on its back edge.
    #[test]
    fn pure_operations_on_typed_values_are_no_safepoints() {
        let v = Value::new(0);
        for &op in Opcode::ALL {
            let typed = op.operand_types().iter().all(|t| matches!(t, Type::I64 | Type::F64 | Type::I1));
            if !op.is_pure() || !typed || op.results() == Results::One(Type::Pack) {
                continue;
            }
            let data = match op.format() {
                Format::Nullary => InstData::Nullary { op },
                Format::NullaryImm => InstData::NullaryImm { op, imm: 0 },
                Format::Unary => InstData::Unary { op, arg: v },
                Format::UnaryImm => InstData::UnaryImm { op, arg: v, imm: 0 },
                Format::Binary => InstData::Binary { op, args: [v, v] },
                Format::Ternary => InstData::Ternary { op, args: [v, v, v] },
                Format::Const => InstData::Const { op, imm: lazyjit_ir::Const::Int(0) },
                other => panic!("{}: a pure operation of format {other:?}", op.mnemonic()),
            };
            assert!(matches!(safepoint(&data), Safepoint::No), "{} is taken for a safepoint", op.mnemonic());
        }
    }
}
