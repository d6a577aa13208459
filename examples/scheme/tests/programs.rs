//! The Scheme frontend end to end: every program in `programs/` gives the output
//! recorded from Guile (`programs/*.out`) in the interpreter and under each built-in
//! policy; compilation is lazy, hot code tiers up, failed speculation deoptimizes, the
//! cache serves a second run, errors have positions, and the runner works.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use lazyjit::engine::{TierPolicy, Traces};
use lazyjit::{Jit, Stats};
use lazyjit_scheme::{install, jit_builder, runtime};

fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "scm")).collect();
    out.sort();
    assert!(out.len() >= 8, "the programs are there");
    out
}

/// How a run is set up.
#[derive(Clone)]
enum Mode {
    Interp,
    Policy(&'static str),
    Cached(&'static str, PathBuf),
}

struct Outcome {
    output: String,
    error: Option<String>,
    stats: Stats,
    warnings: Vec<String>,
    traces: Vec<String>,
}

/// Runs `source` in a fresh [`Jit`] on a thread with a large stack.
fn run(source: &str, file: &str, mode: Mode) -> Outcome {
    let (source, file) = (source.to_string(), file.to_string());
    lazyjit::on_large_stack(lazyjit_scheme::STACK_BYTES, move || {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let builder = jit_builder().traces(Traces { tier: true, deopt: true }).trace_sink(move |l| sink.lock().unwrap().push(l.to_string()));
        let builder = match &mode {
            Mode::Interp => builder.interpreter_only(),
            Mode::Policy(p) => builder.policy(TierPolicy::builtin(p).unwrap()).no_cache(),
            Mode::Cached(p, dir) => builder.policy(TierPolicy::builtin(p).unwrap()).cache_dir(dir),
        };
        let mut jit: Jit = builder.build().unwrap();
        install(&mut jit);
        let error = lazyjit_scheme::run(&mut jit, &source, &file).err();
        let output = String::from_utf8(runtime::take_output(jit.vm())).unwrap();
        jit.wait_idle();
        let traces = lines.lock().unwrap().clone();
        Outcome { output, error, stats: jit.stats(), warnings: jit.warnings(), traces }
    })
    .unwrap()
}

const MODES: [Mode; 4] = [Mode::Interp, Mode::Policy("baseline-only"), Mode::Policy("optimize-now"), Mode::Policy("default")];

fn name(mode: &Mode) -> &'static str {
    match mode {
        Mode::Interp => "interpreter",
        Mode::Policy(p) | Mode::Cached(p, _) => p,
    }
}

#[test]
fn every_program_gives_guiles_output_in_every_tier() {
    for path in programs() {
        let source = std::fs::read_to_string(&path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("out")).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        for mode in MODES {
            let o = run(&source, &file, mode.clone());
            assert_eq!(o.error, None, "{file} under {}", name(&mode));
            assert_eq!(o.output, expected, "{file} under {}", name(&mode));
            // optimize-now verifies the MIR after every pass: a pass that breaks it warns.
            assert!(o.warnings.is_empty(), "{file} under {}: {:?}", name(&mode), o.warnings);
        }
    }
}

const LAZY: &str = "
(define (used x) (* x 2))
(define (never-called x) (+ x 1))
(define (also-never) (display \"no\"))
(display (used 21))
";

#[test]
fn functions_are_compiled_at_their_first_call_only() {
    let o = run(LAZY, "lazy.scm", Mode::Policy("baseline-only"));
    assert_eq!(o.output, "42");
    // main, used, never-called, also-never: four lazy stubs, two compiled.
    assert_eq!(o.stats.functions_defined, 4);
    assert_eq!(o.stats.functions_compiled, 2, "{:?}", o.traces);
    assert_eq!(o.stats.compiles_optimized, 0, "baseline-only never tiers up");
    let o = run(LAZY, "lazy.scm", Mode::Interp);
    assert_eq!((o.output.as_str(), o.stats.functions_compiled), ("42", 0));
}

#[test]
fn hot_functions_tier_up_with_speculation() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/fib.scm");
    let o = run(&std::fs::read_to_string(path).unwrap(), "fib.scm", Mode::Policy("default"));
    assert!(o.output.ends_with("fib(27) = 196418\n"));
    assert!(o.stats.compiles_optimized >= 1, "{:?}", o.stats);
    let fib = o.traces.iter().find(|l| l.contains("'fib'") && l.contains("optimized code")).expect("fib is optimized");
    assert!(fib.contains("hot after"), "{fib}");
    assert_eq!(o.stats.deopts, 0, "integer fib never fails a guard");
}

#[test]
fn failed_speculation_deoptimizes_and_the_answer_stays_right() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/speculation.scm");
    let source = std::fs::read_to_string(&path).unwrap();
    let expected = std::fs::read_to_string(path.with_extension("out")).unwrap();
    let o = run(&source, "speculation.scm", Mode::Policy("optimize-now"));
    assert_eq!(o.output, expected);
    assert!(o.stats.deopts >= 1, "{:?}", o.stats);
    assert!(o.traces.iter().any(|l| l.starts_with("[deopt]")), "{:?}", o.traces);
}

#[test]
fn loops_in_the_main_program_enter_optimized_code_on_the_stack() {
    let o = run("(define s 0) (do ((i 0 (+ i 1))) ((= i 200000)) (set! s (+ s i))) (display s)", "osr.scm", Mode::Policy("default"));
    assert_eq!(o.output, "19999900000");
    // The main program runs once: its loop gets optimized code entered mid-loop.
    assert!(o.stats.compiles_optimized >= 1, "{:?}", o.stats);
    assert!(o.traces.iter().any(|l| l.contains("main chunk") && l.contains("optimized code, entered at block")), "{:?}", o.traces);
}

#[test]
fn the_cache_serves_a_second_run() {
    let dir = std::env::temp_dir().join(format!("lzscheme-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/closures.scm");
    let source = std::fs::read_to_string(&path).unwrap();
    let expected = std::fs::read_to_string(path.with_extension("out")).unwrap();
    let first = run(&source, "closures.scm", Mode::Cached("baseline-only", dir.clone()));
    assert_eq!(first.output, expected);
    assert!(first.stats.cache_misses > 0 && first.stats.cache_hits == 0, "{:?}", first.stats);
    let second = run(&source, "closures.scm", Mode::Cached("baseline-only", dir.clone()));
    assert_eq!(second.output, expected);
    assert_eq!(second.stats.functions_compiled, 0, "{:?}", second.stats);
    assert_eq!(second.stats.cache_hits, first.stats.cache_misses);
    // An edit compiles only what changed.
    let edited = source.replace("(define (adder n) (lambda (x) (+ x n)))", "(define (adder n) (lambda (x) (+ n x 0)))");
    let third = run(&edited, "closures.scm", Mode::Cached("baseline-only", dir.clone()));
    assert_eq!(third.output, expected);
    assert!(third.stats.functions_compiled >= 1 && third.stats.functions_compiled < first.stats.functions_compiled, "{:?}", third.stats);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_have_positions_in_every_tier() {
    let cases = [
        ("(display 1)\n(display (undefined-thing 2))", "e.scm:2: unbound variable 'undefined-thing'"),
        ("(define (f x) (car x))\n(f 5)", "e.scm:1: wrong type argument to car: 5"),
        ("(display (+ 1 \"a\"))", "e.scm:1: wrong type argument to +: a"),
        ("(define v (make-vector 3 0))\n\n(vector-ref v 3)", "e.scm:3: vector-ref: index 3 out of range"),
        ("(define x 5)\n(x 1)", "e.scm:2: attempt to apply a non-procedure (global 'x'): 5"),
        ("(error \"bad thing:\" 42)", "e.scm:1: bad thing: 42"),
        ("(quotient 1 0)", "e.scm:1: division by zero in quotient"),
        ("(set! nothing 1)", "e.scm:1: unbound variable 'nothing'"),
    ];
    for (source, message) in cases {
        for mode in MODES {
            let o = run(source, "e.scm", mode.clone());
            assert_eq!(o.error.as_deref(), Some(message), "{source:?} under {}", name(&mode));
        }
    }
}

#[test]
fn every_built_in_lowers_to_verified_mir() {
    for p in lazyjit_scheme::syntax::PRIMS {
        let mut counts = vec![p.min];
        if p.max != p.min {
            counts.push(if p.max == usize::MAX { p.min + 3 } else { p.max });
        }
        for n in counts {
            let args = vec!["x"; n].join(" ");
            let source = format!("(define (f x) ({} {args}))\n(define g {})", p.name, p.name);
            let module = lazyjit_scheme::compile(&source, "b.scm").unwrap_or_else(|e| panic!("{}: {e}", p.name));
            lazyjit::mir::verify_module(&module).unwrap_or_else(|e| panic!("{} with {n} arguments: {e:?}", p.name));
        }
    }
}

#[test]
fn syntax_errors_have_lines_and_columns() {
    let cases = [
        ("(display 1", "e.scm:1:1: error: unclosed '('"),
        ("(define)", "e.scm:1:1: error: bad define: (define name value) or (define (name params...) body...)"),
        ("(define (car x) x)", "e.scm:1:1: error: 'car' is built in and cannot be defined again"),
        ("(car 1 2)", "e.scm:1:1: error: 'car' takes 1 arguments, not 2"),
        ("\n  (if)", "e.scm:2:3: error: bad if: (if test then [else])"),
        ("(let ((x)) x)", "e.scm:1:7: error: a binding is (name value)"),
        ("(lambda (x))", "e.scm:1:1: error: lambda without a body"),
        ("()", "e.scm:1:1: error: empty combination '()' (write '() for the empty list)"),
    ];
    for (source, message) in cases {
        let e = lazyjit_scheme::compile(source, "e.scm").unwrap_err();
        assert_eq!(e.to_string(), message, "{source:?}");
    }
}

#[test]
fn garbage_is_collected_while_lists_stay_alive() {
    let source = "
(define keep (list 1 2 3))
(define (garbage n) (if (= n 0) '() (cons n (garbage (- n 1)))))
(do ((i 0 (+ i 1))) ((= i 3000)) (garbage 100))
(display keep)";
    for mode in MODES {
        let o = run(source, "gc.scm", mode.clone());
        assert_eq!(o.output, "(1 2 3)", "{}", name(&mode));
        assert!(o.stats.collections >= 1, "{}: {:?}", name(&mode), o.stats);
    }
}

#[test]
fn the_runner_runs_a_program_and_reports_stats() {
    let exe = env!("CARGO_BIN_EXE_lzscheme");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/fib.scm");
    let out = Command::new(exe).args(["--no-cache", "--stats"]).arg(&program).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), std::fs::read_to_string(program.with_extension("out")).unwrap());
    let stats = String::from_utf8(out.stderr).unwrap();
    // main, fib, fib-iterative (never called) and show-fib: three compiled, lazily.
    assert!(stats.contains("\"functions\": 4") && stats.contains("\"compiled\": 3"), "{stats}");
    let optimized: u64 = stats.split("\"optimized\": ").nth(1).and_then(|s| s.split(',').next()).unwrap().parse().unwrap();
    assert!(optimized >= 1, "{stats}");

    let bad = Command::new(exe).arg("--nope").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let missing = Command::new(exe).arg("/nonexistent.scm").output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("lzscheme: cannot read /nonexistent.scm"));
}
