//! The MIR parser: the text format described in [`crate::text`] back to a [`Module`].
//!
//! The parser checks syntax and the numbering of blocks, instructions, snapshots and
//! pool strings, but not the IR's rules: a parsed module may be invalid (that is what
//! the verifier's test files need), so run [`crate::verify::verify_module`] on it.
//!
//! Values may be used before their definition. A value's type and [`ValueDef`] come
//! from its definition: a block parameter annotation, an instruction result (the
//! opcode's result type, the `-> ty` of an `rtcall`, `val` for `call`, unless the result
//! is annotated `vN: ty`), or a `value` line of the `detached:` section. When a value is
//! defined twice the first definition (in text order) gives its data; the verifier
//! reports the second. Gaps in the numbering of defined values are filled with
//! [`GAP_VALUE`] placeholders (which print back as `value` lines); values that are used
//! but never defined past the highest defined number are not created at all (the
//! verifier reports both kinds of use).
//!
//! The parser never panics; every problem is a [`ParseError`] with a 1-based line and
//! column (in characters).

use crate::entity::{Block, FuncId, Inst, RtId, SiteId, SnapId, StrId, Value};
use crate::function::{
    BlockCall, BlockData, Const, DebugInfo, Function, InstData, InstNode, Module, ResumeAt, RtDecl, SnapSource,
    Snapshot, ValueData, ValueDef, VarKind, VarName,
};
use crate::ops::{Format, Opcode};
use crate::rt::Tag;
use crate::text::lex::{describe, lex, Tok, Token};
use crate::text::print::{default_result_type, CANONICAL_NAN_BITS};
use crate::types::Type;

/// A syntax error with its position (1-based line and column).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

/// The data of a value whose number is skipped in the text (a gap in the numbering):
/// a `val` that claims to be a parameter of a block that cannot exist.
pub const GAP_VALUE: ValueData = ValueData { ty: Type::Val, def: ValueDef::Param(Block(u32::MAX), u32::MAX) };

/// Parses a module in the text format.
pub fn parse_module(src: &str) -> Result<Module, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0, module: Module::new(""), saw_module: false };
    p.module()?;
    Ok(p.module)
}

type PResult<T> = Result<T, ParseError>;

/// An error at a position.
fn error_at<T>((line, col): (u32, u32), message: impl Into<String>) -> PResult<T> {
    Err(ParseError { line, col, message: message.into() })
}

/// A runtime function reference: by name, or a raw id the module does not declare.
enum RtRef {
    Name(String),
    Raw(u32),
}

// ------------------------------------------------------------------------------------
// Parser

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    module: Module,
    saw_module: bool,
}

/// `prefix` followed by decimal digits (perhaps too many for a `u32`).
fn looks_like_entity(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
}

/// `prefix` followed by a decimal `u32`: `v12`, `block3`.
fn entity_number(s: &str, prefix: &str) -> Option<u32> {
    let digits = s.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A parsed instruction before ids are assigned.
struct PInst {
    explicit_id: Option<u32>,
    line: u32,
    col: u32,
    data: InstData,
    results: Vec<Value>,
    debug: DebugInfo,
}

/// A value definition, in text order.
enum DefKind {
    Param { ty: Type, block: u32, index: u32 },
    Result { ty: Type, pinst: usize, index: u32 },
    Stale(ValueData),
}

struct DefEvent {
    v: Value,
    kind: DefKind,
    line: u32,
    col: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Outside,
    Block(usize),
    Detached,
}

struct FnState {
    blocks: Vec<BlockData>,
    /// Per block, indices into `pinsts`.
    block_pinsts: Vec<Vec<usize>>,
    pinsts: Vec<PInst>,
    defs: Vec<DefEvent>,
    snapshots: Vec<Snapshot>,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.peek_n(0)
    }

    fn peek_n(&self, k: usize) -> &Tok {
        let i = (self.pos + k).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn here(&self) -> (u32, u32) {
        let t = &self.toks[self.pos.min(self.toks.len() - 1)];
        (t.line, t.col)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        error_at(self.here(), message)
    }

    fn unexpected<T>(&self, what: &str) -> PResult<T> {
        self.err(format!("expected {what}, found {}", describe(self.peek())))
    }

    fn is_punct(&self, c: char) -> bool {
        *self.peek() == Tok::Punct(c)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char) -> PResult<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            self.unexpected(&format!("`{c}`"))
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> PResult<()> {
        match self.peek() {
            Tok::Ident(s) if s == kw => {
                self.next();
                Ok(())
            }
            _ => self.unexpected(&format!("`{kw}`")),
        }
    }

    fn at_line_end(&self) -> bool {
        matches!(self.peek(), Tok::Newline | Tok::Eof)
    }

    fn expect_line_end(&mut self) -> PResult<()> {
        match self.peek() {
            Tok::Newline => {
                self.next();
                Ok(())
            }
            Tok::Eof => Ok(()),
            _ => self.unexpected("end of line"),
        }
    }

    fn skip_newlines(&mut self) {
        while *self.peek() == Tok::Newline {
            self.next();
        }
    }

    fn entity(&mut self, prefix: &str, what: &str) -> PResult<u32> {
        if let Tok::Ident(s) = self.peek() {
            if let Some(n) = entity_number(s, prefix) {
                self.next();
                return Ok(n);
            }
            if looks_like_entity(s, prefix) {
                return self.err(format!("`{s}`: the number is too large"));
            }
        }
        self.unexpected(what)
    }

    fn value(&mut self) -> PResult<Value> {
        self.entity("v", "a value (`vN`)").map(Value)
    }

    fn block_ref(&mut self) -> PResult<Block> {
        self.entity("block", "a block (`blockN`)").map(Block)
    }

    fn ty(&mut self) -> PResult<Type> {
        if let Tok::Ident(s) = self.peek() {
            if let Some(t) = Type::from_name(s) {
                self.next();
                return Ok(t);
            }
        }
        self.unexpected("a type (i1, i64, f64, ptr, val, pack)")
    }

    fn u32(&mut self) -> PResult<u32> {
        if let Tok::Num(s) = self.peek() {
            if let Ok(n) = s.parse::<u32>() {
                self.next();
                return Ok(n);
            }
            return self.err(format!("`{s}` is not a valid unsigned 32-bit number"));
        }
        self.unexpected("a number")
    }

    fn int_literal(s: &str) -> Option<i64> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, s),
        };
        if let Some(hex) = digits.strip_prefix("0x") {
            let bits = u64::from_str_radix(hex, 16).ok()?;
            let n = bits as i64;
            return Some(if neg { n.wrapping_neg() } else { n });
        }
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    fn i64(&mut self) -> PResult<i64> {
        if let Tok::Num(s) = self.peek() {
            if let Some(n) = Self::int_literal(s) {
                self.next();
                return Ok(n);
            }
            return self.err(format!("`{s}` is not a valid 64-bit integer"));
        }
        self.unexpected("an integer")
    }

    fn string(&mut self) -> PResult<Vec<u8>> {
        if let Tok::Str(s) = self.peek() {
            let s = s.clone();
            self.next();
            return Ok(s);
        }
        self.unexpected("a string")
    }

    fn utf8_string(&mut self) -> PResult<String> {
        let at = self.here();
        let bytes = self.string()?;
        String::from_utf8(bytes).or_else(|_| error_at(at, "name is not valid UTF-8"))
    }

    /// `@name`, `@"name"`, or `@N` for an id the module does not declare.
    fn rt_ref(&mut self) -> PResult<RtRef> {
        self.expect_punct('@')?;
        let at = self.here();
        match self.next() {
            Tok::Ident(s) => Ok(RtRef::Name(s)),
            Tok::Str(b) => String::from_utf8(b).map(RtRef::Name).or_else(|_| error_at(at, "name is not valid UTF-8")),
            Tok::Num(s) => {
                s.parse().map(RtRef::Raw).or_else(|_| error_at(at, format!("bad runtime function index `{s}`")))
            }
            t => error_at(at, format!("expected a runtime function name, found {}", describe(&t))),
        }
    }

    /// A pool string: by content (interned) or raw `strN`.
    fn str_ref(&mut self) -> PResult<StrId> {
        match self.peek() {
            Tok::Str(_) => {
                let s = self.string()?;
                Ok(self.module.intern(&s))
            }
            Tok::Ident(s) if entity_number(s, "str").is_some() => self.entity("str", "a string").map(StrId),
            _ => self.unexpected("a string"),
        }
    }

    /// A literal: `nil`, `true`, `false`, an integer, a float, a string.
    fn literal(&mut self) -> PResult<Const> {
        let at = self.here();
        match self.peek().clone() {
            Tok::Ident(s) => match s.as_str() {
                "nil" => {
                    self.next();
                    Ok(Const::Nil)
                }
                "true" | "false" => {
                    self.next();
                    Ok(Const::Bool(s == "true"))
                }
                "inf" => {
                    self.next();
                    Ok(Const::Float(f64::INFINITY))
                }
                "nan" => {
                    self.next();
                    Ok(Const::Float(f64::from_bits(CANONICAL_NAN_BITS)))
                }
                "f64" => {
                    self.next();
                    let at = self.here();
                    match self.next() {
                        Tok::Num(h) => match h.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()) {
                            Some(bits) => Ok(Const::Float(f64::from_bits(bits))),
                            None => error_at(at, format!("bad float bits `{h}`")),
                        },
                        t => error_at(at, format!("expected float bits (`0x...`), found {}", describe(&t))),
                    }
                }
                _ if entity_number(&s, "str").is_some() => self.str_ref().map(Const::Str),
                _ => error_at(at, format!("expected a constant, found `{s}`")),
            },
            Tok::Str(_) => self.str_ref().map(Const::Str),
            Tok::Num(s) => {
                self.next();
                if s == "-inf" {
                    return Ok(Const::Float(f64::NEG_INFINITY));
                }
                let is_hex = s.starts_with("0x") || s.starts_with("-0x");
                if !is_hex && s.bytes().any(|c| c == b'.' || c == b'e' || c == b'E') {
                    let ok = s.bytes().all(|c| c.is_ascii_digit() || b".eE+-".contains(&c));
                    match s.parse::<f64>() {
                        Ok(x) if ok => Ok(Const::Float(x)),
                        _ => error_at(at, format!("`{s}` is not a valid float")),
                    }
                } else {
                    match Self::int_literal(&s) {
                        Some(n) => Ok(Const::Int(n)),
                        None => error_at(at, format!("`{s}` is not a valid 64-bit integer")),
                    }
                }
            }
            t => error_at(at, format!("expected a constant, found {}", describe(&t))),
        }
    }

    /// A value list, closed by `close` (or by the end of the line when `None`); only
    /// the last value may carry the spread marker `...`.
    fn value_list(&mut self, close: Option<char>, allow_spread: bool) -> PResult<(Vec<Value>, bool)> {
        let mut args = Vec::new();
        let at_close = |p: &Parser| match close {
            Some(c) => p.is_punct(c),
            None => matches!(p.peek(), Tok::Newline | Tok::Eof | Tok::DebugMark),
        };
        if at_close(self) {
            return Ok((args, false));
        }
        loop {
            if *self.peek() == Tok::Ellipsis {
                if !allow_spread {
                    return self.err("a spread (`...`) is not allowed here");
                }
                self.next();
                if !at_close(self) {
                    args.push(self.value()?);
                }
                if !at_close(self) {
                    return self.err("a spread (`...`) must be the last operand");
                }
                return Ok((args, true));
            }
            args.push(self.value()?);
            if at_close(self) {
                return Ok((args, false));
            }
            self.expect_punct(',')?;
        }
    }

    fn paren_values(&mut self, allow_spread: bool) -> PResult<(Vec<Value>, bool)> {
        self.expect_punct('(')?;
        let r = self.value_list(Some(')'), allow_spread)?;
        self.expect_punct(')')?;
        Ok(r)
    }

    fn block_call(&mut self) -> PResult<BlockCall> {
        let block = self.block_ref()?;
        let args = if self.is_punct('(') { self.paren_values(false)?.0 } else { Vec::new() };
        Ok(BlockCall { block, args })
    }

    fn opt_site(&mut self) -> PResult<Option<SiteId>> {
        if self.eat_punct(',') {
            Ok(Some(SiteId(self.entity("site", "a site (`siteN`)")?)))
        } else {
            Ok(None)
        }
    }

    fn var_name(&mut self) -> PResult<Option<VarName>> {
        if self.eat_punct('-') {
            return Ok(None);
        }
        let kind = match self.peek() {
            Tok::Ident(s) => VarKind::from_name(s),
            _ => None,
        };
        let Some(kind) = kind else {
            return self.unexpected("a variable kind (local, global, field, upvalue, method, constant) or `-`");
        };
        self.next();
        Ok(Some(VarName { kind, name: self.str_ref()? }))
    }

    fn debug_info(&mut self) -> PResult<DebugInfo> {
        let mut d = DebugInfo::default();
        if *self.peek() != Tok::DebugMark {
            return Ok(d);
        }
        self.next();
        self.expect_keyword("line")?;
        d.line = self.u32()?;
        if self.eat_punct('[') {
            d.names[0] = self.var_name()?;
            if self.eat_punct(',') {
                d.names[1] = self.var_name()?;
            }
            self.expect_punct(']')?;
        }
        Ok(d)
    }

    // -- module ---------------------------------------------------------------------------

    fn module(&mut self) -> PResult<()> {
        loop {
            self.skip_newlines();
            let tok = self.peek().clone();
            match tok {
                Tok::Eof => return Ok(()),
                Tok::Ident(s) if s == "module" => {
                    if self.saw_module || !self.module.functions.is_empty() {
                        return self.err("`module` must come first, once");
                    }
                    self.saw_module = true;
                    self.next();
                    self.module.name = self.utf8_string()?;
                    self.expect_line_end()?;
                }
                Tok::Ident(s) if entity_number(&s, "str").is_some() && *self.peek_n(1) == Tok::Punct('=') => {
                    let n = self.entity("str", "a string id")?;
                    self.next();
                    let at = self.here();
                    let s = self.string()?;
                    let before = self.module.strings.len();
                    let id = self.module.intern(&s);
                    if id.index() != before || n as usize != before {
                        return error_at(
                            at,
                            format!(
                                "string pool entry str{n} is out of order or a duplicate (expected str{before} and a new string)"
                            ),
                        );
                    }
                    self.expect_line_end()?;
                }
                Tok::Ident(s) if s == "rt" => {
                    self.next();
                    let at = self.here();
                    let name = match self.rt_ref()? {
                        RtRef::Name(name) => name,
                        RtRef::Raw(_) => return error_at(at, "a runtime function declaration needs a name"),
                    };
                    if self.module.runtime.iter().any(|d| d.name == name) {
                        return error_at(at, format!("runtime function @{name} is declared twice"));
                    }
                    if *self.peek() != Tok::Arrow {
                        return self.unexpected("`->`");
                    }
                    self.next();
                    let ret = self.ty()?;
                    self.module.runtime.push(RtDecl { name, ret });
                    self.expect_line_end()?;
                }
                Tok::Ident(s) if s == "function" => self.function()?,
                _ => return self.unexpected("`module`, `strN = \"...\"`, `rt` or `function`"),
            }
        }
    }

    fn function(&mut self) -> PResult<()> {
        self.expect_keyword("function")?;
        let expected = self.module.functions.len();
        let (line, col) = self.here();
        let n = self.entity("fn", "a function id (`fnN`)")?;
        if n as usize != expected {
            return error_at(
                (line, col),
                format!("expected fn{expected}, found fn{n} (functions must appear in order)"),
            );
        }
        let mut f = Function::new(self.utf8_string()?);
        self.expect_punct('(')?;
        if !self.is_punct(')') {
            loop {
                let field = match self.peek() {
                    Tok::Ident(s) => s.clone(),
                    _ => return self.unexpected("a function attribute (params, vararg, upvals, sites, line)"),
                };
                self.next();
                match field.as_str() {
                    "params" => f.params = self.u32()?,
                    "vararg" => f.vararg = true,
                    "upvals" => f.upvals = self.u32()?,
                    "sites" => f.sites = self.u32()?,
                    "line" => f.line = self.u32()?,
                    other => return self.err(format!("unknown function attribute `{other}`")),
                }
                if !self.eat_punct(',') {
                    break;
                }
            }
        }
        self.expect_punct(')')?;
        self.expect_punct('{')?;
        self.expect_line_end()?;

        let mut st = FnState {
            blocks: Vec::new(),
            block_pinsts: Vec::new(),
            pinsts: Vec::new(),
            defs: Vec::new(),
            snapshots: Vec::new(),
        };
        let mut mode = Mode::Outside;
        loop {
            self.skip_newlines();
            let tok = self.peek().clone();
            match tok {
                Tok::Punct('}') => {
                    self.next();
                    self.expect_line_end()?;
                    break;
                }
                Tok::Eof => return self.err("unterminated function body (missing `}`)"),
                Tok::Ident(s) if s == "detached" && *self.peek_n(1) == Tok::Punct(':') => {
                    self.next();
                    self.next();
                    self.expect_line_end()?;
                    mode = Mode::Detached;
                }
                Tok::Ident(s) if looks_like_entity(&s, "block") => {
                    self.block_header(&mut st)?;
                    mode = Mode::Block(st.blocks.len() - 1);
                }
                Tok::Ident(s) if looks_like_entity(&s, "snap") && *self.peek_n(1) == Tok::Punct('=') => {
                    self.snapshot(&mut st)?;
                    mode = Mode::Outside;
                }
                Tok::Ident(s)
                    if s == "value" && matches!(self.peek_n(1), Tok::Ident(v) if entity_number(v, "v").is_some()) =>
                {
                    if mode != Mode::Detached {
                        return self.err("`value` lines belong in the `detached:` section");
                    }
                    self.stale_value(&mut st)?;
                }
                _ => {
                    if mode == Mode::Outside {
                        return self.unexpected("a block header (`blockN:`), `detached:`, `snapN = ...` or `}`");
                    }
                    let idx = self.instruction(&mut st)?;
                    if let Mode::Block(b) = mode {
                        st.block_pinsts[b].push(idx);
                    }
                }
            }
        }
        self.finish_function(f, st)
    }

    fn block_header(&mut self, st: &mut FnState) -> PResult<()> {
        let (line, col) = self.here();
        let n = self.block_ref()?;
        let expected = st.blocks.len();
        if n.index() != expected {
            return error_at((line, col), format!("expected block{expected}, found {n} (blocks must appear in order)"));
        }
        let mut data = BlockData::default();
        if self.eat_punct('(') && !self.eat_punct(')') {
            loop {
                let (line, col) = self.here();
                let v = self.value()?;
                self.expect_punct(':')?;
                let ty = self.ty()?;
                let kind = DefKind::Param { ty, block: n.0, index: data.params.len() as u32 };
                st.defs.push(DefEvent { v, kind, line, col });
                data.params.push(v);
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        if let Tok::Ident(s) = self.peek() {
            if s == "loop" {
                self.next();
                data.loop_header = true;
            }
        }
        self.expect_punct(':')?;
        self.expect_line_end()?;
        st.blocks.push(data);
        st.block_pinsts.push(Vec::new());
        Ok(())
    }

    fn snapshot(&mut self, st: &mut FnState) -> PResult<()> {
        let (line, col) = self.here();
        let n = self.entity("snap", "a snapshot (`snapN`)")?;
        if n as usize != st.snapshots.len() {
            return error_at(
                (line, col),
                format!("expected snap{}, found snap{n} (snapshots must appear in order)", st.snapshots.len()),
            );
        }
        self.expect_punct('=')?;
        self.expect_keyword("resume")?;
        let block = self.block_ref()?;
        self.expect_punct(':')?;
        let index = self.u32()?;
        let blame = match self.peek() {
            Tok::Ident(s) if s == "blame" => {
                self.next();
                Some(SiteId(self.entity("site", "a site (`siteN`)")?))
            }
            _ => None,
        };
        let unreached = matches!(self.peek(), Tok::Ident(s) if s == "unreached");
        if unreached {
            self.next();
        }
        self.expect_punct('{')?;
        let mut entries = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat_punct('}') {
                break;
            }
            let key = self.value()?;
            self.expect_punct('=')?;
            let src = match self.peek() {
                Tok::Ident(s) if s == "const" => {
                    self.next();
                    SnapSource::Const(self.literal()?)
                }
                _ => SnapSource::Value(self.value()?),
            };
            entries.push((key, src));
            self.skip_newlines();
            if self.eat_punct('}') {
                break;
            }
            self.expect_punct(',')?;
        }
        self.expect_line_end()?;
        st.snapshots.push(Snapshot { resume: ResumeAt { block, index }, entries, blame, unreached });
        Ok(())
    }

    fn stale_value(&mut self, st: &mut FnState) -> PResult<()> {
        self.expect_keyword("value")?;
        let (line, col) = self.here();
        let v = self.value()?;
        self.expect_punct(':')?;
        let ty = self.ty()?;
        self.expect_punct(',')?;
        let def = match self.peek() {
            Tok::Ident(s) if s == "param" => {
                self.next();
                let b = self.block_ref()?;
                self.expect_punct(':')?;
                ValueDef::Param(b, self.u32()?)
            }
            Tok::Ident(s) if s == "result" => {
                self.next();
                let i = self.entity("inst", "an instruction (`instN`)")?;
                self.expect_punct(':')?;
                ValueDef::Result(Inst(i), self.u32()?)
            }
            _ => return self.unexpected("`param blockN:I` or `result instN:I`"),
        };
        self.expect_line_end()?;
        st.defs.push(DefEvent { v, kind: DefKind::Stale(ValueData { ty, def }), line, col });
        Ok(())
    }

    /// Parses one instruction line; returns its index in `st.pinsts`.
    fn instruction(&mut self, st: &mut FnState) -> PResult<usize> {
        let pidx = st.pinsts.len();
        let (line, col) = self.here();
        let mut explicit_id = None;
        if let Tok::Ident(s) = self.peek() {
            if entity_number(s, "inst").is_some() && *self.peek_n(1) == Tok::Punct(':') {
                explicit_id = Some(self.entity("inst", "an instruction id")?);
                self.next();
            }
        }
        // Results, with optional type annotations.
        let mut results: Vec<(Value, Option<Type>, u32, u32)> = Vec::new();
        if matches!(self.peek(), Tok::Ident(s) if looks_like_entity(s, "v")) {
            loop {
                let (vl, vc) = self.here();
                let v = self.value()?;
                let ty = if self.eat_punct(':') { Some(self.ty()?) } else { None };
                results.push((v, ty, vl, vc));
                if self.eat_punct('=') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        let op = match self.peek() {
            Tok::Ident(s) => match Opcode::from_mnemonic(s) {
                Some(op) => op,
                None => return self.err(format!("unknown opcode `{s}`")),
            },
            _ => return self.unexpected("an opcode"),
        };
        self.next();
        let mut declared = Type::Val;
        let data = match op.format() {
            Format::Nullary => InstData::Nullary { op },
            Format::NullaryImm => InstData::NullaryImm { op, imm: self.i64()? },
            Format::Unary => InstData::Unary { op, arg: self.value()? },
            Format::UnaryImm => {
                let arg = self.value()?;
                self.expect_punct(',')?;
                let imm = match op {
                    Opcode::IsFn => self.entity("fn", "a function (`fnN`)")? as i64,
                    _ => self.i64()?,
                };
                InstData::UnaryImm { op, arg, imm }
            }
            Format::Binary => {
                let a = self.value()?;
                self.expect_punct(',')?;
                InstData::Binary { op, args: [a, self.value()?] }
            }
            Format::Ternary => {
                let a = self.value()?;
                self.expect_punct(',')?;
                let b = self.value()?;
                self.expect_punct(',')?;
                InstData::Ternary { op, args: [a, b, self.value()?] }
            }
            Format::Const => InstData::Const { op, imm: self.literal()? },
            Format::Call => {
                let callee = self.value()?;
                let (args, spread) = self.paren_values(true)?;
                let site = self.opt_site()?;
                InstData::Call { op, callee, args, spread, site }
            }
            Format::RtCall => {
                let at = self.here();
                let r = self.rt_ref()?;
                let (args, spread) = self.paren_values(true)?;
                if *self.peek() != Tok::Arrow {
                    return self.unexpected("`->` and the result type");
                }
                self.next();
                declared = self.ty()?;
                let rt = match r {
                    RtRef::Raw(n) => RtId(n),
                    RtRef::Name(name) => match self.module.runtime.iter().position(|d| d.name == name) {
                        Some(i) => {
                            let ret = self.module.runtime[i].ret;
                            if ret != declared {
                                return error_at(at, format!("@{name} is declared `-> {ret}`, not `-> {declared}`"));
                            }
                            RtId::new(i)
                        }
                        None => self.module.declare_rt(&name, declared),
                    },
                };
                let site = self.opt_site()?;
                InstData::RtCall { op, rt, args, spread, site }
            }
            Format::Closure => {
                let func = FuncId(self.entity("fn", "a function (`fnN`)")?);
                let (args, _) = self.paren_values(false)?;
                InstData::Closure { op, func, args }
            }
            Format::Jump => InstData::Jump { op, dest: self.block_call()? },
            Format::Brif => {
                let cond = self.value()?;
                self.expect_punct(',')?;
                let then_dest = self.block_call()?;
                self.expect_punct(',')?;
                let else_dest = self.block_call()?;
                InstData::Brif { op, cond, then_dest, else_dest }
            }
            Format::Return => {
                let (args, spread) = self.value_list(None, true)?;
                InstData::Return { op, args, spread }
            }
            Format::Guard => {
                let arg = self.value()?;
                self.expect_punct(',')?;
                let imm = match self.peek() {
                    Tok::Ident(_) if op == Opcode::GuardFn => self.entity("fn", "a function (`fnN`)")? as i64,
                    Tok::Ident(s) => match Tag::from_name(s) {
                        Some(t) => {
                            self.next();
                            t as i64
                        }
                        None => return self.err(format!("unknown tag `{s}`")),
                    },
                    _ => self.i64()?,
                };
                self.expect_punct(',')?;
                let snap = SnapId(self.entity("snap", "a snapshot (`snapN`)")?);
                InstData::Guard { op, arg, imm, snap }
            }
        };
        let debug = self.debug_info()?;
        if !self.at_line_end() {
            return self.unexpected("end of line");
        }
        self.expect_line_end()?;
        let default_ty = default_result_type(op, declared);
        for (i, &(v, ty, line, col)) in results.iter().enumerate() {
            let kind = DefKind::Result { ty: ty.unwrap_or(default_ty), pinst: pidx, index: i as u32 };
            st.defs.push(DefEvent { v, kind, line, col });
        }
        st.pinsts.push(PInst {
            explicit_id,
            line,
            col,
            data,
            results: results.into_iter().map(|r| r.0).collect(),
            debug,
        });
        Ok(pidx)
    }

    /// Assigns instruction ids, creates the values and assembles the function.
    fn finish_function(&mut self, mut f: Function, st: FnState) -> PResult<()> {
        // Instruction ids: the previous one plus one unless given as `instN:`; they
        // must be exactly 0..n.
        let n = st.pinsts.len();
        let mut ids = Vec::with_capacity(n);
        let mut slots: Vec<Option<usize>> = vec![None; n];
        let mut next = 0u64;
        for (k, p) in st.pinsts.iter().enumerate() {
            let id = p.explicit_id.map_or(next, u64::from);
            let err = |message: String| error_at((p.line, p.col), message);
            if id >= n as u64 {
                return err(format!(
                    "instruction id inst{id} out of range: the function has {n} instructions, numbered inst0..inst{}",
                    n.saturating_sub(1)
                ));
            }
            if slots[id as usize].is_some() {
                return err(format!("instruction id inst{id} is used twice"));
            }
            slots[id as usize] = Some(k);
            ids.push(Inst(id as u32));
            next = id + 1;
        }

        // Values.
        let defined_count = st.defs.len();
        let limit = defined_count.saturating_mul(4) + 4096;
        let mut len = 0;
        for d in &st.defs {
            if d.v.index() >= limit {
                return error_at(
                    (d.line, d.col),
                    format!("value numbers are too sparse: {} in a function with {defined_count} definitions", d.v),
                );
            }
            len = len.max(d.v.index() + 1);
        }
        let mut values: Vec<Option<ValueData>> = vec![None; len];
        for d in &st.defs {
            let v = d.v;
            let data = match d.kind {
                DefKind::Param { ty, block, index } => ValueData { ty, def: ValueDef::Param(Block(block), index) },
                DefKind::Result { ty, pinst, index } => ValueData { ty, def: ValueDef::Result(ids[pinst], index) },
                DefKind::Stale(data) => {
                    if values[v.index()].is_some() {
                        return error_at((d.line, d.col), format!("{v} is already defined"));
                    }
                    data
                }
            };
            let slot = &mut values[v.index()];
            if slot.is_none() {
                *slot = Some(data);
            }
        }
        f.values = values.into_iter().map(|d| d.unwrap_or(GAP_VALUE)).collect();

        // Instructions, in id order.
        let mut pinsts: Vec<Option<PInst>> = st.pinsts.into_iter().map(Some).collect();
        f.insts = Vec::with_capacity(n);
        for slot in slots {
            let Some(k) = slot else {
                return self.err("internal error: instruction ids are not dense");
            };
            let Some(p) = pinsts[k].take() else {
                return self.err("internal error: instruction used twice");
            };
            f.insts.push(InstNode { data: p.data, results: p.results, debug: p.debug });
        }
        f.blocks = st.blocks;
        for (b, list) in st.block_pinsts.iter().enumerate() {
            f.blocks[b].insts = list.iter().map(|&k| ids[k]).collect();
        }
        f.snapshots = st.snapshots;
        self.module.functions.push(f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_placeholders() {
        let m = parse_module("function fn0 \"f\" (params 0) {\nblock0:\n    v3 = iconst 1\n    return\n}\n").unwrap();
        let f = &m.functions[0];
        assert_eq!(f.values.len(), 4);
        assert_eq!(f.values[0], GAP_VALUE);
        assert_eq!(f.values[3].ty, Type::I64);
    }
}
