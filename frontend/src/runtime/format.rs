//! `string.format`: the engine is [`crate::lualib::format`]; this is the glue that
//! hands it the call's arguments converted as each conversion asks (raising Lua's
//! argument errors) and turns its errors into Lua errors.

use std::borrow::Cow;

use lazyjit::runtime::{access, VmResult, VmError, Vm};
use lazyjit::runtime::{Tag, Val};

use crate::lualib::format::{format as format_engine, Conv, FmtArg, FormatError};

use super::args::Args;
use super::convert::tostring;

/// One argument of `string.format` converted for `conv`.
fn fetch(vm: &mut Vm, a: &Args, argn: usize, conv: Conv) -> VmResult<FmtArg<'static>> {
    let v = a.get(vm, argn);
    Ok(match conv {
        Conv::Int => FmtArg::Int(a.int(vm, argn)?),
        Conv::Float => {
            let n = a.number(vm, argn)?;
            match n.tag() {
                Tag::Int => FmtArg::Int(n.int_unchecked()),
                _ => FmtArg::Float(n.float_unchecked()),
            }
        }
        Conv::Str => {
            let s = tostring(vm, v)?;
            FmtArg::Str(Cow::Owned(access::bytes_of(s).to_vec()))
        }
        Conv::Quoted => match v.tag() {
            Tag::Str => FmtArg::Str(Cow::Owned(access::bytes_of(v).to_vec())),
            Tag::Int => FmtArg::Int(v.int_unchecked()),
            Tag::Float => FmtArg::Float(v.float_unchecked()),
            Tag::Nil => FmtArg::Literal(Cow::Borrowed(b"nil")),
            Tag::Bool => FmtArg::Literal(Cow::Borrowed(if v.truthy() { b"true" } else { b"false" })),
            _ => return Err(a.error(vm, argn, "value has no literal form")),
        },
        Conv::Pointer => FmtArg::Pointer(match v.tag() {
            Tag::Table | Tag::Func | Tag::Native | Tag::Str => v.payload() as usize,
            _ => 0,
        }),
    })
}

/// `string.format(fmt, ...)` with the arguments of `a`.
pub(crate) fn format(vm: &mut Vm, a: &Args) -> VmResult<Val> {
    let fmt = a.str(vm, 1)?;
    let text = access::bytes_of(fmt).to_vec();
    let nargs = a.n.saturating_sub(1);
    let r = format_engine(&text, nargs, &mut |argn, conv| fetch(vm, a, argn, conv));
    match r {
        Ok(out) => Ok(vm.new_str(&out)),
        Err(e) => Err(match e {
            FormatError::Arg(e) => e,
            FormatError::NoValue { arg } => a.error(vm, arg, "no value"),
            FormatError::StringContainsZeros { arg } => a.error(vm, arg, "string contains zeros"),
            FormatError::Mismatch { arg } => a.error(vm, arg, "number has no integer representation"),
            FormatError::InvalidConversion(s) => {
                VmError::msg(format!("invalid conversion '{}' to 'format'", String::from_utf8_lossy(&s)))
            }
            FormatError::InvalidSpec(s) => {
                VmError::msg(format!("invalid conversion specification: '{}'", String::from_utf8_lossy(&s)))
            }
            FormatError::TooLong => VmError::msg("invalid format (too long)"),
            FormatError::QuotedModifiers => VmError::msg("specifier '%q' cannot have modifiers"),
        }),
    }
}
