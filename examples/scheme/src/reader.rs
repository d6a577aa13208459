//! The reader: source text to data (s-expressions) with line and column.

use std::fmt;

/// A datum as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal.
    Str(String),
    /// `#t` or `#f`.
    Bool(bool),
    /// A symbol.
    Sym(String),
    /// A list `( ... )`.
    List(Vec<Sexp>),
}

/// A datum and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Sexp {
    /// What was read.
    pub datum: Datum,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl Sexp {
    /// The symbol's name, if it is one.
    pub fn sym(&self) -> Option<&str> {
        match &self.datum {
            Datum::Sym(s) => Some(s),
            _ => None,
        }
    }

    /// The list's items, if it is one.
    pub fn list(&self) -> Option<&[Sexp]> {
        match &self.datum {
            Datum::List(items) => Some(items),
            _ => None,
        }
    }
}

/// An error with its position in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name.
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: error: {}", self.file, self.line, self.col, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Nesting deeper than this is an error (the reader and the compiler recurse).
pub const MAX_DEPTH: usize = 200;

struct Reader<'s> {
    src: &'s [u8],
    pos: usize,
    line: u32,
    col: u32,
    file: &'s str,
}

/// Reads every datum of `src`.
pub fn read(src: &str, file: &str) -> Result<Vec<Sexp>, Diagnostic> {
    let mut r = Reader { src: src.as_bytes(), pos: 0, line: 1, col: 1, file };
    let mut out = Vec::new();
    loop {
        r.skip_space();
        if r.pos >= r.src.len() {
            return Ok(out);
        }
        out.push(r.datum(0)?);
    }
}

fn is_delimiter(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b'"' | b';' | b'\'')
}

impl Reader<'_> {
    fn error(&self, line: u32, col: u32, message: impl Into<String>) -> Diagnostic {
        Diagnostic { file: self.file.to_string(), line, col, message: message.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xC0 != 0x80 {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c == b';' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.bump();
                }
            } else if c.is_ascii_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    fn datum(&mut self, depth: usize) -> Result<Sexp, Diagnostic> {
        let (line, col) = (self.line, self.col);
        if depth > MAX_DEPTH {
            return Err(self.error(line, col, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let at = |datum| Sexp { datum, line, col };
        match self.peek() {
            None => Err(self.error(line, col, "unexpected end of input")),
            Some(b'(') => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match self.peek() {
                        None => return Err(self.error(line, col, "unclosed '('")),
                        Some(b')') => {
                            self.bump();
                            return Ok(at(Datum::List(items)));
                        }
                        Some(_) => items.push(self.datum(depth + 1)?),
                    }
                }
            }
            Some(b')') => Err(self.error(line, col, "unexpected ')'")),
            Some(b'\'') => {
                self.bump();
                self.skip_space();
                let quoted = self.datum(depth + 1)?;
                Ok(at(Datum::List(vec![at(Datum::Sym("quote".into())), quoted])))
            }
            Some(b'"') => {
                self.bump();
                let mut bytes = Vec::new();
                loop {
                    match self.bump() {
                        None => return Err(self.error(line, col, "unfinished string")),
                        Some(b'"') => break,
                        Some(b'\\') => match self.bump() {
                            Some(b'n') => bytes.push(b'\n'),
                            Some(b't') => bytes.push(b'\t'),
                            Some(c @ (b'\\' | b'"')) => bytes.push(c),
                            _ => return Err(self.error(self.line, self.col.saturating_sub(1), "unknown escape in string")),
                        },
                        Some(c) => bytes.push(c),
                    }
                }
                match String::from_utf8(bytes) {
                    Ok(s) => Ok(at(Datum::Str(s))),
                    Err(_) => Err(self.error(line, col, "string is not UTF-8")),
                }
            }
            Some(_) => {
                let start = self.pos;
                while self.peek().is_some_and(|c| !is_delimiter(c)) {
                    self.bump();
                }
                let word = std::str::from_utf8(&self.src[start..self.pos]).map_err(|_| self.error(line, col, "symbol is not UTF-8"))?;
                atom(word).map(at).ok_or_else(|| self.error(line, col, format!("cannot read '{word}'")))
            }
        }
    }
}

fn atom(word: &str) -> Option<Datum> {
    match word {
        "#t" | "#true" => return Some(Datum::Bool(true)),
        "#f" | "#false" => return Some(Datum::Bool(false)),
        _ if word.starts_with('#') => return None,
        _ => {}
    }
    if let Ok(n) = word.parse::<i64>() {
        return Some(Datum::Int(n));
    }
    let numeric = word.starts_with(|c: char| c.is_ascii_digit())
        || (word.len() > 1 && word.starts_with(['-', '+', '.']) && word[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.'));
    if numeric {
        return word.parse::<f64>().ok().filter(|x| x.is_finite()).map(Datum::Float);
    }
    Some(Datum::Sym(word.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Datum {
        read(src, "t").unwrap().remove(0).datum
    }

    #[test]
    fn atoms() {
        assert_eq!(one("42"), Datum::Int(42));
        assert_eq!(one("-7"), Datum::Int(-7));
        assert_eq!(one("2.5"), Datum::Float(2.5));
        assert_eq!(one(".5"), Datum::Float(0.5));
        assert_eq!(one("1e3"), Datum::Float(1000.0));
        assert_eq!(one("#t"), Datum::Bool(true));
        assert_eq!(one("vector-ref"), Datum::Sym("vector-ref".into()));
        assert_eq!(one("-"), Datum::Sym("-".into()));
        assert_eq!(one("\"a\\n\\\"b\""), Datum::Str("a\n\"b".into()));
    }

    #[test]
    fn lists_quotes_and_positions() {
        let data = read("; comment\n(define x\n  '(1 2))", "t").unwrap();
        assert_eq!((data[0].line, data[0].col), (2, 1));
        let items = data[0].list().unwrap();
        assert_eq!(items[0].sym(), Some("define"));
        let quoted = items[2].list().unwrap();
        assert_eq!(quoted[0].sym(), Some("quote"));
        assert_eq!((items[2].line, items[2].col), (3, 3));
    }

    #[test]
    fn errors_have_positions() {
        let e = read("(a\n (b", "f.scm").unwrap_err();
        assert_eq!(e.to_string(), "f.scm:2:2: error: unclosed '('");
        let e = read("x)", "f.scm").unwrap_err();
        assert_eq!((e.line, e.col, e.message.as_str()), (1, 2, "unexpected ')'"));
        assert_eq!(read("#x", "f").unwrap_err().message, "cannot read '#x'");
        assert_eq!(read("\"abc", "f").unwrap_err().message, "unfinished string");
        let deep = "(".repeat(100_000);
        assert!(read(&deep, "f").unwrap_err().message.contains("nesting"));
    }
}
