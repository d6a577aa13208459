//! `jump`, `brif`, `return`, `guard`, `guard.tag`.
//!
//! A branch passes block parameters with parallel-move semantics (every source is read
//! before any destination is written; a parameter passed its own slot costs nothing),
//! then, if the target is a loop header, counts the back-edge and offers a safepoint
//! through `lz_backedge` with the target's first op as the frame's position (after the
//! moves, as the interpreter does: the collector then sees the target's live values in
//! their slots). A `brif` whose targets need such work gets one edge block per target.

use inkwell::IntPredicate;

use lazyjit_ir::{BlockCall, Opcode, Value};

use super::helpers::Helper;
use super::{LowerError, Lowerer, MAX_STAGED};
use crate::abi;

impl<'ctx> Lowerer<'_, 'ctx> {
    /// The parameter moves `(from, to)` of a branch, identity moves left out.
    fn moves(&self, bc: &BlockCall) -> Result<Vec<(u32, u32)>, LowerError> {
        let block = self
            .mir
            .blocks
            .get(bc.block.index())
            .ok_or_else(|| LowerError::Malformed(format!("branch to missing {}", bc.block)))?;
        if block.params.len() != bc.args.len() {
            return Err(LowerError::Malformed(format!(
                "{} takes {} arguments, the branch passes {}",
                bc.block,
                block.params.len(),
                bc.args.len()
            )));
        }
        let mut moves = Vec::new();
        for (&a, &p) in bc.args.iter().zip(&block.params) {
            let (from, to) = (self.slot(a)?, self.slot(p)?);
            if from != to {
                moves.push((from, to));
            }
        }
        Ok(moves)
    }

    /// Whether branching along `bc` needs code (moves or a back-edge count).
    fn needs_edge(&self, bc: &BlockCall) -> Result<bool, LowerError> {
        Ok(!self.moves(bc)?.is_empty() || self.mir.blocks[bc.block.index()].loop_header)
    }

    /// The branch along `bc` from the current position: moves, back-edge, jump.
    fn emit_edge(&mut self, bc: &BlockCall) -> Result<(), LowerError> {
        let moves = self.moves(bc)?;
        let mut vals = Vec::with_capacity(moves.len());
        for &(from, _) in &moves {
            vals.push(self.load_slot(from)?);
        }
        for (&(_, to), (tag, payload)) in moves.iter().zip(vals) {
            self.store_slot(to, tag, payload)?;
        }
        let target = &self.mir.blocks[bc.block.index()];
        if target.loop_header {
            let first = *target
                .insts
                .first()
                .ok_or_else(|| LowerError::Malformed(format!("{} is empty", bc.block)))?;
            let pc = self.inst_pc(first)?;
            self.call_checked(
                Helper::Backedge,
                &[self.vm.into(), self.i32c(pc as i64).into()],
            )?;
        }
        self.b
            .build_unconditional_branch(self.blocks[bc.block.index()])?;
        Ok(())
    }

    /// `jump`.
    pub(crate) fn lower_jump(&mut self, dest: &BlockCall) -> Result<(), LowerError> {
        self.emit_edge(dest)
    }

    /// `brif`: true when the condition's payload is nonzero.
    pub(crate) fn lower_brif(
        &mut self,
        cond: Value,
        then_dest: &BlockCall,
        else_dest: &BlockCall,
    ) -> Result<(), LowerError> {
        let c = self.load_bool(cond)?;
        let saved = self.cache.clone();
        let mut edges = Vec::new();
        let mut target = |this: &mut Self, bc: &BlockCall, name: &str| -> Result<_, LowerError> {
            if this.needs_edge(bc)? {
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
            self.cache = saved.clone();
            self.emit_edge(&bc)?;
        }
        Ok(())
    }

    /// `return`: the values go to `base[0..n]` (all read before any is written: they may
    /// sit in those slots); with a spread pack (or more than [`MAX_STAGED`] values) they
    /// are staged past the frame and copied down.
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
            vals.push(self.load_slot(self.slot(a)?)?);
        }
        for (i, (tag, payload)) in vals.into_iter().enumerate() {
            self.store_raw(self.slot_ptr(i as u32)?, tag, payload)?;
        }
        self.b
            .build_return(Some(&self.t.i64.const_int(args.len() as u64, false)))?;
        Ok(())
    }

    /// `guard` (the condition's payload nonzero) and `guard.tag` (the tag equals the
    /// immediate): on failure, `lz_guard_failed` and [`abi::STATUS_ERROR`].
    pub(crate) fn lower_guard(
        &mut self,
        op: Opcode,
        arg: Value,
        imm: i64,
        snap: u32,
    ) -> Result<(), LowerError> {
        let ok = if op == Opcode::GuardTag {
            let tag = self.load_tag(self.slot(arg)?)?;
            let wide = self.b.build_int_z_extend(tag, self.t.i64, "")?;
            self.b.build_int_compare(
                IntPredicate::EQ,
                wide,
                self.t.i64.const_int(imm as u64, true),
                "",
            )?
        } else {
            self.load_bool(arg)?
        };
        let pass = self.new_block("guard.ok");
        let fail = self.new_block("guard.fail");
        self.b.build_conditional_branch(ok, pass, fail)?;
        let saved = self.cache.clone();
        self.b.position_at_end(fail);
        let pc = self.pc()?;
        let args = [
            self.vm.into(),
            self.i32c(snap as i64).into(),
            self.i32c(pc as i64).into(),
        ];
        self.call_helper(Helper::GuardFailed, &args)?;
        self.b
            .build_return(Some(&self.t.i64.const_int(abi::STATUS_ERROR as u64, true)))?;
        self.b.position_at_end(pass);
        self.cache = saved;
        Ok(())
    }
}
