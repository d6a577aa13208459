//! The abstract syntax tree of the Lua subset, after scope resolution.
//!
//! The parser builds it and resolves every name as it goes: a name is a local of the
//! enclosing function, an upvalue (a local of an enclosing function), or a global.
//! Each `local` declaration gets a [`LocalId`] unique within the chunk, and
//! [`LocalInfo::captured`] says whether any nested function refers to it, so lowering
//! can keep uncaptured locals in SSA values and put captured ones in heap cells.

/// A position in the source: 1-based line and column (column counts bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based byte column.
    pub col: u32,
}

/// Identifies a local variable declaration within one chunk (index into [`Chunk::locals`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// What the resolver learned about one local declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalInfo {
    /// The declared name.
    pub name: String,
    /// Declared `<const>` (assignments to it are rejected by the parser).
    pub is_const: bool,
    /// Some nested function refers to it (as an upvalue).
    pub captured: bool,
    /// Where it was declared.
    pub pos: Pos,
}

/// A whole source file: the body of the main function (which is vararg).
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// The main function.
    pub body: FuncBody,
    /// Every local declared anywhere in the chunk, indexed by [`LocalId`].
    pub locals: Vec<LocalInfo>,
}

/// A function body (the main chunk, a `function` statement or a function expression).
#[derive(Clone, Debug, PartialEq)]
pub struct FuncBody {
    /// Parameter locals in order (for a method `function t:m()`, `self` comes first).
    pub params: Vec<LocalId>,
    /// Declared with `...`.
    pub is_vararg: bool,
    /// The statements.
    pub block: Block,
    /// Position of the `function` keyword (line 0 for the main chunk).
    pub pos: Pos,
    /// Position of the closing `end` (the last line for the main chunk).
    pub end_pos: Pos,
    /// A name for diagnostics and MIR (`fib`, `t.a.b`, `t:m`, `anon`, `main`).
    pub name: String,
    /// The upvalues this function uses, in first-use order; [`Name::Upvalue`] indexes it.
    pub upvalues: Vec<UpvalDesc>,
}

/// Where a function's upvalue comes from, seen from the enclosing function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpvalSource {
    /// A local of the directly enclosing function.
    Local(LocalId),
    /// Upvalue number N of the directly enclosing function.
    Upvalue(u32),
}

/// One upvalue of a function.
#[derive(Clone, Debug, PartialEq)]
pub struct UpvalDesc {
    /// The variable's name (for error messages: "upvalue 'x'").
    pub name: String,
    /// The local it ultimately refers to.
    pub local: LocalId,
    /// Where the enclosing function finds it.
    pub source: UpvalSource,
}

/// A sequence of statements (a scope).
pub type Block = Vec<Stat>;

/// A statement with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    /// Where the statement starts.
    pub pos: Pos,
    /// What it is.
    pub kind: StatKind,
}

/// The kinds of statements.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum StatKind {
    /// `local a, b <const> = e1, e2` (attributes already checked; `exprs` may be empty).
    Local { names: Vec<LocalId>, exprs: Vec<Expr> },
    /// `local function f() ... end` (`f` is in scope inside the body).
    LocalFunction { name: LocalId, func: Box<FuncBody> },
    /// `a, b.c, d[e] = e1, e2` (targets are `Name` or `Index` expressions).
    Assign { targets: Vec<Expr>, exprs: Vec<Expr> },
    /// A function call used as a statement (a `Call` or `MethodCall` expression).
    Call(Expr),
    /// `do ... end`.
    Do(Block),
    /// `while cond do ... end`.
    While { cond: Expr, body: Block },
    /// `repeat ... until cond` (`cond` sees the body's locals).
    Repeat { body: Block, cond: Expr },
    /// `if c1 then b1 elseif c2 then b2 ... else b end`.
    If { conds: Vec<(Expr, Block)>, else_block: Option<Block> },
    /// `for var = start, limit[, step] do ... end`.
    NumericFor { var: LocalId, start: Expr, limit: Expr, step: Option<Expr>, body: Block },
    /// `for v1, v2 in explist do ... end`.
    GenericFor { vars: Vec<LocalId>, exprs: Vec<Expr>, body: Block },
    /// `function a.b.c:m() ... end` or `function f() ... end`: an assignment of the
    /// function to `target` (a `Name` or `Index` expression).
    Function { target: Expr, func: Box<FuncBody> },
    /// `return e1, e2` (only last in a block).
    Return(Vec<Expr>),
    /// `break`.
    Break,
}

/// An expression with its position (the position of its first token, or of the
/// operator for binary operations, as Lua reports errors there).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Where it is (line used for runtime error messages).
    pub pos: Pos,
    /// What it is.
    pub kind: ExprKind,
}

/// How a name was resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Name {
    /// A local of the current function.
    Local(LocalId),
    /// Upvalue number N of the current function (index into [`FuncBody::upvalues`]).
    Upvalue(u32),
    /// A global (a field of the globals table).
    Global(String),
}

/// The kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum ExprKind {
    /// `nil`.
    Nil,
    /// `true`.
    True,
    /// `false`.
    False,
    /// An integer literal (decimal or hex; hex wraps around like Lua).
    Int(i64),
    /// A float literal (or a decimal integer literal too large for i64).
    Float(f64),
    /// A string literal, escapes already decoded (bytes, not necessarily UTF-8).
    Str(Vec<u8>),
    /// `...` (only inside a vararg function).
    Vararg,
    /// A variable.
    Name(Name),
    /// `obj[key]`, and `obj.name` (with `key` a `Str` expression).
    Index { obj: Box<Expr>, key: Box<Expr> },
    /// `f(args)`.
    Call { func: Box<Expr>, args: Vec<Expr> },
    /// `obj:name(args)`.
    MethodCall { obj: Box<Expr>, name: String, args: Vec<Expr> },
    /// `function (...) ... end`.
    Function(Box<FuncBody>),
    /// A binary operator (`and`/`or` included; they short-circuit).
    Binary { op: BinOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// A unary operator.
    Unary { op: UnOp, operand: Box<Expr> },
    /// `(e)`: truncates a multi-valued expression to one value.
    Paren(Box<Expr>),
    /// `{ ... }`.
    Table(Vec<TableField>),
}

/// One field of a table constructor.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum TableField {
    /// A positional item `e`.
    Positional(Expr),
    /// `name = e` (key is a `Str`) or `[k] = e`.
    Keyed { key: Expr, value: Expr },
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `//`
    IDiv,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `..`
    Concat,
    /// `==`
    Eq,
    /// `~=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and`
    And,
    /// `or`
    Or,
    /// `&`
    BAnd,
    /// `|`
    BOr,
    /// `~` (binary)
    BXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `not`
    Not,
    /// `#`
    Len,
    /// `~`
    BNot,
}

impl Expr {
    /// Whether the expression can produce several values (a call or `...`).
    pub fn is_multi(&self) -> bool {
        matches!(self.kind, ExprKind::Call { .. } | ExprKind::MethodCall { .. } | ExprKind::Vararg)
    }
}
