//! Faults under `orcrun`: LLVM failing to compile (injected with `LAZYJIT_FAIL_LLVM`),
//! the cache directory removed or replaced mid-run, a full disk under the cache, and
//! cache entries that pass every check of the cache but hold the object of another
//! function. Each ends in the right output (the function recompiled or interpreted)
//! and at most a warning, never a crash.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lazyjit_cache::{entry, Key};
use lazyjit_tests::{cache_entry_files, orcrun, orcrun_in, orcrun_in_env, run_in, stat, tier_args, which, workspace};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exits by itself (no signal), not by a panic.
fn ordinary_exit(out: &Output) -> i32 {
    let code = out.status.code().unwrap_or_else(|| panic!("killed by a signal: {}", text(&out.stderr)));
    assert_ne!(code, 101, "a panic: {}", text(&out.stderr));
    code
}

#[test]
fn llvm_failing_to_compile_costs_time_not_results() {
    let lua = which("lua5.4").expect("lua5.4 is not installed (./x test installs it)");
    let dir = workspace().join("tests/lua");
    // Loops (on-stack entries), calls and tier-ups, speculation that fails.
    let programs = ["mixed_arith.lua", "osr_nested_loops.lua", "calls_and_upvalues.lua", "speculation/arith_types_change.lua"];
    let tiers = ["policy:default", "policy:optimize-now", "policy:baseline-only", "eager", "compact", "inline"];
    for file in programs {
        let want = run_in(&dir, &lua, &[file], b"");
        for tier in tiers {
            // Every compile fails; every third does.
            for every in ["1", "3"] {
                let args = tier_args(tier, &["--no-cache", file]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = orcrun_in_env(&dir, &args, b"", &[("LAZYJIT_FAIL_LLVM", every)]);
                let why = format!("{file} in {tier}, failing every {every}: {}", text(&out.stderr));
                assert_eq!(ordinary_exit(&out), want.status.code().unwrap(), "{why}");
                assert_eq!(text(&out.stdout), text(&want.stdout), "{why}");
                if every == "1" {
                    assert!(text(&out.stderr).contains("(injected: LAZYJIT_FAIL_LLVM)"), "{why}");
                }
            }
        }
    }
}

/// A program whose functions 1..=20 are each called once: 1..=10, then a line read from
/// standard input, then 11..=20 (compiled after whatever the test did meanwhile).
fn two_phase_program() -> String {
    let mut p = String::from("local fs = {}\n");
    for i in 1..=20 {
        p.push_str(&format!("fs[{i}] = function(x) return x * {i} + 1 end\n"));
    }
    p.push_str("local s = 0\nfor i = 1, 10 do s = s + fs[i](i) end\nprint('first half', s)\n");
    p.push_str("io.read('l')\nfor i = 11, 20 do s = s + fs[i](i) end\nprint('second half', s)\n");
    p
}

const TWO_PHASE_OUTPUT: &str = "first half\t395\nsecond half\t2890\n";

/// Runs [`two_phase_program`] with `--cache-dir cache`, doing `meanwhile` between the
/// halves.
fn run_two_phase(dir: &Path, cache: &Path, meanwhile: impl FnOnce()) -> Output {
    let file = dir.join("two_phase.lua");
    std::fs::write(&file, two_phase_program()).unwrap();
    let mut child = Command::new(orcrun())
        .args(["--cache-dir", cache.to_str().unwrap(), file.to_str().unwrap()])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "first half\t395\n");
    meanwhile();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stdout = format!("{first}{rest}").into_bytes();
    out
}

/// Removes `dir` while the cache's writer thread may still be adding entries to it
/// (which can make one removal meet a directory that is not empty any more).
fn remove_while_written(dir: &Path) {
    for _ in 0..100 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    panic!("cannot remove {}", dir.display());
}

#[test]
fn the_cache_directory_removed_mid_run() {
    let dir = fresh_dir("removed");
    let cache = dir.join("cache");
    let out = run_two_phase(&dir, &cache, || remove_while_written(&cache));
    assert_eq!(ordinary_exit(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), TWO_PHASE_OUTPUT, "{}", text(&out.stderr));

    // Replaced by a file: nothing more can be stored there; one warning says so.
    let dir = fresh_dir("replaced");
    let cache = dir.join("cache");
    let out = run_two_phase(&dir, &cache, || {
        // (The writer may make the directory again between the two steps.)
        for _ in 0..100 {
            remove_while_written(&cache);
            if std::fs::write(&cache, b"not a directory").is_ok() {
                return;
            }
        }
        panic!("cannot replace {} by a file", cache.display());
    });
    assert_eq!(ordinary_exit(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), TWO_PHASE_OUTPUT, "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert_eq!(err.matches("orcrun: warning:").count(), 1, "{err}");
    assert!(err.contains("cannot store in cache directory") && err.contains("compiled code is not cached"), "{err}");
}

/// A small tmpfs mounted at a directory (tests run as root), unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(at).output().ok()?;
        out.status.success().then(|| Tmpfs(at.to_path_buf())).or_else(|| {
            eprintln!("SKIPPED: cannot mount a tmpfs ({}): the full-disk test needs root", text(&out.stderr).trim());
            None
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_under_the_cache_costs_a_warning() {
    let dir = fresh_dir("full");
    let cache = dir.join("cache");
    // 64 KiB: room for a few entries of the 60 the program compiles.
    // (Without the right to mount, the test says so and checks nothing: a cache
    // directory replaced mid-run, above, fails the same way.)
    let Some(_disk) = Tmpfs::mount(&cache, "64k") else { return };
    let file = dir.join("many.lua");
    std::fs::write(&file, called_table(60)).unwrap();
    let want = text(&run_in(&dir, &which("lua5.4").expect("lua5.4"), &["many.lua"], b"").stdout);
    let stats = dir.join("stats.json");
    let args = ["--cache-dir", cache.to_str().unwrap(), "--stats-json", stats.to_str().unwrap(), "many.lua"];
    let out = orcrun_in(&dir, &args, b"");
    assert_eq!(ordinary_exit(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), want);
    let err = text(&out.stderr);
    assert_eq!(err.matches("orcrun: warning:").count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    let json = std::fs::read_to_string(&stats).unwrap();
    assert_eq!(stat(&json, "functions_compiled"), 61, "{json}");
    // What was stored is whole: the next run takes it and compiles the rest.
    let out = orcrun_in(&dir, &args, b"");
    assert_eq!(text(&out.stdout), want, "{}", text(&out.stderr));
    let json = std::fs::read_to_string(&stats).unwrap();
    let hits = stat(&json, "cache_hits");
    assert!(hits > 0 && hits < 61, "{json}");
    assert_eq!(stat(&json, "functions_compiled") + hits, 61, "{json}");
}

/// [`lazyjit_tests::function_table`] with each function called once, in straight-line
/// code (no loop: no tier-up, so `n + 1` compiles in all), and the sum printed.
fn called_table(n: usize) -> String {
    let mut p = lazyjit_tests::function_table(n);
    p.push_str("local s = 0\n");
    for i in 0..n {
        p.push_str(&format!("s = s + fs[{i}]({i})\n"));
    }
    p.push_str("print(s)\n");
    p
}

/// The cache's entry files, with the key each one's header names.
fn entries(cache: &Path) -> Vec<(PathBuf, Key, Vec<u8>)> {
    let mut files = cache_entry_files(cache);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            let (key, payload) = entry::decode_any(&bytes).expect("a valid entry");
            (path, key, payload.to_vec())
        })
        .collect()
}

#[test]
fn a_well_formed_entry_holding_another_object_is_compiled_again() {
    let dir = fresh_dir("objects");
    let cache = dir.join("cache");
    let file = dir.join("objects.lua");
    std::fs::write(&file, called_table(8)).unwrap();
    let stats = dir.join("stats.json");
    let args = ["--cache-dir", cache.to_str().unwrap(), "--stats-json", stats.to_str().unwrap(), "objects.lua"];
    let out = orcrun_in(&dir, &args, b"");
    let want = text(&out.stdout);
    let all = entries(&cache);
    assert_eq!(all.len(), 9);
    // The header names the right key and the checksum matches, but the object is
    // another function's (the key check of the cache cannot see it: the symbol check of
    // the engine does)...
    let (path, key, _) = &all[0];
    std::fs::write(path, entry::encode(*key, &all[1].2)).unwrap();
    // ...or no object at all.
    let (path, key, _) = &all[2];
    std::fs::write(path, entry::encode(*key, b"\x7fELF but not an object")).unwrap();
    let out = orcrun_in(&dir, &args, b"");
    assert_eq!(ordinary_exit(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), want);
    let json = std::fs::read_to_string(&stats).unwrap();
    assert_eq!((stat(&json, "functions_compiled"), stat(&json, "cache_hits")), (2, 7), "{json}");
    // Compiling them again replaced the two entries.
    let out = orcrun_in(&dir, &args, b"");
    assert_eq!(text(&out.stdout), want);
    let json = std::fs::read_to_string(&stats).unwrap();
    assert_eq!((stat(&json, "functions_compiled"), stat(&json, "cache_hits")), (0, 9), "{json}");
}
