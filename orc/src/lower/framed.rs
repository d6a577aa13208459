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
use lazyjit_ir::{Block, Const, Function, InstData, Opcode, Type, Value, ValueDef};

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
/// array ([`bounded_by_an_array`]), so it ends within one pass over memory, and with
/// no exit to an interrupt on its cycle LLVM may vectorize it.
pub(crate) fn quiet_back_edges(proto: &Proto) -> std::collections::HashMap<(u32, u32), bool> {
    let f = &proto.mir;
    let dom = lazyjit_ir::dominators::DominatorTree::compute(f);
    let forest = lazyjit_ir::loops::LoopForest::compute(f, &dom);
    let mut quiet = std::collections::HashMap::new();
    let mut block_of = vec![None; f.insts.len()];
    for (b, block) in f.blocks.iter().enumerate() {
        for &i in &block.insts {
            block_of[i.index()] = Some(b as u32);
        }
    }
    for l in forest.loops() {
        let calls_out = l.blocks.iter().any(|b| {
            f.blocks[b.index()].insts.iter().any(|&i| !matches!(safepoint(&f.insts[i.index()].data), Safepoint::No))
        });
        if !calls_out && f.blocks[l.header.index()].loop_header {
            let bounded = bounded_by_an_array(f, l, &dom, &block_of);
            quiet.extend(l.latches.iter().map(|latch| ((latch.0, l.header.0), bounded)));
        }
    }
    quiet
}

/// The largest step of an induction variable [`bounded_by_an_array`] accepts.
const BOUNDED_STEP: i64 = 1 << 32;

/// Whether every trip of loop `l` reads or writes an element of the array part of one
/// table (defined before the loop) at an induction variable, or that plus a constant,
/// that every back edge moves by the same nonzero constant (at most
/// [`BOUNDED_STEP`]): `arr.get` and `arr.set` are within the array part, and each trip
/// accesses another element of it, so the loop makes at most as many trips as the
/// array has elements before it leaves (or a guard fails): the part's length is at
/// most its capacity, which nothing in a quiet loop but `arr.reserve` changes (such a
/// loop is not bounded). (Its index could come back
/// to one it had only by wrapping around through 2^64 / step values, all past any
/// array part memory can hold.)
fn bounded_by_an_array(f: &Function, l: &lazyjit_ir::loops::Loop, dom: &lazyjit_ir::dominators::DominatorTree, block_of: &[Option<u32>]) -> bool {
    let def_inst = |v: Value| match f.values.get(v.index())?.def {
        ValueDef::Result(i, 0) => Some(&f.insts[i.index()].data),
        _ => None,
    };
    let iconst = |v: Value| match def_inst(v)? {
        InstData::Const { op: Opcode::Iconst, imm: Const::Int(c) } => Some(*c),
        _ => None,
    };
    let outside = |v: Value| match f.values.get(v.index()).map(|d| d.def) {
        Some(ValueDef::Result(i, _)) => block_of[i.index()].is_some_and(|b| !l.contains(Block::new(b as usize))),
        Some(ValueDef::Param(b, _)) => !l.contains(b),
        None => false,
    };
    // Header parameters every back edge moves by one nonzero constant.
    let params = &f.blocks[l.header.index()].params;
    let stepping = |j: usize| {
        let param = params[j];
        let mut step = None;
        for &latch in &l.latches {
            let Some(term) = f.terminator(latch) else { return false };
            for dest in f.insts[term.index()].data.successors().iter().filter(|d| d.block == l.header) {
                let s = match dest.args.get(j).and_then(|&a| def_inst(a)) {
                    Some(InstData::Binary { op: Opcode::Iadd, args: [a, b] }) if *a == param => iconst(*b),
                    Some(InstData::Binary { op: Opcode::Iadd, args: [a, b] }) if *b == param => iconst(*a),
                    Some(InstData::Binary { op: Opcode::Isub, args: [a, b] }) if *a == param => iconst(*b).and_then(i64::checked_neg),
                    _ => None,
                };
                match s {
                    Some(s) if s != 0 && s.abs() <= BOUNDED_STEP && step.is_none_or(|t| t == s) => step = Some(s),
                    _ => return false,
                }
            }
        }
        step.is_some()
    };
    let moving = |v: Value| {
        let v = match def_inst(v) {
            Some(InstData::Binary { op: Opcode::Iadd, args: [a, b] }) if iconst(*b).is_some() => *a,
            Some(InstData::Binary { op: Opcode::Iadd, args: [a, b] }) if iconst(*a).is_some() => *b,
            _ => v,
        };
        params.iter().position(|&p| p == v).is_some_and(stepping)
    };
    // (A loop that reserves room could grow the part as it goes.)
    let grows = l.blocks.iter().any(|b| f.blocks[b.index()].insts.iter().any(|&i| f.insts[i.index()].data.opcode() == Opcode::ArrReserve));
    !grows && l.blocks.iter().filter(|&&b| l.latches.iter().all(|&latch| dom.dominates(b, latch))).any(|&b| {
        f.blocks[b.index()].insts.iter().any(|&i| match f.insts[i.index()].data {
            InstData::Binary {
                op: Opcode::ArrGet | Opcode::ArrGetInt | Opcode::ArrGetFloat | Opcode::ArrGetBool,
                args: [t, k],
            }
            | InstData::Ternary {
                op: Opcode::ArrSet | Opcode::ArrSetInt | Opcode::ArrSetFloat | Opcode::ArrSetBool,
                args: [t, k, _],
            } => outside(t) && moving(k),
            _ => false,
        })
    })
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

    /// Loops whose every trip accesses another element of one array end within a pass
    /// over it; loops that may not are left their interrupt test.
    #[test]
    fn loops_bounded_by_an_array_are_told_apart() {
        // Each function: one loop at block1 (latch block2 or block1 itself), table v0.
        let cases = [
            // Every trip reads t[i], i up by 1: bounded.
            ("bounded_read", "block1(v2: i64) loop:\n    v3 = arr.get.int v0, v2\n    v4 = iadd v2, v1\n    jump block1(v4)", true),
            // t[i + 1] with i down by 3 (`isub`), stored to: bounded.
            ("offset_write", "block1(v2: i64) loop:\n    v3 = iadd v2, v1\n    arr.set v0, v3, v0\n    v4 = iconst 3\n    v5 = isub v2, v4\n    jump block1(v5)", true),
            // The index does not move.
            ("same_index", "block1(v2: i64) loop:\n    v3 = arr.get v0, v1\n    v4 = iadd v2, v1\n    jump block1(v4)", false),
            // Not every trip reaches the access.
            ("sometimes", "block1(v2: i64) loop:\n    v3 = icmp.lt v2, v1\n    brif v3, block2, block3\nblock2:\n    v4 = arr.get v0, v2\n    jump block3\nblock3:\n    v5 = iadd v2, v1\n    jump block1(v5)", false),
            // A table of the loop's own (another one each trip, maybe).
            ("own_table", "block1(v2: i64, v3: val) loop:\n    v4 = arr.get v3, v2\n    v5 = iadd v2, v1\n    jump block1(v5, v4)", false),
            // Room reserved as it goes: the part may grow.
            ("reserving", "block1(v2: i64) loop:\n    v3 = arr.get v0, v2\n    arr.reserve v0, v2\n    v4 = iadd v2, v1\n    jump block1(v4)", false),
        ];
        for (name, body, want) in cases {
            let args = if body.contains("v3: val") { "v1, v0" } else { "v1" };
            let src = format!(
                "module \"m\"\n\nfunction fn0 \"{name}\" (params 1, upvals 0, sites 0, line 0) {{\nblock0(v0: val):\n    v1 = iconst 1\n    jump block1({args})\n{body}\n}}\n"
            );
            let module = lazyjit_ir::text::parse_module(&src).unwrap_or_else(|e| panic!("{name}: {e}\n{src}"));
            let f = &module.functions[0];
            let dom = lazyjit_ir::dominators::DominatorTree::compute(f);
            let forest = lazyjit_ir::loops::LoopForest::compute(f, &dom);
            let mut block_of = vec![None; f.insts.len()];
            for (b, block) in f.blocks.iter().enumerate() {
                for &i in &block.insts {
                    block_of[i.index()] = Some(b as u32);
                }
            }
            let [l] = forest.loops() else { panic!("{name}: one loop") };
            assert_eq!(super::bounded_by_an_array(f, l, &dom, &block_of), want, "{name}");
        }
    }
}
