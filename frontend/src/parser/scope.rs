//! Scopes and name resolution.
//!
//! Each function being parsed has a [`FuncState`]: the locals currently in scope
//! (innermost last), the blocks that delimit them, and the upvalues found so far.
//! A local declared by a statement is *pending* until the statement says it is in
//! scope (after the initialisers for `local x = x`, before the body for
//! `local function f`), so declaration and activation are separate steps.
//!
//! Resolving a name searches the current function's active locals, then its
//! upvalues, then the enclosing functions in turn; a hit in an enclosing function
//! adds an upvalue to every function in between, so each function's list describes
//! how to fetch the variable from its direct parent. This is `singlevaraux` from
//! `lparser.c`.

use super::{PResult, Parser};
use crate::ast::{LocalId, LocalInfo, Name, Pos, UpvalDesc, UpvalSource};

/// Most variable slots a function may use at once (Lua's `MAXVARS`).
const MAX_LOCALS: u32 = 200;

/// Most upvalues a function may have (Lua's `MAXUPVAL`).
const MAX_UPVALUES: usize = 255;

/// Hidden loop-state slots Lua reserves for a numeric `for`.
pub(super) const NUMERIC_FOR_SLOTS: u32 = 3;

/// Hidden loop-state slots Lua reserves for a generic `for`.
pub(super) const GENERIC_FOR_SLOTS: u32 = 4;

/// Scope state of one function being parsed.
pub(super) struct FuncState {
    /// Locals in scope, innermost last.
    actives: Vec<LocalId>,
    blocks: Vec<BlockScope>,
    upvalues: Vec<UpvalDesc>,
    /// Whether `...` may be used.
    is_vararg: bool,
    /// Line of the `function` keyword (0 for the main chunk), for limit messages.
    line: u32,
    /// Variable slots in use: active and pending locals plus hidden loop state, all
    /// of which count towards Lua's limit.
    slots: u32,
    /// The first `break` outside a loop. Lua treats `break` as a jump to a label it
    /// resolves when the function ends, so it reports this error only then, after
    /// any syntax error in the rest of the function; we do the same.
    stray_break: Option<Pos>,
}

/// What a block must restore when it closes.
struct BlockScope {
    actives: usize,
    slots: u32,
    is_loop: bool,
}

/// Where a name was found, seen from one function.
#[derive(Clone, Copy)]
enum Var {
    Local(LocalId),
    Upvalue(u32),
}

impl Parser<'_> {
    /// Starts parsing a function whose `function` keyword is on `line`.
    pub(super) fn open_function(&mut self, line: u32, is_vararg: bool) {
        let fs = FuncState {
            actives: Vec::new(),
            blocks: Vec::new(),
            upvalues: Vec::new(),
            is_vararg,
            line,
            slots: 0,
            stray_break: None,
        };
        self.funcs.push(fs);
        self.open_block(false);
    }

    /// Finishes the innermost function, once all of it has been read, and returns its
    /// upvalues; fails if it had a `break` outside a loop.
    pub(super) fn close_function(&mut self) -> PResult<Vec<UpvalDesc>> {
        let Some(fs) = self.funcs.pop() else { return Ok(Vec::new()) };
        match fs.stray_break {
            Some(pos) => Err(self.error_at(pos, format!("break outside loop at line {}", pos.line))),
            None => Ok(fs.upvalues),
        }
    }

    fn func(&self) -> Option<&FuncState> {
        self.funcs.last()
    }

    fn func_mut(&mut self) -> Option<&mut FuncState> {
        self.funcs.last_mut()
    }

    /// Opens a block (a scope); `is_loop` if `break` may leave it.
    pub(super) fn open_block(&mut self, is_loop: bool) {
        if let Some(fs) = self.func_mut() {
            let scope = BlockScope { actives: fs.actives.len(), slots: fs.slots, is_loop };
            fs.blocks.push(scope);
        }
    }

    /// Closes the innermost block: its locals go out of scope.
    pub(super) fn close_block(&mut self) {
        if let Some(fs) = self.func_mut() {
            if let Some(scope) = fs.blocks.pop() {
                fs.actives.truncate(scope.actives);
                fs.slots = scope.slots;
            }
        }
    }

    /// Checks that a `break` at `pos` is inside a loop of the current function; the
    /// error, if any, comes when the function ends.
    pub(super) fn check_break(&mut self, pos: Pos) {
        if let Some(fs) = self.func_mut() {
            if !fs.blocks.iter().any(|b| b.is_loop) {
                fs.stray_break = fs.stray_break.or(Some(pos));
            }
        }
    }

    /// Whether `...` may be used here.
    pub(super) fn is_vararg(&self) -> bool {
        self.func().is_some_and(|fs| fs.is_vararg)
    }

    /// Marks the current function as taking `...`.
    pub(super) fn set_vararg(&mut self) {
        if let Some(fs) = self.func_mut() {
            fs.is_vararg = true;
        }
    }

    /// Declares a new local (not yet in scope; see [`Parser::activate`]).
    pub(super) fn declare_local(&mut self, name: String, is_const: bool, pos: Pos) -> PResult<LocalId> {
        self.reserve_slots(1)?;
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(LocalInfo { name, is_const, captured: false, pos });
        Ok(id)
    }

    /// Takes `count` variable slots in the current function (for hidden loop state).
    pub(super) fn reserve_slots(&mut self, count: u32) -> PResult<()> {
        let Some(fs) = self.func() else { return Ok(()) };
        if fs.slots + count > MAX_LOCALS {
            return Err(self.limit_error("local variables", MAX_LOCALS as usize, fs.line));
        }
        if let Some(fs) = self.func_mut() {
            fs.slots += count;
        }
        Ok(())
    }

    /// Brings declared locals into scope, in order.
    pub(super) fn activate(&mut self, ids: &[LocalId]) {
        if let Some(fs) = self.func_mut() {
            fs.actives.extend_from_slice(ids);
        }
    }

    /// `too many WHAT (limit is N) in FUNCTION near TOKEN`.
    /// `line` is where the function that hit the limit starts.
    fn limit_error(&self, what: &str, limit: usize, line: u32) -> Box<crate::diag::Diagnostic> {
        let place = if line == 0 { "main function".to_string() } else { format!("function at line {line}") };
        self.error_near(&format!("too many {what} (limit is {limit}) in {place}"))
    }

    /// Resolves a name used in the current function.
    pub(super) fn resolve(&mut self, name: &str) -> PResult<Name> {
        let innermost = self.funcs.len().saturating_sub(1);
        Ok(match self.find_var(innermost, name)? {
            Some(Var::Local(id)) => Name::Local(id),
            Some(Var::Upvalue(index)) => Name::Upvalue(index),
            None => Name::Global(name.to_string()),
        })
    }

    /// Looks `name` up as seen from function number `level`, creating upvalues in it
    /// (and the functions between it and the owner) as needed.
    fn find_var(&mut self, level: usize, name: &str) -> PResult<Option<Var>> {
        let Some(fs) = self.funcs.get(level) else { return Ok(None) };
        let locals = &self.locals;
        let is_named = |id: &&LocalId| locals.get(id.0 as usize).is_some_and(|info| info.name == name);
        if let Some(&id) = fs.actives.iter().rev().find(is_named) {
            return Ok(Some(Var::Local(id)));
        }
        if let Some(index) = fs.upvalues.iter().position(|up| up.name == name) {
            return Ok(Some(Var::Upvalue(index as u32)));
        }
        if level == 0 {
            return Ok(None);
        }
        let (local, source) = match self.find_var(level - 1, name)? {
            None => return Ok(None),
            Some(Var::Local(id)) => {
                if let Some(info) = self.locals.get_mut(id.0 as usize) {
                    info.captured = true;
                }
                (id, UpvalSource::Local(id))
            }
            Some(Var::Upvalue(index)) => {
                let parent = self.funcs.get(level - 1).and_then(|fs| fs.upvalues.get(index as usize));
                let Some(up) = parent else { return Ok(None) };
                (up.local, UpvalSource::Upvalue(index))
            }
        };
        self.add_upvalue(level, name, local, source).map(|index| Some(Var::Upvalue(index)))
    }

    /// Appends an upvalue to function number `level` and returns its index.
    fn add_upvalue(&mut self, level: usize, name: &str, local: LocalId, source: UpvalSource) -> PResult<u32> {
        let (count, line) = self.funcs.get(level).map_or((0, 0), |fs| (fs.upvalues.len(), fs.line));
        if count >= MAX_UPVALUES {
            return Err(self.limit_error("upvalues", MAX_UPVALUES, line));
        }
        if let Some(fs) = self.funcs.get_mut(level) {
            fs.upvalues.push(UpvalDesc { name: name.to_string(), local, source });
        }
        Ok(count as u32)
    }

    /// The `<const>` local that `name` refers to, if it refers to one.
    pub(super) fn const_local(&self, name: &Name) -> Option<&LocalInfo> {
        let id = match name {
            Name::Local(id) => *id,
            Name::Upvalue(index) => self.func()?.upvalues.get(*index as usize)?.local,
            Name::Global(_) => return None,
        };
        self.locals.get(id.0 as usize).filter(|info| info.is_const)
    }
}
