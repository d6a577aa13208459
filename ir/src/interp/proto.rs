//! Loaded functions: a function's MIR decoded into the interpreter's operand form (see
//! `decode`), plus its counters and profiles.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::vm::{FastPath, RtEntry, RtFn};
use crate::entity::Block;
use crate::function::{DebugInfo, Function, Module};
use crate::ops::Opcode;
use crate::rt::Val;

/// A branch target: where the block's code starts and its parameter moves (a range of
/// [`Proto::moves`], with parallel semantics).
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Op index of the block's first instruction.
    pub pc: u32,
    /// First move in [`Proto::moves`].
    pub moves: u32,
    /// Number of moves.
    pub nmoves: u16,
    /// Some source of the moves is also a destination (needs a temporary copy).
    pub overlapping: bool,
    /// The target is a loop header (the branch is counted as a back-edge).
    pub loop_header: bool,
}

/// Up to two typed fast paths of a runtime call, kept inline in the op.
#[derive(Clone, Copy, Debug)]
pub struct FastPaths {
    /// The paths; only the first `len` are used.
    pub paths: [FastPath; 2],
    /// How many there are.
    pub len: u8,
}

impl FastPaths {
    /// The first path whose tags match the operands (`b` ignored for one operand).
    #[inline(always)]
    pub fn find(&self, a: Val, b: Val, unary: bool) -> Option<Opcode> {
        for p in &self.paths[..self.len as usize] {
            if p.tags[0] == a.tag() && (unary || p.tags[1] == b.tag()) {
                if p.op.needs_nonzero_rhs() && b.payload() == 0 {
                    continue;
                }
                return Some(p.op);
            }
        }
        None
    }
}

/// A call's operands (kept out of line: calls are rarer than arithmetic).
#[derive(Clone, Debug)]
pub struct CallOp {
    /// `call`, `call.pack` or `tailcall`.
    pub op: Opcode,
    /// The callee's slot.
    pub callee: u32,
    /// Argument slots (the last is a pack to spread if `spread`).
    pub args: Box<[u32]>,
    /// The last argument is a pack.
    pub spread: bool,
    /// Result slots.
    pub dsts: Box<[u32]>,
    /// Profile site, `u32::MAX` if none.
    pub site: u32,
}

/// A runtime call's operands.
#[derive(Clone, Debug)]
pub struct RtCallOp {
    /// The function.
    pub f: RtFn,
    /// Argument slots (the last is a pack to spread if `spread`).
    pub args: Box<[u32]>,
    /// The last argument is a pack.
    pub spread: bool,
    /// Profile site, `u32::MAX` if none.
    pub site: u32,
}

/// Which integer/float operation pair a runtime call's fast paths amount to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ArithKind {
    Add,
    Sub,
    Mul,
    Lt,
    Le,
    Eq,
}

impl ArithKind {
    /// The pair `(integer op, float op)` of fast paths this kind stands for.
    pub fn of(int_op: Opcode, float_op: Opcode) -> Option<ArithKind> {
        Some(match (int_op, float_op) {
            (Opcode::Iadd, Opcode::Fadd) => ArithKind::Add,
            (Opcode::Isub, Opcode::Fsub) => ArithKind::Sub,
            (Opcode::Imul, Opcode::Fmul) => ArithKind::Mul,
            (Opcode::IcmpLt, Opcode::FcmpLt) => ArithKind::Lt,
            (Opcode::IcmpLe, Opcode::FcmpLe) => ArithKind::Le,
            (Opcode::IcmpEq, Opcode::FcmpEq) => ArithKind::Eq,
            _ => return None,
        })
    }
}

/// A fused integer/float comparison and branch.
#[derive(Clone, Debug)]
pub struct BrCmpIFOp {
    /// The runtime function for other operand types.
    pub f: RtFn,
    /// Operand slots.
    pub a: u32,
    /// Operand slots.
    pub b: u32,
    /// Profile site.
    pub site: u32,
    /// Where to go if true.
    pub then_t: Target,
    /// Where to go if false.
    pub else_t: Target,
}

/// A compare-and-branch whose one side is a short block of integer steps and a jump.
#[derive(Clone, Debug)]
pub struct CmpStepOp {
    /// The typed comparison.
    pub op: Opcode,
    /// Operand slots.
    pub a: u32,
    /// Operand slots.
    pub b: u32,
    /// Whether the steps run when the comparison is true (else when false).
    pub steps_when: bool,
    /// Where to go the other way.
    pub other: Target,
    /// `(op, dst, a, b)` with `op` `iadd` or `isub`.
    pub steps: Box<[(Opcode, u32, u32, u32)]>,
    /// The step block's jump.
    pub jump: Target,
}

/// A fused runtime comparison and branch.
#[derive(Clone, Debug)]
pub struct BrRtOp {
    /// The function.
    pub f: RtFn,
    /// Operand slots.
    pub a: u32,
    /// Operand slots.
    pub b: u32,
    /// Fast paths.
    pub paths: FastPaths,
    /// Profile site.
    pub site: u32,
    /// Where to go if true.
    pub then_t: Target,
    /// Where to go if false.
    pub else_t: Target,
}

/// One decoded instruction. Operands are frame-slot numbers.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum Op {
    Const { dst: u32, val: Val },
    Move { dst: u32, src: u32 },
    Truthy { dst: u32, a: u32 },
    Not { dst: u32, a: u32 },
    CellNew { dst: u32, a: u32 },
    CellGet { dst: u32, a: u32 },
    /// Any other pure one-operand op.
    Unary { op: Opcode, dst: u32, a: u32 },
    Iadd { dst: u32, a: u32, b: u32 },
    Isub { dst: u32, a: u32, b: u32 },
    Fadd { dst: u32, a: u32, b: u32 },
    Fmul { dst: u32, a: u32, b: u32 },
    /// Any other pure two-operand op.
    Binary { op: Opcode, dst: u32, a: u32, b: u32 },
    PackGet { dst: u32, pack: u32, index: u32 },
    Varargs { dst: u32 },
    Upval { dst: u32, index: u32 },
    ClosureCell { dst: u32, closure: u32, index: u32 },
    IsFn { dst: u32, a: u32, func: u32 },
    Globals { dst: u32 },
    CellSet { cell: u32, value: u32 },
    ArrSet { table: u32, index: u32, value: u32 },
    ArrReserve { table: u32, count: u32 },
    ArrPush { dst: u32, table: u32, index: u32, value: u32 },
    HashSet { table: u32, index: u32, value: u32 },
    Closure { dst: u32, func: u32, cells: Box<[u32]> },
    Call(Box<CallOp>),
    RtCall { dst: u32, call: Box<RtCallOp> },
    /// A two-operand runtime call without fast paths.
    RtCall2 { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    /// A three-operand runtime call.
    RtCall3 { f: RtFn, dst: u32, a: u32, b: u32, c: u32, site: u32 },
    /// A runtime call whose fast paths are exactly an integer and a float form of one
    /// arithmetic or comparison (the common shape of dynamic-language operators).
    /// (One variant per operation, so that the fast path costs no second dispatch.)
    AddIF { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    SubIF { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    MulIF { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    LtIF { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    LeIF { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    EqIF { f: RtFn, dst: u32, a: u32, b: u32, site: u32 },
    /// The comparisons fused with the `brif` on them.
    BrLtIF(Box<BrCmpIFOp>),
    BrLeIF(Box<BrCmpIFOp>),
    BrEqIF(Box<BrCmpIFOp>),
    /// A one- or two-operand runtime call with declared typed fast paths (`b == a` for one operand).
    RtFast { f: RtFn, dst: u32, a: u32, b: u32, unary: bool, paths: FastPaths, site: u32 },
    Jump(Target),
    Brif { cond: u32, then_t: Target, else_t: Target },
    /// A typed comparison and the `brif` on it.
    BrCmp { op: Opcode, a: u32, b: u32, then_t: Target, else_t: Target },
    /// A typed comparison and the `brif` on it, where one target is a block of at most
    /// two integer additions or subtractions ending in a jump, which runs inline (a
    /// counted loop's latch).
    BrCmpStep(Box<CmpStepOp>),
    /// `truthy` (or `not`, with the targets swapped) and the `brif` on it.
    BrTruthy { a: u32, then_t: Target, else_t: Target },
    /// A two-operand runtime call with fast paths returning `i1`, and the `brif` on it.
    BrRtFast(Box<BrRtOp>),
    Return { args: Box<[u32]>, spread: bool },
    Guard { op: Opcode, arg: u32, imm: i64, snap: u32 },
}

/// What a profile site has seen: for each of its first two operands, one bit per value
/// tag, packed in one word so that recording is one load and (rarely) one store.
#[derive(Default, Debug)]
pub struct SiteProfile {
    /// Bits `0..16`: tags of operand 0; bits `16..32`: tags of operand 1.
    seen: AtomicU32,
    /// For calls: what every callee so far has been (the proto of a closure, the
    /// payload of anything else), 0 if none, [`SiteProfile::MANY_TARGETS`] if there
    /// were more than three.
    pub target: AtomicU64,
    /// For calls: the second and third callees, when there were more than one (see
    /// [`SiteProfile::target`]), else 0.
    pub more_targets: [AtomicU64; 2],
    /// Deoptimizations at guards speculating on this site.
    deopts: AtomicU32,
}

impl SiteProfile {
    /// Records one execution with these operands (beyond the second are not profiled).
    #[inline(always)]
    pub fn record(&self, operands: &[Val]) {
        let mut bits = 0u32;
        if let Some(a) = operands.first() {
            bits |= 1 << (a.tag() as u32);
        }
        if let Some(b) = operands.get(1) {
            bits |= 1 << (16 + b.tag() as u32);
        }
        let seen = self.seen.load(Ordering::Relaxed);
        if seen & bits != bits {
            self.seen.fetch_or(bits, Ordering::Relaxed);
        }
    }

    /// The tags operand `i` (0 or 1) has had, one bit per tag number.
    pub fn operand_tags(&self, i: usize) -> u16 {
        (self.seen.load(Ordering::Relaxed) >> (16 * i.min(1))) as u16 & !(Self::PAST_ARRAY | Self::FIELD_ABSENT | Self::MIXED_ELEMENTS)
    }

    /// The bit of `seen` (above every tag number of operand 0) that says a `guard.elems`
    /// on the table of an array access here failed.
    const MIXED_ELEMENTS: u16 = 1 << 13;

    /// Records that a `guard.elems` speculating that every element of the table an
    /// array access here reaches has one tag failed: the next optimized code reads and
    /// writes the elements with their tags.
    pub fn record_mixed_elements(&self) {
        self.set_flag(Self::MIXED_ELEMENTS);
    }

    /// Whether a `guard.elems` on an array access here failed (see
    /// [`SiteProfile::record_mixed_elements`]).
    pub fn had_mixed_elements(&self) -> bool {
        self.has_flag(Self::MIXED_ELEMENTS)
    }

    /// The bit of `seen` (above every tag number of operand 0) that says a table access
    /// with a string key found no value in the table itself.
    const FIELD_ABSENT: u16 = 1 << 14;

    /// Records that a runtime call of a table and a string key (a field access, when its
    /// function declares a [`super::vm::TableAccess`]) found no value at the key in the
    /// table itself: the answer, if any, came from a metatable.
    #[inline(always)]
    pub fn record_field_absent(&self) {
        self.set_flag(Self::FIELD_ABSENT);
    }

    /// Whether a field access at this site found no value in the table itself (see
    /// [`SiteProfile::record_field_absent`]).
    pub fn field_was_absent(&self) -> bool {
        self.has_flag(Self::FIELD_ABSENT)
    }

    /// The bit of `seen` (above every tag number of operand 0) that says a runtime call
    /// of three operands had a table and an integer key outside its array part.
    const PAST_ARRAY: u16 = 1 << 15;

    /// Records that a runtime call of three operands (a table write, when its function
    /// declares [`super::vm::TableAccess::Set`]) had a table and an integer key outside
    /// the table's array part: an append or a sparse write.
    #[inline(always)]
    pub fn record_past_array(&self) {
        self.set_flag(Self::PAST_ARRAY);
    }

    /// Whether a write at this site went past the array part (see
    /// [`SiteProfile::record_past_array`]).
    pub fn went_past_array(&self) -> bool {
        self.has_flag(Self::PAST_ARRAY)
    }

    /// Whether flag bit `flag` of `seen` is set.
    #[inline(always)]
    fn has_flag(&self, flag: u16) -> bool {
        self.seen.load(Ordering::Relaxed) & u32::from(flag) != 0
    }

    /// Sets flag bit `flag` of `seen` (a read first: the bit is usually set already).
    #[inline(always)]
    fn set_flag(&self, flag: u16) {
        if !self.has_flag(flag) {
            self.seen.fetch_or(u32::from(flag), Ordering::Relaxed);
        }
    }

    /// Whether the site ever ran.
    pub fn ran(&self) -> bool {
        self.seen.load(Ordering::Relaxed) != 0
    }

    /// [`SiteProfile::target`] of a call site whose callees differed.
    pub const MANY_TARGETS: u64 = u64::MAX;

    /// Records a call's target: for a closure, its proto's address (closures of one
    /// function count as one target); else the callee's payload. Three targets are kept;
    /// a fourth makes the site [`SiteProfile::MANY_TARGETS`].
    #[inline(always)]
    pub fn record_target(&self, target: u64) {
        let seen = self.target.load(Ordering::Relaxed);
        if seen != target {
            self.record_other_target(seen, target);
        }
    }

    #[cold]
    fn record_other_target(&self, seen: u64, target: u64) {
        if seen == 0 {
            self.target.store(target, Ordering::Relaxed);
            return;
        }
        if seen == Self::MANY_TARGETS {
            return;
        }
        for slot in &self.more_targets {
            match slot.load(Ordering::Relaxed) {
                other if other == target => return,
                0 => {
                    slot.store(target, Ordering::Relaxed);
                    return;
                }
                _ => {}
            }
        }
        self.target.store(Self::MANY_TARGETS, Ordering::Relaxed);
    }

    /// The targets a call site has had, in the order it met them, when it had two or
    /// three (see [`SiteProfile::record_target`]); else none.
    pub fn few_targets(&self) -> Vec<u64> {
        let first = self.target.load(Ordering::Relaxed);
        let more: Vec<u64> = self.more_targets.iter().map(|t| t.load(Ordering::Relaxed)).take_while(|&t| t != 0).collect();
        if first == 0 || first == Self::MANY_TARGETS || more.is_empty() {
            return Vec::new();
        }
        std::iter::once(first).chain(more).collect()
    }

    /// Records that a guard speculating on this site failed: the next optimized code
    /// must not make the same assumption.
    pub fn record_deopt(&self) {
        self.deopts.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a speculation on this site ever failed.
    pub fn failed(&self) -> bool {
        self.deopts.load(Ordering::Relaxed) != 0
    }

    /// How often speculations on this site failed.
    pub fn deopt_count(&self) -> u32 {
        self.deopts.load(Ordering::Relaxed)
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
    /// Op index where each instruction (by id) starts.
    pub inst_pc: Box<[u32]>,
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
    /// Entry of the function's machine code (a [`super::compiled::CompiledFn`]; a lazy
    /// stub until first called), 0 while it runs in the interpreter. This is the
    /// function's dispatch slot: callers read it on every call, so a later tier replaces
    /// the code by storing a new entry.
    pub entry: std::sync::atomic::AtomicUsize,
    /// The entry [`Proto::entry`] takes when the function gets hot (0: none): code of a
    /// cheap first tier that counts its calls moves the function on by storing it.
    pub hot_entry: std::sync::atomic::AtomicUsize,
    /// The function's first code (its baseline entry), where the dispatch slot returns
    /// after optimized code deoptimizes (0: none).
    pub first_entry: std::sync::atomic::AtomicUsize,
    /// Deoptimizations of the function's optimized code so far.
    pub deopts: AtomicU32,
    /// Loop back-edges taken so far.
    pub backedges: AtomicU32,
    /// Per block heading a loop (by block number; 0 for other blocks): branches to it so
    /// far, entering the loop or going round it, plus resumptions there after optimized
    /// code left a loop its profile had never seen run ([`crate::Snapshot::unreached`]).
    /// Whether a loop ever ran, for speculation; when the interpreter leaves it for an
    /// on-stack entry.
    pub loop_entries: Box<[AtomicU32]>,
    /// Per block: the on-stack entry of the loop it heads (a
    /// [`super::compiled::CompiledFn`] entered with the frame as the function's code left
    /// it at a back edge), 0 while none is chosen. Code that leaves for an on-stack entry
    /// reads it through the JIT ([`super::JitHooks::osr_entry`] chooses one when it is 0).
    pub osr_slots: Box<[std::sync::atomic::AtomicUsize]>,
    /// A version made to be entered on the stack ([`super::compiled::enter_version`]):
    /// for each of its entry block's parameters, the frame slot of the function's value it
    /// starts from and the tag that value must have (the version was specialized to it).
    /// Empty for a version entered by calls, and for the function itself.
    pub osr_from: Box<[(u32, u8)]>,
    /// Type profiles, by site.
    pub sites: Box<[SiteProfile]>,
    /// Block-parameter moves of every branch: `(from, to)` slot pairs.
    pub moves: Box<[(u32, u32)]>,
    /// The MIR instruction (block, index) each op came from.
    pub origin: Box<[(u32, u32)]>,
    /// What the function refers to in its module, by local number
    /// ([`crate::Function::local_refs`]): compiled code numbers strings, runtime
    /// functions and functions so, and reaches strings through `local_consts`, the
    /// others through `refs.rts` and `refs.funcs`.
    pub refs: crate::function::LocalRefs,
    /// The string constants the function uses, by local number; only reached through
    /// `consts_ptr`.
    #[allow(dead_code)]
    local_consts: Box<[Val]>,
    /// `local_consts`' first value, for compiled code ([`Proto::CONSTS_OFFSET`]).
    consts_ptr: *const crate::rt::Val,
    /// One word per MIR instruction for compiled code's inline caches (what a word
    /// means is up to the code of its instruction; all start at 0).
    pub ics: Box<[AtomicU32]>,
    /// `ics`' first word ([`Proto::ICS_OFFSET`]).
    ics_ptr: *const AtomicU32,
    /// For each MIR instruction, the number of its lookup cache in `lookups`, or
    /// `u32::MAX`: the runtime calls with a [`super::ChainLookup`] whose key is a string
    /// constant have one.
    pub lookup_site: Box<[u32]>,
    /// The lookup caches (see [`crate::rt::object::LookupCache`]), written by compiled
    /// code's helpers while the function runs; only reached through `lookups_ptr`.
    #[allow(dead_code)]
    lookups: Box<[std::cell::UnsafeCell<crate::rt::object::LookupCache>]>,
    /// `lookups`' first cache ([`Proto::LOOKUPS_OFFSET`]).
    lookups_ptr: *mut crate::rt::object::LookupCache,
    liveness: std::sync::OnceLock<crate::liveness::Liveness>,
    references: std::sync::OnceLock<crate::liveness::BitSet>,
    chunk: *const str,
    /// The module it belongs to.
    pub module: *const LoadedModule,
}

// SAFETY: protos are immutable after loading except for their atomic counters; `chunk`
// points into the owning module, which outlives them.
unsafe impl Send for Proto {}
unsafe impl Sync for Proto {}

impl Proto {
    /// Byte offset of [`Proto::backedges`], for compiled code that counts back edges
    /// inline.
    pub const BACKEDGES_OFFSET: usize = std::mem::offset_of!(Proto, backedges);
    /// Byte offset of [`Proto::calls`] (a `u32`).
    pub const CALLS_OFFSET: usize = std::mem::offset_of!(Proto, calls);
    /// Byte offset of [`Proto::entry`] (a `usize`).
    pub const ENTRY_OFFSET: usize = std::mem::offset_of!(Proto, entry);
    /// Byte offset of [`Proto::nslots`] (a `u32`).
    pub const NSLOTS_OFFSET: usize = std::mem::offset_of!(Proto, nslots);
    /// Byte offset of [`Proto::nparams`] (a `u32`).
    pub const NPARAMS_OFFSET: usize = std::mem::offset_of!(Proto, nparams);
    /// Byte offset of [`Proto::vararg`] (a `bool`).
    pub const VARARG_OFFSET: usize = std::mem::offset_of!(Proto, vararg);
    /// Byte offset of [`Proto::hot_entry`] (a `usize`).
    pub const HOT_ENTRY_OFFSET: usize = std::mem::offset_of!(Proto, hot_entry);
    /// Byte offset of the pointer to the function's string constants (16-byte values,
    /// by local number: see [`Proto::refs`]).
    pub const CONSTS_OFFSET: usize = std::mem::offset_of!(Proto, consts_ptr);
    /// Byte offset of the pointer to the inline-cache words ([`Proto::ics`], a `u32`
    /// per MIR instruction, by instruction number).
    pub const ICS_OFFSET: usize = std::mem::offset_of!(Proto, ics_ptr);
    /// Byte offset of the pointer to the lookup caches (see [`Proto::lookup_site`]).
    pub const LOOKUPS_OFFSET: usize = std::mem::offset_of!(Proto, lookups_ptr);

    /// The address of the first inline-cache word (what [`Proto::ICS_OFFSET`] holds).
    pub fn ics_address(&self) -> u64 {
        self.ics_ptr as u64
    }

    /// The address of the first lookup cache (what [`Proto::LOOKUPS_OFFSET`] holds).
    pub fn lookups_address(&self) -> u64 {
        self.lookups_ptr as u64
    }

    /// Whether MIR instruction `inst` has a lookup cache that was ever filled: compiled
    /// code running it met a table without the key and answered from the metatable.
    pub fn lookup_used(&self, inst: usize) -> bool {
        match self.lookup_site.get(inst) {
            // SAFETY: a cache of this function (compiled code may be filling it).
            Some(&n) if n != u32::MAX => self.lookups.get(n as usize).is_some_and(|c| unsafe { crate::rt::object::LookupCache::was_used(c.get()) }),
            _ => false,
        }
    }

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

    /// Calls `f` with every frame slot that may hold a value still needed when the frame
    /// is stopped before op `pc` (at a call in progress or a safepoint). The collector
    /// marks only these, so values the function is done with do not stay reachable.
    pub fn live_slots(&self, pc: u32, mut f: impl FnMut(u32)) {
        let Some(&(block, index)) = self.origin.get(pc as usize) else {
            (0..self.nslots).for_each(f);
            return;
        };
        let liveness = self.liveness();
        let references = self.references();
        for v in liveness.live_before(&self.mir, Block(block), index as usize).iter().filter(|&v| references.contains(v)) {
            f(self.slot_of[v]);
        }
        if self.vararg {
            f(self.nparams);
        }
    }

    /// The values that may hold the only reference to an object, which the collector
    /// marks in a stopped frame (computed on first use): every `val` and pack but the
    /// results of `upval` (the running closure, which the collector marks, holds its
    /// cells), `const` (the module holds its constants) and `globals` (a root). Compiled
    /// code keeps only these in their slots across a safepoint; the slots of the others
    /// may hold stale values.
    pub fn references(&self) -> &crate::liveness::BitSet {
        self.references.get_or_init(|| {
            let f = &self.mir;
            let mut held = crate::liveness::BitSet::new(f.values.len());
            for (v, value) in f.values.iter().enumerate() {
                if matches!(value.ty, crate::Type::Val | crate::Type::Pack) {
                    held.insert(v);
                }
            }
            for node in &f.insts {
                if matches!(node.data.opcode(), crate::Opcode::Upval | crate::Opcode::Const | crate::Opcode::Globals) {
                    node.results.iter().for_each(|r| held.remove(r.index()));
                }
            }
            held
        })
    }

    /// The liveness of the function's values (computed on first use).
    pub fn liveness(&self) -> &crate::liveness::Liveness {
        self.liveness.get_or_init(|| crate::liveness::Liveness::compute(&self.mir))
    }

    /// The op index where block `b`'s instruction `index` starts, if it exists.
    pub fn pc_of(&self, b: Block, index: u32) -> Option<u32> {
        super::decode::resume_pc(&self.mir, &self.inst_pc, b, index)
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
    /// The runtime functions its `rtcall`s name, bound (indexed by `RtId`).
    pub runtime: Vec<RtEntry>,
    /// Their declarations in the module.
    pub decls: Vec<crate::function::RtDecl>,
    /// The native fast paths of the registry it was loaded with (`guard.native N` names
    /// the N-th).
    pub natives: Vec<super::vm::NativeOp>,
}

impl LoadedModule {
    /// Decodes every function of `module`.
    pub fn new(module: Module, bound: Vec<RtEntry>, consts: Vec<Val>) -> Box<LoadedModule> {
        let mut loaded = Box::new(LoadedModule {
            name: module.name.clone(),
            protos: Vec::new(),
            consts,
            strings: module.strings.clone(),
            runtime: bound.clone(),
            decls: module.runtime.clone(),
            natives: Vec::new(),
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

    /// Decodes `f`, a version of function `index` of this module (its optimized code,
    /// say), into a proto of the module: it runs in the frames of function `index`'s
    /// closures (same parameters), with its own slots, code positions and inline caches.
    pub fn decode_version(&self, f: Function, index: u32) -> Proto {
        let mut p = decode(f, index, &self.runtime, &self.consts, self.name.as_str());
        p.module = self;
        p
    }

    /// The module as MIR again (its functions' generic MIR, strings and runtime
    /// declarations): what passes and the verifier read.
    pub fn to_module(&self) -> Module {
        let mut m = Module::new(self.name.clone());
        for s in &self.strings {
            m.intern(s);
        }
        m.runtime = self.decls.clone();
        m.functions = self.protos.iter().map(|p| p.mir.clone()).collect();
        m
    }

    /// The text of a debug name.
    pub fn string(&self, id: crate::entity::StrId) -> &[u8] {
        &self.strings[id.index()]
    }
}

/// Numbers the instructions that get a lookup cache (see [`Proto::lookup_site`]).
fn lookup_sites(f: &Function, bound: &[RtEntry]) -> Box<[u32]> {
    use crate::function::InstData;
    let mut next = 0u32;
    f.insts
        .iter()
        .map(|node| {
            let InstData::RtCall { rt, args, spread: false, .. } = &node.data else { return u32::MAX };
            let chained = bound.get(rt.index()).is_some_and(|e| e.chain.is_some());
            if chained && args.len() == 2 && f.is_str_const(args[1]) {
                next += 1;
                next - 1
            } else {
                u32::MAX
            }
        })
        .collect()
}

fn decode(f: Function, index: u32, bound: &[RtEntry], consts: &[Val], chunk: *const str) -> Proto {
    let d = super::decode::decode(&f, bound, consts);
    let sites = (0..f.sites).map(|_| SiteProfile::default()).collect();
    let ics: Box<[AtomicU32]> = (0..f.insts.len()).map(|_| AtomicU32::new(0)).collect();
    let lookup_site = lookup_sites(&f, bound);
    let nlookups = lookup_site.iter().filter(|&&n| n != u32::MAX).count();
    let lookups: Box<[std::cell::UnsafeCell<crate::rt::object::LookupCache>]> =
        (0..nlookups).map(|_| std::cell::UnsafeCell::new(Default::default())).collect();
    let refs = f.local_refs();
    let local_consts: Box<[Val]> = refs.strs.iter().map(|s| consts.get(s.index()).copied().unwrap_or(Val::NIL)).collect();
    Proto {
        index,
        code: d.code,
        debug: d.debug,
        inst_pc: d.inst_pc,
        slot_of: d.slot_of,
        nslots: d.nslots,
        nparams: f.params,
        vararg: f.vararg,
        calls: AtomicU32::new(0),
        entry: std::sync::atomic::AtomicUsize::new(0),
        hot_entry: std::sync::atomic::AtomicUsize::new(0),
        first_entry: std::sync::atomic::AtomicUsize::new(0),
        deopts: AtomicU32::new(0),
        backedges: AtomicU32::new(0),
        loop_entries: f.blocks.iter().map(|_| AtomicU32::new(0)).collect(),
        osr_slots: f.blocks.iter().map(|_| std::sync::atomic::AtomicUsize::new(0)).collect(),
        osr_from: Box::new([]),
        sites,
        moves: d.moves,
        origin: d.origin,
        consts_ptr: local_consts.as_ptr(),
        local_consts,
        refs,
        ics_ptr: ics.as_ptr(),
        ics,
        lookup_site,
        lookups_ptr: lookups.as_ptr() as *mut crate::rt::object::LookupCache,
        lookups,
        liveness: std::sync::OnceLock::new(),
        references: std::sync::OnceLock::new(),
        chunk,
        module: std::ptr::null(),
        mir: f,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decoded_ops_stay_small() {
        // Hot ops are dispatched from a dense array: keep them within a cache line's half.
        assert!(std::mem::size_of::<super::Op>() <= 40, "Op is {} bytes", std::mem::size_of::<super::Op>());
    }
}
