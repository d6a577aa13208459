//! Frame slots: loading and storing values (`tag` byte at offset 0, payload at 8).
//!
//! Within a block, the lowering remembers what it last loaded from or stored to each
//! slot (the [`SlotCache`]), so a value computed by one instruction and used by the next
//! is not reloaded. Every store still goes to memory (frames must be exact whenever a
//! helper runs: the collector scans them and errors inspect them), and the cache is
//! dropped at block starts and after every helper call. Cached LLVM values must dominate
//! every later use: code that branches inside one instruction saves the cache before and
//! restores it after (see `calls.rs`, `control.rs`).
//!
//! Tags are stored as a whole 8-byte word (the tag byte zero-extended), so the padding
//! of values the compiled code writes is zero; they are read as a byte.

use std::collections::HashMap;

use inkwell::values::{BasicValue, FloatValue, IntValue, PointerValue};
use inkwell::IntPredicate;

use lazyjit_ir::rt::Tag;
use lazyjit_ir::Value;

use super::{LowerError, Lowerer};
use crate::abi;

/// What is known to be in a slot: its tag byte (`i8`) and payload (`i64`), if loaded or
/// stored since the cache was last dropped.
#[derive(Clone, Copy, Default)]
struct Cached<'ctx> {
    tag: Option<IntValue<'ctx>>,
    payload: Option<IntValue<'ctx>>,
}

/// Slot contents held in LLVM registers (see the module docs).
#[derive(Clone, Default)]
pub(crate) struct SlotCache<'ctx> {
    slots: HashMap<u32, Cached<'ctx>>,
}

impl SlotCache<'_> {
    /// Forgets everything.
    pub fn clear(&mut self) {
        self.slots.clear();
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

    /// The tag byte in `slot`.
    pub(crate) fn load_tag(&mut self, slot: u32) -> Result<IntValue<'ctx>, LowerError> {
        if let Some(&(tag, _)) = self.const_slots.get(&slot) {
            return Ok(self.t.i8.const_int(tag as u64, false));
        }
        if let Some(tag) = self.cache.slots.get(&slot).and_then(|c| c.tag) {
            return Ok(tag);
        }
        let ptr = self.offset_ptr(self.slot_ptr(slot)?, abi::VAL_TAG_OFFSET)?;
        let tag = self.b.build_load(self.t.i8, ptr, "")?.into_int_value();
        self.cache.slots.entry(slot).or_default().tag = Some(tag);
        Ok(tag)
    }

    /// The payload in `slot`.
    pub(crate) fn load_payload(&mut self, slot: u32) -> Result<IntValue<'ctx>, LowerError> {
        if let Some(&(_, payload)) = self.const_slots.get(&slot) {
            return Ok(self.t.i64.const_int(payload, false));
        }
        if let Some(p) = self.cache.slots.get(&slot).and_then(|c| c.payload) {
            return Ok(p);
        }
        let ptr = self.offset_ptr(self.slot_ptr(slot)?, abi::VAL_PAYLOAD_OFFSET)?;
        let p = self.load_word(ptr)?;
        self.cache.slots.entry(slot).or_default().payload = Some(p);
        Ok(p)
    }

    /// The value in `slot`: `(tag, payload)`.
    pub(crate) fn load_slot(
        &mut self,
        slot: u32,
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        Ok((self.load_tag(slot)?, self.load_payload(slot)?))
    }

    /// Stores a value to `slot` and remembers it.
    pub(crate) fn store_slot(
        &mut self,
        slot: u32,
        tag: IntValue<'ctx>,
        payload: IntValue<'ctx>,
    ) -> Result<(), LowerError> {
        self.store_raw(self.slot_ptr(slot)?, tag, payload)?;
        self.cache.slots.insert(
            slot,
            Cached {
                tag: Some(tag),
                payload: Some(payload),
            },
        );
        Ok(())
    }

    /// Copies the value in slot `from` to slot `to`.
    pub(crate) fn copy_slot(&mut self, from: u32, to: u32) -> Result<(), LowerError> {
        if from != to {
            let (tag, payload) = self.load_slot(from)?;
            self.store_slot(to, tag, payload)?;
        }
        Ok(())
    }

    // ---- typed values ------------------------------------------------------------------

    /// The `i64` in `v`'s slot.
    pub(crate) fn load_int(&mut self, v: Value) -> Result<IntValue<'ctx>, LowerError> {
        let slot = self.slot(v)?;
        self.load_payload(slot)
    }

    /// The `i1` in `v`'s slot (payload nonzero).
    pub(crate) fn load_bool(&mut self, v: Value) -> Result<IntValue<'ctx>, LowerError> {
        let p = self.load_int(v)?;
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
        let slot = self.slot(v)?;
        let tag = self.tag_const(tag);
        self.store_slot(slot, tag, payload)
    }

    /// Stores an `i1` (as a bool value) into `v`'s slot.
    pub(crate) fn store_bool(&mut self, v: Value, b: IntValue<'ctx>) -> Result<(), LowerError> {
        let p = self.bool_payload(b)?;
        self.store_value(v, Tag::Bool, p)
    }
}
