//! Expressions: operator precedence, primary and suffixed expressions, calls and
//! table constructors.

use super::{PResult, Parser};
use crate::ast::{BinOp, Expr, ExprKind, Pos, TableField, UnOp};
use crate::lexer::TokenKind;

/// Binding power of unary operators: tighter than everything but `^`'s left side,
/// so `-2^2` is `-(2^2)` and `-a*b` is `(-a)*b`.
const UNARY_PRIORITY: u8 = 12;

/// The unary operator a token stands for.
fn unary_op(kind: &TokenKind) -> Option<UnOp> {
    Some(match kind {
        TokenKind::Not => UnOp::Not,
        TokenKind::Minus => UnOp::Neg,
        TokenKind::Tilde => UnOp::BNot,
        TokenKind::Hash => UnOp::Len,
        _ => return None,
    })
}

/// The binary operator a token stands for, with its left and right binding powers
/// (Lua's `priority` table). A right power below the left one makes the operator
/// right-associative (`..` and `^`).
fn binary_op(kind: &TokenKind) -> Option<(BinOp, u8, u8)> {
    use TokenKind as T;
    Some(match kind {
        T::Or => (BinOp::Or, 1, 1),
        T::And => (BinOp::And, 2, 2),
        T::Less => (BinOp::Lt, 3, 3),
        T::Greater => (BinOp::Gt, 3, 3),
        T::LessEqual => (BinOp::Le, 3, 3),
        T::GreaterEqual => (BinOp::Ge, 3, 3),
        T::NotEqual => (BinOp::Ne, 3, 3),
        T::Equal => (BinOp::Eq, 3, 3),
        T::Pipe => (BinOp::BOr, 4, 4),
        T::Tilde => (BinOp::BXor, 5, 5),
        T::Ampersand => (BinOp::BAnd, 6, 6),
        T::ShiftLeft => (BinOp::Shl, 7, 7),
        T::ShiftRight => (BinOp::Shr, 7, 7),
        T::DotDot => (BinOp::Concat, 9, 8),
        T::Plus => (BinOp::Add, 10, 10),
        T::Minus => (BinOp::Sub, 10, 10),
        T::Star => (BinOp::Mul, 11, 11),
        T::Slash => (BinOp::Div, 11, 11),
        T::DoubleSlash => (BinOp::IDiv, 11, 11),
        T::Percent => (BinOp::Mod, 11, 11),
        T::Caret => (BinOp::Pow, 14, 13),
        _ => return None,
    })
}

/// `obj.name`: an index by a string key, positioned at the name (the line Lua
/// reports when the indexing fails).
pub(super) fn field(obj: Expr, name: String, pos: Pos) -> Expr {
    let key = Expr { pos, kind: ExprKind::Str(name.into_bytes()) };
    Expr { pos, kind: ExprKind::Index { obj: Box::new(obj), key: Box::new(key) } }
}

/// The literal expression for a consumed literal token.
fn literal(kind: TokenKind) -> ExprKind {
    match kind {
        TokenKind::Int(v) => ExprKind::Int(v),
        TokenKind::Float(v) => ExprKind::Float(v),
        TokenKind::Str(s) => ExprKind::Str(s),
        TokenKind::True => ExprKind::True,
        TokenKind::False => ExprKind::False,
        _ => ExprKind::Nil,
    }
}

impl Parser<'_> {
    /// An expression.
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.subexpr(0)
    }

    /// `expr {, expr}`.
    pub(super) fn explist(&mut self) -> PResult<Vec<Expr>> {
        let mut list = vec![self.expr()?];
        while self.test_next(&TokenKind::Comma)? {
            list.push(self.expr()?);
        }
        Ok(list)
    }

    /// An expression whose binary operators all bind tighter than `limit`
    /// (precedence climbing, as Lua's `subexpr`).
    fn subexpr(&mut self, limit: u8) -> PResult<Expr> {
        self.enter_level()?;
        let mut lhs = match unary_op(&self.tok.kind) {
            Some(op) => {
                let pos = self.advance()?.pos;
                let operand = self.subexpr(UNARY_PRIORITY)?;
                Expr { pos, kind: ExprKind::Unary { op, operand: Box::new(operand) } }
            }
            None => self.simple_expr()?,
        };
        let mut links = 0;
        while let Some((op, left, right)) = binary_op(&self.tok.kind) {
            if left <= limit {
                break;
            }
            // Lua reports errors of binary operators on the operator's line.
            let pos = self.advance()?.pos;
            self.add_link()?;
            links += 1;
            let rhs = self.subexpr(right)?;
            lhs = Expr { pos, kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) } };
        }
        self.drop_links(links);
        self.leave_level();
        Ok(lhs)
    }

    /// Literals, `...`, table constructors, function expressions, or a suffixed
    /// expression.
    fn simple_expr(&mut self) -> PResult<Expr> {
        let pos = self.tok.pos;
        match self.tok.kind {
            TokenKind::Int(_)
            | TokenKind::Float(_)
            | TokenKind::Str(_)
            | TokenKind::Nil
            | TokenKind::True
            | TokenKind::False => {
                let tok = self.advance()?;
                Ok(Expr { pos, kind: literal(tok.kind) })
            }
            TokenKind::Ellipsis => {
                if !self.is_vararg() {
                    return Err(self.error_near("cannot use '...' outside a vararg function"));
                }
                self.advance()?;
                Ok(Expr { pos, kind: ExprKind::Vararg })
            }
            TokenKind::LBrace => self.table(),
            TokenKind::Function => {
                self.advance()?;
                let body = self.body(pos, "anon".into(), None)?;
                Ok(Expr { pos, kind: ExprKind::Function(Box::new(body)) })
            }
            _ => self.suffixed_expr(),
        }
    }

    /// A name or a parenthesized expression.
    fn primary_expr(&mut self) -> PResult<Expr> {
        let pos = self.tok.pos;
        match self.tok.kind {
            TokenKind::Name(_) => {
                let (name, pos) = self.expect_name()?;
                Ok(Expr { pos, kind: ExprKind::Name(self.resolve(&name)?) })
            }
            TokenKind::LParen => {
                self.advance()?;
                let inner = self.expr()?;
                self.expect_match(&TokenKind::RParen, &TokenKind::LParen, pos)?;
                Ok(Expr { pos, kind: ExprKind::Paren(Box::new(inner)) })
            }
            _ => Err(self.error_near("unexpected symbol")),
        }
    }

    /// A primary expression followed by any number of `.name`, `[key]`, `:m(args)`
    /// and `(args)` suffixes.
    ///
    /// Calls are positioned at the start of the whole expression: that is the line
    /// `lua5.4` reports for a failed call (`f\n(x)` fails "on" `f`'s line). Indexing is
    /// positioned at the key's name or closing `]`, the last token Lua has read when it
    /// emits the indexing.
    pub(super) fn suffixed_expr(&mut self) -> PResult<Expr> {
        let start = self.tok.pos;
        let mut e = self.primary_expr()?;
        let mut links = 0;
        loop {
            e = match self.tok.kind {
                TokenKind::Dot => {
                    self.advance()?;
                    let (key, key_pos) = self.expect_name()?;
                    field(e, key, key_pos)
                }
                TokenKind::LBracket => {
                    self.advance()?;
                    let key = self.expr()?;
                    let pos = self.expect(&TokenKind::RBracket)?.pos;
                    Expr { pos, kind: ExprKind::Index { obj: Box::new(e), key: Box::new(key) } }
                }
                TokenKind::Colon => {
                    self.advance()?;
                    let (name, _) = self.expect_name()?;
                    let args = self.call_args()?;
                    Expr { pos: start, kind: ExprKind::MethodCall { obj: Box::new(e), name, args } }
                }
                TokenKind::LParen | TokenKind::Str(_) | TokenKind::LBrace => {
                    let args = self.call_args()?;
                    Expr { pos: start, kind: ExprKind::Call { func: Box::new(e), args } }
                }
                _ => break,
            };
            self.add_link()?;
            links += 1;
        }
        self.drop_links(links);
        Ok(e)
    }

    /// Call arguments: `(explist)`, a table constructor or a string literal.
    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        let pos = self.tok.pos;
        match self.tok.kind {
            TokenKind::LParen => {
                self.advance()?;
                let args = if self.check(&TokenKind::RParen) { Vec::new() } else { self.explist()? };
                self.expect_match(&TokenKind::RParen, &TokenKind::LParen, pos)?;
                Ok(args)
            }
            TokenKind::LBrace => Ok(vec![self.table()?]),
            TokenKind::Str(_) => {
                let tok = self.advance()?;
                Ok(vec![Expr { pos, kind: literal(tok.kind) }])
            }
            _ => Err(self.error_near("function arguments expected")),
        }
    }

    /// `{ [field {sep field} [sep]] }` with `sep` either `,` or `;`.
    fn table(&mut self) -> PResult<Expr> {
        let pos = self.expect(&TokenKind::LBrace)?.pos;
        let mut fields = Vec::new();
        while !self.check(&TokenKind::RBrace) {
            fields.push(self.table_field()?);
            if !self.test_next(&TokenKind::Comma)? && !self.test_next(&TokenKind::Semicolon)? {
                break;
            }
        }
        self.expect_match(&TokenKind::RBrace, &TokenKind::LBrace, pos)?;
        Ok(Expr { pos, kind: ExprKind::Table(fields) })
    }

    /// `name = e`, `[k] = e` or a positional `e`.
    fn table_field(&mut self) -> PResult<TableField> {
        let is_name = matches!(self.tok.kind, TokenKind::Name(_));
        if is_name && *self.peek_kind()? == TokenKind::Assign {
            let (name, pos) = self.expect_name()?;
            self.advance()?;
            let value = self.expr()?;
            let key = Expr { pos, kind: ExprKind::Str(name.into_bytes()) };
            return Ok(TableField::Keyed { key, value });
        }
        if self.test_next(&TokenKind::LBracket)? {
            let key = self.expr()?;
            self.expect(&TokenKind::RBracket)?;
            self.expect(&TokenKind::Assign)?;
            let value = self.expr()?;
            return Ok(TableField::Keyed { key, value });
        }
        Ok(TableField::Positional(self.expr()?))
    }
}
