//! Conversions between values, numbers and strings: Lua's string->number rules
//! (`tonumber`, coercion), number->string (`%d` / `%.14g` plus `.0`), and `tostring`
//! with `__tostring`/`__name`.

use lazyjit::runtime::{access, VmResult, VmError, Vm};
use lazyjit::runtime::{Tag, Val};

use crate::lualib::{format, number, Num};

use super::meta::{metafield, metamethod};
use super::{type_name, Key};

/// A float with an exact integer value in i64 range as that integer (`-0.0` gives 0).
#[inline]
pub(crate) fn float_to_int(f: f64) -> Option<i64> {
    number::float_to_int_exact(f)
}

/// A Lua number value as a [`Num`] (`None` for other values).
#[inline]
pub(crate) fn num_of(v: Val) -> Option<Num> {
    match v.tag() {
        Tag::Int => Some(Num::Int(v.int_unchecked())),
        Tag::Float => Some(Num::Float(v.float_unchecked())),
        _ => None,
    }
}

/// A [`Num`] as a value.
#[inline]
pub(crate) fn num_val(n: Num) -> Val {
    match n {
        Num::Int(i) => Val::int(i),
        Num::Float(f) => Val::float(f),
    }
}

/// A number, or a string that converts to one (Lua's `tonumber` without base).
#[inline]
pub(crate) fn to_number(v: Val) -> Option<Val> {
    match v.tag() {
        Tag::Int | Tag::Float => Some(v),
        Tag::Str => str_to_number(access::bytes_of(v)),
        _ => None,
    }
}

/// A value as a float if it is a number or a numeric string.
pub(crate) fn to_float(v: Val) -> Option<f64> {
    let n = to_number(v)?;
    Some(match n.tag() {
        Tag::Int => n.int_unchecked() as f64,
        _ => n.float_unchecked(),
    })
}

/// A value as an integer (numbers with an exact integer value, and such strings).
pub(crate) fn to_integer(v: Val) -> Option<i64> {
    let n = to_number(v)?;
    match n.tag() {
        Tag::Int => Some(n.int_unchecked()),
        _ => float_to_int(n.float_unchecked()),
    }
}

/// Lua's string->number conversion (`tonumber(s)`, arithmetic coercion): an integer
/// or float numeral with optional sign and surrounding whitespace.
pub(crate) fn str_to_number(s: &[u8]) -> Option<Val> {
    number::str_to_number(s).map(num_val)
}

/// A number as Lua prints it: integers as `%d`, floats as `%.14g` with `.0` added when
/// the result looks like an integer.
pub(crate) fn number_to_string(v: Val) -> Vec<u8> {
    num_of(v).map(number::fmt_number).unwrap_or_default()
}

/// A number formatted with `%d` / `%.14g` and no `.0` (`io.write`'s format).
pub(crate) fn number_to_string_g(v: Val) -> Vec<u8> {
    match v.tag() {
        Tag::Float => {
            let mut out = Vec::with_capacity(24);
            format::write_g(&mut out, v.float_unchecked(), 14, false, false);
            out
        }
        _ => number_to_string(v),
    }
}

/// The address part of `table: 0x...`.
pub(crate) fn address(v: Val) -> String {
    format!("{:#x}", v.payload())
}

/// Lua's `tostring`: `__tostring` (which must give a string or number), else the
/// value's text, with `__name` for tables that have one.
pub(crate) fn tostring(vm: &mut Vm, v: Val) -> VmResult<Val> {
    match v.tag() {
        Tag::Str => return Ok(v),
        Tag::Int | Tag::Float => {
            let s = number_to_string(v);
            return Ok(vm.new_str(&s));
        }
        Tag::Nil => return Ok(vm.new_str(b"nil")),
        Tag::Bool => return Ok(vm.new_str(if v.truthy() { b"true" } else { b"false" })),
        _ => {}
    }
    if let Some(h) = metamethod(vm, v, Key::ToString) {
        let r = vm.call1(h, &[v])?;
        return match r.tag() {
            Tag::Str => Ok(r),
            Tag::Int | Tag::Float => {
                let s = number_to_string(r);
                Ok(vm.new_str(&s))
            }
            _ => Err(VmError::msg("'__tostring' must return a string")),
        };
    }
    let name = metafield(vm, v, Key::Name);
    let kind = if name.tag() == Tag::Str {
        String::from_utf8_lossy(access::bytes_of(name)).into_owned()
    } else {
        type_name(v).to_string()
    };
    let s = format!("{kind}: {}", address(v));
    Ok(vm.new_str(s.as_bytes()))
}
