//! Compile-time diagnostics: one error with its position and the offending source line.
//!
//! The lexer and parser stop at the first error (as `lua5.4` does), so a compile
//! produces at most one [`Diagnostic`]. Its message follows Lua's wording
//! (`'=' expected near 'x'`) so that people used to Lua recognise it; its
//! [`Display`](std::fmt::Display) adds a rustc-style excerpt with a caret.

use std::fmt;

/// A compile-time error in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as given to the parser.
    pub file: String,
    /// 1-based line of the error.
    pub line: u32,
    /// 1-based byte column of the error.
    pub col: u32,
    /// What went wrong, in Lua's words (without the `file:line:` prefix).
    pub message: String,
    /// The text of the source line (lossily decoded as UTF-8, without its newline).
    pub source_line: String,
}

impl Diagnostic {
    /// Builds a diagnostic for `line`/`col`, taking the excerpt from `source` where the
    /// line starts at byte offset `line_start`.
    pub fn new(file: &str, source: &[u8], line_start: usize, line: u32, col: u32, message: String) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: line.max(1),
            col: col.max(1),
            message,
            source_line: line_text(source, line_start),
        }
    }

    /// The message prefixed like Lua does (`file:line: message`), for callers that
    /// want `lua5.4`-compatible output.
    pub fn lua_message(&self) -> String {
        format!("{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The bytes of the line starting at `start`, up to (not including) its line break.
fn line_text(source: &[u8], start: usize) -> String {
    let rest = source.get(start..).unwrap_or_default();
    let end = rest.iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// Whitespace that puts a caret under byte column `col` of `line`: tabs are kept so the
/// caret lines up however the terminal expands them.
fn caret_padding(line: &str, col: u32) -> String {
    let want = col.saturating_sub(1) as usize;
    let mut pad = String::new();
    let mut bytes = 0;
    for ch in line.chars() {
        if bytes >= want {
            break;
        }
        pad.push(if ch == '\t' { '\t' } else { ' ' });
        bytes += ch.len_utf8();
    }
    // A column past the end of the line (an error at end of input) still gets a caret.
    pad.push_str(&" ".repeat(want.saturating_sub(bytes)));
    pad
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        writeln!(f, "{}:{}:{}: error: {}", self.file, self.line, self.col, self.message)?;
        writeln!(f, "  {number} | {}", self.source_line)?;
        write!(f, "  {gutter} | {}^", caret_padding(&self.source_line, self.col))
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_caret_under_column() {
        let src = b"local x = 1\n\tx = = 2\n";
        let d = Diagnostic::new("t.lua", src, 12, 2, 6, "unexpected symbol near '='".into());
        assert_eq!(d.to_string(), "t.lua:2:6: error: unexpected symbol near '='\n  2 | \tx = = 2\n    | \t    ^");
        assert_eq!(d.lua_message(), "t.lua:2: unexpected symbol near '='");
    }

    #[test]
    fn caret_past_end_of_line() {
        let d = Diagnostic::new("t.lua", b"f(", 0, 1, 3, "unexpected symbol near <eof>".into());
        assert!(d.to_string().ends_with("  1 | f(\n    |   ^"));
    }

    #[test]
    fn out_of_range_line_start_gives_empty_excerpt() {
        let d = Diagnostic::new("t.lua", b"x", 99, 0, 0, "m".into());
        assert_eq!((d.line, d.col, d.source_line.as_str()), (1, 1, ""));
    }
}
