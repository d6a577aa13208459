//! Special forms and scopes: data as read become expressions whose variables are
//! resolved (local, captured by a closure, or global), whose built-in procedures are
//! known, and whose named `let`s and `do`s that only loop are loops.

use std::rc::Rc;

use crate::reader::{Datum, Diagnostic, Sexp};

/// A local variable's number in the program.
pub type VarId = usize;

/// A local variable.
#[derive(Debug)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// Read or written by a closure other than the one that binds it: it lives in a cell.
    pub captured: bool,
    /// The lambda that binds it (0: the main program).
    pub owner: usize,
}

/// A built-in procedure, called directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prim {
    /// Its name in programs.
    pub name: &'static str,
    /// Fewest arguments.
    pub min: usize,
    /// Most arguments (`usize::MAX`: any).
    pub max: usize,
}

const ANY: usize = usize::MAX;

/// Every built-in procedure.
pub const PRIMS: &[Prim] = &[
    Prim { name: "+", min: 0, max: ANY },
    Prim { name: "-", min: 1, max: ANY },
    Prim { name: "*", min: 0, max: ANY },
    Prim { name: "/", min: 1, max: ANY },
    Prim { name: "=", min: 2, max: 2 },
    Prim { name: "<", min: 2, max: 2 },
    Prim { name: ">", min: 2, max: 2 },
    Prim { name: "<=", min: 2, max: 2 },
    Prim { name: ">=", min: 2, max: 2 },
    Prim { name: "quotient", min: 2, max: 2 },
    Prim { name: "remainder", min: 2, max: 2 },
    Prim { name: "modulo", min: 2, max: 2 },
    Prim { name: "abs", min: 1, max: 1 },
    Prim { name: "min", min: 2, max: 2 },
    Prim { name: "max", min: 2, max: 2 },
    Prim { name: "sqrt", min: 1, max: 1 },
    Prim { name: "exact->inexact", min: 1, max: 1 },
    Prim { name: "not", min: 1, max: 1 },
    Prim { name: "zero?", min: 1, max: 1 },
    Prim { name: "null?", min: 1, max: 1 },
    Prim { name: "pair?", min: 1, max: 1 },
    Prim { name: "number?", min: 1, max: 1 },
    Prim { name: "integer?", min: 1, max: 1 },
    Prim { name: "procedure?", min: 1, max: 1 },
    Prim { name: "vector?", min: 1, max: 1 },
    Prim { name: "string?", min: 1, max: 1 },
    Prim { name: "eq?", min: 2, max: 2 },
    Prim { name: "equal?", min: 2, max: 2 },
    Prim { name: "cons", min: 2, max: 2 },
    Prim { name: "car", min: 1, max: 1 },
    Prim { name: "cdr", min: 1, max: 1 },
    Prim { name: "set-car!", min: 2, max: 2 },
    Prim { name: "set-cdr!", min: 2, max: 2 },
    Prim { name: "list", min: 0, max: ANY },
    Prim { name: "length", min: 1, max: 1 },
    Prim { name: "make-vector", min: 1, max: 2 },
    Prim { name: "vector", min: 0, max: ANY },
    Prim { name: "vector-ref", min: 2, max: 2 },
    Prim { name: "vector-set!", min: 3, max: 3 },
    Prim { name: "vector-length", min: 1, max: 1 },
    Prim { name: "string-append", min: 0, max: ANY },
    Prim { name: "number->string", min: 1, max: 1 },
    Prim { name: "display", min: 1, max: 1 },
    Prim { name: "newline", min: 0, max: 0 },
    Prim { name: "error", min: 1, max: ANY },
];

/// An expression and the line it starts on.
#[derive(Debug)]
pub struct Expr {
    /// What it is.
    pub kind: Kind,
    /// Source line.
    pub line: u32,
}

/// The kinds of expression.
#[derive(Debug)]
pub enum Kind {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (and a quoted symbol: symbols are interned strings).
    Str(String),
    /// `#t`/`#f`.
    Bool(bool),
    /// The empty list.
    Null,
    /// The value of forms that have none (a one-armed `if` not taken, `set!`).
    Unspecified,
    /// `'(a b c)`: a fresh list each time.
    QuoteList(Vec<Expr>),
    /// A local variable.
    Local(VarId),
    /// A global variable.
    Global(String),
    /// `(set! local e)`.
    SetLocal(VarId, Box<Expr>),
    /// `(set! global e)`.
    SetGlobal(String, Box<Expr>),
    /// A top-level `define`.
    Define(String, Box<Expr>),
    /// `(if c a b)`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A sequence (never empty).
    Begin(Vec<Expr>),
    /// `(and ...)`.
    And(Vec<Expr>),
    /// `(or ...)`.
    Or(Vec<Expr>),
    /// Binds variables, then evaluates the body.
    Let(Vec<(VarId, Expr)>, Box<Expr>),
    /// A procedure.
    Lambda(Rc<Lambda>),
    /// A call of a procedure value.
    Call(Box<Expr>, Vec<Expr>),
    /// A call of a built-in.
    Prim(Prim, Vec<Expr>),
    /// A loop: binds its variables and runs the body, where [`Kind::Recur`] goes round.
    Loop(usize, Vec<(VarId, Expr)>, Box<Expr>),
    /// Goes round loop N with new values of its variables.
    Recur(usize, Vec<Expr>),
}

/// A procedure's code.
#[derive(Debug)]
pub struct Lambda {
    /// Its name (the variable it was defined as), for messages.
    pub name: String,
    /// Its number (1..; 0 is the main program).
    pub id: usize,
    /// Parameters.
    pub params: Vec<VarId>,
    /// The body.
    pub body: Expr,
    /// Outer variables it uses, in upvalue order.
    pub captures: Vec<VarId>,
    /// Where it starts.
    pub line: u32,
}

/// A program: its top-level forms as one body, and its variables.
pub struct Program {
    /// The main program's body.
    pub body: Expr,
    /// Every local variable, by [`VarId`].
    pub vars: Vec<Var>,
    /// Number of lambdas (ids `1..=lambdas`).
    pub lambdas: usize,
}

enum Binding {
    Var(VarId),
    Loop(usize, usize),
}

struct Resolver<'f> {
    file: &'f str,
    vars: Vec<Var>,
    scopes: Vec<Vec<(String, Binding)>>,
    /// The lambdas being resolved, innermost last: id and captures.
    lambdas: Vec<(usize, Vec<VarId>)>,
    next_lambda: usize,
    next_loop: usize,
    depth: usize,
}

/// Resolves a program's top-level forms.
pub fn resolve(forms: &[Sexp], file: &str) -> Result<Program, Diagnostic> {
    let mut r = Resolver { file, vars: Vec::new(), scopes: vec![Vec::new()], lambdas: vec![(0, Vec::new())], next_lambda: 1, next_loop: 0, depth: 0 };
    let mut body = Vec::new();
    for form in forms {
        if let Some(("define", items)) = head(form) {
            let (name, value) = r.definition(form, items)?;
            if PRIMS.iter().any(|p| p.name == name) {
                return Err(r.error(form, format!("'{name}' is built in and cannot be defined again")));
            }
            body.push(Expr { kind: Kind::Define(name, Box::new(value)), line: form.line });
        } else {
            body.push(r.expr(form, false)?);
        }
    }
    let line = forms.first().map_or(1, |f| f.line);
    let body = if body.is_empty() { Expr { kind: Kind::Unspecified, line } } else { Expr { kind: Kind::Begin(body), line } };
    Ok(Program { body, vars: r.vars, lambdas: r.next_lambda - 1 })
}

fn head(form: &Sexp) -> Option<(&str, &[Sexp])> {
    let items = form.list()?;
    Some((items.first()?.sym()?, items))
}

impl Resolver<'_> {
    fn error(&self, at: &Sexp, message: impl Into<String>) -> Diagnostic {
        Diagnostic { file: self.file.to_string(), line: at.line, col: at.col, message: message.into() }
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|(n, _)| n == name).map(|(_, b)| b)
    }

    fn bind(&mut self, name: &str) -> VarId {
        let owner = self.lambdas.last().map_or(0, |l| l.0);
        self.vars.push(Var { name: name.to_string(), captured: false, owner });
        let id = self.vars.len() - 1;
        self.scopes.last_mut().expect("a scope").push((name.to_string(), Binding::Var(id)));
        id
    }

    /// Notes a use of `var` from the innermost lambda: a variable of an enclosing lambda
    /// is captured by every lambda between.
    fn use_var(&mut self, var: VarId) {
        let owner = self.vars[var].owner;
        if self.lambdas.last().map_or(0, |l| l.0) == owner {
            return;
        }
        self.vars[var].captured = true;
        for (id, captures) in self.lambdas.iter_mut().rev() {
            if *id == owner {
                break;
            }
            if !captures.contains(&var) {
                captures.push(var);
            }
        }
    }

    /// `(define name e)` or `(define (name params...) body...)`: the name and the value.
    fn definition(&mut self, form: &Sexp, items: &[Sexp]) -> Result<(String, Expr), Diagnostic> {
        match items.get(1).map(|t| &t.datum) {
            Some(Datum::Sym(name)) if items.len() == 3 => {
                let name = name.clone();
                let value = match head(&items[2]) {
                    Some(("lambda", l)) => self.lambda(&items[2], l, &name)?,
                    _ => self.expr(&items[2], false)?,
                };
                Ok((name, value))
            }
            Some(Datum::List(sig)) if !sig.is_empty() && items.len() >= 3 => {
                let name = sig[0].sym().ok_or_else(|| self.error(&sig[0], "a procedure's name must be a symbol"))?.to_string();
                let value = self.procedure(form, &name, &sig[1..], &items[2..])?;
                Ok((name, value))
            }
            _ => Err(self.error(form, "bad define: (define name value) or (define (name params...) body...)")),
        }
    }

    fn lambda(&mut self, form: &Sexp, items: &[Sexp], name: &str) -> Result<Expr, Diagnostic> {
        let params = items.get(1).and_then(|p| p.list()).ok_or_else(|| self.error(form, "bad lambda: (lambda (params...) body...)"))?;
        if items.len() < 3 {
            return Err(self.error(form, "lambda without a body"));
        }
        self.procedure(form, name, params, &items[2..])
    }

    fn procedure(&mut self, form: &Sexp, name: &str, params: &[Sexp], body: &[Sexp]) -> Result<Expr, Diagnostic> {
        let id = self.next_lambda;
        self.next_lambda += 1;
        self.lambdas.push((id, Vec::new()));
        self.scopes.push(Vec::new());
        let mut ids = Vec::new();
        for p in params {
            let n = p.sym().ok_or_else(|| self.error(p, "a parameter must be a symbol"))?;
            ids.push(self.bind(n));
        }
        let body = self.body(form, body, true);
        self.scopes.pop();
        let (_, captures) = self.lambdas.pop().expect("the lambda");
        let body = body?;
        // What this lambda captures, its enclosing lambda must have too.
        for &v in &captures {
            self.use_var(v);
        }
        let lambda = Lambda { name: name.to_string(), id, params: ids, body, captures, line: form.line };
        Ok(Expr { kind: Kind::Lambda(Rc::new(lambda)), line: form.line })
    }

    /// A body: internal `define`s bind variables for the whole body (set in order).
    fn body(&mut self, form: &Sexp, forms: &[Sexp], tail: bool) -> Result<Expr, Diagnostic> {
        if forms.is_empty() {
            return Err(self.error(form, "empty body"));
        }
        let defines: Vec<&str> = forms
            .iter()
            .filter_map(|f| match head(f) {
                Some(("define", items)) => match items.get(1).map(|t| &t.datum) {
                    Some(Datum::Sym(n)) => Some(n.as_str()),
                    Some(Datum::List(sig)) => sig.first().and_then(|s| s.sym()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if defines.is_empty() {
            return self.sequence(form, forms, tail);
        }
        self.scopes.push(Vec::new());
        let vars: Vec<(VarId, Expr)> = defines.iter().map(|n| (self.bind(n), Expr { kind: Kind::Unspecified, line: form.line })).collect();
        let mut seq = Vec::new();
        for (i, f) in forms.iter().enumerate() {
            let last = tail && i + 1 == forms.len();
            if let Some(("define", items)) = head(f) {
                let (name, value) = self.definition(f, items)?;
                let Some(Binding::Var(v)) = self.lookup(&name) else { unreachable!("bound above") };
                let v = *v;
                seq.push(Expr { kind: Kind::SetLocal(v, Box::new(value)), line: f.line });
            } else {
                seq.push(self.expr(f, last)?);
            }
        }
        self.scopes.pop();
        let line = form.line;
        Ok(Expr { kind: Kind::Let(vars, Box::new(Expr { kind: Kind::Begin(seq), line })), line })
    }

    fn sequence(&mut self, form: &Sexp, forms: &[Sexp], tail: bool) -> Result<Expr, Diagnostic> {
        let mut seq = Vec::new();
        for (i, f) in forms.iter().enumerate() {
            seq.push(self.expr(f, tail && i + 1 == forms.len())?);
        }
        Ok(if seq.len() == 1 { seq.pop().expect("one") } else { Expr { kind: Kind::Begin(seq), line: form.line } })
    }

    /// An expression; `tail`: its value is the enclosing loop's or procedure's.
    fn expr(&mut self, form: &Sexp, tail: bool) -> Result<Expr, Diagnostic> {
        self.depth += 1;
        if self.depth > crate::reader::MAX_DEPTH {
            self.depth -= 1;
            return Err(self.error(form, "expression nested too deeply"));
        }
        let r = self.expr_inner(form, tail);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, form: &Sexp, tail: bool) -> Result<Expr, Diagnostic> {
        let line = form.line;
        let at = |kind| Ok(Expr { kind, line });
        match &form.datum {
            Datum::Int(n) => at(Kind::Int(*n)),
            Datum::Float(x) => at(Kind::Float(*x)),
            Datum::Str(s) => at(Kind::Str(s.clone())),
            Datum::Bool(b) => at(Kind::Bool(*b)),
            Datum::Sym(name) => match self.lookup(name) {
                Some(&Binding::Var(v)) => {
                    self.use_var(v);
                    at(Kind::Local(v))
                }
                Some(Binding::Loop(..)) => Err(self.error(form, format!("loop '{name}' used as a value"))),
                None if PRIMS.iter().any(|p| p.name == name) => {
                    // A built-in as a value is a procedure of its usual arity calling it.
                    let p = PRIMS.iter().find(|p| p.name == name).expect("found");
                    let n = match (p.min, p.max) {
                        (min, ANY) => min.max(2),
                        (min, _) => min,
                    };
                    let sym = |s: &str| Sexp { datum: Datum::Sym(s.to_string()), line: form.line, col: form.col };
                    let list = |items: Vec<Sexp>| Sexp { datum: Datum::List(items), line: form.line, col: form.col };
                    let params: Vec<Sexp> = (0..n).map(|i| sym(&format!("%{i}"))).collect();
                    let call = list(std::iter::once(form.clone()).chain(params.iter().cloned()).collect());
                    let lambda = list(vec![sym("lambda"), list(params), call]);
                    let items = lambda.list().expect("a list").to_vec();
                    self.lambda(&lambda, &items, name)
                }
                None => at(Kind::Global(name.clone())),
            },
            Datum::List(items) if items.is_empty() => Err(self.error(form, "empty combination '()' (write '() for the empty list)")),
            Datum::List(items) => {
                if let Some(name) = items[0].sym() {
                    if self.lookup(name).is_none() {
                        if let Some(e) = self.special(form, name, items, tail)? {
                            return Ok(e);
                        }
                        if let Some(&p) = PRIMS.iter().find(|p| p.name == name) {
                            let n = items.len() - 1;
                            if n < p.min || n > p.max {
                                let want = match (p.min, p.max) {
                                    (a, b) if a == b => format!("{a}"),
                                    (a, ANY) => format!("at least {a}"),
                                    (a, b) => format!("{a} to {b}"),
                                };
                                return Err(self.error(form, format!("'{name}' takes {want} arguments, not {n}")));
                            }
                            let args = items[1..].iter().map(|a| self.expr(a, false)).collect::<Result<_, _>>()?;
                            return at(Kind::Prim(p, args));
                        }
                    }
                    if let Some(&Binding::Loop(id, arity)) = self.lookup(name) {
                        if !tail {
                            return Err(self.error(form, format!("loop '{name}' called outside tail position")));
                        }
                        if items.len() - 1 != arity {
                            return Err(self.error(form, format!("'{name}' takes {arity} arguments, not {}", items.len() - 1)));
                        }
                        let args = items[1..].iter().map(|a| self.expr(a, false)).collect::<Result<_, _>>()?;
                        return at(Kind::Recur(id, args));
                    }
                }
                let callee = self.expr(&items[0], false)?;
                let args = items[1..].iter().map(|a| self.expr(a, false)).collect::<Result<_, _>>()?;
                at(Kind::Call(Box::new(callee), args))
            }
        }
    }

    /// A special form, if `name` is one.
    fn special(&mut self, form: &Sexp, name: &str, items: &[Sexp], tail: bool) -> Result<Option<Expr>, Diagnostic> {
        let line = form.line;
        let at = |kind| Ok(Some(Expr { kind, line }));
        match name {
            "quote" => {
                let [_, quoted] = items else { return Err(self.error(form, "bad quote")) };
                at(quote(quoted).kind)
            }
            "define" => Err(self.error(form, "define is only allowed at the top level or at the start of a body")),
            "lambda" => at(self.lambda(form, items, "lambda")?.kind),
            "if" => {
                if !(3..=4).contains(&items.len()) {
                    return Err(self.error(form, "bad if: (if test then [else])"));
                }
                let c = self.expr(&items[1], false)?;
                let t = self.expr(&items[2], tail)?;
                let e = match items.get(3) {
                    Some(e) => self.expr(e, tail)?,
                    None => Expr { kind: Kind::Unspecified, line },
                };
                at(Kind::If(Box::new(c), Box::new(t), Box::new(e)))
            }
            "cond" => {
                let mut out = Expr { kind: Kind::Unspecified, line };
                for (i, clause) in items[1..].iter().enumerate().rev() {
                    let parts = clause.list().filter(|p| p.len() >= 2).ok_or_else(|| self.error(clause, "bad cond clause: (test body...)"))?;
                    let body = self.sequence(clause, &parts[1..], tail)?;
                    if parts[0].sym() == Some("else") {
                        if i + 2 != items.len() {
                            return Err(self.error(clause, "else must be the last cond clause"));
                        }
                        out = body;
                    } else {
                        let test = self.expr(&parts[0], false)?;
                        out = Expr { kind: Kind::If(Box::new(test), Box::new(body), Box::new(out)), line: clause.line };
                    }
                }
                Ok(Some(out))
            }
            "when" | "unless" => {
                if items.len() < 3 {
                    return Err(self.error(form, format!("bad {name}: ({name} test body...)")));
                }
                let test = self.expr(&items[1], false)?;
                let body = self.sequence(form, &items[2..], tail)?;
                let none = Expr { kind: Kind::Unspecified, line };
                let (t, e) = if name == "when" { (body, none) } else { (none, body) };
                at(Kind::If(Box::new(test), Box::new(t), Box::new(e)))
            }
            "begin" => {
                if items.len() < 2 {
                    return at(Kind::Unspecified);
                }
                Ok(Some(self.sequence(form, &items[1..], tail)?))
            }
            "and" | "or" => {
                let parts: Vec<Expr> = items[1..]
                    .iter()
                    .enumerate()
                    .map(|(i, e)| self.expr(e, tail && i + 2 == items.len()))
                    .collect::<Result<_, _>>()?;
                match (name, parts.len()) {
                    ("and", 0) => at(Kind::Bool(true)),
                    ("or", 0) => at(Kind::Bool(false)),
                    ("and", _) => at(Kind::And(parts)),
                    _ => at(Kind::Or(parts)),
                }
            }
            "set!" => {
                let [_, target, value] = items else { return Err(self.error(form, "bad set!: (set! name value)")) };
                let target_name = target.sym().ok_or_else(|| self.error(target, "set! needs a variable"))?;
                let value = Box::new(self.expr(value, false)?);
                match self.lookup(target_name) {
                    Some(&Binding::Var(v)) => {
                        self.use_var(v);
                        at(Kind::SetLocal(v, value))
                    }
                    Some(Binding::Loop(..)) => Err(self.error(target, "cannot set! a loop")),
                    None => at(Kind::SetGlobal(target_name.to_string(), value)),
                }
            }
            "let" | "let*" => {
                let named = items.get(1).and_then(|s| s.sym()).filter(|_| name == "let");
                let off = if named.is_some() { 2 } else { 1 };
                let bindings = items.get(off).and_then(|b| b.list()).ok_or_else(|| self.error(form, format!("bad {name}: ({name} ((name value)...) body...)")))?;
                let mut pairs = Vec::new();
                for b in bindings {
                    match b.list() {
                        Some([n, v]) if n.sym().is_some() => pairs.push((n, v)),
                        _ => return Err(self.error(b, "a binding is (name value)")),
                    }
                }
                let body = &items[off + 1..];
                if let Some(loop_name) = named {
                    return self.named_let(form, loop_name, &pairs, body).map(Some);
                }
                let mut bound = Vec::new();
                self.scopes.push(Vec::new());
                if name == "let" {
                    let values: Vec<Expr> = pairs.iter().map(|(_, v)| self.expr(v, false)).collect::<Result<_, _>>()?;
                    for ((n, _), value) in pairs.iter().zip(values) {
                        bound.push((self.bind(n.sym().unwrap_or_default()), value));
                    }
                } else {
                    for (n, v) in &pairs {
                        let value = self.expr(v, false)?;
                        self.scopes.push(Vec::new());
                        bound.push((self.bind(n.sym().unwrap_or_default()), value));
                    }
                }
                let body = self.body(form, body, tail);
                let pops = if name == "let*" { pairs.len() + 1 } else { 1 };
                self.scopes.truncate(self.scopes.len() - pops);
                at(Kind::Let(bound, Box::new(body?)))
            }
            "do" => {
                // (do ((var init step)...) (test result...) body...) is a loop.
                let specs = items.get(1).and_then(|s| s.list()).ok_or_else(|| self.error(form, "bad do: (do ((var init step)...) (test result...) body...)"))?;
                let exit = items.get(2).and_then(|s| s.list()).filter(|e| !e.is_empty()).ok_or_else(|| self.error(form, "do needs (test result...)"))?;
                let mut inits = Vec::new();
                for s in specs {
                    match s.list() {
                        Some([n, i]) | Some([n, i, _]) if n.sym().is_some() => inits.push((n.sym().unwrap_or_default(), self.expr(i, false)?)),
                        _ => return Err(self.error(s, "a do variable is (var init [step])")),
                    }
                }
                let id = self.next_loop;
                self.next_loop += 1;
                self.scopes.push(Vec::new());
                let vars: Vec<(VarId, Expr)> = inits.into_iter().map(|(n, init)| (self.bind(n), init)).collect();
                let result = (|| {
                    let test = self.expr(&exit[0], false)?;
                    let done = if exit.len() > 1 { self.sequence(form, &exit[1..], tail)? } else { Expr { kind: Kind::Unspecified, line } };
                    let mut seq = Vec::new();
                    for f in &items[3..] {
                        seq.push(self.expr(f, false)?);
                    }
                    let mut steps = Vec::new();
                    for (s, (v, _)) in specs.iter().zip(&vars) {
                        steps.push(match s.list() {
                            Some([_, _, step]) => self.expr(step, false)?,
                            _ => Expr { kind: Kind::Local(*v), line },
                        });
                    }
                    seq.push(Expr { kind: Kind::Recur(id, steps), line });
                    let go = Expr { kind: Kind::Begin(seq), line };
                    Ok(Expr { kind: Kind::If(Box::new(test), Box::new(done), Box::new(go)), line })
                })();
                self.scopes.pop();
                at(Kind::Loop(id, vars, Box::new(result?)))
            }
            _ => Ok(None),
        }
    }

    /// `(let name ((var init)...) body...)`: a loop when `name` is only called in tail
    /// position of the body (not passed, not called from a lambda), else a local
    /// procedure called once.
    fn named_let(&mut self, form: &Sexp, name: &str, pairs: &[(&Sexp, &Sexp)], body: &[Sexp]) -> Result<Expr, Diagnostic> {
        let line = form.line;
        let inits: Vec<Expr> = pairs.iter().map(|(_, v)| self.expr(v, false)).collect::<Result<_, _>>()?;
        if body.iter().enumerate().all(|(i, f)| only_tail_calls(name, f, i + 1 == body.len())) {
            let id = self.next_loop;
            self.next_loop += 1;
            self.scopes.push(vec![(name.to_string(), Binding::Loop(id, pairs.len()))]);
            let vars: Vec<(VarId, Expr)> = pairs.iter().zip(inits).map(|((n, _), init)| (self.bind(n.sym().unwrap_or_default()), init)).collect();
            let body = self.body(form, body, true);
            self.scopes.pop();
            return Ok(Expr { kind: Kind::Loop(id, vars, Box::new(body?)), line });
        }
        // (letrec ((name (lambda (vars...) body...))) (name inits...))
        self.scopes.push(Vec::new());
        let f = self.bind(name);
        let params: Vec<Sexp> = pairs.iter().map(|(n, _)| (*n).clone()).collect();
        let lambda = self.procedure(form, name, &params, body);
        self.use_var(f);
        self.scopes.pop();
        let set = Expr { kind: Kind::SetLocal(f, Box::new(lambda?)), line };
        let call = Expr { kind: Kind::Call(Box::new(Expr { kind: Kind::Local(f), line }), inits), line };
        let seq = Expr { kind: Kind::Begin(vec![set, call]), line };
        Ok(Expr { kind: Kind::Let(vec![(f, Expr { kind: Kind::Unspecified, line })], Box::new(seq)), line })
    }
}

/// A quoted datum as an expression.
fn quote(d: &Sexp) -> Expr {
    let kind = match &d.datum {
        Datum::Int(n) => Kind::Int(*n),
        Datum::Float(x) => Kind::Float(*x),
        Datum::Str(s) | Datum::Sym(s) => Kind::Str(s.clone()),
        Datum::Bool(b) => Kind::Bool(*b),
        Datum::List(items) if items.is_empty() => Kind::Null,
        Datum::List(items) => Kind::QuoteList(items.iter().map(quote).collect()),
    };
    Expr { kind, line: d.line }
}

/// Whether every use of `name` in `form` is a call in tail position (`tail`: `form`
/// itself is in tail position), never inside a lambda or a form that binds `name`
/// again; conservative where unsure.
fn only_tail_calls(name: &str, form: &Sexp, tail: bool) -> bool {
    match &form.datum {
        Datum::Sym(s) => s != name,
        Datum::List(items) => {
            let Some(first) = items.first() else { return true };
            let rest_plain = |from: usize| items[from..].iter().all(|f| only_tail_calls(name, f, false));
            let last_tail = |from: usize| {
                let n = items.len();
                items[from..].iter().enumerate().all(|(i, f)| only_tail_calls(name, f, tail && from + i + 1 == n))
            };
            match first.sym() {
                Some(s) if s == name => tail && rest_plain(1),
                Some("quote") => true,
                Some("lambda" | "define" | "do" | "set!" | "let*") => !mentions(name, form),
                Some("if") => items.len() >= 2 && only_tail_calls(name, &items[1], false) && last_tail_all(name, &items[2..], tail),
                Some("begin" | "and" | "or") => last_tail(1),
                Some("when" | "unless") => items.len() >= 2 && only_tail_calls(name, &items[1], false) && last_tail(2),
                Some("cond") => items[1..].iter().all(|c| match c.list() {
                    Some(parts) if !parts.is_empty() => {
                        (parts[0].sym() == Some("else") || only_tail_calls(name, &parts[0], false))
                            && parts[1..].iter().enumerate().all(|(i, f)| only_tail_calls(name, f, tail && i + 2 == parts.len()))
                    }
                    _ => !mentions(name, c),
                }),
                Some("let") if items.len() >= 3 && items[1].list().is_some() => {
                    let bindings = items[1].list().unwrap_or_default();
                    let rebinds = bindings.iter().any(|b| b.list().and_then(|p| p.first()).and_then(|n| n.sym()) == Some(name));
                    let inits_ok = bindings.iter().all(|b| b.list().is_none_or(|p| p.iter().skip(1).all(|v| only_tail_calls(name, v, false))));
                    inits_ok && (!rebinds || !items[2..].iter().any(|f| mentions(name, f))) && (rebinds || last_tail(2))
                }
                _ => !mentions(name, form),
            }
        }
        _ => true,
    }
}

fn last_tail_all(name: &str, forms: &[Sexp], tail: bool) -> bool {
    forms.iter().all(|f| only_tail_calls(name, f, tail))
}

/// Whether `name` occurs anywhere in `form` (outside quotes).
fn mentions(name: &str, form: &Sexp) -> bool {
    match &form.datum {
        Datum::Sym(s) => s == name,
        Datum::List(items) if items.first().and_then(|f| f.sym()) == Some("quote") => false,
        Datum::List(items) => items.iter().any(|f| mentions(name, f)),
        _ => false,
    }
}
