//! Nothing is compiled until it is first called: a program defining 1,000 functions of
//! which it calls 3 compiles at most those 3 and the main chunk.

use lazyjit_tests::orcrun_in;

fn stat(json: &str, key: &str) -> u64 {
    let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {json}"));
    json[at + key.len() + 3..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().expect("a number")
}

#[test]
fn only_called_functions_are_compiled() {
    // A table of functions (Lua allows only 200 locals per function).
    let mut prog = String::from("local fs = {}\n");
    for i in 0..1000 {
        prog.push_str(&format!("fs[{i}] = function(x) return x * 2 + {i} end\n"));
    }
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
