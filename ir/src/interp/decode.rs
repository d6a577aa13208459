//! Decoding a MIR function into the interpreter's operand form.
//!
//! Every value gets a frame slot, except that `box.*`/`unbox.*` results share their
//! operand's slot: in the interpreter a typed value already lives in a slot as a boxed
//! value of the matching tag, so these are copies, and in SSA a value and its copy can
//! share storage (the copy is recomputed before any use once the original changes). They
//! then cost nothing at run time.
//!
//! Operations become [`Op`]s with slot operands and bound runtime functions. A compare
//! (typed, `truthy`, or a runtime call with fast paths returning `i1`) whose only use is
//! the `brif` right after it becomes one compare-and-branch op; the plain `brif` is still
//! emitted after it so that resuming exactly at the `brif` works.
//!
//! `inst_pc` maps every instruction to the op where executing it starts, which is how a
//! snapshot's resume point becomes a place to continue.

use super::proto::{ArithKind, BrCmpIFOp, BrRtOp, CallOp, CmpStepOp, FastPaths, Op, RtCallOp, Target};
use crate::rt::Tag;
use super::vm::RtEntry;
use crate::entity::{Block, Value};
use crate::function::{BlockCall, Const, DebugInfo, Function, InstData};
use crate::ops::Opcode;
use crate::rt::Val;
use crate::types::Type;

/// A decoded function.
pub(super) struct Decoded {
    pub code: Box<[Op]>,
    pub debug: Box<[DebugInfo]>,
    pub inst_pc: Box<[u32]>,
    pub slot_of: Box<[u32]>,
    pub nslots: u32,
    pub moves: Box<[(u32, u32)]>,
    /// The MIR instruction (block, index in block) each op came from.
    pub origin: Box<[(u32, u32)]>,
}

fn is_copy(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::BoxInt | Opcode::BoxFloat | Opcode::BoxBool | Opcode::UnboxInt | Opcode::UnboxFloat | Opcode::UnboxBool
    )
}

/// Slots: parameters first (arguments land in place), the vararg pack next, then every
/// value that is not a copy of another; copies take their source's slot.
fn assign_slots(f: &Function) -> (Box<[u32]>, u32) {
    let n = f.values.len();
    let mut copy_of: Vec<Option<Value>> = vec![None; n];
    for b in &f.blocks {
        for &inst in &b.insts {
            let node = &f.insts[inst.index()];
            if let InstData::Unary { op, arg } = node.data {
                if is_copy(op) {
                    if let Some(&r) = node.results.first() {
                        copy_of[r.index()] = Some(arg);
                    }
                }
            }
        }
    }
    let root = |mut v: Value| {
        let mut steps = 0;
        while let Some(src) = copy_of[v.index()] {
            v = src;
            steps += 1;
            if steps > n {
                break; // a copy cycle cannot come from valid SSA; stop anyway
            }
        }
        v
    };
    let mut slot_of = vec![u32::MAX; n];
    let mut next = 0u32;
    if let Some(entry) = f.blocks.first() {
        for &p in &entry.params {
            slot_of[p.index()] = next;
            next += 1;
        }
    }
    next = next.max(f.params);
    if f.vararg {
        next += 1;
    }
    for v in 0..n {
        let r = root(Value::new(v));
        if slot_of[r.index()] == u32::MAX {
            slot_of[r.index()] = next;
            next += 1;
        }
        slot_of[v] = slot_of[r.index()];
    }
    (slot_of.into_boxed_slice(), next)
}

fn use_counts(f: &Function) -> Vec<u32> {
    let mut uses = vec![0u32; f.values.len()];
    for b in &f.blocks {
        for &inst in &b.insts {
            f.insts[inst.index()].data.for_each_operand(|v| uses[v.index()] += 1);
        }
    }
    for snap in &f.snapshots {
        for (_, src) in &snap.entries {
            if let crate::function::SnapSource::Value(v) = src {
                uses[v.index()] += 1;
            }
        }
    }
    uses
}

/// The runtime value of a constant.
pub fn const_val(c: Const, consts: &[Val]) -> Val {
    match c {
        Const::Nil => Val::NIL,
        Const::Bool(b) => Val::bool(b),
        Const::Int(i) => Val::int(i),
        Const::Float(x) => Val::float(x),
        Const::Str(s) => consts[s.index()],
    }
}

struct Decoder<'a> {
    f: &'a Function,
    bound: &'a [RtEntry],
    consts: &'a [Val],
    slot_of: Box<[u32]>,
    code: Vec<Op>,
    debug: Vec<DebugInfo>,
    moves: Vec<(u32, u32)>,
    origin: Vec<(u32, u32)>,
    at: (u32, u32),
    /// Number of branch edges into each block.
    preds: Vec<u32>,
}

impl Decoder<'_> {
    fn slot(&self, v: Value) -> u32 {
        self.slot_of[v.index()]
    }

    fn slots(&self, vs: &[Value]) -> Box<[u32]> {
        vs.iter().map(|&v| self.slot(v)).collect()
    }

    /// A branch target; `pc` holds the block number until every block's position is known.
    fn target(&mut self, bc: &BlockCall) -> Target {
        let params = &self.f.blocks[bc.block.index()].params;
        let start = self.moves.len();
        // A parameter passed its own slot needs no move.
        for (&a, &p) in bc.args.iter().zip(params) {
            let (from, to) = (self.slot(a), self.slot(p));
            if from != to {
                self.moves.push((from, to));
            }
        }
        let moves = &self.moves[start..];
        let overlapping = moves.iter().any(|&(from, _)| moves.iter().any(|&(_, to)| to == from));
        Target {
            pc: bc.block.0,
            moves: start as u32,
            nmoves: moves.len() as u16,
            overlapping,
            loop_header: self.f.blocks[bc.block.index()].loop_header,
        }
    }

    /// The integer/float pair shape of a runtime function's fast paths, if it has it.
    fn int_float(e: &RtEntry) -> Option<ArithKind> {
        match e.fast_paths.as_slice() {
            [i, f] if i.tags == [Tag::Int, Tag::Int] && f.tags == [Tag::Float, Tag::Float] => ArithKind::of(i.op, f.op),
            _ => None,
        }
    }

    fn paths(e: &RtEntry) -> Option<FastPaths> {
        let n = e.fast_paths.len();
        if n == 0 || n > 2 {
            return None;
        }
        let mut paths = [e.fast_paths[0]; 2];
        paths[..n].copy_from_slice(&e.fast_paths);
        Some(FastPaths { paths, len: n as u8 })
    }

    fn site(s: Option<crate::entity::SiteId>) -> u32 {
        s.map_or(u32::MAX, |s| s.0)
    }

    fn emit(&mut self, op: Op, debug: DebugInfo) {
        self.code.push(op);
        self.debug.push(debug);
        self.origin.push(self.at);
    }

    /// If `bc` enters, with no arguments, a block only this branch reaches that holds at
    /// most two `iadd`/`isub` and a jump: those steps and the jump's target.
    fn step_block(&mut self, bc: &BlockCall) -> Option<(Box<[(Opcode, u32, u32, u32)]>, Target)> {
        let block = &self.f.blocks[bc.block.index()];
        if !bc.args.is_empty() || !block.params.is_empty() || self.preds[bc.block.index()] != 1 {
            return None;
        }
        let (last, body) = block.insts.split_last()?;
        if body.len() > 2 {
            return None;
        }
        let mut steps = Vec::new();
        for &inst in body {
            let node = &self.f.insts[inst.index()];
            match node.data {
                InstData::Binary { op: op @ (Opcode::Iadd | Opcode::Isub), args } => {
                    steps.push((op, self.slot(node.results[0]), self.slot(args[0]), self.slot(args[1])))
                }
                _ => return None,
            }
        }
        let InstData::Jump { ref dest, .. } = self.f.insts[last.index()].data else { return None };
        let jump = self.target(dest);
        Some((steps.into_boxed_slice(), jump))
    }

    /// The fused compare-and-branch form of `data` (whose result is the `brif`'s only
    /// operand use), if it has one.
    fn fused(&mut self, data: &InstData, brif: &InstData) -> Option<Op> {
        let InstData::Brif { then_dest, else_dest, .. } = brif else { return None };
        let (then_t, else_t) = (self.target(then_dest), self.target(else_dest));
        match *data {
            InstData::Binary { op, args } if op.results() == crate::ops::Results::One(Type::I1) => {
                let (a, b) = (self.slot(args[0]), self.slot(args[1]));
                for (steps_when, side, other) in [(false, else_dest, then_t), (true, then_dest, else_t)] {
                    if let Some((steps, jump)) = self.step_block(side) {
                        return Some(Op::BrCmpStep(Box::new(CmpStepOp { op, a, b, steps_when, other, steps, jump })));
                    }
                }
                Some(Op::BrCmp { op, a, b, then_t, else_t })
            }
            InstData::Unary { op: Opcode::Truthy, arg } => Some(Op::BrTruthy { a: self.slot(arg), then_t, else_t }),
            InstData::Unary { op: Opcode::Not, arg } => Some(Op::BrTruthy { a: self.slot(arg), then_t: else_t, else_t: then_t }),
            InstData::RtCall { rt, ref args, spread: false, site, .. }
                if args.len() == 2 && self.bound[rt.index()].ret == Type::I1 && Self::int_float(&self.bound[rt.index()]).is_some() =>
            {
                let e = &self.bound[rt.index()];
                let kind = Self::int_float(e).expect("checked");
                let br = Box::new(BrCmpIFOp {
                    f: e.f,
                    a: self.slot(args[0]),
                    b: self.slot(args[1]),
                    site: Self::site(site),
                    then_t,
                    else_t,
                });
                match kind {
                    ArithKind::Lt => Some(Op::BrLtIF(br)),
                    ArithKind::Le => Some(Op::BrLeIF(br)),
                    ArithKind::Eq => Some(Op::BrEqIF(br)),
                    _ => None,
                }
            }
            InstData::RtCall { rt, ref args, spread: false, site, .. }
                if args.len() == 2 && self.bound[rt.index()].ret == Type::I1 =>
            {
                let e = &self.bound[rt.index()];
                let (f, paths) = (e.f, Self::paths(e)?);
                Some(Op::BrRtFast(Box::new(BrRtOp {
                    f,
                    a: self.slot(args[0]),
                    b: self.slot(args[1]),
                    paths,
                    site: Self::site(site),
                    then_t,
                    else_t,
                })))
            }
            _ => None,
        }
    }

    fn op(&mut self, data: &InstData, results: &[Value]) -> Op {
        let dst = results.first().map(|&v| self.slot(v)).unwrap_or(0);
        match data {
            InstData::Const { imm, .. } => Op::Const { dst, val: const_val(*imm, self.consts) },
            InstData::Nullary { op: Opcode::Varargs } => Op::Varargs { dst },
            InstData::Nullary { op: Opcode::Globals } => Op::Globals { dst },
            InstData::Nullary { op } => unreachable!("nullary {}", op.mnemonic()),
            InstData::NullaryImm { imm, .. } => Op::Upval { dst, index: *imm as u32 },
            InstData::Unary { op, arg } => {
                let a = self.slot(*arg);
                match op {
                    Opcode::Truthy => Op::Truthy { dst, a },
                    Opcode::Not => Op::Not { dst, a },
                    Opcode::CellNew => Op::CellNew { dst, a },
                    Opcode::CellGet => Op::CellGet { dst, a },
                    op if is_copy(*op) => Op::Move { dst, src: a },
                    _ => Op::Unary { op: *op, dst, a },
                }
            }
            InstData::UnaryImm { op: Opcode::ClosureCell, arg, imm } => {
                Op::ClosureCell { dst, closure: self.slot(*arg), index: *imm as u32 }
            }
            InstData::UnaryImm { op: Opcode::IsFn, arg, imm } => Op::IsFn { dst, a: self.slot(*arg), func: *imm as u32 },
            InstData::UnaryImm { arg, imm, .. } => Op::PackGet { dst, pack: self.slot(*arg), index: *imm as u32 },
            InstData::Binary { op: Opcode::CellSet, args } => {
                Op::CellSet { cell: self.slot(args[0]), value: self.slot(args[1]) }
            }
            InstData::Binary { op: Opcode::ArrReserve, args } => {
                Op::ArrReserve { table: self.slot(args[0]), count: self.slot(args[1]) }
            }
            InstData::Binary { op, args } => {
                let (a, b) = (self.slot(args[0]), self.slot(args[1]));
                match op {
                    Opcode::Iadd => Op::Iadd { dst, a, b },
                    Opcode::Isub => Op::Isub { dst, a, b },
                    Opcode::Fadd => Op::Fadd { dst, a, b },
                    Opcode::Fmul => Op::Fmul { dst, a, b },
                    _ => Op::Binary { op: *op, dst, a, b },
                }
            }
            InstData::Ternary { op, args } => {
                let (table, index, value) = (self.slot(args[0]), self.slot(args[1]), self.slot(args[2]));
                match op {
                    Opcode::ArrPush | Opcode::ArrPushInt | Opcode::ArrPushFloat | Opcode::ArrPushBool => Op::ArrPush { dst, table, index, value },
                    Opcode::HashSet => Op::HashSet { table, index, value },
                    _ => Op::ArrSet { table, index, value },
                }
            }
            InstData::Closure { func, args, .. } => Op::Closure { dst, func: func.0, cells: self.slots(args) },
            InstData::Call { op, callee, args, spread, site } => Op::Call(Box::new(CallOp {
                op: *op,
                callee: self.slot(*callee),
                args: self.slots(args),
                spread: *spread,
                dsts: self.slots(results),
                site: Self::site(*site),
            })),
            InstData::RtCall { rt, args, spread: false, site, .. }
                if args.len() == 2 && Self::int_float(&self.bound[rt.index()]).is_some() =>
            {
                let e = &self.bound[rt.index()];
                let (f, a, b, site) = (e.f, self.slot(args[0]), self.slot(args[1]), Self::site(*site));
                match Self::int_float(e).expect("checked") {
                    ArithKind::Add => Op::AddIF { f, dst, a, b, site },
                    ArithKind::Sub => Op::SubIF { f, dst, a, b, site },
                    ArithKind::Mul => Op::MulIF { f, dst, a, b, site },
                    ArithKind::Lt => Op::LtIF { f, dst, a, b, site },
                    ArithKind::Le => Op::LeIF { f, dst, a, b, site },
                    ArithKind::Eq => Op::EqIF { f, dst, a, b, site },
                }
            }
            InstData::RtCall { rt, args, spread: false, site, .. }
                if (1..=2).contains(&args.len()) && Self::paths(&self.bound[rt.index()]).is_some() =>
            {
                let e = &self.bound[rt.index()];
                Op::RtFast {
                    f: e.f,
                    dst,
                    a: self.slot(args[0]),
                    b: self.slot(*args.last().unwrap_or(&args[0])),
                    unary: args.len() == 1,
                    paths: Self::paths(e).expect("checked"),
                    site: Self::site(*site),
                }
            }
            InstData::RtCall { rt, args, spread: false, site, .. } if args.len() == 2 => Op::RtCall2 {
                f: self.bound[rt.index()].f,
                dst,
                a: self.slot(args[0]),
                b: self.slot(args[1]),
                site: Self::site(*site),
            },
            InstData::RtCall { rt, args, spread: false, site, .. } if args.len() == 3 => Op::RtCall3 {
                f: self.bound[rt.index()].f,
                dst,
                a: self.slot(args[0]),
                b: self.slot(args[1]),
                c: self.slot(args[2]),
                site: Self::site(*site),
            },
            InstData::RtCall { rt, args, spread, site, .. } => Op::RtCall {
                dst,
                call: Box::new(RtCallOp {
                    f: self.bound[rt.index()].f,
                    args: self.slots(args),
                    spread: *spread,
                    site: Self::site(*site),
                }),
            },
            InstData::Jump { dest, .. } => Op::Jump(self.target(dest)),
            InstData::Brif { cond, then_dest, else_dest, .. } => {
                let (then_t, else_t) = (self.target(then_dest), self.target(else_dest));
                Op::Brif { cond: self.slot(*cond), then_t, else_t }
            }
            InstData::Return { args, spread, .. } => Op::Return { args: self.slots(args), spread: *spread },
            InstData::Guard { op, arg, imm, snap } => Op::Guard { op: *op, arg: self.slot(*arg), imm: *imm, snap: snap.0 },
        }
    }
}

/// Decodes `f` with its runtime functions bound and string constants made.
pub(super) fn decode(f: &Function, bound: &[RtEntry], consts: &[Val]) -> Decoded {
    let (slot_of, nslots) = assign_slots(f);
    let uses = use_counts(f);
    let mut d = Decoder {
        f,
        bound,
        consts,
        slot_of,
        code: Vec::new(),
        debug: Vec::new(),
        moves: Vec::new(),
        origin: Vec::new(),
        at: (0, 0),
        preds: vec![0; f.blocks.len()],
    };
    for b in &f.blocks {
        if let Some(&last) = b.insts.last() {
            for bc in f.insts[last.index()].data.successors() {
                d.preds[bc.block.index()] += 1;
            }
        }
    }
    let mut inst_pc = vec![u32::MAX; f.insts.len()];
    let mut block_pc = vec![0u32; f.blocks.len()];
    for (bi, b) in f.blocks.iter().enumerate() {
        block_pc[bi] = d.code.len() as u32;
        for (k, &inst) in b.insts.iter().enumerate() {
            inst_pc[inst.index()] = d.code.len() as u32;
            d.at = (bi as u32, k as u32);
            let node = &f.insts[inst.index()];
            if matches!(node.data, InstData::Unary { op, .. } if is_copy(op)) {
                continue; // shares its operand's slot
            }
            if let (Some(&r), Some(&next)) = (node.results.first(), b.insts.get(k + 1)) {
                let brif = &f.insts[next.index()].data;
                if matches!(brif, InstData::Brif { cond, .. } if *cond == r) && uses[r.index()] == 1 {
                    if let Some(op) = d.fused(&node.data, brif) {
                        d.emit(op, node.debug);
                        continue;
                    }
                }
            }
            let op = d.op(&node.data, &node.results);
            d.emit(op, node.debug);
        }
    }
    let fix = |t: &mut Target| t.pc = block_pc[t.pc as usize];
    for op in d.code.iter_mut() {
        match op {
            Op::Jump(t) => fix(t),
            Op::Brif { then_t, else_t, .. } | Op::BrCmp { then_t, else_t, .. } | Op::BrTruthy { then_t, else_t, .. } => {
                fix(then_t);
                fix(else_t);
            }
            Op::BrRtFast(br) => {
                fix(&mut br.then_t);
                fix(&mut br.else_t);
            }
            Op::BrCmpStep(st) => {
                fix(&mut st.other);
                fix(&mut st.jump);
            }
            Op::BrLtIF(br) | Op::BrLeIF(br) | Op::BrEqIF(br) => {
                fix(&mut br.then_t);
                fix(&mut br.else_t);
            }
            _ => {}
        }
    }
    Decoded {
        code: d.code.into_boxed_slice(),
        debug: d.debug.into_boxed_slice(),
        inst_pc: inst_pc.into_boxed_slice(),
        slot_of: d.slot_of,
        nslots,
        moves: d.moves.into_boxed_slice(),
        origin: d.origin.into_boxed_slice(),
    }
}

/// The op where block `b`'s instruction `index` starts.
pub(super) fn resume_pc(f: &Function, inst_pc: &[u32], b: Block, index: u32) -> Option<u32> {
    let inst = f.blocks.get(b.index())?.insts.get(index as usize)?;
    inst_pc.get(inst.index()).copied().filter(|&pc| pc != u32::MAX)
}
