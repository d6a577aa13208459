//! Statements, blocks and function bodies.

use super::scope::{GENERIC_FOR_SLOTS, NUMERIC_FOR_SLOTS};
use super::{expr::field, PResult, Parser};
use crate::ast::{Block, Expr, ExprKind, FuncBody, LocalId, Name, Pos, Stat, StatKind};
use crate::lexer::TokenKind;

impl Parser<'_> {
    /// Statements up to the end of a block (`end`, `else`, `elseif`, `until` or the
    /// end of input). A `return` must be the last statement.
    pub(super) fn statlist(&mut self) -> PResult<Block> {
        let mut block = Vec::new();
        while !self.block_follow(true) {
            let is_return = self.check(&TokenKind::Return);
            if let Some(stat) = self.statement()? {
                block.push(stat);
            }
            if is_return {
                break;
            }
        }
        Ok(block)
    }

    /// A block in its own scope.
    fn scoped_block(&mut self, is_loop: bool) -> PResult<Block> {
        self.open_block(is_loop);
        let block = self.statlist()?;
        self.close_block();
        Ok(block)
    }

    /// One statement; `None` for an empty statement (`;`).
    fn statement(&mut self) -> PResult<Option<Stat>> {
        self.enter_level()?;
        let pos = self.tok.pos;
        if self.test_next(&TokenKind::Semicolon)? {
            self.leave_level();
            return Ok(None);
        }
        // One `?` for all arms: each arm's result goes straight into `kind`, which
        // keeps this frequently recursed frame small in unoptimized builds.
        let kind = match self.tok.kind {
            TokenKind::If => self.if_stat(pos),
            TokenKind::While => self.while_stat(pos),
            TokenKind::Do => self.do_stat(pos),
            TokenKind::For => self.for_stat(pos),
            TokenKind::Repeat => self.repeat_stat(pos),
            TokenKind::Function => self.function_stat(pos),
            TokenKind::Local => self.local_stat(),
            TokenKind::Return => self.return_stat(),
            TokenKind::Break => self.break_stat(pos),
            TokenKind::Goto => self.goto_stat(pos),
            TokenKind::DoubleColon => self.label_stat(pos),
            _ => self.expr_stat(),
        }?;
        self.leave_level();
        Ok(Some(Stat { pos, kind }))
    }

    /// `if c then b {elseif c then b} [else b] end`.
    fn if_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        let mut conds = vec![self.test_then_block()?];
        while self.check(&TokenKind::Elseif) {
            conds.push(self.test_then_block()?);
        }
        let else_block = if self.test_next(&TokenKind::Else)? { Some(self.scoped_block(false)?) } else { None };
        self.expect_match(&TokenKind::End, &TokenKind::If, pos)?;
        Ok(StatKind::If { conds, else_block })
    }

    /// `if`/`elseif` (the current token) `cond then block`.
    fn test_then_block(&mut self) -> PResult<(crate::ast::Expr, Block)> {
        self.advance()?;
        let cond = self.expr()?;
        self.expect(&TokenKind::Then)?;
        let block = self.scoped_block(false)?;
        Ok((cond, block))
    }

    /// `while cond do block end`.
    fn while_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        let cond = self.expr()?;
        self.expect(&TokenKind::Do)?;
        let body = self.scoped_block(true)?;
        self.expect_match(&TokenKind::End, &TokenKind::While, pos)?;
        Ok(StatKind::While { cond, body })
    }

    /// `do block end`.
    fn do_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        let body = self.scoped_block(false)?;
        self.expect_match(&TokenKind::End, &TokenKind::Do, pos)?;
        Ok(StatKind::Do(body))
    }

    /// `repeat block until cond`; the condition is inside the body's scope.
    fn repeat_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        self.open_block(true);
        let body = self.statlist()?;
        self.expect_match(&TokenKind::Until, &TokenKind::Repeat, pos)?;
        let cond = self.expr()?;
        self.close_block();
        Ok(StatKind::Repeat { body, cond })
    }

    /// `for` followed by a numeric or generic loop.
    fn for_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        let first = self.expect_name()?;
        let kind = match self.tok.kind {
            TokenKind::Assign => self.numeric_for(first)?,
            TokenKind::Comma | TokenKind::In => self.generic_for(first)?,
            _ => return Err(self.error_near("'=' or 'in' expected")),
        };
        self.expect_match(&TokenKind::End, &TokenKind::For, pos)?;
        Ok(kind)
    }

    /// `= start, limit [, step] do body` after `for NAME`. The variable is declared
    /// first (for numbering) but is only in scope in the body.
    fn numeric_for(&mut self, (name, name_pos): (String, Pos)) -> PResult<StatKind> {
        self.open_block(true);
        self.reserve_slots(NUMERIC_FOR_SLOTS)?;
        let var = self.declare_local(name, false, name_pos)?;
        self.advance()?;
        let start = self.expr()?;
        self.expect(&TokenKind::Comma)?;
        let limit = self.expr()?;
        let step = if self.test_next(&TokenKind::Comma)? { Some(self.expr()?) } else { None };
        self.expect(&TokenKind::Do)?;
        self.activate(&[var]);
        let body = self.statlist()?;
        self.close_block();
        Ok(StatKind::NumericFor { var, start, limit, step, body })
    }

    /// `{, NAME} in explist do body` after `for NAME`.
    fn generic_for(&mut self, first: (String, Pos)) -> PResult<StatKind> {
        self.open_block(true);
        self.reserve_slots(GENERIC_FOR_SLOTS)?;
        let mut vars = vec![self.declare_local(first.0, false, first.1)?];
        while self.test_next(&TokenKind::Comma)? {
            let (name, pos) = self.expect_name()?;
            vars.push(self.declare_local(name, false, pos)?);
        }
        self.expect(&TokenKind::In)?;
        let exprs = self.explist()?;
        self.expect(&TokenKind::Do)?;
        self.activate(&vars);
        let body = self.statlist()?;
        self.close_block();
        Ok(StatKind::GenericFor { vars, exprs, body })
    }

    /// `function a.b.c:m() ... end`.
    fn function_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        let (target, name, method_pos) = self.function_name()?;
        let func = self.body(pos, name, method_pos)?;
        // Lua checks the target only after the body, so body errors come first.
        if let ExprKind::Name(var) = &target.kind {
            self.check_not_const(var, target.pos)?;
        }
        Ok(StatKind::Function { target, func: Box::new(func) })
    }

    /// `NAME {'.' NAME} [':' NAME]`: the assignment target, the function's display
    /// name, and for a method the position of its name (where `self` is declared).
    fn function_name(&mut self) -> PResult<(Expr, String, Option<Pos>)> {
        let (first, first_pos) = self.expect_name()?;
        let mut target = Expr { pos: first_pos, kind: ExprKind::Name(self.resolve(&first)?) };
        let mut full = first;
        let mut links = 0;
        let mut method_pos = None;
        while method_pos.is_none() {
            let separator = match self.tok.kind {
                TokenKind::Dot => '.',
                TokenKind::Colon => ':',
                _ => break,
            };
            self.advance()?;
            let (key, key_pos) = self.expect_name()?;
            full.push(separator);
            full.push_str(&key);
            target = field(target, key, key_pos);
            self.add_link()?;
            links += 1;
            if separator == ':' {
                method_pos = Some(key_pos);
            }
        }
        self.drop_links(links);
        Ok((target, full, method_pos))
    }

    /// `(params) block end` after `function` (at `pos`); methods (with the position
    /// of their name in `method_pos`) get an implicit first parameter `self`.
    pub(super) fn body(&mut self, pos: Pos, name: String, method_pos: Option<Pos>) -> PResult<FuncBody> {
        self.open_function(pos.line, false);
        let mut params = Vec::new();
        if let Some(self_pos) = method_pos {
            params.push(self.declare_local("self".into(), false, self_pos)?);
        }
        self.expect(&TokenKind::LParen)?;
        self.param_list(&mut params)?;
        self.activate(&params);
        self.expect(&TokenKind::RParen)?;
        let block = self.statlist()?;
        let end_pos = self.tok.pos;
        self.expect_match(&TokenKind::End, &TokenKind::Function, pos)?;
        let is_vararg = self.is_vararg();
        let upvalues = self.close_function()?;
        Ok(FuncBody { params, is_vararg, block, pos, end_pos, name, upvalues })
    }

    /// `[NAME {, NAME} [, ...] | ...]`, before the closing `)`.
    fn param_list(&mut self, params: &mut Vec<LocalId>) -> PResult<()> {
        if self.check(&TokenKind::RParen) {
            return Ok(());
        }
        loop {
            match self.tok.kind {
                TokenKind::Name(_) => {
                    let (name, pos) = self.expect_name()?;
                    params.push(self.declare_local(name, false, pos)?);
                }
                TokenKind::Ellipsis => {
                    self.advance()?;
                    self.set_vararg();
                    return Ok(());
                }
                _ => return Err(self.error_near("<name> or '...' expected")),
            }
            if !self.test_next(&TokenKind::Comma)? {
                return Ok(());
            }
        }
    }

    /// `local function f ...` or `local NAME attrib {, NAME attrib} [= explist]`.
    fn local_stat(&mut self) -> PResult<StatKind> {
        self.advance()?;
        let function_pos = self.tok.pos;
        if self.test_next(&TokenKind::Function)? {
            return self.local_function(function_pos);
        }
        let mut names = Vec::new();
        loop {
            let (name, pos) = self.expect_name()?;
            let id = self.declare_local(name, false, pos)?;
            if self.attribute()? {
                self.mark_const(id);
            }
            names.push(id);
            if !self.test_next(&TokenKind::Comma)? {
                break;
            }
        }
        let exprs = if self.test_next(&TokenKind::Assign)? { self.explist()? } else { Vec::new() };
        // Only now are the names in scope: `local x = x` reads the outer `x`.
        self.activate(&names);
        Ok(StatKind::Local { names, exprs })
    }

    /// `NAME body` after `local function`; the name is in scope in its own body.
    fn local_function(&mut self, function_pos: Pos) -> PResult<StatKind> {
        let (name, pos) = self.expect_name()?;
        let id = self.declare_local(name.clone(), false, pos)?;
        self.activate(&[id]);
        let func = self.body(function_pos, name, None)?;
        Ok(StatKind::LocalFunction { name: id, func: Box::new(func) })
    }

    /// An optional `<const>` after a local's name; says whether it was given.
    fn attribute(&mut self) -> PResult<bool> {
        if !self.test_next(&TokenKind::Less)? {
            return Ok(false);
        }
        let (attr, pos) = self.expect_name()?;
        self.expect(&TokenKind::Greater)?;
        match attr.as_str() {
            "const" => Ok(true),
            "close" => Err(self.error_at(pos, "'<close>' is not supported".into())),
            _ => Err(self.error_at(pos, format!("unknown attribute '{attr}'"))),
        }
    }

    fn mark_const(&mut self, id: LocalId) {
        if let Some(info) = self.locals.get_mut(id.0 as usize) {
            info.is_const = true;
        }
    }

    /// `return [explist] [;]`.
    fn return_stat(&mut self) -> PResult<StatKind> {
        self.advance()?;
        let exprs =
            if self.block_follow(true) || self.check(&TokenKind::Semicolon) { Vec::new() } else { self.explist()? };
        self.test_next(&TokenKind::Semicolon)?;
        Ok(StatKind::Return(exprs))
    }

    /// `break`, which must be inside a loop of the same function.
    fn break_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.check_break(pos);
        self.advance()?;
        Ok(StatKind::Break)
    }

    /// `goto NAME`: read (so that syntax errors come first, as in Lua), then refused.
    fn goto_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        self.expect_name()?;
        Err(self.error_at(pos, "'goto' is not supported".into()))
    }

    /// `::NAME::`: read, then refused.
    fn label_stat(&mut self, pos: Pos) -> PResult<StatKind> {
        self.advance()?;
        self.expect_name()?;
        self.expect(&TokenKind::DoubleColon)?;
        Err(self.error_at(pos, "labels are not supported".into()))
    }

    /// An assignment or a call statement, which both start with a suffixed expression.
    fn expr_stat(&mut self) -> PResult<StatKind> {
        let first = self.suffixed_expr()?;
        if !self.check(&TokenKind::Assign) && !self.check(&TokenKind::Comma) {
            return match first.kind {
                ExprKind::Call { .. } | ExprKind::MethodCall { .. } => Ok(StatKind::Call(first)),
                _ => Err(self.error_near("syntax error")),
            };
        }
        let mut targets = vec![self.assign_target(first)?];
        while self.test_next(&TokenKind::Comma)? {
            let target = self.suffixed_expr()?;
            targets.push(self.assign_target(target)?);
        }
        self.expect(&TokenKind::Assign)?;
        let exprs = self.explist()?;
        Ok(StatKind::Assign { targets, exprs })
    }

    /// Checks that `target` can be assigned to: a non-const variable or an index.
    fn assign_target(&self, target: Expr) -> PResult<Expr> {
        match &target.kind {
            ExprKind::Name(var) => self.check_not_const(var, target.pos)?,
            ExprKind::Index { .. } => {}
            _ => return Err(self.error_near("syntax error")),
        }
        Ok(target)
    }

    fn check_not_const(&self, var: &Name, pos: Pos) -> PResult<()> {
        match self.const_local(var) {
            Some(info) => Err(self.error_at(pos, format!("attempt to assign to const variable '{}'", info.name))),
            None => Ok(()),
        }
    }
}
