//! Constants, cells, upvalues, closures, packs, varargs, globals, and the guarded table
//! ops.
//!
//! Immediate constants are stored inline; everything that allocates or reads VM state
//! is a helper call writing its result straight into the result's slot. Cell reads and
//! writes are inline loads and stores of the value inside the cell object
//! ([`crate::abi::CELL_VALUE_OFFSET`]). `arr.len`, `arr.get`, `arr.set` and `meta.nil`
//! are inline loads and stores of a table's fields (guards made sure of the operands).

use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Const, Opcode, Value};

use super::helpers::Helper;
use super::{LowerError, Lowerer};
use super::values::Memory;
use crate::abi;

impl<'ctx> Lowerer<'_, 'ctx> {
    /// `const`, `iconst`, `fconst`, `bconst`.
    pub(crate) fn lower_const(
        &mut self,
        op: Opcode,
        imm: Const,
        result: Value,
    ) -> Result<(), LowerError> {
        let fits = match op {
            Opcode::Const => true,
            Opcode::Iconst => matches!(imm, Const::Int(_)),
            Opcode::Fconst => matches!(imm, Const::Float(_)),
            Opcode::Bconst => matches!(imm, Const::Bool(_)),
            _ => false,
        };
        if !fits {
            return Err(LowerError::Malformed(format!("{} {imm:?}", op.mnemonic())));
        }
        let i64t = self.t.i64;
        let (tag, payload) = match imm {
            Const::Nil => (Tag::Nil, i64t.const_zero()),
            Const::Bool(b) => (Tag::Bool, i64t.const_int(b as u64, false)),
            Const::Int(i) => (Tag::Int, i64t.const_int(i as u64, false)),
            Const::Float(x) => (Tag::Float, i64t.const_int(x.to_bits(), false)),
            Const::Str(s) => {
                let (Some(number), true) = (self.proto.refs.str_number(s), s.index() < self.loaded.consts.len()) else {
                    return Err(LowerError::Malformed(format!("string {s} is not in the module")));
                };
                // The module's constants are never collected: their payloads are
                // loaded from the function's constant table (by local number), their
                // tag is known.
                let consts = self
                    .b
                    .build_load(self.t.ptr, self.offset_ptr(self.proto_ptr, abi::PROTO_CONSTS_OFFSET)?, "consts")?
                    .into_pointer_value();
                let at = self.offset_ptr(consts, abi::VAL_SIZE * number as u64 + abi::VAL_PAYLOAD_OFFSET)?;
                let payload = self.load_word(at)?;
                return self.define(result, self.tag_const(Tag::Str), payload);
            }
        };
        self.store_value(result, tag, payload)
    }

    /// `varargs`: the pack the host left in slot `nparams`.
    pub(crate) fn lower_varargs(&mut self, result: Value) -> Result<(), LowerError> {
        if !self.proto.vararg || self.proto.nparams >= self.proto.nslots {
            return Err(LowerError::Malformed(
                "varargs in a function without varargs".into(),
            ));
        }
        let (tag, payload) = self.load_raw(self.slot_ptr(self.proto.nparams)?)?;
        self.define(result, tag, payload)
    }

    /// `pack.get`.
    pub(crate) fn lower_pack_get(
        &mut self,
        pack: Value,
        index: i64,
        result: Value,
    ) -> Result<(), LowerError> {
        let Ok(index) = i32::try_from(index) else {
            // No pack is that long (the interpreter reads past the end: nil).
            return self.store_value(result, Tag::Nil, self.t.i64.const_zero());
        };
        let (p, out) = (self.value_ptr(pack)?, self.value_ptr(result)?);
        self.call_helper(
            Helper::PackGet,
            &[p.into(), self.i32c(index as i64).into(), out.into()],
        )?;
        self.define_loaded(result)
    }

    /// `pack.len`.
    pub(crate) fn lower_pack_len(&mut self, pack: Value, result: Value) -> Result<(), LowerError> {
        let p = self.value_ptr(pack)?;
        let n = self
            .call_helper(Helper::PackLen, &[p.into()])?
            .ok_or_else(|| LowerError::Malformed("lz_pack_len returns nothing".into()))?;
        self.store_value(result, Tag::Int, n)
    }

    /// `cell.new`.
    pub(crate) fn lower_cell_new(&mut self, value: Value, result: Value) -> Result<(), LowerError> {
        let (v, out) = (self.value_ptr(value)?, self.value_ptr(result)?);
        self.call_helper(Helper::CellNew, &[self.vm.into(), v.into(), out.into()])?;
        self.define_loaded(result)
    }

    /// Address of the value inside the cell held by `cell`'s slot.
    fn cell_value_ptr(
        &mut self,
        cell: Value,
    ) -> Result<PointerValue<'ctx>, LowerError> {
        let payload = self.get_payload(cell)?;
        let obj = self.b.build_int_to_ptr(payload, self.t.ptr, "")?;
        self.offset_ptr(obj, abi::CELL_VALUE_OFFSET)
    }

    /// `cell.get`: an inline load from the cell.
    pub(crate) fn lower_cell_get(&mut self, cell: Value, result: Value) -> Result<(), LowerError> {
        let p = self.cell_value_ptr(cell)?;
        let (tag, payload) = self.load_raw(p)?;
        self.define(result, tag, payload)
    }

    /// `cell.set`: an inline store into the cell.
    pub(crate) fn lower_cell_set(&mut self, cell: Value, value: Value) -> Result<(), LowerError> {
        let p = self.cell_value_ptr(cell)?;
        let (tag, payload) = self.get(value)?;
        self.store_raw(p, tag, payload)
    }

    /// The table a `val` known (by a guard) to be one points to.
    fn table_ptr(&mut self, table: Value) -> Result<PointerValue<'ctx>, LowerError> {
        let payload = self.get_payload(table)?;
        Ok(self.b.build_int_to_ptr(payload, self.t.ptr, "")?)
    }

    /// `arr.len`: the table's array length field.
    pub(crate) fn lower_arr_len(&mut self, table: Value, result: Value) -> Result<(), LowerError> {
        let t = self.table_ptr(table)?;
        let len = self.load_word_of(self.offset_ptr(t, abi::TABLE_ARRAY_LEN_OFFSET)?, Memory::TableParts)?;
        self.store_value(result, Tag::Int, len)
    }

    /// `meta.nil`: whether the table's metatable pointer is null.
    pub(crate) fn lower_meta_nil(&mut self, table: Value, result: Value) -> Result<(), LowerError> {
        let t = self.table_ptr(table)?;
        let meta = self.b.build_load(self.t.ptr, self.offset_ptr(t, abi::TABLE_META_OFFSET)?, "")?.into_pointer_value();
        let none = self.b.build_is_null(meta, "")?;
        self.store_bool(result, none)
    }

    /// The table pointer and 0-based element number of an access to element `index`
    /// (1-based, within the array part) of `table`.
    fn array_slot(&mut self, table: Value, index: Value) -> Result<(PointerValue<'ctx>, IntValue<'ctx>), LowerError> {
        let t = self.table_ptr(table)?;
        let k = self.get_payload(index)?;
        Ok((t, self.b.build_int_sub(k, self.t.i64.const_int(1, false), "")?))
    }

    /// `arr.get`: a load of the element.
    pub(crate) fn lower_arr_get(&mut self, table: Value, index: Value, result: Value) -> Result<(), LowerError> {
        let (t, i) = self.array_slot(table, index)?;
        let (tag, payload) = self.load_element(t, i)?;
        self.define(result, tag, payload)
    }

    /// `arr.get.int`, `arr.get.float`, `arr.get.bool`: a load of the element's payload (a
    /// `guard.elems` checked its tag).
    pub(crate) fn lower_arr_get_payload(&mut self, table: Value, index: Value, result: Value, tag: Tag) -> Result<(), LowerError> {
        let (t, i) = self.array_slot(table, index)?;
        let payload = self.load_element_payload(t, i)?;
        self.store_value(result, tag, payload)
    }

    /// `arr.set`: a store into the element, keeping the table's element tag true.
    pub(crate) fn lower_arr_set(&mut self, table: Value, index: Value, value: Value) -> Result<(), LowerError> {
        let (t, i) = self.array_slot(table, index)?;
        let (tag, payload) = self.get(value)?;
        self.store_element(t, i, tag, payload, None)
    }

    /// `arr.set.int`, `arr.set.float`, `arr.set.bool`: a store of the payload alone (a
    /// `guard.elems` checked that every element, this one too, has the value's tag).
    pub(crate) fn lower_arr_set_payload(&mut self, table: Value, index: Value, value: Value) -> Result<(), LowerError> {
        let (t, i) = self.array_slot(table, index)?;
        let payload = self.get_payload(value)?;
        self.store_element_payload(t, i, payload)
    }

    /// `arr.push`: appends inline when the element fits as [`Table::push_within`]
    /// says (one past the array part, room in it, no hash part, not `nil`); the result
    /// says whether it did.
    ///
    /// [`Table::push_within`]: lazyjit_ir::rt::object::Table::push_within
    ///
    /// `typed` (`arr.push.int`, `arr.push.float`, `arr.push.bool`): the value's tag,
    /// which every element has (a `guard.elems` checked): the table's element tag stays.
    pub(crate) fn lower_arr_push(&mut self, table: Value, index: Value, value: Value, result: Value, typed: Option<Tag>) -> Result<(), LowerError> {
        let t = self.table_ptr(table)?;
        let i = self.get_payload(index)?;
        let (tag, payload) = match typed {
            Some(tag) => (self.tag_const(tag), self.get_payload(value)?),
            None => self.get(value)?,
        };
        let len_at = self.offset_ptr(t, abi::TABLE_ARRAY_LEN_OFFSET)?;
        let len = self.load_word_of(len_at, Memory::TableParts)?;
        let cap = self.load_word_of(self.offset_ptr(t, abi::TABLE_ARRAY_CAP_OFFSET)?, Memory::TableParts)?;
        let entries = self.load_word_of(self.offset_ptr(t, abi::TABLE_HASH_LEN_OFFSET)?, Memory::TableParts)?;
        let next = self.b.build_int_add(len, self.t.i64.const_int(1, false), "")?;
        let checks = [
            self.b.build_int_compare(IntPredicate::EQ, i, next, "")?,
            self.b.build_int_compare(IntPredicate::ULT, len, cap, "")?,
            self.b.build_int_compare(IntPredicate::EQ, entries, self.t.i64.const_zero(), "")?,
            self.b.build_int_compare(IntPredicate::NE, tag, self.tag_const(Tag::Nil), "")?,
        ];
        let mut fits = checks[0];
        for &c in &checks[1..] {
            fits = self.b.build_and(fits, c, "")?;
        }
        let (push, done) = (self.new_block("push"), self.new_block("pushed"));
        self.b.build_conditional_branch(fits, push, done)?;
        self.b.position_at_end(push);
        match typed {
            Some(_) => self.store_element_payload(t, len, payload)?,
            None => {
                let empty = self.b.build_int_compare(IntPredicate::EQ, len, self.t.i64.const_zero(), "")?;
                self.store_element(t, len, tag, payload, Some(empty))?;
            }
        }
        self.store_word_of(len_at, next, Memory::TableParts)?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        self.store_bool(result, fits)
    }

    /// `arr.reserve t, n`: the helper, when the array part has room for fewer than `n`.
    pub(crate) fn lower_arr_reserve(&mut self, table: Value, count: Value) -> Result<(), LowerError> {
        let t = self.table_ptr(table)?;
        let n = self.get_payload(count)?;
        let cap = self.load_word_of(self.offset_ptr(t, abi::TABLE_ARRAY_CAP_OFFSET)?, Memory::TableParts)?;
        let short = self.b.build_int_compare(IntPredicate::SGT, n, cap, "")?;
        let (grow, done) = (self.new_block("reserve"), self.new_block("reserved"));
        self.b.build_conditional_branch(short, grow, done)?;
        self.b.position_at_end(grow);
        self.call_helper(Helper::ArrReserve, &[self.vm.into(), t.into(), n.into()])?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// `upval N`.
    pub(crate) fn lower_upval(&mut self, index: i64, result: Value) -> Result<(), LowerError> {
        let index = i32::try_from(index)
            .ok()
            .filter(|&i| i >= 0 && (i as u32) < self.mir.upvals)
            .ok_or_else(|| LowerError::Malformed(format!("upval {index} out of range")))?;
        if self.mir.upvals <= abi::CLOSURE_INLINE_CELLS {
            // The verifier checked that closures of this function capture exactly
            // `upvals` cells, so they are all inline.
            let at = self.offset_ptr(self.closure, abi::CLOSURE_INLINE_CELLS_OFFSET + 8 * index as u64)?;
            let cell = self.b.build_load(self.t.ptr, at, "cell")?.into_pointer_value();
            let payload = self.b.build_ptr_to_int(cell, self.t.i64, "")?;
            return self.define(result, self.tag_const(Tag::Cell), payload);
        }
        let out = self.value_ptr(result)?;
        self.call_helper(
            Helper::Upval,
            &[
                self.closure.into(),
                self.i32c(index as i64).into(),
                out.into(),
            ],
        )?;
        self.define_loaded(result)
    }

    /// The fast way of a string-keyed access through the instruction's inline-cache
    /// `word`: whether the hash-part entry of `table` it names (in range) holds the key
    /// `kpay` (a string); else on to `refill`. Leaves the builder in the block where the
    /// entry holds the key, which the caller ends (the entry's value is there, and
    /// `present` says whether it is not `nil`).
    pub(crate) fn probe_hash_ic(
        &mut self,
        table: PointerValue<'ctx>,
        kpay: IntValue<'ctx>,
        word: PointerValue<'ctx>,
        refill: inkwell::basic_block::BasicBlock<'ctx>,
    ) -> Result<HashProbe<'ctx>, LowerError> {
        let (entry_bb, value_bb) = (self.new_block("ic.entry"), self.new_block("ic.value"));
        // The cached entry number against the table's entry count.
        let len = self.load_word_of(self.offset_ptr(table, abi::TABLE_HASH_LEN_OFFSET)?, Memory::TableParts)?;
        let cached = self.b.build_load(self.t.i32, word, "")?.into_int_value();
        let cached = self.b.build_int_z_extend(cached, self.t.i64, "")?;
        let inside = self.b.build_int_compare(IntPredicate::ULT, cached, len, "")?;
        self.b.build_conditional_branch(inside, entry_bb, refill)?;
        // The entry holds the key (the same string object).
        self.b.position_at_end(entry_bb);
        let entry = self.table_element(table, abi::TABLE_HASH_PTR_OFFSET, cached, abi::TABLE_HASH_ENTRY_SIZE)?;
        let (key_tag, key_payload) = self.load_raw(entry)?;
        let same = self.b.build_and(
            self.b.build_int_compare(IntPredicate::EQ, key_tag, self.tag_const(Tag::Str), "")?,
            self.b.build_int_compare(IntPredicate::EQ, key_payload, kpay, "")?,
            "",
        )?;
        self.b.build_conditional_branch(same, value_bb, refill)?;
        self.b.position_at_end(value_bb);
        let value = self.offset_ptr(entry, abi::VAL_SIZE)?;
        let value_tag = self.b.build_load(self.t.i8, value, "")?.into_int_value();
        let present = self.b.build_int_compare(IntPredicate::NE, value_tag, self.tag_const(Tag::Nil), "")?;
        Ok(HashProbe { cached, value, value_tag, present })
    }

    /// `hash.find`: the entry the instruction's inline-cache word names when it holds the
    /// key with a value; else `lz_hash_find`, which looks the key up and refills the word.
    pub(crate) fn lower_hash_find(&mut self, table: Value, key: Value, result: Value) -> Result<(), LowerError> {
        let t = self.table_ptr(table)?;
        let kpay = self.get_payload(key)?;
        let word = self.offset_ptr(self.ics_ptr()?, 4 * self.cur.index() as u64)?;
        let (refill, done) = (self.new_block("find.refill"), self.new_block("find.done"));
        let probe = self.probe_hash_ic(t, kpay, word, refill)?;
        let value_bb = self.current_block()?;
        self.b.build_conditional_branch(probe.present, done, refill)?;
        self.b.position_at_end(refill);
        let found = self
            .call_helper(Helper::HashFind, &[t.into(), kpay.into(), word.into()])?
            .ok_or_else(|| LowerError::Malformed("lz_hash_find returns nothing".into()))?;
        let refill_end = self.current_block()?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        let index = self.b.build_phi(self.t.i64, "entry")?;
        index.add_incoming(&[(&probe.cached, value_bb), (&found, refill_end)]);
        self.store_value(result, Tag::Int, index.as_basic_value().into_int_value())
    }

    /// The value of hash-part entry `index` of `table`.
    fn hash_value_ptr(&mut self, table: Value, index: Value) -> Result<PointerValue<'ctx>, LowerError> {
        let t = self.table_ptr(table)?;
        let i = self.get_payload(index)?;
        let entry = self.table_element(t, abi::TABLE_HASH_PTR_OFFSET, i, abi::TABLE_HASH_ENTRY_SIZE)?;
        self.offset_ptr(entry, abi::VAL_SIZE)
    }

    /// `hash.get`: a load of the entry's value.
    pub(crate) fn lower_hash_get(&mut self, table: Value, index: Value, result: Value) -> Result<(), LowerError> {
        let p = self.hash_value_ptr(table, index)?;
        let (tag, payload) = self.load_raw(p)?;
        self.define(result, tag, payload)
    }

    /// `hash.set`: a store into the entry's value; through `lz_hash_store` for a watched
    /// table (lookup caches depend on its values).
    pub(crate) fn lower_hash_set(&mut self, table: Value, index: Value, value: Value) -> Result<(), LowerError> {
        let t = self.table_ptr(table)?;
        let p = self.hash_value_ptr(table, index)?;
        let (tag, payload) = self.get(value)?;
        let (store, tell, done) = (self.new_block("store"), self.new_block("store.watched"), self.new_block("stored"));
        let watched = self.b.build_load(self.t.i8, self.offset_ptr(t, abi::TABLE_WATCHED_OFFSET)?, "")?.into_int_value();
        let plain = self.b.build_int_compare(IntPredicate::EQ, watched, self.t.i8.const_zero(), "")?;
        self.b.build_conditional_branch(plain, store, tell)?;
        self.b.position_at_end(store);
        self.store_raw(p, tag, payload)?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(tell);
        let i = self.get_payload(index)?;
        let wide_tag = self.b.build_int_z_extend(tag, self.t.i64, "")?;
        self.call_helper(Helper::HashStore, &[t.into(), i.into(), wide_tag.into(), payload.into()])?;
        self.b.build_unconditional_branch(done)?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// `is.fn`: whether the value is a closure whose proto is module function `func`'s
    /// (at a data symbol the linker defines, as for `guard.fn`).
    pub(crate) fn lower_is_fn(&mut self, value: Value, func: i64, result: Value) -> Result<(), LowerError> {
        let (tag, payload) = self.get(value)?;
        let from = self.current_block()?;
        let (check, join) = (self.new_block("is_fn.closure"), self.new_block("is_fn.join"));
        let is_closure = self.b.build_int_compare(IntPredicate::EQ, tag, self.tag_const(Tag::Func), "")?;
        self.b.build_conditional_branch(is_closure, check, join)?;
        self.b.position_at_end(check);
        let same = self.closure_of(payload, func, "is.fn")?;
        let check_end = self.current_block()?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(join);
        let phi = self.b.build_phi(self.ctx.bool_type(), "is_fn")?;
        phi.add_incoming(&[(&self.ctx.bool_type().const_zero(), from), (&same, check_end)]);
        self.store_bool(result, phi.as_basic_value().into_int_value())
    }

    /// Whether the closure at `payload` is one of module function `func` (its proto is
    /// the function's, at a data symbol the linker defines, see `version_symbols`);
    /// `what` names the op in the error for a function that does not exist.
    pub(crate) fn closure_of(&self, payload: IntValue<'ctx>, func: i64, what: &str) -> Result<IntValue<'ctx>, LowerError> {
        let index = usize::try_from(func)
            .ok()
            .filter(|&n| n < self.loaded.protos.len())
            .ok_or_else(|| LowerError::Malformed(format!("{what} names fn{func}, which does not exist")))?;
        let object = self.b.build_int_to_ptr(payload, self.t.ptr, "")?;
        let seen = self.load_word(self.offset_ptr(object, abi::CLOSURE_PROTO_OFFSET)?)?;
        let want = self.data_address(&super::function_symbol(&self.symbol, index))?;
        Ok(self.b.build_int_compare(IntPredicate::EQ, seen, want, "")?)
    }

    /// `closure.cell`: a load of one of the cells the closure holds itself.
    pub(crate) fn lower_closure_cell(&mut self, closure: Value, index: i64, result: Value) -> Result<(), LowerError> {
        let index = u64::try_from(index)
            .ok()
            .filter(|&i| i < abi::CLOSURE_INLINE_CELLS as u64)
            .ok_or_else(|| LowerError::Malformed(format!("closure.cell {index} out of range")))?;
        let payload = self.get_payload(closure)?;
        let c = self.b.build_int_to_ptr(payload, self.t.ptr, "")?;
        let at = self.offset_ptr(c, abi::CLOSURE_INLINE_CELLS_OFFSET + 8 * index)?;
        let cell = self.b.build_load(self.t.ptr, at, "cell")?.into_pointer_value();
        let payload = self.b.build_ptr_to_int(cell, self.t.i64, "")?;
        self.define(result, self.tag_const(Tag::Cell), payload)
    }

    /// `globals`.
    pub(crate) fn lower_globals(&mut self, result: Value) -> Result<(), LowerError> {
        let out = self.value_ptr(result)?;
        self.call_helper(Helper::Globals, &[self.vm.into(), out.into()])?;
        self.define_loaded(result)
    }

    /// `closure fnN(cells...)`: the cell values are copied to the scratch array.
    pub(crate) fn lower_closure(
        &mut self,
        func: u32,
        cells: &[Value],
        result: Value,
    ) -> Result<(), LowerError> {
        let number = self.proto.refs.func_number(lazyjit_ir::FuncId(func));
        let Some(number) = number.filter(|_| (func as usize) < self.loaded.protos.len()) else {
            return Err(LowerError::Malformed(format!("closure of missing function fn{func}")));
        };
        for (i, &c) in cells.iter().enumerate() {
            let (tag, payload) = self.get(c)?;
            let dst = self.offset_ptr(self.scratch, abi::VAL_SIZE * i as u64)?;
            self.store_raw(dst, tag, payload)?;
        }
        let out = self.value_ptr(result)?;
        // The proto whose local numbers the code uses (a version's, in optimized code).
        let args = [
            self.vm.into(),
            self.proto_ptr.into(),
            self.i32c(number as i64).into(),
            self.scratch.into(),
            self.i32c(cells.len() as i64).into(),
            out.into(),
        ];
        self.call_helper(Helper::Closure, &args)?;
        self.define_loaded(result)
    }
}

/// What [`Lowerer::probe_hash_ic`] found on its fast way.
pub(crate) struct HashProbe<'ctx> {
    /// The entry number the inline-cache word held.
    pub cached: IntValue<'ctx>,
    /// The address of the entry's value.
    pub value: PointerValue<'ctx>,
    /// Its tag byte.
    pub value_tag: IntValue<'ctx>,
    /// Whether the value is not `nil`.
    pub present: IntValue<'ctx>,
}
