//! Lua 5.4 number semantics as plain functions: string <-> number conversion,
//! `tostring` of numbers, the integer/float arithmetic that C leaves undefined or
//! different (floor division, floored modulo, logical shifts), exact mixed
//! integer/float comparisons, and the numeric `for` loop preparation of `lvm.c`.
//!
//! Everything here is checked against the `lua5.4` (5.4.4, x86-64 glibc) interpreter;
//! the tests quote its output.

use super::format;

/// A Lua number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// A 64-bit integer (subtype `integer`).
    Int(i64),
    /// An IEEE double (subtype `float`).
    Float(f64),
}

impl Num {
    /// The number as a float (integers are converted with rounding, like C's cast).
    pub fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// The number as an integer if it has an exact integer representation
    /// (`math.tointeger`, `luaL_checkinteger`).
    pub fn to_int_exact(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i),
            Num::Float(f) => float_to_int_exact(f),
        }
    }
}

/// C's `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub fn is_lua_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_space(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lua_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_lua_space(b))
        .map_or(start, |p| p + 1);
    &s[start..end]
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// `tonumber(s)` / `lua_stringtonumber`: the integer or float numeral `s` denotes, or
/// `None`. Accepts surrounding whitespace, a sign, decimal integers (too large ones
/// become floats), hexadecimal integers (wrapping modulo 2^64), decimal and hexadecimal
/// floats; rejects `inf`, `nan` and embedded NULs.
pub fn str_to_number(s: &[u8]) -> Option<Num> {
    if let Some(i) = str_to_int(s) {
        return Some(Num::Int(i));
    }
    str_to_float(s).map(Num::Float)
}

/// The integer part of `str_to_number` (`l_str2int`): `None` if `s` is not an integer
/// numeral or is a decimal numeral that does not fit in an `i64`.
fn str_to_int(s: &[u8]) -> Option<i64> {
    let t = trim_space(s);
    let (neg, t) = split_sign(t);
    let mut acc: u64 = 0;
    if t.len() >= 2 && t[0] == b'0' && (t[1] | 0x20) == b'x' {
        let digits = &t[2..];
        if digits.is_empty() {
            return None;
        }
        for &b in digits {
            acc = acc.wrapping_mul(16).wrapping_add(hex_value(b)? as u64);
        }
    } else {
        if t.is_empty() {
            return None;
        }
        const MAX_BY_10: u64 = (i64::MAX as u64) / 10;
        const MAX_LAST: u64 = (i64::MAX as u64) % 10;
        for &b in t {
            if !b.is_ascii_digit() {
                return None;
            }
            let d = (b - b'0') as u64;
            if acc >= MAX_BY_10 && (acc > MAX_BY_10 || d > MAX_LAST + neg as u64) {
                return None; // overflow: not accepted as an integer
            }
            acc = acc * 10 + d;
        }
    }
    Some(if neg {
        acc.wrapping_neg() as i64
    } else {
        acc as i64
    })
}

fn split_sign(t: &[u8]) -> (bool, &[u8]) {
    match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    }
}

/// The float part of `str_to_number` (`l_str2d`, i.e. C's `strtod` on the whole
/// string, minus `inf`/`nan`).
fn str_to_float(s: &[u8]) -> Option<f64> {
    if s.iter().any(|&b| b == b'n' || b == b'N' || b == 0) {
        return None;
    }
    let t = trim_space(s);
    let (neg, body) = split_sign(t);
    let mag = if body.len() >= 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex_float(&body[2..])?
    } else {
        if !is_decimal_float_syntax(body) {
            return None;
        }
        // The syntax is checked, so Rust's correctly rounded parser sees only plain
        // numerals (no "inf"/"nan" spellings can reach it).
        std::str::from_utf8(body).ok()?.parse::<f64>().ok()?
    };
    Some(if neg { -mag } else { mag })
}

/// `digits [. digits] | . digits`, then an optional exponent `e[+-]digits`.
fn is_decimal_float_syntax(b: &[u8]) -> bool {
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] | 0x20) == b'e' {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

/// A hexadecimal float after its `0x`: `h* [. h*] [p [+-] d+]` with at least one hex
/// digit, correctly rounded (ties to even) like glibc's `strtod`.
fn parse_hex_float(b: &[u8]) -> Option<f64> {
    let mut mant: u64 = 0;
    let mut sticky = false;
    let mut exp: i64 = 0; // value = mant * 2^exp (+ sticky bits below)
    let mut any_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'.' {
            if seen_point {
                break;
            }
            seen_point = true;
        } else if let Some(d) = hex_value(c) {
            any_digit = true;
            if mant >> 60 == 0 {
                mant = mant * 16 + d as u64;
                if seen_point {
                    exp -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exp += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if i < b.len() && (b[i] | 0x20) == b'p' {
        i += 1;
        let (eneg, rest) = split_sign(&b[i..]);
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut e: i64 = 0;
        for &c in &rest[..n] {
            e = (e * 10 + (c - b'0') as i64).min(1 << 40); // saturate: far beyond range
        }
        exp += if eneg { -e } else { e };
        i = b.len() - rest.len() + n;
    }
    if i != b.len() {
        return None;
    }
    Some(compose_binary(mant, sticky, exp))
}

/// Round `m >> shift` to nearest, ties to even; `sticky` says nonzero bits were lost
/// below `m` already.
fn round_shift(m: u64, sticky: bool, shift: u32) -> u64 {
    if shift == 0 {
        return m;
    }
    if shift > 64 {
        return 0; // m < 2^64 <= half of the unit
    }
    let q = if shift == 64 { 0 } else { m >> shift };
    let rem = if shift == 64 {
        m
    } else {
        m & ((1u64 << shift) - 1)
    };
    let half = 1u64 << (shift - 1);
    let up = rem > half || (rem == half && (sticky || q & 1 == 1));
    q + up as u64
}

/// `mant * 2^exp` correctly rounded to a double (including subnormals and overflow).
fn compose_binary(mant: u64, sticky: bool, exp: i64) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    let bits = 64 - mant.leading_zeros() as i64;
    let top = exp + bits - 1; // value in [2^top, 2^(top+1))
    if top > 1023 {
        return f64::INFINITY;
    }
    let keep = if top >= -1022 { 53 } else { top + 1075 };
    if keep < 0 {
        return 0.0;
    }
    let shift = (bits - keep).max(0);
    let m = round_shift(mant, sticky, shift as u32);
    scale_pow2(m as f64, exp + shift)
}

/// `x * 2^k`, exact whenever the result is representable (steps avoid spurious
/// intermediate overflow or underflow).
fn scale_pow2(mut x: f64, mut k: i64) -> f64 {
    let big = f64::from_bits(((1023 + 1000) as u64) << 52); // 2^1000
    let small = f64::from_bits(((1023 - 1000) as u64) << 52); // 2^-1000
    while k > 1000 {
        x *= big;
        k -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while k < -1000 {
        x *= small;
        k += 1000;
    }
    if k >= -1022 {
        x * f64::from_bits(((1023 + k) as u64) << 52)
    } else {
        // 2^k itself is subnormal: split so the last multiplication is the only
        // inexact-looking one (and it is exact because `x` was pre-rounded).
        x * f64::from_bits(1u64 << 52) * f64::from_bits(((1023 + k + 1022) as u64) << 52)
    }
}

/// `tonumber(s, base)` for `base` in 2..=36: optional whitespace, an optional sign,
/// then at least one alphanumeric digit below `base` (letters in either case), then
/// optional whitespace. Wraps modulo 2^64 like Lua. `None` for anything else
/// (including embedded NULs and bases out of range).
pub fn str_to_int_base(s: &[u8], base: u32) -> Option<i64> {
    if !(2..=36).contains(&base) {
        return None;
    }
    let t = trim_space(s);
    let (neg, t) = split_sign(t);
    if t.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in t {
        let d = (b as char).to_digit(36)?;
        if d >= base {
            return None;
        }
        n = n.wrapping_mul(base as u64).wrapping_add(d as u64);
    }
    Some(if neg {
        n.wrapping_neg() as i64
    } else {
        n as i64
    })
}

/// `tostring` of a number.
pub fn fmt_number(n: Num) -> Vec<u8> {
    match n {
        Num::Int(i) => fmt_int(i),
        Num::Float(f) => fmt_float(f),
    }
}

/// `tostring` of an integer: plain decimal.
pub fn fmt_int(i: i64) -> Vec<u8> {
    i.to_string().into_bytes()
}

/// `tostring` of a float: `%.14g`, plus `.0` when that looks like an integer.
/// Infinities print as `inf`/`-inf`; NaNs as `nan` or `-nan` by their sign bit, as
/// glibc's printf does (`0/0` computed on x86 has the sign bit set: `-nan`).
pub fn fmt_float(x: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    format::write_g(&mut out, x, 14, false, false);
    if out.iter().all(|&b| b == b'-' || b.is_ascii_digit()) {
        out.extend_from_slice(b".0");
    }
    out
}

/// Integer floor division `a // b` (`b != 0`); `mininteger // -1` wraps to
/// `mininteger`.
pub fn int_floor_div(a: i64, b: i64) -> i64 {
    debug_assert!(b != 0);
    if b == -1 {
        return a.wrapping_neg();
    }
    let q = a / b;
    if (a % b != 0) && ((a ^ b) < 0) {
        q - 1
    } else {
        q
    }
}

/// Integer floored modulo `a % b` (`b != 0`); the result has the sign of `b`.
pub fn int_mod(a: i64, b: i64) -> i64 {
    debug_assert!(b != 0);
    if b == -1 {
        return 0;
    }
    let m = a % b;
    if m != 0 && (m ^ b) < 0 {
        m + b
    } else {
        m
    }
}

/// Float floor division `a // b`: `floor(a / b)`.
pub fn float_floor_div(a: f64, b: f64) -> f64 {
    (a / b).floor()
}

/// Float modulo `a % b` (`luai_nummod`): C `fmod`, then moved into `b`'s sign when the
/// remainder is nonzero and of the other sign (so `5 % -inf` is `-inf`, `-5 % inf` is
/// `inf`, `x % 0.0` and `inf % y` are NaN).
pub fn float_mod(a: f64, b: f64) -> f64 {
    let m = a % b; // Rust's `%` on f64 is C's fmod
    if (m > 0.0 && b < 0.0) || (m < 0.0 && b > 0.0) {
        m + b
    } else {
        m
    }
}

/// Lua's `a << n`: a logical shift; `n < 0` shifts right; `|n| >= 64` gives 0.
pub fn shift_left(a: i64, n: i64) -> i64 {
    if n <= -64 || n >= 64 {
        0
    } else if n >= 0 {
        ((a as u64) << n) as i64
    } else {
        ((a as u64) >> -n) as i64
    }
}

/// Lua's `a >> n`: a logical shift right (`shift_left(a, -n)`, without overflow on
/// `n = mininteger`).
pub fn shift_right(a: i64, n: i64) -> i64 {
    if n == i64::MIN {
        0
    } else {
        shift_left(a, -n)
    }
}

const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// `x` as an integer if it is integral and in `[-2^63, 2^63)`.
pub fn float_to_int_exact(x: f64) -> Option<i64> {
    if x.floor() == x {
        float_in_range(x)
    } else {
        None
    }
}

fn float_in_range(x: f64) -> Option<i64> {
    if (-TWO_63..TWO_63).contains(&x) {
        Some(x as i64)
    } else {
        None
    }
}

/// `floor(x)` as an integer if it fits (`None` for NaN and out-of-range values).
pub fn float_to_int_floor(x: f64) -> Option<i64> {
    float_in_range(x.floor())
}

/// `ceil(x)` as an integer if it fits (`None` for NaN and out-of-range values).
pub fn float_to_int_ceil(x: f64) -> Option<i64> {
    float_in_range(x.ceil())
}

/// Lua's `a ^ b` on floats: C `pow` (with `b == 2` computed as `a * a`, as Lua does).
pub fn pow(a: f64, b: f64) -> f64 {
    if b == 2.0 {
        a * a
    } else {
        a.powf(b)
    }
}

/// `i < f`, exact.
fn lt_int_float(i: i64, f: f64) -> bool {
    if f.is_nan() {
        false
    } else if f >= TWO_63 {
        true
    } else if f > -TWO_63 {
        // ceil(f) is in range here
        i < f.ceil() as i64
    } else {
        false
    }
}

/// `i <= f`, exact.
fn le_int_float(i: i64, f: f64) -> bool {
    if f.is_nan() {
        false
    } else if f >= TWO_63 {
        true
    } else if f >= -TWO_63 {
        i <= f.floor() as i64
    } else {
        false
    }
}

/// `f < i`, exact.
fn lt_float_int(f: f64, i: i64) -> bool {
    if f.is_nan() || f >= TWO_63 {
        false
    } else if f >= -TWO_63 {
        (f.floor() as i64) < i
    } else {
        true
    }
}

/// `f <= i`, exact.
fn le_float_int(f: f64, i: i64) -> bool {
    if f.is_nan() || f >= TWO_63 {
        false
    } else if f > -TWO_63 {
        (f.ceil() as i64) <= i
    } else {
        true
    }
}

/// `a < b` on Lua numbers, exact for every integer/float mix.
pub fn lt_num(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x < y,
        (Num::Float(x), Num::Float(y)) => x < y,
        (Num::Int(x), Num::Float(y)) => lt_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => lt_float_int(x, y),
    }
}

/// `a <= b` on Lua numbers, exact for every integer/float mix.
pub fn le_num(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x <= y,
        (Num::Float(x), Num::Float(y)) => x <= y,
        (Num::Int(x), Num::Float(y)) => le_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => le_float_int(x, y),
    }
}

/// `a == b` on Lua numbers, exact for every integer/float mix.
pub fn eq_num(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x == y,
        (Num::Float(x), Num::Float(y)) => x == y,
        (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
            float_to_int_exact(f) == Some(i)
        }
    }
}

/// A prepared numeric `for` loop (`forprep` in Lua 5.4's `lvm.c`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ForLoop {
    /// The body does not run at all.
    Skip,
    /// An integer loop: the control variable starts at `start` and the body runs
    /// `count + 1` times, adding `step` (wrapping) between iterations.
    Int {
        /// The first value of the control variable.
        start: i64,
        /// The increment (never 0).
        step: i64,
        /// Iterations after the first one (unsigned, as in `lvm.c`).
        count: u64,
    },
    /// A float loop: the body runs with `start`, then continues while
    /// [`float_for_next`] gives a next value.
    Float {
        /// The first value of the control variable.
        start: f64,
        /// The limit.
        limit: f64,
        /// The increment (never 0).
        step: f64,
    },
}

/// The error Lua raises for a zero `for` step.
pub const FOR_STEP_ZERO: &str = "'for' step is zero";

/// Lua's `forlimit`: the integer limit of an integer loop, or `None` to skip it.
fn for_limit(init: i64, limit: Num, step: i64) -> Option<i64> {
    let lim = match limit {
        Num::Int(l) => l,
        Num::Float(f) => {
            let conv = if step < 0 {
                float_to_int_ceil(f)
            } else {
                float_to_int_floor(f)
            };
            match conv {
                Some(l) => l,
                // out of range or NaN: NaN counts as "not positive", like lvm.c
                None if f > 0.0 => {
                    if step < 0 {
                        return None;
                    }
                    i64::MAX
                }
                None => {
                    if step > 0 {
                        return None;
                    }
                    i64::MIN
                }
            }
        }
    };
    let skip = if step > 0 { init > lim } else { init < lim };
    if skip {
        None
    } else {
        Some(lim)
    }
}

/// Lua 5.4's `forprep`: decides between an integer loop (`start` and `step` both
/// integers; a float limit is floored or ceiled and clipped) and a float loop, and
/// whether the body runs at all. Errors with [`FOR_STEP_ZERO`] for a zero step.
/// (Coercing strings and the "'for' initial value must be a number" errors are the
/// caller's.) Note that, exactly as in `lua5.4`, a NaN limit skips an ascending
/// integer loop but lets a descending one run down towards `mininteger`, and a float
/// loop with a NaN limit runs once.
pub fn for_prep(start: Num, limit: Num, step: Num) -> Result<ForLoop, &'static str> {
    if let (Num::Int(init), Num::Int(step)) = (start, step) {
        if step == 0 {
            return Err(FOR_STEP_ZERO);
        }
        let Some(lim) = for_limit(init, limit, step) else {
            return Ok(ForLoop::Skip);
        };
        let count = if step > 0 {
            let c = (lim as u64).wrapping_sub(init as u64);
            if step != 1 {
                c / step as u64
            } else {
                c
            }
        } else {
            let c = (init as u64).wrapping_sub(lim as u64);
            // step + 1 avoids negating mininteger
            c / ((-(step + 1)) as u64 + 1)
        };
        return Ok(ForLoop::Int {
            start: init,
            step,
            count,
        });
    }
    let (init, limit, step) = (start.to_f64(), limit.to_f64(), step.to_f64());
    if step == 0.0 {
        return Err(FOR_STEP_ZERO);
    }
    let skip = if 0.0 < step {
        limit < init
    } else {
        init < limit
    };
    if skip {
        Ok(ForLoop::Skip)
    } else {
        Ok(ForLoop::Float {
            start: init,
            limit,
            step,
        })
    }
}

/// The next control value of a float `for` loop (`floatforloop`): `idx + step` if the
/// loop goes on, `None` when it ends.
pub fn float_for_next(idx: f64, limit: f64, step: f64) -> Option<f64> {
    let next = idx + step;
    let go = if 0.0 < step {
        next <= limit
    } else {
        limit <= next
    };
    if go {
        Some(next)
    } else {
        None
    }
}

/// The next state of an integer `for` loop: `Some((idx + step, count - 1))` while
/// `count > 0`.
pub fn int_for_next(idx: i64, step: i64, count: u64) -> Option<(i64, u64)> {
    if count > 0 {
        Some((idx.wrapping_add(step), count - 1))
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // literal probe values given to lua5.4
mod tests {
    //! Expected values are `lua5.4` 5.4.4's output (x86-64, glibc).
    //! `testdata/number_cases.txt` comes from `testdata/gen_number_cases.lua`.
    use super::*;

    fn tostr(x: f64) -> String {
        String::from_utf8(fmt_float(x)).unwrap()
    }

    fn tonum(s: &str) -> Option<Num> {
        str_to_number(s.as_bytes())
    }

    fn bits(n: Option<Num>) -> Option<(bool, u64)> {
        n.map(|n| match n {
            Num::Int(i) => (true, i as u64),
            Num::Float(f) => (false, f.to_bits()),
        })
    }

    #[test]
    fn tostring_floats() {
        let nan = f64::NAN;
        assert_eq!(tostr(-nan), "-nan"); // 0/0 on x86
        assert_eq!(tostr(nan), "nan"); // -(0/0)
        assert_eq!(tostr(f64::INFINITY), "inf");
        assert_eq!(tostr(f64::NEG_INFINITY), "-inf");
        let cases: &[(f64, &str)] = &[
            (1e15, "1e+15"),
            (-1e15, "-1e+15"),
            (1e16, "1e+16"),
            (1e14, "1e+14"),
            (123456789012.0, "123456789012.0"),
            (16777216.0, "16777216.0"),
            (9007199254740992.0, "9.007199254741e+15"),
            (9223372036854775808.0, "9.2233720368548e+18"),
            (-9223372036854775808.0, "-9.2233720368548e+18"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (100.0, "100.0"),
            (10.0 / 2.0, "5.0"),
            (1e100, "1e+100"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.33333333333333"),
            (100.0 / 3.0, "33.333333333333"),
            (123456789012345.0, "1.2345678901234e+14"),
            (1234567890123456.0, "1.2345678901235e+15"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (12.5, "12.5"),
            (-0.5, "-0.5"),
            (3.14159265358979, "3.1415926535898"),
            (5e-324, "4.9406564584125e-324"),
            (1.5e-323, "1.4821969375237e-323"),
            (0.1 + 0.2, "0.3"),
            (12345678901234567890.0, "1.2345678901235e+19"),
        ];
        for &(x, want) in cases {
            assert_eq!(tostr(x), want, "tostring({x:e})");
        }
        assert_eq!(fmt_number(Num::Int(i64::MIN)), b"-9223372036854775808");
        assert_eq!(fmt_number(Num::Int(42)), b"42");
        assert_eq!(fmt_number(Num::Float(42.0)), b"42.0");
    }

    #[test]
    fn tonumber_strings() {
        use Num::{Float as F, Int as I};
        let cases: &[(&str, Option<Num>)] = &[
            ("10", Some(I(10))),
            (" 10 ", Some(I(10))),
            ("+5", Some(I(5))),
            ("-5", Some(I(-5))),
            ("- 5", None),
            ("0x10", Some(I(16))),
            ("0X1f", Some(I(31))),
            ("-0x10", Some(I(-16))),
            ("0xffffffffffffffff", Some(I(-1))),
            ("0x1ffffffffffffffff", Some(I(-1))),
            ("9223372036854775807", Some(I(i64::MAX))),
            ("9223372036854775808", Some(F(9223372036854775808.0))),
            ("-9223372036854775808", Some(I(i64::MIN))),
            ("-9223372036854775809", Some(F(-9223372036854775808.0))),
            ("0x", None),
            ("0x.", None),
            ("0x.8", Some(F(0.5))),
            ("0x1p4", Some(F(16.0))),
            ("0xA.8p-1", Some(F(5.25))),
            ("0x1P+2", Some(F(4.0))),
            ("0x1p", None),
            ("0x1.", Some(F(1.0))),
            ("0x.p1", None),
            (".5", Some(F(0.5))),
            ("5.", Some(F(5.0))),
            (".", None),
            ("1e10", Some(F(1e10))),
            ("1E+2", Some(F(100.0))),
            ("1e", None),
            ("1e+", None),
            ("e1", None),
            ("inf", None),
            ("nan", None),
            ("-inf", None),
            ("infinity", None),
            ("1e400", Some(F(f64::INFINITY))),
            ("-1e400", Some(F(f64::NEG_INFINITY))),
            ("1e-400", Some(F(0.0))),
            ("0x1p-1074", Some(F(5e-324))),
            ("0x1p-1075", Some(F(0.0))),
            ("0x1.8p-1074", Some(F(1e-323))),
            ("\t\n\x0b\x0c\r12\t", Some(I(12))),
            ("1 2", None),
            ("", None),
            (" ", None),
            ("12a", None),
            ("1.5e3", Some(F(1500.0))),
            ("00012", Some(I(12))),
            ("0012.5", Some(F(12.5))),
            ("1__", None),
            ("0x1e", Some(I(30))),
            ("0x1e+1", None),
            ("1.5.5", None),
            ("--1", None),
            ("+-1", None),
            ("0b101", None),
            ("0x123456789abcdef0123", Some(I(5001117282205630755))),
            (".e1", None),
            ("5.e2", Some(F(500.0))),
            ("0x8000000000000000", Some(I(i64::MIN))),
            ("-0x8000000000000000", Some(I(i64::MIN))),
            ("0x7fffffffffffffff", Some(I(i64::MAX))),
            ("1e308", Some(F(1e308))),
            ("1.7976931348623159e308", Some(F(f64::INFINITY))),
            ("0x1.fffffffffffff8p1023", Some(F(f64::INFINITY))),
            ("2.4703282292062327e-324", Some(F(0.0))),
            ("2.4703282292062328e-324", Some(F(5e-324))),
            ("-0", Some(I(0))),
            ("-0.0", Some(F(-0.0))),
            ("0x0p0", Some(F(0.0))),
            ("0x.0000000000001p-1022", Some(F(5e-324))),
            ("0x00000000000000000000000001", Some(I(1))),
            ("0x10000000000000000p0", Some(F(18446744073709551616.0))),
            ("1\0", None),
            ("0x1\0", None),
        ];
        for &(s, want) in cases {
            assert_eq!(bits(tonum(s)), bits(want), "tonumber({s:?})");
        }
    }

    #[test]
    fn hex_float_rounding() {
        // results shown by lua5.4 with %a
        let cases: &[(&str, u64)] = &[
            ("0x1.00000000000018p0", 0x3ff0_0000_0000_0002),
            ("0x1.00000000000008p0", 0x3ff0_0000_0000_0000),
            ("0x1.00000000000008000001p0", 0x3ff0_0000_0000_0001),
            ("0x1.fffffffffffff8p0", 0x4000_0000_0000_0000),
            ("0x1.fffffffffffff7ffp-1022", 0x001f_ffff_ffff_ffff),
            ("0x0.fffffffffffff8p-1022", 0x0010_0000_0000_0000),
            ("0x0.00000000000008p-1022", 0),
            ("0x0.000000000000080001p-1022", 1),
            ("0x0.000000000000018p-1022", 0),
            ("0x1p-1080", 0),
            ("0x1p1023", 0x7fe0_0000_0000_0000),
            ("0x1p1024", 0x7ff0_0000_0000_0000),
            ("0x.1p1028", 0x7ff0_0000_0000_0000),
            ("0x123p-99999999999999999999", 0),
            ("0x1p99999999999999999999", 0x7ff0_0000_0000_0000),
            ("0x0p99999999999999999999", 0),
        ];
        for &(s, want) in cases {
            assert_eq!(bits(tonum(s)), Some((false, want)), "tonumber({s:?})");
        }
        let long = format!("0x{}1p-3", "0".repeat(100));
        assert_eq!(tonum(&long), Some(Num::Float(0.125)));
        let long = format!("0x.{}1p1200", "0".repeat(300));
        assert_eq!(tonum(&long), Some(Num::Float(0.0625)));
        let ones = format!("0x{}p-1200", "f".repeat(300));
        assert_eq!(tonum(&ones), Some(Num::Float(1.0)));
        let dec = format!("1{}", "0".repeat(400));
        assert_eq!(tonum(&dec), Some(Num::Float(f64::INFINITY)));
    }

    #[test]
    fn number_cases_file() {
        let data = include_str!("testdata/number_cases.txt");
        let mut n = 0;
        for line in data.lines() {
            let mut parts = line.splitn(3, '\t');
            let (kind, input, want) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            if kind == "tostring" {
                let x = f64::from_bits(u64::from_str_radix(input, 16).unwrap());
                assert_eq!(tostr(x), want, "tostring of bits {input}");
            } else {
                let want = match want.split_once(':') {
                    None => None,
                    Some(("i", v)) => Some((true, v.parse::<i64>().unwrap() as u64)),
                    Some((_, v)) => Some((false, u64::from_str_radix(v, 16).unwrap())),
                };
                assert_eq!(bits(tonum(input)), want, "tonumber({input:?})");
            }
            n += 1;
        }
        assert!(n > 2000);
    }

    #[test]
    fn tonumber_with_base() {
        let b = |s: &str, base| str_to_int_base(s.as_bytes(), base);
        assert_eq!(b("10", 2), Some(2));
        assert_eq!(b("ff", 16), Some(255));
        assert_eq!(b("FF", 16), Some(255));
        assert_eq!(b("zz", 36), Some(1295));
        assert_eq!(b(" -101 ", 2), Some(-5));
        assert_eq!(b("+7", 8), Some(7));
        assert_eq!(b("8", 8), None);
        assert_eq!(b("", 10), None);
        assert_eq!(b(" ", 10), None);
        assert_eq!(b("-", 10), None);
        assert_eq!(b("1 0", 10), None);
        assert_eq!(b("7fffffffffffffff", 16), Some(i64::MAX));
        assert_eq!(b("8000000000000000", 16), Some(i64::MIN));
        assert_eq!(b("ffffffffffffffffff", 16), Some(-1));
        assert_eq!(b("1.5", 10), None);
        assert_eq!(b("0x10", 16), None);
        assert_eq!(b("10\0", 10), None);
        assert_eq!(b("99999999999999999999", 10), Some(7766279631452241919));
        assert_eq!(b("-zz", 36), Some(-1295));
        assert_eq!(b("\t12\n", 10), Some(12));
        assert_eq!(b("12", 37), None);
    }

    #[test]
    fn integer_division_and_modulo() {
        // 7 // 2, -7 // 2, 7 // -2, -7 // -2, mininteger // -1
        assert_eq!(int_floor_div(7, 2), 3);
        assert_eq!(int_floor_div(-7, 2), -4);
        assert_eq!(int_floor_div(7, -2), -4);
        assert_eq!(int_floor_div(-7, -2), 3);
        assert_eq!(int_floor_div(i64::MIN, -1), i64::MIN);
        assert_eq!(int_floor_div(6, 3), 2);
        assert_eq!(int_floor_div(-6, 3), -2);
        // mininteger % -1, 7 % -3, -7 % 3, -7 % -3, 0 % 5
        assert_eq!(int_mod(i64::MIN, -1), 0);
        assert_eq!(int_mod(7, -3), -2);
        assert_eq!(int_mod(-7, 3), 2);
        assert_eq!(int_mod(-7, -3), -1);
        assert_eq!(int_mod(0, 5), 0);
        assert_eq!(int_mod(i64::MIN, i64::MAX), i64::MAX - 1);
    }

    #[test]
    fn float_division_and_modulo() {
        let s = |x: f64| tostr(x);
        // 7.5 // 2, -7.5 // 2, 1 // 0.0, -1 // 0.0, (0/0) // 1
        assert_eq!(s(float_floor_div(7.5, 2.0)), "3.0");
        assert_eq!(s(float_floor_div(-7.5, 2.0)), "-4.0");
        assert_eq!(s(float_floor_div(1.0, 0.0)), "inf");
        assert_eq!(s(float_floor_div(-1.0, 0.0)), "-inf");
        // black_box: computed at run time as Lua does (constant folding may drop the sign).
        let (nan, one) = (std::hint::black_box(-f64::NAN), std::hint::black_box(1.0));
        assert_eq!(s(float_floor_div(nan, one)), "-nan");
        let inf = f64::INFINITY;
        // 5.5 % -2, -5.5 % 2, -5.5 % -2, 5 % huge, -5 % huge, 5 % -huge, -5 % -huge
        assert_eq!(s(float_mod(5.5, -2.0)), "-0.5");
        assert_eq!(s(float_mod(-5.5, 2.0)), "0.5");
        assert_eq!(s(float_mod(-5.5, -2.0)), "-1.5");
        assert_eq!(s(float_mod(5.0, inf)), "5.0");
        assert_eq!(s(float_mod(-5.0, inf)), "inf");
        assert_eq!(s(float_mod(5.0, -inf)), "-inf");
        assert_eq!(s(float_mod(-5.0, -inf)), "-5.0");
        // huge % 2, 5 % 0.0 (glibc's fmod gives the negative default NaN)
        assert_eq!(s(float_mod(std::hint::black_box(inf), 2.0)), "-nan");
        assert_eq!(s(float_mod(std::hint::black_box(5.0), 0.0)), "-nan");
        // -0.0 % 2, 0.0 % -2, 1e308 % 1e-308
        assert_eq!(s(float_mod(-0.0, 2.0)), "-0.0");
        assert_eq!(s(float_mod(0.0, -2.0)), "0.0");
        assert_eq!(s(float_mod(1e308, 1e-308)), "3.4984455462456e-309");
    }

    #[test]
    fn shifts() {
        // 1 << 63, 1 << 64, 1 << -1, -1 >> 1, -1 >> 63, -1 >> 64, -1 << -64, 3 >> -2,
        // 1 << mininteger, 1 >> mininteger
        assert_eq!(shift_left(1, 63), i64::MIN);
        assert_eq!(shift_left(1, 64), 0);
        assert_eq!(shift_left(1, -1), 0);
        assert_eq!(shift_right(-1, 1), i64::MAX);
        assert_eq!(shift_right(-1, 63), 1);
        assert_eq!(shift_right(-1, 64), 0);
        assert_eq!(shift_left(-1, -64), 0);
        assert_eq!(shift_right(3, -2), 12);
        assert_eq!(shift_left(1, i64::MIN), 0);
        assert_eq!(shift_right(1, i64::MIN), 0);
        assert_eq!(shift_right(i64::MIN, i64::MAX), 0);
    }

    #[test]
    fn powers() {
        // 2^0.5, 2^-1, (-8)^(1/3), 0^0, 0^-1, (-2)^2, (-0.0)^-1, huge^0, nan^0, 1^nan
        assert_eq!(tostr(pow(2.0, 0.5)), "1.4142135623731");
        assert_eq!(tostr(pow(2.0, -1.0)), "0.5");
        assert_eq!(tostr(pow(std::hint::black_box(-8.0), 1.0 / 3.0)), "-nan");
        assert_eq!(tostr(pow(0.0, 0.0)), "1.0");
        assert_eq!(tostr(pow(0.0, -1.0)), "inf");
        assert_eq!(tostr(pow(-2.0, 2.0)), "4.0");
        assert_eq!(tostr(pow(-0.0, -1.0)), "-inf");
        assert_eq!(tostr(pow(f64::INFINITY, 0.0)), "1.0");
        assert_eq!(tostr(pow(f64::NAN, 0.0)), "1.0");
        assert_eq!(tostr(pow(1.0, f64::NAN)), "1.0");
        assert_eq!(pow(3.0, 2.0), 9.0);
    }

    #[test]
    fn float_to_int_conversions() {
        assert_eq!(float_to_int_exact(3.0), Some(3));
        assert_eq!(float_to_int_exact(-0.0), Some(0));
        assert_eq!(float_to_int_exact(3.5), None);
        assert_eq!(float_to_int_exact(-9223372036854775808.0), Some(i64::MIN));
        assert_eq!(float_to_int_exact(9223372036854775808.0), None);
        assert_eq!(float_to_int_exact(f64::NAN), None);
        assert_eq!(float_to_int_exact(f64::INFINITY), None);
        assert_eq!(float_to_int_floor(-1.5), Some(-2));
        assert_eq!(float_to_int_ceil(-1.5), Some(-1));
        assert_eq!(float_to_int_floor(1e100), None);
        assert_eq!(float_to_int_ceil(-9223372036854777856.0), None);
        assert_eq!(Num::Float(2.0).to_int_exact(), Some(2));
    }

    #[test]
    fn mixed_comparisons() {
        use Num::{Float as F, Int as I};
        let two63 = F(9223372036854775808.0);
        let two53 = 9007199254740992.0;
        // math.maxinteger < 2^63, maxinteger + 0.0 == 2^63, maxinteger == 2^63
        assert!(lt_num(I(i64::MAX), two63));
        assert!(eq_num(F(i64::MAX as f64), two63));
        assert!(!eq_num(I(i64::MAX), two63));
        // 2^53 == 2^53 + 1 (floats), 2^53 + 1 == (2^53|0) + 1, (2^53|0)+1 < 2^53+1.0
        assert!(eq_num(F(two53), F(two53 + 1.0)));
        assert!(!eq_num(F(two53 + 1.0), I((1 << 53) + 1)));
        assert!(!lt_num(I((1 << 53) + 1), F(two53 + 1.0)));
        // mininteger == -2^63, mininteger < -2^63, mininteger <= -2^63
        assert!(eq_num(I(i64::MIN), F(-9223372036854775808.0)));
        assert!(!lt_num(I(i64::MIN), F(-9223372036854775808.0)));
        assert!(le_num(I(i64::MIN), F(-9223372036854775808.0)));
        // 1 < nan, 1 >= nan, nan == nan
        assert!(!lt_num(I(1), F(f64::NAN)));
        assert!(!le_num(F(f64::NAN), I(1)));
        assert!(!eq_num(F(f64::NAN), F(f64::NAN)));
        // 1 < 1.5, 2 <= 1.5, -1 < -0.5, maxinteger <= 2^63, maxinteger >= 2^63 - 1024
        assert!(lt_num(I(1), F(1.5)));
        assert!(!le_num(I(2), F(1.5)));
        assert!(lt_num(I(-1), F(-0.5)));
        assert!(le_num(I(i64::MAX), two63));
        assert!(le_num(F(9223372036854774784.0), I(i64::MAX)));
        // mininteger > -inf; 9007199254740993 vs 9007199254740992.0
        assert!(lt_num(F(f64::NEG_INFINITY), I(i64::MIN)));
        assert!(!lt_num(I(9007199254740993), F(two53)));
        assert!(lt_num(F(two53), I(9007199254740993)));
        assert!(!eq_num(I(9007199254740993), F(two53)));
        // 1.5 < 2, 2^63 > maxinteger, -2^63 >= mininteger, -2^63 > mininteger
        assert!(lt_num(F(1.5), I(2)));
        assert!(lt_num(I(i64::MAX), two63));
        assert!(le_num(I(i64::MIN), F(-9223372036854775808.0)));
        assert!(!lt_num(I(i64::MIN), F(-9223372036854775808.0)));
        assert!(le_num(F(-1e300), I(i64::MIN)));
        assert!(!le_num(F(1e300), I(i64::MAX)));
        assert!(le_num(I(3), F(3.0)) && le_num(F(3.0), I(3)) && !lt_num(F(3.0), I(3)));
        assert!(lt_num(F(2.5), I(3)) && !lt_num(F(3.5), I(3)) && le_num(F(-3.5), I(-3)));
    }

    /// Runs a prepared loop like the VM would, at most 6 iterations:
    /// (iterations, first value, last value), as `q6.lua`-style probes printed.
    fn run_for(l: ForLoop) -> (usize, Option<Num>, Option<Num>) {
        let mut seen = Vec::new();
        match l {
            ForLoop::Skip => {}
            ForLoop::Int { start, step, count } => {
                let (mut i, mut c) = (start, count);
                loop {
                    seen.push(Num::Int(i));
                    if seen.len() > 5 {
                        break;
                    }
                    match int_for_next(i, step, c) {
                        Some((ni, nc)) => (i, c) = (ni, nc),
                        None => break,
                    }
                }
            }
            ForLoop::Float { start, limit, step } => {
                let mut x = start;
                loop {
                    seen.push(Num::Float(x));
                    if seen.len() > 5 {
                        break;
                    }
                    match float_for_next(x, limit, step) {
                        Some(nx) => x = nx,
                        None => break,
                    }
                }
            }
        }
        (seen.len(), seen.first().copied(), seen.last().copied())
    }

    #[test]
    fn numeric_for() {
        use Num::{Float as F, Int as I};
        let nan = F(f64::NAN);
        let r = |a, b, c| run_for(for_prep(a, b, c).unwrap());
        assert_eq!(r(I(1), nan, I(1)), (0, None, None));
        assert_eq!(r(I(1), nan, I(-1)), (6, Some(I(1)), Some(I(-4))));
        assert_eq!(r(F(1.0), nan, I(1)).0, 1);
        assert_eq!(r(I(1), nan, F(1.0)), (1, Some(F(1.0)), Some(F(1.0))));
        assert_eq!(r(I(1), F(1.5), I(1)), (1, Some(I(1)), Some(I(1))));
        assert_eq!(r(I(1), F(-1.5), I(-1)), (3, Some(I(1)), Some(I(-1))));
        assert_eq!(r(I(1), F(1e100), I(1)), (6, Some(I(1)), Some(I(6))));
        assert_eq!(r(I(1), F(-1e100), I(1)), (0, None, None));
        assert_eq!(r(I(1), F(-1e100), I(-1)), (6, Some(I(1)), Some(I(-4))));
        assert_eq!(r(I(1), F(1e100), I(-1)), (0, None, None));
        assert_eq!(
            r(I(i64::MAX - 2), I(i64::MAX), I(1)),
            (3, Some(I(i64::MAX - 2)), Some(I(i64::MAX)))
        );
        assert_eq!(
            r(I(i64::MIN + 2), I(i64::MIN), I(-1)),
            (3, Some(I(i64::MIN + 2)), Some(I(i64::MIN)))
        );
        assert_eq!(
            r(I(i64::MIN), I(i64::MAX), I(i64::MAX)),
            (3, Some(I(i64::MIN)), Some(I(i64::MAX - 1)))
        );
        assert_eq!(
            r(I(i64::MAX), I(i64::MIN), I(i64::MIN)),
            (2, Some(I(i64::MAX)), Some(I(-1)))
        );
        assert_eq!(r(I(1), F(f64::INFINITY), I(1)), (6, Some(I(1)), Some(I(6))));
        assert_eq!(
            r(I(1), F(f64::NEG_INFINITY), I(-1)),
            (6, Some(I(1)), Some(I(-4)))
        );
        assert_eq!(r(I(3), I(1), I(1)), (0, None, None));
        assert_eq!(r(I(1), I(3), I(-1)), (0, None, None));
        assert_eq!(r(F(1.0), I(3), I(1)), (3, Some(F(1.0)), Some(F(3.0))));
        assert_eq!(r(I(1), F(3.5), F(0.5)), (6, Some(F(1.0)), Some(F(3.5))));
        assert_eq!(
            r(F(0.1), F(0.35), F(0.1)),
            (3, Some(F(0.1)), Some(F(0.30000000000000004)))
        );
        assert_eq!(
            r(I(1), F(9223372036854775808.0), I(1)),
            (6, Some(I(1)), Some(I(6)))
        );
        assert_eq!(
            r(I(-1), F(-9223372036854775808.0), I(-1)),
            (6, Some(I(-1)), Some(I(-6)))
        );
        assert_eq!(
            r(I(5), F(9223372036854775808.0), I(1 << 62)),
            (2, Some(I(5)), Some(I(4611686018427387909)))
        );
        assert_eq!(for_prep(I(1), I(10), I(0)), Err("'for' step is zero"));
        assert_eq!(for_prep(F(1.0), I(10), F(0.0)), Err("'for' step is zero"));
        assert_eq!(for_prep(I(1), nan, I(0)), Err("'for' step is zero"));
        assert_eq!(
            for_prep(I(1), I(10), I(3)),
            Ok(ForLoop::Int {
                start: 1,
                step: 3,
                count: 3
            })
        );
        assert_eq!(
            for_prep(I(10), I(1), I(-3)),
            Ok(ForLoop::Int {
                start: 10,
                step: -3,
                count: 3
            })
        );
        assert_eq!(
            for_prep(I(i64::MIN), I(i64::MAX), I(1)),
            Ok(ForLoop::Int {
                start: i64::MIN,
                step: 1,
                count: u64::MAX
            })
        );
    }
}
