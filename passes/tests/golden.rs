//! Golden tests of every pass: each `tests/golden/<pass>/*.mir` file holds a MIR module,
//! the pipeline to run over each of its functions (`; passes: a, b`), calls to check
//! (`; run: ARGS -> RESULTS`, calling `fn0`), and, after a `; ---- after` line, the
//! module as the pipeline must leave it. The test runs the pipeline (verifying after
//! every pass), compares the printed module with the expected text, and runs every
//! call in the interpreter on the module before and after: both must give the
//! results. `BLESS=1` rewrites the expected text (check the diff).
//!
//! The calls also run once on the input before the pipeline, in one VM: the type
//! profile they leave is what `type_spec` speculates from (no calls: no profile).
//!
//! Arguments and results are integers, floats (with a `.`), `true`, `false` and `nil`.
//! Modules may call the Lua runtime's functions (`rtcall @lua.add` ...), as a realistic
//! frontend's MIR does; the passes themselves know nothing of Lua.

use std::path::{Path, PathBuf};

use lazyjit_ir::interp::{NativeOp, RtEntry, Vm};
use lazyjit_passes::{Context, Profile};
use lazyjit_ir::rt::{Tag, Val};
use lazyjit_ir::{parse_module, print_module, Module};

const AFTER: &str = "; ---- after";

/// The golden files, sorted.
fn golden_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/golden") {
        let dir = dir.expect("entry").path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).expect("pass directory") {
                let f = f.expect("entry").path();
                if f.extension().is_some_and(|e| e == "mir") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    files
}

/// A call to check: arguments and expected results.
struct Run {
    args: Vec<Val>,
    results: Vec<String>,
}

fn parse_val(s: &str) -> Result<Val, String> {
    match s {
        "nil" => Ok(Val::NIL),
        "true" => Ok(Val::bool(true)),
        "false" => Ok(Val::bool(false)),
        _ if s.contains('.') => s.parse::<f64>().map(Val::float).map_err(|e| format!("{s}: {e}")),
        _ => s.parse::<i64>().map(Val::int).map_err(|e| format!("{s}: {e}")),
    }
}

fn show(v: Val) -> String {
    match v.tag() {
        Tag::Nil => "nil".into(),
        Tag::Bool => v.truthy().to_string(),
        Tag::Int => v.int_unchecked().to_string(),
        Tag::Float => format!("{:?}", v.float_unchecked()),
        other => format!("<{}>", other.name()),
    }
}

fn list(s: &str) -> Vec<&str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect()
}

/// Calls `fn0` of `m` with `args` in a fresh VM with the Lua runtime.
fn call(m: Module, args: &[Val]) -> Result<Vec<String>, String> {
    let mut vm = Vm::new(None);
    lazyjit_lua::runtime::install(&mut vm, "golden", &[]);
    let main = vm.load(m, &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    let results = vm.call(main, args).map_err(|e| format!("{e:?}"))?;
    Ok(results.into_iter().map(show).collect())
}

/// Runs the calls on `m` in one VM: the runtime declarations its calls are bound to,
/// and the profile of each function after them (what `type_spec` speculates from).
fn profile(m: &Module, runs: &[Run]) -> Result<(Vec<RtEntry>, Vec<Profile>, Vec<NativeOp>), String> {
    let mut vm = Vm::new(None);
    lazyjit_lua::runtime::install(&mut vm, "golden", &[]);
    let main = vm.load(m.clone(), &lazyjit_lua::runtime::registry()).map_err(|e| e.to_string())?;
    for run in runs {
        vm.call(main, &run.args).map_err(|e| format!("{e:?}"))?;
    }
    let loaded = vm.modules().last().ok_or("no module loaded")?;
    Ok((loaded.runtime.clone(), loaded.protos.iter().map(Profile::of).collect(), loaded.natives.clone()))
}

/// Checks one golden file; returns the text it should have (for `BLESS`).
fn check(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (input, expected) = match text.split_once(&format!("{AFTER}\n")) {
        Some((i, e)) => (i, Some(e)),
        None => (text.as_str(), None),
    };
    let mut passes = None;
    let mut runs = Vec::new();
    for line in input.lines() {
        if let Some(p) = line.strip_prefix("; passes:") {
            passes = Some(list(p).into_iter().map(String::from).collect::<Vec<_>>());
        } else if let Some(r) = line.strip_prefix("; run:") {
            let (args, results) = r.split_once("->").ok_or_else(|| format!("run line without '->': {line}"))?;
            let args = list(args).into_iter().map(parse_val).collect::<Result<Vec<_>, _>>()?;
            runs.push(Run { args, results: list(results).into_iter().map(String::from).collect() });
        }
    }
    let passes = passes.ok_or("no '; passes:' line")?;
    let names: Vec<&str> = passes.iter().map(String::as_str).collect();
    let before = parse_module(input).map_err(|e| format!("input: {e}"))?;
    lazyjit_ir::verify_module(&before).map_err(|e| format!("input does not verify: {e:?}"))?;
    let (runtime, profiles, natives) = profile(&before, &runs)?;
    let mut after = before.clone();
    for i in 0..after.functions.len() {
        let mut f = after.functions[i].clone();
        let cx = Context { module: &after, runtime: &runtime, profile: Some(&profiles[i]), stands_for: &[], copied_from: &[], profiles: &profiles, natives: &natives };
        lazyjit_passes::run_pipeline(&cx, &mut f, &names, true).map_err(|e| e.to_string())?;
        after.functions[i] = f;
    }
    let printed = print_module(&after);
    let blessed = format!("{input}{AFTER}\n{printed}");
    if std::env::var_os("BLESS").is_none() {
        let expected = expected.ok_or("no expected output (run with BLESS=1)")?;
        if expected.trim_end() != printed.trim_end() {
            return Err(format!("the output differs (BLESS=1 rewrites it):\n--- expected\n{expected}\n--- got\n{printed}"));
        }
        // The expected text is a valid module too.
        parse_module(expected).map_err(|e| format!("expected output: {e}"))?;
    }
    for run in &runs {
        for (which, m) in [("before", before.clone()), ("after", after.clone())] {
            let got = call(m, &run.args)?;
            if got != run.results {
                return Err(format!("{which}: fn0({:?}) gave {got:?}, expected {:?}", run.args.iter().map(|&v| show(v)).collect::<Vec<_>>(), run.results));
            }
        }
    }
    Ok(blessed)
}

#[test]
fn every_golden_file_passes() {
    let files = golden_files();
    assert!(!files.is_empty(), "no golden files");
    let mut failures = Vec::new();
    for path in &files {
        match check(path) {
            Ok(blessed) if std::env::var_os("BLESS").is_some() => std::fs::write(path, blessed).expect("bless"),
            Ok(_) => {}
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_registered_pass_has_golden_files() {
    let files = golden_files();
    for pass in lazyjit_passes::PASSES {
        assert!(
            files.iter().any(|f| f.parent().and_then(|d| d.file_name()).is_some_and(|d| d == pass.name)),
            "no golden files for pass '{}'",
            pass.name
        );
    }
}

#[test]
fn unknown_passes_are_named_in_the_error() {
    let m = parse_module("function fn0 \"f\" (params 0) {\nblock0:\n    v0 = iconst 1\n    return\n}\n").expect("parses");
    let mut f = m.functions[0].clone();
    let e = lazyjit_passes::run_pipeline(&Context::new(&m), &mut f, &["dce", "warp"], true).expect_err("unknown pass");
    assert!(e.to_string().contains("unknown pass 'warp'") && e.to_string().contains("dce"), "{e}");
    // Nothing ran: names are checked first.
    assert_eq!(f, m.functions[0]);
}
