//! Random programs for differential testing: deterministic (a seed gives one program),
//! terminating (every loop has a constant bound, a function calls only functions
//! defined before it), and in the Lua subset the frontend accepts. They mix integer
//! and float arithmetic near the edges (wrapping, division by zero, NaN), strings that
//! coerce and strings that do not, tables and their array parts, closures with shared
//! upvalues, metatables swapped mid-run, `pcall` and `error`, and loops in which a
//! value's type changes after the optimizing tier has speculated on it.
//!
//! Three things the generator avoids because the reference, Debian's lua5.4 (5.4.4),
//! gets them wrong or leaves them unspecified: a comparison as a table key
//! (miscompiled: `t[a ~= b]` with `t` an upvalue raises "attempt to index a nil
//! value"); an integer `//` or `%` by zero (the error names the line of an earlier
//! instruction: the divisor is always a nonzero constant); and `#` of a table with
//! holes (any border is right; `t` keeps its eight items, `u` takes the other writes).
//!
//! A program is kept as statements ([`Stmt`]) so that a failing one can be minimized by
//! removing statements ([`Program::without`]).

use std::fmt::Write;

/// SplitMix64: small, fast, and the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// A statement: one line, or a block of statements between a head and `end`.
#[derive(Clone, Debug)]
pub enum Stmt {
    Line(String),
    /// `head` (e.g. `for j = 1, 3 do`), the body, then `tail` (`end`, or `else` + more).
    Block { head: String, body: Vec<Stmt>, tail: Vec<Stmt> },
}

/// A generated program: its statements at the top level of the chunk.
#[derive(Clone, Debug)]
pub struct Program {
    pub seed: u64,
    pub body: Vec<Stmt>,
}

/// What every program starts with: a `show` that prints any value without addresses,
/// tables, metatables and a closure counter to work on.
const PRELUDE: &str = r#"local function show(v)
  local k = type(v)
  if k == "table" or k == "function" then return k end
  return tostring(v)
end
-- Tables print by name, not by address (addresses differ between runs).
local named = {__tostring = function(v) return "tbl" end}
local t = setmetatable({1, 2, 3, 4, 5, 6, 7, 8}, named)
local u = setmetatable({}, named)
local zero = 0
local s = "ab"
local n = 0
local function count() n = n + 1 return n end
local mt1 = {__tostring = named.__tostring, __add = function(a, b) return 100 end, __index = function(o, k) return k end, __len = function(o) return 7 end, __lt = function(a, b) return true end, __concat = function(a, b) return "cat" end}
local mt2 = {__tostring = named.__tostring, __index = {v = 5, w = 2.5}, __unm = function(a) return -1 end, __eq = function(a, b) return true end}
local obj = setmetatable({}, mt1)
local other = setmetatable({}, mt2)
"#;

impl Program {
    /// The program as Lua source.
    pub fn source(&self) -> String {
        let mut out = format!("-- generated program, seed {}\n{PRELUDE}", self.seed);
        for s in &self.body {
            print_stmt(&mut out, s, 0);
        }
        out
    }

    /// How many statements it has, blocks and their contents included.
    pub fn size(&self) -> usize {
        fn count(body: &[Stmt]) -> usize {
            body.iter()
                .map(|s| match s {
                    Stmt::Line(_) => 1,
                    Stmt::Block { body, tail, .. } => 1 + count(body) + count(tail),
                })
                .sum()
        }
        count(&self.body)
    }

    /// The program without its `k`th statement (in the order [`Program::size`] counts),
    /// or with a block replaced by its body when `flatten` (None if `k` is no such
    /// statement).
    pub fn without(&self, k: usize, flatten: bool) -> Option<Program> {
        /// Some(whether the change applied) once the `k`th statement is reached.
        fn go(body: &mut Vec<Stmt>, k: &mut usize, flatten: bool) -> Option<bool> {
            for i in 0..body.len() {
                if *k == 0 {
                    return Some(match (&body[i], flatten) {
                        (Stmt::Line(_), true) => false,
                        (Stmt::Block { body: inner, .. }, true) => {
                            let inner = inner.clone();
                            body.splice(i..=i, inner);
                            true
                        }
                        (_, false) => {
                            body.remove(i);
                            true
                        }
                    });
                }
                *k -= 1;
                if let Stmt::Block { body: inner, tail, .. } = &mut body[i] {
                    if let Some(done) = go(inner, k, flatten).or_else(|| go(tail, k, flatten)) {
                        return Some(done);
                    }
                }
            }
            None
        }
        let mut p = self.clone();
        let mut k = k;
        (go(&mut p.body, &mut k, flatten) == Some(true)).then_some(p)
    }
}

fn print_stmt(out: &mut String, s: &Stmt, depth: usize) {
    let pad = "  ".repeat(depth);
    match s {
        Stmt::Line(l) => {
            let _ = writeln!(out, "{pad}{l}");
        }
        Stmt::Block { head, body, tail } => {
            let _ = writeln!(out, "{pad}{head}");
            for s in body {
                print_stmt(out, s, depth + 1);
            }
            if tail.is_empty() {
                let _ = writeln!(out, "{pad}end");
            } else {
                let _ = writeln!(out, "{pad}else");
                for s in tail {
                    print_stmt(out, s, depth + 1);
                }
                let _ = writeln!(out, "{pad}end");
            }
        }
    }
}

/// The generator's state: the names in scope and the functions defined so far.
struct Gen {
    rng: Rng,
    /// Locals in scope, innermost last.
    vars: Vec<String>,
    /// Functions callable from here (defined before), with their parameter counts.
    funcs: Vec<(String, usize)>,
    fresh: usize,
    /// Statement nesting, to keep blocks shallow.
    depth: usize,
}

impl Gen {
    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn int_literal(&mut self) -> String {
        match self.rng.below(10) {
            0 => "math.maxinteger".into(),
            1 => "math.mininteger".into(),
            2 => format!("{}", (self.rng.next() >> 1) as i64 % 1_000_000_007),
            3 => "0".into(),
            _ => format!("{}", self.rng.below(20) as i64 - 4),
        }
    }

    fn float_literal(&mut self) -> String {
        self.rng.pick(&["0.5", "2.0", "-1.25", "1e15", "3.0e-2", "0.1", "-0.0", "1e308", "255.0", "7.75"]).to_string()
    }

    fn string_literal(&mut self) -> String {
        self.rng.pick(&["\"3\"", "\"2.5\"", "\"x\"", "\"\"", "\"0x10\"", "\" 7 \"", "\"1e2\"", "\"-4\""]).to_string()
    }

    /// A variable or literal.
    fn leaf(&mut self) -> String {
        match self.rng.below(12) {
            0..=4 if !self.vars.is_empty() => {
                let i = self.rng.below(self.vars.len());
                self.vars[i].clone()
            }
            0..=2 => self.int_literal(),
            3..=5 => self.int_literal(),
            6 => self.float_literal(),
            7 => self.string_literal(),
            8 => self.rng.pick(&["true", "false", "nil", "n", "s", "#t", "obj", "other", "t"]).to_string(),
            9 => format!("t[{}]", self.rng.below(10)),
            10 => self.rng.pick(&["obj.v", "other.v", "other.w", "#obj", "t.k"]).to_string(),
            _ => "count()".into(),
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 || self.rng.chance(30) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(20) {
            0..=6 => {
                let op = self.rng.pick(&["+", "-", "*", "/", "//", "%", "^", "+", "-", "*"]);
                let a = self.expr(d);
                // No integer `//` or `%` by zero: see the module's documentation.
                let b = match op {
                    "//" | "%" => self.rng.pick(&["3", "-2", "0.5", "7"]).to_string(),
                    _ => self.expr(d),
                };
                format!("({a} {op} {b})")
            }
            7..=8 => {
                let op = self.rng.pick(&["<", "<=", "==", "~=", ">", ">="]);
                format!("({} {op} {})", self.expr(d), self.expr(d))
            }
            9 => format!("({} .. {})", self.expr(d), self.expr(d)),
            10 => {
                let op = self.rng.pick(&["&", "|", "~", "<<", ">>"]);
                format!("({} {op} {})", self.expr(d), self.expr(d))
            }
            11 => {
                let op = self.rng.pick(&["and", "or"]);
                format!("({} {op} {})", self.expr(d), self.expr(d))
            }
            12 => {
                let op = self.rng.pick(&["-", "not ", "~", "#"]);
                format!("({op}{})", self.expr(d))
            }
            13 if !self.funcs.is_empty() => {
                let (f, arity) = self.funcs[self.rng.below(self.funcs.len())].clone();
                let args: Vec<String> = (0..arity).map(|_| self.expr(d)).collect();
                format!("{f}({})", args.join(", "))
            }
            14 => {
                let f = self.rng.pick(&["math.floor", "math.abs", "math.tointeger", "math.type", "type", "tostring", "tonumber", "math.ceil", "string.len"]);
                format!("{f}({})", self.expr(d))
            }
            15 => {
                let f = self.rng.pick(&["math.max", "math.min", "math.fmod", "select", "rawequal", "string.rep"]);
                match f {
                    "select" => format!("select({}, {}, {})", self.rng.below(3) + 1, self.expr(d), self.expr(d)),
                    "string.rep" => format!("string.rep({}, {})", self.expr(d), self.rng.below(4)),
                    _ => format!("{f}({}, {})", self.expr(d), self.expr(d)),
                }
            }
            16 => {
                let f = self.rng.pick(&["%d", "%g", "%.3f", "%s", "%5.1f", "%x", "%q"]);
                format!("string.format(\"{f}\", {})", self.expr(d))
            }
            17 => format!("{}[{}]", self.rng.pick(&["t", "u"]), self.key(d)),
            18 => format!("(function(a) return {} end)({})", self.with_names(&["a"], |g| g.expr(d)), self.expr(d)),
            _ => format!("({} and {} or {})", self.expr(d), self.expr(d), self.expr(d)),
        }
    }

    /// A variable in scope (they are meant to hold numbers, until a type changes).
    fn var(&mut self) -> Option<String> {
        (!self.vars.is_empty()).then(|| self.vars[self.rng.below(self.vars.len())].clone())
    }

    /// An expression meant to be a number: it is one unless a variable's type changed
    /// (or, now and then, a string that coerces or an edge such as `0x10` or `1e308`).
    fn num(&mut self, depth: usize) -> String {
        if depth == 0 || self.rng.chance(35) {
            return match self.rng.below(10) {
                0..=4 => self.var().unwrap_or_else(|| "n".into()),
                5 | 6 => format!("{}", self.rng.below(12) as i64 - 2),
                7 => self.float_literal(),
                8 => self.rng.pick(&["#t", "n", "t[1]", "t[8]", "count()", "zero", "math.pi"]).to_string(),
                _ => match self.rng.below(4) {
                    0 | 1 => self.int_literal(),
                    2 => self.rng.pick(&["\"3\"", "\"2.5\"", "\"0x10\"", "\" 7 \""]).to_string(),
                    // Rarely anything at all (most likely an error).
                    _ if self.rng.chance(10) => self.expr(1),
                    _ => self.float_literal(),
                },
            };
        }
        let d = depth - 1;
        match self.rng.below(16) {
            0..=6 => {
                let op = self.rng.pick(&["+", "-", "*", "+", "-", "*", "/", "^"]);
                format!("({} {op} {})", self.num(d), self.num(d))
            }
            7 => {
                let op = self.rng.pick(&["//", "%"]);
                let k = self.rng.pick(&["3", "2", "-5", "0.5", "7", "0.0"]);
                format!("({} {op} {k})", self.num(d))
            }
            8 => {
                let op = self.rng.pick(&["&", "|", "~", "<<", ">>"]);
                format!("(math.floor({}) {op} {})", self.num(d), self.rng.below(8))
            }
            9 if !self.funcs.is_empty() => {
                let (f, arity) = self.funcs[self.rng.below(self.funcs.len())].clone();
                let args: Vec<String> = (0..arity).map(|_| self.num(d)).collect();
                format!("{f}({})", args.join(", "))
            }
            10 => {
                let f = self.rng.pick(&["math.floor", "math.abs", "math.ceil", "-"]);
                format!("{f}({})", self.num(d))
            }
            11 => {
                let f = self.rng.pick(&["math.max", "math.min"]);
                format!("{f}({}, {})", self.num(d), self.num(d))
            }
            12 => format!("({} and {} or {})", self.cond(d), self.num(d), self.num(d)),
            13 => format!("t[{}]", self.rng.below(8) + 1),
            14 => format!("(#{} + {})", self.text(d), self.num(d)),
            _ => format!("(function(a) return {} end)({})", self.with_names(&["a"], |g| g.num(d)), self.num(d)),
        }
    }

    /// A condition: a comparison of numbers, mostly.
    fn cond(&mut self, depth: usize) -> String {
        let d = depth.saturating_sub(1);
        match self.rng.below(8) {
            0..=4 => {
                let op = self.rng.pick(&["<", "<=", "==", "~=", ">", ">="]);
                format!("({} {op} {})", self.num(d), self.num(d))
            }
            5 => format!("(not {})", self.cond(d)),
            6 => format!("({} {} {})", self.cond(d), self.rng.pick(&["and", "or"]), self.cond(d)),
            _ => self.num(d),
        }
    }

    /// An expression meant to be a string.
    fn text(&mut self, depth: usize) -> String {
        let d = depth.saturating_sub(1);
        match self.rng.below(7) {
            0 => format!("tostring({})", self.num(d)),
            1 => {
                let f = self.rng.pick(&["%g", "%.3f", "%5.1f", "%d", "%s", "%x", "%q"]);
                format!("string.format(\"{f}\", {})", self.num(d))
            }
            2 => format!("({} .. {})", self.num(d), self.text(d)),
            3 => format!("string.rep({}, {})", self.text(d), self.rng.below(3)),
            4 => "s".into(),
            5 => format!("math.type({})", self.num(d)),
            _ => self.string_literal(),
        }
    }

    /// Any expression: a number mostly, now and then anything at all.
    fn any(&mut self, depth: usize) -> String {
        match self.rng.below(20) {
            0 => self.expr(depth),
            1..=3 => self.text(depth),
            4 | 5 => self.cond(depth),
            _ => self.num(depth),
        }
    }

    /// A table key: no comparison or logical operator at its top. Debian's lua5.4
    /// (5.4.4) miscompiles a key whose value comes from a jump (`t[a ~= b]` with `t` an
    /// upvalue raises "attempt to index a nil value"), and it is the reference.
    fn key(&mut self, depth: usize) -> String {
        match self.rng.below(4) {
            0 if depth > 0 => {
                let op = self.rng.pick(&["+", "-", "*", ".."]);
                format!("({} {op} {})", self.expr(depth - 1), self.expr(depth - 1))
            }
            1 if depth > 0 => format!("math.floor({})", self.expr(depth - 1)),
            _ => self.leaf(),
        }
    }

    /// What `make` generates with `names` (an inner function's parameters) in scope.
    fn with_names(&mut self, names: &[&str], make: impl FnOnce(&mut Gen) -> String) -> String {
        let before = self.vars.len();
        self.vars.extend(names.iter().map(|s| s.to_string()));
        let e = make(self);
        self.vars.truncate(before);
        e
    }

    fn block(&mut self, len: usize) -> Vec<Stmt> {
        let before = self.vars.len();
        self.depth += 1;
        let body = (0..len).map(|_| self.stmt()).collect();
        self.depth -= 1;
        self.vars.truncate(before);
        body
    }

    fn stmt(&mut self) -> Stmt {
        let nested = self.depth < 3;
        match self.rng.below(20) {
            0..=3 => {
                let name = self.name("l");
                let e = self.num(3);
                self.vars.push(name.clone());
                Stmt::Line(format!("local {name} = {e}"))
            }
            4..=6 => match self.var() {
                Some(v) => Stmt::Line(format!("{v} = {}", self.num(3))),
                None => Stmt::Line(format!("print(show({}))", self.any(3))),
            },
            // `t` keeps its eight items (its length has one border); `u` takes any key.
            7 => match self.rng.below(3) {
                0 => Stmt::Line(format!("t[{}] = {} or 0", self.rng.below(8) + 1, self.num(2))),
                _ => Stmt::Line(format!("u[{}] = {}", self.key(2), self.any(2))),
            },
            8 => Stmt::Line(format!("print(show({}), show({}))", self.any(3), self.any(2))),
            9 if nested => {
                let head = format!("if {} then", self.cond(2));
                let len = self.rng.below(3) + 1;
                let body = self.block(len);
                let tail = if self.rng.chance(50) { self.block(1) } else { Vec::new() };
                Stmt::Block { head, body, tail }
            }
            10 if nested => {
                let var = self.name("j");
                let from = self.rng.pick(&["1", "1", "1.5", "-2", "0", "3"]);
                let to = self.rng.below(6);
                let step = self.rng.pick(&["", "", "", ", 2", ", -1", ", 0.5", ", 0"]);
                let head = format!("for {var} = {from}, {to}{step} do");
                self.vars.push(var);
                let len = self.rng.below(3) + 1;
                let body = self.block(len);
                self.vars.pop();
                Stmt::Block { head, body, tail: Vec::new() }
            }
            11 if nested => {
                let var = self.name("w");
                let bound = self.rng.below(4) + 1;
                let len = self.rng.below(2) + 1;
                let mut body = vec![Stmt::Line(format!("{var} = {var} + 1"))];
                body.extend(self.block(len));
                // The counter is declared on the line before, so the loop stays bounded
                // even when the minimizer removes the increment (it then runs no time).
                Stmt::Block { head: format!("local {var} = {bound} while {var} < {bound} + {bound} do"), body, tail: Vec::new() }
            }
            12 => Stmt::Line(format!("setmetatable(obj, {})", self.rng.pick(&["mt1", "mt2", "named"]))),
            13 => {
                let ok = self.name("ok");
                let (f, arity) = match self.funcs.is_empty() {
                    true => ("tostring".to_string(), 1),
                    false => self.funcs[self.rng.below(self.funcs.len())].clone(),
                };
                let args: Vec<String> = (0..arity).map(|_| self.any(2)).collect();
                let r = self.name("r");
                Stmt::Line(format!("local {ok}, {r} = pcall({f}, {}) print({ok}, show({r}))", args.join(", ")))
            }
            14 if nested && self.rng.chance(30) => {
                let head = format!("if {} then", self.cond(2));
                let e = self.any(1);
                Stmt::Block { head, body: vec![Stmt::Line(format!("error({e})"))], tail: Vec::new() }
            }
            15 => Stmt::Line(format!("obj.v = {}", self.any(2))),
            16 => Stmt::Line(format!("mt{}.{} = {}", self.rng.below(2) + 1, self.rng.pick(&["__add", "__index", "__lt", "__len"]), self.rng.pick(&["nil", "function(a, b) return 3 end", "{v = 9}", "mt2.__index"]))),
            17 => Stmt::Line(format!("s = string.sub(s .. {}, -12)", self.text(1))),
            _ => match self.var() {
                Some(v) => Stmt::Line(format!("{v} = {v} + {}", self.num(2))),
                None => Stmt::Line(format!("n = n + {}", self.num(2))),
            },
        }
    }

    /// `local function fK(a, b) ... return e end`.
    fn function(&mut self) -> Stmt {
        let name = self.name("f");
        let arity = self.rng.below(3) + 1;
        let params: Vec<String> = (0..arity).map(|i| ["a", "b", "c"][i].to_string()).collect();
        let outer = std::mem::replace(&mut self.vars, params.clone());
        let len = self.rng.below(5) + 1;
        let mut body = self.block(len);
        self.vars = params.clone();
        body.push(Stmt::Line(format!("return {}", self.num(3))));
        self.vars = outer;
        self.funcs.push((name.clone(), arity));
        Stmt::Block { head: format!("local function {name}({})", params.join(", ")), body, tail: Vec::new() }
    }
}

/// The program of `seed`: a few functions, then a main loop that calls them with
/// values whose types change part-way (after the optimizing tier may have speculated
/// on the first ones), printing what they return or the error they raise.
pub fn program(seed: u64) -> Program {
    let mut g = Gen { rng: Rng::new(seed), vars: Vec::new(), funcs: Vec::new(), fresh: 0, depth: 0 };
    let mut body = Vec::new();
    for _ in 0..g.rng.below(4) + 2 {
        body.push(g.function());
    }
    // The main loop: long enough for the default policy's hot threshold now and then.
    let iterations = match g.rng.below(6) {
        0 => 1200,
        1 => 300,
        _ => 40,
    };
    let switch = g.rng.below(iterations) + 1;
    let before = g.rng.pick(&["i", "i * 2", "i / 2", "t[i % 8 + 1]", "i - 20", "tostring(i)", "i * 0.25"]).to_string();
    let after = g.rng.pick(&["0.5 * i", "\"7\"", "nil", "i // 0.0", "math.maxinteger", "obj", "-i", "setmetatable({}, named)"]).to_string();
    let (f, arity) = g.funcs.last().cloned().expect("a function");
    g.vars = vec!["i".into(), "x".into()];
    let extra: Vec<String> = (1..arity).map(|_| g.num(2)).collect();
    let mut args = vec!["x".to_string()];
    args.extend(extra);
    let every = [1, 7, 50][g.rng.below(3)];
    let inner = vec![
        Stmt::Line(format!("local x = {before}")),
        Stmt::Block { head: format!("if i > {switch} then"), body: vec![Stmt::Line(format!("x = {after}"))], tail: Vec::new() },
        Stmt::Line(format!("local ok, r = pcall({f}, {})", args.join(", "))),
        Stmt::Block { head: format!("if i % {every} == 0 or not ok then"), body: vec![Stmt::Line("print(i, ok, show(r))".into())], tail: Vec::new() },
    ];
    body.push(Stmt::Block { head: format!("for i = 1, {iterations} do"), body: inner, tail: Vec::new() });
    body.push(Stmt::Line("print(\"end\", n, show(s), #t, show(obj.v))".into()));
    Program { seed, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_program() {
        assert_eq!(program(7).source(), program(7).source());
        assert_ne!(program(7).source(), program(8).source());
    }

    #[test]
    fn statements_can_be_removed_and_blocks_flattened() {
        let p = Program {
            seed: 0,
            body: vec![
                Stmt::Line("a()".into()),
                Stmt::Block { head: "do".into(), body: vec![Stmt::Line("b()".into()), Stmt::Line("c()".into())], tail: Vec::new() },
                Stmt::Line("d()".into()),
            ],
        };
        assert_eq!(p.size(), 5);
        let text = |p: &Program| p.source().lines().skip(PRELUDE.lines().count() + 1).collect::<Vec<_>>().join(" ");
        assert_eq!(text(&p.without(0, false).unwrap()), "do   b()   c() end d()");
        assert_eq!(text(&p.without(1, false).unwrap()), "a() d()");
        assert_eq!(text(&p.without(1, true).unwrap()), "a() b() c() d()");
        assert_eq!(text(&p.without(3, false).unwrap()), "a() do   b() end d()");
        assert_eq!(text(&p.without(4, false).unwrap()), "a() do   b()   c() end");
        assert!(p.without(5, false).is_none());
        assert!(p.without(0, true).is_none());
    }
}
