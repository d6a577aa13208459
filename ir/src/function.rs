//! MIR functions and modules: blocks with parameters, instructions, values, snapshots.

use std::collections::HashMap;

use crate::entity::{Block, FuncId, Inst, RtId, SiteId, SnapId, StrId, Value};
use crate::ops::Opcode;
use crate::types::Type;

/// A literal constant.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Const {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string from the module's pool.
    Str(StrId),
}

/// Hashes a float constant by its bits, like [`Const::same`] compares it (so `0.0` and
/// `-0.0`, or two NaNs of different payloads, hash apart).
impl std::hash::Hash for Const {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match *self {
            Const::Nil => {}
            Const::Bool(b) => b.hash(h),
            Const::Int(i) => i.hash(h),
            Const::Float(x) => x.to_bits().hash(h),
            Const::Str(s) => s.hash(h),
        }
    }
}

impl Const {
    /// The tag the constant has as a boxed value.
    pub fn tag(&self) -> crate::rt::Tag {
        use crate::rt::Tag;
        match self {
            Const::Nil => Tag::Nil,
            Const::Bool(_) => Tag::Bool,
            Const::Int(_) => Tag::Int,
            Const::Float(_) => Tag::Float,
            Const::Str(_) => Tag::Str,
        }
    }

    /// Bitwise identity (so that `0.0` and `-0.0`, or two NaNs, are told apart or not as
    /// their bits say): the equality value numbering and snapshots need.
    pub fn same(&self, other: &Const) -> bool {
        match (self, other) {
            (Const::Float(a), Const::Float(b)) => a.to_bits() == b.to_bits(),
            _ => self == other,
        }
    }
}

/// A branch target with the values passed to its parameters.
#[derive(Clone, PartialEq, Debug, Hash)]
pub struct BlockCall {
    /// The target block.
    pub block: Block,
    /// One value per block parameter.
    pub args: Vec<Value>,
}

/// An instruction's operation and operands. The variant is fixed by the opcode's
/// [`crate::ops::Format`].
#[derive(Clone, PartialEq, Debug, Hash)]
#[allow(missing_docs)]
pub enum InstData {
    Nullary { op: Opcode },
    NullaryImm { op: Opcode, imm: i64 },
    Unary { op: Opcode, arg: Value },
    UnaryImm { op: Opcode, arg: Value, imm: i64 },
    Binary { op: Opcode, args: [Value; 2] },
    Ternary { op: Opcode, args: [Value; 3] },
    Const { op: Opcode, imm: Const },
    /// `spread`: the last argument is a pack whose values are appended.
    Call { op: Opcode, callee: Value, args: Vec<Value>, spread: bool, site: Option<SiteId> },
    /// `spread`: the last argument is a pack whose values are appended.
    RtCall { op: Opcode, rt: RtId, args: Vec<Value>, spread: bool, site: Option<SiteId> },
    Closure { op: Opcode, func: FuncId, args: Vec<Value> },
    Jump { op: Opcode, dest: BlockCall },
    Brif { op: Opcode, cond: Value, then_dest: BlockCall, else_dest: BlockCall },
    /// `spread`: the last argument is a pack whose values are appended.
    Return { op: Opcode, args: Vec<Value>, spread: bool },
    Guard { op: Opcode, arg: Value, imm: i64, snap: SnapId },
}

impl InstData {
    /// The operation.
    pub fn opcode(&self) -> Opcode {
        match self {
            InstData::Nullary { op }
            | InstData::NullaryImm { op, .. }
            | InstData::Unary { op, .. }
            | InstData::UnaryImm { op, .. }
            | InstData::Binary { op, .. }
            | InstData::Ternary { op, .. }
            | InstData::Const { op, .. }
            | InstData::Call { op, .. }
            | InstData::RtCall { op, .. }
            | InstData::Closure { op, .. }
            | InstData::Jump { op, .. }
            | InstData::Brif { op, .. }
            | InstData::Return { op, .. }
            | InstData::Guard { op, .. } => *op,
        }
    }

    /// Every value operand, in order (block-call arguments included).
    pub fn operands(&self) -> Vec<Value> {
        let mut out = Vec::new();
        self.for_each_operand(|v| out.push(v));
        out
    }

    /// Calls `f` on every value operand, in order (block-call arguments included).
    pub fn for_each_operand(&self, mut f: impl FnMut(Value)) {
        match self {
            InstData::Nullary { .. } | InstData::NullaryImm { .. } | InstData::Const { .. } => {}
            InstData::Unary { arg, .. } | InstData::UnaryImm { arg, .. } | InstData::Guard { arg, .. } => f(*arg),
            InstData::Binary { args, .. } => args.iter().copied().for_each(f),
            InstData::Ternary { args, .. } => args.iter().copied().for_each(f),
            InstData::Call { callee, args, .. } => {
                f(*callee);
                args.iter().copied().for_each(f);
            }
            InstData::RtCall { args, .. } | InstData::Closure { args, .. } | InstData::Return { args, .. } => {
                args.iter().copied().for_each(f)
            }
            InstData::Jump { dest, .. } => dest.args.iter().copied().for_each(f),
            InstData::Brif { cond, then_dest, else_dest, .. } => {
                f(*cond);
                then_dest.args.iter().copied().for_each(&mut f);
                else_dest.args.iter().copied().for_each(f);
            }
        }
    }

    /// Applies `f` to every value operand in place (block-call arguments included).
    pub fn map_operands(&mut self, mut f: impl FnMut(Value) -> Value) {
        let each = |vs: &mut Vec<Value>, f: &mut dyn FnMut(Value) -> Value| vs.iter_mut().for_each(|v| *v = f(*v));
        match self {
            InstData::Nullary { .. } | InstData::NullaryImm { .. } | InstData::Const { .. } => {}
            InstData::Unary { arg, .. } | InstData::UnaryImm { arg, .. } | InstData::Guard { arg, .. } => *arg = f(*arg),
            InstData::Binary { args, .. } => args.iter_mut().for_each(|v| *v = f(*v)),
            InstData::Ternary { args, .. } => args.iter_mut().for_each(|v| *v = f(*v)),
            InstData::Call { callee, args, .. } => {
                *callee = f(*callee);
                each(args, &mut f);
            }
            InstData::RtCall { args, .. } | InstData::Closure { args, .. } | InstData::Return { args, .. } => {
                each(args, &mut f)
            }
            InstData::Jump { dest, .. } => each(&mut dest.args, &mut f),
            InstData::Brif { cond, then_dest, else_dest, .. } => {
                *cond = f(*cond);
                each(&mut then_dest.args, &mut f);
                each(&mut else_dest.args, &mut f);
            }
        }
    }

    /// The branch targets of a terminator.
    pub fn successors(&self) -> Vec<&BlockCall> {
        match self {
            InstData::Jump { dest, .. } => vec![dest],
            InstData::Brif { then_dest, else_dest, .. } => vec![then_dest, else_dest],
            _ => Vec::new(),
        }
    }
}

/// Where a value comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ValueDef {
    /// Result N of an instruction.
    Result(Inst, u32),
    /// Parameter N of a block.
    Param(Block, u32),
}

/// A value's type and definition.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ValueData {
    /// Its type.
    pub ty: Type,
    /// Where it is defined.
    pub def: ValueDef,
}

/// What kind of variable a value was read from (for error messages like
/// "attempt to index a nil value (local 't')").
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum VarKind {
    /// A local variable.
    Local,
    /// A global variable.
    Global,
    /// A table field read with a constant name.
    Field,
    /// An upvalue.
    Upvalue,
    /// A method looked up by `o:m()`.
    Method,
    /// A string constant.
    Constant,
    /// The iterator function of a generic `for`.
    ForIterator,
}

impl VarKind {
    /// Every kind, in text order.
    pub const ALL: [VarKind; 7] = [
        VarKind::Local,
        VarKind::Global,
        VarKind::Field,
        VarKind::Upvalue,
        VarKind::Method,
        VarKind::Constant,
        VarKind::ForIterator,
    ];

    /// The word used in the text format.
    pub fn name(self) -> &'static str {
        match self {
            VarKind::Local => "local",
            VarKind::Global => "global",
            VarKind::Field => "field",
            VarKind::Upvalue => "upvalue",
            VarKind::Method => "method",
            VarKind::Constant => "constant",
            VarKind::ForIterator => "foriter",
        }
    }

    /// The words used in error messages (`for iterator` for [`VarKind::ForIterator`]).
    pub fn message_name(self) -> &'static str {
        match self {
            VarKind::ForIterator => "for iterator",
            k => k.name(),
        }
    }

    /// Parses the text spelling.
    pub fn from_name(s: &str) -> Option<VarKind> {
        VarKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// What a function refers to in its module, numbered from 0 in the order of first
/// use ([`Function::local_refs`]): a function's *local numbers*. Compiled code reaches
/// strings, runtime functions and functions through per-function tables in this
/// order, so the same function compiles to the same code wherever it is in whatever
/// module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalRefs {
    /// String constants.
    pub strs: Vec<StrId>,
    /// Runtime functions called (their declarations shape the code: a cache key must
    /// cover them).
    pub rts: Vec<RtId>,
    /// Functions of which closures are made.
    pub funcs: Vec<FuncId>,
    /// `strs` by string (a function may use hundreds).
    str_numbers: HashMap<StrId, u32>,
}

impl LocalRefs {
    fn add_str(&mut self, s: StrId) {
        let next = self.strs.len() as u32;
        if let std::collections::hash_map::Entry::Vacant(e) = self.str_numbers.entry(s) {
            e.insert(next);
            self.strs.push(s);
        }
    }

    /// The local number of string `s`.
    pub fn str_number(&self, s: StrId) -> Option<u32> {
        self.str_numbers.get(&s).copied()
    }

    /// The local number of runtime function `rt`.
    pub fn rt_number(&self, rt: RtId) -> Option<u32> {
        self.rts.iter().position(|&r| r == rt).map(|i| i as u32)
    }

    /// The local number of function `f`.
    pub fn func_number(&self, f: FuncId) -> Option<u32> {
        self.funcs.iter().position(|&g| g == f).map(|i| i as u32)
    }

    /// `c` with a string by its local number.
    fn localize_const(&self, c: Const) -> Const {
        match c {
            Const::Str(s) => Const::Str(StrId(self.str_number(s).unwrap_or(u32::MAX))),
            other => other,
        }
    }

    /// `data` with its string, runtime function or function by local number.
    fn localize(&self, data: &InstData) -> InstData {
        let mut data = data.clone();
        match &mut data {
            InstData::Const { imm, .. } => *imm = self.localize_const(*imm),
            InstData::RtCall { rt, .. } => *rt = RtId(self.rt_number(*rt).unwrap_or(u32::MAX)),
            InstData::Closure { func, .. } => *func = FuncId(self.func_number(*func).unwrap_or(u32::MAX)),
            _ => {}
        }
        data
    }
}

/// A named operand of an instruction, for error messages.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VarName {
    /// Which kind of variable.
    pub kind: VarKind,
    /// Its name, in the module's string pool.
    pub name: StrId,
}

/// Source information of one instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DebugInfo {
    /// Source line (0: none).
    pub line: u32,
    /// What operands 0 and 1 were read from, where known.
    pub names: [Option<VarName>; 2],
}

/// An instruction: its data, results and debug information.
#[derive(Clone, PartialEq, Debug)]
pub struct InstNode {
    /// Operation and operands.
    pub data: InstData,
    /// The values it defines.
    pub results: Vec<Value>,
    /// Source information.
    pub debug: DebugInfo,
}

/// A basic block.
#[derive(Clone, PartialEq, Debug, Default, Hash)]
pub struct BlockData {
    /// Parameters (SSA phis).
    pub params: Vec<Value>,
    /// Instructions in order; the last one is the terminator.
    pub insts: Vec<Inst>,
    /// The target of a loop back-edge (the interpreter counts branches to it).
    pub loop_header: bool,
}

/// Where a snapshot resumes the generic function.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ResumeAt {
    /// The block.
    pub block: Block,
    /// Index of the first instruction to run in that block.
    pub index: u32,
}

/// The source of one generic-frame value in a snapshot.
#[derive(Clone, Copy, PartialEq, Debug, Hash)]
pub enum SnapSource {
    /// A value of this function (boxed by its type on deopt if not a `val`).
    Value(Value),
    /// A constant.
    Const(Const),
}

/// Deopt state at a guard: where the generic function resumes and the values of its
/// live frame slots.
#[derive(Clone, PartialEq, Debug, Hash)]
pub struct Snapshot {
    /// Resume point in the generic function.
    pub resume: ResumeAt,
    /// Generic-function value -> where its content is found.
    pub entries: Vec<(Value, SnapSource)>,
    /// The profile site a failure here is recorded at, when it is not the site of the
    /// instruction at the resume point (a guard hoisted out of a loop resumes at the
    /// loop's header but speculated on a site inside it).
    pub blame: Option<SiteId>,
    /// The guard leaves code the profile never reached (a loop never entered), not a
    /// guess that failed: leaving is expected once, is not counted against the
    /// function's deoptimization limit and marks no site; it notes the resume block as
    /// entered, so the next compile keeps the code.
    pub unreached: bool,
}

/// A MIR function.
#[derive(Clone, PartialEq, Debug)]
pub struct Function {
    /// Name for diagnostics and the text format.
    pub name: String,
    /// Number of fixed parameters: the entry block's parameters (all `val`).
    pub params: u32,
    /// Takes extra arguments (`varargs` gives them).
    pub vararg: bool,
    /// Number of captured cells (`upval N`).
    pub upvals: u32,
    /// Source line of the definition (0: none).
    pub line: u32,
    /// Blocks; `block0` is the entry; this is also the layout order.
    pub blocks: Vec<BlockData>,
    /// Instructions.
    pub insts: Vec<InstNode>,
    /// Values.
    pub values: Vec<ValueData>,
    /// Snapshots.
    pub snapshots: Vec<Snapshot>,
    /// Number of type-profile sites.
    pub sites: u32,
}

impl Function {
    /// An empty function.
    pub fn new(name: impl Into<String>) -> Function {
        Function {
            name: name.into(),
            params: 0,
            vararg: false,
            upvals: 0,
            line: 0,
            blocks: Vec::new(),
            insts: Vec::new(),
            values: Vec::new(),
            snapshots: Vec::new(),
            sites: 0,
        }
    }

    /// The entry block.
    pub fn entry(&self) -> Block {
        Block(0)
    }

    /// A value's type.
    pub fn value_type(&self, v: Value) -> Type {
        self.values[v.index()].ty
    }

    /// An instruction's node.
    pub fn inst(&self, i: Inst) -> &InstNode {
        &self.insts[i.index()]
    }

    /// Feeds `h` everything about the function that shapes its machine code: its
    /// signature, blocks, instructions, values and snapshots, with every string,
    /// runtime function and function it refers to by its *local number*
    /// ([`Function::local_refs`]: compiled code reaches them through tables of its own,
    /// so it does not depend on where they are in the module); not its name, its
    /// definition line or its instructions' source information, which compiled code
    /// never reads. Two functions that hash alike compile to the same code where the
    /// runtime functions they call have the same declarations (see
    /// [`LocalRefs::rts`]); a persistent code cache keys on this.
    ///
    /// `refs` is the function's [`Function::local_refs`] (made once, by whoever also
    /// needs them).
    pub fn hash_code<H: std::hash::Hasher>(&self, refs: &LocalRefs, h: &mut H) {
        use std::hash::Hash;
        (self.params, self.vararg, self.upvals, self.sites).hash(h);
        self.blocks.hash(h);
        self.insts.len().hash(h);
        for node in &self.insts {
            refs.localize(&node.data).hash(h);
            node.results.hash(h);
        }
        self.values.hash(h);
        self.snapshots.len().hash(h);
        for snap in &self.snapshots {
            let mut snap = snap.clone();
            for (_, source) in &mut snap.entries {
                if let SnapSource::Const(c) = source {
                    *c = refs.localize_const(*c);
                }
            }
            snap.hash(h);
        }
    }

    /// The strings, runtime functions and functions of the module the function refers
    /// to, each once, in the order of first use (instructions, then snapshots).
    pub fn local_refs(&self) -> LocalRefs {
        let mut refs = LocalRefs::default();
        for node in &self.insts {
            match node.data {
                InstData::Const { imm: Const::Str(s), .. } => refs.add_str(s),
                InstData::RtCall { rt, .. } => {
                    if !refs.rts.contains(&rt) {
                        refs.rts.push(rt);
                    }
                }
                InstData::Closure { func, .. } => {
                    if !refs.funcs.contains(&func) {
                        refs.funcs.push(func);
                    }
                }
                _ => {}
            }
        }
        for snap in &self.snapshots {
            for (_, source) in &snap.entries {
                if let SnapSource::Const(Const::Str(s)) = *source {
                    refs.add_str(s);
                }
            }
        }
        refs
    }

    /// Whether `v` is the result of a string constant.
    pub fn is_str_const(&self, v: Value) -> bool {
        match self.values.get(v.index()).map(|d| d.def) {
            Some(ValueDef::Result(i, 0)) => matches!(self.inst(i).data, InstData::Const { imm: Const::Str(_), .. }),
            _ => false,
        }
    }

    /// The terminator of a block, if it has one.
    pub fn terminator(&self, b: Block) -> Option<Inst> {
        let last = *self.blocks[b.index()].insts.last()?;
        self.insts[last.index()].data.opcode().is_terminator().then_some(last)
    }

    /// Drops the instructions that are in no block (what passes removed) and the values
    /// only they defined, and renumbers the rest in layout order (instructions as the
    /// blocks list them; values by where they are defined: each block's parameters, then
    /// its instructions' results): what remains reads as if built that way. Snapshot
    /// entries keep their keys (values of the generic function) and have their sources
    /// renumbered. Returns whether anything was dropped or renumbered.
    pub fn compact(&mut self) -> bool {
        let order: Vec<Inst> = self.blocks.iter().flat_map(|b| b.insts.iter().copied()).collect();
        let mut inst_map: Vec<Option<Inst>> = vec![None; self.insts.len()];
        for (n, &i) in order.iter().enumerate() {
            if let Some(slot) = inst_map.get_mut(i.index()) {
                *slot = Some(Inst(n as u32));
            }
        }
        let mut value_order: Vec<Value> = Vec::with_capacity(self.values.len());
        for b in &self.blocks {
            value_order.extend(b.params.iter().copied());
            for &i in &b.insts {
                value_order.extend(self.insts[i.index()].results.iter().copied());
            }
        }
        let in_order = order.len() == self.insts.len()
            && order.iter().enumerate().all(|(n, i)| i.index() == n)
            && value_order.len() == self.values.len()
            && value_order.iter().enumerate().all(|(n, v)| v.index() == n);
        if in_order {
            return false;
        }
        let mut value_map: Vec<Option<Value>> = vec![None; self.values.len()];
        for (n, &v) in value_order.iter().enumerate() {
            value_map[v.index()] = Some(Value(n as u32));
        }
        let mut old_insts: Vec<Option<InstNode>> = std::mem::take(&mut self.insts).into_iter().map(Some).collect();
        let old_values = std::mem::take(&mut self.values);
        // A dropped value can only be used by dropped instructions (a pass that leaves
        // a use of one behind made invalid MIR, which the verifier reports).
        let map = |v: Value| value_map.get(v.index()).copied().flatten().unwrap_or(v);
        let mut insts = Vec::with_capacity(order.len());
        for &i in &order {
            let mut node = old_insts[i.index()].take().expect("an instruction placed once");
            node.data.map_operands(map);
            for r in &mut node.results {
                *r = map(*r);
            }
            insts.push(node);
        }
        let values = value_order
            .iter()
            .map(|&v| {
                let data = old_values[v.index()];
                let def = match data.def {
                    ValueDef::Result(i, n) => ValueDef::Result(inst_map[i.index()].expect("a placed instruction"), n),
                    param => param,
                };
                ValueData { ty: data.ty, def }
            })
            .collect();
        for b in &mut self.blocks {
            for p in &mut b.params {
                *p = map(*p);
            }
            for i in &mut b.insts {
                *i = inst_map[i.index()].expect("a placed instruction");
            }
        }
        for snap in &mut self.snapshots {
            for (_, src) in &mut snap.entries {
                if let SnapSource::Value(v) = src {
                    *v = map(*v);
                }
            }
        }
        self.insts = insts;
        self.values = values;
        true
    }

    /// Adds a value definition.
    pub fn make_value(&mut self, ty: Type, def: ValueDef) -> Value {
        let v = Value::new(self.values.len());
        self.values.push(ValueData { ty, def });
        v
    }
}

/// A runtime function a module calls (bound by name when the module is loaded).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RtDecl {
    /// Symbol name (e.g. `lua.add`).
    pub name: String,
    /// The result type.
    pub ret: Type,
}

/// A compilation unit: functions, the string pool and the runtime functions they call.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Module {
    /// Chunk name used in error messages (e.g. `prog.lua`).
    pub name: String,
    /// Functions; `fn0` is the main function.
    pub functions: Vec<Function>,
    /// String constants.
    pub strings: Vec<Vec<u8>>,
    /// Runtime functions used by `rtcall`.
    pub runtime: Vec<RtDecl>,
    string_index: HashMap<Vec<u8>, StrId>,
}

impl Module {
    /// An empty module.
    pub fn new(name: impl Into<String>) -> Module {
        Module { name: name.into(), ..Module::default() }
    }

    /// Interns a string constant.
    pub fn intern(&mut self, s: &[u8]) -> StrId {
        if let Some(&id) = self.string_index.get(s) {
            return id;
        }
        let id = StrId::new(self.strings.len());
        self.strings.push(s.to_vec());
        self.string_index.insert(s.to_vec(), id);
        id
    }

    /// A string constant's bytes.
    pub fn string(&self, id: StrId) -> &[u8] {
        &self.strings[id.index()]
    }

    /// Declares (or finds) a runtime function.
    pub fn declare_rt(&mut self, name: &str, ret: Type) -> RtId {
        if let Some(i) = self.runtime.iter().position(|d| d.name == name) {
            return RtId::new(i);
        }
        self.runtime.push(RtDecl { name: name.to_string(), ret });
        RtId::new(self.runtime.len() - 1)
    }

    /// Adds a function, returning its id.
    pub fn add_function(&mut self, f: Function) -> FuncId {
        self.functions.push(f);
        FuncId::new(self.functions.len() - 1)
    }
}
