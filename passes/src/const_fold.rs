//! Constant folding: an operation whose operands are all constants becomes a constant.
//!
//! The pass walks the blocks in reverse postorder, so a value's definition is seen
//! before the uses it dominates, and keeps the constant each value is known to hold.
//! A pure typed operation (integer and float arithmetic and comparisons, `i2f`, `not`),
//! a box of a constant, an unbox of a constant of the unboxed type, `truthy` and `tag`
//! of a constant, is rewritten *in place* into the constant instruction of its result
//! type (`iconst`, `fconst`, `bconst`, or `const` for a boxed value): the result value
//! keeps its number, so no use needs rewriting, and the operands' own definitions are
//! left for `dce`. A `brif` on a constant condition becomes a `jump` to the target it
//! would take (with that edge's arguments); the other target may become unreachable.
//! A `guard` on a condition known to hold checks nothing and goes (one known to fail
//! stays: it deoptimizes every time, which is what it is for). A snapshot entry that
//! reads a constant names the constant instead: the guard's exit then keeps nothing
//! for it (deoptimization makes the value from the snapshot).
//!
//! Folding computes exactly what the interpreter would at run time: integer arithmetic
//! wraps, comparisons are signed, float arithmetic is the host's IEEE arithmetic. A
//! float operation whose result is a NaN is left alone: the sign and payload of the NaN
//! the hardware produces (x86 gives `-nan` for `0.0/0.0`, which Lua programs print) are
//! what a program sees, and keeping the operation keeps that decision at run time.
//!
//! It does not fold runtime calls (`rtcall`): what they compute is the frontend's
//! business; the frontend-declared fast paths are for `type_spec` to use.

use lazyjit_ir::dominators::DominatorTree;
use lazyjit_ir::{Const, Function, InstData, Opcode, SnapSource, Value};

use crate::{Pass, PassReport};

/// The constant-folding pass (`const_fold`).
pub struct ConstFold;

/// The folded form of `op` on constant operands: the constant op and its immediate.
fn fold(op: Opcode, args: &[&Const]) -> Option<(Opcode, Const)> {
    use Const::{Bool, Float, Int};
    let float = |x: f64| (!x.is_nan()).then_some((Opcode::Fconst, Float(x)));
    let int = |i: i64| Some((Opcode::Iconst, Int(i)));
    let bool = |b: bool| Some((Opcode::Bconst, Bool(b)));
    match (op, args) {
        (Opcode::BoxInt, [Int(i)]) => Some((Opcode::Const, Int(*i))),
        (Opcode::BoxFloat, [Float(x)]) => Some((Opcode::Const, Float(*x))),
        (Opcode::BoxBool, [Bool(b)]) => Some((Opcode::Const, Bool(*b))),
        (Opcode::UnboxInt, [Int(i)]) => int(*i),
        (Opcode::UnboxFloat, [Float(x)]) => float(*x),
        (Opcode::UnboxBool, [Bool(b)]) => bool(*b),
        (Opcode::Truthy, [c]) => bool(!matches!(c, Const::Nil | Bool(false))),
        (Opcode::Tag, [c]) => int(c.tag() as i64),
        (Opcode::Ineg, [Int(i)]) => int(i.wrapping_neg()),
        (Opcode::Fneg, [Float(x)]) => float(-x),
        (Opcode::Fsqrt, [Float(x)]) => float(x.sqrt()),
        (Opcode::IntToFloat, [Int(i)]) => float(*i as f64),
        (Opcode::Not, [Bool(b)]) => bool(!b),
        (Opcode::Iadd, [Int(a), Int(b)]) => int(a.wrapping_add(*b)),
        (Opcode::Isub, [Int(a), Int(b)]) => int(a.wrapping_sub(*b)),
        (Opcode::Imul, [Int(a), Int(b)]) => int(a.wrapping_mul(*b)),
        (Opcode::Imod, [Int(a), Int(b)]) => int(Opcode::imod(*a, *b)),
        (Opcode::IcmpEq, [Int(a), Int(b)]) => bool(a == b),
        (Opcode::IcmpNe, [Int(a), Int(b)]) => bool(a != b),
        (Opcode::IcmpLt, [Int(a), Int(b)]) => bool(a < b),
        (Opcode::IcmpLe, [Int(a), Int(b)]) => bool(a <= b),
        (Opcode::Fadd, [Float(a), Float(b)]) => float(a + b),
        (Opcode::Fsub, [Float(a), Float(b)]) => float(a - b),
        (Opcode::Fmul, [Float(a), Float(b)]) => float(a * b),
        (Opcode::Fdiv, [Float(a), Float(b)]) => float(a / b),
        (Opcode::FcmpEq, [Float(a), Float(b)]) => bool(a == b),
        (Opcode::FcmpLt, [Float(a), Float(b)]) => bool(a < b),
        (Opcode::FcmpLe, [Float(a), Float(b)]) => bool(a <= b),
        _ => None,
    }
}

impl Pass for ConstFold {
    fn run(&self, _cx: &crate::Context, f: &mut Function) -> PassReport {
        let mut known: Vec<Option<Const>> = vec![None; f.values.len()];
        let (mut folded, mut branches, mut guards) = (0u64, 0u64, 0u64);
        let mut dead = vec![false; f.insts.len()];
        let order: Vec<_> = DominatorTree::compute(f).reverse_postorder().to_vec();
        for block in order {
            for k in 0..f.blocks[block.index()].insts.len() {
                let inst = f.blocks[block.index()].insts[k];
                let node = &f.insts[inst.index()];
                let get = |v: &Value| known[v.index()].as_ref();
                let replacement = match &node.data {
                    InstData::Const { imm, .. } => {
                        if let Some(&r) = node.results.first() {
                            known[r.index()] = Some(*imm);
                        }
                        continue;
                    }
                    InstData::Unary { op, arg } => get(arg).and_then(|a| fold(*op, &[a])).map(|(op, imm)| InstData::Const { op, imm }),
                    InstData::Binary { op, args } => match (get(&args[0]), get(&args[1])) {
                        (Some(a), Some(b)) => fold(*op, &[a, b]).map(|(op, imm)| InstData::Const { op, imm }),
                        _ => None,
                    },
                    InstData::Guard { op: Opcode::Guard, arg, .. } => {
                        if let Some(Const::Bool(true)) = get(arg) {
                            dead[inst.index()] = true;
                            guards += 1;
                        }
                        continue;
                    }
                    InstData::Brif { cond, then_dest, else_dest, .. } => match get(cond) {
                        Some(Const::Bool(c)) => {
                            branches += 1;
                            let dest = if *c { then_dest.clone() } else { else_dest.clone() };
                            Some(InstData::Jump { op: Opcode::Jump, dest })
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let Some(data) = replacement else { continue };
                if let (InstData::Const { imm, .. }, Some(&r)) = (&data, f.insts[inst.index()].results.first()) {
                    known[r.index()] = Some(*imm);
                    folded += 1;
                }
                f.insts[inst.index()].data = data;
            }
        }
        if guards > 0 {
            for block in &mut f.blocks {
                block.insts.retain(|i| !dead[i.index()]);
            }
        }
        // A snapshot names a constant itself: nothing to keep for it at the guard.
        let mut entries = 0u64;
        for snap in &mut f.snapshots {
            for (_, src) in &mut snap.entries {
                if let SnapSource::Value(v) = *src {
                    if let Some(c) = known[v.index()] {
                        *src = SnapSource::Const(c);
                        entries += 1;
                    }
                }
            }
        }
        PassReport {
            changed: folded + branches + guards + entries > 0,
            counts: vec![
                ("instructions folded", folded),
                ("branches folded", branches),
                ("guards removed", guards),
                ("snapshot entries made constants", entries),
            ],
        }
    }
}
