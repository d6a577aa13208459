//! MIR values: SSA values in LLVM registers, mirrored in frame slots.
//!
//! Every MIR value is an LLVM pair `(tag: i8, payload: i64)`, recorded when its
//! definition is lowered ([`Ssa`]); block parameters are `phi`s, created for every block
//! before any is lowered, that edges fill in. Uses read the pair, never memory, so a value
//! computed in one block and used in a loop stays in a register for LLVM's register
//! allocator to place. Typed values have constant tags (`i64` is an `int`, `f64` a
//! `float`, `i1` a `bool` 0/1), so their tests fold away.
//!
//! The definition of a *framed* value (one the collector, a deoptimization or a helper
//! may read from the frame, see `framed.rs`) is also stored to its frame slot (tag byte
//! at offset 0, stored as a whole zero-extended 8-byte word so padding is zero; payload
//! at 8). Helpers that produce a value write it to its slot and the lowering loads it
//! back once.
//!
//! Blocks are lowered in reverse postorder, so a value's definition is lowered before
//! any use it dominates.

use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValue, FloatValue, IntValue, PhiValue, PointerValue};
use inkwell::IntPredicate;

use lazyjit_ir::liveness::BitSet;
use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Type, Value};

use super::{LowerError, Lowerer};
use crate::abi;

/// Kinds of heap memory that compiled code reads or writes and that no access of
/// another kind touches, told to LLVM as type-based alias classes (`!tbaa`): LLVM may
/// then keep a read of one kind across writes of another (a loop that stores array
/// elements keeps the array's address and length in registers). Accesses not marked
/// may touch anything.
#[derive(Clone, Copy)]
pub(crate) enum Memory {
    /// A table's array and hash parts' pointers and lengths (the runtime writes them;
    /// compiled code only reads them).
    TableParts,
    /// The payloads of a table's array part.
    Elements,
    /// The tag bytes of a table's array part (after the payloads, see
    /// [`crate::abi::TABLE_ARRAY_PTR_OFFSET`]).
    ElementTags,
    /// A table's element tag (see [`crate::abi::TABLE_ELEMS_OFFSET`]), apart from its
    /// parts: an element store that updates it leaves the parts' loads free to leave a
    /// loop.
    ElementTag,
}

/// The LLVM values of MIR values, and the `phi`s of block parameters.
pub(crate) struct Ssa<'ctx> {
    vals: Vec<Option<(IntValue<'ctx>, IntValue<'ctx>)>>,
    /// The values stored to their slots (see `framed.rs`).
    framed: BitSet,
    /// Per block parameter value: its tag and its payload `phi`.
    phis: Vec<Option<(ParamTag<'ctx>, PhiValue<'ctx>)>>,
    /// Values kept in memory: stored to their slots where defined (they are framed) and
    /// loaded at every use (an on-stack entry's values whose definitions no longer
    /// dominate their uses, see `Lowerer::run`).
    memory: BitSet,
}

/// The tag of a block parameter.
#[derive(Clone, Copy)]
enum ParamTag<'ctx> {
    /// Fixed by its type (a constant).
    Fixed(IntValue<'ctx>),
    /// Merged by a `phi`.
    Phi(PhiValue<'ctx>),
}

impl<'ctx> Ssa<'ctx> {
    pub fn new(nvalues: usize, framed: BitSet) -> Ssa<'ctx> {
        Ssa { vals: vec![None; nvalues], framed, phis: vec![None; nvalues], memory: BitSet::new(nvalues) }
    }

    /// Keeps `v` in memory (see [`Ssa::memory`]).
    pub fn keep_in_memory(&mut self, v: Value) {
        self.framed.insert(v.index());
        self.memory.insert(v.index());
    }
}

/// The tag a value of type `ty` always has, if its type fixes it.
pub(crate) fn fixed_tag(ty: Type) -> Option<Tag> {
    match ty {
        Type::I64 => Some(Tag::Int),
        Type::F64 => Some(Tag::Float),
        Type::I1 => Some(Tag::Bool),
        _ => None,
    }
}

impl<'ctx> Lowerer<'_, 'ctx> {
    /// The frame slot of `v`.
    pub(crate) fn slot(&self, v: Value) -> Result<u32, LowerError> {
        match self.proto.slot_of.get(v.index()) {
            Some(&s) if s < self.proto.nslots => Ok(s),
            _ => Err(LowerError::Malformed(format!("{v} has no frame slot"))),
        }
    }

    /// `ptr + bytes`.
    pub(crate) fn offset_ptr(
        &self,
        ptr: PointerValue<'ctx>,
        bytes: u64,
    ) -> Result<PointerValue<'ctx>, LowerError> {
        if bytes == 0 {
            return Ok(ptr);
        }
        let off = self.t.i64.const_int(bytes, false);
        // SAFETY: only builds IR; every address formed is inside the value stack, a
        // stack array or a heap object the offset stays within.
        Ok(unsafe { self.b.build_in_bounds_gep(self.t.i8, ptr, &[off], "")? })
    }

    /// `ptr + 16 * index` for a dynamic index (an `i32`).
    pub(crate) fn index_ptr(
        &self,
        ptr: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Result<PointerValue<'ctx>, LowerError> {
        let wide = self.b.build_int_z_extend(index, self.t.i64, "")?;
        let bytes = self
            .b
            .build_int_mul(wide, self.t.i64.const_int(abi::VAL_SIZE, false), "")?;
        // SAFETY: as in `offset_ptr`.
        Ok(unsafe { self.b.build_in_bounds_gep(self.t.i8, ptr, &[bytes], "")? })
    }

    /// Address of frame slot `slot`.
    pub(crate) fn slot_ptr(&self, slot: u32) -> Result<PointerValue<'ctx>, LowerError> {
        self.offset_ptr(self.base, abi::VAL_SIZE * slot as u64)
    }

    /// Address of `v`'s slot.
    pub(crate) fn value_ptr(&self, v: Value) -> Result<PointerValue<'ctx>, LowerError> {
        self.slot_ptr(self.slot(v)?)
    }

    /// The staging area: the first slot past the frame (`base + 16 * nslots`).
    pub(crate) fn stage_ptr(&self) -> Result<PointerValue<'ctx>, LowerError> {
        self.slot_ptr(self.proto.nslots)
    }

    /// The constant tag byte of `tag`.
    pub(crate) fn tag_const(&self, tag: Tag) -> IntValue<'ctx> {
        self.t.i8.const_int(tag as u64, false)
    }

    /// An 8-byte-aligned `i64` load (values and their fields are 8-byte aligned).
    pub(crate) fn load_word(&self, ptr: PointerValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        let v = self.b.build_load(self.t.i64, ptr, "")?;
        if let Some(i) = v.as_instruction_value() {
            i.set_alignment(8)
                .map_err(|e| LowerError::Unsupported(e.to_string()))?;
        }
        Ok(v.into_int_value())
    }

    /// An 8-byte-aligned `i64` store.
    pub(crate) fn store_word(
        &self,
        ptr: PointerValue<'ctx>,
        v: IntValue<'ctx>,
    ) -> Result<(), LowerError> {
        let st = self.b.build_store(ptr, v)?;
        st.set_alignment(8)
            .map_err(|e| LowerError::Unsupported(e.to_string()))?;
        Ok(())
    }

    /// Tells LLVM which kind of heap memory `access` (a load or store) touches.
    fn mark_memory(&self, access: inkwell::values::InstructionValue<'ctx>, memory: Memory) -> Result<(), LowerError> {
        let name = match memory {
            Memory::TableParts => "lazyjit table parts",
            Memory::Elements => "lazyjit array elements",
            Memory::ElementTags => "lazyjit array element tags",
            Memory::ElementTag => "lazyjit element tag",
        };
        let root = self.ctx.metadata_node(&[self.ctx.metadata_string("lazyjit heap").into()]);
        let class = self.ctx.metadata_node(&[self.ctx.metadata_string(name).into(), root.into(), self.t.i64.const_zero().into()]);
        let tag = self.ctx.metadata_node(&[class.into(), class.into(), self.t.i64.const_zero().into()]);
        access.set_metadata(tag, self.ctx.get_kind_id("tbaa")).map_err(|e| LowerError::Unsupported(e.to_string()))
    }

    /// Marks `v`, a load, as one of `memory`.
    fn marked<V: BasicValue<'ctx>>(&self, v: V, memory: Memory) -> Result<V, LowerError> {
        let load = v.as_instruction_value().ok_or_else(|| LowerError::Malformed("a load folded to a constant".into()))?;
        self.mark_memory(load, memory)?;
        Ok(v)
    }

    /// A [`Lowerer::load_word`] of `memory`.
    pub(crate) fn load_word_of(&self, ptr: PointerValue<'ctx>, memory: Memory) -> Result<IntValue<'ctx>, LowerError> {
        self.marked(self.load_word(ptr)?, memory)
    }

    /// A pointer load of `memory`.
    pub(crate) fn load_ptr_of(&self, ptr: PointerValue<'ctx>, memory: Memory) -> Result<PointerValue<'ctx>, LowerError> {
        self.marked(self.b.build_load(self.t.ptr, ptr, "")?.into_pointer_value(), memory)
    }

    /// A word store to `memory`.
    pub(crate) fn store_word_of(&self, ptr: PointerValue<'ctx>, word: IntValue<'ctx>, memory: Memory) -> Result<(), LowerError> {
        let st = self.b.build_store(ptr, word)?;
        self.mark_memory(st, memory)
    }

    /// The element tag of table `t` (an `i8`, see [`crate::abi::TABLE_ELEMS_OFFSET`]).
    pub(crate) fn load_elems(&self, t: PointerValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        let elems = self.b.build_load(self.t.i8, self.offset_ptr(t, abi::TABLE_ELEMS_OFFSET)?, "elems")?;
        self.marked(elems.into_int_value(), Memory::ElementTag)
    }

    /// The address of the payload of element `index` (0-based) of table `t`.
    pub(crate) fn element_payload_ptr(&self, t: PointerValue<'ctx>, index: IntValue<'ctx>) -> Result<PointerValue<'ctx>, LowerError> {
        self.table_element(t, abi::TABLE_ARRAY_PTR_OFFSET, index, abi::ELEMENT_SIZE)
    }

    /// The address of the tag byte of element `index` (0-based) of table `t` (meaningful
    /// while its element tag is 0): past the payloads, `8 * capacity` bytes on.
    fn element_tag_ptr(&self, t: PointerValue<'ctx>, index: IntValue<'ctx>) -> Result<PointerValue<'ctx>, LowerError> {
        let base = self.load_ptr_of(self.offset_ptr(t, abi::TABLE_ARRAY_PTR_OFFSET)?, Memory::TableParts)?;
        let cap = self.load_word_of(self.offset_ptr(t, abi::TABLE_ARRAY_CAP_OFFSET)?, Memory::TableParts)?;
        let payloads = self.b.build_int_mul(cap, self.t.i64.const_int(abi::ELEMENT_SIZE, false), "")?;
        let at = self.b.build_int_add(payloads, index, "")?;
        // SAFETY: only builds IR; the caller checked `index` against the length.
        Ok(unsafe { self.b.build_in_bounds_gep(self.t.i8, base, &[at], "tagp")? })
    }

    /// The payload of element `index` (0-based, within the array part) of table `t`.
    pub(crate) fn load_element_payload(&self, t: PointerValue<'ctx>, index: IntValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        self.load_word_of(self.element_payload_ptr(t, index)?, Memory::Elements)
    }

    /// Element `index` (0-based, within the array part) of table `t`: `(tag: i8,
    /// payload: i64)`. The tag is the table's element tag, or the element's own tag byte
    /// when that is 0 (a branch, which the elements of one table take the same way: a
    /// select of the address to load from would compute the tag byte's address and load
    /// the capacity for every element of an array of one tag too).
    pub(crate) fn load_element(&mut self, t: PointerValue<'ctx>, index: IntValue<'ctx>) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let elems = self.load_elems(t)?;
        let mixed = self.b.build_int_compare(IntPredicate::EQ, elems, self.tag_const(Tag::Nil), "mixed")?;
        let (own, join) = (self.new_block("elem.own_tag"), self.new_block("elem.tagged"));
        let shared = self.current_block()?;
        self.b.build_conditional_branch(mixed, own, join)?;
        self.b.position_at_end(own);
        let byte = self.b.build_load(self.t.i8, self.element_tag_ptr(t, index)?, "etag")?.into_int_value();
        let byte = self.marked(byte, Memory::ElementTags)?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(join);
        let tag = self.b.build_phi(self.t.i8, "etag")?;
        tag.add_incoming(&[(&elems, shared), (&byte, own)]);
        Ok((tag.as_basic_value().into_int_value(), self.load_element_payload(t, index)?))
    }

    /// Stores `payload` alone into element `index` of table `t` (whose element tag is
    /// the value's: a `guard.elems` checked it).
    pub(crate) fn store_element_payload(&self, t: PointerValue<'ctx>, index: IntValue<'ctx>, payload: IntValue<'ctx>) -> Result<(), LowerError> {
        let st = self.b.build_store(self.element_payload_ptr(t, index)?, payload)?;
        st.set_alignment(8).map_err(|e| LowerError::Unsupported(e.to_string()))?;
        self.mark_memory(st, Memory::Elements)
    }

    /// Stores a value tagged `tag` into element `index` (0-based, within the array part
    /// or, when `first` (an `i1`) holds, the first of an empty part being appended to)
    /// of table `t`, keeping the element tag true as the runtime does: the payload alone
    /// when the element tag is the value's; otherwise the elements become mixed (the
    /// element tag written into every tag byte, an inline `memset`, then 0) and the
    /// value's tag goes into its tag byte. An append to an empty part first makes the
    /// element tag the value's. Continues in a new block.
    pub(crate) fn store_element(
        &mut self,
        t: PointerValue<'ctx>,
        index: IntValue<'ctx>,
        tag: IntValue<'ctx>,
        payload: IntValue<'ctx>,
        first: Option<IntValue<'ctx>>,
    ) -> Result<(), LowerError> {
        let mut elems = self.load_elems(t)?;
        if let Some(first) = first {
            // (A store on the first append only: a byte stored on every one would be
            // reloaded by the next as part of a wider load, which waits for it.)
            let (set, kept) = (self.new_block("elems.first"), self.new_block("elems.kept"));
            let before = self.current_block()?;
            self.b.build_conditional_branch(first, set, kept)?;
            self.b.position_at_end(set);
            let st = self.b.build_store(self.offset_ptr(t, abi::TABLE_ELEMS_OFFSET)?, tag)?;
            self.mark_memory(st, Memory::ElementTag)?;
            self.b.build_unconditional_branch(kept)?;
            self.b.position_at_end(kept);
            let phi = self.b.build_phi(self.t.i8, "elems")?;
            phi.add_incoming(&[(&tag, set), (&elems, before)]);
            elems = phi.as_basic_value().into_int_value();
        }
        let nil = self.tag_const(Tag::Nil);
        let same = self.b.build_int_compare(IntPredicate::EQ, elems, tag, "")?;
        let tagged = self.b.build_int_compare(IntPredicate::NE, tag, nil, "")?;
        let shared = self.b.build_and(same, tagged, "")?;
        let (own, mix) = (self.new_block("elem.own"), self.new_block("elem.mix"));
        let (tag_bb, payload_bb) = (self.new_block("elem.tag"), self.new_block("elem.payload"));
        self.b.build_conditional_branch(shared, payload_bb, own)?;
        // Not the element tag: mixed already, or made so.
        self.b.position_at_end(own);
        let mixed = self.b.build_int_compare(IntPredicate::EQ, elems, nil, "")?;
        self.b.build_conditional_branch(mixed, tag_bb, mix)?;
        self.b.position_at_end(mix);
        // Every element before this one, and those after it in the part: an append of
        // several items has stored the earlier ones but not yet the length.
        let len = self.load_word_of(self.offset_ptr(t, abi::TABLE_ARRAY_LEN_OFFSET)?, Memory::TableParts)?;
        let past = self.b.build_int_compare(IntPredicate::UGT, index, len, "")?;
        let count = self.b.build_select(past, index, len, "")?.into_int_value();
        let tags = self.element_tag_ptr(t, self.t.i64.const_zero())?;
        self.b.build_memset(tags, 1, elems, count)?;
        let st = self.b.build_store(self.offset_ptr(t, abi::TABLE_ELEMS_OFFSET)?, nil)?;
        self.mark_memory(st, Memory::ElementTag)?;
        self.b.build_unconditional_branch(tag_bb)?;
        self.b.position_at_end(tag_bb);
        let st = self.b.build_store(self.element_tag_ptr(t, index)?, tag)?;
        self.mark_memory(st, Memory::ElementTags)?;
        self.b.build_unconditional_branch(payload_bb)?;
        self.b.position_at_end(payload_bb);
        self.store_element_payload(t, index, payload)
    }

    /// Loads the value at `ptr` (not a cached slot): `(tag: i8, payload: i64)`.
    pub(crate) fn load_raw(
        &self,
        ptr: PointerValue<'ctx>,
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let tag = self
            .b
            .build_load(self.t.i8, self.offset_ptr(ptr, abi::VAL_TAG_OFFSET)?, "")?
            .into_int_value();
        let payload = self.load_word(self.offset_ptr(ptr, abi::VAL_PAYLOAD_OFFSET)?)?;
        Ok((tag, payload))
    }

    /// Stores a value at `ptr` (not a cached slot).
    pub(crate) fn store_raw(
        &self,
        ptr: PointerValue<'ctx>,
        tag: IntValue<'ctx>,
        payload: IntValue<'ctx>,
    ) -> Result<(), LowerError> {
        let word = self.b.build_int_z_extend(tag, self.t.i64, "")?;
        self.store_word(self.offset_ptr(ptr, abi::VAL_TAG_OFFSET)?, word)?;
        self.store_word(self.offset_ptr(ptr, abi::VAL_PAYLOAD_OFFSET)?, payload)?;
        Ok(())
    }

    /// Creates the `phi`s of every block's parameters (at the start of each block's
    /// LLVM block); edges add incoming values ([`Lowerer::add_incoming`]) and store the
    /// arguments to the parameters' slots ([`Lowerer::store_args`]).
    pub(crate) fn make_phis(&mut self) -> Result<(), LowerError> {
        let mir = self.mir;
        for (bi, block) in mir.blocks.iter().enumerate() {
            self.b.position_at_end(self.blocks[bi]);
            for &p in &block.params {
                let tag = match fixed_tag(mir.value_type(p)) {
                    Some(tag) => ParamTag::Fixed(self.tag_const(tag)),
                    None => ParamTag::Phi(self.b.build_phi(self.t.i8, "")?),
                };
                let payload = self.b.build_phi(self.t.i64, "")?;
                let slot = self
                    .ssa
                    .phis
                    .get_mut(p.index())
                    .ok_or_else(|| LowerError::Malformed(format!("{p} is not a value")))?;
                *slot = Some((tag, payload));
            }
        }
        Ok(())
    }

    /// At the start of MIR block `bi`: records its parameters' `phi`s as their values
    /// (the edges stored them to their slots).
    pub(crate) fn begin_block(&mut self, bi: usize) -> Result<(), LowerError> {
        let mir = self.mir;
        self.proven_callees.clear();
        for &p in &mir.blocks[bi].params {
            let (tag, payload) = self.param_phis(p)?;
            let tag = match tag {
                ParamTag::Fixed(tag) => tag,
                ParamTag::Phi(phi) => phi.as_basic_value().into_int_value(),
            };
            self.record(p, tag, payload.as_basic_value().into_int_value())?;
        }
        Ok(())
    }

    /// The tag and payload `phi` of block parameter `p`.
    fn param_phis(&self, p: Value) -> Result<(ParamTag<'ctx>, PhiValue<'ctx>), LowerError> {
        self.ssa
            .phis
            .get(p.index())
            .copied()
            .flatten()
            .ok_or_else(|| LowerError::Malformed(format!("{p} has no phi")))
    }

    /// Adds `(tag, payload)` as block parameter `p`'s value on the edge from LLVM block
    /// `from`.
    pub(crate) fn param_incoming(
        &self,
        p: Value,
        tag: IntValue<'ctx>,
        payload: IntValue<'ctx>,
        from: BasicBlock<'ctx>,
    ) -> Result<(), LowerError> {
        let (ptag, pphi) = self.param_phis(p)?;
        if let ParamTag::Phi(tphi) = ptag {
            tphi.add_incoming(&[(&tag, from)]);
        }
        pphi.add_incoming(&[(&payload, from)]);
        Ok(())
    }

    /// The values of a branch's arguments, read before anything of the branch is
    /// stored: an argument kept in memory (see `Ssa::keep_in_memory`) is loaded from its
    /// slot, which may be one of the target's parameters (`a, b = b, a`).
    pub(crate) fn branch_args(&self, target: usize, args: &[Value]) -> Result<Vec<(IntValue<'ctx>, IntValue<'ctx>)>, LowerError> {
        let params = &self.mir.blocks[target].params;
        if params.len() != args.len() {
            return Err(LowerError::Malformed(format!(
                "block{target} takes {} arguments, the branch passes {}",
                params.len(),
                args.len()
            )));
        }
        args.iter().map(|&a| self.get(a)).collect()
    }

    /// Stores a branch's arguments (`args`, whose values [`Self::branch_args`] read) to
    /// the slots of MIR block `target`'s parameters, as the interpreter's moves do (a
    /// parameter sharing its argument's slot needs no store).
    pub(crate) fn store_args(
        &mut self,
        target: usize,
        args: &[Value],
        vals: &[(IntValue<'ctx>, IntValue<'ctx>)],
    ) -> Result<(), LowerError> {
        let mir = self.mir;
        for ((&a, &p), &(tag, payload)) in args.iter().zip(&mir.blocks[target].params).zip(vals) {
            if self.is_framed(p) && (self.slot(a)? != self.slot(p)? || !self.is_framed(a)) {
                self.store_raw(self.value_ptr(p)?, tag, payload)?;
            }
        }
        Ok(())
    }

    /// Adds a branch's argument values to the `phi`s of MIR block `target`'s
    /// parameters, as incoming from the current LLVM block (the one that ends in the
    /// branch).
    pub(crate) fn add_incoming(&mut self, target: usize, vals: &[(IntValue<'ctx>, IntValue<'ctx>)]) -> Result<(), LowerError> {
        let mir = self.mir;
        let from = self.current_block()?;
        for (&p, &(tag, payload)) in mir.blocks[target].params.iter().zip(vals) {
            self.param_incoming(p, tag, payload, from)?;
        }
        Ok(())
    }

    /// The value `v`: `(tag: i8, payload: i64)` (loaded from its slot here if it is kept
    /// in memory).
    pub(crate) fn get(&self, v: Value) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        if self.ssa.memory.contains(v.index()) {
            return self.load_raw(self.value_ptr(v)?);
        }
        self.ssa
            .vals
            .get(v.index())
            .copied()
            .flatten()
            .ok_or_else(|| LowerError::Malformed(format!("{v} is used before its definition")))
    }

    /// The tag byte of `v`.
    pub(crate) fn get_tag(&self, v: Value) -> Result<IntValue<'ctx>, LowerError> {
        Ok(self.get(v)?.0)
    }

    /// The payload of `v`.
    pub(crate) fn get_payload(&self, v: Value) -> Result<IntValue<'ctx>, LowerError> {
        Ok(self.get(v)?.1)
    }

    /// Records `(tag, payload)` as `v`'s value without storing it (its slot already
    /// holds it).
    pub(crate) fn record(&mut self, v: Value, tag: IntValue<'ctx>, payload: IntValue<'ctx>) -> Result<(), LowerError> {
        let entry = self
            .ssa
            .vals
            .get_mut(v.index())
            .ok_or_else(|| LowerError::Malformed(format!("{v} is not a value")))?;
        *entry = Some((tag, payload));
        Ok(())
    }

    /// Whether `v` is kept in its frame slot (see `framed.rs`).
    pub(crate) fn is_framed(&self, v: Value) -> bool {
        self.ssa.framed.contains(v.index())
    }

    /// Defines `v` as `(tag, payload)`: records it and, if it is framed, stores it to its
    /// slot.
    pub(crate) fn define(&mut self, v: Value, tag: IntValue<'ctx>, payload: IntValue<'ctx>) -> Result<(), LowerError> {
        if self.is_framed(v) {
            self.store_raw(self.value_ptr(v)?, tag, payload)?;
        }
        self.record(v, tag, payload)
    }

    /// Defines `v` as the value a helper wrote to its slot (loaded once).
    pub(crate) fn define_loaded(&mut self, v: Value) -> Result<(), LowerError> {
        let (tag, payload) = self.load_raw(self.value_ptr(v)?)?;
        self.record(v, tag, payload)
    }

    /// Defines `to` as a copy of `from` (no store when they share a slot that `from` is
    /// stored to, as the decoder arranges for most copies).
    pub(crate) fn define_copy(&mut self, from: Value, to: Value) -> Result<(), LowerError> {
        let (tag, payload) = self.get(from)?;
        if self.slot(from)? == self.slot(to)? && self.is_framed(from) {
            self.record(to, tag, payload)
        } else {
            self.define(to, tag, payload)
        }
    }

    // ---- typed values ------------------------------------------------------------------

    /// The `i1` of `v` (payload nonzero).
    pub(crate) fn load_bool(&self, v: Value) -> Result<IntValue<'ctx>, LowerError> {
        let p = self.get_payload(v)?;
        Ok(self
            .b
            .build_int_compare(IntPredicate::NE, p, self.t.i64.const_zero(), "")?)
    }

    /// Reinterprets a payload as a float.
    pub(crate) fn as_float(&self, payload: IntValue<'ctx>) -> Result<FloatValue<'ctx>, LowerError> {
        Ok(self
            .b
            .build_bit_cast(payload, self.t.f64, "")?
            .into_float_value())
    }

    /// Reinterprets a float as a payload.
    pub(crate) fn float_bits(&self, x: FloatValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        Ok(self.b.build_bit_cast(x, self.t.i64, "")?.into_int_value())
    }

    /// `x` through `llvm.arithmetic.fence`: LLVM does not rewrite float operations
    /// across it (it costs no instruction).
    pub(crate) fn arith_fence(&self, x: FloatValue<'ctx>) -> Result<FloatValue<'ctx>, LowerError> {
        let fence = inkwell::intrinsics::Intrinsic::find("llvm.arithmetic.fence")
            .and_then(|i| i.get_declaration(&self.module, &[self.t.f64.into()]))
            .ok_or_else(|| LowerError::Malformed("no llvm.arithmetic.fence.f64".into()))?;
        match self.b.build_call(fence, &[x.into()], "")?.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) if v.is_float_value() => Ok(v.into_float_value()),
            _ => Err(LowerError::Malformed("llvm.arithmetic.fence returns no float".into())),
        }
    }

    /// A bool payload (0 or 1) of an `i1`.
    pub(crate) fn bool_payload(&self, b: IntValue<'ctx>) -> Result<IntValue<'ctx>, LowerError> {
        Ok(self.b.build_int_z_extend(b, self.t.i64, "")?)
    }

    /// Stores a value of tag `tag` and payload `payload` into `v`'s slot.
    pub(crate) fn store_value(
        &mut self,
        v: Value,
        tag: Tag,
        payload: IntValue<'ctx>,
    ) -> Result<(), LowerError> {
        let tag = self.tag_const(tag);
        self.define(v, tag, payload)
    }

    /// Stores an `i1` (as a bool value) into `v`'s slot.
    pub(crate) fn store_bool(&mut self, v: Value, b: IntValue<'ctx>) -> Result<(), LowerError> {
        let p = self.bool_payload(b)?;
        self.store_value(v, Tag::Bool, p)
    }
}
