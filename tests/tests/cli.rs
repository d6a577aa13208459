//! `orcrun`'s command line: ways to give a program, arguments, errors and exit codes.

use lazyjit_tests::{strs, tier_args, orcrun_in, workspace, TIERS};

fn run(args: &[&str], stdin: &str) -> (String, String, Option<i32>) {
    let dir = std::env::temp_dir();
    let out = orcrun_in(&dir, args, stdin.as_bytes());
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code())
}

/// A temporary program file, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_temp(name: &str, text: &str) -> TempFile {
    let path = std::env::temp_dir().join(format!("lazyjit-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp file");
    TempFile(path)
}

#[test]
fn runs_a_string() {
    assert_eq!(run(&["-e", "print(1 + 2, 10 / 4)"], ""), ("3\t2.5\n".into(), String::new(), Some(0)));
}

#[test]
fn runs_stdin_with_arguments() {
    let (out, _, code) = run(&["-", "a", "b"], "print(select('#', ...), ...) print(arg[1], arg[2])");
    assert_eq!(out, "2\ta\tb\na\tb\n");
    assert_eq!(code, Some(0));
}

#[test]
fn fills_arg_like_lua() {
    let file = write_temp("args.lua", "print(arg[0] ~= nil, arg[1], arg[2], #arg, ...)");
    let (out, _, code) = run(&["--tier", "interp", file.path(), "x", "y"], "");
    assert_eq!(out, "true\tx\ty\t2\tx\ty\n");
    assert_eq!(code, Some(0));
}

#[test]
fn runs_the_example() {
    let example = workspace().join("examples/hello.lua");
    let (out, err, code) = run(&[example.to_str().unwrap()], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1. Lua (id 1)") && out.contains("fib(20) =\t6765"), "{out}");
}

#[test]
fn syntax_errors_name_file_line_column_with_a_caret() {
    let file = write_temp("syntax.lua", "local x = 1\nlocal y = = 2\n");
    let (out, err, code) = run(&[file.path()], "");
    assert_eq!(out, "");
    assert_eq!(code, Some(1));
    assert!(err.contains("syntax.lua:2:11:"), "{err}");
    assert!(err.contains("local y = = 2") && err.contains('^'), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn uncaught_errors_exit_1_with_the_message_and_a_traceback() {
    for tier in TIERS {
        let (out, err, code) = run(&strs(&tier_args(tier, &["-e", "print('before') local t = nil\nprint(t.x)"])), "");
        assert_eq!(out, "before\n");
        assert_eq!(code, Some(1));
        assert!(err.contains("orcrun: (command line):2: attempt to index a nil value (local 't')"), "{tier}: {err}");
        assert!(err.contains("stack traceback:"), "{tier}: {err}");
    }
}

#[test]
fn missing_file_and_bad_options_are_errors_not_panics() {
    let (_, err, code) = run(&["/nonexistent/file.lua"], "");
    assert_eq!(code, Some(1));
    assert!(err.starts_with("orcrun: cannot open /nonexistent/file.lua"), "{err}");
    let (_, err, code) = run(&["--tier", "warp", "x.lua"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown tier 'warp'"), "{err}");
    assert!(err.contains("interp, baseline"), "{err}");
    let (_, err, code) = run(&["--bogus"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("unrecognized option '--bogus'"), "{err}");
}

#[test]
fn emits_generic_mir() {
    let (out, _, code) = run(&["--emit", "mir", "-e", "local function f(a, b) return a + b end print(f(1, 2))"], "");
    assert_eq!(code, Some(0));
    assert!(out.contains("rtcall @lua.add("), "{out}");
    let parsed = lazyjit_ir::parse_module(&out).expect("emitted MIR parses");
    lazyjit_ir::verify_module(&parsed).expect("emitted MIR verifies");
}

#[test]
fn deep_recursion_works_and_runaway_recursion_is_a_lua_error() {
    let prog = "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
print(f(200000))
print(pcall(f, 1e7))";
    for tier in TIERS {
        let (out, err, code) = run(&strs(&tier_args(tier, &["-e", prog])), "");
        assert_eq!(code, Some(0), "{tier}: {err}");
        assert_eq!(out, "200000\nfalse\t(command line):1: stack overflow\n", "{tier}");
    }
}

#[test]
fn tail_calls_run_in_constant_stack() {
    let prog = "local function loop(n) if n == 0 then return 'done' end return loop(n - 1) end print(loop(10000000))";
    for tier in TIERS {
        let (out, err, code) = run(&strs(&tier_args(tier, &["-e", prog])), "");
        assert_eq!((out.as_str(), code), ("done\n", Some(0)), "{tier}: {err}");
    }
}

#[test]
fn the_jit_is_the_default_tier() {
    let stats = std::env::temp_dir().join(format!("lazyjit-default-tier-{}.json", std::process::id()));
    let prog = "local function f(x) return x * 2 end print(f(21))";
    let (out, err, code) = run(&["--no-cache", "--stats-json", stats.to_str().unwrap(), "-e", prog], "");
    assert_eq!((out.as_str(), code), ("42\n", Some(0)), "{err}");
    let json = std::fs::read_to_string(&stats).expect("stats written");
    let _ = std::fs::remove_file(&stats);
    assert!(json.contains("\"tier\":\"default\""), "{json}");
    assert!(json.contains("\"functions_compiled\":2"), "{json}");
}

/// `hot` runs 3,000 times (compact code, then better code after 1,000 calls), `cold`
/// twice (compact code only); the main chunk's loop leaves its compact code for an
/// on-stack entry after 1,000 back edges.
const TIER_UP: &str = "local function hot(x) return x * 2 + 1 end
local function cold(x) return x .. '!' end
local s = 0
for i = 1, 3000 do s = s + hot(i) end
print(s, cold('a'), cold(1.5))";

/// Runs [`TIER_UP`] with `options`; returns its statistics.
fn tier_up_stats(options: &[&str]) -> String {
    let stats = std::env::temp_dir().join(format!("lazyjit-tier-up-{}-{}.json", std::process::id(), options.join("")));
    let mut args = options.to_vec();
    // Compile counts are the subject: nothing comes from the cache.
    args.extend(["--no-cache", "--stats-json", stats.to_str().unwrap(), "-e", TIER_UP]);
    let (out, err, code) = run(&args, "");
    assert_eq!((out.as_str(), code), ("9006000\ta!\t1.5!\n", Some(0)), "{err}");
    let json = std::fs::read_to_string(&stats).expect("stats written");
    let _ = std::fs::remove_file(&stats);
    json
}

#[test]
fn the_baseline_tier_moves_hot_functions_to_inline_code() {
    let json = tier_up_stats(&["--tier", "baseline"]);
    assert!(json.contains("\"functions_compiled\":3"), "{json}");
    assert!(json.contains("\"compiles\":{\"compact\":3,\"inline\":1,\"osr\":1,\"optimized\":0}"), "{json}");
}

#[test]
fn the_default_policy_optimizes_hot_functions() {
    // `hot` by its calls; the main chunk's loop by an optimized on-stack entry.
    let json = tier_up_stats(&[]);
    assert!(json.contains("\"functions_compiled\":3"), "{json}");
    assert!(json.contains("\"compiles\":{\"compact\":3,\"inline\":0,\"osr\":0,\"optimized\":2}"), "{json}");
    assert!(json.contains("\"deopts\":0"), "{json}");
}

#[test]
fn trace_tier_names_every_compile_and_why() {
    let (out, err, code) = run(&["--trace-tier", "-e", TIER_UP], "");
    assert_eq!((out.as_str(), code), ("9006000\ta!\t1.5!\n", Some(0)), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    // Three functions' first code, then `hot` optimized and the loop's optimized entry.
    assert_eq!(lines.len(), 5, "{err}");
    assert!(lines.iter().all(|l| l.starts_with("[tier] ") && l.ends_with(" ms")), "{err}");
    assert!(lines.iter().any(|l| l.starts_with("[tier] main chunk (line 0): compact code, first call, ")), "{err}");
    assert!(lines.iter().any(|l| l.starts_with("[tier] function 'hot' (line 1): optimized code, hot after 1000 calls; passes ")), "{err}");
    assert!(lines.iter().any(|l| l.starts_with("[tier] main chunk (line 0): optimized code, entered at block")), "{err}");
    assert_eq!(lines.iter().filter(|l| l.contains("function 'cold' (line 2): compact code, first call")).count(), 1, "{err}");
    // Without the flag, nothing.
    let (_, err, _) = run(&["-e", TIER_UP], "");
    assert_eq!(err, "");
}

#[test]
fn trace_deopt_names_the_failed_guard_and_what_the_value_held() {
    // (`f` counts its calls in an upvalue, so that it is not inlined into the loop.)
    let prog = "local n = 0
local function f(x) local y = x + 1; n = n + 1; return y end
for i = 1, 10 do f(i) end
print(f(0.5))";
    let (out, err, code) = run(&["--policy", "optimize-now", "--trace-deopt", "-e", prog], "");
    assert_eq!((out.as_str(), code), ("1.5\n", Some(0)), "{err}");
    let line = err.lines().find(|l| l.starts_with("[deopt] function 'f' (line 2): guard.tag v")).unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(", int, snap0 failed (v") && line.contains(" holds a float); resumes at block0:"), "{line}");
    assert!(line.ends_with("; deoptimization 1 of 4"), "{line}");
}

/// A main chunk of six loops, each reading what the first wrote.
const SEQUENTIAL_LOOPS: &str = "local t, s = {}, 0
for i = 1, 3000 do t[i] = i end
for i = 1, 3000 do s = s + t[i] end
for i = 1, 3000 do s = s + t[i] * 2 end
for i = 1, 3000 do s = s - t[i] end
for i = 1, 3000 do s = s + t[i] % 7 end
for i = 1, 3000 do s = s + 0.5 end
print(s)";

#[test]
fn each_later_loop_of_a_main_chunk_is_optimized_when_it_runs() {
    // The first loop's optimized entry has never seen the later loops run: each of them
    // leaves for the interpreter, which enters a new optimized entry at it once it runs.
    // Leaving is not a failed guess: all six entries are optimized code, though the
    // limit is 4 deoptimizations.
    let (out, err, code) = run(&["--policy", "optimize-now", "--trace-tier", "--trace-deopt", "-e", SEQUENTIAL_LOOPS], "");
    assert_eq!((out.as_str(), code), ("9013498.0\n", Some(0)), "{err}");
    let entries = err.lines().filter(|l| l.starts_with("[tier] main chunk (line 0): optimized code, entered at block")).count();
    assert_eq!(entries, 6, "{err}");
    let left: Vec<&str> = err.lines().filter(|l| l.starts_with("[deopt] main chunk")).collect();
    assert_eq!(left.len(), 5, "{err}");
    assert!(left.iter().all(|l| l.contains("had not run when the code was made") && l.contains("(not counted: deoptimizations 0 of 4)")), "{err}");
}

#[test]
fn a_malformed_policy_is_an_error_with_its_position() {
    let dir = tempdir_file("bad.ron", "TierPolicy(\n  baseline: (loop_free: Compact,\n    with_loops: Sideways,");
    let (out, err, code) = run(&["--policy", dir.to_str().unwrap(), "-e", "print(1)"], "");
    assert_eq!((out.as_str(), code), ("", Some(1)), "{err}");
    assert!(err.contains("bad.ron:3:25: ") && err.contains("Sideways"), "{err}");
    let (_, err, code) = run(&["--policy", "no-such-policy.ron", "-e", "print(1)"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read policy no-such-policy.ron") && err.contains("optimize-now"), "{err}");
    let _ = std::fs::remove_file(&dir);
}

/// Writes `text` to a fresh file named `name` in the temporary directory.
fn tempdir_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("lazyjit-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn stats_name_every_phase() {
    let prog = "local function f() return 1 end print(f())";
    for tier in TIERS {
        let (_, err, code) = run(&strs(&tier_args(tier, &["--stats-json", "-", "-e", prog])), "");
        assert_eq!(code, Some(0), "{err}");
        for key in ["functions_defined", "functions_compiled", "compiles", "parse", "lower_mir", "passes", "llvm_ir", "llvm_opt", "codegen", "link", "run"] {
            assert!(err.contains(&format!("\"{key}\":")), "{tier}: {key} missing in {err}");
        }
        assert!(err.contains("\"functions_defined\":2"), "{err}");
        // --stats: the same as a table.
        let (_, table, code) = run(&strs(&tier_args(tier, &["--stats", "-e", prog])), "");
        assert_eq!(code, Some(0), "{table}");
        assert!(table.contains("  functions  2 defined, "), "{tier}: {table}");
        for phase in ["parse", "lower to MIR", "passes", "LLVM IR", "LLVM optimizer", "code generation", "linking", "running", "total"] {
            assert!(table.lines().any(|l| l.trim_start().starts_with(phase)), "{tier}: {phase} missing in {table}");
        }
    }
}

#[test]
fn memory_is_reclaimed_in_long_running_allocation() {
    // Allocate ~2 GB worth of short-lived tables and strings; live data stays tiny, so
    // the heap must stay small.
    let prog = "local peak = 0
for i = 1, 2000000 do
  local t = { i, tostring(i), { i } }
  if i % 100000 == 0 then
    local kb = collectgarbage('count')
    if kb > peak then peak = kb end
  end
end
print(peak < 64 * 1024)";
    let (out, err, code) = run(&["-e", prog], "");
    assert_eq!((out.as_str(), code), ("true\n", Some(0)), "{err}");
}

#[test]
fn values_a_frame_is_done_with_are_collected() {
    // `t` is dead after the block although its frame slot still holds it: precise
    // (liveness-based) scanning of interpreter frames lets the collector free it. In
    // the interpreter only: in a compiling tier the native stack, scanned
    // conservatively, may still hold a stale copy of `t` (in a word of a live frame that
    // an earlier call left there), which keeps it.
    let prog = "do
  local t = {}
  for i = 1, 200000 do t[i] = { i } end
end
collectgarbage('collect')
print(collectgarbage('count') < 4096)";
    let (out, err, code) = run(&["--tier", "interp", "-e", prog], "");
    assert_eq!((out.as_str(), code), ("true\n", Some(0)), "{err}");
}

#[test]
fn the_interpreter_binary_does_not_load_llvm() {
    // orcrun stays small and starts fast; compiling tiers run in orcrun-jit.
    let out = std::process::Command::new("ldd").arg(lazyjit_tests::orcrun()).output().expect("ldd");
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && libs.contains("libc"), "{libs}");
    assert!(!libs.contains("LLVM"), "orcrun links LLVM:\n{libs}");
    // LLVM is linked into orcrun-jit, statically (or dynamically where its static
    // libraries are missing); orcrun has none of it.
    let has_llvm = |path: &std::path::Path| {
        let bytes = std::fs::read(path).expect("read the executable");
        bytes.windows(18).any(|w| w == b"LLVMOrcCreateLLJIT")
    };
    assert!(!has_llvm(&lazyjit_tests::orcrun()), "orcrun has LLVM's JIT in it");
    assert!(has_llvm(&lazyjit_tests::orcrun().with_file_name("orcrun-jit")), "orcrun-jit should have LLVM's JIT");
}

#[test]
fn emits_llvm_ir_of_one_function_or_all() {
    let prog = "local function add(a, b) return a + b end print(add(1, 2))";
    let (out, err, code) = run(&["--emit", "llvm", "--fn", "add", "-e", prog], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.matches("define i64 @").count(), 1, "{out}");
    assert!(out.contains("ptr %vm, ptr %closure, ptr %base"), "{out}");
    assert!(!out.contains("@lz_step("), "inline code: {out}");
    let (out, err, code) = run(&["--tier", "compact", "--emit", "llvm", "--fn", "add", "-e", prog], "");
    assert_eq!(code, Some(0), "{err}");
    // `add` is two ops: the `+` (a runtime call) and the return.
    assert_eq!(out.matches("call i64 @lz_step(").count(), 2, "compact code: {out}");
    let (out, _, code) = run(&["--emit", "llvm", "-e", prog], "");
    assert_eq!(code, Some(0));
    assert_eq!(out.matches("define i64 @").count(), 2, "main and add: {out}");
    let (_, err, code) = run(&["--emit", "llvm", "--fn", "nope", "-e", prog], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("no function named 'nope'"), "{err}");
    let (out, _, code) = run(&["--emit", "mir", "--fn", "add", "-e", prog], "");
    assert_eq!(code, Some(0));
    assert!(out.contains("\"add\"") && !out.contains("\"main\""), "{out}");
}

#[test]
fn emits_optimized_mir_llvm_ir_and_assembly() {
    // The loop's start is a constant: the optimizing pipeline folds the test of its type.
    let prog = "local function sum(n) local s = 0 for i = 1, n do s = s + i end return s end print(sum(3))";
    let emit = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--fn", "sum", "-e", prog]);
        let (out, err, code) = run(&all, "");
        assert_eq!(code, Some(0), "{args:?}: {err}");
        out
    };
    let mir = emit(&["--emit", "mir"]);
    let opt = emit(&["--emit", "mir-opt"]);
    let tag_tests = |text: &str| text.lines().filter(|l| l.contains(" = tag ")).count();
    assert!(tag_tests(&opt) < tag_tests(&mir), "the pipeline keeps the tag test of a constant:\n{mir}\n{opt}");
    assert!(opt.contains("\"sum\"") && opt.contains("@lua.add"), "{opt}");
    // The optimized code, before and after LLVM's optimizer (O2 removes the allocas).
    let before = emit(&["--emit", "llvm"]);
    let after = emit(&["--emit", "llvm-opt"]);
    assert_eq!(after.matches("define ").count(), 1, "{after}");
    assert!(after.contains(" @fn1.sum("), "{after}");
    assert!(before.contains("alloca") && !after.contains("alloca"), "before:\n{before}\nafter:\n{after}");
    assert!(after.contains("target triple"), "{after}");
    let asm = emit(&["--emit", "asm"]);
    assert!(asm.contains(".cfi_startproc") && asm.contains("ret"), "{asm}");
    // Baseline code instead: compact code calls lz_step once per op.
    let compact = emit(&["--tier", "compact", "--emit", "asm"]);
    assert!(compact.contains("callq") && compact.contains("lz_step"), "{compact}");
    assert!(emit(&["--tier", "inline", "--emit", "llvm-opt"]).contains("define i64 @fn1.sum"));
}

#[test]
fn perf_writes_a_symbol_map_naming_lua_functions() {
    let prog = write_temp(
        "perf.lua",
        "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\nlocal function twice(x) return 2 * x end\nprint(fib(20), twice(21))\n",
    );
    // The map is named after the process: run orcrun (which becomes orcrun-jit by exec,
    // keeping its process id) directly.
    let child = std::process::Command::new(lazyjit_tests::orcrun())
        .args(["--no-cache", "--policy", "optimize-now", "--perf", prog.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("orcrun runs");
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let out = child.wait_with_output().expect("orcrun ends");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "6765\t42\n", "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&map).unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    let _ = std::fs::remove_file(&map);
    let mut ranges = Vec::new();
    for line in text.lines() {
        // START SIZE NAME, the numbers in hex.
        let mut parts = line.splitn(3, ' ');
        let start = u64::from_str_radix(parts.next().unwrap(), 16).unwrap_or_else(|e| panic!("{line}: {e}"));
        let size = u64::from_str_radix(parts.next().unwrap_or(""), 16).unwrap_or_else(|e| panic!("{line}: {e}"));
        let name = parts.next().unwrap_or_else(|| panic!("no name: {line}"));
        assert!(start > 0 && size > 0, "{line}");
        assert!(name.starts_with("lua:"), "{line}");
        ranges.push((start, start + size));
    }
    for name in ["lua:main chunk", "lua:fib", "lua:twice"] {
        assert!(text.lines().any(|l| l.contains(name)), "{name} missing from:\n{text}");
    }
    assert!(text.contains(&format!("{}:1 [optimized code]", prog.path())), "fib's optimized code missing from:\n{text}");
    ranges.sort();
    assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "overlapping code in:\n{text}");
}

#[test]
fn gdb_registration_changes_no_output() {
    let prog = "local function f(n) local s = 0 for i = 1, n do s = s + i end return s end\nprint(f(100000), pcall(error, 'x'))\n";
    for tier in ["baseline", "eager"] {
        let (out, err, code) = run(&["--no-cache", "--gdb", "--tier", tier, "-"], prog);
        assert_eq!((out.as_str(), code), ("5000050000\tfalse\tx\n", Some(0)), "{tier}: {err}");
    }
}
