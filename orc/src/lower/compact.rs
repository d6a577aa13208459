//! The compact code shape: one host call per op.
//!
//! [`lower_compact`] turns a function into a body of the same signature as the full
//! lowering's (see [`crate::abi`]), but each of its decoded ops (the interpreter's
//! [`Op`]s) becomes one call of [`abi::STEP`], which runs that op in the body's frame as
//! the interpreter does, followed by what the op's result asks for:
//!
//! - a straight-line op or a call: go on to the next op, without a test (once an op
//!   has failed, every later step returns [`abi::STATUS_ERROR`] without running its op,
//!   so the error comes out at the next branch, return or tail call);
//! - a branch: compares of the pc the helper returns, to the LLVM block of the target
//!   (the helper made the block-parameter moves and counted the back edge); a plain
//!   jump without moves to a block that heads no loop is just a `br`;
//! - a return or a tail call: return what the helper returned (a result count,
//!   [`abi::STATUS_TAIL_CALL`] or [`abi::STATUS_ERROR`]).
//!
//! Values stay in their frame slots, where the interpreter keeps them, so nothing
//! needs a register across ops, and a straight run of ops is one block of calls:
//! LLVM compiles it about nine times faster than inline code (`lower_proto`, which
//! keeps values in registers and runs typed fast paths inline). It runs slower than
//! the interpreter (fib 32: 0.75–0.78 s against 0.40–0.43 s), as every op pays a call
//! and the helper's own dispatch on the op; the engine moves a function to inline code
//! when it gets hot, by calls (the body's entry counts them, [`LowerOptions::hot_calls`])
//! or in a long loop (a branch to a loop header leaves for the header's on-stack entry,
//! [`LowerOptions::osr`]).

use std::collections::HashMap;

use inkwell::basic_block::BasicBlock;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::{BasicValue, FunctionValue, InstructionValue, IntValue, PointerValue};
use inkwell::{AddressSpace, IntPredicate};

use lazyjit_ir::interp::proto::{Op, Target};
use lazyjit_ir::interp::Proto;
use lazyjit_ir::Opcode;

use super::{check_shape, LowerError, LowerOptions};
use crate::abi;

/// What an op does to the control flow of compact code.
enum Flow<'o> {
    /// Goes on to the next op (straight-line ops and calls).
    Next,
    /// Goes to one of these targets.
    Branch(Vec<&'o Target>),
    /// Leaves the body with the helper's result (returns and tail calls).
    Leave,
}

fn flow(op: &Op) -> Flow<'_> {
    match op {
        Op::Jump(t) => Flow::Branch(vec![t]),
        Op::Brif { then_t, else_t, .. }
        | Op::BrCmp { then_t, else_t, .. }
        | Op::BrTruthy { then_t, else_t, .. } => Flow::Branch(vec![then_t, else_t]),
        Op::BrLtIF(br) | Op::BrLeIF(br) | Op::BrEqIF(br) => Flow::Branch(vec![&br.then_t, &br.else_t]),
        Op::BrRtFast(br) => Flow::Branch(vec![&br.then_t, &br.else_t]),
        Op::BrCmpStep(st) => Flow::Branch(vec![&st.jump, &st.other]),
        Op::Return { .. } => Flow::Leave,
        Op::Call(call) if call.op == Opcode::TailCall => Flow::Leave,
        _ => Flow::Next,
    }
}

/// Builds the loads and stores compact code makes of its function's fields.
struct Fields<'a, 'ctx> {
    ctx: &'ctx Context,
    b: &'a inkwell::builder::Builder<'ctx>,
}

impl<'ctx> Fields<'_, 'ctx> {
    fn at(&self, base: PointerValue<'ctx>, offset: u64) -> Result<PointerValue<'ctx>, LowerError> {
        let (i8t, i64t) = (self.ctx.i8_type(), self.ctx.i64_type());
        // SAFETY: only builds IR; the offsets are fields of the closure and its function.
        Ok(unsafe { self.b.build_in_bounds_gep(i8t, base, &[i64t.const_int(offset, false)], "")? })
    }

    /// Aligns a load or store of a counter or the dispatch slot. These are Rust atomics
    /// that only the VM's thread writes; plain aligned moves are what x86 does for
    /// relaxed atomics anyway, and LLVM's fast instruction selector has no atomic
    /// operations (it would hand the whole block to the much slower SelectionDAG).
    fn aligned(&self, inst: Option<InstructionValue<'ctx>>, align: u32) -> Result<(), LowerError> {
        let inst = inst.ok_or_else(|| LowerError::Malformed("not an instruction".into()))?;
        inst.set_alignment(align).map_err(|e| LowerError::Unsupported(e.to_string()))
    }

    /// Whether the `u32` counter at `proto + offset` has reached `n`.
    fn reached(&self, proto: PointerValue<'ctx>, offset: u64, n: u32) -> Result<IntValue<'ctx>, LowerError> {
        let i32t = self.ctx.i32_type();
        let count = self.b.build_load(i32t, self.at(proto, offset)?, "")?;
        self.aligned(count.as_instruction_value(), 4)?;
        Ok(self.b.build_int_compare(IntPredicate::UGE, count.into_int_value(), i32t.const_int(n as u64, false), "")?)
    }
}

/// At a body's entry: when the function's call counter (the host counted this call)
/// is exactly `hot`, call `lz_hot`, which moves the function on (to optimized code, or
/// by storing [`lazyjit_ir::interp::Proto::hot_entry`] to its dispatch slot), so that
/// later calls run the hotter tier's code (this one goes on here).
fn count_calls<'ctx>(
    f: &Fields<'_, 'ctx>,
    module: &Module<'ctx>,
    func: FunctionValue<'ctx>,
    vm: PointerValue<'ctx>,
    proto: PointerValue<'ctx>,
    hot: u32,
) -> Result<(), LowerError> {
    let (b, i32t) = (f.b, f.ctx.i32_type());
    let calls = b.build_load(i32t, f.at(proto, abi::PROTO_CALLS_OFFSET)?, "calls")?;
    f.aligned(calls.as_instruction_value(), 4)?;
    let is_hot = b.build_int_compare(IntPredicate::EQ, calls.into_int_value(), i32t.const_int(hot as u64, false), "")?;
    let tier_up = f.ctx.append_basic_block(func, "tier.up");
    let run = f.ctx.append_basic_block(func, "run");
    b.build_conditional_branch(is_hot, tier_up, run)?;
    b.position_at_end(tier_up);
    let ptr = f.ctx.ptr_type(AddressSpace::default());
    let lz_hot = module.add_function(abi::HOT, f.ctx.void_type().fn_type(&[ptr.into(), ptr.into()], false), Some(Linkage::External));
    b.build_call(lz_hot, &[vm.into(), proto.into()], "")?;
    b.build_unconditional_branch(run)?;
    b.position_at_end(run);
    Ok(())
}

/// Lowers `proto` to a module defining `opts.symbol` in the compact shape.
pub fn lower_compact<'ctx>(ctx: &'ctx Context, proto: &Proto, opts: &LowerOptions) -> Result<Module<'ctx>, LowerError> {
    check_shape(proto)?;
    let module = ctx.create_module(&opts.symbol);
    let (i32t, i64t, ptr) = (ctx.i32_type(), ctx.i64_type(), ctx.ptr_type(AddressSpace::default()));
    let func = module.add_function(
        &opts.symbol,
        i64t.fn_type(&[ptr.into(), ptr.into(), ptr.into()], false),
        Some(Linkage::External),
    );
    let step = module.add_function(abi::STEP, i64t.fn_type(&[ptr.into(), i32t.into()], false), Some(Linkage::External));
    let vm = func
        .get_nth_param(0)
        .ok_or_else(|| LowerError::Malformed("body has no parameters".into()))?
        .into_pointer_value();
    vm.set_name("vm");
    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(func, "entry");
    // One LLVM block per MIR block, found by its first op.
    let mir = &proto.mir;
    let code = &proto.code;
    let mut starts: Vec<u32> = Vec::with_capacity(mir.blocks.len());
    // The MIR block and LLVM block starting at each block's first op (every block ends
    // in a terminator, which decodes to an op of its own, so no two blocks share one).
    let mut block_at: HashMap<u32, (usize, BasicBlock<'ctx>)> = HashMap::with_capacity(mir.blocks.len());
    for (bi, block) in mir.blocks.iter().enumerate() {
        let first = block.insts[0];
        let pc = proto.inst_pc[first.index()];
        if pc as usize >= code.len() {
            return Err(LowerError::Malformed(format!("block{bi} starts past the code")));
        }
        starts.push(pc);
        if block_at.insert(pc, (bi, ctx.append_basic_block(func, &format!("block{bi}")))).is_some() {
            return Err(LowerError::Malformed(format!("block{bi} starts at the op of another block")));
        }
    }
    let fail = ctx.append_basic_block(func, "fail");
    b.position_at_end(fail);
    b.build_return(Some(&i64t.const_int(abi::STATUS_ERROR as u64, true)))?;
    b.position_at_end(entry);
    let param = |i: u32| -> Result<PointerValue<'ctx>, LowerError> {
        Ok(func
            .get_nth_param(i)
            .ok_or_else(|| LowerError::Malformed("body has too few parameters".into()))?
            .into_pointer_value())
    };
    let (closure, base) = (param(1)?, param(2)?);
    let fields = Fields { ctx, b: &b };
    let proto_ptr = if opts.hot_calls.is_some() || opts.osr.is_some() {
        Some(b.build_load(ptr, fields.at(closure, abi::CLOSURE_PROTO_OFFSET)?, "proto")?.into_pointer_value())
    } else {
        None
    };
    if let (Some(hot), Some(proto_ptr)) = (opts.hot_calls, proto_ptr) {
        count_calls(&fields, &module, func, vm, proto_ptr, hot)?;
    }
    let entry_end = b.get_insert_block().ok_or_else(|| LowerError::Malformed("no insertion block".into()))?;
    // On-stack replacement: a branch to a loop header goes through a check of the
    // back-edge count, which leaves for the header's on-stack entry when it is hot.
    let mut osr_checks: HashMap<usize, BasicBlock<'ctx>> = HashMap::new();
    let mut osr_check = |bi: usize, header: BasicBlock<'ctx>| -> Result<BasicBlock<'ctx>, LowerError> {
        let (Some(osr), Some(proto_ptr)) = (&opts.osr, proto_ptr) else { return Ok(header) };
        if let Some(&check) = osr_checks.get(&bi) {
            return Ok(check);
        }
        let check = ctx.append_basic_block(func, &format!("osr.check{bi}"));
        let leave = ctx.append_basic_block(func, &format!("osr{bi}"));
        b.position_at_end(check);
        let hot = fields.reached(proto_ptr, abi::PROTO_BACKEDGES_OFFSET, osr.backedges)?;
        b.build_conditional_branch(hot, leave, header)?;
        b.position_at_end(leave);
        let enter = match module.get_function(abi::OSR) {
            Some(f) => f,
            None => module.add_function(
                abi::OSR,
                i64t.fn_type(&[ptr.into(), ptr.into(), ptr.into(), i32t.into()], false),
                Some(Linkage::External),
            ),
        };
        let h = i32t.const_int(bi as u64, false);
        let r = b.build_call(enter, &[vm.into(), closure.into(), base.into(), h.into()], "")?;
        let r = match r.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) if v.is_int_value() => v.into_int_value(),
            _ => return Err(LowerError::Malformed("lz_osr returns no integer".into())),
        };
        // Declined (no entry to take): on to the header in this code.
        let declined = i64t.const_int(abi::STATUS_OSR_DECLINED as u64, true);
        let stay = b.build_int_compare(IntPredicate::EQ, r, declined, "")?;
        let left = ctx.append_basic_block(func, &format!("osr.left{bi}"));
        b.build_conditional_branch(stay, header, left)?;
        b.position_at_end(left);
        b.build_return(Some(&r))?;
        osr_checks.insert(bi, check);
        Ok(check)
    };
    b.position_at_end(entry_end);
    b.build_unconditional_branch(block_at[&starts[mir.entry().index()]].1)?;
    let call_step = |pc: u32| -> Result<IntValue<'ctx>, LowerError> {
        let r = b.build_call(step, &[vm.into(), i32t.const_int(pc as u64, false).into()], "")?;
        match r.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) if v.is_int_value() => Ok(v.into_int_value()),
            _ => Err(LowerError::Malformed(format!("{} returns no integer", abi::STEP))),
        }
    };
    let dom = lazyjit_ir::dominators::DominatorTree::compute(mir);
    for (bi, &start) in starts.iter().enumerate() {
        b.position_at_end(block_at[&start].1);
        let mut pc = start;
        loop {
            let op = code
                .get(pc as usize)
                .ok_or_else(|| LowerError::Malformed(format!("block{bi} runs past the code")))?;
            match flow(op) {
                Flow::Next => {
                    // No test: after a failure, later steps return the error at once.
                    call_step(pc)?;
                    pc += 1;
                }
                Flow::Leave => {
                    let r = call_step(pc)?;
                    b.build_return(Some(&r))?;
                    break;
                }
                Flow::Branch(targets) => {
                    let block_of = |t: &Target| {
                        block_at
                            .get(&t.pc)
                            .map(|&(_, bb)| bb)
                            .ok_or_else(|| LowerError::Malformed(format!("a branch to op {}, not a block", t.pc)))
                    };
                    if let [t] = targets[..] {
                        if t.nmoves == 0 && !t.loop_header {
                            b.build_unconditional_branch(block_of(t)?)?;
                            break;
                        }
                    }
                    let r = call_step(pc)?;
                    let here = b.get_insert_block().ok_or_else(|| LowerError::Malformed("no insertion block".into()))?;
                    let mut cases: Vec<(IntValue<'ctx>, BasicBlock<'ctx>)> = Vec::with_capacity(2);
                    for t in targets {
                        if !cases.iter().any(|(v, _)| v.get_zero_extended_constant() == Some(t.pc as u64)) {
                            let mut dest = block_of(t)?;
                            // Only a back edge (from a block the header dominates) may
                            // leave: entering the loop, nothing of it has run (or been
                            // profiled) yet.
                            let header = block_at[&t.pc].0;
                            if t.loop_header && dom.dominates(lazyjit_ir::Block(header as u32), lazyjit_ir::Block(bi as u32)) {
                                dest = osr_check(header, dest)?;
                            }
                            cases.push((i64t.const_int(t.pc as u64, false), dest));
                        }
                    }
                    // A chain of compares rather than a `switch`: LLVM's fast instruction
                    // selector has no `switch` and would hand the whole block, calls and
                    // all, to the much slower SelectionDAG (2.7x the compile time of a
                    // function whose loops end in one).
                    b.position_at_end(here);
                    for (i, &(pc_value, dest)) in cases.iter().enumerate() {
                        let is = b.build_int_compare(IntPredicate::EQ, r, pc_value, "")?;
                        let otherwise = if i + 1 == cases.len() { fail } else { ctx.append_basic_block(func, "") };
                        b.build_conditional_branch(is, dest, otherwise)?;
                        b.position_at_end(otherwise);
                    }
                    break;
                }
            }
        }
    }
    Ok(module)
}
