//! MIR -> LLVM IR: the baseline tier's code generator.
//!
//! [`lower_proto`] turns one loaded function ([`Proto`]) into an LLVM module that defines
//! one external function, the body, with the calling convention of [`crate::abi`]:
//! `i64 body(ptr vm, ptr closure, ptr base)`. The body runs in the frame the interpreter
//! would use (`base + 16 * slot_of[v]` for value `v`: a tag byte at offset 0 and a
//! payload at offset 8; typed values as boxed values of the matching tag). MIR values
//! are SSA values in LLVM registers (`values.rs`); those the collector, a
//! deoptimization or a helper may read from the frame are also stored to their slots
//! (`framed.rs`).
//!
//! Everything the interpreter does with a Rust call (calls, runtime functions, cells,
//! closures, packs) is a call to a host helper of [`crate::abi`], declared by name in the
//! module; pure typed arithmetic, branches, block-parameter moves, returns and the typed
//! fast paths of runtime calls are inline, and a runtime function's leaf fast path is a
//! direct call tried before the generic one.
//!
//! The code is split by op family: `values.rs` (SSA values and slots), `framed.rs`
//! (which values are stored), `arith.rs` (typed arithmetic, `truthy`/`not`/`tag`,
//! boxes), `objects.rs` (constants, cells, upvalues,
//! closures, packs, varargs, globals), `calls.rs` (`call`, `call.pack`, `tailcall`,
//! `rtcall` with inline fast paths), `control.rs` (`jump`, `brif`, `return`, guards) and
//! `helpers.rs` (helper declarations).

mod arith;
mod calls;
mod compact;
mod control;
mod framed;
mod helpers;
mod objects;
mod values;

use inkwell::basic_block::BasicBlock;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{FloatType, IntType, PointerType};
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use inkwell::AddressSpace;

use lazyjit_ir::interp::{LoadedModule, Proto};
use lazyjit_ir::{Function, Inst, InstData, Opcode, Value};

use crate::abi;

pub use compact::lower_compact;

/// The name of the data symbol at the version's [`Proto`] in the code of a version
/// defining `symbol` (see [`LowerOptions::version`]).
pub fn version_symbol(symbol: &str) -> String {
    format!("{symbol}.version")
}

/// The name of the data symbol at the first inline-cache word of the version in the
/// code of a version defining `symbol` ([`Proto::ICS_OFFSET`]'s target).
pub fn ics_symbol(symbol: &str) -> String {
    format!("{symbol}.ics")
}

/// The name of the data symbol at the first lookup cache of the version in the code of
/// a version defining `symbol` ([`Proto::LOOKUPS_OFFSET`]'s target).
pub fn lookups_symbol(symbol: &str) -> String {
    format!("{symbol}.lookups")
}

/// The name of the data symbol at module function `index`'s [`Proto`] (what a
/// `guard.fn` expects) in the code defining `symbol`.
pub fn function_symbol(symbol: &str, index: usize) -> String {
    format!("{symbol}.fn{index}")
}

/// The name of the data symbol at the [`lazyjit_ir::interp::Native`] of native op
/// `index` (what a `guard.native` expects) in the code defining `symbol`.
pub fn native_symbol(symbol: &str, index: usize) -> String {
    format!("{symbol}.native{index}")
}

/// The data symbols the code of `version` (a version of a function of `loaded`, lowered
/// with [`LowerOptions::version`]) defining `symbol` refers to, with the addresses they
/// stand for: the version, its inline-cache words and lookup caches (their addresses are
/// constants of the code, not loads through the version), and the functions and natives
/// its guards expect.
pub fn version_symbols(symbol: &str, version: &Proto, loaded: &LoadedModule) -> Vec<(String, u64)> {
    let mut symbols = vec![
        (version_symbol(symbol), version as *const Proto as u64),
        (ics_symbol(symbol), version.ics_address()),
        (lookups_symbol(symbol), version.lookups_address()),
    ];
    let (functions, natives) = guarded_targets(&version.mir);
    for k in functions {
        if let Some(p) = loaded.protos.get(k) {
            symbols.push((function_symbol(symbol, k), p as *const Proto as u64));
        }
    }
    for k in natives {
        if let Some(n) = loaded.natives.get(k) {
            symbols.push((native_symbol(symbol, k), n.native as *const lazyjit_ir::interp::Native as u64));
        }
    }
    symbols
}

/// The results of `call.pack`s whose one use is as the spread operand of the
/// instruction right after, a call, a runtime call or a return with at most
/// [`MAX_STAGED`] fixed operands before it (`f(g(x))`, `print(a, g(x))`,
/// `{ f(), g() }`'s `setlist`), each with the slot past the end of the frame its values
/// start at: they stay where the callee returned them, right after the fixed operands
/// where that instruction stages its operands, instead of being gathered into a heap
/// pack and spread again.
fn passed_on_packs(f: &Function) -> Vec<(u32, u64)> {
    use lazyjit_ir::function::SnapSource;
    let mut uses = vec![0u32; f.values.len()];
    for node in &f.insts {
        node.data.for_each_operand(|v| uses[v.index()] += 1);
    }
    for snap in &f.snapshots {
        for (_, source) in &snap.entries {
            if let SnapSource::Value(v) = source {
                uses[v.index()] += 1;
            }
        }
    }
    // The slot (past the frame) each pack's values start at: after the next
    // instruction's fixed operands, which start where that instruction stages them (past
    // room of its own if it is a `call.pack` passed on in turn: walk backwards).
    let mut out: Vec<(u32, u64)> = Vec::new();
    for block in &f.blocks {
        for pair in block.insts.windows(2).rev() {
            let (first, next) = (&f.insts[pair[0].index()], &f.insts[pair[1].index()]);
            let (InstData::Call { op: Opcode::CallPack, .. }, [pack]) = (&first.data, &first.results[..]) else { continue };
            let (args, callee) = match &next.data {
                InstData::Call { op: Opcode::Call | Opcode::CallPack | Opcode::TailCall, callee, args, spread: true, .. } => {
                    (args, Some(callee))
                }
                InstData::RtCall { args, spread: true, .. } | InstData::Return { args, spread: true, .. } => (args, None),
                _ => continue,
            };
            let fixed = args.len().saturating_sub(1);
            if args.last() == Some(pack) && fixed <= MAX_STAGED && callee != Some(pack) && uses[pack.index()] == 1 {
                let base = match (&next.data, &next.results[..]) {
                    (InstData::Call { op: Opcode::CallPack, .. }, [r]) => out.iter().find(|&&(p, _)| p == r.0).map_or(0, |&(_, at)| at),
                    _ => 0,
                };
                out.push((pack.0, base + fixed as u64));
            }
        }
    }
    out
}

/// A pointer to the external data symbol `name`, declared in `module` once.
fn external_data<'ctx>(module: &Module<'ctx>, ty: IntType<'ctx>, name: &str) -> PointerValue<'ctx> {
    module
        .get_global(name)
        .unwrap_or_else(|| {
            let g = module.add_global(ty, None, name);
            g.set_linkage(Linkage::External);
            g
        })
        .as_pointer_value()
}

impl<'ctx> Lowerer<'_, 'ctx> {
    /// The version's inline-cache words (optimized code: at a data symbol, see
    /// [`version_symbols`]) or the running function's (read from it).
    pub(crate) fn ics_ptr(&self) -> Result<PointerValue<'ctx>, LowerError> {
        if self.optimized {
            return Ok(external_data(&self.module, self.t.i8, &ics_symbol(&self.symbol)));
        }
        Ok(self.b.build_load(self.t.ptr, self.offset_ptr(self.proto_ptr, abi::PROTO_ICS_OFFSET)?, "ics")?.into_pointer_value())
    }

    /// The version's lookup caches (optimized code) or the running function's.
    pub(crate) fn lookups_ptr(&self) -> Result<PointerValue<'ctx>, LowerError> {
        if self.optimized {
            return Ok(external_data(&self.module, self.t.i8, &lookups_symbol(&self.symbol)));
        }
        Ok(self.b.build_load(self.t.ptr, self.offset_ptr(self.proto_ptr, abi::PROTO_LOOKUPS_OFFSET)?, "lookups")?.into_pointer_value())
    }

    /// The address of the data symbol `name` (see [`version_symbols`]) as an `i64`.
    pub(crate) fn data_address(&self, name: &str) -> Result<IntValue<'ctx>, LowerError> {
        let p = external_data(&self.module, self.t.i8, name);
        Ok(self.b.build_ptr_to_int(p, self.t.i64, "")?)
    }
}

/// The module functions (`guard.fn`, `is.fn`) and native ops (`guard.native`) the
/// guards and tests of `f` expect, each once, in increasing order.
pub fn guarded_targets(f: &Function) -> (Vec<usize>, Vec<usize>) {
    let (mut functions, mut natives) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    for node in &f.insts {
        if let InstData::UnaryImm { op: Opcode::IsFn, imm, .. } = node.data {
            functions.extend(usize::try_from(imm).ok());
        }
        if let InstData::Guard { op, imm, .. } = node.data {
            let Ok(k) = usize::try_from(imm) else { continue };
            match op {
                Opcode::GuardFn => functions.insert(k),
                Opcode::GuardNative => natives.insert(k),
                _ => false,
            };
        }
    }
    (functions.into_iter().collect(), natives.into_iter().collect())
}

/// How [`lower_proto`] and [`lower_compact`] name and shape their output.
#[derive(Clone, Debug, Default)]
pub struct LowerOptions {
    /// The body function's name (the symbol the module defines).
    pub symbol: String,
    /// Compact shape only: the call count at which the body moves the function on to
    /// [`Proto::hot_entry`] (none: it never does).
    pub hot_calls: Option<u32>,
    /// Compact shape only: on-stack replacement at loop headers (none: never).
    pub osr: Option<OsrExits>,
    /// Inline shape only: an on-stack entry at this loop header (a block number)
    /// instead of a whole function. The body starts at the block, with the frame as the
    /// compact code (or the interpreter) left it at the back edge: block parameters and
    /// every value live there in their slots. Only the blocks reachable from it are
    /// lowered; the body runs the rest of the call and returns as the function does.
    pub osr_entry: Option<u32>,
    /// Inline shape only: the proto is a *version* of a function (its optimized code),
    /// which the body runs as: the prologue makes the frame (pushed for the function)
    /// one of the version (`lz_enter_version`), and the version's own counters,
    /// constants and inline caches are used. Failing guards deoptimize to the function.
    /// The code refers to the version, and to the functions and natives its guards
    /// expect, through the data symbols [`version_symbols`] names: whoever links it
    /// defines them (at those objects' addresses), so the object itself holds no
    /// address of the process and can be kept in the persistent cache.
    pub version: bool,
}

/// Where compact code leaves for inline or optimized code in the middle of a call.
#[derive(Clone, Debug)]
pub struct OsrExits {
    /// On a back edge, once the function's back-edge count ([`Proto::backedges`]) has
    /// reached this, the body leaves for the on-stack entry of the loop header
    /// ([`Proto::osr_slots`], through [`crate::abi::OSR`]) and returns what it returns;
    /// if there is none to take, it goes on to the header.
    pub backedges: u32,
}

/// Why a function could not be lowered.
#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    /// LLVM's IR builder refused an instruction (a bug in the lowering).
    #[error("LLVM IR builder: {0}")]
    Builder(#[from] BuilderError),
    /// The function uses something the baseline tier does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The function is not the well-formed, decoded function the lowering expects
    /// (an inconsistency between the MIR and its decoded form, or MIR the verifier
    /// rejects).
    #[error("malformed function: {0}")]
    Malformed(String),
}

/// The most fixed values a call, tail call, return or spread runtime call stores
/// directly past the frame (or at its base): the host keeps 80 free slots past every
/// frame. More are staged through a temporary pack, so that the host checks the stack.
pub const MAX_STAGED: usize = 64;

/// Lowers `proto` (a function of `module`) to an LLVM module defining one external
/// function `opts.symbol` with the body signature of [`crate::abi`]. The module declares
/// the helpers it calls as external functions named as in [`crate::abi`]. It is not
/// verified here ([`crate::compile_module`] verifies).
pub fn lower_proto<'ctx>(
    ctx: &'ctx Context,
    proto: &Proto,
    module: &LoadedModule,
    opts: &LowerOptions,
) -> Result<Module<'ctx>, LowerError> {
    check_shape(proto)?;
    let llmod = ctx.create_module(&opts.symbol);
    let lowerer = Lowerer::new(ctx, llmod, proto, module, &opts.symbol, opts.version)?;
    match opts.osr_entry {
        None => lowerer.run(None),
        Some(h) if (h as usize) < proto.mir.blocks.len() && proto.mir.blocks[h as usize].loop_header => {
            lowerer.run(Some(lazyjit_ir::Block(h)))
        }
        Some(h) => Err(LowerError::Malformed(format!("on-stack entry at block{h}, which heads no loop"))),
    }
}

/// Checks the invariants the lowering relies on, so that inconsistent input is an error
/// rather than a panic: decoded tables match the MIR, every block ends in exactly one
/// terminator.
fn check_shape(proto: &Proto) -> Result<(), LowerError> {
    let f = &proto.mir;
    if f.blocks.is_empty() {
        return Err(LowerError::Malformed("no blocks".into()));
    }
    if proto.slot_of.len() != f.values.len() {
        return Err(LowerError::Malformed(
            "slot table does not match the values".into(),
        ));
    }
    if proto.inst_pc.len() != f.insts.len() {
        return Err(LowerError::Malformed(
            "pc table does not match the instructions".into(),
        ));
    }
    for (bi, b) in f.blocks.iter().enumerate() {
        let Some((last, body)) = b.insts.split_last() else {
            return Err(LowerError::Malformed(format!("block{bi} is empty")));
        };
        for &i in b.insts.iter() {
            if i.index() >= f.insts.len() {
                return Err(LowerError::Malformed(format!(
                    "block{bi} lists a missing instruction {i}"
                )));
            }
        }
        if !f.insts[last.index()].data.opcode().is_terminator() {
            return Err(LowerError::Malformed(format!(
                "block{bi} does not end in a terminator"
            )));
        }
        if let Some(&i) = body
            .iter()
            .find(|&&i| f.insts[i.index()].data.opcode().is_terminator())
        {
            return Err(LowerError::Malformed(format!(
                "block{bi}: terminator {i} in the middle"
            )));
        }
    }
    Ok(())
}

/// Swaps block numbers `0` and `first` (so that `first` becomes the entry).
fn relabel(b: lazyjit_ir::Block, first: lazyjit_ir::Block) -> lazyjit_ir::Block {
    if b == first {
        lazyjit_ir::Block(0)
    } else if b.index() == 0 {
        first
    } else {
        b
    }
}

/// The dominator tree of `f`'s control flow entered at block `first`, over blocks
/// numbered by [`relabel`].
fn entered_at(f: &Function, first: lazyjit_ir::Block) -> lazyjit_ir::dominators::DominatorTree {
    let n = f.blocks.len();
    let mut succs: Vec<Vec<lazyjit_ir::Block>> = vec![Vec::new(); n];
    for (bi, block) in f.blocks.iter().enumerate() {
        let Some(&last) = block.insts.last() else { continue };
        let from = relabel(lazyjit_ir::Block(bi as u32), first).index();
        succs[from] = f.insts[last.index()].data.successors().iter().map(|bc| relabel(bc.block, first)).collect();
    }
    lazyjit_ir::dominators::DominatorTree::from_successors(&succs)
}

/// Entering at `first` (with `dom` its dominator tree, see [`entered_at`]): the values
/// defined in the `lowered` blocks whose definitions do not dominate all their uses
/// there. An outer loop's values, say, which the original entry defines before an
/// inner loop and the entered code redefines after it. (Values defined outside the
/// lowered blocks come from the frame at the entry.)
fn undominated_values(
    f: &Function,
    dom: &lazyjit_ir::dominators::DominatorTree,
    first: lazyjit_ir::Block,
    lowered: &[bool],
) -> Vec<Value> {
    let mut def_block: Vec<Option<lazyjit_ir::Block>> = vec![None; f.values.len()];
    for (bi, block) in f.blocks.iter().enumerate().filter(|(bi, _)| lowered[*bi]) {
        let b = lazyjit_ir::Block(bi as u32);
        for &p in &block.params {
            def_block[p.index()] = Some(b);
        }
        for &inst in &block.insts {
            for &r in &f.insts[inst.index()].results {
                def_block[r.index()] = Some(b);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = vec![false; f.values.len()];
    for (bi, block) in f.blocks.iter().enumerate().filter(|(bi, _)| lowered[*bi]) {
        let user = lazyjit_ir::Block(bi as u32);
        for &inst in &block.insts {
            f.insts[inst.index()].data.for_each_operand(|v| {
                let Some(def) = def_block[v.index()] else { return };
                if def != user && !dom.dominates(relabel(def, first), relabel(user, first)) && !seen[v.index()] {
                    seen[v.index()] = true;
                    out.push(v);
                }
            });
        }
    }
    out
}

/// LLVM types the lowering uses.
#[derive(Clone, Copy)]
pub(crate) struct Types<'ctx> {
    pub i8: IntType<'ctx>,
    pub i32: IntType<'ctx>,
    pub i64: IntType<'ctx>,
    pub f64: FloatType<'ctx>,
    pub ptr: PointerType<'ctx>,
}

/// The state of lowering one function.
pub(crate) struct Lowerer<'a, 'ctx> {
    pub ctx: &'ctx Context,
    pub module: Module<'ctx>,
    pub b: Builder<'ctx>,
    pub t: Types<'ctx>,
    pub func: FunctionValue<'ctx>,
    pub proto: &'a Proto,
    pub loaded: &'a LoadedModule,
    pub mir: &'a Function,
    /// The body's parameters.
    pub vm: PointerValue<'ctx>,
    pub closure: PointerValue<'ctx>,
    pub base: PointerValue<'ctx>,
    /// One LLVM block per MIR block.
    pub blocks: Vec<BasicBlock<'ctx>>,
    /// Returns [`abi::STATUS_ERROR`] (created on first use).
    fail_block: Option<BasicBlock<'ctx>>,
    /// Per snapshot, the exit its failing guards share (see `Lowerer::lower_guard`) and
    /// the `phi` of the failing guard's op.
    pub(crate) deopt_exits: std::collections::HashMap<u32, (BasicBlock<'ctx>, inkwell::values::PhiValue<'ctx>)>,
    /// A stack array of values for runtime-call arguments and closure cells.
    pub scratch: PointerValue<'ctx>,
    /// A stack value (the callee of a tail call, saved before the frame is overwritten).
    pub tmp_val: PointerValue<'ctx>,
    /// Stack `i32`s for helper outputs (result counts, staged pack sizes).
    pub count_a: PointerValue<'ctx>,
    pub count_b: PointerValue<'ctx>,
    /// The running function (`closure->proto`), loaded once at entry.
    pub proto_ptr: PointerValue<'ctx>,
    /// The LLVM values of MIR values (see `values.rs`).
    pub ssa: values::Ssa<'ctx>,
    /// The instruction being lowered.
    pub cur: Inst,
    /// Per value a `guard.fn` checks, the module function it checked for (calls of it
    /// push the frame themselves, see `Lowerer::lower_call`).
    pub(crate) known_callees: std::collections::HashMap<u32, usize>,
    /// Optimized code: the back edges (latch, header) that test only for an interrupt,
    /// or (`true`) not even for one (see [`framed::quiet_back_edges`]).
    pub(crate) quiet_back_edges: std::collections::HashMap<(u32, u32), bool>,
    /// The MIR block being lowered.
    pub(crate) cur_block: u32,
    /// Per value a `guard.fn` earlier in the block being lowered has checked, the module
    /// function it checked for: a call of it there needs no check of its own.
    pub(crate) proven_callees: std::collections::HashMap<u32, usize>,
    /// The `call.pack` results ([`passed_on_packs`]) left where their callee returned
    /// them: the slot past the end of the frame they start at, and their count once
    /// lowered.
    pub(crate) passed_on: std::collections::HashMap<u32, (u64, Option<IntValue<'ctx>>)>,
    /// The code is a version's (optimized code): every plain call tries the direct way.
    pub(crate) optimized: bool,
    /// The symbol the module defines (names the data symbols of [`version_symbols`]).
    pub(crate) symbol: String,
}

impl<'a, 'ctx> Lowerer<'a, 'ctx> {
    fn new(
        ctx: &'ctx Context,
        module: Module<'ctx>,
        proto: &'a Proto,
        loaded: &'a LoadedModule,
        symbol: &str,
        version: bool,
    ) -> Result<Self, LowerError> {
        let t = Types {
            i8: ctx.i8_type(),
            i32: ctx.i32_type(),
            i64: ctx.i64_type(),
            f64: ctx.f64_type(),
            ptr: ctx.ptr_type(AddressSpace::default()),
        };
        let fn_type = t
            .i64
            .fn_type(&[t.ptr.into(), t.ptr.into(), t.ptr.into()], false);
        let func = module.add_function(symbol, fn_type, Some(Linkage::External));
        let param = |i: u32| -> Result<PointerValue<'ctx>, LowerError> {
            Ok(func
                .get_nth_param(i)
                .ok_or_else(|| LowerError::Malformed("body has too few parameters".into()))?
                .into_pointer_value())
        };
        let (vm, closure, base) = (param(0)?, param(1)?, param(2)?);
        vm.set_name("vm");
        closure.set_name("closure");
        base.set_name("base");
        let b = ctx.create_builder();
        let entry = ctx.append_basic_block(func, "entry");
        let blocks: Vec<BasicBlock<'ctx>> = (0..proto.mir.blocks.len())
            .map(|i| ctx.append_basic_block(func, &format!("block{i}")))
            .collect();
        b.position_at_end(entry);
        // Static allocas, in the entry block.
        let nscratch = scratch_size(&proto.mir).max(1) as u32;
        let scratch = b.build_alloca(t.i64.array_type(2 * nscratch), "scratch")?;
        let tmp_val = b.build_alloca(t.i64.array_type(2), "tmpval")?;
        let count_a = b.build_alloca(t.i32, "count_a")?;
        let count_b = b.build_alloca(t.i32, "count_b")?;
        let proto_ptr = match version {
            false => {
                // SAFETY: only builds IR; the offset stays within the closure object.
                let proto_field = unsafe {
                    b.build_in_bounds_gep(t.i8, closure, &[t.i64.const_int(abi::CLOSURE_PROTO_OFFSET, false)], "")?
                };
                b.build_load(t.ptr, proto_field, "proto")?.into_pointer_value()
            }
            true => {
                let p = external_data(&module, t.i8, &version_symbol(symbol));
                let enter = module.add_function(
                    abi::ENTER_VERSION,
                    t.i64.fn_type(&[t.ptr.into(), t.ptr.into()], false),
                    Some(Linkage::External),
                );
                let go = ctx.append_basic_block(func, "enter");
                if proto.osr_from.is_empty() && !proto.vararg {
                    // A version entered by calls: the frame becomes the version's here,
                    // unless the value stack has no room for it (the helper reports that).
                    let at = |base: PointerValue<'ctx>, offset: u64| -> Result<PointerValue<'ctx>, LowerError> {
                        // SAFETY: only builds IR; the offsets are fields of the VM and a frame.
                        Ok(unsafe { b.build_in_bounds_gep(t.i8, base, &[t.i64.const_int(offset, false)], "")? })
                    };
                    let len = b.build_load(t.i64, at(vm, abi::VM_FRAMES_LEN_OFFSET)?, "frames")?.into_int_value();
                    let frames = b.build_load(t.ptr, at(vm, abi::VM_FRAMES_PTR_OFFSET)?, "")?.into_pointer_value();
                    let last = b.build_int_sub(len, t.i64.const_int(1, false), "")?;
                    let offset = b.build_int_mul(last, t.i64.const_int(abi::FRAME_SIZE, false), "")?;
                    // SAFETY: only builds IR; the innermost frame record.
                    let frame = unsafe { b.build_in_bounds_gep(t.i8, frames, &[offset], "frame")? };
                    let base_slot = b.build_load(t.i64, at(frame, abi::FRAME_BASE_OFFSET)?, "")?.into_int_value();
                    let room = proto.nslots as u64 + 16 + abi::VM_STACK_MARGIN;
                    let end = b.build_int_add(base_slot, t.i64.const_int(room, false), "")?;
                    let slots = b.build_load(t.i64, at(vm, abi::VM_STACK_SLOTS_OFFSET)?, "")?.into_int_value();
                    let fits = b.build_int_compare(inkwell::IntPredicate::ULE, end, slots, "")?;
                    let (fast, slow) = (ctx.append_basic_block(func, "enter.fast"), ctx.append_basic_block(func, "enter.slow"));
                    b.build_conditional_branch(fits, fast, slow)?;
                    b.position_at_end(fast);
                    b.build_store(at(frame, abi::FRAME_PROTO_OFFSET)?, p)?;
                    let top = b.build_int_add(base_slot, t.i64.const_int(proto.nslots as u64, false), "")?;
                    b.build_store(at(vm, abi::VM_TOP_OFFSET)?, top)?;
                    b.build_unconditional_branch(go)?;
                    b.position_at_end(slow);
                }
                let status = match b.build_call(enter, &[vm.into(), p.into()], "")?.try_as_basic_value() {
                    inkwell::values::ValueKind::Basic(v) if v.is_int_value() => v.into_int_value(),
                    _ => return Err(LowerError::Malformed("lz_enter_version returns no status".into())),
                };
                let failed = b.build_int_compare(inkwell::IntPredicate::SLT, status, t.i64.const_zero(), "")?;
                let fail = ctx.append_basic_block(func, "enter.fail");
                b.build_conditional_branch(failed, fail, go)?;
                b.position_at_end(fail);
                b.build_return(Some(&status))?;
                b.position_at_end(go);
                p
            }
        };
        Ok(Lowerer {
            ctx,
            module,
            b,
            t,
            func,
            proto,
            loaded,
            mir: &proto.mir,
            vm,
            closure,
            base,
            blocks,
            fail_block: None,
            deopt_exits: std::collections::HashMap::new(),
            scratch,
            tmp_val,
            count_a,
            count_b,
            proto_ptr,
            ssa: values::Ssa::new(proto.mir.values.len(), framed::framed_values(proto)),
            cur: Inst(0),
            optimized: version,
            symbol: symbol.to_string(),
            passed_on: passed_on_packs(&proto.mir).into_iter().map(|(v, slot)| (v, (slot, None))).collect(),
            proven_callees: std::collections::HashMap::new(),
            quiet_back_edges: if version { framed::quiet_back_edges(proto) } else { Default::default() },
            cur_block: 0,
            known_callees: proto
                .mir
                .blocks
                .iter()
                .flat_map(|b| &b.insts)
                .filter_map(|&i| match proto.mir.insts[i.index()].data {
                    lazyjit_ir::InstData::Guard { op: lazyjit_ir::Opcode::GuardFn, arg, imm, .. } => Some((arg.0, usize::try_from(imm).ok()?)),
                    _ => None,
                })
                .collect(),
        })
    }

    /// Lowers every block and returns the module.
    ///
    /// Blocks go in reverse postorder (definitions before the uses they dominate);
    /// unreachable blocks get an `unreachable` terminator.
    ///
    /// With `start` (an on-stack entry, see [`LowerOptions::osr_entry`]), the body
    /// enters that block: its parameters and the values live at its start are loaded
    /// from their slots; only the blocks reachable from it are lowered.
    fn run(mut self, start: Option<lazyjit_ir::Block>) -> Result<Module<'ctx>, LowerError> {
        let mir = self.mir;
        // The entry code (`new` left the builder at its end) ends here.
        let entry = self
            .b
            .get_insert_block()
            .ok_or_else(|| LowerError::Malformed("no entry block".into()))?;
        self.make_phis()?;
        // The entry edge: the parameters (and, entering a loop header, the values live
        // there) arrive in their slots.
        let first = start.unwrap_or(mir.entry());
        self.b.position_at_end(entry);
        let params = &mir.blocks[first.index()].params;
        for &p in params {
            let (tag, payload) = self.load_raw(self.value_ptr(p)?)?;
            self.param_incoming(p, tag, payload, entry)?;
        }
        if start.is_some() {
            let live = self.proto.liveness().live_before(mir, first, 0);
            for v in live.iter().map(Value::new).filter(|v| !params.contains(v)) {
                let (tag, payload) = self.load_raw(self.value_ptr(v)?)?;
                self.record(v, tag, payload)?;
            }
        }
        self.b.build_unconditional_branch(self.blocks[first.index()])?;
        let dom = entered_at(mir, first);
        // The blocks reachable from `first` (all, from the entry); only they are lowered.
        let lowered: Vec<bool> =
            (0..mir.blocks.len()).map(|bi| dom.is_reachable(relabel(lazyjit_ir::Block(bi as u32), first))).collect();
        if start.is_some() {
            for v in undominated_values(mir, &dom, first, &lowered) {
                self.ssa.keep_in_memory(v);
            }
        }
        // `dom` numbers blocks as `relabel` does; undo it.
        let order: Vec<lazyjit_ir::Block> = dom.reverse_postorder().iter().map(|&b| relabel(b, first)).collect();
        for block in order {
            let bi = block.index();
            self.b.position_at_end(self.blocks[bi]);
            self.cur_block = bi as u32;
            self.begin_block(bi)?;
            for &inst in &mir.blocks[bi].insts {
                self.cur = inst;
                self.lower_inst(inst)?;
            }
        }
        for bi in (0..mir.blocks.len()).filter(|&bi| !lowered[bi]) {
            self.b.position_at_end(self.blocks[bi]);
            self.b.build_unreachable()?;
        }
        Ok(self.module)
    }

    /// Lowers one instruction at the builder's position.
    fn lower_inst(&mut self, inst: Inst) -> Result<(), LowerError> {
        let node = &self.mir.insts[inst.index()];
        let results = &node.results;
        let op = node.data.opcode();
        match (&node.data, op) {
            (InstData::Const { imm, .. }, _) => {
                self.lower_const(op, *imm, self.result(results, 0)?)
            }
            (
                InstData::Unary { arg, .. },
                Opcode::BoxInt
                | Opcode::BoxFloat
                | Opcode::BoxBool
                | Opcode::UnboxInt
                | Opcode::UnboxFloat
                | Opcode::UnboxBool,
            ) => self.lower_copy(*arg, self.result(results, 0)?),
            (InstData::Unary { arg, .. }, Opcode::PackLen) => {
                self.lower_pack_len(*arg, self.result(results, 0)?)
            }
            (InstData::Unary { arg, .. }, Opcode::CellNew) => {
                self.lower_cell_new(*arg, self.result(results, 0)?)
            }
            (InstData::Unary { arg, .. }, Opcode::CellGet) => {
                self.lower_cell_get(*arg, self.result(results, 0)?)
            }
            (InstData::Unary { arg, .. }, Opcode::ArrLen) => {
                self.lower_arr_len(*arg, self.result(results, 0)?)
            }
            (InstData::Unary { arg, .. }, Opcode::MetaNil) => {
                self.lower_meta_nil(*arg, self.result(results, 0)?)
            }
            (InstData::Binary { args, .. }, Opcode::ArrGet) => {
                self.lower_arr_get(args[0], args[1], self.result(results, 0)?)
            }
            (InstData::Ternary { args, .. }, Opcode::ArrSet) => {
                self.lower_arr_set(args[0], args[1], args[2])
            }
            (InstData::Binary { args, .. }, Opcode::ArrGetInt | Opcode::ArrGetFloat | Opcode::ArrGetBool) => {
                let tag = op.element_tag().ok_or_else(|| LowerError::Malformed(format!("{} has no element tag", op.mnemonic())))?;
                self.lower_arr_get_payload(args[0], args[1], self.result(results, 0)?, tag)
            }
            (InstData::Ternary { args, .. }, Opcode::ArrSetInt | Opcode::ArrSetFloat | Opcode::ArrSetBool) => {
                self.lower_arr_set_payload(args[0], args[1], args[2])
            }
            (InstData::Ternary { args, .. }, Opcode::HashSet) => {
                self.lower_hash_set(args[0], args[1], args[2])
            }
            (InstData::Binary { args, .. }, Opcode::HashFind) => {
                self.lower_hash_find(args[0], args[1], self.result(results, 0)?)
            }
            (InstData::Binary { args, .. }, Opcode::HashGet) => {
                self.lower_hash_get(args[0], args[1], self.result(results, 0)?)
            }
            (InstData::Ternary { args, .. }, Opcode::ArrPush | Opcode::ArrPushInt | Opcode::ArrPushFloat | Opcode::ArrPushBool) => {
                self.lower_arr_push(args[0], args[1], args[2], self.result(results, 0)?, op.element_tag())
            }
            (InstData::Unary { arg, .. }, _) => {
                self.lower_unary(op, *arg, self.result(results, 0)?)
            }
            (InstData::Binary { args, .. }, Opcode::ArrReserve) => {
                self.lower_arr_reserve(args[0], args[1])
            }
            (InstData::Binary { args, .. }, Opcode::CellSet) => {
                self.lower_cell_set(args[0], args[1])
            }
            (InstData::Binary { args, .. }, _) => {
                self.lower_binary(op, args[0], args[1], self.result(results, 0)?)
            }
            (InstData::Nullary { .. }, Opcode::Varargs) => {
                self.lower_varargs(self.result(results, 0)?)
            }
            (InstData::Nullary { .. }, Opcode::Globals) => {
                self.lower_globals(self.result(results, 0)?)
            }
            (InstData::NullaryImm { imm, .. }, Opcode::Upval) => {
                self.lower_upval(*imm, self.result(results, 0)?)
            }
            (InstData::UnaryImm { arg, imm, .. }, Opcode::IsFn) => {
                self.lower_is_fn(*arg, *imm, self.result(results, 0)?)
            }
            (InstData::UnaryImm { arg, imm, .. }, Opcode::ClosureCell) => {
                self.lower_closure_cell(*arg, *imm, self.result(results, 0)?)
            }
            (InstData::UnaryImm { arg, imm, .. }, Opcode::PackGet) => {
                self.lower_pack_get(*arg, *imm, self.result(results, 0)?)
            }
            (InstData::Closure { func, args, .. }, Opcode::Closure) => {
                self.lower_closure(func.0, args, self.result(results, 0)?)
            }
            (
                InstData::Call {
                    callee,
                    args,
                    spread,
                    site,
                    ..
                },
                Opcode::Call | Opcode::CallPack | Opcode::TailCall,
            ) => self.lower_call(op, *callee, args, *spread, *site, results),
            (
                InstData::RtCall {
                    rt,
                    args,
                    spread,
                    site,
                    ..
                },
                Opcode::RtCall,
            ) => self.lower_rtcall(*rt, args, *spread, *site, self.result(results, 0)?),
            (InstData::Jump { dest, .. }, Opcode::Jump) => self.lower_jump(dest),
            (
                InstData::Brif {
                    cond,
                    then_dest,
                    else_dest,
                    ..
                },
                Opcode::Brif,
            ) => self.lower_brif(*cond, then_dest, else_dest),
            (InstData::Return { args, spread, .. }, Opcode::Return) => {
                self.lower_return(args, *spread)
            }
            (InstData::Guard { arg, imm, snap, .. }, Opcode::Guard | Opcode::GuardTag | Opcode::GuardElems | Opcode::GuardFn | Opcode::GuardNative) => {
                self.lower_guard(op, *arg, *imm, snap.0)
            }
            (data, op) => Err(LowerError::Malformed(format!(
                "{}: operands {:?} do not fit the opcode",
                op.mnemonic(),
                std::mem::discriminant(data)
            ))),
        }
    }

    /// Result `i` of the current instruction.
    fn result(&self, results: &[Value], i: usize) -> Result<Value, LowerError> {
        results.get(i).copied().ok_or_else(|| {
            LowerError::Malformed(format!(
                "{} has no result {i}",
                self.mir.insts[self.cur.index()].data.opcode().mnemonic()
            ))
        })
    }

    /// The current instruction's `pc` (its decoded op index), as helpers take it.
    pub(crate) fn pc(&self) -> Result<u32, LowerError> {
        self.inst_pc(self.cur)
    }

    /// The decoded op index of instruction `inst`.
    pub(crate) fn inst_pc(&self, inst: Inst) -> Result<u32, LowerError> {
        match self.proto.inst_pc.get(inst.index()) {
            Some(&pc) if pc != u32::MAX => Ok(pc),
            _ => Err(LowerError::Malformed(format!(
                "{inst} has no decoded position"
            ))),
        }
    }

    /// The block that returns [`abi::STATUS_ERROR`].
    pub(crate) fn fail_block(&mut self) -> Result<BasicBlock<'ctx>, LowerError> {
        if let Some(bb) = self.fail_block {
            return Ok(bb);
        }
        let bb = self.ctx.append_basic_block(self.func, "fail");
        let here = self.b.get_insert_block();
        self.b.position_at_end(bb);
        self.b
            .build_return(Some(&self.t.i64.const_int(abi::STATUS_ERROR as u64, true)))?;
        if let Some(h) = here {
            self.b.position_at_end(h);
        }
        self.fail_block = Some(bb);
        Ok(bb)
    }

    /// The LLVM block the builder is in.
    pub(crate) fn current_block(&self) -> Result<BasicBlock<'ctx>, LowerError> {
        self.b
            .get_insert_block()
            .ok_or_else(|| LowerError::Malformed("builder not positioned".into()))
    }

    /// A new LLVM block (for code within one instruction).
    pub(crate) fn new_block(&self, name: &str) -> BasicBlock<'ctx> {
        self.ctx.append_basic_block(self.func, name)
    }
}

/// The number of values the scratch array must hold: the most arguments of a runtime
/// call that does not spread, the most cells of a closure, and the most fixed values
/// staged through a temporary pack (more than [`MAX_STAGED`]).
fn scratch_size(f: &Function) -> usize {
    let big = |n: usize| if n > MAX_STAGED { n } else { 0 };
    f.blocks
        .iter()
        .flat_map(|b| b.insts.iter())
        .filter_map(|i| f.insts.get(i.index()))
        .map(|node| match &node.data {
            InstData::RtCall {
                args,
                spread: false,
                ..
            } => args.len(),
            InstData::RtCall {
                args, spread: true, ..
            }
            | InstData::Call {
                args, spread: true, ..
            }
            | InstData::Return {
                args, spread: true, ..
            } => big(args.len().saturating_sub(1)),
            InstData::Call { args, .. } | InstData::Return { args, .. } => big(args.len()),
            InstData::Closure { args, .. } => args.len(),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}
