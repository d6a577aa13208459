//! String literals: short strings with escapes, and long bracket strings/comments.

use super::{is_space, quote_as_c_string, Lexer};
use crate::diag::Diagnostic;

/// Largest value accepted in `\u{...}` before one more hex digit would pass 2^31 - 1.
const UTF8_ESCAPE_PREFIX_MAX: u32 = 0x7FFF_FFFF >> 4;

impl Lexer<'_> {
    /// The body of a short string whose opening `delim` was just consumed; consumes
    /// the closing delimiter.
    pub(super) fn short_string(&mut self, delim: u8) -> Result<Vec<u8>, Diagnostic> {
        let mut buf = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(self.pos_of(self.at), "unfinished string near <eof>".into())),
                Some(b'\n' | b'\r') => {
                    let shown = quote_as_c_string(&string_so_far(delim, &buf));
                    return Err(self.error_at(self.pos_of(self.at), format!("unfinished string near {shown}")));
                }
                Some(b'\\') => self.escape(delim, &mut buf)?,
                Some(b) => {
                    self.at += 1;
                    if b == delim {
                        return Ok(buf);
                    }
                    buf.push(b);
                }
            }
        }
    }

    /// One escape sequence at the current `\`, appended to `buf` decoded.
    ///
    /// An error shows what Lua's buffer holds when it gives up: the delimiter, the
    /// string decoded so far, then the escape as written up to the offending byte.
    fn escape(&mut self, delim: u8, buf: &mut Vec<u8>) -> Result<(), Diagnostic> {
        let start = self.at;
        let pos = self.pos_of(start);
        self.decode_escape(buf).map_err(|message| {
            let mut shown = string_so_far(delim, buf);
            shown.extend_from_slice(self.bytes(start..self.at + 1));
            self.error_at(pos, format!("{message} near {}", quote_as_c_string(&shown)))
        })
    }

    /// Decodes the escape at the current `\` into `buf`, or says what is wrong.
    fn decode_escape(&mut self, buf: &mut Vec<u8>) -> Result<(), &'static str> {
        self.at += 1;
        // At the end of input there is nothing to decode; the string loop then reports
        // the unfinished string, as Lua does.
        let Some(c) = self.peek() else { return Ok(()) };
        if let Some(byte) = simple_escape(c) {
            self.at += 1;
            buf.push(byte);
            return Ok(());
        }
        match c {
            b'\n' | b'\r' => {
                self.newline();
                buf.push(b'\n');
            }
            b'x' => {
                self.at += 1;
                let high = self.hex_digit()?;
                let low = self.hex_digit()?;
                buf.push((high << 4 | low) as u8);
            }
            b'u' => push_utf8(buf, self.utf8_escape()?),
            b'z' => {
                self.at += 1;
                self.skip_spaces();
            }
            b'0'..=b'9' => buf.push(self.decimal_escape()?),
            _ => return Err("invalid escape sequence"),
        }
        Ok(())
    }

    /// Consumes one hex digit.
    fn hex_digit(&mut self) -> Result<u32, &'static str> {
        let d = self.peek().and_then(hex_value).ok_or("hexadecimal digit expected")?;
        self.at += 1;
        Ok(d)
    }

    /// `\u{XXX}` (at the `u`): a code point up to 2^31 - 1.
    fn utf8_escape(&mut self) -> Result<u32, &'static str> {
        self.at += 1;
        if !self.eat(b'{') {
            return Err("missing '{'");
        }
        let mut value = self.hex_digit()?;
        while let Some(d) = self.peek().and_then(hex_value) {
            if value > UTF8_ESCAPE_PREFIX_MAX {
                return Err("UTF-8 value too large");
            }
            value = value << 4 | d;
            self.at += 1;
        }
        if !self.eat(b'}') {
            return Err("missing '}'");
        }
        Ok(value)
    }

    /// `\ddd`: up to three decimal digits, at most 255.
    fn decimal_escape(&mut self) -> Result<u8, &'static str> {
        let mut value = 0u32;
        for _ in 0..3 {
            match self.peek() {
                Some(d @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(d - b'0');
                    self.at += 1;
                }
                _ => break,
            }
        }
        u8::try_from(value).map_err(|_| "decimal escape too large")
    }

    /// After `\z`: skips whitespace, line breaks included.
    fn skip_spaces(&mut self) {
        while let Some(b) = self.peek().filter(|&b| is_space(b)) {
            if b == b'\n' || b == b'\r' {
                self.newline();
            } else {
                self.at += 1;
            }
        }
    }

    /// The body of a long string or comment whose opening bracket of `level` was just
    /// consumed. A line break right after the opening bracket is skipped, and each
    /// line break inside becomes a single `\n`. Returns the text when `keep` is set
    /// (strings), nothing for comments.
    pub(super) fn long_string(&mut self, level: usize, keep: bool) -> Result<Vec<u8>, Diagnostic> {
        let start_line = self.line;
        let mut buf = Vec::new();
        if self.at_newline() {
            self.newline();
        }
        loop {
            match self.peek() {
                None => {
                    let what = if keep { "string" } else { "comment" };
                    let message = format!("unfinished long {what} (starting at line {start_line}) near <eof>");
                    return Err(self.error_at(self.pos_of(self.at), message));
                }
                Some(b']') => {
                    let from = self.at;
                    if self.closing_bracket(level) {
                        return Ok(buf);
                    }
                    if keep {
                        buf.extend_from_slice(&self.src[from..self.at]);
                    }
                }
                Some(b'\n' | b'\r') => {
                    self.newline();
                    if keep {
                        buf.push(b'\n');
                    }
                }
                Some(b) => {
                    self.at += 1;
                    if keep {
                        buf.push(b);
                    }
                }
            }
        }
    }

    /// At a `]`: consumes `]` and any `=` signs and says whether they, with one more
    /// `]` (also consumed), close a long bracket of `level`. On a mismatch the byte
    /// after the `=` signs is left unread: it may start the real closing bracket.
    fn closing_bracket(&mut self, level: usize) -> bool {
        self.at += 1;
        let mut equals = 0usize;
        while self.eat(b'=') {
            equals += 1;
        }
        equals == level && self.eat(b']')
    }
}

/// The byte a one-character escape stands for (`\n`, `\\`, `\"`, ...).
fn simple_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        b'\\' | b'"' | b'\'' => c,
        _ => return None,
    })
}

/// A short string as Lua shows it in errors: the opening delimiter and the bytes
/// decoded so far.
fn string_so_far(delim: u8, decoded: &[u8]) -> Vec<u8> {
    let mut shown = Vec::with_capacity(decoded.len() + 1);
    shown.push(delim);
    shown.extend_from_slice(decoded);
    shown
}

/// The value of a hex digit.
pub(super) fn hex_value(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

/// Appends `x` (< 2^31) in the extended UTF-8 form Lua uses (`luaO_utf8esc`): the
/// classic encoding, continued up to six bytes for values beyond U+10FFFF.
fn push_utf8(buf: &mut Vec<u8>, mut x: u32) {
    if x < 0x80 {
        buf.push(x as u8);
        return;
    }
    let mut tail = Vec::with_capacity(5);
    // Largest value that still fits in the first byte's payload; it shrinks by one
    // bit for every continuation byte added.
    let mut first_max = 0x3fu32;
    loop {
        tail.push(0x80 | (x & 0x3f) as u8);
        x >>= 6;
        first_max >>= 1;
        if x <= first_max {
            break;
        }
    }
    let lead = (!first_max << 1) | x;
    buf.push(lead as u8);
    buf.extend(tail.iter().rev());
}
