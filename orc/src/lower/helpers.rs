//! Declarations of the host helpers (names and signatures from [`crate::abi`]) and calls
//! to them.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::module::Linkage;
use inkwell::types::{BasicMetadataTypeEnum, FunctionType};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FunctionValue, IntValue};
use inkwell::IntPredicate;

use super::{LowerError, Lowerer};
use crate::abi;

/// A host helper of [`crate::abi`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Helper {
    RtCall,
    RtCallV,
    RtCallV2,
    Call,
    StagePack,
    TailCall,
    NewPack,
    PackGet,
    PackLen,
    CellNew,
    Upval,
    Globals,
    Closure,
    HashGet,
    HashSet,
    HashLookup,
    HashFind,
    HashStore,
    ElemsAre,
    ArrReserve,
    Backedge,
    Deopt,
    CallFinish,
}

/// Parameter kinds of helper signatures.
#[derive(Clone, Copy)]
enum P {
    Ptr,
    I32,
    I64,
}

/// Result kinds of helper signatures.
#[derive(Clone, Copy)]
enum R {
    Void,
    I32,
    I64,
    /// `{i64, i64}`: a value's tag and payload.
    Pair,
}

impl Helper {
    /// The symbol.
    pub fn name(self) -> &'static str {
        match self {
            Helper::RtCall => abi::RTCALL,
            Helper::RtCallV => abi::RTCALL_V,
            Helper::RtCallV2 => abi::RTCALL_V2,
            Helper::Call => abi::CALL,
            Helper::StagePack => abi::STAGE_PACK,
            Helper::TailCall => abi::TAIL_CALL,
            Helper::NewPack => abi::NEW_PACK,
            Helper::PackGet => abi::PACK_GET,
            Helper::PackLen => abi::PACK_LEN,
            Helper::CellNew => abi::CELL_NEW,
            Helper::Upval => abi::UPVAL,
            Helper::Globals => abi::GLOBALS,
            Helper::HashGet => abi::HASH_GET,
            Helper::HashSet => abi::HASH_SET,
            Helper::HashLookup => abi::HASH_LOOKUP,
            Helper::HashFind => abi::HASH_FIND,
            Helper::HashStore => abi::HASH_STORE,
            Helper::ElemsAre => abi::ELEMS_ARE,
            Helper::ArrReserve => abi::ARR_RESERVE,
            Helper::Closure => abi::CLOSURE,
            Helper::Backedge => abi::BACKEDGE,
            Helper::Deopt => abi::DEOPT,
            Helper::CallFinish => abi::CALL_FINISH,
        }
    }

    /// The signature, as documented in [`crate::abi`].
    fn signature(self) -> (R, &'static [P]) {
        use P::*;
        match self {
            // (vm, rt, site, args, nargs, out, pc)
            Helper::RtCall => (R::I32, &[Ptr, I32, I32, Ptr, I32, Ptr, I32]),
            // (vm, rt, site, pc, nargs, tag0, payload0, tag1, payload1, tag2, payload2)
            Helper::RtCallV => (
                R::Pair,
                &[Ptr, I32, I32, I32, I32, I64, I64, I64, I64, I64, I64],
            ),
            // (vm, call, tag0, payload0, tag1, payload1)
            Helper::RtCallV2 => (R::Pair, &[Ptr, I64, I64, I64, I64, I64]),
            // (vm, callee, at, nargs, pc, nret_out)
            Helper::Call => (R::I32, &[Ptr, Ptr, Ptr, I32, I32, Ptr]),
            // (vm, pack, at, n_out)
            Helper::StagePack => (R::I32, &[Ptr, Ptr, Ptr, Ptr]),
            // (vm, callee, nargs)
            Helper::TailCall => (R::Void, &[Ptr, Ptr, I32, I32]),
            // (vm, vals, n, out)
            Helper::NewPack => (R::I32, &[Ptr, Ptr, I32, Ptr]),
            // (pack, index, out)
            Helper::PackGet => (R::Void, &[Ptr, I32, Ptr]),
            // (pack)
            Helper::PackLen => (R::I64, &[Ptr]),
            // (vm, value, out)
            Helper::CellNew => (R::Void, &[Ptr, Ptr, Ptr]),
            // (closure, index, out)
            Helper::Upval => (R::Void, &[Ptr, I32, Ptr]),
            // (vm, out)
            Helper::Globals => (R::Void, &[Ptr, Ptr]),
            // (table, key, cache_word)
            Helper::HashGet => (R::Pair, &[Ptr, I64, Ptr]),
            // (table, key, tag, payload, cache_word)
            Helper::HashSet => (R::I32, &[Ptr, I64, I64, I64, Ptr]),
            // (vm, table, key, cache_word, lookup_cache, chain)
            Helper::HashLookup => (R::Pair, &[Ptr, Ptr, I64, Ptr, Ptr, Ptr]),
            // (table, key, cache_word)
            Helper::HashFind => (R::I64, &[Ptr, I64, Ptr]),
            // (table, entry, tag, payload)
            Helper::HashStore => (R::Void, &[Ptr, I64, I64, I64]),
            // (table, tag)
            Helper::ElemsAre => (R::I64, &[Ptr, I64]),
            // (vm, table, n)
            Helper::ArrReserve => (R::Void, &[Ptr, Ptr, I64]),
            // (vm, closure, func, cells, ncells, out)
            Helper::Closure => (R::Void, &[Ptr, Ptr, I32, Ptr, I32, Ptr]),
            // (vm, pc)
            Helper::Backedge => (R::I32, &[Ptr, I32]),
            // (vm, snap, pc)
            Helper::Deopt => (R::I64, &[Ptr, I32, I32]),
            Helper::CallFinish => (R::I32, &[Ptr, I64, I64, I64, I32, Ptr]),
        }
    }
}

impl<'ctx> Lowerer<'_, 'ctx> {
    /// The helper's declaration in the module (added on first use).
    pub(crate) fn helper(&self, h: Helper) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(h.name()) {
            return f;
        }
        let (ret, params) = h.signature();
        let params: Vec<BasicMetadataTypeEnum<'ctx>> = params
            .iter()
            .map(|p| match p {
                P::Ptr => self.t.ptr.into(),
                P::I32 => self.t.i32.into(),
                P::I64 => self.t.i64.into(),
            })
            .collect();
        let ty: FunctionType<'ctx> = match ret {
            R::Void => self.ctx.void_type().fn_type(&params, false),
            R::I32 => self.t.i32.fn_type(&params, false),
            R::I64 => self.t.i64.fn_type(&params, false),
            R::Pair => self
                .ctx
                .struct_type(&[self.t.i64.into(), self.t.i64.into()], false)
                .fn_type(&params, false),
        };
        self.declare_host(h.name(), ty)
    }

    /// Declares the host function `name` of type `ty`. Host functions never unwind into
    /// compiled code (they are `extern "C"`: a panic aborts).
    fn declare_host(&self, name: &str, ty: FunctionType<'ctx>) -> FunctionValue<'ctx> {
        let f = self.module.add_function(name, ty, Some(Linkage::External));
        let nounwind = Attribute::get_named_enum_kind_id("nounwind");
        f.add_attribute(AttributeLoc::Function, self.ctx.create_enum_attribute(nounwind, 0));
        f
    }

    /// The declaration of a runtime function's leaf fast path `symbol`:
    /// `{i64, i64} (ptr vm, i64 tag0, i64 payload0, i64 tag1, i64 payload1, i64 tag2,
    /// i64 payload2)` (see [`lazyjit_ir::interp::Leaf`]).
    pub(crate) fn leaf_decl(&self, symbol: &str) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(symbol) {
            return f;
        }
        let i64t: BasicMetadataTypeEnum<'ctx> = self.t.i64.into();
        let params = [self.t.ptr.into(), i64t, i64t, i64t, i64t, i64t, i64t];
        let ty = self
            .ctx
            .struct_type(&[self.t.i64.into(), self.t.i64.into()], false)
            .fn_type(&params, false);
        self.declare_host(symbol, ty)
    }

    /// The declaration of a runtime function's chain lookup (see
    /// [`lazyjit_ir::interp::ChainLookup`]), whose address compiled code passes to
    /// `lz_hash_lookup`.
    pub(crate) fn chain_decl(&self, symbol: &str) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(symbol) {
            return f;
        }
        let params = [self.t.ptr.into(), self.t.ptr.into(), self.t.i64.into()];
        let ty = self
            .ctx
            .struct_type(&[self.t.i64.into(), self.t.i64.into()], false)
            .fn_type(&params, false);
        self.declare_host(symbol, ty)
    }

    /// Calls a helper returning a value in registers ([`R::Pair`]): its `(tag, payload)`,
    /// the tag truncated to `i8` (a failure, the tag [`abi::ERROR_TAG`], branches to the
    /// failure exit).
    pub(crate) fn call_pair(
        &mut self,
        h: Helper,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let pair = self.call_helper_value(h, args)?;
        let (tag, payload, failed) = self.split_pair(pair, abi::ERROR_TAG, h.name())?;
        self.fail_if(failed)?;
        Ok((tag, payload))
    }

    /// A `{i64, i64}` result of `what` as its tag (truncated to `i8`) and payload, and
    /// whether the tag is `marker` (a failure or a miss, which no value's tag is).
    pub(crate) fn split_pair(
        &self,
        pair: BasicValueEnum<'ctx>,
        marker: u64,
        what: &str,
    ) -> Result<(IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>), LowerError> {
        let BasicValueEnum::StructValue(pair) = pair else {
            return Err(LowerError::Malformed(format!("{what} returns no tag and payload")));
        };
        let wide_tag = self.b.build_extract_value(pair, 0, "")?.into_int_value();
        let payload = self.b.build_extract_value(pair, 1, "")?.into_int_value();
        let marked = self.b.build_int_compare(IntPredicate::EQ, wide_tag, self.t.i64.const_int(marker, false), "")?;
        let tag = self.b.build_int_truncate(wide_tag, self.t.i8, "")?;
        Ok((tag, payload, marked))
    }

    /// Calls a helper; returns its result, if it has one. Helpers write their outputs to
    /// memory; they never change the frame slots of values already defined.
    pub(crate) fn call_helper(
        &mut self,
        h: Helper,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<Option<IntValue<'ctx>>, LowerError> {
        let f = self.helper(h);
        let call = self.b.build_call(f, args, "")?;
        Ok(match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) if v.is_int_value() => Some(v.into_int_value()),
            inkwell::values::ValueKind::Basic(_) => None,
            inkwell::values::ValueKind::Instruction(_) => None,
        })
    }

    /// Calls a helper that returns a value.
    pub(crate) fn call_helper_value(
        &mut self,
        h: Helper,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>, LowerError> {
        self.call_value(self.helper(h), args, h.name())
    }

    /// Calls host function `f` (named `what` in errors), which returns a value.
    pub(crate) fn call_value(
        &mut self,
        f: FunctionValue<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
        what: &str,
    ) -> Result<BasicValueEnum<'ctx>, LowerError> {
        match self.b.build_call(f, args, "")?.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => Ok(v),
            inkwell::values::ValueKind::Instruction(_) => Err(LowerError::Malformed(format!("{what} returns no value"))),
        }
    }

    /// Calls a helper returning an `i32` status; a nonzero status returns
    /// [`abi::STATUS_ERROR`] from the body. Continues in a new block.
    pub(crate) fn call_checked(
        &mut self,
        h: Helper,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<(), LowerError> {
        let status = self
            .call_helper(h, args)?
            .ok_or_else(|| LowerError::Malformed(format!("{} returns no status", h.name())))?;
        self.check_status(status)
    }

    /// Branches to the failure exit if `status` is nonzero; continues in a new block.
    pub(crate) fn check_status(&mut self, status: IntValue<'ctx>) -> Result<(), LowerError> {
        let failed = self.b.build_int_compare(
            IntPredicate::NE,
            status,
            status.get_type().const_zero(),
            "",
        )?;
        self.fail_if(failed)
    }

    /// Branches to the failure exit if `failed` holds; continues in a new block.
    fn fail_if(&mut self, failed: IntValue<'ctx>) -> Result<(), LowerError> {
        let fail = self.fail_block()?;
        let ok = self.new_block("ok");
        self.b.build_conditional_branch(failed, fail, ok)?;
        self.b.position_at_end(ok);
        Ok(())
    }

    /// An `i32` constant.
    /// The local number of runtime function `rt` (see [`lazyjit_ir::LocalRefs`]): what
    /// the code passes to the runtime-call helpers, which find the function through the
    /// running proto's table.
    pub(crate) fn local_rt(&self, rt: lazyjit_ir::RtId) -> Result<u32, LowerError> {
        self.proto.refs.rt_number(rt).ok_or_else(|| LowerError::Malformed(format!("runtime function {rt} is not among the function's")))
    }

    pub(crate) fn i32c(&self, n: i64) -> IntValue<'ctx> {
        self.t.i32.const_int(n as u64, true)
    }
}
