//! `string.format` as in Lua 5.4.4's `lstrlib.c`, with the C `printf` conversions
//! reimplemented to match glibc byte for byte.
//!
//! The entry point is [`format()`]. It walks the format string, checks each conversion
//! specification the way `lstrlib.c` does (flags allowed per conversion, at most two
//! digits of width and of precision) and asks a callback for each argument, saying
//! which kind of value the conversion needs ([`Conv`]). The callback is where the VM
//! coerces its values and raises its own argument errors (`number expected, got nil`,
//! `number has no integer representation`, `value has no literal form`); this module
//! raises the errors that only depend on the format string, in the same order as
//! `lua5.4` does.
//!
//! Decimal digits come from Rust's float formatting (`{:.*e}` / `{:.*}`), which is exact
//! and rounds ties to even on the exact binary value, like glibc; everything around
//! the digits (`%g` style selection, trailing-zero removal, exponent spelling, flags,
//! padding, `%a`) is done here.

use std::borrow::Cow;
use std::fmt;

use super::number::{float_to_int_exact, fmt_float};

/// What a conversion needs from its argument; passed to the [`format()`] callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// `%d %i %u %c %o %x %X`: a number with an integer representation
    /// (`luaL_checkinteger`). Answer with [`FmtArg::Int`] (an integral
    /// [`FmtArg::Float`] is accepted too).
    Int,
    /// `%a %A %e %E %f %g %G`: any number (`luaL_checknumber`). Answer with
    /// [`FmtArg::Float`] or [`FmtArg::Int`].
    Float,
    /// `%s`: the value converted with `tostring` (`luaL_tolstring`, metamethods
    /// included). Answer with [`FmtArg::Str`] (numbers are accepted and converted here).
    Str,
    /// `%q`: strings as [`FmtArg::Str`], integers as [`FmtArg::Int`], floats as
    /// [`FmtArg::Float`], `nil`/`true`/`false` as [`FmtArg::Literal`] of their name;
    /// anything else is the callback's error `value has no literal form`.
    Quoted,
    /// `%p`: the value's address (`lua_topointer`). Answer with [`FmtArg::Pointer`]
    /// (0 for values without one: numbers, booleans, nil).
    Pointer,
}

/// An argument as delivered by the [`format()`] callback.
#[derive(Clone, Debug, PartialEq)]
pub enum FmtArg<'a> {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (for `%s`, already converted by `tostring`; for `%q`, to be quoted).
    Str(Cow<'a, [u8]>),
    /// Text copied verbatim by `%q` (the spelling of `nil`, `true`, `false`).
    Literal(Cow<'a, [u8]>),
    /// An address for `%p` (0 prints `(null)`).
    Pointer(usize),
}

/// An error of [`format()`]. `arg` numbers are Lua argument positions: the format
/// string is argument 1, the first value argument 2.
#[derive(Clone, Debug, PartialEq)]
pub enum FormatError<E> {
    /// The callback failed (the VM's own argument error).
    Arg(E),
    /// A conversion has no argument left: `bad argument #arg to 'format' (no value)`.
    NoValue {
        /// The missing argument's position.
        arg: usize,
    },
    /// `%s` with modifiers on a string containing a NUL byte:
    /// `bad argument #arg to 'format' (string contains zeros)`.
    StringContainsZeros {
        /// The argument's position.
        arg: usize,
    },
    /// The callback answered with a value the conversion cannot use (a glue bug, or
    /// a non-integral float for an integer conversion):
    /// `bad argument #arg to 'format' (number has no integer representation)`.
    Mismatch {
        /// The argument's position.
        arg: usize,
    },
    /// Unknown conversion letter: `invalid conversion '<spec>' to 'format'`.
    InvalidConversion(Vec<u8>),
    /// Flags, width or precision not allowed for the conversion:
    /// `invalid conversion specification: '<spec>'`.
    InvalidSpec(Vec<u8>),
    /// More than 20 flag/width/precision characters: `invalid format (too long)`.
    TooLong,
    /// `%q` with flags, width or precision: `specifier '%q' cannot have modifiers`.
    QuotedModifiers,
}

impl<E: fmt::Display> fmt::Display for FormatError<E> {
    /// The message `lua5.4` gives, naming the function `format` in argument errors
    /// (the VM may prefer to build those itself, e.g. as `'string.format'`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Arg(e) => write!(f, "{e}"),
            FormatError::NoValue { arg } => write!(f, "bad argument #{arg} to 'format' (no value)"),
            FormatError::StringContainsZeros { arg } => {
                write!(f, "bad argument #{arg} to 'format' (string contains zeros)")
            }
            FormatError::Mismatch { arg } => {
                write!(
                    f,
                    "bad argument #{arg} to 'format' (number has no integer representation)"
                )
            }
            FormatError::InvalidConversion(s) => {
                write!(
                    f,
                    "invalid conversion '{}' to 'format'",
                    String::from_utf8_lossy(s)
                )
            }
            FormatError::InvalidSpec(s) => {
                write!(
                    f,
                    "invalid conversion specification: '{}'",
                    String::from_utf8_lossy(s)
                )
            }
            FormatError::TooLong => write!(f, "invalid format (too long)"),
            FormatError::QuotedModifiers => write!(f, "specifier '%q' cannot have modifiers"),
        }
    }
}

/// A parsed conversion specification (flags, width, precision) of C's printf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    /// `-`: pad on the right.
    pub left: bool,
    /// `+`: always print a sign.
    pub plus: bool,
    /// ` `: a space where a `+` would go.
    pub space: bool,
    /// `#`: the alternative form.
    pub alt: bool,
    /// `0`: pad numbers with zeros.
    pub zero: bool,
    /// Minimum field width.
    pub width: usize,
    /// Precision, if given (`.` alone means 0).
    pub prec: Option<usize>,
}

impl Spec {
    /// Parse `flags* width? (. prec?)?` (what follows the `%` and precedes the
    /// conversion letter); no limits are checked.
    pub fn parse(s: &[u8]) -> Spec {
        let mut sp = Spec::default();
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'-' => sp.left = true,
                b'+' => sp.plus = true,
                b' ' => sp.space = true,
                b'#' => sp.alt = true,
                b'0' => sp.zero = true,
                _ => break,
            }
            i += 1;
        }
        while i < s.len() && s[i].is_ascii_digit() {
            sp.width = sp
                .width
                .saturating_mul(10)
                .saturating_add((s[i] - b'0') as usize);
            i += 1;
        }
        if i < s.len() && s[i] == b'.' {
            i += 1;
            let mut p = 0usize;
            while i < s.len() && s[i].is_ascii_digit() {
                p = p.saturating_mul(10).saturating_add((s[i] - b'0') as usize);
                i += 1;
            }
            sp.prec = Some(p);
        }
        sp
    }
}

const FLAGS_FLOAT: &[u8] = b"-+ #0";
const FLAGS_HEXOCT: &[u8] = b"-#0";
const FLAGS_INT: &[u8] = b"-+ 0";
const FLAGS_UNSIGNED: &[u8] = b"-0";
const FLAGS_CHAR: &[u8] = b"-";

/// Longest run of flag/width/precision characters `lstrlib.c` accepts (its
/// `MAX_FORMAT - 10` limit, 22, counts the conversion letter too).
const MAX_SPEC_CHARS: usize = 20;

/// `lstrlib.c`'s `checkformat`: flags from `flags`, then (unless a `0` follows) up to
/// two width digits and, if allowed, `.` and up to two precision digits; then the
/// conversion letter must come. `form` is the whole `%...X` text.
fn check_spec<E>(form: &[u8], flags: &[u8], precision: bool) -> Result<Spec, FormatError<E>> {
    let body = &form[1..];
    let mut i = body.iter().take_while(|b| flags.contains(b)).count();
    if body.get(i) != Some(&b'0') {
        i += body[i..]
            .iter()
            .take(2)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if precision && body.get(i) == Some(&b'.') {
            i += 1;
            i += body[i..]
                .iter()
                .take(2)
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
    }
    match body.get(i) {
        Some(b) if b.is_ascii_alphabetic() => Ok(Spec::parse(&body[..i])),
        _ => Err(FormatError::InvalidSpec(form.to_vec())),
    }
}

/// `string.format(fmt, ...)`. `nargs` is the number of value arguments after `fmt`;
/// `arg(n, conv)` must deliver Lua argument `n` (2 for the first value after `fmt`)
/// converted for `conv`, or fail with the VM's error. The callback is called once per
/// conversion, in order, and never for a missing argument.
pub fn format<'a, E>(
    fmt: &[u8],
    nargs: usize,
    arg: &mut dyn FnMut(usize, Conv) -> Result<FmtArg<'a>, E>,
) -> Result<Vec<u8>, FormatError<E>> {
    let mut out = Vec::with_capacity(fmt.len() + 16);
    let mut argn = 1usize; // Lua position of the last argument used
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        if fmt.get(i) == Some(&b'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        argn += 1;
        if argn > nargs + 1 {
            return Err(FormatError::NoValue { arg: argn });
        }
        let span = fmt[i..]
            .iter()
            .take_while(|b| b"-+ #0123456789.".contains(b))
            .count();
        if span > MAX_SPEC_CHARS {
            return Err(FormatError::TooLong);
        }
        let conv = fmt.get(i + span).copied().unwrap_or(0);
        // `form` is "%<span><conv>" as C sees it (a NUL conversion ends the string).
        let mut form = Vec::with_capacity(span + 2);
        form.push(b'%');
        form.extend_from_slice(&fmt[i..i + span]);
        if conv != 0 {
            form.push(conv);
        }
        i = (i + span + 1).min(fmt.len());
        match conv {
            b'c' => {
                let spec = check_spec(&form, FLAGS_CHAR, false)?;
                let n = get_int(arg, argn)?;
                pad(&mut out, &spec, b"", &[n as u8], false);
            }
            b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
                let n = get_int(arg, argn)?;
                let flags = match conv {
                    b'd' | b'i' => FLAGS_INT,
                    b'u' => FLAGS_UNSIGNED,
                    _ => FLAGS_HEXOCT,
                };
                let spec = check_spec(&form, flags, true)?;
                write_int(&mut out, n, conv, &spec);
            }
            b'a' | b'A' => {
                let spec = check_spec(&form, FLAGS_FLOAT, true)?;
                let x = get_float(arg, argn)?;
                write_float(&mut out, x, conv, &spec);
            }
            b'e' | b'E' | b'f' | b'g' | b'G' => {
                let x = get_float(arg, argn)?;
                let spec = check_spec(&form, FLAGS_FLOAT, true)?;
                write_float(&mut out, x, conv, &spec);
            }
            b'p' => {
                let p = match arg(argn, Conv::Pointer).map_err(FormatError::Arg)? {
                    FmtArg::Pointer(p) => p,
                    _ => return Err(FormatError::Mismatch { arg: argn }),
                };
                let spec = check_spec(&form, FLAGS_CHAR, false)?;
                if p == 0 {
                    write_str(&mut out, b"(null)", &spec);
                } else {
                    let hex = format!("0x{p:x}");
                    pad(&mut out, &spec, b"", hex.as_bytes(), false);
                }
            }
            b'q' => {
                if form.len() > 2 {
                    return Err(FormatError::QuotedModifiers);
                }
                match arg(argn, Conv::Quoted).map_err(FormatError::Arg)? {
                    FmtArg::Str(s) => write_quoted_str(&mut out, &s),
                    FmtArg::Literal(s) => out.extend_from_slice(&s),
                    FmtArg::Int(n) => write_quoted_int(&mut out, n),
                    FmtArg::Float(x) => write_quoted_float(&mut out, x),
                    FmtArg::Pointer(_) => return Err(FormatError::Mismatch { arg: argn }),
                }
            }
            b's' => {
                let s: Cow<'a, [u8]> = match arg(argn, Conv::Str).map_err(FormatError::Arg)? {
                    FmtArg::Str(s) | FmtArg::Literal(s) => s,
                    FmtArg::Int(n) => Cow::Owned(n.to_string().into_bytes()),
                    FmtArg::Float(x) => Cow::Owned(fmt_float(x)),
                    FmtArg::Pointer(_) => return Err(FormatError::Mismatch { arg: argn }),
                };
                if form.len() == 2 {
                    out.extend_from_slice(&s); // no modifiers: the whole string
                } else {
                    if s.contains(&0) {
                        return Err(FormatError::StringContainsZeros { arg: argn });
                    }
                    let spec = check_spec(&form, FLAGS_CHAR, true)?;
                    if spec.prec.is_none() && s.len() >= 100 {
                        out.extend_from_slice(&s); // too long to be formatted
                    } else {
                        write_str(&mut out, &s, &spec);
                    }
                }
            }
            _ => return Err(FormatError::InvalidConversion(form)),
        }
    }
    Ok(out)
}

fn get_int<'a, E>(
    arg: &mut dyn FnMut(usize, Conv) -> Result<FmtArg<'a>, E>,
    argn: usize,
) -> Result<i64, FormatError<E>> {
    match arg(argn, Conv::Int).map_err(FormatError::Arg)? {
        FmtArg::Int(n) => Ok(n),
        FmtArg::Float(x) => float_to_int_exact(x).ok_or(FormatError::Mismatch { arg: argn }),
        _ => Err(FormatError::Mismatch { arg: argn }),
    }
}

fn get_float<'a, E>(
    arg: &mut dyn FnMut(usize, Conv) -> Result<FmtArg<'a>, E>,
    argn: usize,
) -> Result<f64, FormatError<E>> {
    match arg(argn, Conv::Float).map_err(FormatError::Arg)? {
        FmtArg::Int(n) => Ok(n as f64),
        FmtArg::Float(x) => Ok(x),
        _ => Err(FormatError::Mismatch { arg: argn }),
    }
}

/// Emit `prefix` + `body` padded to `spec.width`: spaces on the left (or on the right
/// with `-`), or zeros between prefix and body when `zeros` (the `0` flag applies).
fn pad(out: &mut Vec<u8>, spec: &Spec, prefix: &[u8], body: &[u8], zeros: bool) {
    let len = prefix.len() + body.len();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
        out.resize(out.len() + fill, b' ');
    } else if zeros {
        out.extend_from_slice(prefix);
        out.resize(out.len() + fill, b'0');
        out.extend_from_slice(body);
    } else {
        out.resize(out.len() + fill, b' ');
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
    }
}

/// `%s` with width and precision (precision truncates).
pub fn write_str(out: &mut Vec<u8>, s: &[u8], spec: &Spec) {
    let s = match spec.prec {
        Some(p) if p < s.len() => &s[..p],
        _ => s,
    };
    pad(out, spec, b"", s, false);
}

/// C's `%d %i %u %o %x %X` of a 64-bit integer (`%u %o %x %X` see it as unsigned).
pub fn write_int(out: &mut Vec<u8>, n: i64, conv: u8, spec: &Spec) {
    let mut sign: &[u8] = b"";
    let magnitude: u64 = match conv {
        b'd' | b'i' => {
            if n < 0 {
                sign = b"-";
            } else if spec.plus {
                sign = b"+";
            } else if spec.space {
                sign = b" ";
            }
            n.unsigned_abs()
        }
        _ => n as u64,
    };
    let mut digits = match conv {
        b'o' => format!("{magnitude:o}"),
        b'x' => format!("{magnitude:x}"),
        b'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    }
    .into_bytes();
    if spec.prec == Some(0) && magnitude == 0 {
        digits.clear();
    }
    if let Some(p) = spec.prec {
        if digits.len() < p {
            let mut z = vec![b'0'; p - digits.len()];
            z.extend_from_slice(&digits);
            digits = z;
        }
    }
    let mut prefix: &[u8] = sign;
    if spec.alt {
        match conv {
            b'o' if digits.first() != Some(&b'0') => digits.insert(0, b'0'),
            b'x' if magnitude != 0 => prefix = b"0x",
            b'X' if magnitude != 0 => prefix = b"0X",
            _ => {}
        }
    }
    pad(out, spec, prefix, &digits, spec.zero && spec.prec.is_none());
}

/// C's `%a %A %e %E %f %F %g %G` of a double, glibc style (`inf`, `-nan`, ...).
pub fn write_float(out: &mut Vec<u8>, x: f64, conv: u8, spec: &Spec) {
    let upper = conv.is_ascii_uppercase();
    let sign: &[u8] = if x.is_sign_negative() {
        b"-"
    } else if spec.plus {
        b"+"
    } else if spec.space {
        b" "
    } else {
        b""
    };
    if !x.is_finite() {
        let body: &[u8] = match (x.is_nan(), upper) {
            (true, false) => b"nan",
            (true, true) => b"NAN",
            (false, false) => b"inf",
            (false, true) => b"INF",
        };
        pad(out, spec, sign, body, false);
        return;
    }
    let a = x.abs();
    let mut body = Vec::with_capacity(32);
    match conv.to_ascii_lowercase() {
        b'e' => e_style(&mut body, a, spec.prec.unwrap_or(6), spec.alt, upper),
        b'f' => f_style(&mut body, a, spec.prec.unwrap_or(6), spec.alt),
        b'g' => g_style(&mut body, a, spec.prec.unwrap_or(6), spec.alt, upper),
        _ => {
            // %a: "0x" goes into the prefix so that zero padding comes after it
            let mut prefix = sign.to_vec();
            prefix.extend_from_slice(if upper { b"0X" } else { b"0x" });
            hex_body(&mut body, a, spec.prec, spec.alt, upper);
            pad(out, spec, &prefix, &body, spec.zero);
            return;
        }
    }
    pad(out, spec, sign, &body, spec.zero);
}

/// Write `%.<prec>g` of `x` without padding (`alt` = `#`, `upper` = `%G`). Used by
/// `tostring` (`%.14g`).
pub fn write_g(out: &mut Vec<u8>, x: f64, prec: usize, alt: bool, upper: bool) {
    let spec = Spec {
        alt,
        prec: Some(prec),
        ..Spec::default()
    };
    write_float(out, x, if upper { b'G' } else { b'g' }, &spec);
}

/// Digits of `a` (finite, non-negative) rounded to `sig >= 1` significant digits, and
/// the decimal exponent of the first one.
fn sci_digits(a: f64, sig: usize) -> (Vec<u8>, i32) {
    let s = format!("{:.*e}", sig - 1, a);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

fn push_exponent(body: &mut Vec<u8>, exp: i32, upper: bool) {
    body.push(if upper { b'E' } else { b'e' });
    body.push(if exp < 0 { b'-' } else { b'+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        body.push(b'0');
    }
    body.extend_from_slice(e.to_string().as_bytes());
}

fn e_style(body: &mut Vec<u8>, a: f64, prec: usize, alt: bool, upper: bool) {
    let (digits, exp) = sci_digits(a, prec + 1);
    body.push(digits[0]);
    if prec > 0 || alt {
        body.push(b'.');
    }
    body.extend_from_slice(&digits[1..]);
    push_exponent(body, exp, upper);
}

fn f_style(body: &mut Vec<u8>, a: f64, prec: usize, alt: bool) {
    body.extend_from_slice(format!("{:.*}", prec, a).as_bytes());
    if prec == 0 && alt {
        body.push(b'.');
    }
}

fn g_style(body: &mut Vec<u8>, a: f64, prec: usize, alt: bool, upper: bool) {
    let p = prec.max(1);
    let (digits, x) = sci_digits(a, p);
    let start = body.len();
    if x < -4 || x >= p as i32 {
        body.push(digits[0]);
        body.push(b'.');
        // glibc quirk: when rounding carried into a new decade (999.5 -> 1e+03) and so
        // switched a fixed-notation choice to exponent notation, it prints no fraction
        // digits: `%#.3g` of 999.5 is "1.e+03", not "1.00e+03".
        let carried = x == p as i32 && exact_exponent(a) == x - 1;
        if !carried {
            body.extend_from_slice(&digits[1..]);
        }
        if !alt {
            strip_fraction_zeros(body, start);
        }
        push_exponent(body, x, upper);
    } else {
        // fixed notation with p - 1 - x decimals: the same p significant digits
        if x < 0 {
            body.extend_from_slice(b"0.");
            body.resize(body.len() + (-x - 1) as usize, b'0');
            body.extend_from_slice(&digits);
        } else {
            let int_len = x as usize + 1;
            body.extend_from_slice(&digits[..int_len]);
            body.push(b'.');
            body.extend_from_slice(&digits[int_len..]);
        }
        if !alt {
            strip_fraction_zeros(body, start);
        }
    }
}

/// The exact decimal exponent of `a > 0`: `floor(log10(a))`. (The shortest
/// round-trip representation never rounds up into the next decade.)
fn exact_exponent(a: f64) -> i32 {
    let s = format!("{a:e}");
    s.split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

/// Remove trailing zeros of the fraction in `body[start..]` and then a bare `.`.
fn strip_fraction_zeros(body: &mut Vec<u8>, start: usize) {
    if !body[start..].contains(&b'.') {
        return;
    }
    while body.last() == Some(&b'0') {
        body.pop();
    }
    if body.last() == Some(&b'.') {
        body.pop();
    }
}

/// glibc's `%a` body after `0x`: `h[.hhh]p±d`. Normal numbers have a leading `1`,
/// subnormals a leading `0` and exponent `-1022`; zero is `0p+0`. Rounding to a
/// precision is to nearest, ties to even, and may carry into the leading digit (`2`).
fn hex_body(body: &mut Vec<u8>, a: f64, prec: Option<usize>, alt: bool, upper: bool) {
    let bits = a.to_bits();
    let biased = (bits >> 52) as i32;
    let mut frac = bits & ((1u64 << 52) - 1);
    let (mut lead, exp) = if biased == 0 {
        (0u64, if frac == 0 { 0 } else { -1022 })
    } else {
        (1u64, biased - 1023)
    };
    let ndigits = match prec {
        Some(p) if p < 13 => {
            let shift = 52 - 4 * p as u32;
            let full = (lead << 52) | frac;
            let rounded = round_half_even(full, shift);
            lead = rounded >> (4 * p as u32);
            frac = (rounded & ((1u64 << (4 * p as u32)) - 1)) << shift;
            p
        }
        Some(p) => p,
        None => {
            let mut n = 13;
            while n > 0 && (frac >> (52 - 4 * n)) & 0xf == 0 {
                n -= 1;
            }
            n
        }
    };
    let hex = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    body.extend_from_slice(lead.to_string().as_bytes());
    if ndigits > 0 || alt {
        body.push(b'.');
    }
    for k in 0..ndigits.min(13) {
        body.push(hex[((frac >> (48 - 4 * k)) & 0xf) as usize]);
    }
    body.resize(body.len() + ndigits.saturating_sub(13), b'0');
    body.push(if upper { b'P' } else { b'p' });
    body.push(if exp < 0 { b'-' } else { b'+' });
    body.extend_from_slice(exp.unsigned_abs().to_string().as_bytes());
}

/// `m >> shift` rounded to nearest, ties to even (`shift` in 1..=52).
fn round_half_even(m: u64, shift: u32) -> u64 {
    let q = m >> shift;
    let rem = m & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// `%q` of a string: `"`-quoted with `\"`, `\\`, backslash-newline, and control
/// characters as decimal escapes (three digits when a digit follows).
pub fn write_quoted_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for (k, &c) in s.iter().enumerate() {
        match c {
            b'"' | b'\\' | b'\n' => {
                out.push(b'\\');
                out.push(c);
            }
            0..=31 | 127 => {
                let next_is_digit = s.get(k + 1).is_some_and(u8::is_ascii_digit);
                if next_is_digit {
                    out.extend_from_slice(format!("\\{c:03}").as_bytes());
                } else {
                    out.extend_from_slice(format!("\\{c}").as_bytes());
                }
            }
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// `%q` of an integer: decimal, but `mininteger` as `0x8000000000000000` (so that it
/// reads back as an integer).
pub fn write_quoted_int(out: &mut Vec<u8>, n: i64) {
    if n == i64::MIN {
        out.extend_from_slice(b"0x8000000000000000");
    } else {
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// `%q` of a float: `1e9999`, `-1e9999`, `(0/0)`, otherwise hexadecimal `%a`.
pub fn write_quoted_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"(0/0)");
    } else if x == f64::INFINITY {
        out.extend_from_slice(b"1e9999");
    } else if x == f64::NEG_INFINITY {
        out.extend_from_slice(b"-1e9999");
    } else {
        write_float(out, x, b'a', &Spec::default());
    }
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // literal probe values given to lua5.4
mod tests {
    //! Every expected string below is `lua5.4` 5.4.4's output (x86-64, glibc).
    //! `testdata/format_cases.txt` holds a cross product of formats and values
    //! produced by `testdata/gen_format_cases.lua` (rerun it with `lua5.4` to bless).
    use super::*;
    use crate::lualib::number::str_to_number;
    use crate::lualib::Num;

    /// A Lua value as a test argument.
    #[derive(Clone, Copy, Debug)]
    enum A {
        I(i64),
        F(f64),
        S(&'static [u8]),
        Nil,
        B(bool),
        Table,
    }
    use A::*;

    /// A stand-in for the VM glue: Lua's coercions and argument errors.
    fn run(fmt: &str, args: &[A]) -> Result<Vec<u8>, String> {
        let mut cb = |n: usize, conv: Conv| -> Result<FmtArg<'static>, String> {
            let a = args[n - 2];
            let bad = |msg: &str| Err(format!("bad argument #{n} to 'format' ({msg})"));
            match (conv, a) {
                (Conv::Int | Conv::Float, I(i)) => Ok(FmtArg::Int(i)),
                (Conv::Int | Conv::Float, F(x)) => Ok(FmtArg::Float(x)),
                (Conv::Int | Conv::Float, S(s)) => match str_to_number(s) {
                    Some(Num::Int(i)) => Ok(FmtArg::Int(i)),
                    Some(Num::Float(x)) => Ok(FmtArg::Float(x)),
                    None => bad("number expected, got string"),
                },
                (Conv::Int | Conv::Float, Nil) => bad("number expected, got nil"),
                (Conv::Int | Conv::Float, _) => bad("number expected, got other"),
                (Conv::Str, I(i)) => Ok(FmtArg::Int(i)),
                (Conv::Str, F(x)) => Ok(FmtArg::Float(x)),
                (Conv::Str | Conv::Quoted, S(s)) => Ok(FmtArg::Str(Cow::Borrowed(s))),
                (Conv::Str | Conv::Quoted, Nil) => Ok(FmtArg::Literal(Cow::Borrowed(b"nil"))),
                (Conv::Str | Conv::Quoted, B(b)) => Ok(FmtArg::Literal(Cow::Borrowed(if b {
                    b"true"
                } else {
                    b"false"
                }))),
                (Conv::Str, Table) => Ok(FmtArg::Str(Cow::Owned(b"table: 0x1".to_vec()))),
                (Conv::Quoted, I(i)) => Ok(FmtArg::Int(i)),
                (Conv::Quoted, F(x)) => Ok(FmtArg::Float(x)),
                (Conv::Quoted, Table) => bad("value has no literal form"),
                (Conv::Pointer, Table) => Ok(FmtArg::Pointer(0x55aa)),
                (Conv::Pointer, _) => Ok(FmtArg::Pointer(0)),
            }
        };
        format(fmt.as_bytes(), args.len(), &mut cb).map_err(|e| e.to_string())
    }

    fn ok(fmt: &str, args: &[A]) -> String {
        String::from_utf8(run(fmt, args).unwrap()).unwrap()
    }

    fn err(fmt: &str, args: &[A]) -> String {
        run(fmt, args).unwrap_err()
    }

    const NAN: f64 = f64::NAN; // sign bit clear: Lua's -(0/0)
    fn neg_nan() -> f64 {
        -f64::NAN // sign bit set: Lua's 0/0 on x86
    }
    const INF: f64 = f64::INFINITY;

    #[test]
    fn plain_text_and_percent() {
        assert_eq!(ok("no args", &[]), "no args");
        assert_eq!(ok("%%", &[]), "%");
        assert_eq!(ok("100%%", &[]), "100%");
        assert_eq!(ok("%5s%%", &[S(b"x")]), "    x%");
        assert_eq!(ok("%s-%s", &[S(b"a"), S(b"b")]), "a-b");
        assert_eq!(ok("%d%s", &[I(1), S(b"x")]), "1x");
        assert_eq!(ok("%d items at %d%%", &[I(5), I(100)]), "5 items at 100%");
    }

    #[test]
    fn integers() {
        let n = I(42);
        assert_eq!(
            ok(
                "[%d] [%5d] [%-5d] [%05d] [%+d] [% d] [%i] [%.3d]",
                &[n, n, n, n, n, n, n, n]
            ),
            "[42] [   42] [42   ] [00042] [+42] [ 42] [42] [042]"
        );
        assert_eq!(
            ok(
                "%d|%5d|%-5d|%05d|%+d|% d|%.3d|%+.3d|%08.3d|%.0d|%+.0d|% .0d|%5.0d|",
                &[
                    I(-7),
                    I(-7),
                    I(-7),
                    I(-7),
                    I(0),
                    I(0),
                    I(-7),
                    I(7),
                    I(-7),
                    I(0),
                    I(0),
                    I(0),
                    I(0)
                ]
            ),
            "-7|   -7|-7   |-0007|+0| 0|-007|+007|    -007||+| |     |"
        );
        assert_eq!(
            ok(
                "%+ d|% +d|%- d|%0-5d|%-05d|",
                &[I(1), I(2), I(3), I(4), I(5)]
            ),
            "+1|+2| 3|4    |5    |"
        );
        assert_eq!(
            ok("%d|%d", &[I(i64::MIN), I(i64::MAX)]),
            "-9223372036854775808|9223372036854775807"
        );
        assert_eq!(
            ok("%0u|%-5u|%u", &[I(1), I(2), I(-1)]),
            "1|2    |18446744073709551615"
        );
        assert_eq!(ok("%i|%5i", &[I(1), I(-3)]), "1|   -3");
        assert_eq!(
            ok("%.0d|%.5d|%8.3d|%-8.3d|", &[I(0), I(42), I(7), I(7)]),
            "|00042|     007|007     |"
        );
        assert_eq!(ok("%07d", &[I(-42)]), "-000042");
        assert_eq!(ok("%d %d %x", &[F(3.0), F(-2.0), F(16.0)]), "3 -2 10");
        assert_eq!(ok("%d", &[S(b"10")]), "10");
        assert_eq!(ok("%x", &[S(b"255")]), "ff");
        assert_eq!(ok("%x", &[F(1099511627776.0)]), "10000000000");
        assert_eq!(
            ok("%d", &[F(-9223372036854775808.0)]),
            "-9223372036854775808"
        );
    }

    #[test]
    fn hex_octal_char() {
        assert_eq!(
            ok("%x %X %x", &[I(-1), I(0xdeadbeef), I(i64::MIN)]),
            "ffffffffffffffff DEADBEEF 8000000000000000"
        );
        assert_eq!(
            ok(
                "%x|%X|%o|%#x|%#o|%.5x|%#.5x|%#10.5o|%-#10x|%#.0o|%.0x",
                &[I(255), I(255), I(8), I(-1), I(-1), I(255), I(255), I(8), I(255), I(0), I(0)]
            ),
            "ff|FF|10|0xffffffffffffffff|01777777777777777777777|000ff|0x000ff|     00010|0xff      |0|"
        );
        assert_eq!(
            ok(
                "%05.1d|%-05x|%#5x|%#05x|%#.3o|%#o|%#x",
                &[I(4), I(255), I(255), I(255), I(8), I(0), I(0)]
            ),
            "    4|ff   | 0xff|0x0ff|010|0|0"
        );
        assert_eq!(ok("%#X", &[I(255)]), "0XFF");
        assert_eq!(
            ok("%c%c%c|%5c|%-5c|", &[I(76), I(117), I(97), I(65), I(66)]),
            "Lua|    A|B    |"
        );
        assert_eq!(ok("%c", &[I(256 + 65)]), "A");
        assert_eq!(ok("%c", &[I(-191)]), "A");
        assert_eq!(run("%c", &[I(0)]).unwrap(), b"\0");
    }

    #[test]
    fn fixed_and_exponent() {
        let x = F(3.14159);
        assert_eq!(
            ok(
                "%5.2f|%08.3f|%+08.2f|% .3f|%.10f",
                &[x, x, x, F(2.5), F(1.0 / 3.0)]
            ),
            " 3.14|0003.142|+0003.14| 2.500|0.3333333333"
        );
        assert_eq!(
            ok(
                "%.0f %.0f %.0f %.0f %.0f",
                &[F(0.5), F(1.5), F(2.5), F(-0.5), F(3.5)]
            ),
            "0 2 2 -0 4"
        );
        assert_eq!(
            ok(
                "%.0f|%.0f|%.0f|%.0f|%.1f|%.2f|%.3f|%f",
                &[
                    F(0.5),
                    F(1.5),
                    F(2.5),
                    F(-0.5),
                    F(0.05),
                    F(0.125),
                    F(1.0005),
                    F(1e-7)
                ]
            ),
            "0|2|2|-0|0.1|0.12|1.000|0.000000"
        );
        assert_eq!(
            ok(
                "%10.3f|%-10.3f|%010.3f|%+010.3f|% 010.3f|%+.0f",
                &[F(-1.5), F(-1.5), F(-1.5), F(1.5), F(1.5), F(0.0)]
            ),
            "    -1.500|-1.500    |-00001.500|+00001.500| 00001.500|+0"
        );
        assert_eq!(ok("%.2f", &[F(1.005)]), "1.00");
        assert_eq!(ok("%.3f", &[F(2.0005)]), "2.001");
        assert_eq!(ok("%.20f", &[F(0.1)]), "0.10000000000000000555");
        assert_eq!(ok("%.1f", &[S(b"2.25")]), "2.2");
        assert_eq!(ok("%f %e", &[I(1), I(2)]), "1.000000 2.000000e+00");
        assert_eq!(ok("%.2e", &[I(12345)]), "1.23e+04");
        assert_eq!(
            ok("%10.4e|%-12.2e|%+e", &[F(1234.5678), F(-0.000321), I(5)]),
            "1.2346e+03|-3.21e-04   |+5.000000e+00"
        );
        assert_eq!(
            ok(
                "%e|%.0e|%#.0e|%E|%e|%e|%.3e",
                &[
                    F(0.0),
                    F(1.0),
                    F(1.0),
                    F(123.456),
                    F(1e-300),
                    F(5e-324),
                    F(9.9995)
                ]
            ),
            "0.000000e+00|1e+00|1.e+00|1.234560E+02|1.000000e-300|4.940656e-324|9.999e+00"
        );
        assert_eq!(ok("%-+ #0e", &[F(1.5)]), "+1.500000e+00");
        assert_eq!(
            ok("%.f|%.d|%5.s|%.e", &[F(1.5), I(3), S(b"abc"), F(2.5)]),
            "2|3|     |2e+00"
        );
        assert_eq!(
            ok("%99.99f", &[F(0.1)]),
            "0.100000000000000005551115123125782702118158340454101562500000000000000000000000000000000000000000000"
        );
        assert_eq!(
            ok("%.99e", &[F(1.0 / 3.0)]),
            "3.333333333333333148296162562473909929394721984863281250000000000000000000000000000000000000000000000e-01"
        );
        assert_eq!(ok("%.99f", &[F(1e300)]).len(), 401);
        assert_eq!(ok("%099d", &[I(5)]), format!("{}5", "0".repeat(98)));
    }

    #[test]
    fn general() {
        let x = F(1234.5678);
        assert_eq!(
            ok(
                "[%g] [%G] [%.3g] [%10g] [%-12.5g] [%#g] [%.0e]",
                &[x, x, x, x, x, x, x]
            ),
            "[1234.57] [1234.57] [1.23e+03] [   1234.57] [1234.6      ] [1234.57] [1e+03]"
        );
        assert_eq!(
            ok(
                "%g|%g|%g|%g|%g|%g|%g|%g",
                &[
                    F(0.0001),
                    F(0.00001),
                    F(123456.0),
                    F(1234567.0),
                    F(1e-300),
                    F(5e-324),
                    I(0),
                    F(-0.0)
                ]
            ),
            "0.0001|1e-05|123456|1.23457e+06|1e-300|4.94066e-324|0|-0"
        );
        assert_eq!(
            ok(
                "%.0g|%.1g|%#.0g|%#g|%#.10g|%.20g|%G|%#G",
                &[
                    I(123),
                    F(0.5),
                    I(123),
                    F(0.0001),
                    F(1.0 / 3.0),
                    F(0.1),
                    F(1e-10),
                    F(1e20)
                ]
            ),
            "1e+02|0.5|1.e+02|0.000100000|0.3333333333|0.10000000000000000555|1E-10|1.00000E+20"
        );
        assert_eq!(
            ok("%5.2g|%#g|%#.3g", &[F(1e300), F(1.0), I(100)]),
            "1e+300|1.00000|100."
        );
        assert_eq!(
            ok(
                "%.14g|%.14g|%.14g|%.14g|%.14g",
                &[
                    F(1e15),
                    F(123456789012345678.0),
                    F(0.1),
                    F(1e-5),
                    F(9223372036854775808.0)
                ]
            ),
            "1e+15|1.2345678901235e+17|0.1|1e-05|9.2233720368548e+18"
        );
        assert_eq!(
            ok("%.15g %.16g %.17g", &[F(2.0 / 3.0); 3]),
            "0.666666666666667 0.6666666666666666 0.66666666666666663"
        );
        assert_eq!(
            ok("%g %g %g", &[I(1), F(9223372036854775808.0), I(-7)]),
            "1 9.22337e+18 -7"
        );
    }

    #[test]
    fn general_rounding_into_next_decade() {
        let vals = [
            9.9951,
            99.951,
            999.51,
            0.99951,
            0.0099951,
            0.000099951,
            9.51,
            95.1,
            0.951,
            9999995.1,
            99999.951,
            999999.51,
        ];
        let cases = [
            ("%#.3g", "10.0 100. 1.e+03 1.00 0.0100 0.000100 9.51 95.1 0.951 1.00e+07 1.00e+05 1.00e+06"),
            ("%.3g", "10 100 1e+03 1 0.01 0.0001 9.51 95.1 0.951 1e+07 1e+05 1e+06"),
            ("%#.1g", "1.e+01 1.e+02 1.e+03 1. 0.01 0.0001 1.e+01 1.e+02 1. 1.e+07 1.e+05 1.e+06"),
            ("%.1g", "1e+01 1e+02 1e+03 1 0.01 0.0001 1e+01 1e+02 1 1e+07 1e+05 1e+06"),
            ("%#g", "9.99510 99.9510 999.510 0.999510 0.00999510 9.99510e-05 9.51000 95.1000 0.951000 1.00000e+07 100000. 1.e+06"),
            ("%g", "9.9951 99.951 999.51 0.99951 0.0099951 9.9951e-05 9.51 95.1 0.951 1e+07 100000 1e+06"),
            ("%#.2g", "10. 1.e+02 1.0e+03 1.0 0.010 0.00010 9.5 95. 0.95 1.0e+07 1.0e+05 1.0e+06"),
        ];
        for (fmt, want) in cases {
            let got: Vec<String> = vals.iter().map(|&v| ok(fmt, &[F(v)])).collect();
            assert_eq!(got.join(" "), want, "{fmt}");
        }
        assert_eq!(
            ok("%#g|%#.3g|%#.2g", &[F(999999.5), F(999.5), F(99.5)]),
            "1.e+06|1.e+03|1.e+02"
        );
    }

    #[test]
    fn infinities_and_nans() {
        assert_eq!(
            ok(
                "%5.1f|%-6g|%f|%e|%g|%a|%A|%E|%G",
                &[
                    F(neg_nan()),
                    F(neg_nan()),
                    F(NAN),
                    F(INF),
                    F(-INF),
                    F(neg_nan()),
                    F(INF),
                    F(neg_nan()),
                    F(-INF)
                ]
            ),
            " -nan|-nan  |nan|inf|-inf|-nan|INF|-NAN|-INF"
        );
        assert_eq!(
            ok(
                "%05f|%+f|% f|%-8f|%08.2e|%+.3g",
                &[F(INF), F(INF), F(INF), F(-INF), F(neg_nan()), F(NAN)]
            ),
            "  inf|+inf| inf|-inf    |    -nan|+nan"
        );
        assert_eq!(
            ok("%.3f %5.1f %g %e", &[F(INF), F(-INF), F(INF), F(-INF)]),
            "inf  -inf inf -inf"
        );
        assert_eq!(
            ok("%f %g %.2f", &[F(neg_nan()), F(neg_nan()), F(NAN)]),
            "-nan -nan nan"
        );
    }

    #[test]
    fn hex_floats() {
        assert_eq!(
            ok(
                "%a %a %a %a %A",
                &[F(1.0), F(2.0), F(0.1), F(-0.5), F(255.5)]
            ),
            "0x1p+0 0x1p+1 0x1.999999999999ap-4 -0x1p-1 0X1.FFP+7"
        );
        assert_eq!(
            ok("%.2a %a %a", &[F(1.0), F(0.0), F(1e-320)]),
            "0x1.00p+0 0x0p+0 0x0.00000000007e8p-1022"
        );
        assert_eq!(
            ok(
                "%.0a|%.1a|%.0a|%.1a|%.1a",
                &[F(1.5), F(1.03125), F(1.5), F(1.09375), F(1.96875)]
            ),
            "0x2p+0|0x1.0p+0|0x2p+0|0x1.2p+0|0x2.0p+0"
        );
        assert_eq!(
            ok("%a|%a|%a|%.3a|%A|%a|%a", &[F(1e-320), F(5e-324), F(2.2250738585072014e-308), F(1e-320), F(1e-320), F(-0.0), F(INF)]),
            "0x0.00000000007e8p-1022|0x0.0000000000001p-1022|0x1p-1022|0x0.000p-1022|0X0.00000000007E8P-1022|-0x0p+0|inf"
        );
        assert_eq!(
            ok("%.0a|%.1a|%.20a|%20a|%-20a|%020a|%+a|% a", &[F(1e-320), F(1e-320), F(1.0), F(1.0), F(1.0), F(1.0), F(1.0), F(1.0)]),
            "0x0p-1022|0x0.0p-1022|0x1.00000000000000000000p+0|              0x1p+0|0x1p+0              |0x000000000000001p+0|+0x1p+0| 0x1p+0"
        );
        let third = F(1.0 / 3.0);
        assert_eq!(
            ok("%.3a|%.13a|%.14a|%a|%a|%a|%a", &[third, third, third, third, F(1e300), F(f64::MAX), F(1.5e-323)]),
            "0x1.555p-2|0x1.5555555555555p-2|0x1.55555555555550p-2|0x1.5555555555555p-2|0x1.7e43c8800759cp+996|0x1.fffffffffffffp+1023|0x0.0000000000003p-1022"
        );
        let sub_max = F(f64::from_bits(0x000f_ffff_ffff_ffff));
        assert_eq!(
            ok(
                "%.3a|%.0a|%.1a",
                &[
                    sub_max,
                    F(f64::from_bits(0x0008_0000_0000_0000)),
                    F(f64::from_bits(0x0001_8000_0000_0000))
                ]
            ),
            "0x1.000p-1022|0x0p-1022|0x0.2p-1022"
        );
        assert_eq!(ok("%#a", &[F(1.0)]), "0x1.p+0");
    }

    #[test]
    fn strings() {
        let h = S(b"hello");
        assert_eq!(
            ok(
                "[%s] [%10s] [%-10s] [%.2s] [%5.1s] [%-5.3s]",
                &[h, h, h, h, h, h]
            ),
            "[hello] [     hello] [hello     ] [he] [    h] [hel  ]"
        );
        assert_eq!(
            ok("%s %s %s %s %s", &[I(1), F(1.5), B(true), Nil, F(-0.0)]),
            "1 1.5 true nil -0.0"
        );
        assert_eq!(ok("%s|%s|%s", &[I(1), F(1.0), F(-0.0)]), "1|1.0|-0.0");
        assert_eq!(
            ok("%s", &[F(12345678901234567890.0)]),
            "1.2345678901235e+19"
        );
        assert_eq!(run("%s|%s", &[S(b""), S(b"a\0b")]).unwrap(), b"|a\0b");
        assert_eq!(
            ok("%-3s|%3s|", &[S(b"abcdef"), S(b"abcdef")]),
            "abcdef|abcdef|"
        );
        assert_eq!(
            ok(
                "%5.3s|%.0s|%.10s|%-5.1s|",
                &[S(b"abcdef"), S(b"abc"), S(b"ab"), S(b"xyz")]
            ),
            "  abc||ab|x    |"
        );
        assert_eq!(
            ok("%s|%10.3s|%s", &[F(1.0), F(12.5), I(i64::MIN)]),
            "1.0|       12.|-9223372036854775808"
        );
        let long: &'static [u8] = &[b'x'; 120];
        assert_eq!(ok("%-99s|", &[S(long)]).len(), 121);
        assert_eq!(ok("%.99s|", &[S(long)]).len(), 100);
        assert_eq!(ok("%5s|", &[S(long)]).len(), 121);
        let long_nul: &'static [u8] = b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\0";
        assert_eq!(run("%s", &[S(long_nul)]).unwrap(), long_nul);
        assert_eq!(
            ok("%s and %10s", &[Table, Table]),
            "table: 0x1 and table: 0x1"
        );
    }

    #[test]
    fn pointers() {
        assert_eq!(ok("%p", &[I(1)]), "(null)");
        assert_eq!(ok("%10p|%-10p|", &[I(1), Nil]), "    (null)|(null)    |");
        assert_eq!(ok("%p", &[Table]), "0x55aa");
        assert_eq!(
            err("%.3p", &[I(1)]),
            "invalid conversion specification: '%.3p'"
        );
    }

    #[test]
    fn quoted() {
        assert_eq!(ok("%q", &[S(b"simple")]), "\"simple\"");
        assert_eq!(
            ok("%q", &[S(b"with \"quotes\" and \\ backslash")]),
            r#""with \"quotes\" and \\ backslash""#
        );
        assert_eq!(ok("%q", &[S(b"new\nline")]), "\"new\\\nline\"");
        assert_eq!(
            ok("%q", &[S(b"cr\rtab\tnul\0bell\x07")]),
            r#""cr\13tab\9nul\0bell\7""#
        );
        assert_eq!(
            run("%q", &[S(b"\x001\x012\x80\xff")]).unwrap(),
            b"\"\\0001\\0012\x80\xff\""
        );
        assert_eq!(
            run("%q", &[S(b"a\x001\x012\x80\xff\r\n\t\"\\\x01x\x7f\x1f\0")]).unwrap(),
            b"\"a\\0001\\0012\x80\xff\\13\\\n\\9\\\"\\\\\\1x\\127\\31\\0\""
        );
        assert_eq!(
            ok("%q", &[S(b"\x01\x012\0\r\n")]),
            "\"\\1\\0012\\0\\13\\\n\""
        );
        assert_eq!(run("%q", &[S(b"\x7f\x80a")]).unwrap(), b"\"\\127\x80a\"");
        assert_eq!(ok("%q %q %q", &[I(1), I(-1), I(0)]), "1 -1 0");
        assert_eq!(
            ok("%q %q", &[I(i64::MAX), I(i64::MIN)]),
            "9223372036854775807 0x8000000000000000"
        );
        assert_eq!(
            ok("%q %q %q %q", &[F(1.0), F(0.5), F(-2.25), F(1e100)]),
            "0x1p+0 0x1p-1 -0x1.2p+1 0x1.249ad2594c37dp+332"
        );
        assert_eq!(
            ok("%q|%q|%q|%q|%q|%q|%q", &[F(1.5), F(9223372036854775808.0), F(1e100), F(-0.0), F(0.1), F(1e-320), F(9007199254740992.0)]),
            "0x1.8p+0|0x1p+63|0x1.249ad2594c37dp+332|-0x0p+0|0x1.999999999999ap-4|0x0.00000000007e8p-1022|0x1p+53"
        );
        assert_eq!(
            ok("%q|%q|%q|%q", &[F(INF), F(-INF), F(neg_nan()), F(NAN)]),
            "1e9999|-1e9999|(0/0)|(0/0)"
        );
        assert_eq!(ok("%q %q %q", &[B(true), B(false), Nil]), "true false nil");
        assert_eq!(ok("%q", &[I(1), I(2)]), "1");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("%q", &[Table]),
            "bad argument #2 to 'format' (value has no literal form)"
        );
        assert_eq!(err("%s", &[]), "bad argument #2 to 'format' (no value)");
        assert_eq!(err("%d", &[]), "bad argument #2 to 'format' (no value)");
        assert_eq!(
            err("%d %d", &[I(1)]),
            "bad argument #3 to 'format' (no value)"
        );
        assert_eq!(err("abc%", &[]), "bad argument #2 to 'format' (no value)");
        assert_eq!(err("%5%", &[]), "bad argument #2 to 'format' (no value)");
        assert_eq!(err("%y", &[]), "bad argument #2 to 'format' (no value)");
        assert_eq!(err("%y", &[I(1)]), "invalid conversion '%y' to 'format'");
        assert_eq!(
            err("%-5y", &[I(1)]),
            "invalid conversion '%-5y' to 'format'"
        );
        assert_eq!(err("%5", &[I(1)]), "invalid conversion '%5' to 'format'");
        assert_eq!(err("%-", &[I(1)]), "invalid conversion '%-' to 'format'");
        assert_eq!(err("%", &[I(1)]), "invalid conversion '%' to 'format'");
        assert_eq!(err("%-%", &[I(1)]), "invalid conversion '%-%' to 'format'");
        assert_eq!(err("%ld", &[I(1)]), "invalid conversion '%l' to 'format'");
        assert_eq!(err("%F", &[F(1.5)]), "invalid conversion '%F' to 'format'");
        assert_eq!(
            err("%05s", &[S(b"a")]),
            "invalid conversion specification: '%05s'"
        );
        assert_eq!(
            err("%#d", &[I(1)]),
            "invalid conversion specification: '%#d'"
        );
        assert_eq!(
            err("%.3c", &[I(65)]),
            "invalid conversion specification: '%.3c'"
        );
        assert_eq!(
            err("%100d", &[I(1)]),
            "invalid conversion specification: '%100d'"
        );
        assert_eq!(
            err("%1.100d", &[I(1)]),
            "invalid conversion specification: '%1.100d'"
        );
        assert_eq!(
            err("%5.2.3f", &[I(1)]),
            "invalid conversion specification: '%5.2.3f'"
        );
        assert_eq!(
            err("%....d", &[I(1)]),
            "invalid conversion specification: '%....d'"
        );
        assert_eq!(
            err("%+x", &[I(1)]),
            "invalid conversion specification: '%+x'"
        );
        assert_eq!(
            err("% u", &[I(1)]),
            "invalid conversion specification: '% u'"
        );
        assert_eq!(
            err("%11111111111111111111d", &[I(1)]),
            "invalid conversion specification: '%11111111111111111111d'"
        );
        assert_eq!(ok("%00000000000000000000d", &[I(1)]), "1");
        assert_eq!(ok(&format!("%{}d", "-".repeat(20)), &[I(1)]), "1");
        assert_eq!(
            err(&format!("%{}d", "-".repeat(21)), &[I(1)]),
            "invalid format (too long)"
        );
        assert_eq!(
            err("%10q", &[S(b"x")]),
            "specifier '%q' cannot have modifiers"
        );
        assert_eq!(
            err("%10s", &[S(b"a\0b")]),
            "bad argument #2 to 'format' (string contains zeros)"
        );
        assert_eq!(
            err("%-s", &[S(b"a\0")]),
            "bad argument #2 to 'format' (string contains zeros)"
        );
        assert_eq!(
            err("%d", &[F(1.5)]),
            "bad argument #2 to 'format' (number has no integer representation)"
        );
        assert_eq!(
            err("%d", &[S(b"x")]),
            "bad argument #2 to 'format' (number expected, got string)"
        );
        assert_eq!(
            err("%d", &[Nil]),
            "bad argument #2 to 'format' (number expected, got nil)"
        );
        // argument errors of d/i/u/o/x/X/e/f/g come before the specification check,
        // those of c/a after it
        assert_eq!(
            err("%#d", &[Nil]),
            "bad argument #2 to 'format' (number expected, got nil)"
        );
        assert_eq!(
            err("%#5.3.f", &[Nil]),
            "bad argument #2 to 'format' (number expected, got nil)"
        );
        assert_eq!(
            err("%.3c", &[Nil]),
            "invalid conversion specification: '%.3c'"
        );
        assert_eq!(
            err("%.123a", &[Nil]),
            "invalid conversion specification: '%.123a'"
        );
    }

    /// `testdata/format_fuzz.txt` (from `testdata/gen_format_fuzz.lua`): random
    /// specifications, valid or not, so the errors and their order are covered too.
    #[test]
    fn format_fuzz_file() {
        let data = include_bytes!("testdata/format_fuzz.txt");
        let mut n = 0;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let p: Vec<&[u8]> = line.splitn(4, |&b| b == b'\t').collect();
            let (fmt, arg, kind, want) = (p[0], p[1], p[2], p[3]);
            let text = std::str::from_utf8(&arg[2..]).unwrap();
            let num = match arg[0] {
                b'i' => Some(Num::Int(text.parse().unwrap())),
                b'f' => Some(Num::Float(f64::from_bits(
                    u64::from_str_radix(text, 16).unwrap(),
                ))),
                _ => str_to_number(&arg[2..]),
            };
            let mut cb = |n: usize, conv: Conv| -> Result<FmtArg<'_>, String> {
                let bad = |m: &str| Err(format!("bad argument #{n} to 'format' ({m})"));
                match (conv, num) {
                    (Conv::Str | Conv::Quoted, _) if arg[0] == b's' => {
                        Ok(FmtArg::Str(Cow::Borrowed(&arg[2..])))
                    }
                    (_, None) => bad("number expected, got string"),
                    (Conv::Int, Some(x)) => match x.to_int_exact() {
                        Some(i) => Ok(FmtArg::Int(i)),
                        None => bad("number has no integer representation"),
                    },
                    (_, Some(Num::Int(i))) => Ok(FmtArg::Int(i)),
                    (_, Some(Num::Float(x))) => Ok(FmtArg::Float(x)),
                }
            };
            let got = match format(fmt, 1, &mut cb) {
                Ok(out) => (b"ok".to_vec(), out),
                Err(e) => (b"err".to_vec(), e.to_string().into_bytes()),
            };
            assert_eq!(
                (got.0.as_slice(), got.1.as_slice()),
                (kind, want),
                "string.format({:?}, {})",
                String::from_utf8_lossy(fmt),
                String::from_utf8_lossy(arg)
            );
            n += 1;
        }
        assert_eq!(n, 1500);
    }

    #[test]
    fn format_cases_file() {
        let data = include_str!("testdata/format_cases.txt");
        let mut n = 0;
        for line in data.lines() {
            let mut parts = line.splitn(3, '\t');
            let (fmt, arg, want) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let a = match arg.split_once(':').unwrap() {
                ("i", v) => I(v.parse().unwrap()),
                (_, v) => F(f64::from_bits(u64::from_str_radix(v, 16).unwrap())),
            };
            assert_eq!(ok(fmt, &[a]), want, "string.format({fmt:?}, {arg})");
            n += 1;
        }
        assert!(n > 4000);
    }
}
