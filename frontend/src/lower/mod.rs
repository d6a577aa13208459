//! Lowering the resolved AST to *generic* MIR: every Lua value is a `val`, every Lua
//! operation is an `rtcall` of a runtime function of [`crate::runtime`], locals are SSA
//! values (captured ones live in cells), and control flow becomes blocks with
//! parameters. Each instruction carries the source line and the names of the variables
//! its operands came from, for Lua's error messages.

mod expr;
mod stat;

use std::collections::HashMap;

use lazyjit::mir::{
    Block, Const, DebugInfo, FuncId, Function, FunctionBuilder, InstData, Module, Opcode, RtId, Type, Value,
    VarKind, VarName,
};

use crate::ast::{BinOp, Chunk, Expr, ExprKind, FuncBody, LocalId, Name};
use lazyjit::mir::ssa::{self, Ssa};

/// Lowers a parsed chunk to a module named `chunkname`; `fn0` is the main function.
pub fn lower_chunk(chunk: &Chunk, chunkname: &str) -> Module {
    let mut module = Module::new(chunkname);
    // Reserve fn0 for main so nested functions get later ids.
    module.add_function(Function::new("main"));
    let main = lower_function(&mut module, chunk, &chunk.body);
    module.functions[0] = main;
    module
}

/// Lowers one function body (recursively adding nested functions to the module).
fn lower_function(module: &mut Module, chunk: &Chunk, body: &FuncBody) -> Function {
    let mut func = Function::new(body.name.clone());
    func.params = body.params.len() as u32;
    func.vararg = body.is_vararg;
    func.upvals = body.upvalues.len() as u32;
    func.line = body.pos.line;
    {
        let mut lower = FnLower {
            b: FunctionBuilder::new(&mut func),
            module,
            chunk,
            body,
            ssa: Ssa::default(),
            loop_exits: Vec::new(),
            hoisted: HashMap::new(),
        };
        lower.run();
    }
    ssa::remove_trivial_params(&mut func);
    func
}

/// The state of lowering one function.
struct FnLower<'a, 'f> {
    b: FunctionBuilder<'f>,
    module: &'a mut Module,
    chunk: &'a Chunk,
    body: &'a FuncBody,
    ssa: Ssa<LocalId>,
    /// Exit blocks of the enclosing loops (innermost last), for `break`.
    loop_exits: Vec<Block>,
    /// Operand-free pure values already computed in the entry block.
    hoisted: HashMap<HoistKey, Value>,
}

/// Identifies an operand-free pure instruction (floats by their bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct HoistKey {
    op: Opcode,
    kind: u8,
    bits: u64,
}

impl HoistKey {
    fn of(data: &InstData) -> HoistKey {
        let (op, kind, bits) = match *data {
            InstData::Const { op, imm } => match imm {
                Const::Nil => (op, 0, 0),
                Const::Bool(b) => (op, 1, b as u64),
                Const::Int(i) => (op, 2, i as u64),
                Const::Float(x) => (op, 3, x.to_bits()),
                Const::Str(s) => (op, 4, s.0 as u64),
            },
            InstData::Nullary { op } => (op, 5, 0),
            InstData::NullaryImm { op, imm } => (op, 6, imm as u64),
            _ => unreachable!("not an operand-free instruction"),
        };
        HoistKey { op, kind, bits }
    }
}

impl<'a, 'f> FnLower<'a, 'f> {
    fn run(&mut self) {
        let entry = self.b.create_block();
        self.b.switch_to_block(entry);
        self.ssa.seal(&mut self.b, entry);
        let params: Vec<Value> = self.body.params.iter().map(|_| self.b.append_block_param(entry, Type::Val)).collect();
        self.set_line(self.body.pos.line);
        for (&id, &v) in self.body.params.iter().zip(&params) {
            self.declare_local(id, v);
        }
        self.block(&self.body.block);
        if !self.b.is_filled() {
            self.set_line(self.body.end_pos.line);
            self.b.ret(Vec::new(), false);
        }
    }

    // ---- helpers -----------------------------------------------------------------------

    fn set_line(&mut self, line: u32) {
        self.b.debug = DebugInfo { line, names: [None, None] };
    }

    fn set_debug(&mut self, line: u32, names: [Option<VarName>; 2]) {
        self.b.debug = DebugInfo { line, names };
    }

    fn cur(&self) -> Block {
        self.b.current_block().expect("no current block")
    }

    fn rt(&mut self, name: &str, ret: Type) -> RtId {
        self.module.declare_rt(name, ret)
    }

    /// `rtcall @name(args) -> ret` with debug names for the first two operands.
    fn rtcall(&mut self, name: &str, ret: Type, args: Vec<Value>, line: u32, names: [Option<VarName>; 2]) -> Value {
        let rt = self.rt(name, ret);
        self.set_debug(line, names);
        let site = Some(self.b.new_site());
        self.b.rtcall(rt, ret, args, false, site)
    }

    /// The value of an operand-free pure instruction (a constant, `globals`, `upval N`,
    /// `varargs`), computed once at the top of the entry block, which dominates every
    /// use: loops then do not recompute it, and each appears once per function.
    fn hoisted(&mut self, data: InstData) -> Value {
        let key = HoistKey::of(&data);
        if let Some(&v) = self.hoisted.get(&key) {
            return v;
        }
        let saved = (self.b.current_block(), self.b.debug);
        let entry = self.b.func.entry();
        self.b.switch_to_block(entry);
        self.b.debug = DebugInfo::default();
        let v = self.b.ins1(data);
        let insts = &mut self.b.func.blocks[entry.index()].insts;
        let inst = insts.pop().expect("just inserted");
        insts.insert(self.hoisted.len(), inst);
        if let Some(b) = saved.0 {
            self.b.switch_to_block(b);
        }
        self.b.debug = saved.1;
        self.hoisted.insert(key, v);
        v
    }

    fn konst(&mut self, c: Const) -> Value {
        self.hoisted(InstData::Const { op: Opcode::Const, imm: c })
    }

    fn iconst(&mut self, n: i64) -> Value {
        self.hoisted(InstData::Const { op: Opcode::Iconst, imm: Const::Int(n) })
    }

    fn fconst(&mut self, x: f64) -> Value {
        self.hoisted(InstData::Const { op: Opcode::Fconst, imm: Const::Float(x) })
    }

    fn bconst(&mut self, b: bool) -> Value {
        self.hoisted(InstData::Const { op: Opcode::Bconst, imm: Const::Bool(b) })
    }

    fn str_const(&mut self, s: &[u8]) -> Value {
        let id = self.module.intern(s);
        self.konst(Const::Str(id))
    }

    fn varargs(&mut self) -> Value {
        self.hoisted(InstData::Nullary { op: Opcode::Varargs })
    }

    fn var_name(&mut self, kind: VarKind, name: &str) -> Option<VarName> {
        Some(VarName { kind, name: self.module.intern(name.as_bytes()) })
    }

    fn local_info(&self, id: LocalId) -> &'a crate::ast::LocalInfo {
        &self.chunk.locals[id.0 as usize]
    }

    /// What a runtime error should call the value of `e` (Lua's "variable info").
    fn describe(&mut self, e: &Expr) -> Option<VarName> {
        match &e.kind {
            ExprKind::Name(Name::Local(id)) => {
                let name = self.local_info(*id).name.clone();
                self.var_name(VarKind::Local, &name)
            }
            ExprKind::Name(Name::Upvalue(i)) => {
                let name = self.body.upvalues[*i as usize].name.clone();
                self.var_name(VarKind::Upvalue, &name)
            }
            ExprKind::Name(Name::Global(n)) => self.var_name(VarKind::Global, n),
            // Lua names a field by its key when the key is a constant string; a small
            // integer constant (0..=255, an instruction's immediate operand) is an
            // "integer index"; any other key, "?".
            ExprKind::Index { key, .. } => {
                let name: &[u8] = match &key.kind {
                    ExprKind::Str(s) => s,
                    ExprKind::Int(i) if (0..=255).contains(i) => b"integer index",
                    _ => b"?",
                };
                Some(VarName { kind: VarKind::Field, name: self.module.intern(name) })
            }
            ExprKind::Str(s) => Some(VarName { kind: VarKind::Constant, name: self.module.intern(s) }),
            // Parentheses around a single value name the same variable.
            ExprKind::Paren(inner) if !inner.is_multi() => self.describe(inner),
            // Lua folds `k and e` for a true constant `k`, and `nil or e`, `false or e`,
            // to `e`: the value is named as `e` is.
            ExprKind::Binary { op: BinOp::And, lhs, rhs } if matches!(lhs.kind, ExprKind::True | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_)) => {
                self.describe(rhs)
            }
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } if matches!(lhs.kind, ExprKind::Nil | ExprKind::False) => self.describe(rhs),
            _ => None,
        }
    }

    // ---- control flow ------------------------------------------------------------------

    fn jump(&mut self, target: Block, args: Vec<Value>) {
        let from = self.cur();
        self.b.jump(target, args);
        self.ssa.add_pred(target, from);
    }

    fn brif(&mut self, cond: Value, t: Block, targs: Vec<Value>, e: Block, eargs: Vec<Value>) {
        let from = self.cur();
        self.b.brif(cond, t, targs, e, eargs);
        self.ssa.add_pred(t, from);
        self.ssa.add_pred(e, from);
    }

    /// Continues in a fresh block no branch reaches (after `break`/`return`).
    fn start_unreachable(&mut self) {
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
        self.ssa.seal(&mut self.b, dead);
    }

    // ---- variables ---------------------------------------------------------------------

    /// Declares a local with its initial value (a new cell if some closure captures it).
    fn declare_local(&mut self, id: LocalId, v: Value) {
        let stored = if self.local_info(id).captured { self.b.unary(Opcode::CellNew, v) } else { v };
        let cur = self.cur();
        self.ssa.write(id, cur, stored);
    }

    fn read_local(&mut self, id: LocalId) -> Value {
        let cur = self.cur();
        let v = self.ssa.read(&mut self.b, id, cur);
        if self.local_info(id).captured {
            self.b.unary(Opcode::CellGet, v)
        } else {
            v
        }
    }

    fn write_local(&mut self, id: LocalId, v: Value) {
        let cur = self.cur();
        if self.local_info(id).captured {
            let cell = self.ssa.read(&mut self.b, id, cur);
            self.b.ins(InstData::Binary { op: Opcode::CellSet, args: [cell, v] });
        } else {
            self.ssa.write(id, cur, v);
        }
    }

    /// The cell of a captured local (for closures).
    fn local_cell(&mut self, id: LocalId) -> Value {
        let cur = self.cur();
        self.ssa.read(&mut self.b, id, cur)
    }

    fn upval_cell(&mut self, i: u32) -> Value {
        self.hoisted(InstData::NullaryImm { op: Opcode::Upval, imm: i as i64 })
    }

    fn globals(&mut self) -> Value {
        self.hoisted(InstData::Nullary { op: Opcode::Globals })
    }

    /// Lowers a nested function and makes a closure of it.
    fn closure(&mut self, body: &FuncBody) -> Value {
        let f = lower_function(self.module, self.chunk, body);
        let id: FuncId = self.module.add_function(f);
        let cells: Vec<Value> = body
            .upvalues
            .iter()
            .map(|u| match u.source {
                crate::ast::UpvalSource::Local(l) => self.local_cell(l),
                crate::ast::UpvalSource::Upvalue(i) => self.upval_cell(i),
            })
            .collect();
        self.set_line(body.pos.line);
        self.b.ins1(InstData::Closure { op: Opcode::Closure, func: id, args: cells })
    }
}
