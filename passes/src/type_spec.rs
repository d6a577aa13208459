//! Type speculation: a runtime call whose operands' types the profile knows becomes
//! guarded typed code.
//!
//! Generic MIR does every dynamic operation with a runtime call (`rtcall @lua.add`),
//! and the frontend declares, for each runtime function, what it amounts to on operands
//! of given types: *fast paths* (`lua.add` on two ints is `iadd`) and *float
//! promotion* (`lua.add` on an int and a float is `fadd` of the converted operands).
//! The framework knows nothing of Lua; it only reads those declarations. The profile
//! says which tags each operand of each site has had. Where every operand has always
//! had one tag, and a declaration covers that combination, the call becomes
//!
//! ```text
//! guard.tag a, int, snapN        ; deoptimize unless the profile's guess holds
//! guard.tag b, int, snapN
//! x = unbox.int a
//! y = unbox.int b
//! r = iadd x, y
//! v = box.int r                  ; the call's own result value, rewritten in place
//! ```
//!
//! The call instruction is rewritten in place into the box (or, for a function whose
//! declared result is already the typed op's result, such as a comparison returning
//! `i1`, into the op itself), so its result keeps its number and no use changes.
//! `box_elim` then removes the box/unbox pairs this leaves between operations.
//!
//! Every guard has a snapshot that resumes the generic function *at the call*, with
//! every generic value live there: a failing guard rebuilds the generic frame and the
//! interpreter performs the call itself, so nothing is lost. The guards of one call
//! share its snapshot.
//!
//! A call (`call`, `call.pack`, `tailcall`) whose callee has always been a closure of
//! one function of the module (the profile's call target) gets a guard on it:
//!
//! ```text
//! guard.fn v4, fn2, snap1        ; deoptimize unless v4 is a closure of fn2
//! v5 = call v4(v3)
//! ```
//!
//! so that the call's target is known in the code after it (a hot global function that
//! is replaced, or a method found through another metatable, deoptimizes). The call
//! itself stays a call through the callee's dispatch slot.
//!
//! It does not fire where:
//! - the site never ran, an operand has had more than one tag, or no declaration
//!   covers the tags seen (a polymorphic site stays a runtime call); a call whose
//!   callees were closures of different functions, or anything else;
//! - a speculation on the site deoptimized before (the profile marks the site failed:
//!   guessing again would deoptimize again);
//! - the call spreads a pack or has more than two operands, or has no site;
//! - the function already has snapshots: speculation starts from generic MIR, whose
//!   positions are the resume points (a second run of the pass changes nothing).

use lazyjit_ir::interp::RtEntry;
use lazyjit_ir::liveness::Liveness;
use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Block, Function, Inst, InstData, Opcode, ResumeAt, SnapId, SnapSource, Snapshot, Type, Value};

use crate::edit::{make1, unboxed};
use crate::{Context, Pass, PassReport};

/// The type speculation pass (`type_spec`).
pub struct TypeSpec;

/// How a speculated call computes its result.
struct Plan {
    /// The operand tags the guards check.
    tags: Vec<Tag>,
    /// The typed op.
    op: Opcode,
    /// Convert integer operands to float first (float promotion).
    promote: bool,
}

fn box_op(ty: Type) -> Option<Opcode> {
    Some(match ty {
        Type::I64 => Opcode::BoxInt,
        Type::F64 => Opcode::BoxFloat,
        Type::I1 => Opcode::BoxBool,
        _ => return None,
    })
}

fn result_type(op: Opcode) -> Option<Type> {
    match op.results() {
        lazyjit_ir::Results::One(t) => Some(t),
        _ => None,
    }
}

/// What a call of `entry` on operands of `tags` can become, if anything.
fn plan(entry: &RtEntry, tags: &[Tag]) -> Option<Plan> {
    let unary = tags.len() == 1;
    let fast = entry
        .fast_paths
        .iter()
        .find(|p| p.tags[0] == tags[0] && (unary || p.tags[1] == tags[1]));
    if let Some(p) = fast {
        return Some(Plan { tags: tags.to_vec(), op: p.op, promote: false });
    }
    let promotion = entry.promotion?;
    let number = |t: &Tag| matches!(t, Tag::Int | Tag::Float);
    if tags.len() == 2 && tags.iter().all(number) && (promotion.ints_too || tags.contains(&Tag::Float)) {
        return Some(Plan { tags: tags.to_vec(), op: promotion.op, promote: true });
    }
    None
}

impl Pass for TypeSpec {
    fn run(&self, cx: &Context, f: &mut Function) -> PassReport {
        let Some(profile) = cx.profile else { return PassReport::default() };
        if !f.snapshots.is_empty() {
            return PassReport::default();
        }
        let liveness = Liveness::compute(f);
        let (mut calls, mut guards, mut targets) = (0u64, 0u64, 0u64);
        // A snapshot resuming the generic function at instruction `k` of `block`.
        let snapshot_at = |f: &mut Function, block: Block, k: usize| {
            let snap = SnapId::new(f.snapshots.len());
            let live = liveness.live_before(f, block, k);
            f.snapshots.push(Snapshot {
                resume: ResumeAt { block, index: k as u32 },
                entries: live.iter().map(|v| (cx.generic_value(Value::new(v)), SnapSource::Value(Value::new(v)))).collect(),
            });
            snap
        };
        for bi in 0..f.blocks.len() {
            let block = Block::new(bi);
            let original = f.blocks[bi].insts.clone();
            let mut insts: Vec<Inst> = Vec::with_capacity(original.len());
            for (k, &inst) in original.iter().enumerate() {
                let node = &f.insts[inst.index()];
                if let InstData::Call { callee, site: Some(site), .. } = &node.data {
                    // A call that always called closures of one function of the module.
                    let seen = profile.site(site.index() as u32).filter(|s| !s.failed);
                    if let Some(n) = seen.and_then(|s| s.callee) {
                        let (callee, debug) = (*callee, node.debug);
                        let snap = snapshot_at(f, block, k);
                        let guard = InstData::Guard { op: Opcode::GuardFn, arg: callee, imm: n as i64, snap };
                        insts.push(make1(f, guard, debug).0);
                        guards += 1;
                        targets += 1;
                    }
                    insts.push(inst);
                    continue;
                }
                let InstData::RtCall { rt, args, spread: false, site: Some(site), .. } = &node.data else {
                    insts.push(inst);
                    continue;
                };
                let (Some(entry), Some(seen)) = (cx.runtime.get(rt.index()), profile.site(site.index() as u32)) else {
                    insts.push(inst);
                    continue;
                };
                let tags: Option<Vec<Tag>> = (0..args.len()).map(|i| seen.only_tag(i)).collect();
                let plan = match tags {
                    Some(tags) if (1..=2).contains(&args.len()) && !seen.failed => plan(entry, &tags),
                    _ => None,
                };
                let Some(plan) = plan else {
                    insts.push(inst);
                    continue;
                };
                let (args, debug, result) = (args.clone(), node.debug, node.results[0]);
                let result_ty = f.value_type(result);
                let Some(op_ty) = result_type(plan.op) else {
                    insts.push(inst);
                    continue;
                };
                // The call's result becomes the op's (same type) or a box of it.
                let boxed = if result_ty == op_ty {
                    false
                } else if result_ty == Type::Val && box_op(op_ty).is_some() {
                    true
                } else {
                    insts.push(inst);
                    continue;
                };
                let snap = snapshot_at(f, block, k);
                let mut place = |f: &mut Function, data: InstData| {
                    let (i, r) = make1(f, data, debug);
                    insts.push(i);
                    r
                };
                let mut operands = Vec::with_capacity(args.len());
                for (&a, &tag) in args.iter().zip(&plan.tags) {
                    place(f, InstData::Guard { op: Opcode::GuardTag, arg: a, imm: tag as i64, snap });
                    guards += 1;
                    let (_, _, unbox) = unboxed(tag).expect("fast paths and promotion take ints, floats or booleans");
                    let mut x = place(f, InstData::Unary { op: unbox, arg: a }).expect("an unbox has a result");
                    if plan.promote && tag == Tag::Int {
                        x = place(f, InstData::Unary { op: Opcode::IntToFloat, arg: x }).expect("i2f has a result");
                    }
                    operands.push(x);
                }
                let typed = |op: Opcode, operands: &[Value]| match operands {
                    [a] => InstData::Unary { op, arg: *a },
                    [a, b] => InstData::Binary { op, args: [*a, *b] },
                    _ => unreachable!("one or two operands"),
                };
                if boxed {
                    let r = place(f, typed(plan.op, &operands)).expect("a typed op has a result");
                    let op = box_op(op_ty).expect("checked above");
                    f.insts[inst.index()].data = InstData::Unary { op, arg: r };
                } else {
                    f.insts[inst.index()].data = typed(plan.op, &operands);
                }
                insts.push(inst);
                calls += 1;
            }
            f.blocks[bi].insts = insts;
        }
        PassReport {
            changed: calls + targets > 0,
            counts: vec![("calls speculated", calls), ("call targets guarded", targets), ("guards inserted", guards)],
        }
    }
}
