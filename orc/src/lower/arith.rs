//! Typed arithmetic and comparisons, `truthy`, `not`, `tag`, and boxes (copies).
//!
//! Typed values live in slots as boxed values (`i64` as `int`, `f64` as `float`, `i1` as
//! `bool` 0/1), so an operation reads its operands' payloads and writes a value of the
//! result's tag, exactly as the interpreter's `unary`/`binary`: wrapping integer
//! arithmetic, IEEE float arithmetic, float comparisons false on NaN (ordered
//! predicates).

use inkwell::values::IntValue;
use inkwell::{FloatPredicate, IntPredicate};

use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Opcode, Value};

use super::{LowerError, Lowerer};

impl<'ctx> Lowerer<'_, 'ctx> {
    /// `box.*` / `unbox.*`: a copy (no store when the result shares the operand's slot,
    /// as the decoder arranges).
    pub(crate) fn lower_copy(&mut self, arg: Value, result: Value) -> Result<(), LowerError> {
        self.define_copy(arg, result)
    }

    /// One-operand pure ops: `truthy`, `not`, `tag` and the typed ones.
    pub(crate) fn lower_unary(
        &mut self,
        op: Opcode,
        arg: Value,
        result: Value,
    ) -> Result<(), LowerError> {
        match op {
            Opcode::Truthy => {
                let (tag, payload) = self.get(arg)?;
                let is_nil = self.b.build_int_compare(
                    IntPredicate::EQ,
                    tag,
                    self.tag_const(Tag::Nil),
                    "",
                )?;
                let is_bool = self.b.build_int_compare(
                    IntPredicate::EQ,
                    tag,
                    self.tag_const(Tag::Bool),
                    "",
                )?;
                let is_zero = self.b.build_int_compare(
                    IntPredicate::EQ,
                    payload,
                    self.t.i64.const_zero(),
                    "",
                )?;
                let is_false = self.b.build_and(is_bool, is_zero, "")?;
                let falsy = self.b.build_or(is_nil, is_false, "")?;
                let truthy = self.b.build_not(falsy, "")?;
                self.store_bool(result, truthy)
            }
            Opcode::Tag => {
                let tag = self.get_tag(arg)?;
                let n = self.b.build_int_z_extend(tag, self.t.i64, "")?;
                self.store_value(result, Tag::Int, n)
            }
            _ => {
                let a = self.get_payload(arg)?;
                let (tag, payload) = self.typed_op(op, a, None)?;
                self.store_value(result, tag, payload)
            }
        }
    }

    /// Two-operand typed ops.
    pub(crate) fn lower_binary(
        &mut self,
        op: Opcode,
        x: Value,
        y: Value,
        result: Value,
    ) -> Result<(), LowerError> {
        let a = self.get_payload(x)?;
        let b = self.get_payload(y)?;
        let (tag, payload) = self.typed_op(op, a, Some(b))?;
        self.store_value(result, tag, payload)
    }

    /// A pure typed op on operand payloads (`b` for two-operand ops): the result's tag
    /// and payload. Also used for the inline fast paths of runtime calls.
    pub(crate) fn typed_op(
        &self,
        op: Opcode,
        a: IntValue<'ctx>,
        b: Option<IntValue<'ctx>>,
    ) -> Result<(Tag, IntValue<'ctx>), LowerError> {
        let rhs = || {
            b.ok_or_else(|| LowerError::Malformed(format!("{} needs two operands", op.mnemonic())))
        };
        let bld = &self.b;
        let int = |p: IntValue<'ctx>| Ok::<_, LowerError>((Tag::Int, p));
        let boolean = |c: IntValue<'ctx>| -> Result<(Tag, IntValue<'ctx>), LowerError> {
            Ok((Tag::Bool, self.bool_payload(c)?))
        };
        let icmp = |pred: IntPredicate| -> Result<(Tag, IntValue<'ctx>), LowerError> {
            boolean(bld.build_int_compare(pred, a, rhs()?, "")?)
        };
        let fcmp = |pred: FloatPredicate| -> Result<(Tag, IntValue<'ctx>), LowerError> {
            let (x, y) = (self.as_float(a)?, self.as_float(rhs()?)?);
            boolean(bld.build_float_compare(pred, x, y, "")?)
        };
        // Float arithmetic on two constants is folded here, by the host's own floating
        // point (as the interpreter computes it), not by LLVM's constant folder: they
        // differ in the sign of a NaN (`0.0 / 0.0` is `-nan` on x86, `nan` folded).
        let farith = |f: &dyn Fn(
            inkwell::values::FloatValue<'ctx>,
            inkwell::values::FloatValue<'ctx>,
        ) -> Result<
            inkwell::values::FloatValue<'ctx>,
            inkwell::builder::BuilderError,
        >,
                      host: fn(f64, f64) -> f64,
                      negating: [Option<f64>; 2]|
         -> Result<(Tag, IntValue<'ctx>), LowerError> {
            let b = rhs()?;
            if let (Some(x), Some(y)) = (a.get_zero_extended_constant(), b.get_zero_extended_constant()) {
                let (x, y) = std::hint::black_box((f64::from_bits(x), f64::from_bits(y)));
                return Ok((Tag::Float, self.t.i64.const_int(host(x, y).to_bits(), false)));
            }
            // A constant operand with which LLVM would make the operation a negation
            // (`x * -1.0`, `x / -1.0`, `-0.0 - x`) is fenced: the machine's operation keeps
            // a NaN operand's sign, a negation flips it, and Lua prints it.
            let operand = |v: IntValue<'ctx>, negating: Option<f64>| -> Result<inkwell::values::FloatValue<'ctx>, LowerError> {
                let x = self.as_float(v)?;
                match (v.get_zero_extended_constant(), negating) {
                    (Some(bits), Some(k)) if bits == k.to_bits() => self.arith_fence(x),
                    _ => Ok(x),
                }
            };
            let (x, y) = (operand(a, negating[0])?, operand(b, negating[1])?);
            Ok((Tag::Float, self.float_bits(f(x, y)?)?))
        };
        match op {
            Opcode::Iadd => int(bld.build_int_add(a, rhs()?, "")?),
            Opcode::Isub => int(bld.build_int_sub(a, rhs()?, "")?),
            Opcode::Imul => int(bld.build_int_mul(a, rhs()?, "")?),
            Opcode::Imod => {
                // Total, as the interpreter's: a divisor of 0 or -1 divides by 1 (the
                // remainder is 0 either way, and `srem` by 0 or of `i64::MIN` by -1 is
                // undefined); then the remainder takes the divisor's sign.
                let b = rhs()?;
                let one = self.t.i64.const_int(1, false);
                let zero = self.t.i64.const_zero();
                let up = bld.build_int_add(b, one, "")?;
                let tiny = bld.build_int_compare(IntPredicate::ULE, up, one, "")?;
                let d = bld.build_select(tiny, one, b, "")?.into_int_value();
                let r = bld.build_int_signed_rem(a, d, "")?;
                let signs = bld.build_xor(r, d, "")?;
                let differ = bld.build_int_compare(IntPredicate::SLT, signs, zero, "")?;
                let nonzero = bld.build_int_compare(IntPredicate::NE, r, zero, "")?;
                let adjust = bld.build_and(differ, nonzero, "")?;
                let fixed = bld.build_int_add(r, d, "")?;
                int(bld.build_select(adjust, fixed, r, "")?.into_int_value())
            }
            Opcode::Ineg => int(bld.build_int_sub(self.t.i64.const_zero(), a, "")?),
            Opcode::IcmpEq => icmp(IntPredicate::EQ),
            Opcode::IcmpNe => icmp(IntPredicate::NE),
            Opcode::IcmpLt => icmp(IntPredicate::SLT),
            Opcode::IcmpLe => icmp(IntPredicate::SLE),
            Opcode::Fadd => farith(&|x, y| bld.build_float_add(x, y, ""), |x, y| x + y, [None, None]),
            Opcode::Fsub => farith(&|x, y| bld.build_float_sub(x, y, ""), |x, y| x - y, [Some(-0.0), None]),
            Opcode::Fmul => farith(&|x, y| bld.build_float_mul(x, y, ""), |x, y| x * y, [Some(-1.0), Some(-1.0)]),
            Opcode::Fdiv => farith(&|x, y| bld.build_float_div(x, y, ""), |x, y| x / y, [None, Some(-1.0)]),
            Opcode::Fneg => {
                // Fenced on both sides: LLVM would otherwise move the negation into a
                // multiplication (`-(a*b)` as `(-a)*b`) or turn `c + -x` into `c - x`,
                // which changes the sign of a NaN the operation makes, and Lua prints it.
                let x = self.arith_fence(self.as_float(a)?)?;
                let neg = bld.build_float_neg(x, "")?;
                Ok((Tag::Float, self.float_bits(self.arith_fence(neg)?)?))
            }
            Opcode::Fsqrt => {
                let x = self.as_float(a)?;
                let sqrt = inkwell::intrinsics::Intrinsic::find("llvm.sqrt")
                    .and_then(|i| i.get_declaration(&self.module, &[self.t.f64.into()]))
                    .ok_or_else(|| LowerError::Malformed("no llvm.sqrt.f64".into()))?;
                let r = bld.build_call(sqrt, &[x.into()], "")?;
                let r = match r.try_as_basic_value() {
                    inkwell::values::ValueKind::Basic(v) if v.is_float_value() => v.into_float_value(),
                    _ => return Err(LowerError::Malformed("llvm.sqrt returns no float".into())),
                };
                Ok((Tag::Float, self.float_bits(r)?))
            }
            Opcode::FcmpEq => fcmp(FloatPredicate::OEQ),
            Opcode::FcmpLt => fcmp(FloatPredicate::OLT),
            Opcode::FcmpLe => fcmp(FloatPredicate::OLE),
            Opcode::IntToFloat => {
                let x = bld.build_signed_int_to_float(a, self.t.f64, "")?;
                Ok((Tag::Float, self.float_bits(x)?))
            }
            Opcode::Not => {
                boolean(bld.build_int_compare(IntPredicate::EQ, a, self.t.i64.const_zero(), "")?)
            }
            other => Err(LowerError::Unsupported(format!(
                "'{}' as a typed operation",
                other.mnemonic()
            ))),
        }
    }
}
