//! Golden tests of the parser: one test per file in `tests/fixtures/parse/`.
//!
//! `ok/NAME.lua` must parse; its AST, dumped in the indented form below, must equal
//! `ok/NAME.ast`. `err/NAME.lua` must fail; the diagnostic, as displayed, must equal
//! `err/NAME.err`. Run with `BLESS=1` to (re)write the expected files, then review
//! the diff by eye.

use lazyjit_lua::ast::{
    Block, Chunk, Expr, ExprKind, FuncBody, LocalId, Name, Pos, Stat, StatKind, TableField, UpvalSource,
};
use lazyjit_lua::parser::parse;
use libtest_mimic::{Arguments, Failed, Trial};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse");
    let mut trials = Vec::new();
    for (dir, expect_ok) in [("ok", true), ("err", false)] {
        for path in lua_files(&root.join(dir)) {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            trials.push(Trial::test(format!("{dir}/{stem}"), move || check_fixture(&path, expect_ok)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The `.lua` files of a directory, sorted.
fn lua_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .collect();
    files.sort();
    files
}

fn check_fixture(path: &Path, expect_ok: bool) -> Result<(), Failed> {
    let source = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let actual = match (parse(&source, &file), expect_ok) {
        (Ok(chunk), true) => dump(&chunk),
        (Err(diag), false) => format!("{diag}\n"),
        (Ok(_), false) => return Err("expected a syntax error, but the file parsed".into()),
        (Err(diag), true) => return Err(format!("expected the file to parse, got:\n{diag}").into()),
    };
    let expected_path = path.with_extension(if expect_ok { "ast" } else { "err" });
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        return std::fs::write(&expected_path, &actual)
            .map_err(|e| format!("writing {}: {e}", expected_path.display()).into());
    }
    let expected = std::fs::read_to_string(&expected_path)
        .map_err(|_| format!("{} is missing; run with BLESS=1 to create it", expected_path.display()))?;
    if expected == actual {
        return Ok(());
    }
    Err(first_difference(&expected, &actual).into())
}

/// A message showing where `actual` departs from `expected`, and all of `actual`.
fn first_difference(expected: &str, actual: &str) -> String {
    let mut exp = expected.lines();
    let mut act = actual.lines();
    for n in 1.. {
        match (exp.next(), act.next()) {
            (None, None) => break,
            (e, a) if e == a => continue,
            (e, a) => {
                return format!(
                    "output differs at line {n}:\n  expected: {}\n  actual:   {}\n--- full actual output (BLESS=1 to accept):\n{actual}",
                    e.unwrap_or("<end>"),
                    a.unwrap_or("<end>")
                )
            }
        }
    }
    "outputs differ only in trailing newlines".into()
}

/// The AST as indented text: one node per line, each with its `line:col`.
fn dump(chunk: &Chunk) -> String {
    let mut d = Dumper { out: String::new(), chunk, depth: 0, upvalue_names: Vec::new() };
    d.line(None, "locals");
    d.nested(|d| {
        for (i, info) in chunk.locals.iter().enumerate() {
            let flags = format!(
                "{}{}",
                if info.is_const { " const" } else { "" },
                if info.captured { " captured" } else { "" }
            );
            d.line(Some(info.pos), &format!("#{i} {}{flags}", info.name));
        }
    });
    d.func(&chunk.body);
    d.out
}

struct Dumper<'a> {
    out: String,
    chunk: &'a Chunk,
    depth: usize,
    /// The upvalue names of the functions being dumped, innermost last.
    upvalue_names: Vec<Vec<String>>,
}

impl Dumper<'_> {
    fn line(&mut self, pos: Option<Pos>, text: &str) {
        self.out.push_str(&"  ".repeat(self.depth));
        if let Some(pos) = pos {
            let _ = write!(self.out, "{}:{} ", pos.line, pos.col);
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    /// A labelled group of children.
    fn section(&mut self, label: &str, f: impl FnOnce(&mut Self)) {
        self.line(None, label);
        self.nested(f);
    }

    fn local(&self, id: LocalId) -> String {
        let name = self.chunk.locals.get(id.0 as usize).map_or("?", |l| l.name.as_str());
        format!("{name}#{}", id.0)
    }

    fn locals(&self, ids: &[LocalId]) -> String {
        ids.iter().map(|&id| self.local(id)).collect::<Vec<_>>().join(", ")
    }

    fn func(&mut self, f: &FuncBody) {
        let vararg = if f.is_vararg { " vararg" } else { "" };
        let header = format!("function {}{vararg} (end {}:{})", f.name, f.end_pos.line, f.end_pos.col);
        self.line(Some(f.pos), &header);
        self.upvalue_names.push(f.upvalues.iter().map(|u| u.name.clone()).collect());
        self.nested(|d| {
            if !f.params.is_empty() {
                d.line(None, &format!("params {}", d.locals(&f.params)));
            }
            for (i, up) in f.upvalues.iter().enumerate() {
                let from = match up.source {
                    UpvalSource::Local(id) => format!("local {}", d.local(id)),
                    UpvalSource::Upvalue(n) => format!("upvalue {n}"),
                };
                d.line(None, &format!("upvalue {i} {} ({}) from enclosing {from}", up.name, d.local(up.local)));
            }
            d.block(&f.block);
        });
        self.upvalue_names.pop();
    }

    fn block(&mut self, block: &Block) {
        for stat in block {
            self.stat(stat);
        }
    }

    fn exprs(&mut self, exprs: &[Expr]) {
        for e in exprs {
            self.expr(e);
        }
    }

    fn stat(&mut self, s: &Stat) {
        let pos = Some(s.pos);
        match &s.kind {
            StatKind::Local { names, exprs } => {
                self.line(pos, &format!("local {}", self.locals(names)));
                self.nested(|d| d.exprs(exprs));
            }
            StatKind::LocalFunction { name, func } => {
                self.line(pos, &format!("local function {}", self.local(*name)));
                self.nested(|d| d.func(func));
            }
            StatKind::Assign { targets, exprs } => {
                self.line(pos, "assign");
                self.nested(|d| {
                    d.section("targets", |d| d.exprs(targets));
                    d.section("values", |d| d.exprs(exprs));
                });
            }
            StatKind::Call(e) => {
                self.line(pos, "call statement");
                self.nested(|d| d.expr(e));
            }
            StatKind::Do(body) => {
                self.line(pos, "do");
                self.nested(|d| d.block(body));
            }
            StatKind::While { cond, body } => {
                self.line(pos, "while");
                self.nested(|d| {
                    d.expr(cond);
                    d.section("do", |d| d.block(body));
                });
            }
            StatKind::Repeat { body, cond } => {
                self.line(pos, "repeat");
                self.nested(|d| {
                    d.block(body);
                    d.section("until", |d| d.expr(cond));
                });
            }
            StatKind::If { conds, else_block } => self.if_stat(pos, conds, else_block.as_ref()),
            StatKind::NumericFor { var, start, limit, step, body } => {
                self.line(pos, &format!("for {} =", self.local(*var)));
                self.nested(|d| {
                    d.expr(start);
                    d.expr(limit);
                    if let Some(step) = step {
                        d.expr(step);
                    }
                    d.section("do", |d| d.block(body));
                });
            }
            StatKind::GenericFor { vars, exprs, body } => {
                self.line(pos, &format!("for {} in", self.locals(vars)));
                self.nested(|d| {
                    d.exprs(exprs);
                    d.section("do", |d| d.block(body));
                });
            }
            StatKind::Function { target, func } => {
                self.line(pos, "function statement");
                self.nested(|d| {
                    d.section("target", |d| d.expr(target));
                    d.func(func);
                });
            }
            StatKind::Return(exprs) => {
                self.line(pos, "return");
                self.nested(|d| d.exprs(exprs));
            }
            StatKind::Break => self.line(pos, "break"),
        }
    }

    fn if_stat(&mut self, pos: Option<Pos>, conds: &[(Expr, Block)], else_block: Option<&Block>) {
        self.line(pos, "if");
        self.nested(|d| {
            for (i, (cond, body)) in conds.iter().enumerate() {
                d.section(if i == 0 { "cond" } else { "elseif" }, |d| d.expr(cond));
                d.section("then", |d| d.block(body));
            }
            if let Some(body) = else_block {
                d.section("else", |d| d.block(body));
            }
        });
    }

    fn name(&self, name: &Name) -> String {
        match name {
            Name::Local(id) => format!("local {}", self.local(*id)),
            Name::Upvalue(i) => {
                let names = self.upvalue_names.last();
                let shown = names.and_then(|n| n.get(*i as usize)).map_or("?", |s| s.as_str());
                format!("upvalue {i} ({shown})")
            }
            Name::Global(g) => format!("global {g}"),
        }
    }

    fn expr(&mut self, e: &Expr) {
        let pos = Some(e.pos);
        match &e.kind {
            ExprKind::Nil => self.line(pos, "nil"),
            ExprKind::True => self.line(pos, "true"),
            ExprKind::False => self.line(pos, "false"),
            ExprKind::Int(v) => self.line(pos, &format!("int {v}")),
            ExprKind::Float(v) => self.line(pos, &format!("float {v:?}")),
            ExprKind::Str(s) => self.line(pos, &format!("string {}", quote(s))),
            ExprKind::Vararg => self.line(pos, "..."),
            ExprKind::Name(name) => self.line(pos, &self.name(name)),
            ExprKind::Index { obj, key } => {
                self.line(pos, "index");
                self.nested(|d| {
                    d.expr(obj);
                    d.expr(key);
                });
            }
            ExprKind::Call { func, args } => {
                self.line(pos, &format!("call with {} args", args.len()));
                self.nested(|d| {
                    d.expr(func);
                    d.exprs(args);
                });
            }
            ExprKind::MethodCall { obj, name, args } => {
                self.line(pos, &format!("method call :{name} with {} args", args.len()));
                self.nested(|d| {
                    d.expr(obj);
                    d.exprs(args);
                });
            }
            ExprKind::Function(func) => self.func(func),
            ExprKind::Binary { op, lhs, rhs } => {
                self.line(pos, &format!("binary {op:?}"));
                self.nested(|d| {
                    d.expr(lhs);
                    d.expr(rhs);
                });
            }
            ExprKind::Unary { op, operand } => {
                self.line(pos, &format!("unary {op:?}"));
                self.nested(|d| d.expr(operand));
            }
            ExprKind::Paren(inner) => {
                self.line(pos, "paren");
                self.nested(|d| d.expr(inner));
            }
            ExprKind::Table(fields) => {
                self.line(pos, "table");
                self.nested(|d| d.fields(fields));
            }
        }
    }

    fn fields(&mut self, fields: &[TableField]) {
        for field in fields {
            match field {
                TableField::Positional(e) => self.section("positional", |d| d.expr(e)),
                TableField::Keyed { key, value } => self.section("keyed", |d| {
                    d.expr(key);
                    d.expr(value);
                }),
            }
        }
    }
}

/// A byte string as a double-quoted literal: printable ASCII as is, the rest escaped.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}
