//! `orc-inspect`: golden text and JSON reports of the pass pipeline on a `.mir` and a
//! `.lua` input (`tests/inspect/`; `BLESS=1` rewrites the expectations), the LLVM and
//! assembly sections, and its errors.

use std::path::{Path, PathBuf};
use std::process::Output;

use lazyjit_tests::{first_difference, orcrun, run_in, workspace};

fn inspect_tool() -> PathBuf {
    orcrun().with_file_name("orc-inspect")
}

fn run(args: &[&str]) -> Output {
    run_in(&workspace(), &inspect_tool(), args, b"")
}

/// `text` with the times a run measures replaced by `T` (`(0.12 ms)`, `"ms": 0.12`).
fn without_times(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match (line.rfind(" ("), line.ends_with(" ms)")) {
            (Some(at), true) if line.starts_with("-- ") => format!("{} (T ms)", &line[..at]),
            _ => match line.find("\"ms\": ") {
                Some(at) => format!("{}\"ms\": T{}", &line[..at], if line.ends_with(',') { "," } else { "" }),
                None => line.to_string(),
            },
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Compares `orc-inspect ARGS` with the expectation in `expected` (rewritten with
/// `BLESS=1`).
fn golden(args: &[&str], expected: &str) {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let got = without_times(&String::from_utf8_lossy(&out.stdout));
    let path = Path::new("tests/inspect").join(expected);
    let full = workspace().join(&path);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&full, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()));
    assert!(want == got, "{}: {}", path.display(), first_difference(want.as_bytes(), got.as_bytes()));
}

const MIR_ARGS: &[&str] = &["--passes", "const_fold,inline,dce", "--no-llvm", "tests/inspect/fold.mir"];
const LUA_ARGS: &[&str] = &["--fn", "sum", "--no-llvm", "tests/inspect/sum.lua", "--profile-run"];

#[test]
fn mir_input_text() {
    golden(MIR_ARGS, "fold.txt");
}

#[test]
fn mir_input_json() {
    golden(&[&["--format", "json"], MIR_ARGS].concat(), "fold.json");
}

#[test]
fn lua_input_with_a_profile_run_text() {
    golden(LUA_ARGS, "sum.txt");
}

#[test]
fn lua_input_with_a_profile_run_json() {
    golden(&[&["--format", "json"], LUA_ARGS].concat(), "sum.json");
}

#[test]
fn without_a_profile_speculation_does_nothing() {
    let out = run(&["--fn", "sum", "--no-llvm", "tests/inspect/sum.lua"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("without a profile"), "{text}");
    // No site has seen anything: nothing is speculated (the loops, never run as far as
    // the profile knows, are left to deoptimize).
    let line = text.lines().find(|l| l.starts_with("-- type_spec")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("calls speculated 0, array accesses speculated 0"), "{line}");
    let profiled = run(LUA_ARGS);
    let profiled = String::from_utf8_lossy(&profiled.stdout);
    let line = profiled.lines().find(|l| l.starts_with("-- type_spec")).unwrap_or_else(|| panic!("{profiled}"));
    assert!(line.contains("calls speculated 1, array accesses speculated 1"), "{line}");
}

#[test]
fn llvm_sections_follow_the_mir() {
    let out = run(&["--fn", "sum", "tests/inspect/sum.lua", "--profile-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} missing"));
    let (mir, before, after, asm) = (at("-- MIR after the pipeline"), at("-- LLVM IR before LLVM's optimizer"), at("-- LLVM IR after LLVM's optimizer"), at("-- assembly"));
    assert!(mir < before && before < after && after < asm);
    assert!(text[before..after].contains("define "), "no LLVM function");
    assert!(text[asm..].contains(".text") && text[asm..].contains("ret"), "no assembly");
}

#[test]
fn bad_requests_are_reported() {
    for (args, want) in [
        (&["--passes", "nonesuch", "tests/inspect/fold.mir"][..], "unknown pass 'nonesuch'"),
        (&["--fn", "nonesuch", "tests/inspect/fold.mir"], "no function named 'nonesuch'"),
        (&["tests/inspect/missing.lua"], "cannot open tests/inspect/missing.lua"),
        (&["--format", "xml", "tests/inspect/fold.mir"], "unknown format 'xml'"),
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(want), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
