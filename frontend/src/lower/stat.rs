//! Statements: assignments, control flow and loops.

use lazyjit::runtime::Tag;
use lazyjit::mir::{Const, InstData, Opcode, Type, Value, VarKind};

use super::expr::Want;
use super::FnLower;
use crate::ast::{Block as AstBlock, Expr, ExprKind, LocalId, Name, Stat, StatKind, UnOp};

/// Where an assignment stores, with its operands already evaluated.
enum Place {
    Local(LocalId),
    Upvalue(u32),
    Global(String),
    Index { obj: Value, key: Value, line: u32, names: [Option<lazyjit::mir::VarName>; 2] },
}

impl FnLower<'_, '_> {
    pub(super) fn block(&mut self, stats: &AstBlock) {
        for s in stats {
            self.stat(s);
        }
    }

    fn stat(&mut self, s: &Stat) {
        let line = s.pos.line;
        self.set_line(line);
        match &s.kind {
            StatKind::Local { names, exprs } => {
                let vals = self.explist_n(exprs, names.len());
                for (&id, v) in names.iter().zip(vals) {
                    self.declare_local(id, v);
                }
            }
            StatKind::LocalFunction { name, func } => {
                if self.local_info(*name).captured {
                    let nil = self.konst(Const::Nil);
                    self.declare_local(*name, nil);
                    let f = self.closure(func);
                    self.write_local(*name, f);
                } else {
                    let f = self.closure(func);
                    self.declare_local(*name, f);
                }
            }
            StatKind::Assign { targets, exprs } => self.assign(targets, exprs),
            StatKind::Call(e) => {
                self.call(e, Want::Exactly(0));
            }
            StatKind::Do(b) => self.block(b),
            StatKind::While { cond, body } => self.while_loop(cond, body),
            StatKind::Repeat { body, cond } => self.repeat_loop(body, cond),
            StatKind::If { conds, else_block } => self.if_chain(conds, else_block.as_ref()),
            StatKind::NumericFor { var, start, limit, step, body } => {
                self.numeric_for(*var, start, limit, step.as_ref(), body, line)
            }
            StatKind::GenericFor { vars, exprs, body } => self.generic_for(vars, exprs, body, line),
            StatKind::Function { target, func } => {
                let place = self.place(target);
                let f = self.closure(func);
                self.store(place, f);
            }
            StatKind::Return(exprs) => {
                if let [e] = exprs.as_slice() {
                    if matches!(e.kind, ExprKind::Call { .. } | ExprKind::MethodCall { .. }) {
                        self.tail_call(e);
                        self.start_unreachable();
                        return;
                    }
                }
                let (vals, spread) = self.explist_all(exprs);
                self.set_line(line);
                self.b.ret(vals, spread);
                self.start_unreachable();
            }
            StatKind::Break => {
                if let Some(&exit) = self.loop_exits.last() {
                    self.jump(exit, Vec::new());
                    self.start_unreachable();
                }
            }
        }
    }

    /// Evaluates the operands of an assignment target.
    fn place(&mut self, target: &Expr) -> Place {
        match &target.kind {
            ExprKind::Name(Name::Local(id)) => Place::Local(*id),
            ExprKind::Name(Name::Upvalue(i)) => Place::Upvalue(*i),
            ExprKind::Name(Name::Global(n)) => Place::Global(n.clone()),
            ExprKind::Index { obj, key } => {
                let o = self.expr(obj);
                let k = self.expr(key);
                let names = [self.describe(obj), self.describe(key)];
                Place::Index { obj: o, key: k, line: target.pos.line, names }
            }
            _ => unreachable!("the parser only accepts names and indexing as targets"),
        }
    }

    fn store(&mut self, place: Place, v: Value) {
        match place {
            Place::Local(id) => self.write_local(id, v),
            Place::Upvalue(i) => {
                let cell = self.upval_cell(i);
                self.b.ins(InstData::Binary { op: Opcode::CellSet, args: [cell, v] });
            }
            Place::Global(n) => {
                let g = self.globals();
                let k = self.str_const(n.as_bytes());
                let line = self.b.debug.line;
                self.rtcall("lua.setindex", Type::Val, vec![g, k, v], line, [None, None]);
            }
            Place::Index { obj, key, line, names } => {
                self.rtcall("lua.setindex", Type::Val, vec![obj, key, v], line, names);
            }
        }
    }

    fn assign(&mut self, targets: &[Expr], exprs: &[Expr]) {
        let places: Vec<Place> = targets.iter().map(|t| self.place(t)).collect();
        let vals = self.explist_n(exprs, targets.len());
        for (place, v) in places.into_iter().zip(vals).rev() {
            self.store(place, v);
        }
    }

    fn if_chain(&mut self, conds: &[(Expr, AstBlock)], else_block: Option<&AstBlock>) {
        let join = self.b.create_block();
        for (cond, body) in conds {
            let c = self.cond(cond);
            let then_b = self.b.create_block();
            let next = self.b.create_block();
            self.brif(c, then_b, vec![], next, vec![]);
            self.ssa.seal(&mut self.b, then_b);
            self.ssa.seal(&mut self.b, next);
            self.b.switch_to_block(then_b);
            self.block(body);
            if !self.b.is_filled() {
                self.jump(join, vec![]);
            }
            self.b.switch_to_block(next);
        }
        if let Some(b) = else_block {
            self.block(b);
        }
        if !self.b.is_filled() {
            self.jump(join, vec![]);
        }
        self.ssa.seal(&mut self.b, join);
        self.b.switch_to_block(join);
    }

    fn while_loop(&mut self, cond: &Expr, body: &AstBlock) {
        let header = self.b.create_block();
        self.b.set_loop_header(header);
        let body_b = self.b.create_block();
        let exit = self.b.create_block();
        self.jump(header, vec![]);
        self.b.switch_to_block(header);
        let c = self.cond(cond);
        self.brif(c, body_b, vec![], exit, vec![]);
        self.ssa.seal(&mut self.b, body_b);
        self.b.switch_to_block(body_b);
        self.loop_exits.push(exit);
        self.block(body);
        self.loop_exits.pop();
        if !self.b.is_filled() {
            self.jump(header, vec![]);
        }
        self.ssa.seal(&mut self.b, header);
        self.ssa.seal(&mut self.b, exit);
        self.b.switch_to_block(exit);
    }

    fn repeat_loop(&mut self, body: &AstBlock, cond: &Expr) {
        let header = self.b.create_block();
        self.b.set_loop_header(header);
        let exit = self.b.create_block();
        self.jump(header, vec![]);
        self.b.switch_to_block(header);
        self.loop_exits.push(exit);
        self.block(body);
        self.loop_exits.pop();
        if !self.b.is_filled() {
            let c = self.cond(cond);
            self.brif(c, exit, vec![], header, vec![]);
        }
        self.ssa.seal(&mut self.b, header);
        self.ssa.seal(&mut self.b, exit);
        self.b.switch_to_block(exit);
    }

    /// `for v = start, limit, step`: `lua.forprep` classifies the loop; integer loops
    /// count iterations down as Lua 5.4 does (so they never overflow), float loops
    /// compare against the limit. With a step of 1 or -1 written out (or none), a start
    /// and a limit that are both integers need no runtime call: the loop runs when the
    /// start is not past the limit, its count is their distance.
    fn numeric_for(&mut self, var: LocalId, start: &Expr, limit: &Expr, step: Option<&Expr>, body: &AstBlock, line: u32) {
        let unit_step = match step.map(|e| &e.kind) {
            None | Some(ExprKind::Int(1)) => Some(1),
            Some(ExprKind::Int(-1)) => Some(-1),
            Some(ExprKind::Unary { op: UnOp::Neg, operand }) if operand.kind == ExprKind::Int(1) => Some(-1),
            _ => None,
        };
        let s = self.expr(start);
        let l = self.expr(limit);
        let st = match step {
            Some(e) => self.expr(e),
            None => self.konst(Const::Int(1)),
        };
        let exit = self.b.create_block();
        let int_loop = self.b.create_block();
        let generic = self.b.create_block();
        let known_step = unit_step.map(|k| self.iconst(k));
        match unit_step {
            Some(k) => {
                let int_tag = self.iconst(Tag::Int as i64);
                for bound in [s, l] {
                    let tag = self.b.unary(Opcode::Tag, bound);
                    let is_int = self.b.binary(Opcode::IcmpEq, tag, int_tag);
                    self.go_on_if(is_int, generic);
                }
                let (a, b) = (self.b.unary(Opcode::UnboxInt, s), self.b.unary(Opcode::UnboxInt, l));
                let (lo, hi) = if k > 0 { (a, b) } else { (b, a) };
                let runs = self.b.binary(Opcode::IcmpLe, lo, hi);
                self.go_on_if(runs, exit);
                let count = self.b.binary(Opcode::Isub, hi, lo);
                self.jump(int_loop, vec![a, count]);
            }
            None => self.jump(generic, vec![]),
        }
        self.ssa.seal(&mut self.b, generic);
        self.b.switch_to_block(generic);
        let kind = self.rtcall("lua.forprep", Type::I64, vec![s, l, st], line, [None, None]);
        let int_prep = self.b.create_block();
        let not_int = self.b.create_block();
        let one = self.iconst(1);
        let is_int = self.b.binary(Opcode::IcmpEq, kind, one);
        self.brif(is_int, int_prep, vec![], not_int, vec![]);
        self.ssa.seal(&mut self.b, int_prep);
        self.ssa.seal(&mut self.b, not_int);

        // Integer loop.
        self.b.switch_to_block(int_prep);
        let i0 = self.b.unary(Opcode::UnboxInt, s);
        let istep = match known_step {
            Some(k) => k,
            None => self.b.unary(Opcode::UnboxInt, st),
        };
        let count = self.rtcall("lua.for_icount", Type::I64, vec![s, l, st], line, [None, None]);
        self.b.set_loop_header(int_loop);
        let i = self.b.append_block_param(int_loop, Type::I64);
        let c = self.b.append_block_param(int_loop, Type::I64);
        self.jump(int_loop, vec![i0, count]);
        self.b.switch_to_block(int_loop);
        let boxed = self.b.unary(Opcode::BoxInt, i);
        self.declare_local(var, boxed);
        self.loop_body(body, exit);
        if !self.b.is_filled() {
            self.set_line(line);
            let zero = self.iconst(0);
            let done = self.b.binary(Opcode::IcmpEq, c, zero);
            let next = self.b.create_block();
            self.brif(done, exit, vec![], next, vec![]);
            self.ssa.seal(&mut self.b, next);
            self.b.switch_to_block(next);
            let i2 = self.b.binary(Opcode::Iadd, i, istep);
            let one = self.iconst(1);
            let c2 = self.b.binary(Opcode::Isub, c, one);
            self.jump(int_loop, vec![i2, c2]);
        }
        self.ssa.seal(&mut self.b, int_loop);

        // Float loop (or no loop at all).
        self.b.switch_to_block(not_int);
        let two = self.iconst(2);
        let is_float = self.b.binary(Opcode::IcmpEq, kind, two);
        let float_prep = self.b.create_block();
        self.brif(is_float, float_prep, vec![], exit, vec![]);
        self.ssa.seal(&mut self.b, float_prep);
        self.b.switch_to_block(float_prep);
        let f0 = self.rtcall("lua.tofloat", Type::F64, vec![s], line, [None, None]);
        let flimit = self.rtcall("lua.tofloat", Type::F64, vec![l], line, [None, None]);
        let fstep = self.rtcall("lua.tofloat", Type::F64, vec![st], line, [None, None]);
        let zero = self.fconst(0.0);
        let up = self.b.binary(Opcode::FcmpLt, zero, fstep);
        let float_loop = self.b.create_block();
        self.b.set_loop_header(float_loop);
        let f = self.b.append_block_param(float_loop, Type::F64);
        self.jump(float_loop, vec![f0]);
        self.b.switch_to_block(float_loop);
        let boxed = self.b.unary(Opcode::BoxFloat, f);
        self.declare_local(var, boxed);
        self.loop_body(body, exit);
        if !self.b.is_filled() {
            self.set_line(line);
            let f2 = self.b.binary(Opcode::Fadd, f, fstep);
            let check_up = self.b.create_block();
            let check_down = self.b.create_block();
            self.brif(up, check_up, vec![], check_down, vec![]);
            self.ssa.seal(&mut self.b, check_up);
            self.ssa.seal(&mut self.b, check_down);
            self.b.switch_to_block(check_up);
            let ok = self.b.binary(Opcode::FcmpLe, f2, flimit);
            self.brif(ok, float_loop, vec![f2], exit, vec![]);
            self.b.switch_to_block(check_down);
            let ok = self.b.binary(Opcode::FcmpLe, flimit, f2);
            self.brif(ok, float_loop, vec![f2], exit, vec![]);
        }
        self.ssa.seal(&mut self.b, float_loop);
        self.ssa.seal(&mut self.b, exit);
        self.b.switch_to_block(exit);
    }

    /// Goes on in a new block when `cond` holds; else branches to `otherwise`.
    fn go_on_if(&mut self, cond: Value, otherwise: lazyjit::mir::Block) {
        let next = self.b.create_block();
        self.brif(cond, next, vec![], otherwise, vec![]);
        self.ssa.seal(&mut self.b, next);
        self.b.switch_to_block(next);
    }

    /// A loop body with `break` going to `exit`.
    fn loop_body(&mut self, body: &AstBlock, exit: lazyjit::mir::Block) {
        self.loop_exits.push(exit);
        self.block(body);
        self.loop_exits.pop();
    }

    /// `for k, v in f, s, ctl`: call `f(s, ctl)` until its first result is `nil`.
    fn generic_for(&mut self, vars: &[LocalId], exprs: &[Expr], body: &AstBlock, line: u32) {
        let init = self.explist_n(exprs, 3);
        let (f, s, ctl0) = (init[0], init[1], init[2]);
        let header = self.b.create_block();
        self.b.set_loop_header(header);
        let ctl = self.b.append_block_param(header, Type::Val);
        let body_b = self.b.create_block();
        let exit = self.b.create_block();
        self.jump(header, vec![ctl0]);
        self.b.switch_to_block(header);
        let iterator = self.var_name(VarKind::ForIterator, "for iterator");
        self.set_debug(line, [iterator, None]);
        let results = self.b.call(f, vec![s, ctl], false, vars.len().max(1));
        let tag = self.b.unary(Opcode::Tag, results[0]);
        let nil_tag = self.iconst(0);
        let is_nil = self.b.binary(Opcode::IcmpEq, tag, nil_tag);
        self.brif(is_nil, exit, vec![], body_b, vec![]);
        self.ssa.seal(&mut self.b, body_b);
        self.b.switch_to_block(body_b);
        for (&id, &v) in vars.iter().zip(&results) {
            self.declare_local(id, v);
        }
        self.loop_body(body, exit);
        if !self.b.is_filled() {
            self.jump(header, vec![results[0]]);
        }
        self.ssa.seal(&mut self.b, header);
        self.ssa.seal(&mut self.b, exit);
        self.b.switch_to_block(exit);
    }
}
