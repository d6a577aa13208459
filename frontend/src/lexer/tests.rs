//! Unit tests of the lexer: numerals, escapes, long brackets, line counting, errors.

use super::{numeral_value, Numeral};
use super::{Lexer, Token, TokenKind};

/// All tokens of `src` (without the final end-of-input token), or the error message.
fn lex(src: &str) -> Result<Vec<Token>, String> {
    let mut lexer = Lexer::new(src.as_bytes(), "t.lua");
    let mut tokens = Vec::new();
    loop {
        let tok = lexer.next_token().map_err(|d| d.message)?;
        if tok.kind == TokenKind::Eof {
            return Ok(tokens);
        }
        tokens.push(tok);
    }
}

fn kinds(src: &str) -> Vec<TokenKind> {
    lex(src).expect("lexes").into_iter().map(|t| t.kind).collect()
}

fn one(src: &str) -> TokenKind {
    let mut all = kinds(src);
    assert_eq!(all.len(), 1, "{src:?} gives one token");
    all.remove(0)
}

fn string(src: &str) -> Vec<u8> {
    match one(src) {
        TokenKind::Str(s) => s,
        other => panic!("{src:?} is not a string: {other:?}"),
    }
}

fn error(src: &str) -> String {
    lex(src).expect_err("fails")
}

#[test]
fn decimal_integers_and_overflow_to_float() {
    assert_eq!(one("0"), TokenKind::Int(0));
    assert_eq!(one("00012"), TokenKind::Int(12));
    assert_eq!(one("9223372036854775807"), TokenKind::Int(i64::MAX));
    assert_eq!(one("9223372036854775808"), TokenKind::Float(9.223372036854776e18));
    assert_eq!(one("123456789012345678901234567890"), TokenKind::Float(1.2345678901234568e29));
}

#[test]
fn hex_integers_wrap() {
    assert_eq!(one("0xA"), TokenKind::Int(10));
    assert_eq!(one("0Xff"), TokenKind::Int(255));
    assert_eq!(one("0x7fffffffffffffff"), TokenKind::Int(i64::MAX));
    assert_eq!(one("0xffffffffffffffff"), TokenKind::Int(-1));
    assert_eq!(one("0x10000000000000000"), TokenKind::Int(0));
    assert_eq!(one("0xffffffffffffffffff"), TokenKind::Int(-1));
}

#[test]
fn decimal_floats() {
    for (src, value) in [
        ("1e2", 100.0),
        (".5", 0.5),
        ("1.", 1.0),
        ("1.e5", 100000.0),
        ("3e-2", 0.03),
        ("1E+308", 1e308),
        ("1e309", f64::INFINITY),
        ("0.1", 0.1),
        ("3.0", 3.0),
    ] {
        assert_eq!(one(src), TokenKind::Float(value), "{src}");
    }
}

#[test]
fn hex_floats_round_like_strtod() {
    // Expected values are what lua5.4 (glibc strtod) gives (printed with %.17g,
    // written here in their shortest exact form).
    for (src, value) in [
        ("0x1p4", 16.0),
        ("0xA.8p0", 10.5),
        ("0x.1", 0.0625),
        ("0x1P-2", 0.25),
        ("0x1.", 1.0),
        ("0x1p-1074", 5e-324),
        ("0x1p-1075", 0.0),
        ("0x1.8p-1075", 5e-324),
        ("0x3.p-1076", 5e-324),
        ("0x1p1024", f64::INFINITY),
        ("0x1.fffffffffffff8p1023", f64::INFINITY),
        ("0x1.fffffffffffff8p0", 2.0),
        ("0x1.fffffffffffff7ffffp0", 1.9999999999999998),
        ("0x1.00000000000008p0", 1.0),
        ("0x1.000000000000080000000001p0", 1.0000000000000002),
        ("0x123456789abcdef0123p0", 5.373003642731685e21),
        ("0x.0000000000000000000001p0", 3.2311742677852644e-27),
        ("0xffffffffffffffffffff.ffp-10", 1.1805916207174113e21),
        ("0x1.ffffffffffffep-1023", 2.225073858507201e-308),
        ("0x1.fffffffffffffp-1023", 2.2250738585072014e-308),
        ("0x0p99999999999", 0.0),
        ("0x1p-99999999999", 0.0),
    ] {
        assert_eq!(one(src), TokenKind::Float(value), "{src}");
    }
}

#[test]
fn malformed_numerals_are_reported_whole() {
    assert_eq!(error("x = 3x"), "malformed number near '3x'");
    assert_eq!(error("0x"), "malformed number near '0x'");
    assert_eq!(error("1..2"), "malformed number near '1..2'");
    assert_eq!(error("3.e"), "malformed number near '3.e'");
    assert_eq!(error("3abc"), "malformed number near '3abc'");
    assert_eq!(error("0x1p"), "malformed number near '0x1p'");
    assert_eq!(error("1e+"), "malformed number near '1e+'");
    assert_eq!(error("1_000"), "malformed number near '1_'");
    assert_eq!(numeral_value(b"1.2.3"), None);
    assert_eq!(numeral_value(b"0x1.2.3"), None);
    assert_eq!(numeral_value(b""), None);
    assert_eq!(numeral_value(b"0x"), None);
    assert_eq!(numeral_value(b"inf"), None);
    assert_eq!(numeral_value(b"0x10"), Some(Numeral::Int(16)));
}

#[test]
fn numerals_next_to_operators() {
    use TokenKind::*;
    assert_eq!(kinds("1 ..2"), vec![Int(1), DotDot, Int(2)]);
    assert_eq!(kinds("a..5"), vec![Name("a".into()), DotDot, Int(5)]);
    assert_eq!(kinds("0x1e+5"), vec![Int(0x1e), Plus, Int(5)]);
    assert_eq!(kinds("2^-3"), vec![Int(2), Caret, Minus, Int(3)]);
    assert_eq!(kinds("t[1]"), vec![Name("t".into()), LBracket, Int(1), RBracket]);
}

#[test]
fn symbols_and_keywords() {
    use TokenKind::*;
    let src = "+ - * / // % ^ # & ~ | << >> == ~= <= >= < > = ( ) { } [ ] :: ; : , . .. ...";
    let expected = vec![
        Plus,
        Minus,
        Star,
        Slash,
        DoubleSlash,
        Percent,
        Caret,
        Hash,
        Ampersand,
        Tilde,
        Pipe,
        ShiftLeft,
        ShiftRight,
        Equal,
        NotEqual,
        LessEqual,
        GreaterEqual,
        Less,
        Greater,
        Assign,
        LParen,
        RParen,
        LBrace,
        RBrace,
        LBracket,
        RBracket,
        DoubleColon,
        Semicolon,
        Colon,
        Comma,
        Dot,
        DotDot,
        Ellipsis,
    ];
    assert_eq!(kinds(src), expected);
    assert_eq!(
        kinds("and break goto elseif until _x x1"),
        vec![And, Break, Goto, Elseif, Until, Name("_x".into()), Name("x1".into())]
    );
    assert_eq!(kinds("@ $ \x01 \u{e9}"), vec![Other(b'@'), Other(b'$'), Other(1), Other(0xc3), Other(0xa9)]);
}

#[test]
fn token_descriptions_follow_lua() {
    assert_eq!(TokenKind::End.describe(), "'end'");
    assert_eq!(TokenKind::Name(String::new()).describe(), "<name>");
    assert_eq!(TokenKind::Eof.describe(), "<eof>");
    assert_eq!(TokenKind::Other(b'@').describe(), "'@'");
    assert_eq!(TokenKind::Other(0x80).describe(), "'<\\128>'");
}

#[test]
fn simple_escapes() {
    assert_eq!(string(r#""\a\b\f\n\r\t\v\\\"\'""#), b"\x07\x08\x0c\n\r\t\x0b\\\"'");
    assert_eq!(string("'it'"), b"it");
    assert_eq!(string(r#"'say "hi"'"#), b"say \"hi\"");
}

#[test]
fn numeric_escapes() {
    assert_eq!(string(r#""\65\066\0677\0\255""#), b"AB\x437\x00\xff");
    assert_eq!(string(r#""\x41\x7a\xFF""#), b"Az\xff");
    assert_eq!(string(r#""\u{41}\u{e9}\u{20AC}\u{10FFFF}""#), "A\u{e9}\u{20ac}\u{10ffff}".as_bytes());
    assert_eq!(string(r#""\u{7FFFFFFF}""#), b"\xfd\xbf\xbf\xbf\xbf\xbf");
    assert_eq!(string(r#""\u{000000041}""#), b"A");
}

#[test]
fn line_continuations_and_z() {
    assert_eq!(string("\"a\\\nb\""), b"a\nb");
    assert_eq!(string("\"a\\\r\nb\""), b"a\nb");
    assert_eq!(string("\"a\\z  \n\t  b\""), b"ab");
    let toks = lex("\"a\\z\n\n\"\nx").expect("lexes");
    assert_eq!(toks[1].pos.line, 4);
}

#[test]
fn escape_errors() {
    assert_eq!(error(r#"x = "abc\q""#), r#"invalid escape sequence near '"abc\q'"#);
    assert_eq!(error(r#""\xZZ""#), r#"hexadecimal digit expected near '"\xZ'"#);
    assert_eq!(error(r#""\x5""#), r#"hexadecimal digit expected near '"\x5"'"#);
    assert_eq!(error(r#""\u{110000000}""#), r#"UTF-8 value too large near '"\u{110000000'"#);
    assert_eq!(error(r#""\u{12""#), r#"missing '}' near '"\u{12"'"#);
    assert_eq!(error(r#""\u12""#), r#"missing '{' near '"\u1'"#);
    assert_eq!(error(r#""\u{}""#), r#"hexadecimal digit expected near '"\u{}'"#);
    assert_eq!(error(r#""\300""#), r#"decimal escape too large near '"\300"'"#);
    assert_eq!(error("\"\\"), "unfinished string near <eof>");
    // What came before the bad escape is shown decoded, as Lua's buffer holds it.
    assert_eq!(error(r#""\x41\x4""#), r#"hexadecimal digit expected near '"A\x4"'"#);
}

#[test]
fn unfinished_strings() {
    assert_eq!(error("x = \"abc"), "unfinished string near <eof>");
    assert_eq!(error("x = 'abc\nd'"), "unfinished string near ''abc'");
    assert_eq!(error("x = 'a\\tb\n'"), "unfinished string near ''a\tb'");
    assert_eq!(error("x = [==[ abc ]=]"), "unfinished long string (starting at line 1) near <eof>");
    assert_eq!(error("--[==[ abc\n"), "unfinished long comment (starting at line 1) near <eof>");
    assert_eq!(error("x = [=abc"), "invalid long string delimiter near '[='");
}

#[test]
fn long_strings() {
    assert_eq!(string("[[abc]]"), b"abc");
    assert_eq!(string("[[\nabc]]"), b"abc");
    assert_eq!(string("[[\r\nabc\r\ndef]]"), b"abc\ndef");
    assert_eq!(string("[==[a]]b]=]c]===]d]==]"), b"a]]b]=]c]===]d");
    assert_eq!(string("[=[x]]=]"), b"x]");
    assert_eq!(string("[[a\\n]]"), b"a\\n");
    assert_eq!(string("[[]]"), b"");
}

#[test]
fn comments() {
    use TokenKind::*;
    assert_eq!(kinds("a -- comment\nb"), vec![Name("a".into()), Name("b".into())]);
    assert_eq!(kinds("a --[[ long\n comment ]] b"), vec![Name("a".into()), Name("b".into())]);
    assert_eq!(kinds("a --[==[ ]] ]==] b"), vec![Name("a".into()), Name("b".into())]);
    assert_eq!(kinds("a --[= not long\nb"), vec![Name("a".into()), Name("b".into())]);
    assert_eq!(kinds("a --"), vec![Name("a".into())]);
}

#[test]
fn line_and_column_counting() {
    let toks = lex("a\nb\r\nc\n\rd\re\r\r f").expect("lexes");
    let at: Vec<(u32, u32)> = toks.iter().map(|t| (t.pos.line, t.pos.col)).collect();
    assert_eq!(at, vec![(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (7, 2)]);
    let toks = lex("x = [[\none\ntwo]] y").expect("lexes");
    assert_eq!((toks[3].pos.line, toks[3].pos.col), (3, 7));
}

#[test]
fn shebang_and_bom_are_skipped() {
    let toks = lex("#!/usr/bin/lua\nx").expect("lexes");
    assert_eq!((toks.len(), toks[0].pos.line), (1, 2));
    let toks = lex("\u{feff}x").expect("lexes");
    assert_eq!((&toks[0].kind, toks[0].pos.col), (&TokenKind::Name("x".into()), 1));
    assert_eq!(kinds("#"), vec![]);
}

#[test]
fn diagnostics_quote_the_line() {
    let mut lexer = Lexer::new(b"x = 1\ny = \"abc\nz", "t.lua");
    let err = loop {
        match lexer.next_token() {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    // Like Lua, the error is where the lexer gave up: the end of the line.
    assert_eq!((err.line, err.col, err.source_line.as_str()), (2, 9, "y = \"abc"));
}
