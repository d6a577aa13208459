//! `orcrun`'s interactive mode (`orcrun -i`), driven through a pipe: a session's
//! transcript is `lua5.4 -i`'s in every tier; definitions entered again compile
//! nothing, a changed one compiles alone; a script runs before the first prompt.

use std::path::{Path, PathBuf};
use std::process::Output;

use lazyjit_tests::{first_difference, orcrun_in, run_in, stat, which, workspace};

/// A fresh directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("repl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything after the first line (the banner, which names the interpreter).
fn after_banner(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
    &bytes[start..]
}

/// Error messages without their tracebacks (which differ where `lua5.4` reports tail
/// calls: an expression entered is a `return` of it).
fn messages(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with('\t') && *l != "stack traceback:")
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn transcript_matches_lua_in_every_tier() {
    let lua = which("lua5.4").expect("lua5.4 is not installed (./x test installs it)");
    let dir = workspace().join("tests/repl");
    let session = std::fs::read(dir.join("session.txt")).unwrap();
    let want = run_in(&dir, &lua, &["-i"], &session);
    assert_eq!(want.status.code(), Some(3), "the session ends with os.exit(3)");
    for tier in [&["--tier", "interp"][..], &["--tier", "baseline"], &["--tier", "eager"], &["--policy", "default"], &["--policy", "optimize-now"]] {
        let got = orcrun_in(&dir, &[tier, &["-i"]].concat(), &session);
        let (w, g) = (after_banner(&want.stdout), after_banner(&got.stdout));
        assert!(w == g, "{tier:?} stdout: {}", first_difference(w, g));
        assert_eq!(messages(&got.stderr), messages(&want.stderr), "{tier:?} stderr");
        assert_eq!(got.status.code(), Some(3), "{tier:?}");
    }
}

/// The statistics JSON objects a session printed (`--stats-json -`): one per input,
/// then the session's.
fn entry_stats(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.starts_with('{')).map(str::to_string).collect()
}

/// The sum of `key` over `entries`.
fn sum(entries: &[String], key: &str) -> u64 {
    entries.iter().map(|e| stat(e, key)).sum()
}

#[test]
fn reentered_definitions_compile_nothing_and_a_change_compiles_alone() {
    let dir = fresh_dir("reenter");
    let cache = dir.join("cache");
    let defs: Vec<String> = (1..=50).map(|i| format!("function f{i}(x) return x * {i} + {i} end")).collect();
    let call = "local s = 0 for i = 1, 50 do s = s + _G['f' .. i](i) end print(s)".to_string();
    let mut inputs = defs.clone();
    inputs.push(call.clone());
    inputs.extend(defs);
    inputs.push(call.clone());
    inputs.push("function f7(x) return x * 7 - 7 end".into());
    inputs.push(call);
    let session = inputs.join("\n") + "\n";
    let run = || {
        let args = ["--cache-dir", cache.to_str().unwrap(), "--stats-json", "-", "-i"];
        let out = orcrun_in(&dir, &args, session.as_bytes());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed: Vec<String> =
            String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('>') && !l.starts_with("orcrun")).map(str::to_string).collect();
        // sum of i*i + i over 1..=50, then with f7 giving 7*7-7 instead of 7*7+7.
        assert_eq!(printed, ["44200", "44200", "44186"]);
        let stats = entry_stats(&out);
        assert_eq!(stats.len(), inputs.len() + 1, "one per input and the session's");
        stats
    };

    let first = run();
    // Defining compiles nothing (nothing is called); the 50 definitions' chunks have
    // the same code (a closure stored in a global), compiled once at the first.
    let (define, call, redefine, call_again, change, call_changed) =
        (&first[..50], &first[50..51], &first[51..101], &first[101..102], &first[102..103], &first[103..104]);
    assert_eq!(sum(define, "functions_compiled"), 1);
    assert_eq!(sum(define, "functions_shared"), 49);
    // The call compiles the 50 functions and its own chunk.
    assert_eq!(sum(call, "functions_compiled"), 51);
    // Entered again unchanged: every function and chunk shares the code of its first
    // definition; nothing is compiled, before or after the call.
    assert_eq!(sum(redefine, "functions_compiled"), 0);
    assert_eq!(sum(redefine, "functions_shared"), 100);
    assert_eq!(sum(call_again, "functions_compiled"), 0);
    // Changed: the new f7 alone is compiled, at its call.
    assert_eq!(sum(change, "functions_compiled"), 0);
    assert_eq!(sum(call_changed, "functions_compiled"), 1);
    assert_eq!(stat(&first[104], "functions_compiled"), 53);
    assert_eq!(stat(&first[104], "cache_misses"), 53);

    // A second session with the same cache: the code of every function comes from it.
    let second = run();
    assert_eq!(stat(&second[104], "functions_compiled"), 0);
    assert_eq!(stat(&second[104], "cache_hits"), 53);
}

#[test]
fn a_script_runs_before_the_first_prompt() {
    let dir = fresh_dir("script");
    let script = dir.join("setup.lua");
    std::fs::write(&script, "print('setup', ...)\nfunction double(x) return 2 * x end\n").unwrap();
    let out = orcrun_in(&dir, &["-i", "setup.lua", "a", "b"], b"double(21)\nprint(arg[0], arg[2])\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(after_banner(&out.stdout)).into_owned();
    assert_eq!(text, "setup\ta\tb\n> double(21)\n42\n> print(arg[0], arg[2])\nsetup.lua\tb\n> \n");

    // An error in the script ends the session before it starts, as in lua5.4.
    std::fs::write(&script, "error('no setup')\n").unwrap();
    let out = orcrun_in(&dir, &["-i", "setup.lua"], b"print('unreached')\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("unreached"));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("setup.lua:1: no setup\n"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn input_ending_inside_a_statement_reports_it() {
    let out = orcrun_in(Path::new("."), &["-i"], b"x = 1\nfor i = 1, 3 do\n  x = x + i\n");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "stdin:2: 'end' expected (to close 'for' at line 1) near <eof>\n");
}

#[test]
fn without_a_file_a_pipe_is_the_program() {
    // Like lua5.4: no script and no -i, standard input not a terminal.
    let out = orcrun_in(Path::new("."), &[], b"print(1 + 1)\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
}

#[test]
fn options_that_cannot_go_with_i_are_refused() {
    for (args, why) in [(&["-i", "-"][..], "cannot run a script from there too"), (&["--emit", "mir", "-i"], "--emit does not work with -i")] {
        let out = orcrun_in(Path::new("."), args, b"");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
