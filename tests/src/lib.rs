//! Shared helpers of the end-to-end tests: locating (and building) `orcrun`, the
//! shared corpus, and running programs.

pub mod differential;
pub mod gen;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The `shared/` folder beside the checkout (conformance corpus, benchmarks).
pub fn shared() -> PathBuf {
    let p = workspace().join("../shared");
    assert!(p.is_dir(), "{} is missing: the tests need ../shared beside the checkout", p.display());
    p
}

/// Path of an up-to-date `orcrun` of the same profile as the running test, building it
/// first (cargo does nothing when it is current). `ORCRUN` overrides.
pub fn orcrun() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("ORCRUN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>
        let profile_dir = exe.parent().and_then(Path::parent).expect("profile dir").to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(env!("CARGO"));
        build.current_dir(workspace()).args(["build", "-q", "-p", "lazyjit-tools", "--bins"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "building orcrun failed");
        profile_dir.join("orcrun")
    })
    .clone()
}

/// Runs `program args...` in `dir` with `stdin` bytes; returns the output.
pub fn run_in(dir: &Path, program: &Path, args: &[&str], stdin: &[u8]) -> Output {
    run_in_env(dir, program, args, stdin, &[])
}

/// [`run_in`] with extra environment variables.
pub fn run_in_env(dir: &Path, program: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("waiting for the program");
    let _ = writer.join();
    out
}

/// Runs `orcrun` with the arguments in `dir` (see [`orcrun_in_env`] for its cache).
pub fn orcrun_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    orcrun_in_env(dir, args, stdin, &[])
}

/// Runs `orcrun` with the arguments in `dir`, with extra environment variables.
///
/// Unless `env` says otherwise, its default code cache is [`test_cache_home`]'s: the
/// tests never touch the user's cache, and the programs a test process runs in several
/// tiers share code as the runs of one user would (the first run of a function's code
/// compiles it, later ones load it).
pub fn orcrun_in_env(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let home = test_cache_home();
    let mut all = vec![("XDG_CACHE_HOME", home.to_str().expect("a UTF-8 target path"))];
    all.extend_from_slice(env);
    run_in_env(dir, &orcrun(), args, stdin, &all)
}

/// The `XDG_CACHE_HOME` of the `orcrun`s this test process runs: a directory beside the
/// built binaries, named after the test executable and emptied at the process's first
/// use (each run of the tests starts with a cold cache).
pub fn test_cache_home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let name = exe.file_name().expect("a file name").to_string_lossy().into_owned();
        let target = orcrun().parent().and_then(Path::parent).expect("the target directory").to_path_buf();
        let home = target.join("tmp").join("orcrun-cache").join(name);
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{}: {e}", home.display()));
        home
    })
    .clone()
}

/// The entry files of the object cache in `cache` (one directory per key prefix).
pub fn cache_entry_files(cache: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for shard in std::fs::read_dir(cache).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            files.push(f.path());
        }
    }
    files
}

/// The number `key` holds in a statistics JSON object (`orcrun --stats`).
pub fn stat(json: &str, key: &str) -> u64 {
    let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {json}"));
    json[at + key.len() + 3..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().expect("a number")
}

/// A short description of a mismatch between expected and actual bytes.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let e = String::from_utf8_lossy(expected);
    let a = String::from_utf8_lossy(actual);
    for (i, (x, y)) in e.lines().zip(a.lines()).enumerate() {
        if x != y {
            return format!("line {}: expected {x:?}, got {y:?}", i + 1);
        }
    }
    format!("expected {} lines, got {} lines", e.lines().count(), a.lines().count())
}

/// The full path of a command on `PATH`, if it is there.
pub fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(cmd)).find(|p| p.is_file())
}

/// The tiers every execution test runs in: the interpreter; the three policy files of
/// `policies/` (`policy:NAME`): the default (optimizing hot functions), the baseline
/// tier only, and optimizing at a function's second call; the baseline tier moving on
/// at once (`eager`: every function and every loop changes code as soon as it can);
/// and each code shape alone.
pub const TIERS: [&str; 7] =
    ["interp", "policy:default", "policy:baseline-only", "policy:optimize-now", "eager", "compact", "inline"];

/// The `orcrun` options that select `tier` (one of [`TIERS`], or any `--tier` name),
/// followed by `rest`.
pub fn tier_args<'a>(tier: &str, rest: &[&'a str]) -> Vec<String> {
    let mut args = match tier.strip_prefix("policy:") {
        Some(name) => {
            let file = workspace().join("policies").join(format!("{name}.ron"));
            vec!["--policy".to_string(), file.to_string_lossy().into_owned()]
        }
        None => vec!["--tier".to_string(), tier.to_string()],
    };
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

/// The `.lua` files of `dir`, by name, sorted (panics if there are none: a test over an
/// empty directory would check nothing).
pub fn lua_programs(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.ends_with(".lua")).map(String::from))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no programs in {}", dir.display());
    files
}

/// One test per tier of [`TIERS`] and program of `files`, named `tier/program`: `make`
/// gets the name, the tier and the file.
pub fn in_every_tier<T>(files: &[String], make: impl Fn(String, &'static str, String) -> T) -> Vec<T> {
    TIERS
        .iter()
        .flat_map(|&tier| files.iter().map(move |f| (tier, f.clone())))
        .map(|(tier, file)| make(format!("{tier}/{}", file.trim_end_matches(".lua")), tier, file))
        .collect()
}

/// A program defining `n` small leaf functions in a table `fs` (`fs[i](x)` is
/// `2x + i`): a table, since Lua allows only 200 locals per function.
pub fn function_table(n: usize) -> String {
    let mut prog = String::from("local fs = {}\n");
    for i in 0..n {
        prog.push_str(&format!("fs[{i}] = function(x) return x * 2 + {i} end\n"));
    }
    prog
}

/// `args` as the `&[&str]` the runners take.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
