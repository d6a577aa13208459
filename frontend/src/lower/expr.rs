//! Expressions: single values, multiple values, conditions and calls.

use lazyjit::mir::{Const, InstData, Opcode, Type, Value, VarKind, VarName};

use super::FnLower;
use crate::ast::{BinOp, Expr, ExprKind, Name, TableField, UnOp};

/// How many results a call should produce.
pub(super) enum Want {
    /// Exactly this many `val` results.
    Exactly(usize),
    /// All of them, as a pack.
    All,
}

impl FnLower<'_, '_> {
    /// Lowers an expression to exactly one value.
    pub(super) fn expr(&mut self, e: &Expr) -> Value {
        let line = e.pos.line;
        match &e.kind {
            ExprKind::Nil => self.konst(Const::Nil),
            ExprKind::True => self.konst(Const::Bool(true)),
            ExprKind::False => self.konst(Const::Bool(false)),
            ExprKind::Int(i) => self.konst(Const::Int(*i)),
            ExprKind::Float(x) => self.konst(Const::Float(*x)),
            ExprKind::Str(s) => self.str_const(s),
            ExprKind::Vararg => {
                let p = self.varargs();
                self.b.ins1(InstData::UnaryImm { op: Opcode::PackGet, arg: p, imm: 0 })
            }
            ExprKind::Name(Name::Local(id)) => self.read_local(*id),
            ExprKind::Name(Name::Upvalue(i)) => {
                let cell = self.upval_cell(*i);
                self.b.unary(Opcode::CellGet, cell)
            }
            ExprKind::Name(Name::Global(n)) => {
                let g = self.globals();
                let k = self.str_const(n.as_bytes());
                self.rtcall("lua.index", Type::Val, vec![g, k], line, [None, None])
            }
            ExprKind::Index { obj, key } => {
                let o = self.expr(obj);
                let k = self.expr(key);
                let names = [self.describe(obj), self.describe(key)];
                self.rtcall("lua.index", Type::Val, vec![o, k], line, names)
            }
            ExprKind::Call { .. } | ExprKind::MethodCall { .. } => self.call(e, Want::Exactly(1)).0[0],
            ExprKind::Function(body) => self.closure(body),
            ExprKind::Binary { op: BinOp::And, lhs, rhs } => self.short_circuit(lhs, rhs, true),
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } => self.short_circuit(lhs, rhs, false),
            ExprKind::Binary { op, lhs, rhs } if is_comparison(*op) => {
                let c = self.cond(e);
                self.b.unary(Opcode::BoxBool, c)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                let names = [self.describe(lhs), self.describe(rhs)];
                self.rtcall(arith_rt(*op), Type::Val, vec![a, b], line, names)
            }
            ExprKind::Unary { op: UnOp::Not, .. } => {
                let c = self.cond(e);
                self.b.unary(Opcode::BoxBool, c)
            }
            ExprKind::Unary { op: UnOp::Neg, operand } if matches!(operand.kind, ExprKind::Int(_) | ExprKind::Float(_)) => {
                match operand.kind {
                    ExprKind::Int(i) => self.konst(Const::Int(i.wrapping_neg())),
                    ExprKind::Float(x) => self.konst(Const::Float(-x)),
                    _ => unreachable!(),
                }
            }
            ExprKind::Unary { op, operand } => {
                let a = self.expr(operand);
                let names = [self.describe(operand), None];
                let name = match op {
                    UnOp::Neg => "lua.unm",
                    UnOp::Len => "lua.len",
                    UnOp::BNot => "lua.bnot",
                    UnOp::Not => unreachable!(),
                };
                self.rtcall(name, Type::Val, vec![a], line, names)
            }
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Table(fields) => self.table(fields, line),
        }
    }

    /// Lowers an expression used as a condition to an `i1`.
    pub(super) fn cond(&mut self, e: &Expr) -> Value {
        let line = e.pos.line;
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs } if is_comparison(*op) => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                let (na, nb) = (self.describe(lhs), self.describe(rhs));
                match op {
                    BinOp::Eq => self.rtcall("lua.eq", Type::I1, vec![a, b], line, [na, nb]),
                    BinOp::Ne => {
                        let c = self.rtcall("lua.eq", Type::I1, vec![a, b], line, [na, nb]);
                        self.b.unary(Opcode::Not, c)
                    }
                    BinOp::Lt => self.rtcall("lua.lt", Type::I1, vec![a, b], line, [na, nb]),
                    BinOp::Le => self.rtcall("lua.le", Type::I1, vec![a, b], line, [na, nb]),
                    BinOp::Gt => self.rtcall("lua.lt", Type::I1, vec![b, a], line, [nb, na]),
                    BinOp::Ge => self.rtcall("lua.le", Type::I1, vec![b, a], line, [nb, na]),
                    _ => unreachable!(),
                }
            }
            ExprKind::Unary { op: UnOp::Not, operand } => {
                let c = self.cond(operand);
                self.b.unary(Opcode::Not, c)
            }
            ExprKind::True => self.bconst(true),
            ExprKind::False | ExprKind::Nil => self.bconst(false),
            _ => {
                let v = self.expr(e);
                self.b.unary(Opcode::Truthy, v)
            }
        }
    }

    /// `a and b` (`is_and`) or `a or b`: the result is one of the operands.
    fn short_circuit(&mut self, lhs: &Expr, rhs: &Expr, is_and: bool) -> Value {
        let a = self.expr(lhs);
        let c = self.b.unary(Opcode::Truthy, a);
        let rhs_block = self.b.create_block();
        let join = self.b.create_block();
        let result = self.b.append_block_param(join, Type::Val);
        if is_and {
            self.brif(c, rhs_block, vec![], join, vec![a]);
        } else {
            self.brif(c, join, vec![a], rhs_block, vec![]);
        }
        self.ssa.seal(&mut self.b, rhs_block);
        self.b.switch_to_block(rhs_block);
        let b = self.expr(rhs);
        self.jump(join, vec![b]);
        self.ssa.seal(&mut self.b, join);
        self.b.switch_to_block(join);
        result
    }

    /// Lowers an expression list to `n` values (calls and `...` at the end expand;
    /// extra expressions are evaluated and dropped).
    pub(super) fn explist_n(&mut self, es: &[Expr], n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        for (i, e) in es.iter().enumerate() {
            let last = i + 1 == es.len();
            if last && e.is_multi() && out.len() < n {
                let need = n - out.len();
                match &e.kind {
                    ExprKind::Vararg => {
                        let p = self.varargs();
                        for k in 0..need {
                            out.push(self.b.ins1(InstData::UnaryImm { op: Opcode::PackGet, arg: p, imm: k as i64 }));
                        }
                    }
                    _ => out.extend(self.call(e, Want::Exactly(need)).0),
                }
            } else if e.is_multi() && out.len() >= n {
                if !matches!(e.kind, ExprKind::Vararg) {
                    self.call(e, Want::Exactly(0));
                }
            } else {
                let v = self.expr(e);
                if out.len() < n {
                    out.push(v);
                }
            }
        }
        while out.len() < n {
            out.push(self.konst(Const::Nil));
        }
        out
    }

    /// Lowers an expression list whose last multi-valued item expands entirely: the
    /// values, and whether the last one is a pack to spread.
    pub(super) fn explist_all(&mut self, es: &[Expr]) -> (Vec<Value>, bool) {
        let mut out = Vec::with_capacity(es.len());
        for (i, e) in es.iter().enumerate() {
            if i + 1 == es.len() && e.is_multi() {
                let pack = match &e.kind {
                    ExprKind::Vararg => self.varargs(),
                    _ => self.call(e, Want::All).1.expect("pack"),
                };
                out.push(pack);
                return (out, true);
            }
            out.push(self.expr(e));
        }
        (out, false)
    }

    /// Evaluates the callee and arguments of a call expression: callee, arguments,
    /// spread flag, and the callee's description.
    fn call_parts(&mut self, e: &Expr) -> (Value, Vec<Value>, bool, Option<VarName>) {
        match &e.kind {
            ExprKind::Call { func, args } => {
                let f = self.expr(func);
                let name = self.describe(func);
                let (args, spread) = self.explist_all(args);
                (f, args, spread, name)
            }
            ExprKind::MethodCall { obj, name, args } => {
                let o = self.expr(obj);
                let k = self.str_const(name.as_bytes());
                let names = [self.describe(obj), None];
                let f = self.rtcall("lua.index", Type::Val, vec![o, k], e.pos.line, names);
                let (mut rest, spread) = self.explist_all(args);
                rest.insert(0, o);
                let desc = self.var_name(VarKind::Method, name);
                (f, rest, spread, desc)
            }
            _ => unreachable!("not a call"),
        }
    }

    /// Lowers a call; returns its fixed results, or the pack of all results.
    pub(super) fn call(&mut self, e: &Expr, want: Want) -> (Vec<Value>, Option<Value>) {
        let (f, args, spread, name) = self.call_parts(e);
        self.set_debug(e.pos.line, [name, None]);
        match want {
            Want::Exactly(n) => (self.b.call(f, args, spread, n), None),
            Want::All => (Vec::new(), Some(self.b.call_pack(f, args, spread))),
        }
    }

    /// `return f(args)` as a tail call.
    pub(super) fn tail_call(&mut self, e: &Expr) {
        let (f, args, spread, name) = self.call_parts(e);
        self.set_debug(e.pos.line, [name, None]);
        self.b.tail_call(f, args, spread);
    }

    fn table(&mut self, fields: &[TableField], line: u32) -> Value {
        let narr = fields.iter().filter(|f| matches!(f, TableField::Positional(_))).count();
        let nhash = fields.len() - narr;
        let a = self.konst(Const::Int(narr as i64));
        let h = self.konst(Const::Int(nhash as i64));
        let t = self.rtcall("lua.newtable", Type::Val, vec![a, h], line, [None, None]);
        let mut items = Vec::new();
        let mut spread = false;
        for (i, field) in fields.iter().enumerate() {
            match field {
                TableField::Positional(e) if i + 1 == fields.len() && e.is_multi() => {
                    let (mut vals, sp) = self.explist_all(std::slice::from_ref(e));
                    items.append(&mut vals);
                    spread = sp;
                }
                TableField::Positional(e) => items.push(self.expr(e)),
                TableField::Keyed { key, value } => {
                    let k = self.expr(key);
                    let v = self.expr(value);
                    self.rtcall("lua.rawset", Type::Val, vec![t, k, v], key.pos.line, [None, None]);
                }
            }
        }
        if !items.is_empty() {
            let start = self.konst(Const::Int(1));
            let mut args = vec![t, start];
            args.append(&mut items);
            let rt = self.rt("lua.setlist", Type::Val);
            self.set_line(line);
            let site = Some(self.b.new_site());
            self.b.rtcall(rt, Type::Val, args, spread, site);
        }
        t
    }
}

fn is_comparison(op: BinOp) -> bool {
    matches!(op, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
}

fn arith_rt(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "lua.add",
        BinOp::Sub => "lua.sub",
        BinOp::Mul => "lua.mul",
        BinOp::Div => "lua.div",
        BinOp::IDiv => "lua.idiv",
        BinOp::Mod => "lua.mod",
        BinOp::Pow => "lua.pow",
        BinOp::Concat => "lua.concat",
        BinOp::BAnd => "lua.band",
        BinOp::BOr => "lua.bor",
        BinOp::BXor => "lua.bxor",
        BinOp::Shl => "lua.shl",
        BinOp::Shr => "lua.shr",
        _ => unreachable!("not an arithmetic operator"),
    }
}
