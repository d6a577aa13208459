//! Byte-string helpers of Lua 5.4's string library (`lstrlib.c`): index
//! normalisation, `sub`, `byte`, `char`, `rep`, case mapping, `reverse`, and plain
//! `find` (the subset has no patterns: [`has_magic`] tells the glue when a `find`
//! needs the pattern matcher that v1 does not have).

use std::ops::Range;

/// `posrelatI`: a start position (`string.sub`'s `i`, `find`'s `init`) as a 1-based
/// position: negatives count from the end, 0 and positions before the start become 1.
/// The result may exceed `len`.
pub fn start_pos(pos: i64, len: usize) -> usize {
    if pos > 0 {
        pos as usize
    } else if pos == 0 || pos < -(len as i64) {
        1
    } else {
        (len as i64 + pos + 1) as usize
    }
}

/// `getendpos`: an end position (`string.sub`'s `j`) as a 1-based position clipped to
/// `0..=len`.
pub fn end_pos(pos: i64, len: usize) -> usize {
    if pos > len as i64 {
        len
    } else if pos >= 0 {
        pos as usize
    } else if pos < -(len as i64) {
        0
    } else {
        (len as i64 + pos + 1) as usize
    }
}

/// `string.sub(s, i, j)` (pass `j = -1` when it is absent).
pub fn sub(s: &[u8], i: i64, j: i64) -> &[u8] {
    let start = start_pos(i, s.len());
    let end = end_pos(j, s.len());
    if start <= end {
        &s[start - 1..end]
    } else {
        &[]
    }
}

/// The 0-based byte range `string.byte(s, i, j)` returns (empty: no values). `i`
/// defaults to 1 and `j` to `i` (the raw argument, as Lua does).
pub fn byte_range(len: usize, i: Option<i64>, j: Option<i64>) -> Range<usize> {
    let i = i.unwrap_or(1);
    let start = start_pos(i, len);
    let end = end_pos(j.unwrap_or(i), len);
    if start <= end {
        start - 1..end
    } else {
        0..0
    }
}

/// `string.char`'s check of one code: `Some(byte)` for 0..=255, else `None` (Lua's
/// `bad argument #k to 'char' (value out of range)`).
pub fn char_code(n: i64) -> Option<u8> {
    u8::try_from(n).ok()
}

/// Lua's `MAXSIZE` for strings built by `rep` (C `INT_MAX` on 64-bit hosts).
pub const MAX_STRING_SIZE: u64 = i32::MAX as u64;

/// The error `string.rep` raises when the result would exceed [`MAX_STRING_SIZE`].
pub const REP_TOO_LARGE: &str = "resulting string too large";

/// The length of `string.rep`'s result for a string of `len` bytes and a separator of
/// `sep_len`, or [`REP_TOO_LARGE`].
pub fn rep_len(len: usize, n: i64, sep_len: usize) -> Result<usize, &'static str> {
    if n <= 0 {
        return Ok(0);
    }
    let n = n as u64;
    let unit = len as u64 + sep_len as u64;
    if unit > MAX_STRING_SIZE / n {
        return Err(REP_TOO_LARGE);
    }
    Ok((n * len as u64 + (n - 1) * sep_len as u64) as usize)
}

/// Appends `string.rep(s, n, sep)` to `out` (which [`rep_len`] accepted; pass `b""`
/// for no separator). `n <= 0` appends nothing.
pub fn rep_into(out: &mut Vec<u8>, s: &[u8], n: i64, sep: &[u8]) {
    if s.is_empty() && sep.is_empty() {
        return;
    }
    for k in 0..n.max(0) {
        if k > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(s);
    }
}

/// `string.upper`, in place: ASCII letters only (the C locale).
pub fn upper(s: &mut [u8]) {
    s.make_ascii_uppercase()
}

/// `string.lower`, in place: ASCII letters only (the C locale).
pub fn lower(s: &mut [u8]) {
    s.make_ascii_lowercase()
}

/// `string.reverse`, in place.
pub fn reverse(s: &mut [u8]) {
    s.reverse()
}

/// The characters that make a `find` pattern need the pattern matcher.
pub const MAGIC: &[u8] = b"^$*+?.([%-";

/// Whether `pattern` contains a magic character (`^$*+?.([%-`), i.e. whether
/// `string.find` without `plain = true` would need the pattern matcher.
pub fn has_magic(pattern: &[u8]) -> bool {
    pattern.iter().any(|b| MAGIC.contains(b))
}

/// `string.find(s, pattern, init, true)` (and `find` of a pattern without magic
/// characters): the 1-based inclusive `(start, end)` of the first occurrence at or
/// after `init` (pass 1 when absent; negative counts from the end), or `None`. An
/// `init` beyond `#s + 1` finds nothing, not even the empty string; the empty pattern
/// is found at `init` as `(init, init - 1)`.
pub fn find_plain(s: &[u8], pattern: &[u8], init: i64) -> Option<(usize, usize)> {
    let init = start_pos(init, s.len()) - 1;
    if init > s.len() {
        return None;
    }
    let hay = &s[init..];
    let at = if pattern.is_empty() {
        Some(0)
    } else if pattern.len() > hay.len() {
        None
    } else {
        hay.windows(pattern.len()).position(|w| w == pattern)
    }?;
    Some((init + at + 1, init + at + pattern.len()))
}

#[cfg(test)]
mod tests {
    //! Expected values are `lua5.4` 5.4.4's output.
    use super::*;

    const MIN: i64 = i64::MIN;
    const MAX: i64 = i64::MAX;

    /// `string.rep` as the runtime makes it: the length checked, then the bytes.
    fn rep(s: &[u8], n: i64, sep: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::with_capacity(rep_len(s.len(), n, sep.len())?);
        rep_into(&mut out, s, n, sep);
        Ok(out)
    }

    #[test]
    fn sub_indices() {
        let s = b"hello";
        let cases: &[(i64, i64, &str)] = &[
            (2, -1, "ello"),
            (-3, -1, "llo"),
            (0, -1, "hello"),
            (10, -1, ""),
            (2, 100, "ello"),
            (-100, 2, "he"),
            (3, 2, ""),
            (-2, -1, "lo"),
            (MIN, MAX, "hello"),
            (0, 0, ""),
            (6, -1, ""),
            (5, 5, "o"),
            (1, 0, ""),
            (-5, -5, "h"),
            (-6, 1, "h"),
            (MAX, -1, ""),
            (MIN, -1, "hello"),
            (2, MIN, ""),
            (4, -2, "l"),
        ];
        for &(i, j, want) in cases {
            assert_eq!(sub(s, i, j), want.as_bytes(), "(\"hello\"):sub({i}, {j})");
        }
        assert_eq!(sub(b"", 1, 1), b"");
        assert_eq!(sub(b"", MIN, MAX), b"");
    }

    #[test]
    fn byte_indices() {
        let s = b"hello";
        let cases: &[(Option<i64>, Option<i64>, &[u8])] = &[
            (None, None, &[104]),
            (Some(-1), None, &[111]),
            (Some(1), Some(-1), &[104, 101, 108, 108, 111]),
            (Some(10), None, &[]),
            (Some(0), None, &[]),
            (Some(3), Some(2), &[]),
            (Some(2), Some(4), &[101, 108, 108]),
            (Some(-3), None, &[108]),
            (Some(-10), Some(2), &[104, 101]),
            (Some(0), Some(10), &[104, 101, 108, 108, 111]),
            (Some(6), Some(6), &[]),
            (Some(5), Some(10), &[111]),
            (Some(MIN), Some(MAX), &[104, 101, 108, 108, 111]),
        ];
        for &(i, j, want) in cases {
            assert_eq!(
                &s[byte_range(s.len(), i, j)],
                want,
                "(\"hello\"):byte({i:?}, {j:?})"
            );
        }
    }

    #[test]
    fn plain_find() {
        let s = b"hello";
        type Case = (&'static str, i64, Option<(usize, usize)>);
        let cases: &[Case] = &[
            ("l", 1, Some((3, 3))),
            ("l", 4, Some((4, 4))),
            ("l", -1, None),
            ("", 6, Some((6, 5))),
            ("", 7, None),
            ("", -100, Some((1, 0))),
            ("lo", 1, Some((4, 5))),
            ("xyz", 1, None),
            ("", 10, None),
            ("h", 0, Some((1, 1))),
            ("o", -1, Some((5, 5))),
            ("hello", 1, Some((1, 5))),
            ("hello!", 1, None),
            ("ll", -3, Some((3, 4))),
            ("ll", -2, None),
            ("", 0, Some((1, 0))),
            ("", 5, Some((5, 4))),
            ("e", MIN, Some((2, 2))),
            ("h", MAX, None),
        ];
        for &(p, init, want) in cases {
            assert_eq!(
                find_plain(s, p.as_bytes(), init),
                want,
                "(\"hello\"):find({p:?}, {init}, true)"
            );
        }
        assert_eq!(find_plain(b"a.b", b".", 1), Some((2, 2)));
        assert_eq!(find_plain(b"a\0b\0c", b"\0c", 1), Some((4, 5)));
        assert_eq!(find_plain(b"", b"", 1), Some((1, 0)));
        assert_eq!(find_plain(b"", b"", 2), None);
        assert_eq!(find_plain(b"aaa", b"aa", 2), Some((2, 3)));
    }

    #[test]
    fn magic_characters() {
        for p in [
            "^a", "a$", "a*", "a+", "a?", "a.b", "(a)", "[a]", "%d", "a-b",
        ] {
            assert!(has_magic(p.as_bytes()), "{p}");
        }
        for p in ["abc", "", "a b", "a\0b", ")", "]", "{}", "\\d", "é"] {
            assert!(!has_magic(p.as_bytes()), "{p}");
        }
        assert!(has_magic(b"a\0."));
    }

    #[test]
    fn repetition() {
        assert_eq!(rep(b"ab", 3, b",").unwrap(), b"ab,ab,ab");
        assert_eq!(rep(b"ab", 0, b"").unwrap(), b"");
        assert_eq!(rep(b"ab", -1, b",").unwrap(), b"");
        assert_eq!(rep(b"ab", 1, b",").unwrap(), b"ab");
        assert_eq!(rep(b"", 5, b"").unwrap(), b"");
        assert_eq!(rep(b"", 3, b"-").unwrap(), b"--");
        assert_eq!(rep(b"x", 4, b"").unwrap(), b"xxxx");
        assert_eq!(rep(b"", 1 << 20, b"").unwrap(), b"");
        assert_eq!(rep(b"", MAX, b"").unwrap(), b"");
        assert_eq!(rep(b"x", 1 << 31, b""), Err("resulting string too large"));
        assert_eq!(rep(b"xx", 1 << 30, b""), Err("resulting string too large"));
        assert_eq!(rep(b"x", 1 << 30, b"y"), Err("resulting string too large"));
        assert_eq!(rep(b"x", MAX, b""), Err(REP_TOO_LARGE));
    }

    #[test]
    fn chars_case_and_reverse() {
        assert_eq!(char_code(72), Some(72));
        assert_eq!(char_code(255), Some(255));
        assert_eq!(char_code(256), None);
        assert_eq!(char_code(-1), None);
        let mapped = |f: fn(&mut [u8]), s: &[u8]| {
            let mut s = s.to_vec();
            f(&mut s);
            s
        };
        assert_eq!(mapped(upper, "Hello World 123 ÀÉ".as_bytes()), "HELLO WORLD 123 ÀÉ".as_bytes());
        assert_eq!(mapped(lower, "Hello World 123 ÀÉ".as_bytes()), "hello world 123 ÀÉ".as_bytes());
        assert_eq!(mapped(reverse, b"abc\0def"), b"fed\0cba");
        assert_eq!(mapped(reverse, b""), b"");
        assert_eq!(mapped(upper, b"abc"), b"ABC");
    }
}
