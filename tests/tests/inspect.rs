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
    // Nothing is known: nothing is speculated, and no loop is taken for one that never
    // ran; no site has a profile note.
    let line = text.lines().find(|l| l.starts_with("-- changed nothing:")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("type_spec"), "{line}");
    assert!(!text.contains(";; "), "{text}");
    let profiled = run(LUA_ARGS);
    let profiled = String::from_utf8_lossy(&profiled.stdout);
    let line = profiled.lines().find(|l| l.starts_with("-- type_spec")).unwrap_or_else(|| panic!("{profiled}"));
    assert!(line.contains("calls speculated 1, array accesses speculated 1"), "{line}");
    // What the profile saw is written next to the sites and loop headers.
    assert!(profiled.contains("site0  ; line 5 [local \"t\", -]  ;; site0 saw table\n"), "{profiled}");
    assert!(profiled.lines().any(|l| l.ends_with(") loop:  ;; loop went round 100 times")), "{profiled}");
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

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    // Piped (as here): no escape sequences, unless --color always.
    let plain = run(LUA_ARGS);
    assert!(!plain.stdout.contains(&0x1b), "colour in piped output");
    let coloured = run(&[&["--color", "always"], LUA_ARGS].concat());
    let text = String::from_utf8_lossy(&coloured.stdout);
    assert!(text.contains("\x1b[1;33m== sum (line 3)\x1b[0m"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("\x1b[32m+") && l.ends_with("\x1b[0m")), "added diff lines are green: {text}");
    assert!(text.lines().any(|l| l.starts_with("\x1b[31m-") && l.ends_with("\x1b[0m")), "removed diff lines are red: {text}");
    assert!(text.contains("\x1b[35m  ;; site0 saw table\x1b[0m"), "profile notes: {text}");
    // Without the escapes it is the plain report.
    let stripped = strip_ansi(&text);
    assert_eq!(without_times(&stripped), without_times(&String::from_utf8_lossy(&plain.stdout)));
    let out = run(&[&["--color", "sometimes"], LUA_ARGS].concat());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown colour choice 'sometimes'"));
}

/// `text` without ANSI escape sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn html_is_one_self_contained_page() {
    let dir = std::env::temp_dir().join(format!("lazyjit-inspect-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("sum.html");
    let out = run(&["--format", "html", "-o", page.to_str().unwrap(), "--fn", "sum", "tests/inspect/sum.lua", "--profile-run"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\""), "no policy forbidding loads");
    for external in ["src=\"http", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(external), "loads something: {external}");
    }
    // The function list, the pass list, a side-by-side diff with marked words, the
    // profile notes and the collapsed sections.
    assert!(html.contains("<li data-name=\"sum\" data-target=\"f0\"><a href=\"#f0\">sum</a>"), "{html}");
    assert!(html.contains("<li class=\"unchanged\">inline"), "{html}");
    assert!(html.contains("<details class=\"pass\" id=\"f0-p0\" open>"), "{html}");
    assert!(html.contains("<table class=\"sbs\">") && html.contains("<td class=\"add\">") && html.contains("<mark>"), "{html}");
    assert!(html.contains("<span class=\"note\">  ;; site3 saw table, int</span>"), "{html}");
    for section in ["MIR after the pipeline", "LLVM IR before LLVM&#39;s optimizer", "LLVM IR after LLVM&#39;s optimizer", "assembly"] {
        assert!(html.contains(&format!("<details>\n<summary>{section}</summary>")), "{section} is not collapsible");
    }
    // Text is escaped: the MIR's `-> val` and the LLVM IR's quoted names.
    assert!(html.contains("-&gt; val") && !html.contains("-> val"), "unescaped MIR");
    assert!(html.contains("&quot;sum&quot;"), "unescaped quotes");
}

#[test]
fn the_baseline_tier_runs_no_passes() {
    let out = run(&["--tier", "baseline", "--fn", "sum", "tests/inspect/sum.lua"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("# tests/inspect/sum.lua: passes (none) at LLVM O0"), "{text}");
    assert!(text.contains("-- LLVM IR after LLVM's optimizer"), "{text}");
    let out = run(&["--tier", "baseline", "--passes", "dce", "tests/inspect/sum.lua"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("excludes --passes"));
}

#[test]
fn the_profile_run_is_the_policys_and_shows_where_speculation_failed() {
    // Under optimize-now `add` is optimized for integers after its first call; the
    // float deoptimizes it, and the site is marked not to speculate on again.
    let out = run(&["--policy", "optimize-now", "--fn", "add", "--no-llvm", "tests/inspect/deopt.lua", "--profile-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("site0  ; line 3 [local \"a\", local \"b\"]  ;; site0 saw int|float, int, deoptimized before\n"), "{text}");
    assert!(text.contains("-- changed nothing: type_spec,"), "type_spec speculated on a failed site: {text}");
    // Never optimized, never deoptimized.
    let out = run(&["--policy", "baseline-only", "--fn", "add", "--no-llvm", "tests/inspect/deopt.lua", "--profile-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(";; site0 saw int|float, int\n"), "{text}");
}

#[test]
fn passes_after_an_inlined_call_verify_against_the_generic_blocks() {
    // Shown one pass at a time, the function is still verified against the generic
    // function's blocks, where its snapshots resume (inlining splits a block).
    let out = run(&["--fn", "row", "--no-llvm", "tests/inspect/inlined.lua", "--profile-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-- inline: calls inlined 1"), "{text}");
    assert!(text.contains("-- MIR after the pipeline") && !text.contains("does not verify"), "{text}");
}
