//! Lua 5.4 operators on values: arithmetic and bitwise operators with their int/float
//! rules, string coercion and metamethods; concatenation; length; equality and order.
//! Errors are runtime messages about the operand at fault (0 or 1), so the calling
//! instruction can name the variable.

use lazyjit::runtime::{access, VmResult, VmError, Vm, VARINFO};
use lazyjit::runtime::{Tag, Val};

use crate::lualib::{number, Num};

use super::convert::{float_to_int, number_to_string, to_number};
use super::meta::{call_meta, metamethod};
use super::{obj_type_name, type_name, unpositioned, Key};

/// An arithmetic or bitwise operator (binary, or unary `Unm`/`BNot`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Mod,
    Pow,
    Div,
    IDiv,
    BAnd,
    BOr,
    BXor,
    Shl,
    Shr,
    Unm,
    BNot,
}

impl Op {
    fn key(self) -> Key {
        match self {
            Op::Add => Key::Add,
            Op::Sub => Key::Sub,
            Op::Mul => Key::Mul,
            Op::Mod => Key::Mod,
            Op::Pow => Key::Pow,
            Op::Div => Key::Div,
            Op::IDiv => Key::IDiv,
            Op::BAnd => Key::BAnd,
            Op::BOr => Key::BOr,
            Op::BXor => Key::BXor,
            Op::Shl => Key::Shl,
            Op::Shr => Key::Shr,
            Op::Unm => Key::Unm,
            Op::BNot => Key::BNot,
        }
    }

    /// The event name the string metamethods use in their messages (`attempt to add ...`).
    fn event(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Mod => "mod",
            Op::Pow => "pow",
            Op::Div => "div",
            Op::IDiv => "idiv",
            Op::Unm => "unm",
            Op::BAnd => "band",
            Op::BOr => "bor",
            Op::BXor => "bxor",
            Op::Shl => "shl",
            Op::Shr => "shr",
            Op::BNot => "bnot",
        }
    }

    fn is_bitwise(self) -> bool {
        matches!(self, Op::BAnd | Op::BOr | Op::BXor | Op::Shl | Op::Shr | Op::BNot)
    }
}

#[inline]
fn num_f(v: Val) -> f64 {
    match v.tag() {
        Tag::Int => v.int_unchecked() as f64,
        _ => v.float_unchecked(),
    }
}

/// The integer value of a number for a bitwise operator (floats only if exact).
#[inline]
fn bit_int(v: Val) -> Option<i64> {
    match v.tag() {
        Tag::Int => Some(v.int_unchecked()),
        Tag::Float => float_to_int(v.float_unchecked()),
        _ => None,
    }
}

/// An operator on two integers.
#[inline]
fn int_arith(op: Op, x: i64, y: i64) -> VmResult<Val> {
    Ok(match op {
        Op::Add => Val::int(x.wrapping_add(y)),
        Op::Sub => Val::int(x.wrapping_sub(y)),
        Op::Mul => Val::int(x.wrapping_mul(y)),
        Op::Div => Val::float(x as f64 / y as f64),
        Op::Pow => Val::float(number::pow(x as f64, y as f64)),
        Op::IDiv => {
            if y == 0 {
                return Err(VmError::msg("attempt to divide by zero"));
            }
            Val::int(number::int_floor_div(x, y))
        }
        Op::Mod => {
            if y == 0 {
                return Err(VmError::msg("attempt to perform 'n%0'"));
            }
            Val::int(number::int_mod(x, y))
        }
        Op::BAnd => Val::int(x & y),
        Op::BOr => Val::int(x | y),
        Op::BXor => Val::int(x ^ y),
        Op::Shl => Val::int(number::shift_left(x, y)),
        Op::Shr => Val::int(number::shift_right(x, y)),
        Op::Unm => Val::int(x.wrapping_neg()),
        Op::BNot => Val::int(!x),
    })
}

/// An operator on two numbers (ints or floats).
#[inline]
fn num_arith(op: Op, a: Val, b: Val) -> VmResult<Val> {
    if a.tag() == Tag::Int && b.tag() == Tag::Int {
        return int_arith(op, a.int_unchecked(), b.int_unchecked());
    }
    if op.is_bitwise() {
        let Some(x) = bit_int(a) else {
            return Err(VmError::about(0, format!("number{VARINFO} has no integer representation")));
        };
        let Some(y) = bit_int(b) else {
            return Err(VmError::about(1, format!("number{VARINFO} has no integer representation")));
        };
        return int_arith(op, x, y);
    }
    let (x, y) = (num_f(a), num_f(b));
    Ok(Val::float(match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div => x / y,
        Op::Pow => number::pow(x, y),
        Op::IDiv => number::float_floor_div(x, y),
        Op::Mod => number::float_mod(x, y),
        Op::Unm => -x,
        _ => unreachable!("bitwise handled above"),
    }))
}

#[inline]
fn is_num(v: Val) -> bool {
    matches!(v.tag(), Tag::Int | Tag::Float)
}

/// `a op b` (for unary operators `b` is `a` again, as Lua passes it to metamethods).
#[inline]
pub(crate) fn arith(vm: &mut Vm, op: Op, a: Val, b: Val) -> VmResult<Val> {
    if is_num(a) && is_num(b) {
        return num_arith(op, a, b);
    }
    arith_slow(vm, op, a, b)
}

#[cold]
fn arith_slow(vm: &mut Vm, op: Op, a: Val, b: Val) -> VmResult<Val> {
    let strings = a.tag() == Tag::Str || b.tag() == Tag::Str;
    // Strings convert to numbers for arithmetic (Lua's string metamethods do this);
    // errors raised on the converted numbers come from that C metamethod: no position.
    if strings && !op.is_bitwise() {
        if let (Some(x), Some(y)) = (to_number(a), to_number(b)) {
            return num_arith(op, x, y).map_err(|e| unpositioned(vm, e));
        }
    }
    let k = op.key();
    let handler = match (a.tag() != Tag::Str).then(|| metamethod(vm, a, k)).flatten() {
        Some(h) => Some(h),
        None => (b.tag() != Tag::Str).then(|| metamethod(vm, b, k)).flatten(),
    };
    if let Some(h) = handler {
        return call_meta(vm, h, k, &[a, b]);
    }
    if op.is_bitwise() {
        if is_num(a) && is_num(b) {
            let at = if bit_int(a).is_none() { 0 } else { 1 };
            return Err(VmError::about(at, format!("number{VARINFO} has no integer representation")));
        }
        let at = if is_num(a) { 1 } else { 0 };
        let t = obj_type_name(vm, if at == 0 { a } else { b });
        return Err(VmError::about(at, format!("attempt to perform bitwise operation on a {t} value")));
    }
    if strings {
        return Err(VmError::msg(format!("attempt to {} a '{}' with a '{}'", op.event(), type_name(a), type_name(b))));
    }
    let at = if is_num(a) { 1 } else { 0 };
    let t = obj_type_name(vm, if at == 0 { a } else { b });
    Err(VmError::about(at, format!("attempt to perform arithmetic on a {t} value")))
}

/// `a .. b`.
pub(crate) fn concat(vm: &mut Vm, a: Val, b: Val) -> VmResult<Val> {
    let sa = matches!(a.tag(), Tag::Str | Tag::Int | Tag::Float);
    let sb = matches!(b.tag(), Tag::Str | Tag::Int | Tag::Float);
    if sa && sb {
        let (x, y) = (piece(a), piece(b));
        if a.tag() == Tag::Str && b.tag() == Tag::Str {
            if y.is_empty() {
                return Ok(a);
            }
            if x.is_empty() {
                return Ok(b);
            }
        }
        // The operands stay reachable (the caller holds them), and strings do not move,
        // if the buffer's allocation collects.
        let mut buf = vm.try_buffer(x.len() + y.len())?;
        buf.extend_from_slice(&x);
        buf.extend_from_slice(&y);
        return Ok(vm.str_from_buffer(buf));
    }
    let handler = match metamethod(vm, a, Key::Concat) {
        Some(h) => Some(h),
        None => metamethod(vm, b, Key::Concat),
    };
    if let Some(h) = handler {
        return call_meta(vm, h, Key::Concat, &[a, b]);
    }
    let at = if sa { 1 } else { 0 };
    let t = obj_type_name(vm, if at == 0 { a } else { b });
    Err(VmError::about(at, format!("attempt to concatenate a {t} value")))
}

/// The bytes `..` takes from a string or a number (a string's own, not copied).
fn piece(v: Val) -> std::borrow::Cow<'static, [u8]> {
    match v.tag() {
        Tag::Str => std::borrow::Cow::Borrowed(access::bytes_of(v)),
        _ => std::borrow::Cow::Owned(number_to_string(v)),
    }
}

/// `#a`.
pub(crate) fn len(vm: &mut Vm, a: Val) -> VmResult<Val> {
    match a.tag() {
        Tag::Str => Ok(Val::int(access::str_of(a).len() as i64)),
        Tag::Table => {
            if access::table_of(a).meta.is_null() {
                return Ok(Val::int(access::table_of(a).border()));
            }
            match metamethod(vm, a, Key::Len) {
                Some(h) => call_meta(vm, h, Key::Len, &[a, a]),
                None => Ok(Val::int(access::table_of(a).border())),
            }
        }
        _ => match metamethod(vm, a, Key::Len) {
            Some(h) => call_meta(vm, h, Key::Len, &[a, a]),
            None => {
                let t = obj_type_name(vm, a);
                Err(VmError::about(0, format!("attempt to get length of a {t} value")))
            }
        },
    }
}

// ---- comparisons ------------------------------------------------------------------------

/// A number value (int or float) as a [`Num`].
#[inline]
fn num(v: Val) -> Num {
    match v.tag() {
        Tag::Int => Num::Int(v.int_unchecked()),
        _ => Num::Float(v.float_unchecked()),
    }
}

/// Raw equality (`rawequal`): numbers by value across int/float, strings by content.
#[inline]
pub(crate) fn raw_equal(a: Val, b: Val) -> bool {
    match (a.tag(), b.tag()) {
        (Tag::Int, Tag::Int) => a.payload() == b.payload(),
        (Tag::Float, Tag::Float) => a.float_unchecked() == b.float_unchecked(),
        (Tag::Int, Tag::Float) => float_to_int(b.float_unchecked()) == Some(a.int_unchecked()),
        (Tag::Float, Tag::Int) => float_to_int(a.float_unchecked()) == Some(b.int_unchecked()),
        (Tag::Str, Tag::Str) => a.payload() == b.payload() || access::bytes_of(a) == access::bytes_of(b),
        (x, y) => x == y && a.payload() == b.payload(),
    }
}

/// `a == b` with `__eq` for two distinct tables.
pub(crate) fn equal(vm: &mut Vm, a: Val, b: Val) -> VmResult<bool> {
    if raw_equal(a, b) {
        return Ok(true);
    }
    if a.tag() != Tag::Table || b.tag() != Tag::Table {
        return Ok(false);
    }
    let handler = match metamethod(vm, a, Key::Eq) {
        Some(h) => Some(h),
        None => metamethod(vm, b, Key::Eq),
    };
    match handler {
        Some(h) => Ok(call_meta(vm, h, Key::Eq, &[a, b])?.truthy()),
        None => Ok(false),
    }
}

/// `a < b`.
#[inline]
pub(crate) fn less_than(vm: &mut Vm, a: Val, b: Val) -> VmResult<bool> {
    match (a.tag(), b.tag()) {
        (Tag::Int, Tag::Int) => Ok(a.int_unchecked() < b.int_unchecked()),
        (Tag::Float, Tag::Float) => Ok(a.float_unchecked() < b.float_unchecked()),
        (Tag::Int, Tag::Float) | (Tag::Float, Tag::Int) => Ok(number::lt_num(num(a), num(b))),
        (Tag::Str, Tag::Str) => Ok(access::bytes_of(a) < access::bytes_of(b)),
        _ => order_meta(vm, a, b, Key::Lt),
    }
}

/// `a <= b`.
#[inline]
pub(crate) fn less_equal(vm: &mut Vm, a: Val, b: Val) -> VmResult<bool> {
    match (a.tag(), b.tag()) {
        (Tag::Int, Tag::Int) => Ok(a.int_unchecked() <= b.int_unchecked()),
        (Tag::Float, Tag::Float) => Ok(a.float_unchecked() <= b.float_unchecked()),
        (Tag::Int, Tag::Float) | (Tag::Float, Tag::Int) => Ok(number::le_num(num(a), num(b))),
        (Tag::Str, Tag::Str) => Ok(access::bytes_of(a) <= access::bytes_of(b)),
        _ => order_meta(vm, a, b, Key::Le),
    }
}

#[cold]
fn order_meta(vm: &mut Vm, a: Val, b: Val, k: Key) -> VmResult<bool> {
    let handler = match metamethod(vm, a, k) {
        Some(h) => Some(h),
        None => metamethod(vm, b, k),
    };
    if let Some(h) = handler {
        return Ok(call_meta(vm, h, k, &[a, b])?.truthy());
    }
    // Like lua5.4 (built with Lua 5.3 compatibility, as Debian's is): without `__le`,
    // `a <= b` is `not (b < a)` through `__lt`.
    if k == Key::Le {
        if let Some(h) = metamethod(vm, b, Key::Lt).or_else(|| metamethod(vm, a, Key::Lt)) {
            return Ok(!call_meta(vm, h, Key::Le, &[b, a])?.truthy());
        }
    }
    let t1 = obj_type_name(vm, a);
    let t2 = obj_type_name(vm, b);
    Err(VmError::msg(if t1 == t2 {
        format!("attempt to compare two {t1} values")
    } else {
        format!("attempt to compare {t1} with {t2}")
    }))
}
