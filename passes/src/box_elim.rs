//! Box elimination: typed values stay unboxed between the operations that use them.
//!
//! After `type_spec`, each speculated operation unboxes its operands and boxes its
//! result, so a chain `s = s + i * 2` is a box of `imul` unboxed again for `iadd`. This
//! pass removes that traffic in three steps.
//!
//! 1. *Known tags.* A value's tag is known when it is a box (`box.int` -> `int`), a
//!    constant, or a block parameter every incoming argument of which has the same
//!    known tag. Parameters are solved optimistically (assumed known until an edge
//!    says otherwise), so a loop-carried value boxed on every edge is known too.
//! 2. *Unboxed parameters.* A `val` parameter whose tag is known to be `int`, `float`
//!    or `bool`, and whose every incoming argument is a box of that type, a constant of
//!    that tag, or another such parameter, changes type: the edges pass the unboxed
//!    values (typed constants are made in the entry block), and the block boxes the
//!    parameter once at its start for the uses that want a `val`. Snapshots keep the
//!    typed value (a deoptimization boxes it). The entry block's parameters come from
//!    the caller and stay boxed.
//! 3. *Local rewrites.* `unbox.T (box.T x)` is `x`; a `guard.tag` on a value whose tag
//!    is known to be the guarded one is removed (one known to be another tag is left:
//!    it always deoptimizes, which is correct, and `const_fold` does not touch it);
//!    `tag` of a known tag is a constant; `truthy` of a box is the boolean or `true`.
//!
//! A box nobody unboxes any more is left for `dce`: boxes remain exactly where a value
//! escapes (a call argument, a return, a table store, a `val` parameter).

use lazyjit_ir::rt::Tag;
use lazyjit_ir::{Block, BlockCall, Const, Function, Inst, InstData, Opcode, Type, Value, ValueDef};

use crate::edit::{boxed_tag, def_data, make1, replace_uses, unboxed};
use crate::{Context, Pass, PassReport};

/// The box elimination pass (`box_elim`).
pub struct BoxElim;

/// Every branch edge: (target block, arguments).
fn edges(f: &Function) -> Vec<BlockCall> {
    let mut out = Vec::new();
    for b in &f.blocks {
        if let Some(&last) = b.insts.last() {
            out.extend(f.insts[last.index()].data.successors().into_iter().cloned());
        }
    }
    out
}

/// The known tag of every value (see the module documentation), by value.
fn known_tags(f: &Function) -> Vec<Option<Tag>> {
    /// Lattice: not yet seen (optimistic), one tag, or unknown.
    #[derive(Clone, Copy, PartialEq)]
    enum K {
        Top,
        Is(Tag),
        Unknown,
    }
    let mut k = vec![K::Unknown; f.values.len()];
    for (v, data) in f.values.iter().enumerate() {
        k[v] = match data.def {
            ValueDef::Param(b, _) if b.index() != 0 && data.ty == Type::Val => K::Top,
            ValueDef::Param(..) => K::Unknown,
            ValueDef::Result(i, _) => match &f.insts[i.index()].data {
                InstData::Const { op: Opcode::Const, imm } => K::Is(imm.tag()),
                InstData::Unary { op, .. } => boxed_tag(*op).map_or(K::Unknown, K::Is),
                _ => K::Unknown,
            },
        };
    }
    let edges = edges(f);
    let solved: Vec<bool> = k.iter().map(|x| *x == K::Top).collect();
    // Parameters of unreachable blocks stay optimistic; nothing reads them at run time.
    loop {
        let mut next = k.clone();
        for (v, _) in solved.iter().enumerate().filter(|(_, s)| **s) {
            next[v] = K::Top;
        }
        for e in &edges {
            for (&p, &a) in f.blocks[e.block.index()].params.iter().zip(&e.args) {
                if !solved[p.index()] {
                    continue;
                }
                next[p.index()] = match (next[p.index()], k[a.index()]) {
                    (K::Top, x) | (x, K::Top) => x,
                    (K::Is(s), K::Is(t)) if s == t => K::Is(s),
                    _ => K::Unknown,
                };
            }
        }
        if next == k {
            break;
        }
        k = next;
    }
    k.into_iter().map(|x| if let K::Is(t) = x { Some(t) } else { None }).collect()
}

impl Pass for BoxElim {
    fn run(&self, _cx: &Context, f: &mut Function) -> PassReport {
        let params = unbox_params(f);
        let known = known_tags(f);
        let (mut pairs, mut guards, mut others) = (0u64, 0u64, 0u64);
        let mut subst: Vec<Option<Value>> = vec![None; f.values.len()];
        for bi in 0..f.blocks.len() {
            let mut keep = Vec::with_capacity(f.blocks[bi].insts.len());
            for k in 0..f.blocks[bi].insts.len() {
                let inst = f.blocks[bi].insts[k];
                let node = &f.insts[inst.index()];
                let result = node.results.first().copied();
                let tag_of = |v: Value| known.get(v.index()).copied().flatten();
                match &node.data {
                    InstData::Unary { op, arg } if matches!(op, Opcode::UnboxInt | Opcode::UnboxFloat | Opcode::UnboxBool) => {
                        if let Some(InstData::Unary { op: bop, arg: x }) = def_data(f, *arg) {
                            if boxed_tag(*bop).and_then(unboxed).is_some_and(|(_, _, u)| u == *op) {
                                subst[result.expect("an unbox has a result").index()] = Some(*x);
                                pairs += 1;
                                continue;
                            }
                        }
                    }
                    InstData::Guard { op: Opcode::GuardTag, arg, imm, .. } if tag_of(*arg).is_some_and(|t| t as i64 == *imm) => {
                        guards += 1;
                        continue;
                    }
                    InstData::Unary { op: Opcode::Tag, arg } => {
                        if let Some(t) = tag_of(*arg) {
                            f.insts[inst.index()].data = InstData::Const { op: Opcode::Iconst, imm: Const::Int(t as i64) };
                            others += 1;
                        }
                    }
                    InstData::Unary { op: Opcode::Truthy, arg } => match def_data(f, *arg) {
                        Some(InstData::Unary { op: Opcode::BoxBool, arg: b }) => {
                            subst[result.expect("truthy has a result").index()] = Some(*b);
                            others += 1;
                            continue;
                        }
                        Some(InstData::Unary { op: Opcode::BoxInt | Opcode::BoxFloat, .. }) => {
                            f.insts[inst.index()].data = InstData::Const { op: Opcode::Bconst, imm: Const::Bool(true) };
                            others += 1;
                        }
                        _ => {}
                    },
                    _ => {}
                }
                keep.push(inst);
            }
            f.blocks[bi].insts = keep;
        }
        replace_uses(f, &subst);
        PassReport {
            changed: params + pairs + guards + others > 0,
            counts: vec![
                ("parameters unboxed", params),
                ("box/unbox pairs removed", pairs),
                ("guards removed", guards),
                ("tag tests folded", others),
            ],
        }
    }
}

/// Step 2: unboxes the parameters that can be; returns how many.
fn unbox_params(f: &mut Function) -> u64 {
    let known = known_tags(f);
    let edges = edges(f);
    // Candidates: non-entry `val` parameters with an unboxable known tag.
    let mut cand: Vec<Option<Tag>> = vec![None; f.values.len()];
    for b in f.blocks.iter().skip(1) {
        for &p in &b.params {
            if f.value_type(p) == Type::Val {
                cand[p.index()] = known[p.index()].filter(|&t| unboxed(t).is_some());
            }
        }
    }
    // An incoming argument must have an unboxed form of the parameter's tag.
    let unboxed_form = |f: &Function, cand: &[Option<Tag>], a: Value, tag: Tag| -> bool {
        if cand[a.index()] == Some(tag) {
            return true;
        }
        match def_data(f, a) {
            Some(InstData::Unary { op, .. }) => boxed_tag(*op) == Some(tag),
            Some(InstData::Const { op: Opcode::Const, imm }) => imm.tag() == tag,
            _ => false,
        }
    };
    loop {
        let mut changed = false;
        for e in &edges {
            for (&p, &a) in f.blocks[e.block.index()].params.iter().zip(&e.args) {
                if let Some(tag) = cand[p.index()] {
                    if !unboxed_form(f, &cand, a, tag) {
                        cand[p.index()] = None;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let chosen: Vec<Value> = (0..f.values.len()).filter(|&v| cand[v].is_some()).map(Value::new).collect();
    if chosen.is_empty() {
        return 0;
    }
    // Unboxed forms of the incoming arguments; typed constants go to the entry block's
    // start, before its first instruction.
    let mut entry_consts: Vec<Inst> = Vec::new();
    let mut form = |f: &mut Function, a: Value, tag: Tag| -> Value {
        if cand[a.index()] == Some(tag) {
            return a;
        }
        match def_data(f, a).cloned() {
            Some(InstData::Unary { arg, .. }) => arg,
            Some(InstData::Const { imm, .. }) => {
                let op = match imm {
                    Const::Int(_) => Opcode::Iconst,
                    Const::Float(_) => Opcode::Fconst,
                    _ => Opcode::Bconst,
                };
                let (i, r) = make1(f, InstData::Const { op, imm }, Default::default());
                entry_consts.push(i);
                r.expect("a constant has a result")
            }
            _ => unreachable!("checked: every incoming argument has an unboxed form"),
        }
    };
    for bi in 0..f.blocks.len() {
        let Some(&last) = f.blocks[bi].insts.last() else { continue };
        let mut data = f.insts[last.index()].data.clone();
        let mut touched = false;
        let mut rewrite = |f: &mut Function, bc: &mut BlockCall| {
            let params = f.blocks[bc.block.index()].params.clone();
            for (p, a) in params.iter().zip(bc.args.iter_mut()) {
                if let Some(tag) = cand[p.index()] {
                    *a = form(f, *a, tag);
                    touched = true;
                }
            }
        };
        match &mut data {
            InstData::Jump { dest, .. } => rewrite(f, dest),
            InstData::Brif { then_dest, else_dest, .. } => {
                rewrite(f, then_dest);
                rewrite(f, else_dest);
            }
            _ => {}
        }
        if touched {
            f.insts[last.index()].data = data;
        }
    }
    // Retype the parameters; box each once at its block's start for the other uses.
    let mut subst: Vec<Option<Value>> = vec![None; f.values.len()];
    let mut boxes: Vec<(Block, Inst)> = Vec::new();
    for &p in &chosen {
        let tag = cand[p.index()].expect("chosen");
        let (ty, box_op, _) = unboxed(tag).expect("unboxable");
        f.values[p.index()].ty = ty;
        let ValueDef::Param(block, _) = f.values[p.index()].def else { unreachable!("a parameter") };
        let (i, b) = make1(f, InstData::Unary { op: box_op, arg: p }, Default::default());
        boxes.push((block, i));
        subst.resize(f.values.len(), None);
        subst[p.index()] = b;
    }
    // Uses of the parameters (other than the edges, rewritten above to typed values,
    // and snapshots, which may hold typed values) now read the boxes.
    let placed: Vec<Inst> = f.blocks.iter().flat_map(|b| b.insts.iter().copied()).collect();
    for inst in placed {
        let data = &mut f.insts[inst.index()].data;
        match data {
            InstData::Jump { dest, .. } => {
                let params = f.blocks[dest.block.index()].params.clone();
                subst_args(&mut dest.args, &params, &cand, &subst);
            }
            InstData::Brif { cond, then_dest, else_dest, .. } => {
                *cond = subst[cond.index()].unwrap_or(*cond);
                let tp = f.blocks[then_dest.block.index()].params.clone();
                subst_args(&mut then_dest.args, &tp, &cand, &subst);
                let ep = f.blocks[else_dest.block.index()].params.clone();
                subst_args(&mut else_dest.args, &ep, &cand, &subst);
            }
            _ => data.map_operands(|v| subst.get(v.index()).copied().flatten().unwrap_or(v)),
        }
    }
    for (block, i) in boxes {
        f.blocks[block.index()].insts.insert(0, i);
    }
    let entry = &mut f.blocks[0].insts;
    for (n, i) in entry_consts.into_iter().enumerate() {
        entry.insert(n, i);
    }
    chosen.len() as u64
}

/// Branch arguments: those passed to an unboxed parameter are typed already; the rest
/// read boxes.
fn subst_args(args: &mut [Value], params: &[Value], cand: &[Option<Tag>], subst: &[Option<Value>]) {
    for (a, p) in args.iter_mut().zip(params) {
        if cand[p.index()].is_none() {
            *a = subst.get(a.index()).copied().flatten().unwrap_or(*a);
        }
    }
}
