//! Numerals: Lua's `read_numeral` (which bytes belong to a numeral) and `luaO_str2num`
//! (what they mean), written out here so that every accepted form converts exactly.

use super::string::hex_value;
use super::{is_name_start, Lexer, TokenKind};

/// The value of a numeral.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Numeral {
    /// An integer (decimal that fits in i64, or hex wrapped modulo 2^64).
    Int(i64),
    /// A float (also a decimal integer too large for i64).
    Float(f64),
}
use crate::ast::Pos;
use crate::diag::Diagnostic;

impl Lexer<'_> {
    /// A numeral starting at the current byte (a digit, or a `.` before a digit).
    ///
    /// Like Lua, it first takes every byte that could continue some numeral (hex
    /// digits, `.`, an exponent mark with its sign) plus one trailing letter, and only
    /// then checks the form, so `3x`, `1..2` and `0x` are reported whole.
    pub(super) fn numeral(&mut self, pos: Pos) -> Result<TokenKind, Diagnostic> {
        let start = self.at;
        let first = self.peek();
        self.at += 1;
        let mut exponent_marks = *b"Ee";
        if first == Some(b'0') && matches!(self.peek(), Some(b'x' | b'X')) {
            self.at += 1;
            exponent_marks = *b"Pp";
        }
        loop {
            match self.peek() {
                Some(b) if exponent_marks.contains(&b) => {
                    self.at += 1;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.at += 1;
                    }
                }
                Some(b) if b.is_ascii_hexdigit() || b == b'.' => self.at += 1,
                _ => break,
            }
        }
        if self.peek().is_some_and(is_name_start) {
            self.at += 1;
        }
        let text = &self.src[start..self.at];
        match numeral_value(text) {
            Some(Numeral::Int(v)) => Ok(TokenKind::Int(v)),
            Some(Numeral::Float(v)) => Ok(TokenKind::Float(v)),
            None => Err(self.error_at(pos, format!("malformed number near '{}'", String::from_utf8_lossy(text)))),
        }
    }
}

/// The value of a numeral written without sign or surrounding spaces (`42`, `0xff`,
/// `1e2`, `0x1p-3`), or `None` if it is malformed: the conversion Lua's lexer and
/// `tonumber` share (`luaO_str2num`). Hex floats are correctly rounded.
pub fn numeral_value(text: &[u8]) -> Option<Numeral> {
    match text {
        [b'0', b'x' | b'X', digits @ ..] => hex_numeral(digits),
        _ => decimal_numeral(text),
    }
}

/// After `0x`: an integer (wrapping modulo 2^64, like Lua) or a hex float.
fn hex_numeral(digits: &[u8]) -> Option<Numeral> {
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_hexdigit) {
        let value = digits
            .iter()
            .filter_map(|&d| hex_value(d))
            .fold(0u64, |acc, d| acc.wrapping_mul(16).wrapping_add(u64::from(d)));
        return Some(Numeral::Int(value as i64));
    }
    hex_float(digits).map(Numeral::Float)
}

/// A decimal integer (if it fits in i64) or float.
fn decimal_numeral(text: &[u8]) -> Option<Numeral> {
    if !text.is_empty() && text.iter().all(u8::is_ascii_digit) {
        if let Some(value) = decimal_int(text) {
            return Some(Numeral::Int(value));
        }
        // Too large for an integer: Lua reads it as a float.
    }
    if !is_decimal_float(text) {
        return None;
    }
    let text = std::str::from_utf8(text).ok()?;
    text.parse::<f64>().ok().map(Numeral::Float)
}

/// The value of a string of decimal digits, if it fits in i64.
fn decimal_int(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |acc, &d| acc.checked_mul(10)?.checked_add(i64::from(d - b'0')))
}

/// Whether `text` has the form `digits [. digits] [e [sign] digits]` with at least one
/// mantissa digit (either side of the point) — the forms `strtod` and Rust agree on.
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

/// A hex float after `0x`: `hhh[.hhh][p[sign]ddd]`, correctly rounded like C's `strtod`
/// (which is what `lua5.4` uses on Linux).
fn hex_float(text: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'p' || b == b'P') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (bits, mut scale) = hex_mantissa(mantissa)?;
    if let Some(e) = exponent {
        scale = scale.saturating_add(decimal_exponent(e)?);
    }
    Some(compose_f64(bits, scale))
}

/// The significant bits of a hex mantissa `hhh[.hhh]` and the power of two to scale
/// them by. Only the first 16 significant digits are kept; any non-zero digit after
/// them is folded into the lowest bit, which is far below the rounding position and
/// so rounds exactly as the full value would.
fn hex_mantissa(text: &[u8]) -> Option<(u64, i64)> {
    let mut bits = 0u64;
    let mut kept = 0;
    let mut scale = 0i64;
    let mut seen_point = false;
    let mut any_digit = false;
    for &b in text {
        if b == b'.' {
            if seen_point {
                return None;
            }
            seen_point = true;
            continue;
        }
        let d = hex_value(b)?;
        any_digit = true;
        if bits == 0 && d == 0 {
            // A leading zero: only its place after the point matters.
            scale -= if seen_point { 4 } else { 0 };
        } else if kept < 16 {
            bits = bits << 4 | u64::from(d);
            kept += 1;
            scale -= if seen_point { 4 } else { 0 };
        } else {
            bits |= u64::from(d != 0);
            scale += if seen_point { 0 } else { 4 };
        }
    }
    any_digit.then_some((bits, scale))
}

/// A binary exponent `[sign]ddd`, saturated far beyond any finite double.
fn decimal_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
    Some(if negative { -magnitude } else { magnitude })
}

/// The double nearest to `bits * 2^scale` (ties to even), including subnormals,
/// overflow to infinity and underflow to zero.
fn compose_f64(bits: u64, scale: i64) -> f64 {
    if bits == 0 {
        return 0.0;
    }
    let shift = bits.leading_zeros();
    let m = bits << shift;
    // value = m * 2^(top - 63) with m in [2^63, 2^64), so value is in [2^top, 2^(top+1)).
    let top = scale - i64::from(shift) + 63;
    if top > 1023 {
        return f64::INFINITY;
    }
    // How many bits of `m` the result can hold: 53 for normal numbers, fewer below.
    let keep = if top >= -1022 { 53 } else { top + 1075 };
    if keep < 0 {
        return 0.0;
    }
    let dropped = (64 - keep) as u32; // 11..=64
    let (mut q, rest, half) = if dropped == 64 {
        (0, m, 1u64 << 63)
    } else {
        (m >> dropped, m & ((1u64 << dropped) - 1), 1u64 << (dropped - 1))
    };
    if rest > half || (rest == half && q & 1 == 1) {
        q += 1;
    }
    if top < -1022 {
        // Subnormal: the value is q * 2^-1074, which is exactly the bit pattern q (a
        // q rounded up to 2^52 becomes the smallest normal number, also correctly).
        return f64::from_bits(q);
    }
    let (q, top) = if q == 1 << 53 { (1 << 52, top + 1) } else { (q, top) };
    if top > 1023 {
        return f64::INFINITY;
    }
    f64::from_bits(((top + 1023) as u64) << 52 | (q & ((1 << 52) - 1)))
}
