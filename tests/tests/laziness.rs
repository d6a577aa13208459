//! Nothing is compiled until it is first called: a program defining 1,000 functions of
//! which it calls 3 compiles at most those 3 and the main chunk.

use lazyjit_tests::{orcrun_in, stat};

#[test]
fn only_called_functions_are_compiled() {
    let mut prog = lazyjit_tests::function_table(1000);
    prog.push_str("print(fs[1](1), fs[500](2), fs[999](3))\n");
    let dir = std::env::temp_dir();
    let stats = dir.join(format!("lazyjit-laziness-{}.json", std::process::id()));
    // The default tier (the JIT).
    let out = orcrun_in(&dir, &["--no-cache", "--stats-json", stats.to_str().unwrap(), "-"], prog.as_bytes());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3\t504\t1005\n", "{}", String::from_utf8_lossy(&out.stderr));
    let json = std::fs::read_to_string(&stats).expect("stats written");
    let _ = std::fs::remove_file(&stats);
    assert_eq!(stat(&json, "functions_defined"), 1001, "{json}");
    let compiled = stat(&json, "functions_compiled");
    assert!(compiled <= 4, "{compiled} functions compiled: {json}");
    assert_eq!(compiled, 4, "main and the three called functions: {json}");
}

#[test]
fn identical_functions_share_their_code() {
    // `a` and `c` have the same code (names and lines aside), `b` not: three calls,
    // two functions compiled (and the main chunk).
    let prog = "local function a(x) return x + 1 end\nlocal function b(x) return x + 2 end\n\nlocal function c(y) return y + 1 end\nprint(a(1), b(1), c(5))\n";
    let out = orcrun_in(&std::env::temp_dir(), &["--no-cache", "--stats-json", "-", "-"], prog.as_bytes());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\t3\t6\n", "{}", String::from_utf8_lossy(&out.stderr));
    let json = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stat(&json, "functions_defined"), 4, "{json}");
    assert_eq!(stat(&json, "functions_shared"), 1, "{json}");
    assert_eq!(stat(&json, "functions_compiled"), 3, "{json}");
}
