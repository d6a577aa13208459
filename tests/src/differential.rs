//! Differential testing: a generated program ([`crate::gen`]) runs in the interpreter,
//! under each policy file (baseline only, optimize at once, the default) and, when it
//! is installed, in `lua5.4`; every run must print the same and end the same way as the
//! reference (`lua5.4`, else the interpreter). A program on which they differ is
//! minimized (statements removed while the same two runs still differ) and reported
//! with its seed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::gen::{program, Program};

/// A way of running a program.
#[derive(Clone, Debug)]
pub struct Runner {
    pub name: String,
    pub program: PathBuf,
    /// Arguments before the file.
    pub args: Vec<String>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    /// The exit status (None: killed by a signal, or by the time limit).
    pub status: Option<i32>,
    pub timed_out: bool,
    /// The last lines of stderr (not compared: the tools' prefixes differ).
    pub stderr: String,
}

/// A run that differs from the reference.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub seed: u64,
    pub reference: String,
    pub runner: String,
    /// The program minimized (the one generated is `gen::program(seed)`).
    pub minimized: String,
    /// What differs, in words (the first differing line of output, or how it ended).
    pub difference: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "seed {}: {} differs from {}: {}", self.seed, self.runner, self.reference, self.difference)?;
        writeln!(f, "minimized program:\n{}", self.minimized)
    }
}

/// Longest a run may take: the programs do little; more means a hang.
pub const TIME_LIMIT: Duration = Duration::from_secs(30);

/// The runners: `orcrun` in the interpreter and under each policy file, then `lua5.4`
/// if installed. The reference is the last.
pub fn runners(orcrun: &Path, policies: &Path, lua: Option<PathBuf>) -> Vec<Runner> {
    let mut list = vec![Runner { name: "interp".into(), program: orcrun.into(), args: vec!["--tier".into(), "interp".into()] }];
    for policy in ["baseline-only", "optimize-now", "default"] {
        let file = policies.join(format!("{policy}.ron")).to_string_lossy().into_owned();
        list.push(Runner { name: format!("policy:{policy}"), program: orcrun.into(), args: vec!["--no-cache".into(), "--policy".into(), file] });
    }
    if let Some(lua) = lua {
        list.push(Runner { name: "lua5.4".into(), program: lua, args: Vec::new() });
    }
    list
}

/// Runs `file` (in its directory, by its file name, so that error messages name it the
/// same way everywhere) with `runner`.
pub fn run(runner: &Runner, file: &Path) -> Outcome {
    let mut child = Command::new(&runner.program)
        .args(&runner.args)
        .arg(file.file_name().expect("a file name"))
        .current_dir(file.parent().expect("a directory"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", runner.program.display()));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a run") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("waiting for a killed run");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    let stderr = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Outcome { stdout, status: if timed_out { None } else { status.code() }, timed_out, stderr }
}

/// What differs between two outcomes, or None.
pub fn difference(reference: &Outcome, other: &Outcome) -> Option<String> {
    if other.timed_out != reference.timed_out {
        return Some(format!("timed out: {} vs {}", reference.timed_out, other.timed_out));
    }
    if reference.stdout != other.stdout {
        let (r, o) = (String::from_utf8_lossy(&reference.stdout), String::from_utf8_lossy(&other.stdout));
        let (rl, ol): (Vec<&str>, Vec<&str>) = (r.lines().collect(), o.lines().collect());
        let at = rl.iter().zip(&ol).position(|(a, b)| a != b).unwrap_or(rl.len().min(ol.len()));
        return Some(format!(
            "output line {}: expected {:?}, got {:?} (stderr: {})",
            at + 1,
            rl.get(at).unwrap_or(&"<end>"),
            ol.get(at).unwrap_or(&"<end>"),
            other.stderr.lines().last().unwrap_or("")
        ));
    }
    if reference.status != other.status {
        return Some(format!("exit status {:?} vs {:?} (stderr: {})", reference.status, other.status, other.stderr));
    }
    None
}

/// Writes `source` as `dir/prog.lua` and returns the path.
fn write(dir: &Path, source: &str) -> PathBuf {
    let file = dir.join("prog.lua");
    std::fs::write(&file, source).expect("writing a generated program");
    file
}

/// Whether `runner` and `reference` differ on `p` (run in `dir`).
fn differs(p: &Program, dir: &Path, reference: &Runner, runner: &Runner) -> Option<String> {
    let file = write(dir, &p.source());
    difference(&run(reference, &file), &run(runner, &file))
}

/// `p` with statements removed (or blocks flattened) as long as `reference` and
/// `runner` still differ on it.
pub fn minimize(p: &Program, dir: &Path, reference: &Runner, runner: &Runner) -> Program {
    let mut best = p.clone();
    let mut k = 0;
    while k < best.size() {
        let smaller = [false, true].into_iter().filter_map(|flatten| best.without(k, flatten)).find(|c| differs(c, dir, reference, runner).is_some());
        match smaller {
            Some(c) => best = c,
            None => k += 1,
        }
    }
    best
}

/// Generates and checks the program of `seed` in `dir` (a directory of its own):
/// the first run that differs from the reference, minimized.
pub fn check_seed(seed: u64, dir: &Path, runners: &[Runner]) -> Option<Mismatch> {
    let p = program(seed);
    let file = write(dir, &p.source());
    let (reference, others) = runners.split_last().expect("runners");
    let expected = run(reference, &file);
    for runner in others {
        if let Some(difference) = difference(&expected, &run(runner, &file)) {
            let minimized = minimize(&p, dir, reference, runner).source();
            return Some(Mismatch { seed, reference: reference.name.clone(), runner: runner.name.clone(), minimized, difference });
        }
    }
    None
}

/// Checks `seeds` on `jobs` threads, each in its own directory under `dir`; calls
/// `progress(seed, mismatch)` as each finishes. Returns the mismatches, by seed.
pub fn check_seeds(seeds: std::ops::Range<u64>, jobs: usize, dir: &Path, runners: &[Runner], progress: &(dyn Fn(u64, Option<&Mismatch>) + Sync)) -> Vec<Mismatch> {
    let next = std::sync::atomic::AtomicU64::new(seeds.start);
    let found = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for job in 0..jobs.max(1) {
            let (next, found) = (&next, &found);
            let dir = dir.join(format!("job{job}"));
            scope.spawn(move || {
                std::fs::create_dir_all(&dir).expect("a scratch directory");
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if seed >= seeds.end {
                        break;
                    }
                    let m = check_seed(seed, &dir, runners);
                    progress(seed, m.as_ref());
                    if let Some(m) = m {
                        found.lock().unwrap().push(m);
                    }
                }
            });
        }
    });
    let mut found = found.into_inner().unwrap();
    found.sort_by_key(|m| m.seed);
    found
}
