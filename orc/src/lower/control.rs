//! `jump`, `brif`, `return`, `guard`, `guard.tag`.
//!
//! A branch stores its arguments to the target's parameter slots (as the interpreter's
//! moves; a parameter passed its own slot costs nothing) and feeds the target's `phi`s,
//! then, if the target is a loop header, counts the back-edge and offers a safepoint
//! through `lz_backedge` with the target's first op as the frame's position (after the
//! stores, as the interpreter does: the collector then sees the target's live values in
//! their slots). A `brif` whose targets take arguments or head loops gets one edge block
//! per such target, so that every `phi` has one incoming block per edge.

use inkwell::values::BasicValue;
use inkwell::IntPredicate;

use lazyjit_ir::{BlockCall, Opcode, Value};

use super::helpers::Helper;
use super::{LowerError, Lowerer, MAX_STAGED};
use crate::abi;

impl<'ctx> Lowerer<'_, 'ctx> {
    /// The edge to `bc`: passes the arguments to the target's parameters, counts the
    /// back edge of a loop header (a safepoint, with the parameters in their slots) and
    /// branches.
    fn emit_edge(&mut self, bc: &BlockCall) -> Result<(), LowerError> {
        let bi = bc.block.index();
        let target = self
            .mir
            .blocks
            .get(bi)
            .ok_or_else(|| LowerError::Malformed(format!("branch to missing {}", bc.block)))?;
        let vals = self.branch_args(bi, &bc.args)?;
        self.store_args(bi, &bc.args, &vals)?;
        if target.loop_header {
            let first = *target
                .insts
                .first()
                .ok_or_else(|| LowerError::Malformed(format!("{} is empty", bc.block)))?;
            let pc = self.inst_pc(first)?;
            match self.quiet_back_edges.get(&(self.cur_block, bi as u32)) {
                Some(true) => {}
                Some(false) => self.poll_interrupt(pc)?,
                None => self.count_backedge(pc)?,
            }
        }
        self.add_incoming(bi, &vals)?;
        self.b.build_unconditional_branch(self.blocks[bi])?;
        Ok(())
    }

    /// Counts a back edge in the function's counter and, if the heap wants a
    /// collection, calls the safepoint (`lz_backedge`, the frame at `pc`). Optimized code
    /// does not count: nothing moves it on, and a loop without stores keeps what it
    /// reads from the heap in registers (the count is a store LLVM would have to assume
    /// aliases them).
    ///
    /// The counter (a Rust `AtomicU32` only the VM's thread writes) is read and written
    /// with plain aligned moves, which is what x86 does for relaxed atomics anyway: LLVM's
    /// fast instruction selector has no atomic operations and would hand the whole
    /// block to the much slower SelectionDAG.
    fn count_backedge(&mut self, pc: u32) -> Result<(), LowerError> {
        if !self.optimized {
            self.bump_backedges()?;
        }
        let collect = self.new_block("gc");
        let cont = self.new_block("gc.done");
        self.b.build_conditional_branch(self.no_collection_due()?, cont, collect)?;
        self.b.position_at_end(collect);
        self.call_checked(
            Helper::Backedge,
            &[self.vm.into(), self.i32c(pc as i64).into()],
        )?;
        self.b.build_unconditional_branch(cont)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// The back edge of a loop whose trips reach no safepoint: if the run is being
    /// interrupted, `lz_backedge` (at `pc`) reports it and the body returns; the loop
    /// goes on otherwise. No call is on the loop's cycle. The flag is read with a
    /// volatile load, which LLVM keeps in the loop.
    fn poll_interrupt(&mut self, pc: u32) -> Result<(), LowerError> {
        let (stop, cont) = (self.new_block("interrupt"), self.new_block("interrupt.none"));
        let flag = self.b.build_load(self.t.ptr, self.offset_ptr(self.vm, abi::VM_INTERRUPT_FLAG_OFFSET)?, "")?.into_pointer_value();
        let set = self.b.build_load(self.t.i8, flag, "interrupted")?;
        set.as_instruction_value()
            .ok_or_else(|| LowerError::Malformed("load".into()))?
            .set_volatile(true)
            .map_err(|e| LowerError::Unsupported(e.to_string()))?;
        let none = self.b.build_int_compare(IntPredicate::EQ, set.into_int_value(), self.t.i8.const_zero(), "")?;
        self.b.build_conditional_branch(none, cont, stop)?;
        self.b.position_at_end(stop);
        // An interrupt makes `lz_backedge` fail (its check sees the flag, which stays set).
        self.call_checked(Helper::Backedge, &[self.vm.into(), self.i32c(pc as i64).into()])?;
        self.b.build_return(Some(&self.t.i64.const_int(abi::STATUS_ERROR as u64, true)))?;
        self.b.position_at_end(cont);
        Ok(())
    }

    /// Adds one to the function's back-edge counter.
    fn bump_backedges(&mut self) -> Result<(), LowerError> {
        let counter = self.offset_ptr(self.proto_ptr, abi::PROTO_BACKEDGES_OFFSET)?;
        let n = self.b.build_load(self.t.i32, counter, "")?;
        n.as_instruction_value()
            .ok_or_else(|| LowerError::Malformed("load".into()))?
            .set_alignment(4)
            .map_err(|e| LowerError::Unsupported(e.to_string()))?;
        let next = self.b.build_int_add(n.into_int_value(), self.i32c(1), "")?;
        self.b
            .build_store(counter, next)?
            .set_alignment(4)
            .map_err(|e| LowerError::Unsupported(e.to_string()))?;
        Ok(())
    }

    /// `jump`.
    pub(crate) fn lower_jump(&mut self, dest: &BlockCall) -> Result<(), LowerError> {
        self.emit_edge(dest)
    }

    /// `brif`: an edge block for a target with parameters or a loop header (so that
    /// each `phi` has one incoming block per edge).
    pub(crate) fn lower_brif(
        &mut self,
        cond: Value,
        then_dest: &BlockCall,
        else_dest: &BlockCall,
    ) -> Result<(), LowerError> {
        let c = self.load_bool(cond)?;
        let mut edges = Vec::new();
        let mut target = |this: &mut Self, bc: &BlockCall, name: &str| -> Result<_, LowerError> {
            let block =
                this.mir.blocks.get(bc.block.index()).ok_or_else(|| {
                    LowerError::Malformed(format!("branch to missing {}", bc.block))
                })?;
            if !block.params.is_empty() || block.loop_header {
                let bb = this.new_block(name);
                edges.push((bb, bc.clone()));
                Ok(bb)
            } else {
                Ok(this.blocks[bc.block.index()])
            }
        };
        let then_bb = target(self, then_dest, "then.edge")?;
        let else_bb = target(self, else_dest, "else.edge")?;
        self.b.build_conditional_branch(c, then_bb, else_bb)?;
        for (bb, bc) in edges {
            self.b.position_at_end(bb);
            self.emit_edge(&bc)?;
        }
        Ok(())
    }

    pub(crate) fn lower_return(&mut self, args: &[Value], spread: bool) -> Result<(), LowerError> {
        if spread || args.len() > MAX_STAGED {
            let (at, n) = self.stage_args(args, spread)?;
            self.copy_down(at, self.base, n)?;
            let n64 = self.b.build_int_z_extend(n, self.t.i64, "")?;
            self.b.build_return(Some(&n64))?;
            return Ok(());
        }
        let mut vals = Vec::with_capacity(args.len());
        for &a in args {
            vals.push(self.get(a)?);
        }
        for (i, (tag, payload)) in vals.into_iter().enumerate() {
            self.store_raw(self.slot_ptr(i as u32)?, tag, payload)?;
        }
        self.b
            .build_return(Some(&self.t.i64.const_int(args.len() as u64, false)))?;
        Ok(())
    }

    /// `guard` (the condition's payload nonzero), `guard.tag` (the tag equals the
    /// immediate) and `guard.fn` (a closure whose proto is the module function the
    /// immediate numbers). On failure (a cold path), every value the snapshot names that
    /// is not in its slot already (framed values are) is stored there, and `lz_deopt`
    /// rebuilds the generic frame; the body returns the status it reports. The guards
    /// of one snapshot share that exit (the snapshot's values are defined before each of
    /// them), passing their op's position in a `phi`: code size, and so compile time,
    /// grows with the snapshots, not with the guards.
    pub(crate) fn lower_guard(
        &mut self,
        op: Opcode,
        arg: Value,
        imm: i64,
        snap: u32,
    ) -> Result<(), LowerError> {
        let pass = self.new_block("guard.ok");
        let (fail, phi) = self.deopt_exit(snap)?;
        let pc = self.i32c(self.pc()? as i64);
        let tag_is = |this: &Self, tag: i64| -> Result<_, LowerError> {
            let wide = this.b.build_int_z_extend(this.get_tag(arg)?, this.t.i64, "")?;
            Ok(this.b.build_int_compare(IntPredicate::EQ, wide, this.t.i64.const_int(tag as u64, true), "")?)
        };
        let here = |this: &Self| this.b.get_insert_block().ok_or_else(|| LowerError::Malformed("no insertion block".into()));
        let ok = match op {
            Opcode::GuardTag => tag_is(self, imm)?,
            Opcode::GuardElems => {
                // The tag the table remembers, else the one its elements have now.
                let t = self.b.build_int_to_ptr(self.get_payload(arg)?, self.t.ptr, "")?;
                let want = self.t.i64.const_int(imm as u64, false);
                let elems = self.b.build_int_z_extend(self.load_elems(t)?, self.t.i64, "")?;
                let (known, rescan) = (self.b.build_int_compare(IntPredicate::EQ, elems, want, "")?, self.new_block("guard.rescan"));
                self.b.build_conditional_branch(known, pass, rescan)?;
                self.b.position_at_end(rescan);
                let are = self
                    .call_helper(Helper::ElemsAre, &[t.into(), want.into()])?
                    .ok_or_else(|| LowerError::Malformed("lz_elems_are returns nothing".into()))?;
                self.b.build_int_compare(IntPredicate::NE, are, self.t.i64.const_zero(), "")?
            }
            Opcode::GuardFn => {
                // A closure of the function.
                let closure = self.new_block("guard.closure");
                self.b.build_conditional_branch(tag_is(self, lazyjit_ir::rt::Tag::Func as i64)?, closure, fail)?;
                phi.add_incoming(&[(&pc, here(self)?)]);
                self.b.position_at_end(closure);
                let payload = self.get_payload(arg)?;
                self.closure_of(payload, imm, "guard.fn")?
            }
            Opcode::GuardNative => {
                // A native function value, the declared one (at a data symbol the linker
                // defines).
                let index = usize::try_from(imm)
                    .ok()
                    .filter(|&n| n < self.loaded.natives.len())
                    .ok_or_else(|| LowerError::Malformed(format!("guard.native names native op {imm}, which does not exist")))?;
                let same = self.new_block("guard.native");
                self.b.build_conditional_branch(tag_is(self, lazyjit_ir::rt::Tag::Native as i64)?, same, fail)?;
                phi.add_incoming(&[(&pc, here(self)?)]);
                self.b.position_at_end(same);
                let want = self.data_address(&super::native_symbol(&self.symbol, index))?;
                self.b.build_int_compare(IntPredicate::EQ, self.get_payload(arg)?, want, "")?
            }
            _ => self.load_bool(arg)?,
        };
        self.b.build_conditional_branch(ok, pass, fail)?;
        phi.add_incoming(&[(&pc, here(self)?)]);
        self.b.position_at_end(pass);
        if op == Opcode::GuardFn {
            self.proven_callees.insert(arg.0, imm as usize);
        }
        if op == Opcode::GuardTag && imm == lazyjit_ir::rt::Tag::Table as i64 {
            self.assume_table(arg)?;
        }
        Ok(())
    }

    /// Tells LLVM that `table` (a value just found to be a table) points to a whole,
    /// aligned table object from here on (`llvm.assume` with `dereferenceable` and
    /// `align` bundles), so that it may read the table's fields ahead of the branch
    /// that uses them: out of a loop, say, where the read sits after a guard.
    fn assume_table(&mut self, table: Value) -> Result<(), LowerError> {
        let assume = inkwell::intrinsics::Intrinsic::find("llvm.assume")
            .and_then(|i| i.get_declaration(&self.module, &[]))
            .ok_or_else(|| LowerError::Malformed("no llvm.assume".into()))?;
        let ptr = self.b.build_int_to_ptr(self.get_payload(table)?, self.t.ptr, "table")?;
        let bundles = [
            inkwell::values::OperandBundle::create(
                "dereferenceable",
                &[ptr.into(), self.t.i64.const_int(abi::TABLE_SIZE, false).into()],
            ),
            inkwell::values::OperandBundle::create("align", &[ptr.into(), self.t.i64.const_int(8, false).into()]),
        ];
        let yes = self.ctx.bool_type().const_int(1, false);
        self.b.build_direct_call_with_operand_bundles(assume, &[yes.into()], &bundles, "")?;
        Ok(())
    }

    /// The exit of the guards of snapshot `snap` (made at the first): stores what the
    /// snapshot names to the slots and calls `lz_deopt` with the failing guard's op.
    fn deopt_exit(&mut self, snap: u32) -> Result<(inkwell::basic_block::BasicBlock<'ctx>, inkwell::values::PhiValue<'ctx>), LowerError> {
        if let Some(&exit) = self.deopt_exits.get(&snap) {
            return Ok(exit);
        }
        let back = self.b.get_insert_block().ok_or_else(|| LowerError::Malformed("no insertion block".into()))?;
        let exit = self.new_block("deopt");
        self.b.position_at_end(exit);
        let phi = self.b.build_phi(self.t.i32, "pc")?;
        let snapshot = self
            .mir
            .snapshots
            .get(snap as usize)
            .ok_or_else(|| LowerError::Malformed(format!("a guard names snap{snap}, which does not exist")))?;
        for (_, src) in &snapshot.entries {
            if let lazyjit_ir::SnapSource::Value(v) = *src {
                if !self.is_framed(v) {
                    let (tag, payload) = self.get(v)?;
                    self.store_raw(self.value_ptr(v)?, tag, payload)?;
                }
            }
        }
        let args = [self.vm.into(), self.i32c(snap as i64).into(), phi.as_basic_value().into()];
        let status = self
            .call_helper(Helper::Deopt, &args)?
            .ok_or_else(|| LowerError::Malformed("lz_deopt returns no status".into()))?;
        self.b.build_return(Some(&status))?;
        self.b.position_at_end(back);
        self.deopt_exits.insert(snap, (exit, phi));
        Ok((exit, phi))
    }
}
