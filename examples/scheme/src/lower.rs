//! Resolved expressions to generic MIR: every value a `val`, every built-in an `rtcall`
//! of the runtime ([`crate::runtime`]) with a profile site, locals as SSA variables
//! (captured ones in cells), loops as loops, calls in tail position as tail calls.

use std::collections::HashMap;

use lazyjit::mir::ssa::{self, Ssa};
use lazyjit::mir::{Block, Const, FuncId, Function, FunctionBuilder, InstData, Module, Opcode, Type, Value, VarKind, VarName};

use crate::syntax::{Expr, Kind, Lambda, Program, VarId};

/// Lowers a resolved program to a module whose function 0 runs it.
pub fn lower(program: &Program, file: &str) -> Module {
    let mut module = Module::new(file);
    let mut funcs: Vec<Option<Function>> = (0..=program.lambdas).map(|_| None).collect();
    let mut cx = Cx { module: &mut module, program, funcs: &mut funcs };
    let main = cx.function("main", 0, &[], &[], &program.body, 1);
    funcs[0] = Some(main);
    for f in funcs {
        module.add_function(f.expect("every lambda is lowered"));
    }
    module
}

struct Cx<'a> {
    module: &'a mut Module,
    program: &'a Program,
    funcs: &'a mut Vec<Option<Function>>,
}

impl Cx<'_> {
    fn function(&mut self, name: &str, id: usize, params: &[VarId], captures: &[VarId], body: &Expr, line: u32) -> Function {
        let mut func = Function::new(name);
        func.params = params.len() as u32;
        func.upvals = captures.len() as u32;
        func.line = line;
        let mut fx = Fx { b: FunctionBuilder::new(&mut func), ssa: Ssa::default(), id, captures, loops: HashMap::new(), line };
        let entry = fx.b.create_block();
        let args: Vec<Value> = params.iter().map(|_| fx.b.append_block_param(entry, Type::Val)).collect();
        fx.b.switch_to_block(entry);
        fx.ssa.seal(&mut fx.b, entry);
        for (&p, a) in params.iter().zip(args) {
            fx.bind(self, p, a);
        }
        let result = fx.expr(self, body, id != 0);
        if let Some(v) = result {
            let results = if id == 0 { vec![] } else { vec![v] };
            fx.b.ret(results, false);
        }
        drop(fx);
        ssa::remove_trivial_params(&mut func);
        func
    }

    fn lambda(&mut self, l: &Lambda) {
        let f = self.function(&l.name, l.id, &l.params, &l.captures, &l.body, l.line);
        self.funcs[l.id] = Some(f);
    }
}

/// One function being built.
struct Fx<'f, 'c> {
    b: FunctionBuilder<'f>,
    ssa: Ssa<VarId>,
    /// The lambda's number (0: the main program).
    id: usize,
    captures: &'c [VarId],
    /// Loops being built: header and variables.
    loops: HashMap<usize, (Block, Vec<VarId>)>,
    line: u32,
}

impl Fx<'_, '_> {
    fn cur(&self) -> Block {
        self.b.current_block().expect("a current block")
    }

    fn mark_line(&mut self) {
        if let Some(node) = self.b.func.insts.last_mut() {
            node.debug.line = self.line;
        }
    }

    fn rt(&mut self, cx: &mut Cx, name: &str, ret: Type, args: Vec<Value>) -> Value {
        let id = cx.module.declare_rt(name, ret);
        let site = Some(self.b.new_site());
        let v = self.b.rtcall(id, ret, args, false, site);
        self.mark_line();
        v
    }

    fn konst(&mut self, c: Const) -> Value {
        self.b.konst(c)
    }

    fn str_const(&mut self, cx: &mut Cx, s: &str) -> Value {
        let id = cx.module.intern(s.as_bytes());
        self.b.konst(Const::Str(id))
    }

    /// Binds `var` to `value` (a fresh cell if a closure captures it).
    fn bind(&mut self, cx: &Cx, var: VarId, value: Value) {
        let stored = if cx.program.vars[var].captured { self.b.unary(Opcode::CellNew, value) } else { value };
        let block = self.cur();
        self.ssa.write(var, block, stored);
    }

    /// Evaluates every init, then binds the variables (no init sees another's variable).
    fn bind_all(&mut self, cx: &mut Cx, binds: &[(VarId, Expr)]) -> Option<()> {
        let mut vals = Vec::with_capacity(binds.len());
        for (_, init) in binds {
            vals.push(self.expr(cx, init, false)?);
        }
        for ((var, _), v) in binds.iter().zip(vals) {
            self.bind(cx, *var, v);
        }
        Some(())
    }

    /// The cell of a captured variable.
    fn cell(&mut self, cx: &Cx, var: VarId) -> Value {
        if cx.program.vars[var].owner == self.id {
            let block = self.cur();
            return self.ssa.read(&mut self.b, var, block);
        }
        let index = self.captures.iter().position(|&c| c == var).expect("a captured variable is an upvalue");
        self.b.ins1(InstData::NullaryImm { op: Opcode::Upval, imm: index as i64 })
    }

    fn read(&mut self, cx: &Cx, var: VarId) -> Value {
        if cx.program.vars[var].captured {
            let cell = self.cell(cx, var);
            return self.b.unary(Opcode::CellGet, cell);
        }
        let block = self.cur();
        self.ssa.read(&mut self.b, var, block)
    }

    fn write(&mut self, cx: &Cx, var: VarId, value: Value) {
        if cx.program.vars[var].captured {
            let cell = self.cell(cx, var);
            self.b.ins(InstData::Binary { op: Opcode::CellSet, args: [cell, value] });
        } else {
            let block = self.cur();
            self.ssa.write(var, block, value);
        }
    }

    fn jump(&mut self, to: Block, args: Vec<Value>) {
        let from = self.cur();
        self.b.jump(to, args);
        self.ssa.add_pred(to, from);
    }

    fn values(&mut self, cx: &mut Cx, es: &[Expr]) -> Option<Vec<Value>> {
        es.iter().map(|e| self.expr(cx, e, false)).collect()
    }

    /// The value of `e`, or `None` when control does not come back (a tail call, a
    /// loop going round). `tail`: the value is the function's result.
    fn expr(&mut self, cx: &mut Cx, e: &Expr, tail: bool) -> Option<Value> {
        let saved = std::mem::replace(&mut self.line, e.line);
        let v = self.expr_inner(cx, e, tail);
        self.line = saved;
        v
    }

    fn expr_inner(&mut self, cx: &mut Cx, e: &Expr, tail: bool) -> Option<Value> {
        Some(match &e.kind {
            Kind::Int(n) => self.konst(Const::Int(*n)),
            Kind::Float(x) => self.konst(Const::Float(*x)),
            Kind::Bool(b) => self.konst(Const::Bool(*b)),
            Kind::Str(s) => self.str_const(cx, s),
            Kind::Unspecified => self.konst(Const::Nil),
            Kind::Null => self.rt(cx, "scm.null", Type::Val, vec![]),
            Kind::QuoteList(items) => {
                let vals = self.values(cx, items)?;
                self.list(cx, vals)
            }
            Kind::Local(v) => self.read(cx, *v),
            Kind::SetLocal(v, value) => {
                let value = self.expr(cx, value, false)?;
                self.write(cx, *v, value);
                self.konst(Const::Nil)
            }
            Kind::Global(name) => {
                let g = self.b.ins1(InstData::Nullary { op: Opcode::Globals });
                let k = self.str_const(cx, name);
                let v = self.rt(cx, "scm.global", Type::Val, vec![g, k]);
                let name = cx.module.intern(name.as_bytes());
                if let Some(node) = self.b.func.insts.last_mut() {
                    node.debug.names[1] = Some(VarName { kind: VarKind::Global, name });
                }
                v
            }
            Kind::SetGlobal(name, value) | Kind::Define(name, value) => {
                let value = self.expr(cx, value, false)?;
                let g = self.b.ins1(InstData::Nullary { op: Opcode::Globals });
                let k = self.str_const(cx, name);
                let f = if matches!(e.kind, Kind::Define(..)) { "scm.define" } else { "scm.set_global" };
                self.rt(cx, f, Type::Val, vec![g, k, value]);
                self.konst(Const::Nil)
            }
            Kind::If(c, t, f) => {
                let cond = self.test(cx, c)?;
                let (then_b, else_b, join) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
                let result = self.b.append_block_param(join, Type::Val);
                let from = self.cur();
                self.b.brif(cond, then_b, vec![], else_b, vec![]);
                let mut reached = false;
                for (block, arm) in [(then_b, t), (else_b, f)] {
                    self.ssa.add_pred(block, from);
                    self.b.switch_to_block(block);
                    self.ssa.seal(&mut self.b, block);
                    if let Some(v) = self.expr(cx, arm, tail) {
                        self.jump(join, vec![v]);
                        reached = true;
                    }
                }
                self.ssa.seal(&mut self.b, join);
                if !reached {
                    return None;
                }
                self.b.switch_to_block(join);
                result
            }
            Kind::Begin(es) => {
                let (last, init) = es.split_last().expect("a sequence is not empty");
                for e in init {
                    self.expr(cx, e, false)?;
                }
                return self.expr(cx, last, tail);
            }
            Kind::And(es) | Kind::Or(es) => {
                let is_and = matches!(e.kind, Kind::And(_));
                let join = self.b.create_block();
                let result = self.b.append_block_param(join, Type::Val);
                let (last, init) = es.split_last().expect("and/or with operands");
                for e in init {
                    let v = self.expr(cx, e, false)?;
                    let c = self.b.unary(Opcode::Truthy, v);
                    let next = self.b.create_block();
                    let from = self.cur();
                    if is_and {
                        self.b.brif(c, next, vec![], join, vec![v]);
                    } else {
                        self.b.brif(c, join, vec![v], next, vec![]);
                    }
                    self.ssa.add_pred(next, from);
                    self.ssa.add_pred(join, from);
                    self.b.switch_to_block(next);
                    self.ssa.seal(&mut self.b, next);
                }
                let reached = match self.expr(cx, last, tail) {
                    Some(v) => {
                        self.jump(join, vec![v]);
                        true
                    }
                    None => !init.is_empty(),
                };
                self.ssa.seal(&mut self.b, join);
                if !reached {
                    return None;
                }
                self.b.switch_to_block(join);
                result
            }
            Kind::Let(binds, body) => {
                self.bind_all(cx, binds)?;
                return self.expr(cx, body, tail);
            }
            Kind::Lambda(l) => {
                cx.lambda(l);
                let cells: Vec<Value> = l.captures.iter().map(|&v| self.cell(cx, v)).collect();
                self.b.ins1(InstData::Closure { op: Opcode::Closure, func: FuncId::new(l.id), args: cells })
            }
            Kind::Call(f, args) => {
                let callee = self.expr(cx, f, false)?;
                let args = self.values(cx, args)?;
                let name = match &f.kind {
                    Kind::Global(n) => Some(VarName { kind: VarKind::Global, name: cx.module.intern(n.as_bytes()) }),
                    Kind::Local(v) => Some(VarName { kind: VarKind::Local, name: cx.module.intern(cx.program.vars[*v].name.as_bytes()) }),
                    _ => None,
                };
                let v = if tail {
                    self.b.tail_call(callee, args, false);
                    None
                } else {
                    Some(self.b.call(callee, args, false, 1)[0])
                };
                self.mark_line();
                if let Some(node) = self.b.func.insts.last_mut() {
                    node.debug.names[0] = name;
                }
                return v;
            }
            Kind::Prim(p, args) => return self.prim(cx, p.name, args),
            Kind::Loop(id, binds, body) => {
                self.bind_all(cx, binds)?;
                let (header, exit) = (self.b.create_block(), self.b.create_block());
                let result = self.b.append_block_param(exit, Type::Val);
                self.jump(header, vec![]);
                self.b.switch_to_block(header);
                self.b.set_loop_header(header);
                self.loops.insert(*id, (header, binds.iter().map(|(v, _)| *v).collect()));
                let mut reached = false;
                if let Some(v) = self.expr(cx, body, tail) {
                    self.jump(exit, vec![v]);
                    reached = true;
                }
                self.ssa.seal(&mut self.b, header);
                self.ssa.seal(&mut self.b, exit);
                if !reached {
                    return None;
                }
                self.b.switch_to_block(exit);
                result
            }
            Kind::Recur(id, args) => {
                let vals = self.values(cx, args)?;
                let (header, vars) = self.loops.get(id).cloned().expect("a loop being built");
                for (var, v) in vars.into_iter().zip(vals) {
                    self.bind(cx, var, v);
                }
                self.jump(header, vec![]);
                return None;
            }
        })
    }

    /// A test as an `i1`: comparisons give theirs, without boxing.
    fn test(&mut self, cx: &mut Cx, e: &Expr) -> Option<Value> {
        if let Kind::Prim(p, args) = &e.kind {
            if let Some(c) = self.compare(cx, p.name, args) {
                return c;
            }
            if p.name == "not" {
                let c = self.test(cx, &args[0])?;
                return Some(self.b.unary(Opcode::Not, c));
            }
        }
        if let Kind::Bool(b) = e.kind {
            return Some(self.konst_bool(b));
        }
        let v = self.expr(cx, e, false)?;
        Some(self.b.unary(Opcode::Truthy, v))
    }

    fn konst_bool(&mut self, b: bool) -> Value {
        self.b.ins1(InstData::Const { op: Opcode::Bconst, imm: Const::Bool(b) })
    }

    /// A numeric comparison as an `i1` (`None`: `name` is no comparison).
    fn compare(&mut self, cx: &mut Cx, name: &str, args: &[Expr]) -> Option<Option<Value>> {
        let (f, swap) = match name {
            "<" => ("scm.lt", false),
            ">" => ("scm.lt", true),
            "<=" => ("scm.le", false),
            ">=" => ("scm.le", true),
            "=" => ("scm.num_eq", false),
            "zero?" => ("scm.num_eq", false),
            _ => return None,
        };
        Some((|| {
            let a = self.expr(cx, &args[0], false)?;
            let b = match args.get(1) {
                Some(e) => self.expr(cx, e, false)?,
                None => self.konst(Const::Int(0)),
            };
            let operands = if swap { vec![b, a] } else { vec![a, b] };
            Some(self.rt(cx, f, Type::I1, operands))
        })())
    }

    fn list(&mut self, cx: &mut Cx, vals: Vec<Value>) -> Value {
        let mut acc = self.rt(cx, "scm.null", Type::Val, vec![]);
        for v in vals.into_iter().rev() {
            acc = self.rt(cx, "scm.cons", Type::Val, vec![v, acc]);
        }
        acc
    }

    fn fold(&mut self, cx: &mut Cx, f: &str, vals: Vec<Value>) -> Value {
        let mut it = vals.into_iter();
        let mut acc = it.next().expect("an operand");
        for v in it {
            acc = self.rt(cx, f, Type::Val, vec![acc, v]);
        }
        acc
    }

    fn prim(&mut self, cx: &mut Cx, name: &str, args: &[Expr]) -> Option<Value> {
        if let Some(c) = self.compare(cx, name, args) {
            let c = c?;
            return Some(self.b.unary(Opcode::BoxBool, c));
        }
        if name == "not" {
            let c = self.test(cx, &args[0])?;
            let n = self.b.unary(Opcode::Not, c);
            return Some(self.b.unary(Opcode::BoxBool, n));
        }
        let mut vals = self.values(cx, args)?;
        Some(match name {
            "+" | "*" if vals.is_empty() => self.konst(Const::Int((name == "*") as i64)),
            "+" => self.fold(cx, "scm.add", vals),
            "*" => self.fold(cx, "scm.mul", vals),
            "-" if vals.len() == 1 => self.rt(cx, "scm.neg", Type::Val, vals),
            "-" => self.fold(cx, "scm.sub", vals),
            "/" => {
                if vals.len() == 1 {
                    let one = self.konst(Const::Int(1));
                    vals.insert(0, one);
                }
                self.fold(cx, "scm.div", vals)
            }
            "list" => self.list(cx, vals),
            "vector-ref" | "vector-set!" => {
                // Element i is the table's array slot i + 1.
                let one = self.konst(Const::Int(1));
                vals[1] = self.rt(cx, "scm.add", Type::Val, vec![vals[1], one]);
                let f = if name == "vector-ref" { "scm.vector_ref" } else { "scm.vector_set" };
                let v = self.rt(cx, f, Type::Val, vals);
                if name == "vector-set!" {
                    self.konst(Const::Nil)
                } else {
                    v
                }
            }
            "make-vector" => {
                if vals.len() == 1 {
                    let fill = self.konst(Const::Nil);
                    vals.push(fill);
                }
                self.rt(cx, "scm.make_vector", Type::Val, vals)
            }
            _ => {
                let f = crate::runtime::rt_name(name).expect("every built-in has a runtime function");
                self.rt(cx, f, Type::Val, vals)
            }
        })
    }
}
