//! The MIR verifier: checks a function or module against the rules of the IR and the op
//! table, and reports every violation it finds (it never panics, whatever the function
//! holds).
//!
//! Checks: the entry block has `params` parameters, all `val`; every block is non-empty
//! and ends in its only terminator; each instruction's data has its opcode's format;
//! operand types match the op table (`val` for call, closure and return operands, `pack`
//! for a spread's last one); result counts and types match (`rtcall`: the declared type);
//! constant kinds match the opcode; each value is defined once and its `ValueDef` says
//! where; branch arguments match the target's parameters; every use (and every value a
//! guard's snapshot reads) is dominated by its definition (uses in unreachable blocks are
//! not checked); `upval`, `varargs`, runtime functions, closure targets and their
//! captures, sites, snapshots, strings and `guard.tag` tags are in range; snapshots
//! resume inside an existing block and read defined values.

use std::fmt;

use crate::dominators::DominatorTree;
use crate::entity::{Block, Inst, SnapId, StrId, Value};
use crate::function::{BlockCall, Const, Function, InstData, Module, SnapSource, ValueDef};
use crate::ops::{Format, Opcode, Results};
use crate::rt::Tag;
use crate::types::Type;

/// One verifier finding.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifyError {
    /// The function's name (`<module>` for module-level findings).
    pub func: String,
    /// Where: `function`, `block2`, `v7`, `snap0`, or `block3:2 (iadd)` for the
    /// instruction at index 2 of block 3.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}: {}", self.func, self.location, self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Verifies every function of a module, and that its runtime functions have distinct
/// names.
pub fn verify_module(m: &Module) -> Result<(), Vec<VerifyError>> {
    let mut errors = Vec::new();
    for (i, d) in m.runtime.iter().enumerate() {
        if m.runtime[..i].iter().any(|e| e.name == d.name) {
            errors.push(VerifyError {
                func: "<module>".into(),
                location: format!("rt{i}"),
                message: format!("runtime function @{} is declared more than once", d.name),
            });
        }
    }
    for f in &m.functions {
        if let Err(e) = verify_function(m, f) {
            errors.extend(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Verifies one function of `m`.
pub fn verify_function(m: &Module, f: &Function) -> Result<(), Vec<VerifyError>> {
    verify_version(m, f, None)
}

/// Verifies a function made from a generic one (by passes), whose snapshots resume the
/// *generic* function: `generic_blocks` gives the length of each of its blocks, which
/// resume positions are checked against (the version's own blocks may have shrunk: code
/// hoisted out of a loop, say). `None`: the function is generic itself.
pub fn verify_version(m: &Module, f: &Function, generic_blocks: Option<&[usize]>) -> Result<(), Vec<VerifyError>> {
    let mut v = Verifier::new(m, f);
    v.generic_blocks = generic_blocks;
    v.run();
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

/// Where a value is defined in the layout.
#[derive(Clone, Copy, Debug)]
enum Site {
    Param(Block),
    /// Block, index in the block.
    Result(Block, usize),
}

struct Verifier<'a> {
    m: &'a Module,
    f: &'a Function,
    errors: Vec<VerifyError>,
    /// Layout position of each instruction.
    inst_pos: Vec<Option<(Block, usize)>>,
    /// Definition site of each value in the layout.
    def_site: Vec<Option<Site>>,
    /// The generic function's block lengths, where snapshots resume (see
    /// [`verify_version`]).
    generic_blocks: Option<&'a [usize]>,
}

fn format_of(data: &InstData) -> Format {
    match data {
        InstData::Nullary { .. } => Format::Nullary,
        InstData::NullaryImm { .. } => Format::NullaryImm,
        InstData::Unary { .. } => Format::Unary,
        InstData::UnaryImm { .. } => Format::UnaryImm,
        InstData::Binary { .. } => Format::Binary,
        InstData::Ternary { .. } => Format::Ternary,
        InstData::Const { .. } => Format::Const,
        InstData::Call { .. } => Format::Call,
        InstData::RtCall { .. } => Format::RtCall,
        InstData::Closure { .. } => Format::Closure,
        InstData::Jump { .. } => Format::Jump,
        InstData::Brif { .. } => Format::Brif,
        InstData::Return { .. } => Format::Return,
        InstData::Guard { .. } => Format::Guard,
    }
}

fn def_string(d: ValueDef) -> String {
    match d {
        ValueDef::Param(b, n) => format!("parameter {n} of {b}"),
        ValueDef::Result(i, n) => format!("result {n} of {i}"),
    }
}

impl<'a> Verifier<'a> {
    fn new(m: &'a Module, f: &'a Function) -> Self {
        Verifier { m, f, errors: Vec::new(), inst_pos: vec![None; f.insts.len()], def_site: vec![None; f.values.len()], generic_blocks: None }
    }

    fn err(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.errors.push(VerifyError { func: self.f.name.clone(), location: location.into(), message: message.into() });
    }

    fn inst_loc(&self, b: Block, p: usize, i: Inst) -> String {
        match self.f.insts.get(i.index()) {
            Some(node) => format!("{b}:{p} ({})", node.data.opcode().mnemonic()),
            None => format!("{b}:{p}"),
        }
    }

    fn run(&mut self) {
        let f = self.f;
        if f.blocks.is_empty() {
            self.err("function", "the function has no blocks");
            return;
        }
        self.layout();
        self.definitions();
        self.entry_block();
        for b in 0..f.blocks.len() {
            self.block(Block::new(b));
        }
        for (s, snap) in f.snapshots.iter().enumerate() {
            self.snapshot(SnapId::new(s), snap);
        }
        self.dominance();
    }

    /// Instruction ids in blocks are valid and each appears once.
    fn layout(&mut self) {
        let f = self.f;
        for (b, block) in f.blocks.iter().enumerate() {
            let b = Block::new(b);
            for (p, &i) in block.insts.iter().enumerate() {
                match self.inst_pos.get(i.index()).copied() {
                    None => self.err(b.to_string(), format!("instruction {i} at index {p} does not exist")),
                    Some(Some((b0, p0))) => {
                        self.err(b.to_string(), format!("instruction {i} appears more than once (also at {b0}:{p0})"))
                    }
                    Some(None) => self.inst_pos[i.index()] = Some((b, p)),
                }
            }
        }
    }

    /// Each value is defined once, and its `ValueDef` says where.
    fn definitions(&mut self) {
        let f = self.f;
        for (b, block) in f.blocks.iter().enumerate() {
            let b = Block::new(b);
            for (n, &v) in block.params.iter().enumerate() {
                self.define(v, Site::Param(b), ValueDef::Param(b, n as u32), b.to_string());
            }
            for (p, &i) in block.insts.iter().enumerate() {
                if self.inst_pos.get(i.index()).copied().flatten() != Some((b, p)) {
                    continue;
                }
                let loc = self.inst_loc(b, p, i);
                for (n, &v) in f.insts[i.index()].results.iter().enumerate() {
                    self.define(v, Site::Result(b, p), ValueDef::Result(i, n as u32), loc.clone());
                }
            }
        }
    }

    fn define(&mut self, v: Value, site: Site, def: ValueDef, loc: String) {
        let Some(data) = self.f.values.get(v.index()).copied() else {
            self.err(loc, format!("defines {v}, which does not exist"));
            return;
        };
        if self.def_site[v.index()].is_some() {
            self.err(v.to_string(), format!("{v} is defined more than once (again as {})", def_string(def)));
            return;
        }
        self.def_site[v.index()] = Some(site);
        if data.def != def {
            self.err(
                v.to_string(),
                format!("the ValueDef of {v} says {}, but it is {}", def_string(data.def), def_string(def)),
            );
        }
    }

    /// The type of a used value, or an error if it is not defined in the layout.
    fn use_type(&mut self, loc: &str, v: Value) -> Option<Type> {
        if self.def_site.get(v.index()).copied().flatten().is_some() {
            Some(self.f.values[v.index()].ty)
        } else {
            self.err(loc, format!("use of undefined value {v}"));
            None
        }
    }

    fn expect_type(&mut self, loc: &str, what: &str, v: Value, expected: Option<Type>) {
        if let (Some(ty), Some(expected)) = (self.use_type(loc, v), expected) {
            if ty != expected {
                self.err(loc, format!("{what} ({v}) has type {ty}, expected {expected}"));
            }
        }
    }

    fn entry_block(&mut self) {
        let f = self.f;
        let entry = &f.blocks[0];
        if entry.params.len() != f.params as usize {
            self.err(
                "block0",
                format!(
                    "the entry block has {} parameters, but the function has {} params",
                    entry.params.len(),
                    f.params
                ),
            );
        }
        for &v in &entry.params {
            if let Some(d) = f.values.get(v.index()) {
                if d.ty != Type::Val {
                    self.err("block0", format!("entry block parameter {v} has type {}, expected val", d.ty));
                }
            }
        }
    }

    fn block(&mut self, b: Block) {
        let f = self.f;
        let block = &f.blocks[b.index()];
        if block.insts.is_empty() {
            self.err(b.to_string(), "the block is empty");
            return;
        }
        let last = block.insts.len() - 1;
        for (p, &i) in block.insts.iter().enumerate() {
            if self.inst_pos.get(i.index()).copied().flatten() != Some((b, p)) {
                continue;
            }
            let op = f.insts[i.index()].data.opcode();
            let loc = self.inst_loc(b, p, i);
            if op.is_terminator() && p != last {
                self.err(&loc, format!("terminator `{}` in the middle of the block", op.mnemonic()));
            }
            if p == last && !op.is_terminator() {
                self.err(
                    b.to_string(),
                    format!("the block does not end in a terminator (it ends in `{}`)", op.mnemonic()),
                );
            }
            self.inst(&loc, i);
        }
    }

    fn inst(&mut self, loc: &str, i: Inst) {
        let f = self.f;
        let node = &f.insts[i.index()];
        let op = node.data.opcode();
        let name = op.mnemonic();
        let types = op.operand_types();
        let ty = |k: usize| types.get(k).copied();

        if format_of(&node.data) != op.format() {
            self.err(
                loc,
                format!("`{name}` has format {:?}, but its data is {:?}", op.format(), format_of(&node.data)),
            );
            for v in node.data.operands() {
                self.use_type(loc, v);
            }
            return;
        }

        match &node.data {
            InstData::Nullary { .. } => {
                if op == Opcode::Varargs && !f.vararg {
                    self.err(loc, "`varargs` in a function that is not vararg");
                }
            }
            InstData::NullaryImm { imm, .. } => {
                if op == Opcode::Upval && !(0..f.upvals as i64).contains(imm) {
                    self.err(loc, format!("upval {imm} out of range (the function has {} upvals)", f.upvals));
                }
            }
            InstData::Unary { arg, .. } => self.expect_type(loc, "operand", *arg, ty(0)),
            InstData::UnaryImm { arg, imm, .. } => {
                self.expect_type(loc, "operand", *arg, ty(0));
                if op == Opcode::PackGet && *imm < 0 {
                    self.err(loc, format!("pack index {imm} is negative"));
                }
                if op == Opcode::IsFn && usize::try_from(*imm).map_or(true, |n| n >= self.m.functions.len()) {
                    self.err(loc, format!("is.fn names fn{imm}, which does not exist"));
                }
                if op == Opcode::ClosureCell && !(0..crate::rt::object::INLINE_CELLS as i64).contains(imm) {
                    let most = crate::rt::object::INLINE_CELLS;
                    self.err(loc, format!("closure.cell {imm} out of range (closures hold cells 0 to {} themselves)", most - 1));
                }
            }
            InstData::Binary { args, .. } => {
                self.expect_type(loc, "operand 0", args[0], ty(0));
                self.expect_type(loc, "operand 1", args[1], ty(1));
                if op == Opcode::HashFind && !f.is_str_const(args[1]) {
                    self.err(loc, "the key of `hash.find` is not a string constant");
                }
            }
            InstData::Ternary { args, .. } => {
                for (k, name) in ["operand 0", "operand 1", "operand 2"].into_iter().enumerate() {
                    self.expect_type(loc, name, args[k], ty(k));
                }
            }
            InstData::Const { imm, .. } => {
                let ok = match op {
                    Opcode::Iconst => matches!(imm, Const::Int(_)),
                    Opcode::Fconst => matches!(imm, Const::Float(_)),
                    Opcode::Bconst => matches!(imm, Const::Bool(_)),
                    _ => true,
                };
                if !ok {
                    self.err(loc, format!("`{name}` cannot hold the constant {imm:?}"));
                }
                if let Const::Str(s) = imm {
                    self.check_str(loc, *s);
                }
            }
            InstData::Call { callee, args, spread, site, .. } => {
                self.expect_type(loc, "callee", *callee, Some(Type::Val));
                self.variadic(loc, args, *spread);
                self.check_site(loc, *site);
            }
            InstData::RtCall { rt, args, spread, site, .. } => {
                if rt.index() >= self.m.runtime.len() {
                    self.err(loc, format!("runtime function {rt} does not exist"));
                }
                self.variadic(loc, args, *spread);
                self.check_site(loc, *site);
            }
            InstData::Closure { func, args, .. } => {
                for (k, &a) in args.iter().enumerate() {
                    self.expect_type(loc, &format!("capture {k}"), a, Some(Type::Val));
                }
                match self.m.functions.get(func.index()) {
                    None => self.err(loc, format!("closure of {func}, which does not exist")),
                    Some(target) if target.upvals as usize != args.len() => self.err(
                        loc,
                        format!("{func} has {} upvals, but the closure captures {} cells", target.upvals, args.len()),
                    ),
                    Some(_) => {}
                }
            }
            InstData::Jump { dest, .. } => self.block_call(loc, dest),
            InstData::Brif { cond, then_dest, else_dest, .. } => {
                self.expect_type(loc, "condition", *cond, ty(0));
                self.block_call(loc, then_dest);
                self.block_call(loc, else_dest);
            }
            InstData::Return { args, spread, .. } => self.variadic(loc, args, *spread),
            InstData::Guard { arg, imm, snap, .. } => {
                self.expect_type(loc, "operand", *arg, ty(0));
                if matches!(op, Opcode::GuardTag | Opcode::GuardElems) && u8::try_from(*imm).ok().and_then(Tag::from_u8).is_none() {
                    self.err(loc, format!("{imm} is not a tag number"));
                }
                if op == Opcode::GuardFn && usize::try_from(*imm).map_or(true, |n| n >= self.m.functions.len()) {
                    self.err(loc, format!("fn{imm} does not exist"));
                }
                if op == Opcode::GuardNative && *imm < 0 {
                    self.err(loc, format!("{imm} is not a native op number"));
                }
                if snap.index() >= f.snapshots.len() {
                    self.err(loc, format!("snapshot {snap} does not exist"));
                }
            }
        }

        // Results.
        let result_types: Vec<Option<Type>> =
            node.results.iter().map(|v| f.values.get(v.index()).map(|d| d.ty)).collect();
        let count = node.results.len();
        let check_all = |this: &mut Self, expected: Type| {
            for (k, t) in result_types.iter().enumerate() {
                if let Some(t) = t {
                    if *t != expected {
                        this.err(loc, format!("result {k} ({}) has type {t}, expected {expected}", node.results[k]));
                    }
                }
            }
        };
        match op.results() {
            Results::None => {
                if count != 0 {
                    self.err(loc, format!("`{name}` produces no results, but has {count}"));
                }
            }
            Results::One(t) => {
                if count != 1 {
                    self.err(loc, format!("`{name}` produces 1 result, but has {count}"));
                }
                check_all(self, t);
            }
            Results::Vals => check_all(self, Type::Val),
            Results::Declared => {
                if count != 1 {
                    self.err(loc, format!("`{name}` produces 1 result, but has {count}"));
                }
                if let InstData::RtCall { rt, .. } = &node.data {
                    if let Some(d) = self.m.runtime.get(rt.index()) {
                        check_all(self, d.ret);
                    }
                }
            }
        }

        // Debug names.
        for n in node.debug.names.iter().flatten() {
            self.check_str(loc, n.name);
        }
    }

    /// Operands of calls and returns: `val`s, the last a `pack` when spread.
    fn variadic(&mut self, loc: &str, args: &[Value], spread: bool) {
        if spread && args.is_empty() {
            self.err(loc, "a spread with no operands");
        }
        for (k, &a) in args.iter().enumerate() {
            if spread && k + 1 == args.len() {
                self.expect_type(loc, "spread operand", a, Some(Type::Pack));
            } else {
                self.expect_type(loc, &format!("argument {k}"), a, Some(Type::Val));
            }
        }
    }

    fn check_site(&mut self, loc: &str, site: Option<crate::entity::SiteId>) {
        if let Some(s) = site {
            if s.0 >= self.f.sites {
                self.err(loc, format!("{s} out of range (the function has {} sites)", self.f.sites));
            }
        }
    }

    fn check_str(&mut self, loc: &str, s: StrId) {
        if s.index() >= self.m.strings.len() {
            self.err(loc, format!("string {s} does not exist"));
        }
    }

    fn block_call(&mut self, loc: &str, bc: &BlockCall) {
        let f = self.f;
        let Some(target) = f.blocks.get(bc.block.index()) else {
            self.err(loc, format!("branch to {}, which does not exist", bc.block));
            for &a in &bc.args {
                self.use_type(loc, a);
            }
            return;
        };
        if bc.args.len() != target.params.len() {
            self.err(
                loc,
                format!("{} takes {} arguments, but {} are passed", bc.block, target.params.len(), bc.args.len()),
            );
        }
        for (k, &a) in bc.args.iter().enumerate() {
            let expected = target.params.get(k).and_then(|p| f.values.get(p.index())).map(|d| d.ty);
            let what = format!("argument {k} to {}", bc.block);
            self.expect_type(loc, &what, a, expected);
        }
    }

    fn snapshot(&mut self, s: SnapId, snap: &crate::function::Snapshot) {
        let f = self.f;
        let loc = s.to_string();
        self.check_site(&loc, snap.blame);
        let len = match self.generic_blocks {
            Some(lens) => lens.get(snap.resume.block.index()).copied(),
            None => f.blocks.get(snap.resume.block.index()).map(|b| b.insts.len()),
        };
        match len {
            None => self.err(&loc, format!("resumes in {}, which does not exist", snap.resume.block)),
            Some(len) if snap.resume.index as usize > len => self.err(
                &loc,
                format!("resume index {} is past the end of {} (length {len})", snap.resume.index, snap.resume.block),
            ),
            Some(_) => {}
        }
        for (key, src) in &snap.entries {
            match src {
                SnapSource::Value(v) => {
                    if self.def_site.get(v.index()).copied().flatten().is_none() {
                        self.err(&loc, format!("entry {key} reads undefined value {v}"));
                    }
                }
                SnapSource::Const(Const::Str(id)) => self.check_str(&loc, *id),
                SnapSource::Const(_) => {}
            }
        }
    }

    /// Every use is dominated by its definition.
    fn dominance(&mut self) {
        let f = self.f;
        let dom = DominatorTree::compute(f);
        for (b, block) in f.blocks.iter().enumerate() {
            let b = Block::new(b);
            if !dom.is_reachable(b) {
                continue;
            }
            for (p, &i) in block.insts.iter().enumerate() {
                if self.inst_pos.get(i.index()).copied().flatten() != Some((b, p)) {
                    continue;
                }
                let node = &f.insts[i.index()];
                let mut bad = Vec::new();
                node.data.for_each_operand(|v| {
                    if let Some(Some(site)) = self.def_site.get(v.index()) {
                        if !available(&dom, *site, b, p) && !bad.contains(&v) {
                            bad.push(v);
                        }
                    }
                });
                let mut bad_snap = Vec::new();
                if let InstData::Guard { snap, .. } = &node.data {
                    if let Some(s) = f.snapshots.get(snap.index()) {
                        for (_, src) in &s.entries {
                            if let SnapSource::Value(v) = src {
                                if let Some(Some(site)) = self.def_site.get(v.index()) {
                                    if !available(&dom, *site, b, p) && !bad_snap.contains(v) {
                                        bad_snap.push(*v);
                                    }
                                }
                            }
                        }
                    }
                }
                if bad.is_empty() && bad_snap.is_empty() {
                    continue;
                }
                let loc = self.inst_loc(b, p, i);
                for v in bad {
                    self.err(&loc, format!("use of {v} is not dominated by its definition"));
                }
                if let InstData::Guard { snap, .. } = &node.data {
                    for v in bad_snap {
                        self.err(&loc, format!("{snap} reads {v}, which is not dominated by its definition"));
                    }
                }
            }
        }
    }
}

/// Whether a value defined at `site` is available at index `p` of block `b`.
fn available(dom: &DominatorTree, site: Site, b: Block, p: usize) -> bool {
    match site {
        Site::Param(d) => dom.dominates(d, b),
        Site::Result(d, q) => {
            if d == b {
                q < p
            } else {
                dom.strictly_dominates(d, b)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::FunctionBuilder;

    fn module_with(f: Function) -> Module {
        let mut m = Module::new("t");
        m.add_function(f);
        m
    }

    #[test]
    fn a_version_resumes_at_positions_of_the_generic_function() {
        // The guard's snapshot resumes at index 3 of block0 of the generic function,
        // whose block0 was longer than this version's (code hoisted out, say).
        let text = "module \"m\"\nfunction fn0 \"f\" (params 1, upvals 0, sites 0, line 1) {\nblock0(v0: val):\n    guard.tag v0, int, snap0\n    return v0\nsnap0 = resume block0:3 { v0 = v0 }\n}\n";
        let m = crate::text::parse_module(text).unwrap();
        let f = &m.functions[0];
        let errs = verify_function(&m, f).unwrap_err();
        assert!(errs[0].message.contains("resume index 3 is past the end of block0 (length 2)"), "{}", errs[0]);
        assert_eq!(verify_version(&m, f, Some(&[4])), Ok(()));
        let errs = verify_version(&m, f, Some(&[2])).unwrap_err();
        assert!(errs[0].message.contains("resume index 3 is past the end of block0 (length 2)"), "{}", errs[0]);
        let errs = verify_version(&m, f, Some(&[])).unwrap_err();
        assert!(errs[0].message.contains("resumes in block0, which does not exist"), "{}", errs[0]);
    }

    #[test]
    fn a_small_valid_function() {
        let mut f = Function::new("f");
        f.params = 1;
        {
            let mut b = FunctionBuilder::new(&mut f);
            let b0 = b.create_block();
            let x = b.append_block_param(b0, Type::Val);
            b.switch_to_block(b0);
            b.ret(vec![x], false);
        }
        let m = module_with(f);
        assert_eq!(verify_module(&m), Ok(()));
    }

    #[test]
    fn data_of_the_wrong_format_is_reported() {
        let mut f = Function::new("f");
        {
            let mut b = FunctionBuilder::new(&mut f);
            let b0 = b.create_block();
            b.switch_to_block(b0);
            let x = b.iconst(1);
            // `iadd` is Binary, not Unary.
            b.ins_with_results(InstData::Unary { op: Opcode::Iadd, arg: x }, &[Type::I64]);
            b.ret(vec![], false);
        }
        let m = module_with(f);
        let errs = verify_module(&m).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].message.contains("has format Binary, but its data is Unary"), "{}", errs[0]);
        assert_eq!(errs[0].location, "block0:1 (iadd)");
    }

    #[test]
    fn inconsistent_value_defs_and_repeated_instructions_are_reported() {
        let mut f = Function::new("f");
        {
            let mut b = FunctionBuilder::new(&mut f);
            let b0 = b.create_block();
            b.switch_to_block(b0);
            let x = b.iconst(1);
            let _ = x;
            b.ret(vec![], false);
        }
        f.values[0].def = ValueDef::Result(Inst(1), 0);
        let ret = f.blocks[0].insts[1];
        f.blocks[0].insts.insert(1, ret);
        let m = module_with(f);
        let errs: Vec<String> = verify_module(&m).unwrap_err().iter().map(|e| e.to_string()).collect();
        assert!(
            errs.iter().any(|e| e.contains("the ValueDef of v0 says result 0 of inst1, but it is result 0 of inst0")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("instruction inst1 appears more than once (also at block0:1)")),
            "{errs:?}"
        );
    }

    #[test]
    fn duplicate_runtime_declarations_are_reported() {
        let mut m = Module::new("t");
        m.runtime.push(crate::function::RtDecl { name: "a".into(), ret: Type::Val });
        m.runtime.push(crate::function::RtDecl { name: "a".into(), ret: Type::I1 });
        let errs = verify_module(&m).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].to_string(), "\"<module>\": rt1: runtime function @a is declared more than once");
    }

    #[test]
    fn broken_indices_do_not_panic() {
        let mut f = Function::new("f");
        f.blocks.push(crate::function::BlockData { params: vec![Value(9)], insts: vec![Inst(4)], loop_header: false });
        f.snapshots.push(crate::function::Snapshot {
            resume: crate::function::ResumeAt { block: Block(7), index: 0 },
            entries: vec![(Value(0), SnapSource::Value(Value(100)))],
            blame: None,
            unreached: false,
        });
        let m = module_with(f);
        let errs = verify_module(&m).unwrap_err();
        assert!(errs.len() >= 3, "{errs:?}");
    }
}
