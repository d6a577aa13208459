//! Building functions instruction by instruction.

use crate::entity::{Block, Inst, RtId, SiteId, SnapId, Value};
use crate::function::{BlockCall, BlockData, Const, DebugInfo, Function, InstData, InstNode, ValueDef};
use crate::ops::{Opcode, Results};
use crate::types::Type;

/// Appends instructions to a function, one block at a time.
pub struct FunctionBuilder<'f> {
    /// The function being built.
    pub func: &'f mut Function,
    current: Option<Block>,
    /// Debug information given to the instructions inserted next.
    pub debug: DebugInfo,
}

impl<'f> FunctionBuilder<'f> {
    /// Starts building into `func`.
    pub fn new(func: &'f mut Function) -> Self {
        FunctionBuilder { func, current: None, debug: DebugInfo::default() }
    }

    /// A new empty block (not yet current).
    pub fn create_block(&mut self) -> Block {
        self.func.blocks.push(BlockData::default());
        Block::new(self.func.blocks.len() - 1)
    }

    /// Adds a parameter of type `ty` to `block`.
    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        let n = self.func.blocks[block.index()].params.len() as u32;
        let v = self.func.make_value(ty, ValueDef::Param(block, n));
        self.func.blocks[block.index()].params.push(v);
        v
    }

    /// Marks a block as a loop header.
    pub fn set_loop_header(&mut self, block: Block) {
        self.func.blocks[block.index()].loop_header = true;
    }

    /// Makes `block` the insertion point.
    pub fn switch_to_block(&mut self, block: Block) {
        self.current = Some(block);
    }

    /// The insertion block.
    pub fn current_block(&self) -> Option<Block> {
        self.current
    }

    /// Whether the insertion block already ends in a terminator (or there is none).
    pub fn is_filled(&self) -> bool {
        match self.current {
            None => true,
            Some(b) => self.func.terminator(b).is_some(),
        }
    }

    /// Appends an instruction whose results are given by type.
    pub fn ins_with_results(&mut self, data: InstData, types: &[Type]) -> Inst {
        let block = self.current.expect("no current block");
        let inst = Inst::new(self.func.insts.len());
        let results = types
            .iter()
            .enumerate()
            .map(|(i, &ty)| self.func.make_value(ty, ValueDef::Result(inst, i as u32)))
            .collect();
        self.func.insts.push(InstNode { data, results, debug: self.debug });
        self.func.blocks[block.index()].insts.push(inst);
        inst
    }

    /// Appends an instruction with no or one result, as its opcode says.
    pub fn ins(&mut self, data: InstData) -> Inst {
        let types: Vec<Type> = match data.opcode().results() {
            Results::None => Vec::new(),
            Results::One(t) => vec![t],
            Results::Vals | Results::Declared => panic!("{} needs explicit result types", data.opcode().mnemonic()),
        };
        self.ins_with_results(data, &types)
    }

    /// Appends a one-result instruction and returns the result.
    pub fn ins1(&mut self, data: InstData) -> Value {
        let ty = match data.opcode().results() {
            Results::One(t) => t,
            _ => panic!("{} does not have exactly one result", data.opcode().mnemonic()),
        };
        let inst = self.ins_with_results(data, &[ty]);
        self.func.insts[inst.index()].results[0]
    }

    /// `const`.
    pub fn konst(&mut self, c: Const) -> Value {
        self.ins1(InstData::Const { op: Opcode::Const, imm: c })
    }

    /// `iconst`.
    pub fn iconst(&mut self, n: i64) -> Value {
        self.ins1(InstData::Const { op: Opcode::Iconst, imm: Const::Int(n) })
    }

    /// `fconst`.
    pub fn fconst(&mut self, x: f64) -> Value {
        self.ins1(InstData::Const { op: Opcode::Fconst, imm: Const::Float(x) })
    }

    /// A unary op.
    pub fn unary(&mut self, op: Opcode, arg: Value) -> Value {
        self.ins1(InstData::Unary { op, arg })
    }

    /// A binary op with a result.
    pub fn binary(&mut self, op: Opcode, a: Value, b: Value) -> Value {
        self.ins1(InstData::Binary { op, args: [a, b] })
    }

    /// A three-operand op without a result (`arr.set`).
    pub fn ternary(&mut self, op: Opcode, a: Value, b: Value, c: Value) {
        self.ins(InstData::Ternary { op, args: [a, b, c] });
    }

    /// A runtime call with one result of type `ret`.
    pub fn rtcall(&mut self, rt: RtId, ret: Type, args: Vec<Value>, spread: bool, site: Option<SiteId>) -> Value {
        let inst = self.ins_with_results(InstData::RtCall { op: Opcode::RtCall, rt, args, spread, site }, &[ret]);
        self.func.insts[inst.index()].results[0]
    }

    /// A call with `nret` `val` results.
    pub fn call(&mut self, callee: Value, args: Vec<Value>, spread: bool, nret: usize) -> Vec<Value> {
        let site = Some(self.new_site());
        let types = vec![Type::Val; nret];
        let inst = self.ins_with_results(InstData::Call { op: Opcode::Call, callee, args, spread, site }, &types);
        self.func.insts[inst.index()].results.clone()
    }

    /// A call keeping all results in a pack.
    pub fn call_pack(&mut self, callee: Value, args: Vec<Value>, spread: bool) -> Value {
        let site = Some(self.new_site());
        self.ins1(InstData::Call { op: Opcode::CallPack, callee, args, spread, site })
    }

    /// A tail call (terminator).
    pub fn tail_call(&mut self, callee: Value, args: Vec<Value>, spread: bool) {
        let site = Some(self.new_site());
        self.ins(InstData::Call { op: Opcode::TailCall, callee, args, spread, site });
    }

    /// `jump`.
    pub fn jump(&mut self, block: Block, args: Vec<Value>) {
        self.ins(InstData::Jump { op: Opcode::Jump, dest: BlockCall { block, args } });
    }

    /// `brif`.
    pub fn brif(&mut self, cond: Value, then_block: Block, then_args: Vec<Value>, else_block: Block, else_args: Vec<Value>) {
        self.ins(InstData::Brif {
            op: Opcode::Brif,
            cond,
            then_dest: BlockCall { block: then_block, args: then_args },
            else_dest: BlockCall { block: else_block, args: else_args },
        });
    }

    /// `return`.
    pub fn ret(&mut self, args: Vec<Value>, spread: bool) {
        self.ins(InstData::Return { op: Opcode::Return, args, spread });
    }

    /// `guard`/`guard.tag`.
    pub fn guard(&mut self, op: Opcode, arg: Value, imm: i64, snap: SnapId) {
        self.ins(InstData::Guard { op, arg, imm, snap });
    }

    /// A fresh type-profile site.
    pub fn new_site(&mut self) -> SiteId {
        let s = SiteId(self.func.sites);
        self.func.sites += 1;
        s
    }
}
