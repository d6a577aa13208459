//! On-the-fly SSA construction over block parameters (Braun et al., "Simple and
//! Efficient Construction of Static Single Assignment Form", 2013).
//!
//! Locals are *variables*; each block records the value a variable last got in it.
//! Reading a variable in a block with no definition asks the predecessors; a block
//! whose predecessors are not all known yet ("unsealed": a loop header before its
//! back-edge) gets a provisional parameter that is completed when the block is sealed.
//! Explicit block parameters (created with the block) always come before the ones this
//! adds, and branches pass the explicit arguments when they are emitted; the arguments
//! for added parameters are appended to every predecessor's branch.

use std::collections::{HashMap, HashSet};

use lazyjit_ir::{Block, Const, FunctionBuilder, InstData, Type, Value};

use crate::ast::LocalId;

/// SSA bookkeeping for one function under construction.
#[derive(Default)]
pub struct Ssa {
    defs: HashMap<(Block, LocalId), Value>,
    sealed: HashSet<Block>,
    incomplete: HashMap<Block, Vec<(LocalId, Value)>>,
    preds: HashMap<Block, Vec<Block>>,
}

impl Ssa {
    /// Records that `var` has `value` at the end (so far) of `block`.
    pub fn write(&mut self, var: LocalId, block: Block, value: Value) {
        self.defs.insert((block, var), value);
    }

    /// Records a control-flow edge (once per pair).
    pub fn add_pred(&mut self, block: Block, pred: Block) {
        let preds = self.preds.entry(block).or_default();
        if !preds.contains(&pred) {
            preds.push(pred);
        }
    }

    /// Marks a block as having all its predecessors, completing its parameters.
    pub fn seal(&mut self, b: &mut FunctionBuilder, block: Block) {
        if !self.sealed.insert(block) {
            return;
        }
        for (var, param) in self.incomplete.remove(&block).unwrap_or_default() {
            self.add_operands(b, var, block, param);
        }
    }

    /// The value of `var` in `block`.
    pub fn read(&mut self, b: &mut FunctionBuilder, var: LocalId, block: Block) -> Value {
        if let Some(&v) = self.defs.get(&(block, var)) {
            return v;
        }
        let v = if !self.sealed.contains(&block) {
            let param = b.append_block_param(block, Type::Val);
            self.incomplete.entry(block).or_default().push((var, param));
            param
        } else {
            let preds = self.preds.get(&block).cloned().unwrap_or_default();
            match preds.as_slice() {
                [] => undefined(b, block),
                [single] => self.read(b, var, *single),
                _ => {
                    let param = b.append_block_param(block, Type::Val);
                    self.write(var, block, param);
                    self.add_operands(b, var, block, param);
                    param
                }
            }
        };
        self.write(var, block, v);
        v
    }

    fn add_operands(&mut self, b: &mut FunctionBuilder, var: LocalId, block: Block, _param: Value) {
        let preds = self.preds.get(&block).cloned().unwrap_or_default();
        for pred in preds {
            let v = self.read(b, var, pred);
            let term = b.func.terminator(pred).expect("predecessor without a terminator");
            match &mut b.func.insts[term.index()].data {
                InstData::Jump { dest, .. } => {
                    if dest.block == block {
                        dest.args.push(v)
                    }
                }
                InstData::Brif { then_dest, else_dest, .. } => {
                    for d in [then_dest, else_dest] {
                        if d.block == block {
                            d.args.push(v);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A variable read where it has no definition (only in unreachable code): `nil`.
fn undefined(b: &mut FunctionBuilder, block: Block) -> Value {
    let saved = b.current_block();
    // Put the constant at the start of the block so it dominates every use there.
    let inst = lazyjit_ir::Inst::new(b.func.insts.len());
    b.switch_to_block(block);
    let v = b.konst(Const::Nil);
    let insts = &mut b.func.blocks[block.index()].insts;
    if let Some(pos) = insts.iter().position(|&i| i == inst) {
        insts.remove(pos);
        insts.insert(0, inst);
    }
    if let Some(s) = saved {
        b.switch_to_block(s);
    }
    v
}
