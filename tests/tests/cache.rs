//! The persistent code cache through `orcrun`: a second run compiles nothing, an edit
//! recompiles only what changed, damaged entries are rebuilt, processes share a cache,
//! and a cache that cannot be written to costs a warning, not the run.
//!
//! Every test has a cache directory of its own (`--cache-dir`), so the counts it checks
//! are its own.

use std::path::{Path, PathBuf};
use std::process::Output;

use lazyjit_tests::{cache_entry_files as entry_files, orcrun, orcrun_in, stat};

/// A fresh directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program of `n` functions, each called once from straight-line code (no loop, so
/// no tier-up: every compile is a function's first code); `edit` changes function
/// `edit`'s body. Prints a checksum of the results.
fn program(n: usize, edit: Option<usize>) -> String {
    let mut p = String::from("local fs = {}\n");
    for i in 0..n {
        let k = if edit == Some(i) { i + 100_000 } else { i };
        p.push_str(&format!("fs[{i}] = function(x) return x * 2 + {k} end\n"));
    }
    p.push_str("local s = 0\n");
    for i in 0..n {
        p.push_str(&format!("s = s + fs[{i}]({i})\n"));
    }
    p.push_str("print(s)\n");
    p
}

/// The printed checksum of [`program`].
fn checksum(n: usize, edit: Option<usize>) -> String {
    let s: usize = (0..n).map(|i| 3 * i + if edit == Some(i) { 100_000 } else { 0 }).sum();
    format!("{s}\n")
}

/// Runs `orcrun --cache-dir CACHE --stats-json ... FILE`; returns the output and the
/// statistics.
fn run_cached(cache: &Path, file: &Path, extra: &[&str]) -> (Output, String) {
    let stats = file.with_extension("json");
    let mut args = vec!["--cache-dir", cache.to_str().unwrap(), "--stats-json", stats.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    let out = orcrun_in(file.parent().unwrap(), &args, b"");
    let json = std::fs::read_to_string(&stats).unwrap_or_else(|e| panic!("no stats ({e}): {}", stderr(&out)));
    (out, json)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Milliseconds of LLVM work (IR building, optimization, code generation) in `json`.
fn llvm_ms(json: &str) -> f64 {
    ["llvm_ir", "llvm_opt", "codegen"]
        .iter()
        .map(|k| {
            let at = json.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("no {k} in {json}"));
            json[at + k.len() + 3..].split([',', '}']).next().unwrap().parse::<f64>().unwrap()
        })
        .sum()
}

#[test]
fn a_second_run_compiles_nothing_and_an_edit_recompiles_one_function() {
    let dir = fresh_dir("edit");
    let cache = dir.join("cache");
    let file = dir.join("many.lua");
    std::fs::write(&file, program(1000, None)).unwrap();
    let (out, first) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(1000, None), "{}", stderr(&out));
    assert_eq!(stat(&first, "functions_compiled"), 1001, "{first}");
    assert_eq!(stat(&first, "cache_misses"), 1001, "{first}");
    assert_eq!(stat(&first, "cache_hits"), 0, "{first}");

    let (out, second) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(1000, None), "{}", stderr(&out));
    assert_eq!(stat(&second, "functions_compiled"), 0, "{second}");
    assert_eq!(stat(&second, "cache_hits"), 1001, "{second}");
    assert_eq!(stat(&second, "cache_misses"), 0, "{second}");
    assert_eq!(llvm_ms(&second), 0.0, "no LLVM work at all: {second}");

    std::fs::write(&file, program(1000, Some(500))).unwrap();
    let (out, edited) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(1000, Some(500)), "{}", stderr(&out));
    assert_eq!(stat(&edited, "functions_compiled"), 1, "only the edited function: {edited}");
    assert_eq!(stat(&edited, "cache_hits"), 1000, "{edited}");
    assert_eq!(stat(&edited, "cache_misses"), 1, "{edited}");
}

#[test]
fn an_edit_that_renumbers_the_module_recompiles_only_what_it_changed() {
    // Functions using strings, runtime functions and closures. The edit gives the first
    // one a new string and a new runtime function (a length), and inserts a function
    // before the others: every module-wide number after them moves, and functions are
    // keyed by local numbers, so only the functions whose code changed compile.
    let body = |edit: bool| {
        let mut p = String::new();
        if edit {
            p.push_str("local function inserted(t) return t.inserted end\n");
        }
        p.push_str(if edit { "local function first(t) return t.name .. #\"new\" end\n" } else { "local function first(t) return t.name end\n" });
        for i in 0..20 {
            p.push_str(&format!(
                "local function f{i}(t) local g = function() return t.k{i} end return g() .. \"-\" .. t.name .. {i} end\n"
            ));
        }
        p.push_str("local t = {name = \"n\", inserted = 0}\nlocal out = {first(t)}\n");
        for i in 0..20 {
            p.push_str(&format!("t.k{i} = {i}\nout[#out + 1] = f{i}(t)\n"));
        }
        if edit {
            p.push_str("out[#out + 1] = inserted(t)\n");
        }
        p.push_str("print(table.concat(out, \" \"))\n");
        p
    };
    let dir = fresh_dir("renumber");
    let cache = dir.join("cache");
    let file = dir.join("renumber.lua");
    std::fs::write(&file, body(false)).unwrap();
    let (out, first) = run_cached(&cache, &file, &[]);
    let expected: String = std::iter::once("n".to_string()).chain((0..20).map(|i| format!("{i}-n{i}"))).collect::<Vec<_>>().join(" ");
    assert_eq!(stdout(&out), expected.clone() + "\n", "{}", stderr(&out));
    // main, first and each f; the closures g have the same code (their strings differ,
    // but compiled code reads strings by local number) and share one compile.
    assert_eq!(stat(&first, "functions_compiled"), 23, "{first}");
    assert_eq!(stat(&first, "functions_shared"), 19, "{first}");

    std::fs::write(&file, body(true)).unwrap();
    let (out, edited) = run_cached(&cache, &file, &[]);
    let expected = expected.replacen('n', "n3", 1) + " 0";
    assert_eq!(stdout(&out), expected + "\n", "{}", stderr(&out));
    // The main chunk changed too (it calls the inserted function). The inserted one has
    // the code the first had before (a field of the parameter by a string constant):
    // it comes from the cache with every f and the g.
    assert_eq!(stat(&edited, "functions_compiled"), 2, "main and first: {edited}");
    assert_eq!(stat(&edited, "cache_hits"), 22, "{edited}");
}

#[test]
fn code_compiled_ahead_is_found_by_the_first_run() {
    let dir = fresh_dir("ahead");
    let cache = dir.join("cache");
    let file = dir.join("ahead.lua");
    std::fs::write(&file, program(50, None)).unwrap();
    let (c, f) = (cache.to_str().unwrap(), file.to_str().unwrap());
    let out = orcrun_in(&dir, &["compile", "--cache-dir", c, f], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("51 functions compiled, 0 already cached, 0 failed"), "{}", stdout(&out));
    let out = orcrun_in(&dir, &["compile", "--cache-dir", c, f], b"");
    assert!(stdout(&out).contains("0 functions compiled, 51 already cached"), "{}", stdout(&out));
    let (out, json) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(50, None), "{}", stderr(&out));
    assert_eq!((stat(&json, "functions_compiled"), stat(&json, "cache_hits")), (0, 51), "{json}");
    // Compiled again in another process, the code is the same to the byte.
    let out = orcrun_in(&dir, &["cache", "verify", "--cache-dir", c, f], b"");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("51 entries checked"), "{}", stdout(&out));
    assert!(stdout(&out).contains("51 functions compiled again match the cache, 0 differ"), "{}", stdout(&out));
    let out = orcrun_in(&dir, &["cache", "stats", "--cache-dir", c], b"");
    assert!(stdout(&out).contains("entries: 51"), "{}", stdout(&out));
    let out = orcrun_in(&dir, &["cache", "clear", "--cache-dir", c], b"");
    assert_eq!(stdout(&out), format!("removed 51 entries from {c}\n"));
    let (_, json) = run_cached(&cache, &file, &[]);
    assert_eq!(stat(&json, "functions_compiled"), 51, "{json}");
}

#[test]
fn damaged_entries_are_rebuilt_and_the_output_is_unchanged() {
    let dir = fresh_dir("damaged");
    let cache = dir.join("cache");
    let file = dir.join("damaged.lua");
    std::fs::write(&file, program(8, None)).unwrap();
    let (out, _) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(8, None), "{}", stderr(&out));
    let mut entries = entry_files(&cache);
    assert_eq!(entries.len(), 9);
    entries.sort();
    // Four kinds of damage, one entry each.
    let zero_length = &entries[0];
    std::fs::write(zero_length, b"").unwrap();
    let truncated = &entries[1];
    let bytes = std::fs::read(truncated).unwrap();
    std::fs::write(truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = &entries[2];
    let mut bytes = std::fs::read(corrupt).unwrap();
    let middle = bytes.len() / 2 + 20;
    bytes[middle] ^= 0xff;
    std::fs::write(corrupt, &bytes).unwrap();
    let wrong_version = &entries[3];
    let mut bytes = std::fs::read(wrong_version).unwrap();
    bytes[8] = bytes[8].wrapping_add(1);
    std::fs::write(wrong_version, &bytes).unwrap();
    // And a fifth holding another function's (valid) entry.
    std::fs::copy(&entries[5], &entries[4]).unwrap();
    let out = orcrun_in(&dir, &["cache", "verify", "--cache-dir", cache.to_str().unwrap()], b"");
    assert!(!out.status.success());
    assert!(stdout(&out).contains("9 entries checked") && stdout(&out).contains(": 5 bad"), "{}", stdout(&out));

    let (out, json) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(8, None), "{}", stderr(&out));
    assert_eq!(stat(&json, "functions_compiled"), 5, "the damaged five are rebuilt: {json}");
    assert_eq!(stat(&json, "cache_hits"), 4, "{json}");
    let out = orcrun_in(&dir, &["cache", "verify", "--cache-dir", cache.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stdout(&out));
    let (_, json) = run_cached(&cache, &file, &[]);
    assert_eq!((stat(&json, "functions_compiled"), stat(&json, "cache_hits")), (0, 9), "{json}");
}


#[test]
fn eight_processes_share_one_cache() {
    let dir = fresh_dir("shared");
    let cache = dir.join("cache");
    let file = dir.join("shared.lua");
    std::fs::write(&file, program(200, None)).unwrap();
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(orcrun())
                .args(["--cache-dir", cache.to_str().unwrap(), file.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(stdout(&out), checksum(200, None), "{}", stderr(&out));
        assert!(out.status.success() && stderr(&out).is_empty(), "{}", stderr(&out));
    }
    let out = orcrun_in(&dir, &["cache", "verify", "--cache-dir", cache.to_str().unwrap(), file.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("201 entries checked in"), "{}", stdout(&out));
    assert!(stdout(&out).contains("201 functions compiled again match the cache, 0 differ"), "{}", stdout(&out));
    let leftovers: Vec<_> = entry_files(&cache).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_cache_that_cannot_be_created_costs_a_warning() {
    let dir = fresh_dir("uncreatable");
    std::fs::write(dir.join("file"), "").unwrap();
    let file = dir.join("p.lua");
    std::fs::write(&file, program(3, None)).unwrap();
    let (out, json) = run_cached(&dir.join("file").join("cache"), &file, &[]);
    assert_eq!(stdout(&out), checksum(3, None));
    assert!(out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(err.contains("orcrun: warning: cannot create cache directory"), "{err}");
    assert_eq!(stat(&json, "functions_compiled"), 4, "{json}");
}

#[test]
fn a_read_only_cache_serves_its_entries() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("read-only");
    let cache = dir.join("cache");
    let file = dir.join("p.lua");
    std::fs::write(&file, program(4, None)).unwrap();
    run_cached(&cache, &file, &[]);
    // The edited program needs one entry more; learn its file from a scratch copy.
    std::fs::write(&file, program(4, Some(2))).unwrap();
    let scratch = dir.join("scratch");
    copy_dir(&cache, &scratch);
    run_cached(&scratch, &file, &[]);
    let before: Vec<_> = entry_files(&cache).iter().map(|p| p.strip_prefix(&cache).unwrap().to_path_buf()).collect();
    let new: Vec<_> = entry_files(&scratch)
        .iter()
        .map(|p| p.strip_prefix(&scratch).unwrap().to_path_buf())
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    // Read-only: by permissions, and where they do not bind (tests running as root),
    // by a directory where the new entry's file would go.
    for shard in std::fs::read_dir(&cache).unwrap().flatten() {
        std::fs::set_permissions(shard.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(cache.join("probe"), "").is_ok() {
        std::fs::remove_file(cache.join("probe")).unwrap();
        std::fs::create_dir_all(cache.join(&new[0])).unwrap();
    }
    let (out, json) = run_cached(&cache, &file, &[]);
    assert_eq!(stdout(&out), checksum(4, Some(2)));
    assert!(out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(err.contains("compiled code is not cached"), "{err}");
    assert_eq!((stat(&json, "functions_compiled"), stat(&json, "cache_hits")), (1, 4), "{json}");
    for shard in std::fs::read_dir(&cache).unwrap().flatten() {
        std::fs::set_permissions(shard.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn no_cache_means_no_cache() {
    let dir = fresh_dir("off");
    let file = dir.join("p.lua");
    std::fs::write(&file, program(2, None)).unwrap();
    let stats = dir.join("s.json");
    let home = dir.join("home");
    let args = ["--no-cache", "--stats-json", stats.to_str().unwrap(), file.to_str().unwrap()];
    let out = lazyjit_tests::orcrun_in_env(&dir, &args, b"", &[("XDG_CACHE_HOME", home.to_str().unwrap())]);
    assert_eq!(stdout(&out), checksum(2, None));
    let json = std::fs::read_to_string(&stats).unwrap();
    assert_eq!((stat(&json, "cache_hits"), stat(&json, "cache_misses")), (0, 0), "{json}");
    assert!(!home.join("lazyjit").exists(), "nothing written");
    // Without the flag, the default directory is $XDG_CACHE_HOME/lazyjit.
    let out = lazyjit_tests::orcrun_in_env(&dir, &args[1..], b"", &[("XDG_CACHE_HOME", home.to_str().unwrap())]);
    assert_eq!(stdout(&out), checksum(2, None));
    assert_eq!(entry_files(&home.join("lazyjit")).len(), 3);
    let out = orcrun_in(&dir, &["--no-cache", "--cache-dir", "x", "-e", "print(1)"], b"");
    assert!(stderr(&out).contains("exclude each other"), "{}", stderr(&out));
}

/// [`program`] with a pause before the calls (a loop the main chunk runs for a while), so
/// that the leaf pre-compiler has time to work.
fn program_with_pause(n: usize) -> String {
    program(n, None).replace("local s = 0\n", "local s = 0\nlocal t = 0\nfor i = 1, 300000 do t = t + i % 7 end\n")
}

/// The default policy with leaf pre-compilation on, as a file in `dir`.
fn precompiling_policy(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(lazyjit_tests::workspace().join("policies/default.ron")).unwrap();
    assert!(text.contains("precompile_leaves: false"));
    let path = dir.join("precompile.ron");
    std::fs::write(&path, text.replace("precompile_leaves: false", "precompile_leaves: true")).unwrap();
    path
}

#[test]
fn leaves_are_compiled_ahead_exactly_once() {
    let dir = fresh_dir("leaves");
    let file = dir.join("leaves.lua");
    std::fs::write(&file, program_with_pause(200)).unwrap();
    let policy = precompiling_policy(&dir);
    // Two runs with cold caches, then one with the second's cache.
    for run in 0..3 {
        let cache = dir.join(format!("cache{}", run.min(1)));
        let (out, json) = run_cached(&cache, &file, &["--policy", policy.to_str().unwrap()]);
        assert_eq!(stdout(&out), checksum(200, None), "{}", stderr(&out));
        if run == 2 {
            // A warm cache: the pre-compiler and the first calls both go through it.
            assert_eq!((stat(&json, "functions_compiled"), stat(&json, "cache_hits")), (0, 201), "{json}");
            continue;
        }
        // Each function's first code is built once, by the pre-compiler or by its first
        // call (the main chunk, no leaf, by its call); how many first calls found it
        // ready depends on the machine.
        assert_eq!(stat(&json, "functions_compiled"), 201, "{json}");
        assert_eq!(stat(&json, "compiles\":{\"compact"), 201, "{json}");
        let precompiled = stat(&json, "precompiled");
        assert!(precompiled <= 200, "{json}");
        assert!(stat(&json, "first_calls_ready") + stat(&json, "first_calls_waited") <= precompiled, "{json}");
    }
}

#[test]
fn leaves_built_ahead_are_taken_by_their_first_calls() {
    use lazyjit_orc::engine::{Engine, Tiering};
    use std::sync::atomic::Ordering::Relaxed;
    // 20 leaves, 5 called; a function that calls another is no leaf.
    let mut source = lazyjit_tests::function_table(20);
    source.push_str("local function twice(x) return fs[0](fs[0](x)) end\n");
    source.push_str("local s = twice(1)\nfor i = 0, 4 do s = s + fs[i](i) end\n");
    source.push_str("if s ~= 34 then error('wrong sum ' .. s) end\n");
    let module = lazyjit_lua::compile(source.as_bytes(), "leaves").expect("compiles");
    let tiering = Tiering { precompile_leaves: true, ..Tiering::default() };
    let engine = Engine::with_tiering(lazyjit_orc::OptLevel::O0, tiering).expect("an engine");
    // Waiting for the pre-compiler before anything runs: every leaf is built ahead.
    let mut after_load = |vm: &mut lazyjit_ir::interp::Vm| {
        let last = vm.modules().len() - 1;
        engine.attach(vm, last).map_err(|e| e.to_string())?;
        engine.wait_idle();
        Ok(())
    };
    let status = lazyjit_lua::driver::run_module_with(module, "leaves", &[], &mut after_load, false);
    assert!(matches!(status, Ok(0)), "{status:?}");
    let stats = engine.stats();
    assert_eq!(stats.precompiled.load(Relaxed), 20);
    assert_eq!(stats.first_calls_ready.load(Relaxed), 5, "fs[0] to fs[4]");
    assert_eq!(stats.first_calls_waited.load(Relaxed), 0);
    // The 20 leaves (15 never called), `twice` and the main chunk, each once.
    assert_eq!(stats.functions_compiled.load(Relaxed), 22);
}

/// A program whose hot functions get optimized code under `optimize-now`: `hyp` calls
/// `sq` (a guarded call target) and `math.sqrt` (a guarded native); `sq`'s body is
/// `sq_body`.
fn hot_program(sq_body: &str) -> String {
    format!(
        "local function sq(x) return {sq_body} end\n\
         local function hyp(a, b) return math.sqrt(sq(a) + sq(b)) end\n\
         local function other(x) return x % 7 + 1 end\n\
         local s = 0\n\
         for i = 1, 3000 do s = s + hyp(i, i + 1) + other(i) end\n\
         print(string.format(\"%.3f\", s))\n"
    )
}

#[test]
fn optimized_code_comes_from_the_cache_when_a_run_makes_the_same_versions() {
    let dir = fresh_dir("optimized");
    let cache = dir.join("cache");
    let file = dir.join("hot.lua");
    std::fs::write(&file, hot_program("x * x")).unwrap();
    let policy = ["--policy", "optimize-now"];
    let (out, first) = run_cached(&cache, &file, &policy);
    let expected = stdout(&out);
    assert_eq!(expected, "6380203.076\n", "{}", stderr(&out));
    let optimized = stat(&first, "optimized");
    assert!(optimized >= 3, "{first}");
    assert_eq!(stat(&first, "optimized_cache_misses"), optimized, "{first}");
    assert_eq!(stat(&first, "optimized_cache_hits"), 0, "{first}");

    // The same program, profiled alike: every version's code is linked from the cache.
    let (out, second) = run_cached(&cache, &file, &policy);
    assert_eq!(stdout(&out), expected, "{}", stderr(&out));
    assert_eq!(stat(&second, "optimized_cache_hits"), optimized, "{second}");
    assert_eq!((stat(&second, "optimized_cache_misses"), stat(&second, "optimized")), (0, 0), "{second}");
    assert_eq!(llvm_ms(&second), 0.0, "no LLVM work at all: {second}");

    // `sq` changed: the versions that inline or expect it are compiled again (their
    // keys hold its code), `other`'s comes from the cache.
    std::fs::write(&file, hot_program("x * x + 0")).unwrap();
    let (out, edited) = run_cached(&cache, &file, &policy);
    assert_eq!(stdout(&out), expected, "{}", stderr(&out));
    let (hits, misses) = (stat(&edited, "optimized_cache_hits"), stat(&edited, "optimized_cache_misses"));
    assert!(hits >= 1 && misses >= 2 && misses < optimized, "{edited}");
    assert_eq!(stat(&edited, "optimized"), misses, "{edited}");
}
