//! The parser: tokens to a scope-resolved [`Chunk`].
//!
//! A recursive-descent parser shaped like Lua's `lparser.c`, so that it accepts the
//! same programs and reports the same errors with the same wording. Names are
//! resolved while parsing (there is no separate pass): each function being parsed
//! has a `FuncState` with its active locals, and a name not found there is
//! looked up in the enclosing functions and threaded through as an upvalue.
//!
//! The parser never panics and its recursion is bounded: every statement and every
//! sub-expression enters a "syntax level", and more than [`MAX_LEVELS`] of them is an
//! error, as in Lua. Long left-associative chains (`a+b+c+...`, `a.b.c...`) do not
//! recurse while parsing but do build deep trees, which later passes walk
//! recursively; they count towards a separate limit, [`MAX_TREE_DEPTH`].

mod expr;
mod scope;
mod stat;

use crate::ast::{Chunk, FuncBody, Pos};
use crate::diag::Diagnostic;
use crate::lexer::{Lexer, Token, TokenKind};
use scope::FuncState;

/// How deeply statements and expressions may nest (Lua's `LUAI_MAXCCALLS`).
pub const MAX_LEVELS: u32 = 200;

/// How deep the syntax tree may get, counting both nesting and the links of
/// operator and suffix chains; keeps recursive walks of the tree within the stack.
pub const MAX_TREE_DEPTH: u32 = 1000;

/// Parse errors are boxed inside the parser so that `Result`s stay small and the
/// recursive functions' stack frames with them.
type PResult<T> = Result<T, Box<Diagnostic>>;

/// Levels the parser allows itself on the caller's stack. Real programs stay far
/// below this; at about 10 KiB per level in unoptimized builds it needs well under
/// 1 MiB, which any thread has.
const LEVELS_ON_CALLER_STACK: u32 = 64;

/// Stack for the helper thread that parses inputs nested deeper than
/// [`LEVELS_ON_CALLER_STACK`], enough for [`MAX_LEVELS`] with a wide margin.
/// Reserving it only costs address space; pages are committed as they are touched.
const HELPER_STACK_BYTES: usize = 16 << 20;

/// Parses a whole chunk of Lua source and resolves its names. `file` is the name used
/// in diagnostics.
///
/// Parsing runs on the caller's stack with a modest nesting limit; an input that
/// nests deeper is parsed again on a helper thread with a stack large enough for
/// the full [`MAX_LEVELS`], so no input can overflow the caller's stack (starting a
/// thread for every parse would cost more than parsing a small file).
pub fn parse(source: &[u8], file: &str) -> Result<Chunk, Diagnostic> {
    match parse_with_limit(source, file, LEVELS_ON_CALLER_STACK) {
        Err(Failure::TooDeep(_)) => parse_on_helper_thread(source, file),
        Err(Failure::Error(diag)) => Err(*diag),
        Ok(chunk) => Ok(chunk),
    }
}

/// [`parse`] with the full nesting limit, on a thread with a large stack (or, if no
/// thread can be started, on the caller's).
fn parse_on_helper_thread(source: &[u8], file: &str) -> Result<Chunk, Diagnostic> {
    let full = || match parse_with_limit(source, file, MAX_LEVELS) {
        Ok(chunk) => Ok(chunk),
        Err(Failure::Error(diag) | Failure::TooDeep(diag)) => Err(*diag),
    };
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("lua-parser".into())
            .stack_size(HELPER_STACK_BYTES)
            .spawn_scoped(scope, full);
        match worker {
            // The parser does not panic; if it ever did, re-raise the panic here.
            Ok(handle) => handle.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
            Err(_) => full(),
        }
    })
}

/// Why [`parse_with_limit`] failed.
enum Failure {
    /// A syntax error.
    Error(Box<Diagnostic>),
    /// The input nests deeper than the limit asked for, which was below
    /// [`MAX_LEVELS`] (never returned for the full limit).
    TooDeep(Box<Diagnostic>),
}

/// Parses on the current thread, allowing `max_levels` nested syntax levels.
fn parse_with_limit(source: &[u8], file: &str, max_levels: u32) -> Result<Chunk, Failure> {
    let mut parser = Parser::new(source, file, max_levels).map_err(Failure::Error)?;
    parser.chunk().map_err(|diag| if parser.too_deep { Failure::TooDeep(diag) } else { Failure::Error(diag) })
}

/// The parser's state: the token stream with one token of lookahead, the functions
/// being parsed (innermost last), and every local declared so far.
struct Parser<'a> {
    lex: Lexer<'a>,
    /// The current token.
    tok: Token,
    /// The token after it, once someone has looked (only table constructors do).
    ahead: Option<Token>,
    funcs: Vec<FuncState>,
    locals: Vec<crate::ast::LocalInfo>,
    /// Syntax levels entered (see [`MAX_LEVELS`]).
    level: u32,
    /// How many syntax levels this run allows.
    max_levels: u32,
    /// Set when the input went past `max_levels` while that is below [`MAX_LEVELS`]:
    /// the error then only means "parse again with more stack".
    too_deep: bool,
    /// Chain links on the path from the root to the node being built (see
    /// [`MAX_TREE_DEPTH`]).
    links: u32,
}

impl<'a> Parser<'a> {
    fn new(source: &'a [u8], file: &'a str, max_levels: u32) -> PResult<Self> {
        let mut lex = Lexer::new(source, file);
        let tok = lex.next_token()?;
        Ok(Parser {
            lex,
            tok,
            ahead: None,
            funcs: Vec::new(),
            locals: Vec::new(),
            level: 0,
            max_levels,
            too_deep: false,
            links: 0,
        })
    }

    /// The main chunk: a vararg function without parameters that runs to the end of
    /// the input.
    fn chunk(&mut self) -> PResult<Chunk> {
        self.open_function(0, true);
        let block = self.statlist()?;
        if self.tok.kind != TokenKind::Eof {
            return Err(self.error_expected(&TokenKind::Eof));
        }
        let end_pos = self.tok.pos;
        let upvalues = self.close_function()?;
        let body = FuncBody {
            params: Vec::new(),
            is_vararg: true,
            block,
            pos: Pos { line: 0, col: 0 },
            end_pos,
            name: "main".into(),
            upvalues,
        };
        Ok(Chunk { body, locals: std::mem::take(&mut self.locals) })
    }

    // ---- tokens ----

    /// Moves to the next token and returns the one just passed.
    fn advance(&mut self) -> PResult<Token> {
        let next = match self.ahead.take() {
            Some(tok) => tok,
            None => self.lex.next_token()?,
        };
        Ok(std::mem::replace(&mut self.tok, next))
    }

    /// The kind of the token after the current one.
    fn peek_kind(&mut self) -> PResult<&TokenKind> {
        if self.ahead.is_none() {
            self.ahead = Some(self.lex.next_token()?);
        }
        Ok(self.ahead.as_ref().map_or(&TokenKind::Eof, |tok| &tok.kind))
    }

    fn check(&self, kind: &TokenKind) -> bool {
        self.tok.kind == *kind
    }

    /// Consumes the current token if it is `kind`.
    fn test_next(&mut self, kind: &TokenKind) -> PResult<bool> {
        let hit = self.check(kind);
        if hit {
            self.advance()?;
        }
        Ok(hit)
    }

    /// Consumes the current token, which must be `kind`.
    fn expect(&mut self, kind: &TokenKind) -> PResult<Token> {
        if !self.check(kind) {
            return Err(self.error_expected(kind));
        }
        self.advance()
    }

    /// Consumes `what`, which closes `who` opened at `open`; the error names the
    /// opening line when it differs from the current one (Lua's `check_match`).
    fn expect_match(&mut self, what: &TokenKind, who: &TokenKind, open: Pos) -> PResult<Token> {
        if self.check(what) {
            return self.advance();
        }
        if open.line == self.tok.end.line {
            return Err(self.error_expected(what));
        }
        let message = format!("{} expected (to close {} at line {})", what.describe(), who.describe(), open.line);
        Err(self.error_near(&message))
    }

    /// Consumes a name token and returns the name with its position.
    fn expect_name(&mut self) -> PResult<(String, Pos)> {
        if !matches!(self.tok.kind, TokenKind::Name(_)) {
            return Err(self.error_expected(&TokenKind::Name(String::new())));
        }
        let tok = self.advance()?;
        match tok.kind {
            TokenKind::Name(name) => Ok((name, tok.pos)),
            _ => Ok((String::new(), tok.pos)), // not reached: checked above
        }
    }

    /// Whether the current token ends a block (`until` only where `with_until`).
    fn block_follow(&self, with_until: bool) -> bool {
        match self.tok.kind {
            TokenKind::Else | TokenKind::Elseif | TokenKind::End | TokenKind::Eof => true,
            TokenKind::Until => with_until,
            _ => false,
        }
    }

    // ---- errors ----

    /// A syntax error at the current token: `MESSAGE near TOKEN`. Lua reports the line
    /// where the token ends, so an error at a string spanning lines points at its end.
    fn error_near(&self, message: &str) -> Box<Diagnostic> {
        let text = format!("{message} near {}", self.lex.near(&self.tok));
        let pos = if self.tok.end.line == self.tok.pos.line { self.tok.pos } else { self.tok.end };
        Box::new(self.lex.error_at(pos, text))
    }

    /// `'X' expected near TOKEN`.
    fn error_expected(&self, kind: &TokenKind) -> Box<Diagnostic> {
        self.error_near(&format!("{} expected", kind.describe()))
    }

    /// A semantic error at `pos`, without a "near" part (Lua's `luaK_semerror`).
    fn error_at(&self, pos: Pos, message: String) -> Box<Diagnostic> {
        Box::new(self.lex.error_at(pos, message))
    }

    // ---- nesting limits ----

    /// Enters one syntax level (a statement or a sub-expression).
    fn enter_level(&mut self) -> PResult<()> {
        self.level += 1;
        if self.level > self.max_levels {
            self.too_deep = self.max_levels < MAX_LEVELS;
            return Err(self.error_near("chunk has too many syntax levels"));
        }
        self.check_tree_depth()
    }

    fn leave_level(&mut self) {
        self.level = self.level.saturating_sub(1);
    }

    /// Records one more link of an operator or suffix chain being built.
    fn add_link(&mut self) -> PResult<()> {
        self.links += 1;
        self.check_tree_depth()
    }

    /// Forgets the `count` links of a finished chain.
    fn drop_links(&mut self, count: u32) {
        self.links = self.links.saturating_sub(count);
    }

    fn check_tree_depth(&self) -> PResult<()> {
        if self.level + self.links > MAX_TREE_DEPTH {
            return Err(self.error_near("chunk has too many syntax levels"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
