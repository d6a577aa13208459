//! The compact code shape: one host call per op.
//!
//! [`lower_compact`] turns a function into a body of the same signature as the full
//! lowering's (see [`crate::abi`]), but each of its decoded ops (the interpreter's
//! [`Op`]s) becomes one call of [`abi::STEP`], which runs that op in the body's frame as
//! the interpreter does, followed by what the op's result asks for:
//!
//! - a straight-line op or a call: go on to the next op, or return
//!   [`abi::STATUS_ERROR`] if the helper failed;
//! - a branch: a `switch` on the pc the helper returns, to the LLVM block of the target
//!   (the helper made the block-parameter moves and counted the back edge); a plain
//!   jump without moves to a block that heads no loop is just a `br`;
//! - a return or a tail call: return what the helper returned (a result count,
//!   [`abi::STATUS_TAIL_CALL`] or [`abi::STATUS_ERROR`]).
//!
//! Values stay in their frame slots, where the interpreter keeps them, so nothing
//! needs a register across ops and the code is about three LLVM instructions per op:
//! LLVM compiles it about seven times faster than inline code (`lower_proto`, which
//! keeps values in registers and runs typed fast paths inline). It runs slower than
//! the interpreter (fib: 0.84 s against 0.38 s), as every op pays a call and the
//! helper's own dispatch on the op; the engine uses it for functions without loops and
//! moves them to inline code when they get hot.

use std::collections::HashMap;

use inkwell::basic_block::BasicBlock;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::IntValue;
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

/// At a body's entry: when the function's call counter (the host counted this call)
/// reaches `hot`, store [`lazyjit_ir::interp::Proto::hot_entry`] to its dispatch slot,
/// so that later calls run the hotter tier's code (this one goes on here).
fn count_calls<'ctx>(
    ctx: &'ctx Context,
    b: &inkwell::builder::Builder<'ctx>,
    func: inkwell::values::FunctionValue<'ctx>,
    closure: inkwell::values::PointerValue<'ctx>,
    hot: u32,
) -> Result<(), LowerError> {
    use inkwell::values::BasicValue;
    use inkwell::AtomicOrdering::Monotonic;
    let (i8t, i32t, i64t, ptr) = (ctx.i8_type(), ctx.i32_type(), ctx.i64_type(), ctx.ptr_type(AddressSpace::default()));
    let field = |base, offset: u64| {
        // SAFETY: only builds IR; the offsets are fields of the closure and its function.
        unsafe { b.build_in_bounds_gep(i8t, base, &[i64t.const_int(offset, false)], "") }
    };
    let atomic = |inst: Option<inkwell::values::InstructionValue<'ctx>>, align: u32| -> Result<(), LowerError> {
        let inst = inst.ok_or_else(|| LowerError::Malformed("not an instruction".into()))?;
        inst.set_atomic_ordering(Monotonic).map_err(|e| LowerError::Unsupported(e.to_string()))?;
        inst.set_alignment(align).map_err(|e| LowerError::Unsupported(e.to_string()))
    };
    let proto = b.build_load(ptr, field(closure, abi::CLOSURE_PROTO_OFFSET)?, "proto")?.into_pointer_value();
    let calls = b.build_load(i32t, field(proto, abi::PROTO_CALLS_OFFSET)?, "calls")?;
    atomic(calls.as_instruction_value(), 4)?;
    let is_hot = b.build_int_compare(IntPredicate::EQ, calls.into_int_value(), i32t.const_int(hot as u64, false), "")?;
    let tier_up = ctx.append_basic_block(func, "tier.up");
    let run = ctx.append_basic_block(func, "run");
    b.build_conditional_branch(is_hot, tier_up, run)?;
    b.position_at_end(tier_up);
    let next = b.build_load(i64t, field(proto, abi::PROTO_HOT_ENTRY_OFFSET)?, "")?;
    atomic(next.as_instruction_value(), 8)?;
    let store = b.build_store(field(proto, abi::PROTO_ENTRY_OFFSET)?, next)?;
    atomic(Some(store), 8)?;
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
    let mut block_at: HashMap<u32, BasicBlock<'ctx>> = HashMap::with_capacity(mir.blocks.len());
    for (bi, block) in mir.blocks.iter().enumerate() {
        let first = block.insts[0];
        let pc = proto.inst_pc[first.index()];
        if pc as usize >= code.len() {
            return Err(LowerError::Malformed(format!("block{bi} starts past the code")));
        }
        starts.push(pc);
        block_at.entry(pc).or_insert_with(|| ctx.append_basic_block(func, &format!("block{bi}")));
    }
    let fail = ctx.append_basic_block(func, "fail");
    b.position_at_end(fail);
    b.build_return(Some(&i64t.const_int(abi::STATUS_ERROR as u64, true)))?;
    b.position_at_end(entry);
    if let Some(hot) = opts.hot_calls {
        let closure = func
            .get_nth_param(1)
            .ok_or_else(|| LowerError::Malformed("body has no closure parameter".into()))?
            .into_pointer_value();
        count_calls(ctx, &b, func, closure, hot)?;
    }
    b.build_unconditional_branch(block_at[&starts[mir.entry().index()]])?;
    let call_step = |pc: u32| -> Result<IntValue<'ctx>, LowerError> {
        let r = b.build_call(step, &[vm.into(), i32t.const_int(pc as u64, false).into()], "")?;
        match r.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) if v.is_int_value() => Ok(v.into_int_value()),
            _ => Err(LowerError::Malformed(format!("{} returns no integer", abi::STEP))),
        }
    };
    let mut lowered = vec![false; code.len()];
    for (bi, &start) in starts.iter().enumerate() {
        if std::mem::replace(&mut lowered[start as usize], true) {
            continue; // an empty block sharing its first op with the next
        }
        b.position_at_end(block_at[&start]);
        let mut pc = start;
        loop {
            let op = code
                .get(pc as usize)
                .ok_or_else(|| LowerError::Malformed(format!("block{bi} runs past the code")))?;
            match flow(op) {
                Flow::Next => {
                    let r = call_step(pc)?;
                    let bad = b.build_int_compare(IntPredicate::SLT, r, i64t.const_zero(), "")?;
                    let next = ctx.append_basic_block(func, "");
                    b.build_conditional_branch(bad, fail, next)?;
                    b.position_at_end(next);
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
                            .copied()
                            .ok_or_else(|| LowerError::Malformed(format!("a branch to op {}, not a block", t.pc)))
                    };
                    if let [t] = targets[..] {
                        if t.nmoves == 0 && !t.loop_header {
                            b.build_unconditional_branch(block_of(t)?)?;
                            break;
                        }
                    }
                    let r = call_step(pc)?;
                    let mut cases: Vec<(IntValue<'ctx>, BasicBlock<'ctx>)> = Vec::with_capacity(2);
                    for t in targets {
                        if !cases.iter().any(|(v, _)| v.get_zero_extended_constant() == Some(t.pc as u64)) {
                            cases.push((i64t.const_int(t.pc as u64, false), block_of(t)?));
                        }
                    }
                    b.build_switch(r, fail, &cases)?;
                    break;
                }
            }
        }
    }
    Ok(module)
}
