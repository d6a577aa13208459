//! Loaded functions: a function's MIR decoded one-to-one into the interpreter's operand
//! form (each instruction becomes one [`Op`] whose operands are frame-slot numbers and
//! whose runtime calls are bound function pointers), plus its counters and profiles.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::vm::{FastPath, RtEntry, RtFn};
use crate::entity::{Block, Value};
use crate::function::{Const, DebugInfo, Function, InstData, Module};
use crate::ops::Opcode;
use crate::rt::Val;

/// Parallel moves into a block's parameter slots: `(from, to)` pairs.
pub type Moves = Box<[(u32, u32)]>;

/// A branch target: the first op of the block and the parameter moves.
#[derive(Clone, Debug)]
pub struct Target {
    /// Op index of the block's first instruction.
    pub pc: u32,
    /// Parameter moves (parallel semantics).
    pub moves: Moves,
    /// Some source of the moves is also a destination (needs a temporary copy).
    pub overlapping: bool,
    /// The target is a loop header (the branch is counted as a back-edge).
    pub loop_header: bool,
    /// The target block.
    pub block: Block,
}

/// One decoded instruction.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum Op {
    Const { dst: u32, val: Val },
    Unary { op: Opcode, dst: u32, a: u32 },
    Binary { op: Opcode, dst: u32, a: u32, b: u32 },
    PackGet { dst: u32, pack: u32, index: u32 },
    Varargs { dst: u32 },
    Upval { dst: u32, index: u32 },
    Globals { dst: u32 },
    CellSet { cell: u32, value: u32 },
    Closure { dst: u32, func: u32, cells: Box<[u32]> },
    Call { op: Opcode, callee: u32, args: Box<[u32]>, spread: bool, dsts: Box<[u32]>, site: u32 },
    RtCall { f: RtFn, dst: u32, args: Box<[u32]>, spread: bool, site: u32 },
    /// A one- or two-operand runtime call with declared typed fast paths (`b == a` for one operand).
    RtFast { f: RtFn, dst: u32, a: u32, b: u32, unary: bool, paths: Box<[FastPath]>, site: u32 },
    Jump(Target),
    Brif { cond: u32, then_t: Target, else_t: Target },
    Return { args: Box<[u32]>, spread: bool },
    Guard { op: Opcode, arg: u32, imm: i64, snap: u32 },
}

/// What a profile site has seen: one bit per value tag, for up to three operands.
#[derive(Default, Debug)]
pub struct SiteProfile {
    /// Bit `t` of `tags[i]` is set once operand `i` had tag number `t`.
    pub tags: [AtomicU32; 3],
    /// For calls: the callee last seen (raw payload), 0 if none.
    pub target: AtomicU64,
    /// How many times the site ran.
    pub count: AtomicU32,
}

impl SiteProfile {
    /// Records one execution with these operands.
    #[inline]
    pub fn record(&self, operands: &[Val]) {
        // A plain load and store: a lost update under a race only loses a count, and an
        // atomic read-modify-write would cost more than the operation being profiled.
        self.count.store(self.count.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        for (slot, v) in self.tags.iter().zip(operands) {
            let bit = 1u32 << (v.tag() as u32);
            if slot.load(Ordering::Relaxed) & bit == 0 {
                slot.fetch_or(bit, Ordering::Relaxed);
            }
        }
    }
}

/// A function ready to run.
pub struct Proto {
    /// The function's MIR.
    pub mir: Function,
    /// Index within its module.
    pub index: u32,
    /// Decoded code, one op per MIR instruction, blocks in layout order.
    pub code: Box<[Op]>,
    /// Debug information per op.
    pub debug: Box<[DebugInfo]>,
    /// Op index of each block's first instruction.
    pub block_pc: Box<[u32]>,
    /// Frame slot of each MIR value.
    pub slot_of: Box<[u32]>,
    /// Frame size in slots.
    pub nslots: u32,
    /// Fixed parameters.
    pub nparams: u32,
    /// Takes extra arguments (kept as a pack in slot `nparams`).
    pub vararg: bool,
    /// Calls so far.
    pub calls: AtomicU32,
    /// Loop back-edges taken so far.
    pub backedges: AtomicU32,
    /// Type profiles, by site.
    pub sites: Box<[SiteProfile]>,
    chunk: *const str,
    /// The module it belongs to.
    pub module: *const LoadedModule,
}

// SAFETY: protos are immutable after loading except for their atomic counters; `chunk`
// points into the owning module, which outlives them.
unsafe impl Send for Proto {}
unsafe impl Sync for Proto {}

impl Proto {
    /// The chunk (file) name of the module it belongs to.
    pub fn chunk_name(&self) -> &str {
        // SAFETY: points into the owning LoadedModule's MIR, which outlives the proto.
        unsafe { &*self.chunk }
    }

    /// Source line of op `pc` (the function's line if unknown).
    pub fn line_at(&self, pc: u32) -> u32 {
        match self.debug.get(pc as usize) {
            Some(d) if d.line != 0 => d.line,
            _ => self.mir.line,
        }
    }

    /// How tracebacks name the function.
    pub fn describe(&self) -> String {
        if self.index == 0 {
            "main chunk".to_string()
        } else {
            format!("function '{}'", self.mir.name)
        }
    }

    /// The op index where block `b`'s instruction `index` is.
    pub fn pc_of(&self, b: Block, index: u32) -> u32 {
        self.block_pc[b.index()] + index
    }
}

/// A module whose functions are loaded.
pub struct LoadedModule {
    /// Chunk name.
    pub name: String,
    /// The functions, decoded.
    pub protos: Vec<Proto>,
    /// The string constants as (never-collected) values.
    pub consts: Vec<Val>,
    /// The module's strings (for debug names).
    pub strings: Vec<Vec<u8>>,
}

impl LoadedModule {
    /// Decodes every function of `module`.
    pub fn new(module: Module, bound: Vec<RtEntry>, consts: Vec<Val>) -> Box<LoadedModule> {
        let mut loaded = Box::new(LoadedModule {
            name: module.name.clone(),
            protos: Vec::new(),
            consts,
            strings: module.strings.clone(),
        });
        let chunk: *const str = loaded.name.as_str();
        let protos = module
            .functions
            .into_iter()
            .enumerate()
            .map(|(i, f)| decode(f, i as u32, &bound, &loaded.consts, chunk))
            .collect();
        loaded.protos = protos;
        let module_ptr: *const LoadedModule = &*loaded;
        for p in &mut loaded.protos {
            p.module = module_ptr;
        }
        loaded
    }

    /// The text of a debug name.
    pub fn string(&self, id: crate::entity::StrId) -> &[u8] {
        &self.strings[id.index()]
    }
}

/// Assigns frame slots: parameters first (so arguments land in place), the vararg pack
/// next, then every other value.
fn assign_slots(f: &Function) -> (Box<[u32]>, u32) {
    let mut slot_of = vec![u32::MAX; f.values.len()];
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
    for s in slot_of.iter_mut() {
        if *s == u32::MAX {
            *s = next;
            next += 1;
        }
    }
    (slot_of.into_boxed_slice(), next)
}

fn decode(f: Function, index: u32, bound: &[RtEntry], consts: &[Val], chunk: *const str) -> Proto {
    let (slot_of, nslots) = assign_slots(&f);
    let slot = |v: Value| slot_of[v.index()];
    let slots = |vs: &[Value]| vs.iter().map(|&v| slot(v)).collect::<Box<[u32]>>();
    let mut block_pc = Vec::with_capacity(f.blocks.len());
    let mut pc = 0u32;
    for b in &f.blocks {
        block_pc.push(pc);
        pc += b.insts.len() as u32;
    }
    let target = |bc: &crate::function::BlockCall| {
        let params = &f.blocks[bc.block.index()].params;
        // A parameter passed its own value needs no move.
        let moves: Moves =
            bc.args.iter().zip(params).map(|(&a, &p)| (slot(a), slot(p))).filter(|&(from, to)| from != to).collect();
        let overlapping = moves.iter().any(|&(from, _)| moves.iter().any(|&(_, to)| to == from));
        Target {
            pc: block_pc[bc.block.index()],
            moves,
            overlapping,
            loop_header: f.blocks[bc.block.index()].loop_header,
            block: bc.block,
        }
    };
    let mut code = Vec::with_capacity(pc as usize);
    let mut debug = Vec::with_capacity(pc as usize);
    for b in &f.blocks {
        for &inst in &b.insts {
            let node = &f.insts[inst.index()];
            let dst = node.results.first().map(|&v| slot(v)).unwrap_or(0);
            let op = match &node.data {
                InstData::Const { imm, .. } => Op::Const { dst, val: const_val(*imm, consts) },
                InstData::Nullary { op: Opcode::Varargs } => Op::Varargs { dst },
                InstData::Nullary { op: Opcode::Globals } => Op::Globals { dst },
                InstData::Nullary { op } => unreachable!("nullary {}", op.mnemonic()),
                InstData::NullaryImm { imm, .. } => Op::Upval { dst, index: *imm as u32 },
                InstData::Unary { op, arg } => Op::Unary { op: *op, dst, a: slot(*arg) },
                InstData::UnaryImm { arg, imm, .. } => Op::PackGet { dst, pack: slot(*arg), index: *imm as u32 },
                InstData::Binary { op: Opcode::CellSet, args } => Op::CellSet { cell: slot(args[0]), value: slot(args[1]) },
                InstData::Binary { op, args } => Op::Binary { op: *op, dst, a: slot(args[0]), b: slot(args[1]) },
                InstData::Closure { func, args, .. } => Op::Closure { dst, func: func.0, cells: slots(args) },
                InstData::Call { op, callee, args, spread, site } => Op::Call {
                    op: *op,
                    callee: slot(*callee),
                    args: slots(args),
                    spread: *spread,
                    dsts: slots(&node.results),
                    site: site.map_or(u32::MAX, |s| s.0),
                },
                InstData::RtCall { rt, args, spread: false, site, .. }
                    if (1..=2).contains(&args.len()) && !bound[rt.index()].fast_paths.is_empty() =>
                {
                    Op::RtFast {
                        f: bound[rt.index()].f,
                        dst,
                        a: slot(args[0]),
                        b: slot(*args.last().unwrap_or(&args[0])),
                        unary: args.len() == 1,
                        paths: bound[rt.index()].fast_paths.clone().into_boxed_slice(),
                        site: site.map_or(u32::MAX, |s| s.0),
                    }
                }
                InstData::RtCall { rt, args, spread, site, .. } => Op::RtCall {
                    f: bound[rt.index()].f,
                    dst,
                    args: slots(args),
                    spread: *spread,
                    site: site.map_or(u32::MAX, |s| s.0),
                },
                InstData::Jump { dest, .. } => Op::Jump(target(dest)),
                InstData::Brif { cond, then_dest, else_dest, .. } => {
                    Op::Brif { cond: slot(*cond), then_t: target(then_dest), else_t: target(else_dest) }
                }
                InstData::Return { args, spread, .. } => Op::Return { args: slots(args), spread: *spread },
                InstData::Guard { op, arg, imm, snap } => Op::Guard { op: *op, arg: slot(*arg), imm: *imm, snap: snap.0 },
            };
            code.push(op);
            debug.push(node.debug);
        }
    }
    let sites = (0..f.sites).map(|_| SiteProfile::default()).collect();
    Proto {
        index,
        code: code.into_boxed_slice(),
        debug: debug.into_boxed_slice(),
        block_pc: block_pc.into_boxed_slice(),
        slot_of,
        nslots,
        nparams: f.params,
        vararg: f.vararg,
        calls: AtomicU32::new(0),
        backedges: AtomicU32::new(0),
        sites,
        chunk,
        module: std::ptr::null(),
        mir: f,
    }
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
