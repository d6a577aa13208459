//! Conversions between values, numbers and strings: Lua's string->number rules
//! (`tonumber`, coercion), number->string (`%d` / `%.14g` plus `.0`), and `tostring`
//! with `__tostring`/`__name`.

use lazyjit_ir::interp::{access, LResult, LuaError, Vm};
use lazyjit_ir::rt::{Tag, Val};

use super::meta::{metafield, metamethod};
use super::{type_name, Key};

/// A float with an exact integer value in i64 range as that integer (`-0.0` gives 0).
#[inline]
pub(crate) fn float_to_int(f: f64) -> Option<i64> {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        let i = f as i64;
        if i as f64 == f {
            return Some(i);
        }
    }
    None
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

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Lua's string->number conversion: an integer or float numeral with optional sign and
/// surrounding whitespace; decimal integers too large for i64 become floats, hex
/// integers wrap around.
pub fn str_to_number(s: &[u8]) -> Option<Val> {
    let start = s.iter().position(|&b| !is_space(b))?;
    let end = s.iter().rposition(|&b| !is_space(b))? + 1;
    let s = &s[start..end];
    if s.iter().any(|&b| b == b'n' || b == b'N') {
        return None; // no "inf"/"nan"
    }
    let (neg, body) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if let [b'0', b'x' | b'X', digits @ ..] = body {
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_hexdigit) {
            let v = digits.iter().fold(0u64, |acc, &d| acc.wrapping_mul(16).wrapping_add(hex_digit(d) as u64));
            let v = v as i64;
            return Some(Val::int(if neg { v.wrapping_neg() } else { v }));
        }
        let f = hex_float(digits)?;
        return Some(Val::float(if neg { -f } else { f }));
    }
    if !body.is_empty() && body.iter().all(u8::is_ascii_digit) {
        let mut acc: u64 = 0;
        let mut overflow = false;
        for &d in body {
            match acc.checked_mul(10).and_then(|a| a.checked_add((d - b'0') as u64)) {
                Some(a) => acc = a,
                None => {
                    overflow = true;
                    break;
                }
            }
        }
        if !overflow {
            if acc <= i64::MAX as u64 {
                let v = acc as i64;
                return Some(Val::int(if neg { -v } else { v }));
            }
            if neg && acc == 1u64 << 63 {
                return Some(Val::int(i64::MIN));
            }
        }
    }
    if !is_decimal_float(body) {
        return None;
    }
    let f: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
    Some(Val::float(if neg { -f } else { f }))
}

fn hex_digit(d: u8) -> u32 {
    (d as char).to_digit(16).unwrap_or(0)
}

/// `digits [. digits] [e [sign] digits]` with at least one mantissa digit.
fn is_decimal_float(text: &[u8]) -> bool {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = mantissa.splitn(2, |&b| b == b'.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next().unwrap_or_default();
    let digits_ok = whole.iter().chain(fraction).all(u8::is_ascii_digit) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(b"+").or_else(|| e.strip_prefix(b"-")).unwrap_or(e);
            !e.is_empty() && e.iter().all(u8::is_ascii_digit)
        }
    };
    digits_ok && exponent_ok
}

/// A hex float after `0x`: `hhh[.hhh][p[sign]ddd]`.
fn hex_float(text: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'p' || b == b'P') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut bits = 0u64;
    let mut scale = 0i64;
    let mut any = false;
    let mut point = false;
    for &b in mantissa {
        if b == b'.' {
            if point {
                return None;
            }
            point = true;
            continue;
        }
        if !b.is_ascii_hexdigit() {
            return None;
        }
        any = true;
        let d = hex_digit(b) as u64;
        if bits >> 56 == 0 {
            bits = bits << 4 | d;
            if point {
                scale -= 4;
            }
        } else {
            bits |= (d != 0) as u64; // sticky
            if !point {
                scale += 4;
            }
        }
    }
    if !any {
        return None;
    }
    if let Some(e) = exponent {
        let (neg, digits) = match e {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            _ => (false, e),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let m = digits.iter().fold(0i64, |acc, &d| (acc * 10 + (d - b'0') as i64).min(1 << 20));
        scale += if neg { -m } else { m };
    }
    Some(ldexp(bits as f64, scale))
}

/// `x * 2^e` without intermediate overflow.
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

/// C's `%.{prec}g` for a finite or infinite/NaN double (glibc spelling: `inf`, `-nan`).
pub(crate) fn fmt_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    let p = prec.max(1);
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let e_form = format!("{:.*e}", p - 1, x);
    let (mant, exp) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i64 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i64 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A number as Lua prints it: integers as `%d`, floats as `%.14g` with `.0` added when
/// the result looks like an integer.
pub fn number_to_string(v: Val) -> Vec<u8> {
    match v.tag() {
        Tag::Int => v.int_unchecked().to_string().into_bytes(),
        Tag::Float => {
            let mut s = fmt_g(v.float_unchecked(), 14);
            if s.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
                s.push_str(".0");
            }
            s.into_bytes()
        }
        _ => Vec::new(),
    }
}

/// A number formatted as `lua_Number` with `%.14g` (no `.0`: `io.write`'s format).
pub(crate) fn number_to_string_g(v: Val) -> Vec<u8> {
    match v.tag() {
        Tag::Float => fmt_g(v.float_unchecked(), 14).into_bytes(),
        _ => number_to_string(v),
    }
}

/// The address part of `table: 0x...`.
pub(crate) fn address(v: Val) -> String {
    format!("{:#x}", v.payload())
}

/// Lua's `tostring`: `__tostring` (which must give a string or number), else the
/// value's text, with `__name` for tables that have one.
pub(crate) fn tostring(vm: &mut Vm, v: Val) -> LResult<Val> {
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
            _ => Err(LuaError::msg("'__tostring' must return a string")),
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
