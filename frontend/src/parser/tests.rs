//! Unit tests of the parser: precedence, positions, scoping and upvalue resolution.

use super::parse;
use crate::ast::{BinOp, Chunk, Expr, ExprKind, LocalId, Name, Stat, StatKind, UnOp, UpvalSource};

fn ok(src: &str) -> Chunk {
    match parse(src.as_bytes(), "t.lua") {
        Ok(chunk) => chunk,
        Err(e) => panic!("{src:?} should parse:\n{e}"),
    }
}

fn err(src: &str) -> String {
    match parse(src.as_bytes(), "t.lua") {
        Ok(_) => panic!("{src:?} should not parse"),
        Err(e) => format!("{}:{}: {}", e.line, e.col, e.message),
    }
}

/// The expression of `return <expr>` as a compact s-expression.
fn expr_of(src: &str) -> String {
    let chunk = ok(&format!("return {src}"));
    match chunk.body.block.as_slice() {
        [Stat { kind: StatKind::Return(exprs), .. }] if exprs.len() == 1 => sexp(&exprs[0]),
        _ => panic!("not a single return"),
    }
}

fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
        ExprKind::Name(Name::Global(n)) => n.clone(),
        ExprKind::Name(other) => format!("{other:?}"),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", binop(*op), sexp(lhs), sexp(rhs)),
        ExprKind::Unary { op, operand } => format!("({} {})", unop(*op), sexp(operand)),
        ExprKind::Paren(inner) => format!("[{}]", sexp(inner)),
        ExprKind::Index { obj, key } => format!("{}[{}]", sexp(obj), sexp(key)),
        ExprKind::Call { func, args } => format!("{}({})", sexp(func), list(args)),
        ExprKind::MethodCall { obj, name, args } => format!("{}:{name}({})", sexp(obj), list(args)),
        other => format!("{other:?}"),
    }
}

fn list(args: &[Expr]) -> String {
    args.iter().map(sexp).collect::<Vec<_>>().join(", ")
}

fn binop(op: BinOp) -> &'static str {
    use BinOp::*;
    match op {
        Add => "+",
        Sub => "-",
        Mul => "*",
        Div => "/",
        IDiv => "//",
        Mod => "%",
        Pow => "^",
        Concat => "..",
        Eq => "==",
        Ne => "~=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        And => "and",
        Or => "or",
        BAnd => "&",
        BOr => "|",
        BXor => "~",
        Shl => "<<",
        Shr => ">>",
    }
}

fn unop(op: UnOp) -> &'static str {
    match op {
        UnOp::Neg => "-",
        UnOp::Not => "not",
        UnOp::Len => "#",
        UnOp::BNot => "~",
    }
}

#[test]
fn arithmetic_precedence_and_associativity() {
    assert_eq!(expr_of("1 + 2 * 3"), "(+ 1 (* 2 3))");
    assert_eq!(expr_of("1 - 2 - 3"), "(- (- 1 2) 3)");
    assert_eq!(expr_of("a / b // c % d"), "(% (// (/ a b) c) d)");
    assert_eq!(expr_of("2 ^ 3 ^ 2"), "(^ 2 (^ 3 2))");
    assert_eq!(expr_of("a .. b .. c"), "(.. a (.. b c))");
    assert_eq!(expr_of("a + b .. c + d"), "(.. (+ a b) (+ c d))");
}

#[test]
fn unary_binds_tighter_than_all_but_pow() {
    assert_eq!(expr_of("-2 ^ 2"), "(- (^ 2 2))");
    assert_eq!(expr_of("2 ^ -3"), "(^ 2 (- 3))");
    assert_eq!(expr_of("-a * b"), "(* (- a) b)");
    assert_eq!(expr_of("not a == b"), "(== (not a) b)");
    assert_eq!(expr_of("#t + 1"), "(+ (# t) 1)");
    assert_eq!(expr_of("- - ~ x"), "(- (- (~ x)))");
    assert_eq!(expr_of("2 ^ - 3 ^ 2"), "(^ 2 (- (^ 3 2)))");
}

#[test]
fn comparison_bitwise_and_logic_levels() {
    assert_eq!(expr_of("a or b and c"), "(or a (and b c))");
    assert_eq!(expr_of("a and b or c and d"), "(or (and a b) (and c d))");
    assert_eq!(expr_of("a < b == c"), "(== (< a b) c)");
    assert_eq!(expr_of("a | b ~ c & d << e"), "(| a (~ b (& c (<< d e))))");
    assert_eq!(expr_of("a == b | c"), "(== a (| b c))");
    assert_eq!(expr_of("a << b .. c"), "(<< a (.. b c))");
    assert_eq!(expr_of("a >> 1 >> 2"), "(>> (>> a 1) 2)");
    assert_eq!(expr_of("1 ~= 2 or 3 >= 4 and 5 <= 6 and 7 > 8"), "(or (~= 1 2) (and (and (>= 3 4) (<= 5 6)) (> 7 8)))");
}

#[test]
fn suffixes_and_parens() {
    assert_eq!(expr_of("a.b[c]:m(1)(2)"), "a[\"b\"][c]:m(1)(2)");
    assert_eq!(expr_of("f{1}"), "f(Table([Positional(Expr { pos: Pos { line: 1, col: 10 }, kind: Int(1) })]))");
    assert_eq!(expr_of("f'x' 'y'"), "f(\"x\")(\"y\")");
    assert_eq!(expr_of("(f())"), "[f()]");
    assert_eq!(expr_of("(a + b) * c"), "(* [(+ a b)] c)");
}

#[test]
fn positions_follow_lua_error_lines() {
    let chunk = ok("local x = a\n+\nb\nlocal y = t\n.k\nlocal z = f\n(1)");
    let init = |i: usize| match &chunk.body.block[i].kind {
        StatKind::Local { exprs, .. } => exprs[0].pos,
        _ => unreachable!(),
    };
    assert_eq!((init(0).line, init(0).col), (2, 1), "binary: the operator");
    assert_eq!((init(1).line, init(1).col), (5, 2), "index: the key name");
    assert_eq!((init(2).line, init(2).col), (6, 11), "call: the start of the expression");
}

#[test]
fn local_initialiser_sees_outer_variable() {
    let chunk = ok("local x = 1\nlocal x = x\nreturn x");
    let StatKind::Local { names, exprs } = &chunk.body.block[1].kind else { panic!() };
    assert_eq!(names, &[LocalId(1)]);
    assert_eq!(exprs[0].kind, ExprKind::Name(Name::Local(LocalId(0))));
    let StatKind::Return(ret) = &chunk.body.block[2].kind else { panic!() };
    assert_eq!(ret[0].kind, ExprKind::Name(Name::Local(LocalId(1))));
}

#[test]
fn globals_before_declaration_and_after_scope() {
    let chunk = ok("print(x)\ndo local x = 1 end\nprint(x)");
    for stat in [&chunk.body.block[0], &chunk.body.block[2]] {
        let StatKind::Call(Expr { kind: ExprKind::Call { args, .. }, .. }) = &stat.kind else { panic!() };
        assert_eq!(args[0].kind, ExprKind::Name(Name::Global("x".into())));
    }
}

#[test]
fn repeat_condition_sees_body_locals() {
    let chunk = ok("repeat local done = true until done\nreturn done");
    let StatKind::Repeat { cond, .. } = &chunk.body.block[0].kind else { panic!() };
    assert_eq!(cond.kind, ExprKind::Name(Name::Local(LocalId(0))));
    let StatKind::Return(ret) = &chunk.body.block[1].kind else { panic!() };
    assert_eq!(ret[0].kind, ExprKind::Name(Name::Global("done".into())));
}

#[test]
fn for_variables_are_scoped_to_the_body() {
    let chunk = ok("local i = 0\nfor i = i, 2 do x = i end\nfor k, v in pairs(k) do y = v end");
    let StatKind::NumericFor { var, start, body, .. } = &chunk.body.block[1].kind else { panic!() };
    assert_eq!((*var, &start.kind), (LocalId(1), &ExprKind::Name(Name::Local(LocalId(0)))));
    let StatKind::Assign { exprs, .. } = &body[0].kind else { panic!() };
    assert_eq!(exprs[0].kind, ExprKind::Name(Name::Local(LocalId(1))));
    let StatKind::GenericFor { vars, exprs, .. } = &chunk.body.block[2].kind else { panic!() };
    assert_eq!(vars, &[LocalId(2), LocalId(3)]);
    assert_eq!(sexp(&exprs[0]), "pairs(k)");
}

#[test]
fn local_function_is_in_scope_in_its_body() {
    let chunk = ok("local function f() return f end");
    let StatKind::LocalFunction { name, func } = &chunk.body.block[0].kind else { panic!() };
    assert_eq!(*name, LocalId(0));
    assert_eq!(func.name, "f");
    assert_eq!(func.upvalues.len(), 1);
    assert_eq!(func.upvalues[0].source, UpvalSource::Local(LocalId(0)));
    assert!(chunk.locals[0].captured);
    // A plain `local f = function` is not: there `f` is global inside.
    let chunk = ok("local f = function() return f end");
    let StatKind::Local { exprs, .. } = &chunk.body.block[0].kind else { panic!() };
    let ExprKind::Function(func) = &exprs[0].kind else { panic!() };
    assert!(func.upvalues.is_empty());
    assert!(!chunk.locals[0].captured);
}

#[test]
fn upvalues_through_two_levels() {
    let src = "local a, b = 1, 2\nlocal function f()\n  local c = 3\n  return function() return b, c, a, b end\nend";
    let chunk = ok(src);
    let StatKind::LocalFunction { func: f, .. } = &chunk.body.block[1].kind else { panic!() };
    // f only passes b and a through, in the order the inner function first used them.
    let f_ups: Vec<_> = f.upvalues.iter().map(|u| (u.name.as_str(), u.local, u.source)).collect();
    assert_eq!(
        f_ups,
        vec![("b", LocalId(1), UpvalSource::Local(LocalId(1))), ("a", LocalId(0), UpvalSource::Local(LocalId(0)))]
    );
    let StatKind::Return(ret) = &f.block[1].kind else { panic!() };
    let ExprKind::Function(g) = &ret[0].kind else { panic!() };
    let g_ups: Vec<_> = g.upvalues.iter().map(|u| (u.name.as_str(), u.local, u.source)).collect();
    assert_eq!(
        g_ups,
        vec![
            ("b", LocalId(1), UpvalSource::Upvalue(0)),
            ("c", LocalId(3), UpvalSource::Local(LocalId(3))),
            ("a", LocalId(0), UpvalSource::Upvalue(1)),
        ]
    );
    let StatKind::Return(names) = &g.block[0].kind else { panic!() };
    let resolved: Vec<_> = names.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        resolved,
        [0, 1, 2, 0].map(|i| ExprKind::Name(Name::Upvalue(i))).to_vec(),
        "each variable appears once in the list"
    );
    assert!(chunk.locals.iter().all(|l| l.captured == (l.name != "f")));
}

#[test]
fn methods_get_self() {
    let chunk = ok("function a.b.c:m(x) return self, x end");
    let StatKind::Function { target, func } = &chunk.body.block[0].kind else { panic!() };
    assert_eq!(sexp(target), "a[\"b\"][\"c\"][\"m\"]");
    assert_eq!(func.name, "a.b.c:m");
    assert_eq!(func.params, vec![LocalId(0), LocalId(1)]);
    assert_eq!(chunk.locals[0].name, "self");
    let chunk = ok("function a.b() end local function f() end return function() end");
    let names: Vec<_> = chunk
        .body
        .block
        .iter()
        .map(|s| match &s.kind {
            StatKind::Function { func, .. } | StatKind::LocalFunction { func, .. } => func.name.clone(),
            StatKind::Return(e) => match &e[0].kind {
                ExprKind::Function(func) => func.name.clone(),
                _ => unreachable!(),
            },
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(names, ["a.b", "f", "anon"]);
    assert_eq!(chunk.body.name, "main");
}

#[test]
fn varargs() {
    ok("local t = {...}");
    ok("function f(a, ...) return ... end");
    assert_eq!(err("function f(a) return ... end"), "1:22: cannot use '...' outside a vararg function near '...'");
    assert_eq!(
        err("function f(...) return function() return ... end end"),
        "1:42: cannot use '...' outside a vararg function near '...'"
    );
}

#[test]
fn const_locals() {
    assert_eq!(err("local x <const> = 1\nx = 2"), "2:1: attempt to assign to const variable 'x'");
    assert_eq!(
        err("local x <const> = 1\nlocal function f() x = 2 end"),
        "2:20: attempt to assign to const variable 'x'"
    );
    assert_eq!(
        err("local x <const> = 1\nfunction g() return function() y, x = 1, 2 end end"),
        "2:35: attempt to assign to const variable 'x'"
    );
    assert_eq!(err("local x <const> = 1\nfunction x() end"), "2:10: attempt to assign to const variable 'x'");
    ok("local x <const> = 1\nlocal x = 2\nx = 3");
    ok("local t <const> = {}\nt.k = 1\nfunction t.f() end");
}

#[test]
fn syntax_errors() {
    assert_eq!(err("x = = 1"), "1:5: unexpected symbol near '='");
    assert_eq!(err("x"), "1:2: syntax error near <eof>");
    assert_eq!(err("f() = 1"), "1:5: syntax error near '='");
    assert_eq!(err("local function 1"), "1:16: <name> expected near '1'");
    assert_eq!(err("for i 1"), "1:7: '=' or 'in' expected near '1'");
    assert_eq!(err("return 1 print(2)"), "1:10: <eof> expected near 'print'");
    assert_eq!(
        err("local function f()\n  if x then\nend"),
        "3:4: 'end' expected (to close 'function' at line 1) near <eof>"
    );
    assert_eq!(err("f(a"), "1:4: ')' expected near <eof>");
    assert_eq!(err("a.b:c x"), "1:7: function arguments expected near 'x'");
    assert_eq!(err("break"), "1:1: break outside loop at line 1");
    assert_eq!(err("while true do local f = function() break end end"), "1:36: break outside loop at line 1");
    assert_eq!(err("goto done"), "1:1: 'goto' is not supported");
    assert_eq!(err("goto 5"), "1:6: <name> expected near '5'");
    assert_eq!(err("::5"), "1:3: <name> expected near '5'");
    assert_eq!(err("::done::"), "1:1: labels are not supported");
    assert_eq!(err("local x <close> = nil"), "1:10: '<close>' is not supported");
    assert_eq!(err("local x <foo> = nil"), "1:10: unknown attribute 'foo'");
}

#[test]
fn errors_at_a_string_spanning_lines_are_on_its_last_line() {
    assert_eq!(err("x = 1 [[a\nb]]"), "2:4: unexpected symbol near '[[a\nb]]'");
    assert_eq!(err("if x then\n\"a\\z\n  b\" end"), "3:5: unexpected symbol near '\"ab\"'");
}

#[test]
fn break_errors_come_after_syntax_errors() {
    assert_eq!(err("break\nx = = 1"), "2:5: unexpected symbol near '='");
    assert_eq!(err("do break end\nx = 1"), "1:4: break outside loop at line 1");
}

#[test]
fn break_inside_loops() {
    ok("while true do break end repeat break until true for i = 1, 2 do break end for k in next, {} do break end");
    ok("while true do do if x then break end end end");
}

#[test]
fn nesting_is_limited() {
    let deep = format!("x = {}1{}", "(".repeat(300), ")".repeat(300));
    assert!(err(&deep).ends_with("chunk has too many syntax levels near '('"));
    ok(&format!("x = {}1{}", "(".repeat(150), ")".repeat(150)));
    let chain = format!("x = 1{}", " + 1".repeat(2000));
    assert!(err(&chain).contains("chunk has too many syntax levels"));
    ok(&format!("x = 1{}", " + 1".repeat(500)));
    ok(&format!("x = a{}", ".b".repeat(500)));
}

#[test]
fn local_limit() {
    let names: Vec<String> = (0..201).map(|i| format!("a{i}")).collect();
    let src = format!("local {}", names.join(", "));
    assert_eq!(err(&src), "1:1101: too many local variables (limit is 200) in main function near <eof>");
    ok(&format!("local {}", names[..200].join(", ")));
}

#[test]
fn deepest_accepted_nesting_fits_any_caller_stack() {
    // Just under the limit for the caller's stack, and just under the real limit
    // (counting the statement levels around the nesting).
    let cases: Vec<String> = [60, 190].into_iter().flat_map(nested_inputs).collect();
    // The caller's thread is small: the parser must only rely on a modest stack.
    let worker = std::thread::Builder::new().stack_size(1 << 20).spawn(move || {
        for src in &cases {
            if let Err(e) = parse(src.as_bytes(), "t.lua") {
                panic!("{}...: {e}", &src[..20]);
            }
        }
    });
    worker.expect("spawns").join().expect("parses without overflowing");
}

/// Inputs nesting each kind of construct about `n` levels deep.
fn nested_inputs(n: usize) -> [String; 10] {
    [
        format!("x = {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("x = {}1", "- ".repeat(n)),
        format!("x = {}{}", "{".repeat(n), "}".repeat(n)),
        format!("x = 1{}", " .. 1".repeat(n)),
        format!("{}{}", "do ".repeat(n), "end ".repeat(n)),
        format!("x = {}1{}", "function() return ".repeat(n / 2), " end".repeat(n / 2)),
        format!("x = {}1{}", "f(".repeat(n), ")".repeat(n)),
        format!("x = {}1{}", "t[".repeat(n), "]".repeat(n)),
        format!("{}{}", "if x then ".repeat(n), "end ".repeat(n)),
        format!("{}{}", "while x do ".repeat(n), "end ".repeat(n)),
    ]
}
