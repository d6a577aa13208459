//! Hostile input through `orcrun`: nesting past the parser's limit, invalid UTF-8 in
//! source, programs that never end (`--timeout`) and programs that exhaust memory each
//! end in a clear message (with a position where there is one) and an ordinary exit
//! status, in every tier: never a panic, an abort or a hang.
//!
//! Deep recursion, `tostring` of every kind of value, integer division by zero and
//! strings too large for Lua are Lua programs in `tests/lua` (`hostile_recursion.lua`,
//! `tostring_kinds.lua`, `division_by_zero.lua`, `huge_strings.lua`), checked against
//! `lua5.4` in every tier by the oracle test.

use std::path::{Path, PathBuf};
use std::process::Output;

use lazyjit_tests::{orcrun_in, tier_args, which, TIERS};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `file` (in `dir`) in `tier` with `extra` options first.
fn run_tier(dir: &Path, tier: &str, extra: &[&str], file: &str) -> Output {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.extend(tier_args(tier, &[file]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    orcrun_in(dir, &args, b"")
}

/// The status of a run that ended by itself: not killed by a signal (an abort, a
/// crash) and not a Rust panic (101).
fn ordinary_exit(out: &Output) -> i32 {
    let code = out.status.code().unwrap_or_else(|| panic!("killed by a signal: {}", text(&out.stderr)));
    assert_ne!(code, 101, "a panic: {}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("internal error"), "{}", text(&out.stderr));
    code
}

#[test]
fn nesting_past_the_parsers_limit_is_an_error_with_a_position() {
    let dir = fresh_dir("nesting");
    let deep = 100_000;
    let cases: Vec<(&str, String)> = vec![
        ("parens", format!("local x = {}1{}\nprint(x)\n", "(".repeat(deep), ")".repeat(deep))),
        ("tables", format!("local t = {}{}\n", "{".repeat(deep), "}".repeat(deep))),
        ("concat", format!("local x = 'a'{}\n", " .. 'a'".repeat(deep))),
        ("unary", format!("local x = {}1\n", "- ".repeat(deep))),
        ("blocks", format!("{}{}\n", "do ".repeat(deep), "end ".repeat(deep))),
        ("functions", format!("{}{}\n", "local f = function() ".repeat(deep), "end ".repeat(deep))),
        ("calls", format!("local f = print\nf{}\n", "(f".repeat(deep) + &")".repeat(deep) + ")")),
        ("fields", format!("local t = {{}}\nlocal x = t{}\n", ".a".repeat(deep))),
        ("sums", format!("local x = 1{}\n", " + 1".repeat(deep))),
        ("ifs", format!("{}{}\n", "if true then ".repeat(deep), "end ".repeat(deep))),
    ];
    for (name, source) in cases {
        let file = format!("{name}.lua");
        std::fs::write(dir.join(&file), source).unwrap();
        for tier in ["interp", "policy:default"] {
            let out = run_tier(&dir, tier, &[], &file);
            assert_eq!(ordinary_exit(&out), 1, "{name} in {tier}");
            let err = text(&out.stderr);
            let line = if name == "calls" || name == "fields" { 2 } else { 1 };
            assert!(err.contains(&format!("{file}:{line}:")), "{name}: no position in {err}");
            assert!(err.contains("chunk has too many syntax levels"), "{name}: {err}");
            assert!(out.stdout.is_empty(), "{name}: ran anyway");
        }
    }
    // Within the limit, nesting runs (and gives lua5.4's answers).
    let source = format!(
        "print({}1{})\nprint(#{}{}, 'a'{})\n",
        "(".repeat(150),
        ")".repeat(150),
        "{".repeat(150),
        "}".repeat(150),
        " .. 'a'".repeat(150)
    );
    std::fs::write(dir.join("within.lua"), source).unwrap();
    let out = run_tier(&dir, "policy:default", &[], "within.lua");
    assert_eq!(ordinary_exit(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("1\n1\t{}\n", "a".repeat(151)));
}

#[test]
fn invalid_utf8_in_source() {
    let dir = fresh_dir("utf8");
    // Invalid UTF-8 inside strings and comments is just bytes, as in Lua.
    std::fs::write(dir.join("bytes.lua"), b"print('caf\xc3\xa9', #'\xff\xfe', '\xc0\xaf' == '\\xc0\\xaf') -- \x80\x81\xff\n").unwrap();
    // Outside them it is an unexpected symbol, named by its byte value.
    std::fs::write(dir.join("name.lua"), b"local ok = 1\nlocal x\xff = 1\n").unwrap();
    std::fs::write(dir.join("bom.lua"), b"print(1)\n\xef\xbb\xbfprint(2)\n").unwrap();
    std::fs::write(dir.join("lone.lua"), b"\x80").unwrap();
    for tier in TIERS {
        let out = run_tier(&dir, tier, &[], "bytes.lua");
        assert_eq!(ordinary_exit(&out), 0, "{tier}: {}", text(&out.stderr));
        assert_eq!(out.stdout, b"caf\xc3\xa9\t2\ttrue\n", "{tier}");
    }
    for (file, want) in [
        ("name.lua", "name.lua:2:8: error: unexpected symbol near '<\\255>'"),
        ("bom.lua", "bom.lua:2:1: error: unexpected symbol near '<\\239>'"),
        ("lone.lua", "lone.lua:1:1: error: unexpected symbol near '<\\128>'"),
    ] {
        let out = run_tier(&dir, "policy:default", &[], file);
        assert_eq!(ordinary_exit(&out), 1, "{file}");
        assert!(text(&out.stderr).contains(want), "{file}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{file}");
    }
}

#[test]
fn a_time_limit_ends_programs_that_never_end_in_every_tier() {
    let dir = fresh_dir("timeout");
    let programs = [
        // A loop with nothing in it (optimized code has no call to poll in).
        ("spin.lua", "print('before')\nlocal n = 0\nwhile true do n = n + 1 end\n"),
        // Nested loops that only read an array: the inner one's trips are bounded by the
        // array (no test at all), the outer one's back edge tests the interrupt flag alone.
        ("sum.lua", "print('before')\nlocal t = {1, 2, 3}\nlocal s = 0\nwhile true do for i = 1, #t do s = s + t[i] end end\n"),
        // Tail calls without end: no loop at all.
        ("tail.lua", "print('before')\nlocal function f(n) return f(n + 1) end\nf(1)\n"),
        // Allocating, with output still in the buffer; pcall does not catch the limit.
        ("alloc.lua", "io.write('before ')\nprint(pcall(function()\n  local t = {}\n  local i = 0\n  repeat i = i + 1; t[i % 10 + 1] = i .. '' until false\nend))\n"),
        // Mutual recursion that overflows and starts again, forever.
        ("again.lua", "print('before')\nlocal function f(n) return f(n + 1) + 1 end\nwhile true do pcall(f, 1) end\n"),
    ];
    for (file, source) in programs {
        std::fs::write(dir.join(file), source).unwrap();
    }
    for tier in TIERS {
        for (file, _) in programs {
            let out = run_tier(&dir, tier, &["--timeout", "0.5", "--no-cache"], file);
            assert_eq!(ordinary_exit(&out), 124, "{file} in {tier}: {}", text(&out.stderr));
            assert!(text(&out.stderr).contains("time limit of 0.5 s exceeded"), "{file} in {tier}: {}", text(&out.stderr));
            assert!(text(&out.stdout).starts_with("before"), "{file} in {tier}: output lost: {:?}", text(&out.stdout));
            assert!(!text(&out.stdout).contains("false"), "{file} in {tier}: pcall caught the limit");
        }
    }
    // A program that ends in time is not affected, and os.exit's status is its own.
    std::fs::write(dir.join("quick.lua"), "print('done')\nos.exit(3)\n").unwrap();
    let out = run_tier(&dir, "policy:default", &["--timeout", "30"], "quick.lua");
    assert_eq!((ordinary_exit(&out), text(&out.stdout)), (3, "done\n".to_string()), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    for bad in ["0", "-1", "soon", "inf"] {
        let out = orcrun_in(&dir, &["--timeout", bad, "quick.lua"], b"");
        assert_eq!(ordinary_exit(&out), 1);
        assert!(text(&out.stderr).contains("--timeout needs a positive number of seconds"), "{}", text(&out.stderr));
    }
}

#[test]
fn running_out_of_memory_is_a_lua_error() {
    // The process's address space is limited to 4 GB (prlimit), so that building
    // strings of gigabytes fails in the allocator: each failure is Lua's "not enough
    // memory" error, caught by pcall, and the program goes on (lua5.4 does the same).
    // (Address space, not memory: about 2.2 GB of it are reservations before the
    // program runs, mimalloc's first arena and the VM thread's stack among them, and
    // blocks of a megabyte or more are mapped apart from them.)
    let Some(prlimit) = which("prlimit") else { panic!("prlimit (util-linux) is not installed") };
    let dir = fresh_dir("memory");
    let source = "local s = string.rep('x', 1 << 29)\n\
        print(#s)\n\
        print(pcall(function() local t = {} for i = 1, 64 do t[i] = s .. i end return #t end))\n\
        print(pcall(string.rep, s, 3))\n\
        print(pcall(function() return s .. s .. s .. s .. s .. s end))\n\
        print(pcall(function() local t = {} for i = 1, 64 do t[i] = s:upper() end end))\n\
        print(pcall(table.concat, { s, s, s, s, s, s }))\n\
        print('still running')\n\
        local u = s .. s .. s .. s .. s .. s\n";
    std::fs::write(dir.join("memory.lua"), source).unwrap();
    let orcrun = lazyjit_tests::orcrun();
    for tier in ["interp", "policy:default", "policy:optimize-now"] {
        let mut args = vec!["--as=4000000000".to_string(), orcrun.to_string_lossy().into_owned(), "--no-cache".into()];
        args.extend(tier_args(tier, &["memory.lua"]));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lazyjit_tests::run_in(&dir, &prlimit, &args, b"");
        assert_eq!(ordinary_exit(&out), 1, "{tier}: {}", text(&out.stderr));
        let mut want = String::from("536870912\n");
        for _ in 0..5 {
            want.push_str("false\tnot enough memory\n");
        }
        want.push_str("still running\n");
        assert_eq!(text(&out.stdout), want, "{tier}: {}", text(&out.stderr));
        // Uncaught, it ends the program as any error does, without a position.
        assert!(text(&out.stderr).starts_with("orcrun: not enough memory\n"), "{tier}: {}", text(&out.stderr));
    }
}
