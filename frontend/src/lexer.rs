//! The lexer: Lua 5.4 source bytes to tokens.
//!
//! It follows `llex.c` closely where the details are observable: which characters a
//! numeral swallows before it is checked (so `3x` is one malformed numeral, not `3`
//! then `x`), how long brackets nest, which escapes exist, and that `\r`, `\n`,
//! `\r\n` and `\n\r` each count as one line break. Bytes that start no token are
//! returned as [`TokenKind::Other`] so that the parser, which knows what it expected,
//! reports them (`unexpected symbol near '@'`), as Lua does.
//!
//! Every error is a [`Diagnostic`]; no input makes the lexer panic.

mod number;
mod string;

pub use number::{numeral_value, Numeral};

use crate::ast::Pos;
use crate::diag::Diagnostic;
use std::ops::Range;

/// The kinds of tokens, with the value of literals and names.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// An identifier.
    Name(String),
    /// A string literal, escapes decoded.
    Str(Vec<u8>),
    /// An integer numeral.
    Int(i64),
    /// A float numeral.
    Float(f64),
    /// `and`
    And,
    /// `break`
    Break,
    /// `do`
    Do,
    /// `else`
    Else,
    /// `elseif`
    Elseif,
    /// `end`
    End,
    /// `false`
    False,
    /// `for`
    For,
    /// `function`
    Function,
    /// `goto`
    Goto,
    /// `if`
    If,
    /// `in`
    In,
    /// `local`
    Local,
    /// `nil`
    Nil,
    /// `not`
    Not,
    /// `or`
    Or,
    /// `repeat`
    Repeat,
    /// `return`
    Return,
    /// `then`
    Then,
    /// `true`
    True,
    /// `until`
    Until,
    /// `while`
    While,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `//`
    DoubleSlash,
    /// `%`
    Percent,
    /// `^`
    Caret,
    /// `#`
    Hash,
    /// `&`
    Ampersand,
    /// `~`
    Tilde,
    /// `|`
    Pipe,
    /// `<<`
    ShiftLeft,
    /// `>>`
    ShiftRight,
    /// `==`
    Equal,
    /// `~=`
    NotEqual,
    /// `<=`
    LessEqual,
    /// `>=`
    GreaterEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `=`
    Assign,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `::`
    DoubleColon,
    /// `;`
    Semicolon,
    /// `:`
    Colon,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// `...`
    Ellipsis,
    /// A byte that starts no token.
    Other(u8),
    /// The end of the input.
    Eof,
}

impl TokenKind {
    /// How Lua names this kind of token in "X expected" messages: `'end'`, `'='`,
    /// `<name>`, `<string>`, `<eof>`.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Name(_) => "<name>".into(),
            TokenKind::Str(_) => "<string>".into(),
            TokenKind::Int(_) => "<integer>".into(),
            TokenKind::Float(_) => "<number>".into(),
            TokenKind::Eof => "<eof>".into(),
            TokenKind::Other(b) => quote_byte(*b),
            fixed => format!("'{}'", fixed_text(fixed)),
        }
    }
}

/// `bytes` in single quotes, as Lua's messages show token text: Lua formats it as a C
/// string, so it ends at the first NUL byte.
pub(crate) fn quote_as_c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    format!("'{}'", String::from_utf8_lossy(&bytes[..end]))
}

/// `'c'` for a printable byte, `'<\N>'` otherwise (Lua's `luaX_token2str`).
fn quote_byte(b: u8) -> String {
    if (0x20..0x7f).contains(&b) {
        format!("'{}'", b as char)
    } else {
        format!("'<\\{b}>'")
    }
}

/// The spelling of a keyword or symbol token (empty for the others).
fn fixed_text(kind: &TokenKind) -> &'static str {
    use TokenKind::*;
    match kind {
        And => "and",
        Break => "break",
        Do => "do",
        Else => "else",
        Elseif => "elseif",
        End => "end",
        False => "false",
        For => "for",
        Function => "function",
        Goto => "goto",
        If => "if",
        In => "in",
        Local => "local",
        Nil => "nil",
        Not => "not",
        Or => "or",
        Repeat => "repeat",
        Return => "return",
        Then => "then",
        True => "true",
        Until => "until",
        While => "while",
        Plus => "+",
        Minus => "-",
        Star => "*",
        Slash => "/",
        DoubleSlash => "//",
        Percent => "%",
        Caret => "^",
        Hash => "#",
        Ampersand => "&",
        Tilde => "~",
        Pipe => "|",
        ShiftLeft => "<<",
        ShiftRight => ">>",
        Equal => "==",
        NotEqual => "~=",
        LessEqual => "<=",
        GreaterEqual => ">=",
        Less => "<",
        Greater => ">",
        Assign => "=",
        LParen => "(",
        RParen => ")",
        LBrace => "{",
        RBrace => "}",
        LBracket => "[",
        RBracket => "]",
        DoubleColon => "::",
        Semicolon => ";",
        Colon => ":",
        Comma => ",",
        Dot => ".",
        DotDot => "..",
        Ellipsis => "...",
        Name(_) | Str(_) | Int(_) | Float(_) | Other(_) | Eof => "",
    }
}

/// The keyword spelled by `word`, if any.
fn keyword(word: &[u8]) -> Option<TokenKind> {
    use TokenKind::*;
    Some(match word {
        b"and" => And,
        b"break" => Break,
        b"do" => Do,
        b"else" => Else,
        b"elseif" => Elseif,
        b"end" => End,
        b"false" => False,
        b"for" => For,
        b"function" => Function,
        b"goto" => Goto,
        b"if" => If,
        b"in" => In,
        b"local" => Local,
        b"nil" => Nil,
        b"not" => Not,
        b"or" => Or,
        b"repeat" => Repeat,
        b"return" => Return,
        b"then" => Then,
        b"true" => True,
        b"until" => Until,
        b"while" => While,
        _ => return None,
    })
}

/// One token: its kind, where it starts, and the bytes it spans (for error messages).
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Line and column of its first byte.
    pub pos: Pos,
    /// Line and column just past its last byte (on a later line than `pos` for
    /// strings that span lines).
    pub end: Pos,
    /// Its byte range in the source.
    pub span: Range<usize>,
}

/// A Lua lexer over one source file.
pub struct Lexer<'a> {
    src: &'a [u8],
    file: &'a str,
    /// Offset of the next unread byte.
    at: usize,
    /// Line of the next unread byte.
    line: u32,
    /// `line_starts[n]` is the offset where line `n + 1` starts; it covers every line
    /// read so far, so a diagnostic can quote any line at or before the current one.
    line_starts: Vec<usize>,
}

/// Lua's `lisspace`: the bytes that separate tokens.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Lua's `lislalpha`: bytes that may start a name (no locale or UTF-8 letters).
fn is_name_start(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'_')
}

/// Bytes that may continue a name.
fn is_name_byte(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'0'..=b'9')
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`. A UTF-8 byte-order mark and a first line
    /// starting with `#` (a shebang) are skipped, as `lua5.4` does for files; the
    /// line numbers of what follows are unchanged. Columns on the first line count
    /// from after the byte-order mark.
    pub fn new(src: &'a [u8], file: &'a str) -> Self {
        let bom = if src.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let mut at = bom;
        if src.get(at) == Some(&b'#') {
            at += src[at..].iter().position(|&b| b == b'\n').unwrap_or(src.len() - at);
        }
        Lexer { src, file, at, line: 1, line_starts: vec![bom] }
    }

    /// A diagnostic at `pos` (a position this lexer has already passed).
    pub fn error_at(&self, pos: Pos, message: String) -> Diagnostic {
        let index = pos.line.saturating_sub(1) as usize;
        let line_start = self.line_starts.get(index).copied().unwrap_or(self.src.len());
        Diagnostic::new(self.file, self.src, line_start, pos.line, pos.col, message)
    }

    /// How an error message shows `tok` after "near", as Lua's `txtToken` does: names,
    /// numerals and long strings as written, short strings with their escapes decoded,
    /// other tokens by their spelling.
    pub fn near(&self, tok: &Token) -> String {
        match &tok.kind {
            TokenKind::Str(decoded) => match self.src.get(tok.span.start) {
                Some(&delim @ (b'"' | b'\'')) => {
                    let mut text = vec![delim];
                    text.extend_from_slice(decoded);
                    text.push(delim);
                    quote_as_c_string(&text)
                }
                _ => quote_as_c_string(self.bytes(tok.span.clone())),
            },
            TokenKind::Name(_) | TokenKind::Int(_) | TokenKind::Float(_) => {
                quote_as_c_string(self.bytes(tok.span.clone()))
            }
            _ => tok.kind.describe(),
        }
    }

    /// The source bytes in `range`, clamped to the input.
    fn bytes(&self, range: Range<usize>) -> &'a [u8] {
        let end = range.end.min(self.src.len());
        let start = range.start.min(end);
        &self.src[start..end]
    }

    /// The position of byte offset `at`, which must be on the current line.
    fn pos_of(&self, at: usize) -> Pos {
        let line_start = self.line_starts.last().copied().unwrap_or(0);
        Pos { line: self.line, col: (at.saturating_sub(line_start) + 1).min(u32::MAX as usize) as u32 }
    }

    /// The current byte.
    fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    /// The byte `ahead` bytes after the current one.
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.at + ahead).copied()
    }

    /// Consumes the next byte if it is `b`.
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.at += 1;
        }
        hit
    }

    /// Consumes a line break at the current byte: `\n`, `\r`, `\r\n` or `\n\r`.
    fn newline(&mut self) {
        let first = self.peek();
        self.at += 1;
        if matches!(self.peek(), Some(b @ (b'\n' | b'\r')) if Some(b) != first) {
            self.at += 1;
        }
        self.line = self.line.saturating_add(1);
        self.line_starts.push(self.at);
    }

    fn at_newline(&self) -> bool {
        matches!(self.peek(), Some(b'\n' | b'\r'))
    }

    /// The next token (an [`TokenKind::Eof`] token, repeatedly, at the end).
    pub fn next_token(&mut self) -> Result<Token, Diagnostic> {
        self.skip_trivia()?;
        let start = self.at;
        let pos = self.pos_of(start);
        let kind = self.token_kind(pos)?;
        Ok(Token { kind, pos, end: self.pos_of(self.at), span: start..self.at })
    }

    /// Skips whitespace, line breaks and comments.
    fn skip_trivia(&mut self) -> Result<(), Diagnostic> {
        while let Some(b) = self.peek() {
            match b {
                b'\n' | b'\r' => self.newline(),
                b' ' | b'\t' | 0x0b | 0x0c => self.at += 1,
                b'-' if self.peek_at(1) == Some(b'-') => self.comment()?,
                _ => break,
            }
        }
        Ok(())
    }

    /// Skips a comment starting at `--`: a long comment if a long bracket follows,
    /// otherwise the rest of the line.
    fn comment(&mut self) -> Result<(), Diagnostic> {
        self.at += 2;
        if let LongBracket::Open(level) = self.long_bracket() {
            return self.long_string(level, false).map(|_| ());
        }
        while self.peek().is_some() && !self.at_newline() {
            self.at += 1;
        }
        Ok(())
    }

    /// Reads the token starting at the current (non-blank) byte.
    fn token_kind(&mut self, pos: Pos) -> Result<TokenKind, Diagnostic> {
        use TokenKind::*;
        let start = self.at;
        let Some(b) = self.peek() else { return Ok(Eof) };
        if b.is_ascii_digit() || (b == b'.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.numeral(pos);
        }
        if is_name_start(b) {
            return Ok(self.name());
        }
        self.at += 1;
        Ok(match b {
            b'"' | b'\'' => Str(self.short_string(b)?),
            b'[' => {
                self.at = start;
                return self.bracket(pos);
            }
            b'+' => Plus,
            b'-' => Minus,
            b'*' => Star,
            b'/' => self.pick(b'/', DoubleSlash, Slash),
            b'%' => Percent,
            b'^' => Caret,
            b'#' => Hash,
            b'&' => Ampersand,
            b'~' => self.pick(b'=', NotEqual, Tilde),
            b'|' => Pipe,
            b'<' => self.pick2(b'<', ShiftLeft, b'=', LessEqual, Less),
            b'>' => self.pick2(b'>', ShiftRight, b'=', GreaterEqual, Greater),
            b'=' => self.pick(b'=', Equal, Assign),
            b'(' => LParen,
            b')' => RParen,
            b'{' => LBrace,
            b'}' => RBrace,
            b']' => RBracket,
            b';' => Semicolon,
            b':' => self.pick(b':', DoubleColon, Colon),
            b',' => Comma,
            b'.' => self.dots(),
            other => Other(other),
        })
    }

    /// `long` if the next byte is `next` (consuming it), else `short`.
    fn pick(&mut self, next: u8, long: TokenKind, short: TokenKind) -> TokenKind {
        if self.eat(next) {
            long
        } else {
            short
        }
    }

    /// Like [`Lexer::pick`] with two possible second bytes (for `<<`, `<=`, `<`).
    fn pick2(&mut self, a: u8, with_a: TokenKind, b: u8, with_b: TokenKind, short: TokenKind) -> TokenKind {
        if self.eat(a) {
            with_a
        } else {
            self.pick(b, with_b, short)
        }
    }

    /// After a `.`: `.`, `..` or `...` (a `.` before a digit was taken as a numeral).
    fn dots(&mut self) -> TokenKind {
        if !self.eat(b'.') {
            TokenKind::Dot
        } else if self.eat(b'.') {
            TokenKind::Ellipsis
        } else {
            TokenKind::DotDot
        }
    }

    /// A name or keyword.
    fn name(&mut self) -> TokenKind {
        let start = self.at;
        while self.peek().is_some_and(is_name_byte) {
            self.at += 1;
        }
        let word = &self.src[start..self.at];
        keyword(word).unwrap_or_else(|| TokenKind::Name(String::from_utf8_lossy(word).into_owned()))
    }

    /// A `[` token, a long string `[==[ ... ]==]`, or an invalid delimiter `[=`.
    fn bracket(&mut self, pos: Pos) -> Result<TokenKind, Diagnostic> {
        let start = self.at;
        match self.long_bracket() {
            LongBracket::Open(level) => {
                let text = self.long_string(level, true)?;
                Ok(TokenKind::Str(text))
            }
            LongBracket::NotLong => Ok(TokenKind::LBracket),
            LongBracket::Invalid => {
                let text = quote_as_c_string(self.bytes(start..self.at));
                Err(self.error_at(pos, format!("invalid long string delimiter near {text}")))
            }
        }
    }

    /// At a `[`: consumes `[` and any `=` signs, and the second `[` of an opening long
    /// bracket, saying which it was (Lua's `skip_sep`).
    fn long_bracket(&mut self) -> LongBracket {
        if !self.eat(b'[') {
            return LongBracket::NotLong;
        }
        let mut level = 0usize;
        while self.eat(b'=') {
            level += 1;
        }
        if self.eat(b'[') {
            LongBracket::Open(level)
        } else if level == 0 {
            LongBracket::NotLong
        } else {
            LongBracket::Invalid
        }
    }
}

/// What follows a `[` (see [`Lexer::long_bracket`]).
enum LongBracket {
    /// An opening long bracket of the given level.
    Open(usize),
    /// A plain `[`.
    NotLong,
    /// `[=...` without the second `[`.
    Invalid,
}

#[cfg(test)]
mod tests;
