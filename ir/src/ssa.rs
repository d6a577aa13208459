//! On-the-fly SSA construction over block parameters (Braun et al., "Simple and
//! Efficient Construction of Static Single Assignment Form", 2013).
//!
//! A frontend's mutable locals are *variables* (any key type: a resolver's local number,
//! say); each block records the value a variable last got in it.
//! Reading a variable in a block with no definition asks the predecessors; a block
//! whose predecessors are not all known yet ("unsealed": a loop header before its
//! back-edge) gets a provisional parameter that is completed when the block is sealed.
//! Explicit block parameters (created with the block) always come before the ones this
//! adds, and branches pass the explicit arguments when they are emitted; the arguments
//! for added parameters are appended to every predecessor's branch.
//!
//! Variables are `val`s: a read with no definition on some path is `nil`.
//!
//! ```
//! use lazyjit_ir::ssa::{remove_trivial_params, Ssa};
//! use lazyjit_ir::{Const, Function, FunctionBuilder, Opcode};
//!
//! // x = 0; while cond do x = x + 1 end; return x   (with `cond` the parameter)
//! let mut f = Function::new("count");
//! f.params = 1;
//! let mut b = FunctionBuilder::new(&mut f);
//! let mut ssa: Ssa<&str> = Ssa::default();
//! let entry = b.create_block();
//! let cond = b.append_block_param(entry, lazyjit_ir::Type::Val);
//! let (head, body, exit) = (b.create_block(), b.create_block(), b.create_block());
//! b.switch_to_block(entry);
//! ssa.seal(&mut b, entry);
//! let zero = b.konst(Const::Int(0));
//! ssa.write("x", entry, zero);
//! b.jump(head, vec![]);
//! ssa.add_pred(head, entry);
//!
//! b.switch_to_block(head); // not sealed: the back edge is still to come
//! b.set_loop_header(head);
//! let c = b.unary(Opcode::Truthy, cond);
//! b.brif(c, body, vec![], exit, vec![]);
//! ssa.add_pred(body, head);
//! ssa.add_pred(exit, head);
//! ssa.seal(&mut b, body);
//!
//! b.switch_to_block(body);
//! let x = ssa.read(&mut b, "x", body);
//! let xi = b.unary(Opcode::UnboxInt, x);
//! let one = b.iconst(1);
//! let next = b.binary(Opcode::Iadd, xi, one);
//! let boxed = b.unary(Opcode::BoxInt, next);
//! ssa.write("x", body, boxed);
//! b.jump(head, vec![]);
//! ssa.add_pred(head, body);
//! ssa.seal(&mut b, head); // now the header gets its parameter for `x`
//! ssa.seal(&mut b, exit);
//!
//! b.switch_to_block(exit);
//! let x = ssa.read(&mut b, "x", exit);
//! b.ret(vec![x], false);
//! remove_trivial_params(&mut f);
//! assert_eq!(f.blocks[1].params.len(), 1, "the loop header carries x");
//! ```

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::{Block, BlockCall, Const, Function, FunctionBuilder, Inst, InstData, SnapSource, Type, Value, ValueDef};

/// SSA bookkeeping for one function under construction; `K` names a variable.
pub struct Ssa<K> {
    defs: HashMap<(Block, K), Value>,
    sealed: HashSet<Block>,
    incomplete: HashMap<Block, Vec<(K, Value)>>,
    preds: HashMap<Block, Vec<Block>>,
}

impl<K> Default for Ssa<K> {
    fn default() -> Self {
        Ssa { defs: HashMap::new(), sealed: HashSet::new(), incomplete: HashMap::new(), preds: HashMap::new() }
    }
}

impl<K: Copy + Eq + Hash> Ssa<K> {
    /// Records that `var` has `value` at the end (so far) of `block`.
    pub fn write(&mut self, var: K, block: Block, value: Value) {
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
    pub fn read(&mut self, b: &mut FunctionBuilder, var: K, block: Block) -> Value {
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

    fn add_operands(&mut self, b: &mut FunctionBuilder, var: K, block: Block, _param: Value) {
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
    let inst = Inst::new(b.func.insts.len());
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

/// Removes trivial block parameters — those that receive one and the same value (or
/// themselves) on every incoming edge — replacing their uses by that value, until none
/// is left; then renumbers the values densely. This is the last step of Braun et al.'s
/// construction: loops get parameters only for variables the loop really changes.
pub fn remove_trivial_params(f: &mut Function) {
    prune_unreachable(f);
    loop {
        let replace = trivial_params(f);
        if replace.is_empty() {
            break;
        }
        let resolve = |mut v: Value| {
            while let Some(&r) = replace.get(&v) {
                v = r;
            }
            v
        };
        for node in f.insts.iter_mut() {
            node.data.map_operands(resolve);
        }
        for snap in f.snapshots.iter_mut() {
            for (_, src) in snap.entries.iter_mut() {
                if let SnapSource::Value(v) = src {
                    *v = resolve(*v);
                }
            }
        }
        drop_params(f, &replace);
    }
    renumber_values(f);
}

/// Deletes blocks no path from the entry reaches (code after `break` or `return`), so
/// their branches do not count as incoming edges, and renumbers blocks and instructions
/// in layout order.
fn prune_unreachable(f: &mut Function) {
    let n = f.blocks.len();
    let mut reachable = vec![false; n];
    let mut work = vec![f.entry()];
    while let Some(b) = work.pop() {
        if std::mem::replace(&mut reachable[b.index()], true) {
            continue;
        }
        if let Some(t) = f.terminator(b) {
            work.extend(f.insts[t.index()].data.successors().iter().map(|bc| bc.block));
        }
    }
    let mut new_block = vec![None; n];
    let mut blocks = Vec::new();
    for (i, b) in std::mem::take(&mut f.blocks).into_iter().enumerate() {
        if reachable[i] {
            new_block[i] = Some(Block::new(blocks.len()));
            blocks.push(b);
        }
    }
    let mut insts = Vec::new();
    let mut old_insts: Vec<Option<crate::InstNode>> = std::mem::take(&mut f.insts).into_iter().map(Some).collect();
    for (bi, b) in blocks.iter_mut().enumerate() {
        for (pi, p) in b.params.iter().enumerate() {
            f.values[p.index()].def = ValueDef::Param(Block::new(bi), pi as u32);
        }
        for inst in b.insts.iter_mut() {
            let mut node = old_insts[inst.index()].take().expect("an instruction is in one block");
            let id = Inst::new(insts.len());
            for (ri, r) in node.results.iter().enumerate() {
                f.values[r.index()].def = ValueDef::Result(id, ri as u32);
            }
            let retarget = |bc: &mut BlockCall| bc.block = new_block[bc.block.index()].expect("reachable target");
            match &mut node.data {
                InstData::Jump { dest, .. } => retarget(dest),
                InstData::Brif { then_dest, else_dest, .. } => {
                    retarget(then_dest);
                    retarget(else_dest);
                }
                _ => {}
            }
            insts.push(node);
            *inst = id;
        }
    }
    f.blocks = blocks;
    f.insts = insts;
    for snap in f.snapshots.iter_mut() {
        if let Some(b) = new_block.get(snap.resume.block.index()).copied().flatten() {
            snap.resume.block = b;
        }
    }
}

/// Trivial parameters of non-entry blocks and the value each stands for.
fn trivial_params(f: &Function) -> HashMap<Value, Value> {
    let mut incoming: HashMap<Value, Option<Value>> = HashMap::new();
    let mut conflicting: HashSet<Value> = HashSet::new();
    for b in &f.blocks {
        let Some(&last) = b.insts.last() else { continue };
        for bc in f.insts[last.index()].data.successors() {
            let params = &f.blocks[bc.block.index()].params;
            for (&arg, &param) in bc.args.iter().zip(params) {
                if arg == param || conflicting.contains(&param) {
                    continue;
                }
                match incoming.get(&param) {
                    Some(Some(v)) if *v != arg => {
                        conflicting.insert(param);
                    }
                    _ => {
                        incoming.insert(param, Some(arg));
                    }
                }
            }
        }
    }
    incoming
        .into_iter()
        .filter(|(p, _)| !conflicting.contains(p))
        .filter_map(|(p, v)| v.map(|v| (p, v)))
        .filter(|(p, _)| !matches!(f.values[p.index()].def, ValueDef::Param(b, _) if b == f.entry()))
        .collect()
}

/// Deletes the given parameters and the matching branch arguments.
fn drop_params(f: &mut Function, gone: &HashMap<Value, Value>) {
    let keep: Vec<Vec<bool>> =
        f.blocks.iter().map(|b| b.params.iter().map(|p| !gone.contains_key(p)).collect()).collect();
    let layout: Vec<Inst> = f.blocks.iter().filter_map(|b| b.insts.last().copied()).collect();
    for last in layout {
        let filter = |bc: &mut BlockCall| {
            let mask = &keep[bc.block.index()];
            let mut i = 0;
            bc.args.retain(|_| {
                let k = mask.get(i).copied().unwrap_or(true);
                i += 1;
                k
            });
        };
        match &mut f.insts[last.index()].data {
            InstData::Jump { dest, .. } => filter(dest),
            InstData::Brif { then_dest, else_dest, .. } => {
                filter(then_dest);
                filter(else_dest);
            }
            _ => {}
        }
    }
    for (bi, b) in f.blocks.iter_mut().enumerate() {
        b.params.retain(|p| !gone.contains_key(p));
        for (i, p) in b.params.iter().enumerate() {
            f.values[p.index()].def = ValueDef::Param(Block::new(bi), i as u32);
        }
    }
}

/// Renumbers values in order of definition (block parameters, then results, block by
/// block), dropping values nothing defines any more.
fn renumber_values(f: &mut Function) {
    let mut new_id: Vec<Option<Value>> = vec![None; f.values.len()];
    let mut values = Vec::new();
    let mut assign = |v: Value, values: &mut Vec<crate::ValueData>| {
        if new_id[v.index()].is_none() {
            new_id[v.index()] = Some(Value::new(values.len()));
            values.push(f.values[v.index()]);
        }
    };
    for b in &f.blocks {
        for &p in &b.params {
            assign(p, &mut values);
        }
        for &inst in &b.insts {
            for &r in &f.insts[inst.index()].results {
                assign(r, &mut values);
            }
        }
    }
    let map = |v: Value| new_id[v.index()].unwrap_or(v);
    for b in f.blocks.iter_mut() {
        b.params.iter_mut().for_each(|p| *p = map(*p));
    }
    for node in f.insts.iter_mut() {
        node.data.map_operands(map);
        node.results.iter_mut().for_each(|r| *r = map(*r));
    }
    for snap in f.snapshots.iter_mut() {
        for (key, src) in snap.entries.iter_mut() {
            *key = map(*key);
            if let SnapSource::Value(v) = src {
                *v = map(*v);
            }
        }
    }
    f.values = values;
}
