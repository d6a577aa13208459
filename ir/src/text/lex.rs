//! The lexer of the MIR text format: identifiers (which may contain `.`), numbers,
//! byte strings, punctuation and line ends, with 1-based line and column (in
//! characters). A `;` starts a comment to the end of the line, except that after a token
//! on the same line `; line N` starts an instruction's debug information (the lexer emits
//! a marker and goes on lexing).

use super::parse::ParseError;

type PResult<T> = Result<T, ParseError>;

#[derive(Clone, PartialEq, Debug)]
pub(super) enum Tok {
    Ident(String),
    Num(String),
    Str(Vec<u8>),
    Punct(char),
    Arrow,
    Ellipsis,
    Newline,
    /// `;` starting debug information after an instruction (`; line 3 [...]`).
    DebugMark,
    Eof,
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: u32,
    pub(super) col: u32,
}

pub(super) fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Num(s) => format!("number `{s}`"),
        Tok::Str(_) => "a string".to_string(),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Arrow => "`->`".to_string(),
        Tok::Ellipsis => "`...`".to_string(),
        Tok::Newline => "end of line".to_string(),
        Tok::DebugMark => "`;` debug information".to_string(),
        Tok::Eof => "end of input".to_string(),
    }
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    line: u32,
    col: u32,
}

impl Lexer<'_> {
    fn bump(&mut self) {
        if let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            if c == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if c & 0xc0 != 0x80 {
                self.col += 1;
            }
        }
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    fn err(&self, line: u32, col: u32, message: impl Into<String>) -> ParseError {
        ParseError { line, col, message: message.into() }
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// Whether the text after a `;` is debug information (`line N ...`).
fn is_debug_comment(rest: &[u8]) -> bool {
    let mut k = 0;
    while k < rest.len() && (rest[k] == b' ' || rest[k] == b'\t') {
        k += 1;
    }
    let rest = &rest[k..];
    rest.len() >= 6
        && rest.starts_with(b"line")
        && (rest[4] == b' ' || rest[4] == b'\t')
        && rest[5..].iter().find(|&&c| c != b' ' && c != b'\t').is_some_and(|c| c.is_ascii_digit())
}

pub(super) fn lex(src: &str) -> PResult<Vec<Token>> {
    let mut lx = Lexer { src, b: src.as_bytes(), i: 0, line: 1, col: 1 };
    let mut toks = Vec::new();
    let mut line_has_token = false;
    while let Some(c) = lx.peek_at(0) {
        let (line, col) = (lx.line, lx.col);
        let tok = match c {
            b'\n' => {
                lx.bump();
                line_has_token = false;
                toks.push(Token { tok: Tok::Newline, line, col });
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                lx.bump();
                continue;
            }
            b';' => {
                if line_has_token && is_debug_comment(&lx.b[lx.i + 1..]) {
                    lx.bump();
                    Tok::DebugMark
                } else {
                    while lx.peek_at(0).is_some_and(|c| c != b'\n') {
                        lx.bump();
                    }
                    continue;
                }
            }
            b'"' => {
                lx.bump();
                let mut s = Vec::new();
                loop {
                    let Some(c) = lx.peek_at(0) else {
                        return Err(lx.err(line, col, "unterminated string"));
                    };
                    match c {
                        b'"' => {
                            lx.bump();
                            break;
                        }
                        b'\n' => return Err(lx.err(line, col, "unterminated string")),
                        b'\\' => {
                            let (el, ec) = (lx.line, lx.col);
                            lx.bump();
                            let e = lx.peek_at(0);
                            lx.bump();
                            match e {
                                Some(b'n') => s.push(b'\n'),
                                Some(b't') => s.push(b'\t'),
                                Some(b'r') => s.push(b'\r'),
                                Some(b'0') => s.push(0),
                                Some(b'\\') => s.push(b'\\'),
                                Some(b'"') => s.push(b'"'),
                                Some(b'x') => {
                                    let hex = |c: Option<u8>| c.and_then(|c| (c as char).to_digit(16));
                                    match (hex(lx.peek_at(0)), hex(lx.peek_at(1))) {
                                        (Some(h), Some(l)) => {
                                            s.push((h * 16 + l) as u8);
                                            lx.bump();
                                            lx.bump();
                                        }
                                        _ => return Err(lx.err(el, ec, "`\\x` needs two hex digits")),
                                    }
                                }
                                _ => return Err(lx.err(el, ec, "unknown escape in string")),
                            }
                        }
                        _ => {
                            s.push(c);
                            lx.bump();
                        }
                    }
                }
                Tok::Str(s)
            }
            b'(' | b')' | b'{' | b'}' | b'[' | b']' | b',' | b'=' | b':' | b'@' => {
                lx.bump();
                Tok::Punct(c as char)
            }
            b'.' => {
                if lx.peek_at(1) == Some(b'.') && lx.peek_at(2) == Some(b'.') {
                    lx.bump();
                    lx.bump();
                    lx.bump();
                    Tok::Ellipsis
                } else {
                    return Err(lx.err(line, col, "unexpected `.`"));
                }
            }
            b'-' if lx.peek_at(1) == Some(b'>') => {
                lx.bump();
                lx.bump();
                Tok::Arrow
            }
            b'-' if !lx.peek_at(1).is_some_and(|c| c.is_ascii_alphanumeric()) => {
                lx.bump();
                Tok::Punct('-')
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = lx.i;
                lx.bump();
                let hex = lx.b[start..].starts_with(b"0x") || lx.b[start..].starts_with(b"-0x");
                while let Some(c) = lx.peek_at(0) {
                    let prev = lx.b[lx.i - 1];
                    let sign_in_exponent = (c == b'+' || c == b'-') && !hex && (prev == b'e' || prev == b'E');
                    if is_ident_char(c) || sign_in_exponent {
                        lx.bump();
                    } else {
                        break;
                    }
                }
                Tok::Num(lx.src[start..lx.i].to_string())
            }
            c if is_ident_start(c) => {
                let start = lx.i;
                while lx.peek_at(0).is_some_and(is_ident_char) {
                    lx.bump();
                }
                Tok::Ident(lx.src[start..lx.i].to_string())
            }
            _ => {
                let ch = lx.src.get(lx.i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err(lx.err(line, col, format!("unexpected character {ch:?}")));
            }
        };
        line_has_token = true;
        toks.push(Token { tok, line, col });
    }
    toks.push(Token { tok: Tok::Eof, line: lx.line, col: lx.col });
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_numbers_and_punctuation() {
        let toks: Vec<Tok> = lex("v1 = fconst -1.5e-7 ; line 3\n").unwrap().into_iter().map(|t| t.tok).collect();
        assert_eq!(
            toks,
            vec![
                Tok::Ident("v1".into()),
                Tok::Punct('='),
                Tok::Ident("fconst".into()),
                Tok::Num("-1.5e-7".into()),
                Tok::DebugMark,
                Tok::Ident("line".into()),
                Tok::Num("3".into()),
                Tok::Newline,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn a_comment_on_its_own_line_is_not_debug_information() {
        let toks: Vec<Tok> = lex("; line 3\n").unwrap().into_iter().map(|t| t.tok).collect();
        assert_eq!(toks, vec![Tok::Newline, Tok::Eof]);
    }
}
