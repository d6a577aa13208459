//! `call`, `call.pack`, `tailcall` and `rtcall`.
//!
//! Calls stage their arguments just past the frame (`at = base + 16 * nslots`, where the
//! interpreter stages them and where the host expects them), a spread pack appended by
//! `lz_stage_pack`, then call `lz_call`, which leaves the results at `at`. Tail calls
//! move the staged arguments down to the frame's base and hand the callee to the host
//! (`lz_tail_call`, status [`crate::abi::STATUS_TAIL_CALL`]). Runtime calls pass their
//! arguments in a stack array (on the value stack when a pack is spread) to `lz_rtcall`;
//! a runtime function's declared typed fast paths (one or two, for one or two operands,
//! as the interpreter takes them) run inline when the operand tags match.

use inkwell::basic_block::BasicBlock;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

use lazyjit_ir::interp::{ChainLookup, FloatPromotion, Leaf, TableAccess};
use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Opcode, RtId, SiteId, Value};

use super::helpers::Helper;
use super::{LowerError, Lowerer, MAX_STAGED};

/// The most items a call declared to append to a table's array part stores inline.
const MAX_APPENDED: usize = 16;
use super::values::Memory;
use crate::abi;

impl<'ctx> Lowerer<'_, 'ctx> {
    /// Stages `args` at `at` (the end of the frame), expanding a spread pack; returns
    /// `at` and the number of staged values (`i32`).
    ///
    /// Up to [`MAX_STAGED`] fixed values are stored directly (the host keeps that much
    /// room past every frame); more go through a temporary pack (`lz_new_pack` from the
    /// scratch array, then `lz_stage_pack`), so that the host checks the stack.
    pub(crate) fn stage_args(
        &mut self,
        args: &[Value],
        spread: bool,
    ) -> Result<(PointerValue<'ctx>, IntValue<'ctx>), LowerError> {
        self.stage_args_after(0, args, spread)
    }

    /// [`Lowerer::stage_args`] at `skip` slots past the end of the frame (where a
    /// `call.pack` whose results are passed on stages, see `passed_on_packs`).
    fn stage_args_after(
        &mut self,
        skip: u64,
        args: &[Value],
        spread: bool,
    ) -> Result<(PointerValue<'ctx>, IntValue<'ctx>), LowerError> {
        let fixed = if spread {
            args.len()
                .checked_sub(1)
                .ok_or_else(|| LowerError::Malformed("a spread without operands".into()))?
        } else {
            args.len()
        };
        let at = self.offset_ptr(self.stage_ptr()?, abi::VAL_SIZE * skip)?;
        if let (true, Some(&(after, Some(n)))) = (spread, args.last().and_then(|a| self.passed_on.get(&a.0))) {
            if after == skip + fixed as u64 {
                // The values the call before returned are past room for the fixed ones.
                for (i, &a) in args[..fixed].iter().enumerate() {
                    let (tag, payload) = self.get(a)?;
                    self.store_raw(self.offset_ptr(at, abi::VAL_SIZE * i as u64)?, tag, payload)?;
                }
                return Ok((at, self.b.build_int_add(self.i32c(fixed as i64), n, "")?));
            }
            return Err(LowerError::Malformed(format!("a passed-on pack at slot {after} past the frame, staged for slot {}", skip + fixed as u64)));
        }
        let buf = if fixed <= MAX_STAGED {
            at
        } else {
            self.scratch
        };
        for (i, &a) in args[..fixed].iter().enumerate() {
            let (tag, payload) = self.get(a)?;
            self.store_raw(
                self.offset_ptr(buf, abi::VAL_SIZE * i as u64)?,
                tag,
                payload,
            )?;
        }
        if fixed > MAX_STAGED {
            let n = self.i32c(fixed as i64);
            self.call_checked(
                Helper::NewPack,
                &[
                    self.vm.into(),
                    self.scratch.into(),
                    n.into(),
                    self.tmp_val.into(),
                ],
            )?;
            self.call_checked(
                Helper::StagePack,
                &[
                    self.vm.into(),
                    self.tmp_val.into(),
                    at.into(),
                    self.count_b.into(),
                ],
            )?;
        }
        if !spread {
            return Ok((at, self.i32c(fixed as i64)));
        }
        let pack = self.value_ptr(args[fixed])?;
        let dst = self.offset_ptr(at, abi::VAL_SIZE * fixed as u64)?;
        self.call_checked(
            Helper::StagePack,
            &[self.vm.into(), pack.into(), dst.into(), self.count_b.into()],
        )?;
        let extra = self
            .b
            .build_load(self.t.i32, self.count_b, "")?
            .into_int_value();
        let n = self.b.build_int_add(self.i32c(fixed as i64), extra, "")?;
        Ok((at, n))
    }

    /// Copies `n` (an `i32`) values from `src` to `dst`, in increasing order (`dst`
    /// below `src`, so overlapping copies are right).
    pub(crate) fn copy_down(
        &mut self,
        src: PointerValue<'ctx>,
        dst: PointerValue<'ctx>,
        n: IntValue<'ctx>,
    ) -> Result<(), LowerError> {
        let pre = self.current_block()?;
        let head = self.new_block("copy.head");
        let body = self.new_block("copy.body");
        let exit = self.new_block("copy.exit");
        self.b.build_unconditional_branch(head)?;
        self.b.position_at_end(head);
        let i = self.b.build_phi(self.t.i32, "i")?;
        let i_val = i.as_basic_value().into_int_value();
        let more = self.b.build_int_compare(IntPredicate::SLT, i_val, n, "")?;
        self.b.build_conditional_branch(more, body, exit)?;
        self.b.position_at_end(body);
        let (tag, payload) = self.load_raw(self.index_ptr(src, i_val)?)?;
        self.store_raw(self.index_ptr(dst, i_val)?, tag, payload)?;
        let next = self.b.build_int_add(i_val, self.i32c(1), "")?;
        self.b.build_unconditional_branch(head)?;
        i.add_incoming(&[(&self.i32c(0), pre), (&next, body)]);
        self.b.position_at_end(exit);
        Ok(())
    }

    /// `call`, `call.pack`, `tailcall`.
    pub(crate) fn lower_call(
        &mut self,
        op: Opcode,
        callee: Value,
        args: &[Value],
        spread: bool,
        _site: Option<SiteId>,
        results: &[Value],
    ) -> Result<(), LowerError> {
        if op == Opcode::TailCall {
            return self.lower_tail_call(callee, args, spread);
        }
        // A pack passed on is staged at its slot, past the next instruction's fixed
        // operands.
        let skip = match (op, results.first().and_then(|r| self.passed_on.get(&r.0))) {
            (Opcode::CallPack, Some(&(slot, _))) => slot,
            _ => 0,
        };
        let (at, n) = self.stage_args_after(skip, args, spread)?;
        let callee_ptr = self.value_ptr(callee)?;
        let pc = self.pc()?;
        let call_args = [
            self.vm.into(),
            callee_ptr.into(),
            at.into(),
            n.into(),
            self.i32c(pc as i64).into(),
            self.count_a.into(),
        ];
        let known = self.known_callees.get(&callee.0).copied().filter(|&k| self.loaded.protos.get(k).is_some_and(|p| !p.vararg));
        let direct = if !spread && args.len() <= MAX_STAGED && (known.is_some() || self.optimized) {
            Some(self.direct_call(callee, at, skip, args.len(), known, pc)?)
        } else {
            None
        };
        if !self.is_framed(callee) {
            // `lz_call` reads the callee from its slot (see `framed.rs`).
            let (tag, payload) = self.get(callee)?;
            self.store_raw(callee_ptr, tag, payload)?;
        }
        self.call_checked(Helper::Call, &call_args)?;
        let nret = self
            .b
            .build_load(self.t.i32, self.count_a, "nret")?
            .into_int_value();
        let nret = match direct {
            Some((join, n_direct, direct_end)) => {
                let slow_end = self.current_block()?;
                self.b.build_unconditional_branch(join)?;
                self.b.position_at_end(join);
                let phi = self.b.build_phi(self.t.i32, "nret")?;
                phi.add_incoming(&[(&nret, slow_end), (&n_direct, direct_end)]);
                phi.as_basic_value().into_int_value()
            }
            None => nret,
        };
        if op == Opcode::CallPack {
            let result = self.result(results, 0)?;
            if let Some((_, count)) = self.passed_on.get_mut(&result.0) {
                // The next instruction's operands: they are in place (see `stage_args`).
                *count = Some(nret);
                return self.define(result, self.tag_const(Tag::Nil), self.t.i64.const_zero());
            }
            let out = self.value_ptr(result)?;
            self.call_checked(
                Helper::NewPack,
                &[self.vm.into(), at.into(), nret.into(), out.into()],
            )?;
            return self.define_loaded(result);
        }
        // Result i is at[i] if the callee returned that many, else nil. (Past the room
        // the host guarantees above the frame, at[i] is read only if it was written.)
        for (i, &r) in results.iter().enumerate() {
            let present =
                self.b
                    .build_int_compare(IntPredicate::SGT, nret, self.i32c(i as i64), "")?;
            let src = if i < MAX_STAGED {
                self.offset_ptr(at, abi::VAL_SIZE * i as u64)?
            } else {
                let index = self
                    .b
                    .build_select(present, self.i32c(i as i64), self.i32c(0), "")?
                    .into_int_value();
                self.index_ptr(at, index)?
            };
            let (tag, payload) = self.load_raw(src)?;
            let tag = self
                .b
                .build_select(present, tag, self.t.i8.const_zero(), "")?
                .into_int_value();
            let payload = self
                .b
                .build_select(present, payload, self.t.i64.const_zero(), "")?
                .into_int_value();
            self.define(r, tag, payload)?;
        }
        Ok(())
    }

    /// `tailcall`: the arguments go to `base[0..n]`, the callee (saved first: its slot
    /// may be overwritten) to the host, and the body returns
    /// [`abi::STATUS_TAIL_CALL`].
    fn lower_tail_call(
        &mut self,
        callee: Value,
        args: &[Value],
        spread: bool,
    ) -> Result<(), LowerError> {
        let (n, ctag, cpayload) = if spread || args.len() > MAX_STAGED {
            // Staged past the frame, then moved down (staging uses `tmp_val` for big
            // calls: the callee goes there after).
            let (at, n) = self.stage_args(args, spread)?;
            let (ctag, cpayload) = self.get(callee)?;
            self.store_raw(self.tmp_val, ctag, cpayload)?;
            self.copy_down(at, self.base, n)?;
            (n, ctag, cpayload)
        } else {
            // Parallel move: read the callee and every argument, then write them.
            let (ctag, cpayload) = self.get(callee)?;
            let mut vals = Vec::with_capacity(args.len());
            for &a in args {
                vals.push(self.get(a)?);
            }
            self.store_raw(self.tmp_val, ctag, cpayload)?;
            for (i, (tag, payload)) in vals.into_iter().enumerate() {
                self.store_raw(self.slot_ptr(i as u32)?, tag, payload)?;
            }
            (self.i32c(args.len() as i64), ctag, cpayload)
        };
        self.tail_call_direct(ctag, cpayload, n)?;
        let pc = self.pc()?;
        self.call_helper(
            Helper::TailCall,
            &[
                self.vm.into(),
                self.tmp_val.into(),
                n.into(),
                self.i32c(pc as i64).into(),
            ],
        )?;
        self.b.build_return(Some(
            &self.t.i64.const_int(abi::STATUS_TAIL_CALL as u64, true),
        ))?;
        Ok(())
    }

    /// The direct way of a tail call, tried first: when the callee (`tag`, `payload`) is a
    /// closure of a function with a fixed parameter list that `n` (`i32`) arguments
    /// cover and whose code is in its dispatch slot, and its frame fits the stack with
    /// no collection due, the frame becomes the callee's here (as `exec::replace_frame`
    /// makes it) and the body jumps to the callee's code (`musttail`: the native stack
    /// does not grow, however long the chain of tail calls). Else falls through to the
    /// host's way, at the block it leaves current.
    fn tail_call_direct(&mut self, tag: IntValue<'ctx>, payload: IntValue<'ctx>, n: IntValue<'ctx>) -> Result<(), LowerError> {
        let i64t = self.t.i64;
        let c = |v: u64| i64t.const_int(v, false);
        let (check, fast, slow) = (self.new_block("tail.check"), self.new_block("tail.direct"), self.new_block("tail.host"));
        let is_fn = self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(Tag::Func), "")?;
        self.b.build_conditional_branch(is_fn, check, slow)?;
        self.b.position_at_end(check);
        let closure = self.b.build_int_to_ptr(payload, self.t.ptr, "closure")?;
        let proto = self.load_word(self.offset_ptr(closure, abi::CLOSURE_PROTO_OFFSET)?)?;
        let proto_ptr = self.b.build_int_to_ptr(proto, self.t.ptr, "")?;
        let nargs = self.b.build_int_z_extend(n, i64t, "")?;
        let nslots = self.proto_u32(proto_ptr, abi::PROTO_NSLOTS_OFFSET)?;
        let entry = self.load_word(self.offset_ptr(proto_ptr, abi::PROTO_ENTRY_OFFSET)?)?;
        let len = self.vm_word(abi::VM_FRAMES_LEN_OFFSET)?;
        let frames = self.b.build_load(self.t.ptr, self.offset_ptr(self.vm, abi::VM_FRAMES_PTR_OFFSET)?, "frames")?.into_pointer_value();
        let frame = self.index_frame(frames, self.b.build_int_sub(len, c(1), "")?)?;
        let base_slot = self.load_word(self.offset_ptr(frame, abi::FRAME_BASE_OFFSET)?)?;
        let ok = self.all(&[
            self.covers_params(proto_ptr, nargs)?,
            self.b.build_int_compare(IntPredicate::NE, entry, c(0), "")?,
            self.frame_fits(base_slot, nslots, nargs)?,
            self.no_collection_due()?,
        ])?;
        self.b.build_conditional_branch(ok, fast, slow)?;
        self.b.position_at_end(fast);
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_PROTO_OFFSET)?, proto)?;
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_CLOSURE_OFFSET)?, payload)?;
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_PC_OFFSET)?, self.i32c(0))?;
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_TOP_OFFSET)?, self.b.build_int_add(base_slot, nslots, "")?)?;
        let status = self.enter_body(proto_ptr, entry, closure, self.base, true)?;
        self.b.build_return(Some(&status))?;
        self.b.position_at_end(slow);
        Ok(())
    }

    /// The VM's word at `offset`.
    fn vm_word(&self, offset: u64) -> Result<IntValue<'ctx>, LowerError> {
        self.load_word(self.offset_ptr(self.vm, offset)?)
    }

    /// The `u32` field at `offset` of the function at `proto_ptr`, as an `i64`.
    fn proto_u32(&self, proto_ptr: PointerValue<'ctx>, offset: u64) -> Result<IntValue<'ctx>, LowerError> {
        let v = self.b.build_load(self.t.i32, self.offset_ptr(proto_ptr, offset)?, "")?.into_int_value();
        Ok(self.b.build_int_z_extend(v, self.t.i64, "")?)
    }

    /// Whether the function at `proto_ptr` takes a fixed parameter list that `nargs`
    /// (an `i64`) arguments cover.
    fn covers_params(&self, proto_ptr: PointerValue<'ctx>, nargs: IntValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        let vararg = self.b.build_load(self.t.i8, self.offset_ptr(proto_ptr, abi::PROTO_VARARG_OFFSET)?, "")?.into_int_value();
        let fixed = self.b.build_int_compare(IntPredicate::EQ, vararg, self.t.i8.const_zero(), "")?;
        let nparams = self.proto_u32(proto_ptr, abi::PROTO_NPARAMS_OFFSET)?;
        let covered = self.b.build_int_compare(IntPredicate::ULE, nparams, nargs, "")?;
        Ok(self.b.build_and(fixed, covered, "")?)
    }

    /// Whether a frame at slot `base_slot` of `nslots` slots holding `nargs` arguments
    /// (`i64`s) fits the value stack with the room the host keeps past every frame.
    fn frame_fits(&self, base_slot: IntValue<'ctx>, nslots: IntValue<'ctx>, nargs: IntValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        let wide = self.b.build_int_compare(IntPredicate::UGT, nslots, nargs, "")?;
        let need = self.b.build_select(wide, nslots, nargs, "")?.into_int_value();
        let end = self.b.build_int_add(base_slot, need, "")?;
        let end = self.b.build_int_add(end, self.t.i64.const_int(16 + abi::VM_STACK_MARGIN, false), "")?;
        Ok(self.b.build_int_compare(IntPredicate::ULE, end, self.vm_word(abi::VM_STACK_SLOTS_OFFSET)?, "")?)
    }

    /// Whether the heap wants no collection (nor an interrupt, which asks through it).
    pub(crate) fn no_collection_due(&self) -> Result<IntValue<'ctx>, LowerError> {
        let (bytes, threshold) = (self.vm_word(abi::VM_GC_BYTES_OFFSET)?, self.vm_word(abi::VM_GC_THRESHOLD_OFFSET)?);
        Ok(self.b.build_int_compare(IntPredicate::ULT, bytes, threshold, "")?)
    }

    /// The conjunction of `conds` (at least one).
    fn all(&self, conds: &[IntValue<'ctx>]) -> Result<IntValue<'ctx>, LowerError> {
        let (&first, rest) = conds.split_first().ok_or_else(|| LowerError::Malformed("no conditions".into()))?;
        rest.iter().try_fold(first, |ok, &cond| Ok(self.b.build_and(ok, cond, "")?))
    }

    /// Counts a call of the function at `proto_ptr` and calls its code `entry` (an
    /// `i64`) with `closure` and the frame `base` made for it (`tail`: as a `musttail`
    /// call, which the caller returns at once); returns the body's status.
    fn enter_body(
        &self,
        proto_ptr: PointerValue<'ctx>,
        entry: IntValue<'ctx>,
        closure: PointerValue<'ctx>,
        base: PointerValue<'ctx>,
        tail: bool,
    ) -> Result<IntValue<'ctx>, LowerError> {
        let calls_ptr = self.offset_ptr(proto_ptr, abi::PROTO_CALLS_OFFSET)?;
        let calls = self.b.build_load(self.t.i32, calls_ptr, "")?.into_int_value();
        self.b.build_store(calls_ptr, self.b.build_int_add(calls, self.i32c(1), "")?)?;
        let body_type = self.t.i64.fn_type(&[self.t.ptr.into(), self.t.ptr.into(), self.t.ptr.into()], false);
        let body = self.b.build_int_to_ptr(entry, self.t.ptr, "body")?;
        let status = self.b.build_indirect_call(body_type, body, &[self.vm.into(), closure.into(), base.into()], "status")?;
        if tail {
            status.set_tail_call_kind(inkwell::llvm_sys::LLVMTailCallKind::LLVMTailCallKindMustTail);
        }
        match status.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) if v.is_int_value() => Ok(v.into_int_value()),
            _ => Err(LowerError::Malformed("a body returns no status".into())),
        }
    }

    /// The address of element `index` (an `i64` the caller checked against the count) of
    /// the array whose pointer a table keeps at `ptr_offset` (the array part, or the hash
    /// part's entries), elements `size` bytes apart.
    pub(crate) fn table_element(
        &self,
        table: PointerValue<'ctx>,
        ptr_offset: u64,
        index: IntValue<'ctx>,
        size: u64,
    ) -> Result<PointerValue<'ctx>, LowerError> {
        let base = self.load_ptr_of(self.offset_ptr(table, ptr_offset)?, Memory::TableParts)?;
        let bytes = self.b.build_int_mul(index, self.t.i64.const_int(size, false), "")?;
        // SAFETY: only builds IR; the caller checked `index` against the element count.
        Ok(unsafe { self.b.build_in_bounds_gep(self.t.i8, base, &[bytes], "")? })
    }

    /// `rtcall`: with up to three operands (no spread), what the frontend declared for
    /// the function: an inline table access (`rtcall_hash_ic`, `rtcall_array`), else the
    /// typed fast paths that apply, computed speculatively (they are pure and cannot
    /// trap) with the first whose operand tags match selected (and a float promotion
    /// when the tags are known to fit); only if none matches is the leaf or the function
    /// called, with the operands and the result in registers (`lz_rtcall_v2`,
    /// `lz_rtcall_v`). Operands whose tags are constants decide paths statically. Other
    /// calls go through memory (`lz_rtcall`).
    pub(crate) fn lower_rtcall(
        &mut self,
        rt: RtId,
        args: &[Value],
        spread: bool,
        site: Option<SiteId>,
        result: Value,
    ) -> Result<(), LowerError> {
        let loaded = self.loaded;
        let entry = loaded
            .runtime
            .get(rt.index())
            .ok_or_else(|| LowerError::Malformed(format!("runtime function {rt} is not bound")))?;
        let site = site.map_or(-1, |s| s.0 as i64);
        if entry.array_append && (3..=2 + MAX_APPENDED).contains(&args.len()) {
            return self.rtcall_append(rt, args, spread, site, result);
        }
        if spread || args.len() > 3 {
            self.rtcall_slow(rt, args, spread, site, result)?;
            return self.define_loaded(result);
        }
        let mut ops = Vec::with_capacity(args.len());
        for &a in args {
            ops.push(self.get(a)?);
        }
        if let Some(access) = entry.table.filter(|a| a.arity() == ops.len()) {
            let fast = if self.mir.is_str_const(args[1]) {
                self.rtcall_hash_ic(access, entry.leaf, entry.chain, rt, site, &ops)?
            } else {
                self.rtcall_array(access, entry.leaf, rt, site, &ops)?
            };
            if let Some((tag, payload)) = fast {
                return self.define(result, tag, payload);
            }
        }
        // The interpreter takes declared fast paths for one- or two-operand calls of a
        // function with one or two paths (more: it always calls the function).
        let paths = &entry.fast_paths;
        let paths = if (1..=2).contains(&args.len()) && (1..=2).contains(&paths.len()) {
            &paths[..]
        } else {
            &[]
        };
        // (condition, tag, payload) of each path that may apply.
        let mut candidates = Vec::new();
        for path in paths {
            // A path whose op does not take this many operands never applies.
            if path.op.operand_types().len() != args.len() {
                continue;
            }
            let mut cond: Option<IntValue<'ctx>> = None;
            let mut impossible = false;
            for (i, &(tag, _)) in ops.iter().enumerate() {
                match tag.get_zero_extended_constant() {
                    Some(t) if t != path.tags[i] as u64 => impossible = true,
                    Some(_) => {}
                    None => {
                        let m = self.b.build_int_compare(
                            IntPredicate::EQ,
                            tag,
                            self.tag_const(path.tags[i]),
                            "",
                        )?;
                        cond = Some(match cond {
                            Some(prev) => self.b.build_and(prev, m, "")?,
                            None => m,
                        });
                    }
                }
            }
            if impossible {
                continue;
            }
            if path.op.needs_nonzero_rhs() {
                let rhs = ops.get(1).map(|o| o.1).ok_or_else(|| LowerError::Malformed("a binary fast path with one operand".into()))?;
                match rhs.get_zero_extended_constant() {
                    Some(0) => continue,
                    Some(_) => {}
                    None => {
                        let m = self.b.build_int_compare(IntPredicate::NE, rhs, self.t.i64.const_zero(), "")?;
                        cond = Some(match cond {
                            Some(prev) => self.b.build_and(prev, m, "")?,
                            None => m,
                        });
                    }
                }
            }
            let (tag, payload) = self.typed_op(path.op, ops[0].1, ops.get(1).map(|o| o.1))?;
            let tag = self.tag_const(tag);
            match cond {
                Some(c) => candidates.push((c, tag, payload)),
                None => {
                    // This path certainly applies (if no earlier one did).
                    let (tag, payload) = self.select_paths(&candidates, tag, payload)?;
                    return self.define(result, tag, payload);
                }
            }
        }
        // Mixed numbers in float, inline only when the operand tags are known to fit:
        // checking them at run time too (in the cold block before the call) made
        // arithmetic-heavy functions 1.7x as costly to compile (criterion
        // `baseline-compile/medium`: 6.0 -> 10.4 ms) to speed up mixed arithmetic that
        // the optimizing tier's speculation is for.
        if let (Some(p), [a, b]) = (entry.promotion, ops.as_slice()) {
            if let Some(fits) = self.promotion_fits(p, a.0, b.0)?.get_zero_extended_constant() {
                if fits != 0 {
                    let payload = self.promoted(p, *a, *b)?;
                    let (tag, payload) = self.select_paths(&candidates, self.tag_const(Tag::Float), payload)?;
                    return self.define(result, tag, payload);
                }
            }
        }
        let Some((&(last_c, last_tag, last_payload), earlier)) = candidates.split_last() else {
            let (tag, payload) = self.rtcall_leaf_or_regs(entry.leaf, rt, site, &ops)?;
            return self.define(result, tag, payload);
        };
        let mut any = last_c;
        for &(c, ..) in earlier {
            any = self.b.build_or(any, c, "")?;
        }
        let (fast_tag, fast_payload) = self.select_paths(earlier, last_tag, last_payload)?;
        let (tag, payload) = self.or_generic(any, false, (fast_tag, fast_payload), rt, site, &ops)?;
        self.define(result, tag, payload)
    }

    /// Whether a [`FloatPromotion`] applies to operands with tags `a` and `b`.
    fn promotion_fits(
        &mut self,
        promotion: FloatPromotion,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>, LowerError> {
        let is = |tag: IntValue<'ctx>, t: Tag| self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(t), "");
        let (a_float, b_float) = (is(a, Tag::Float)?, is(b, Tag::Float)?);
        let a_number = self.b.build_or(is(a, Tag::Int)?, a_float, "")?;
        let b_number = self.b.build_or(is(b, Tag::Int)?, b_float, "")?;
        let numbers = self.b.build_and(a_number, b_number, "")?;
        if promotion.ints_too {
            return Ok(numbers);
        }
        let some_float = self.b.build_or(a_float, b_float, "")?;
        Ok(self.b.build_and(numbers, some_float, "")?)
    }

    /// The float payload a [`FloatPromotion`] computes on two number operands (an int
    /// operand converted to float).
    fn promoted(
        &mut self,
        promotion: FloatPromotion,
        a: (IntValue<'ctx>, IntValue<'ctx>),
        b: (IntValue<'ctx>, IntValue<'ctx>),
    ) -> Result<IntValue<'ctx>, LowerError> {
        let mut floats = [self.t.i64.const_zero(); 2];
        for (out, (tag, payload)) in floats.iter_mut().zip([a, b]) {
            let is_int = self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(Tag::Int), "")?;
            let converted = self.b.build_signed_int_to_float(payload, self.t.f64, "")?;
            let converted = self.float_bits(converted)?;
            *out = self.b.build_select(is_int, converted, payload, "")?.into_int_value();
        }
        Ok(self.typed_op(promotion.op, floats[0], Some(floats[1]))?.1)
    }

    /// `fast` if `cond` is `!slow_if`, else the result of calling runtime function `rt`
    /// on `ops` (in a cold block).
    fn or_generic(
        &mut self,
        cond: IntValue<'ctx>,
        slow_if: bool,
        fast: (IntValue<'ctx>, IntValue<'ctx>),
        rt: RtId,
        site: i64,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let head = self.current_block()?;
        let slow_bb = self.new_block("rt.slow");
        let done = self.new_block("rt.done");
        if slow_if {
            self.b.build_conditional_branch(cond, slow_bb, done)?;
        } else {
            self.b.build_conditional_branch(cond, done, slow_bb)?;
        }
        self.b.position_at_end(slow_bb);
        let (slow_tag, slow_payload) = self.rtcall_regs(rt, site, ops)?;
        let slow_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        self.value_phi(&[(fast.0, fast.1, head), (slow_tag, slow_payload, slow_end)])
    }

    /// At the start of a join block: the value (tag, payload) that arrives from each
    /// predecessor.
    fn value_phi(
        &self,
        incoming: &[(IntValue<'ctx>, IntValue<'ctx>, BasicBlock<'ctx>)],
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let tphi = self.b.build_phi(self.t.i8, "")?;
        let pphi = self.b.build_phi(self.t.i64, "")?;
        for (tag, payload, block) in incoming {
            tphi.add_incoming(&[(tag, *block)]);
            pphi.add_incoming(&[(payload, *block)]);
        }
        Ok((tphi.as_basic_value().into_int_value(), pphi.as_basic_value().into_int_value()))
    }

    /// The value of the first of `candidates` whose condition holds, else
    /// `(tag, payload)`.
    #[allow(clippy::type_complexity)]
    fn select_paths(
        &self,
        candidates: &[(IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>)],
        mut tag: IntValue<'ctx>,
        mut payload: IntValue<'ctx>,
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        for &(c, t, p) in candidates.iter().rev() {
            if t != tag {
                tag = self.b.build_select(c, t, tag, "")?.into_int_value();
            }
            payload = self.b.build_select(c, p, payload, "")?.into_int_value();
        }
        Ok((tag, payload))
    }

    /// Calls runtime function `rt` on up to three operands in registers
    /// (`lz_rtcall_v`); its result's `(tag, payload)`.
    fn rtcall_regs(
        &mut self,
        rt: RtId,
        site: i64,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let pc = self.pc()?;
        let rt = self.local_rt(rt)?;
        if let Some(call) = abi::pack_rtcall(rt, ops.len(), site, pc) {
            // One or two operands: all arguments in registers.
            let mut call_args: Vec<inkwell::values::BasicMetadataValueEnum<'ctx>> =
                vec![self.vm.into(), self.t.i64.const_int(call, false).into()];
            self.push_n_operands(&mut call_args, ops, 2)?;
            return self.call_pair(Helper::RtCallV2, &call_args);
        }
        let mut call_args: Vec<inkwell::values::BasicMetadataValueEnum<'ctx>> = vec![
            self.vm.into(),
            self.i32c(rt as i64).into(),
            self.i32c(site).into(),
            self.i32c(pc as i64).into(),
            self.i32c(ops.len() as i64).into(),
        ];
        self.push_operands(&mut call_args, ops)?;
        self.call_pair(Helper::RtCallV, &call_args)
    }

    /// The frame record number `index` (an `i64`) of the array at `frames`.
    fn index_frame(&self, frames: PointerValue<'ctx>, index: IntValue<'ctx>) -> Result<PointerValue<'ctx>, LowerError> {
        let offset = self.b.build_int_mul(index, self.t.i64.const_int(abi::FRAME_SIZE, false), "")?;
        // SAFETY: only builds IR; the caller indexes a frame the stack holds or has room for.
        Ok(unsafe { self.b.build_in_bounds_gep(self.t.i8, frames, &[offset], "frame")? })
    }

    /// A call of `callee` with `nargs` arguments staged at `at`, done directly when it
    /// can be: when the callee is a closure (of module function `k`, if a guard said
    /// which: its frame size and parameters are then known here; else of a function
    /// without varargs and with no more parameters than arguments), there is room for
    /// its frame, and no collection is due, the frame is pushed here (as
    /// `exec::push_frame` would) and the callee's dispatch slot called directly; the
    /// frame is popped after a normal return, and `lz_call_finish` finishes anything
    /// else (a tail call, a deoptimized frame, an error). Otherwise the code goes on in
    /// the block left current, where the caller emits the call through `lz_call`.
    /// Returns the block both ways join in, the direct way's result count, and the block
    /// it comes from.
    fn direct_call(
        &mut self,
        callee: Value,
        at: PointerValue<'ctx>,
        skip: u64,
        nargs: usize,
        k: Option<usize>,
        pc: u32,
    ) -> Result<(BasicBlock<'ctx>, IntValue<'ctx>, BasicBlock<'ctx>), LowerError> {
        let target = k.and_then(|k| self.loaded.protos.get(k));
        let i64t = self.t.i64;
        let c = |n: u64| i64t.const_int(n, false);
        let (check, fast, slow) = (self.new_block("call.check"), self.new_block("call.direct"), self.new_block("call.slow"));
        let (returned, other, join) = (self.new_block("call.returned"), self.new_block("call.other"), self.new_block("call.join"));
        let (tag, payload) = self.get(callee)?;
        // A closure of module function `k` if a guard earlier in the block said so.
        let proven = k.is_some() && self.proven_callees.get(&callee.0) == k.as_ref();
        if proven {
            self.b.build_unconditional_branch(check)?;
        } else {
            let is_fn = self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(Tag::Func), "")?;
            self.b.build_conditional_branch(is_fn, check, slow)?;
        }
        self.b.position_at_end(check);
        let closure = self.b.build_int_to_ptr(payload, self.t.ptr, "closure")?;
        let known_proto = match k {
            Some(k) if target.is_some() => Some(self.data_address(&super::function_symbol(&self.symbol, k))?),
            _ => None,
        };
        let proto = match known_proto {
            Some(want) if proven => want,
            _ => self.load_word(self.offset_ptr(closure, abi::CLOSURE_PROTO_OFFSET)?)?,
        };
        let len = self.vm_word(abi::VM_FRAMES_LEN_OFFSET)?;
        let cap = self.vm_word(abi::VM_FRAMES_CAP_OFFSET)?;
        let depth = self.vm_word(abi::VM_DEPTH_OFFSET)?;
        let max_depth = self.vm_word(abi::VM_MAX_DEPTH_OFFSET)?;
        let frames = self.b.build_load(self.t.ptr, self.offset_ptr(self.vm, abi::VM_FRAMES_PTR_OFFSET)?, "frames")?.into_pointer_value();
        let last = self.b.build_int_sub(len, c(1), "")?;
        let caller = self.index_frame(frames, last)?;
        let caller_base = self.load_word(self.offset_ptr(caller, abi::FRAME_BASE_OFFSET)?)?;
        let at_slot = self.b.build_int_add(caller_base, c(self.proto.nslots as u64 + skip), "at")?;
        let proto_ptr = self.b.build_int_to_ptr(proto, self.t.ptr, "")?;
        // What the callee's frame takes: known, or read from its function.
        let (nslots, fits_callee) = match (target, known_proto) {
            (Some(t), Some(_)) if proven => (c(t.nslots as u64), None),
            (Some(t), Some(want)) => (c(t.nslots as u64), Some(self.b.build_int_compare(IntPredicate::EQ, proto, want, "")?)),
            _ => (self.proto_u32(proto_ptr, abi::PROTO_NSLOTS_OFFSET)?, Some(self.covers_params(proto_ptr, c(nargs as u64))?)),
        };
        let entry = self.load_word(self.offset_ptr(proto_ptr, abi::PROTO_ENTRY_OFFSET)?)?;
        let ok = self.all(&[
            self.b.build_int_compare(IntPredicate::ULT, len, cap, "")?,
            self.b.build_int_compare(IntPredicate::ULT, depth, max_depth, "")?,
            self.frame_fits(at_slot, nslots, c(nargs as u64))?,
            self.no_collection_due()?,
            self.b.build_int_compare(IntPredicate::NE, entry, c(0), "")?,
        ])?;
        let ok = match fits_callee {
            Some(fits) => self.b.build_and(fits, ok, "")?,
            None => ok,
        };
        self.b.build_conditional_branch(ok, fast, slow)?;
        // The frame, as `exec::push_frame` makes it.
        self.b.position_at_end(fast);
        self.b.build_store(self.offset_ptr(caller, abi::FRAME_PC_OFFSET)?, self.i32c(pc as i64))?;
        let frame = self.index_frame(frames, len)?;
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_PROTO_OFFSET)?, proto)?;
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_PC_OFFSET)?, self.i32c(0))?;
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_BASE_OFFSET)?, at_slot)?;
        self.b.build_store(self.offset_ptr(frame, abi::FRAME_CLOSURE_OFFSET)?, payload)?;
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_FRAMES_LEN_OFFSET)?, self.b.build_int_add(len, c(1), "")?)?;
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_DEPTH_OFFSET)?, self.b.build_int_add(depth, c(1), "")?)?;
        // Missing parameters are nil (an unknown callee takes no more than it is given).
        for i in nargs..target.map_or(0, |t| t.nparams as usize) {
            self.store_raw(self.offset_ptr(at, abi::VAL_SIZE * i as u64)?, self.tag_const(Tag::Nil), c(0))?;
        }
        let saved_top = self.vm_word(abi::VM_TOP_OFFSET)?;
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_TOP_OFFSET)?, self.b.build_int_add(at_slot, nslots, "")?)?;
        let status = self.enter_body(proto_ptr, entry, closure, at, false)?;
        let done = self.b.build_int_compare(IntPredicate::SGE, status, c(0), "")?;
        self.b.build_conditional_branch(done, returned, other)?;
        // A normal return: pop the frame.
        self.b.position_at_end(returned);
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_FRAMES_LEN_OFFSET)?, len)?;
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_DEPTH_OFFSET)?, depth)?;
        self.b.build_store(self.offset_ptr(self.vm, abi::VM_TOP_OFFSET)?, saved_top)?;
        let n_returned = self.b.build_int_truncate(status, self.t.i32, "")?;
        // Anything else: the host finishes it.
        self.b.position_at_end(other);
        let finished = self
            .call_helper(Helper::CallFinish, &[self.vm.into(), status.into(), len.into(), saved_top.into(), self.i32c(pc as i64).into(), self.count_a.into()])?
            .ok_or_else(|| LowerError::Malformed("lz_call_finish returns no status".into()))?;
        self.check_status(finished)?;
        let n_other = self.b.build_load(self.t.i32, self.count_a, "")?.into_int_value();
        let other_end = self.current_block()?;
        // Both direct ways meet, then join the way through `lz_call`.
        let direct_done = self.new_block("call.direct.done");
        self.b.build_unconditional_branch(direct_done)?;
        self.b.position_at_end(returned);
        self.b.build_unconditional_branch(direct_done)?;
        self.b.position_at_end(direct_done);
        let n = self.b.build_phi(self.t.i32, "")?;
        n.add_incoming(&[(&n_returned, returned), (&n_other, other_end)]);
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(slow);
        Ok((join, n.as_basic_value().into_int_value(), direct_done))
    }

    /// Appends three operands as `i64` tag/payload pairs (missing ones `nil`), as
    /// `lz_rtcall_v` and leaves take them.
    fn push_operands(
        &self,
        call_args: &mut Vec<inkwell::values::BasicMetadataValueEnum<'ctx>>,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<(), LowerError> {
        self.push_n_operands(call_args, ops, 3)
    }

    /// Appends `n` operands as `i64` tag/payload pairs (missing ones `nil`).
    fn push_n_operands(
        &self,
        call_args: &mut Vec<inkwell::values::BasicMetadataValueEnum<'ctx>>,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
        n: usize,
    ) -> Result<(), LowerError> {
        for i in 0..n {
            let (tag, payload) = match ops.get(i) {
                Some(&(tag, payload)) => (self.b.build_int_z_extend(tag, self.t.i64, "")?, payload),
                None => (self.t.i64.const_zero(), self.t.i64.const_zero()),
            };
            call_args.push(tag.into());
            call_args.push(payload.into());
        }
        Ok(())
    }

    /// Calls runtime function `rt` through its leaf, if it has one, else directly.
    fn rtcall_leaf_or_regs(
        &mut self,
        leaf: Option<Leaf>,
        rt: RtId,
        site: i64,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        match leaf {
            Some(leaf) => self.rtcall_leaf(leaf.symbol, rt, site, ops),
            None => self.rtcall_regs(rt, site, ops),
        }
    }

    /// A runtime call with an inline table fast path (see [`TableAccess`]) whose key is a
    /// string constant: the instruction's inline-cache word ([`abi::PROTO_ICS_OFFSET`])
    /// names the hash-part entry that held the key last; if the table has that entry
    /// and it holds the key with a non-`nil` value, the access happens inline. Else
    /// `lz_hash_get`/`lz_hash_set` look the key up (and refill the cache), and if the
    /// raw value is `nil` the leaf or the function decides. A read of a function with a
    /// [`ChainLookup`] looks up with `lz_hash_lookup` instead, which answers for a `nil`
    /// raw value too, from the site's lookup cache
    /// ([`lazyjit_ir::interp::Proto::lookup_site`]) or the chain
    /// lookup. `ops` has the access's arity.
    #[allow(clippy::too_many_arguments)]
    fn rtcall_hash_ic(
        &mut self,
        access: TableAccess,
        leaf: Option<Leaf>,
        chain: Option<ChainLookup>,
        rt: RtId,
        site: i64,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<Option<(IntValue<'ctx>, IntValue<'ctx>)>, LowerError> {
        let ((ttag, tpay), (_, kpay)) = (ops[0], ops[1]);
        let probe_bb = self.new_block("ic.probe");
        let hit_bb = self.new_block("ic.hit");
        let refill_bb = self.new_block("ic.refill");
        let slow_bb = self.new_block("ic.slow");
        let done = self.new_block("ic.done");
        let ics = self.ics_ptr()?;
        let word = self.offset_ptr(ics, 4 * self.cur.index() as u64)?;
        let is_table = self.b.build_int_compare(IntPredicate::EQ, ttag, self.tag_const(Tag::Table), "")?;
        self.b.build_conditional_branch(is_table, probe_bb, slow_bb)?;
        // The entry the word names holds the key, with a value that is not nil.
        self.b.position_at_end(probe_bb);
        let table = self.b.build_int_to_ptr(tpay, self.t.ptr, "")?;
        let probe = self.probe_hash_ic(table, kpay, word, refill_bb)?;
        let (value, vtag, mut present) = (probe.value, probe.value_tag, probe.present);
        if access == TableAccess::Set {
            // A change to a watched table is for `lz_hash_set` (lookup caches depend on it).
            let watched = self.b.build_load(self.t.i8, self.offset_ptr(table, abi::TABLE_WATCHED_OFFSET)?, "")?;
            let unwatched = self.b.build_int_compare(IntPredicate::EQ, watched.into_int_value(), self.t.i8.const_zero(), "")?;
            present = self.b.build_and(present, unwatched, "")?;
        }
        self.b.build_conditional_branch(present, hit_bb, refill_bb)?;
        self.b.position_at_end(hit_bb);
        let (hit_tag, hit_payload) = match access {
            TableAccess::Get => (vtag, self.load_word(self.offset_ptr(value, abi::VAL_PAYLOAD_OFFSET)?)?),
            TableAccess::Set => {
                let (vt, vp) = ops[2];
                self.store_raw(value, vt, vp)?;
                (self.tag_const(Tag::Nil), self.t.i64.const_zero())
            }
        };
        self.b.build_unconditional_branch(done)?;
        // The lookup that refills the cache.
        self.b.position_at_end(refill_bb);
        // (Reached only from blocks where the operand is a table.)
        let mut args: Vec<inkwell::values::BasicMetadataValueEnum<'ctx>> = vec![table.into(), kpay.into()];
        if let (TableAccess::Set, Some(&(vtag, vpay))) = (access, ops.get(2)) {
            args.push(self.b.build_int_z_extend(vtag, self.t.i64, "")?.into());
            args.push(vpay.into());
        }
        args.push(word.into());
        let lookup = self.proto.lookup_site.get(self.cur.index()).copied().filter(|&n| n != u32::MAX);
        let (refill_tag, refill_payload, missed) = match (access, chain.zip(lookup)) {
            (TableAccess::Get, Some((chain, n))) => {
                let cache = self.offset_ptr(self.lookups_ptr()?, abi::LOOKUP_SIZE * n as u64)?;
                let merge = self.new_block("lookup.done");
                let (cached_tag, cached_payload, cached_end) = self.lookup_cached(table, kpay, cache, merge)?;
                let chain_fn = self.chain_decl(chain.symbol).as_global_value().as_pointer_value();
                let args = [self.vm.into(), table.into(), kpay.into(), word.into(), cache.into(), chain_fn.into()];
                let pair = self.call_helper_value(Helper::HashLookup, &args)?;
                let (tag, payload, missed) = self.split_pair(pair, lazyjit_ir::interp::LEAF_MISS, Helper::HashLookup.name())?;
                let call_end = self.current_block()?;
                self.b.build_unconditional_branch(merge)?;
                self.b.position_at_end(merge);
                let (tag, payload) = self.value_phi(&[(cached_tag, cached_payload, cached_end), (tag, payload, call_end)])?;
                let missed_phi = self.b.build_phi(self.ctx.bool_type(), "")?;
                missed_phi.add_incoming(&[(&self.ctx.bool_type().const_zero(), cached_end), (&missed, call_end)]);
                (tag, payload, missed_phi.as_basic_value().into_int_value())
            }
            (TableAccess::Get, None) => {
                let pair = self.call_helper_value(Helper::HashGet, &args)?;
                self.split_pair(pair, lazyjit_ir::interp::LEAF_MISS, Helper::HashGet.name())?
            }
            (TableAccess::Set, _) => {
                let stored = self.call_helper_value(Helper::HashSet, &args)?.into_int_value();
                let missed = self.b.build_int_compare(IntPredicate::EQ, stored, self.t.i32.const_zero(), "")?;
                (self.tag_const(Tag::Nil), self.t.i64.const_zero(), missed)
            }
        };
        let refill_end = self.current_block()?;
        self.b.build_conditional_branch(missed, slow_bb, done)?;
        // Not in the hash part: the leaf or the function.
        self.b.position_at_end(slow_bb);
        let (slow_tag, slow_payload) = self.rtcall_leaf_or_regs(leaf, rt, site, ops)?;
        let slow_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        self.value_phi(&[
            (hit_tag, hit_payload, hit_bb),
            (refill_tag, refill_payload, refill_end),
            (slow_tag, slow_payload, slow_end),
        ])
        .map(Some)
    }

    /// The answer of `cache` (a site's [`lazyjit_ir::rt::object::LookupCache`]) for
    /// string `key` in `table`, without a call, when the table's key summary proves the
    /// key absent from its hash part and the cache, of the current epoch, holds the
    /// table's metatable: then branches to `merge` with the answer (returned with the
    /// block it comes from). Leaves the builder where the answer is not known so.
    fn lookup_cached(
        &mut self,
        table: PointerValue<'ctx>,
        key: IntValue<'ctx>,
        cache: PointerValue<'ctx>,
        merge: BasicBlock<'ctx>,
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>, BasicBlock<'ctx>), LowerError> {
        let i64t = self.t.i64;
        let c = |v: u64| i64t.const_int(v, false);
        let (absent, found, unknown) = (self.new_block("lookup.absent"), self.new_block("lookup.found"), self.new_block("lookup.call"));
        let keys = self.load_word(self.offset_ptr(table, abi::TABLE_KEYS_OFFSET)?)?;
        let key_ptr = self.b.build_int_to_ptr(key, self.t.ptr, "")?;
        let hash = self.load_word(self.offset_ptr(key_ptr, abi::STR_HASH_OFFSET)?)?;
        let bit = self.b.build_left_shift(c(1), self.b.build_right_shift(hash, c(58), false, "")?, "")?;
        let held = self.b.build_int_compare(IntPredicate::NE, self.b.build_and(keys, bit, "")?, c(0), "")?;
        self.b.build_conditional_branch(held, unknown, absent)?;
        self.b.position_at_end(absent);
        let meta = self.load_word(self.offset_ptr(table, abi::TABLE_META_OFFSET)?)?;
        let filled = self.load_word(self.offset_ptr(cache, abi::LOOKUP_EPOCH_OFFSET)?)?;
        let now = self.b.build_load(i64t, super::external_data(&self.module, self.t.i8, abi::LOOKUP_EPOCH_SYMBOL), "epoch")?;
        if let Some(load) = inkwell::values::BasicValue::as_instruction_value(&now) {
            load.set_alignment(8).map_err(|e| LowerError::Malformed(e.to_string()))?;
            load.set_atomic_ordering(inkwell::AtomicOrdering::Monotonic).map_err(|e| LowerError::Malformed(e.to_string()))?;
        }
        let current = self.b.build_int_compare(IntPredicate::EQ, filled, now.into_int_value(), "")?;
        let has_meta = self.b.build_int_compare(IntPredicate::NE, meta, c(0), "")?;
        let mut way_bb = self.new_block("lookup.way");
        self.b.build_conditional_branch(self.b.build_and(current, has_meta, "")?, way_bb, unknown)?;
        let mut ways = Vec::with_capacity(lazyjit_ir::rt::object::LOOKUP_WAYS);
        for w in 0..lazyjit_ir::rt::object::LOOKUP_WAYS {
            self.b.position_at_end(way_bb);
            let way = self.offset_ptr(cache, abi::LOOKUP_WAYS_OFFSET + abi::LOOKUP_WAY_SIZE * w as u64)?;
            let same = self.b.build_int_compare(IntPredicate::EQ, self.load_word(way)?, meta, "")?;
            let next = if w + 1 < lazyjit_ir::rt::object::LOOKUP_WAYS { self.new_block("lookup.way") } else { unknown };
            self.b.build_conditional_branch(same, found, next)?;
            ways.push((way, way_bb));
            way_bb = next;
        }
        self.b.position_at_end(found);
        let way = self.b.build_phi(self.t.ptr, "way")?;
        for (p, bb) in &ways {
            way.add_incoming(&[(p, *bb)]);
        }
        let way = way.as_basic_value().into_pointer_value();
        let tag = self.b.build_int_truncate(self.load_word(self.offset_ptr(way, 8)?)?, self.t.i8, "")?;
        let payload = self.load_word(self.offset_ptr(way, 16)?)?;
        self.b.build_unconditional_branch(merge)?;
        self.b.position_at_end(unknown);
        Ok((tag, payload, found))
    }

    /// A runtime call with an inline array fast path (see [`TableAccess`]): the table and
    /// key tags, the bounds and (for a read) the element are checked inline; anything
    /// else takes the leaf or the function. `ops` has the access's arity; `None` if a
    /// constant tag is never a table or an integer.
    fn rtcall_array(
        &mut self,
        access: TableAccess,
        leaf: Option<Leaf>,
        rt: RtId,
        site: i64,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<Option<(IntValue<'ctx>, IntValue<'ctx>)>, LowerError> {
        let ((ttag, tpay), (ktag, kpay)) = (ops[0], ops[1]);
        let mut fits = Vec::new();
        for (tag, want) in [(ttag, Tag::Table), (ktag, Tag::Int)] {
            match tag.get_zero_extended_constant() {
                Some(t) if t != want as u64 => return Ok(None),
                Some(_) => {}
                None => fits.push(self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(want), "")?),
            }
        }
        let access_bb = self.new_block("arr.access");
        let hit_bb = self.new_block("arr.hit");
        let miss_bb = self.new_block("arr.miss");
        let done = self.new_block("arr.done");
        let bounds_bb = self.new_block("arr.bounds");
        match fits.as_slice() {
            [] => {
                self.b.build_unconditional_branch(bounds_bb)?;
            }
            [c] => {
                self.b.build_conditional_branch(*c, bounds_bb, miss_bb)?;
            }
            [a, b, ..] => {
                let both = self.b.build_and(*a, *b, "")?;
                self.b.build_conditional_branch(both, bounds_bb, miss_bb)?;
            }
        }
        self.b.position_at_end(bounds_bb);
        let table = self.b.build_int_to_ptr(tpay, self.t.ptr, "")?;
        let len = self.load_word_of(self.offset_ptr(table, abi::TABLE_ARRAY_LEN_OFFSET)?, Memory::TableParts)?;
        let index = self.b.build_int_sub(kpay, self.t.i64.const_int(1, false), "")?;
        let inside = self.b.build_int_compare(IntPredicate::ULT, index, len, "")?;
        self.b.build_conditional_branch(inside, access_bb, miss_bb)?;
        self.b.position_at_end(access_bb);
        let (etag, payload) = self.load_element(table, index)?;
        let present = self.b.build_int_compare(IntPredicate::NE, etag, self.tag_const(Tag::Nil), "")?;
        let (hit_tag, hit_payload) = match access {
            TableAccess::Get => {
                self.b.build_conditional_branch(present, hit_bb, miss_bb)?;
                self.b.position_at_end(hit_bb);
                (etag, payload)
            }
            TableAccess::Set => {
                let meta = self
                    .b
                    .build_load(self.t.ptr, self.offset_ptr(table, abi::TABLE_META_OFFSET)?, "")?
                    .into_pointer_value();
                let no_meta = self.b.build_is_null(meta, "")?;
                let ok = self.b.build_or(present, no_meta, "")?;
                self.b.build_conditional_branch(ok, hit_bb, miss_bb)?;
                self.b.position_at_end(hit_bb);
                let (vtag, vpay) = ops[2];
                self.store_element(table, index, vtag, vpay, None)?;
                (self.tag_const(Tag::Nil), self.t.i64.const_zero())
            }
        };
        let hit_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(miss_bb);
        let (miss_tag, miss_payload) = self.rtcall_leaf_or_regs(leaf, rt, site, ops)?;
        let miss_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        self.value_phi(&[(hit_tag, hit_payload, hit_end), (miss_tag, miss_payload, miss_end)]).map(Some)
    }

    /// A call of a function declared to append its items to a table's array part
    /// ([`lazyjit_ir::interp::RtRegistry::declare_array_append`]): the items are stored
    /// inline when the table's array part ends right before `start`, has room for them
    /// and the hash part is empty; otherwise the function is called. Items in registers
    /// are stored from there; with a spread pack, all are staged first (as for the call)
    /// and copied.
    fn rtcall_append(&mut self, rt: RtId, args: &[Value], spread: bool, site: i64, result: Value) -> Result<(), LowerError> {
        let ((ttag, tpay), (stag, spay)) = (self.get(args[0])?, self.get(args[1])?);
        let mut items = Vec::with_capacity(args.len() - 2);
        let (n, staged) = if spread {
            let (argv, count) = self.stage_args(args, true)?;
            let all = self.b.build_int_z_extend(count, self.t.i64, "")?;
            (self.b.build_int_sub(all, self.t.i64.const_int(2, false), "")?, Some((argv, count)))
        } else {
            for &a in &args[2..] {
                items.push(self.get(a)?);
            }
            (self.t.i64.const_int(items.len() as u64, false), None)
        };
        let (check, append, slow, done) =
            (self.new_block("append.check"), self.new_block("append"), self.new_block("append.call"), self.new_block("append.done"));
        let mut fits = Vec::new();
        for (tag, want) in [(ttag, Tag::Table), (stag, Tag::Int)] {
            match tag.get_zero_extended_constant() {
                Some(t) if t != want as u64 => fits.push(self.ctx.bool_type().const_zero()),
                Some(_) => {}
                None => fits.push(self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(want), "")?),
            }
        }
        match fits.as_slice() {
            [] => self.b.build_unconditional_branch(check)?,
            _ => self.b.build_conditional_branch(self.all(&fits)?, check, slow)?,
        };
        self.b.position_at_end(check);
        let table = self.b.build_int_to_ptr(tpay, self.t.ptr, "")?;
        let len_at = self.offset_ptr(table, abi::TABLE_ARRAY_LEN_OFFSET)?;
        let len = self.load_word_of(len_at, Memory::TableParts)?;
        let cap = self.load_word_of(self.offset_ptr(table, abi::TABLE_ARRAY_CAP_OFFSET)?, Memory::TableParts)?;
        let entries = self.load_word_of(self.offset_ptr(table, abi::TABLE_HASH_LEN_OFFSET)?, Memory::TableParts)?;
        let next = self.b.build_int_add(len, self.t.i64.const_int(1, false), "")?;
        let end = self.b.build_int_add(len, n, "")?;
        let ok = self.all(&[
            self.b.build_int_compare(IntPredicate::EQ, spay, next, "")?,
            self.b.build_int_compare(IntPredicate::ULE, end, cap, "")?,
            self.b.build_int_compare(IntPredicate::EQ, entries, self.t.i64.const_zero(), "")?,
        ])?;
        self.b.build_conditional_branch(ok, append, slow)?;
        self.b.position_at_end(append);
        match staged {
            Some((argv, _)) => {
                // A copy loop: a call of `memcpy` would cost more than the few values.
                let src = self.offset_ptr(argv, 2 * abi::VAL_SIZE)?;
                let (body, exit) = (self.new_block("append.copy"), self.new_block("append.copied"));
                let any = self.b.build_int_compare(IntPredicate::NE, n, self.t.i64.const_zero(), "")?;
                self.b.build_conditional_branch(any, body, exit)?;
                self.b.position_at_end(body);
                let i = self.b.build_phi(self.t.i64, "i")?;
                let i_val = i.as_basic_value().into_int_value();
                let bytes = self.b.build_int_mul(i_val, self.t.i64.const_int(abi::VAL_SIZE, false), "")?;
                // SAFETY: only builds IR; `i` counts the staged items.
                let from = unsafe { self.b.build_in_bounds_gep(self.t.i8, src, &[bytes], "")? };
                let (tag, payload) = self.load_raw(from)?;
                let index = self.b.build_int_add(len, i_val, "")?;
                let first = self.b.build_int_compare(IntPredicate::EQ, index, self.t.i64.const_zero(), "")?;
                self.store_element(table, index, tag, payload, Some(first))?;
                let next_i = self.b.build_int_add(i_val, self.t.i64.const_int(1, false), "")?;
                let latch = self.current_block()?;
                i.add_incoming(&[(&self.t.i64.const_zero(), append), (&next_i, latch)]);
                let more = self.b.build_int_compare(IntPredicate::ULT, next_i, n, "")?;
                self.b.build_conditional_branch(more, body, exit)?;
                self.b.position_at_end(exit);
            }
            None => {
                for (i, &(tag, payload)) in items.iter().enumerate() {
                    let index = self.b.build_int_add(len, self.t.i64.const_int(i as u64, false), "")?;
                    let first = self.b.build_int_compare(IntPredicate::EQ, index, self.t.i64.const_zero(), "")?;
                    self.store_element(table, index, tag, payload, Some(first))?;
                }
            }
        }
        self.store_word_of(len_at, end, Memory::TableParts)?;
        let append_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(slow);
        match staged {
            Some((argv, count)) => self.rtcall_staged(rt, argv, count, site, result)?,
            None => self.rtcall_slow(rt, args, false, site, result)?,
        }
        let (tag, payload) = self.load_raw(self.value_ptr(result)?)?;
        let slow_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        let nil = (self.tag_const(Tag::Nil), self.t.i64.const_zero());
        let (tag, payload) = self.value_phi(&[(nil.0, nil.1, append_end), (tag, payload, slow_end)])?;
        self.define(result, tag, payload)
    }

    /// Calls the leaf fast path `symbol` of runtime function `rt` (see
    /// [`lazyjit_ir::interp::Leaf`]) on up to three operands in registers; if it answers
    /// [`lazyjit_ir::interp::LEAF_MISS`], calls the function (`lz_rtcall_v`).
    fn rtcall_leaf(
        &mut self,
        symbol: &str,
        rt: RtId,
        site: i64,
        ops: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let f = self.leaf_decl(symbol);
        let mut call_args: Vec<inkwell::values::BasicMetadataValueEnum<'ctx>> = vec![self.vm.into()];
        self.push_operands(&mut call_args, ops)?;
        let pair = self.call_value(f, &call_args, symbol)?;
        let (tag, payload, miss) = self.split_pair(pair, lazyjit_ir::interp::LEAF_MISS, symbol)?;
        self.or_generic(miss, true, (tag, payload), rt, site, ops)
    }

    /// A runtime call through `lz_rtcall`, its result stored to `result`'s slot (not
    /// recorded: callers load it).
    fn rtcall_slow(
        &mut self,
        rt: RtId,
        args: &[Value],
        spread: bool,
        site: i64,
        result: Value,
    ) -> Result<(), LowerError> {
        let (argv, n) = if spread {
            self.stage_args(args, true)?
        } else {
            for (i, &a) in args.iter().enumerate() {
                let (tag, payload) = self.get(a)?;
                self.store_raw(
                    self.offset_ptr(self.scratch, abi::VAL_SIZE * i as u64)?,
                    tag,
                    payload,
                )?;
            }
            (self.scratch, self.i32c(args.len() as i64))
        };
        self.rtcall_staged(rt, argv, n, site, result)
    }

    /// A runtime call through `lz_rtcall` of the `n` (`i32`) operands at `argv`, its
    /// result stored to `result`'s slot.
    fn rtcall_staged(
        &mut self,
        rt: RtId,
        argv: PointerValue<'ctx>,
        n: IntValue<'ctx>,
        site: i64,
        result: Value,
    ) -> Result<(), LowerError> {
        let out = self.value_ptr(result)?;
        let pc = self.pc()?;
        let call_args = [
            self.vm.into(),
            self.i32c(self.local_rt(rt)? as i64).into(),
            self.i32c(site).into(),
            argv.into(),
            n.into(),
            out.into(),
            self.i32c(pc as i64).into(),
        ];
        self.call_checked(Helper::RtCall, &call_args)
    }
}
