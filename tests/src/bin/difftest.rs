//! The long differential run: generated programs checked across the tiers and against
//! `lua5.4` (see `lazyjit_tests::differential`).
//!
//! ```text
//! cargo build --release -p lazyjit-tools --bins
//! cargo run --release -p lazyjit-tests --bin difftest -- [--seeds A..B] [--jobs N] [--no-lua]
//! cargo run --release -p lazyjit-tests --bin difftest -- --print SEED
//! ```
//! `--seeds` (default 0..1000) are checked on `--jobs` threads (default: the CPUs);
//! each mismatch is printed with its seed and minimized program as it is found; the
//! exit status is 1 if any was. `--print SEED` prints the program of one seed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use lazyjit_tests::differential::{check_seeds, runners};
use lazyjit_tests::{which, workspace};

fn parse_range(s: &str) -> Option<std::ops::Range<u64>> {
    let (a, b) = s.split_once("..")?;
    Some(a.parse().ok()?..b.parse().ok()?)
}

fn main() -> ExitCode {
    let mut seeds = 0..1000;
    let mut jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut lua = true;
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--seeds" => match argv.next().as_deref().and_then(parse_range) {
                Some(r) => seeds = r,
                None => return usage("--seeds needs A..B"),
            },
            "--jobs" => match argv.next().and_then(|n| n.parse().ok()) {
                Some(n) => jobs = n,
                None => return usage("--jobs needs a number"),
            },
            "--no-lua" => lua = false,
            "--print" => match argv.next().and_then(|n| n.parse().ok()) {
                Some(seed) => {
                    print!("{}", lazyjit_tests::gen::program(seed).source());
                    return ExitCode::SUCCESS;
                }
                None => return usage("--print needs a seed"),
            },
            other => return usage(&format!("unknown argument '{other}'")),
        }
    }
    let orcrun = std::env::current_exe().expect("own path").with_file_name("orcrun");
    if !orcrun.is_file() {
        eprintln!("difftest: {} is missing: cargo build --release -p lazyjit-tools --bins", orcrun.display());
        return ExitCode::from(2);
    }
    let lua = if lua { which("lua5.4") } else { None };
    let runners = runners(&orcrun, &workspace().join("policies"), lua);
    let names: Vec<&str> = runners.iter().map(|r| r.name.as_str()).collect();
    eprintln!("difftest: seeds {}..{} on {jobs} threads; runs: {}", seeds.start, seeds.end, names.join(", "));
    let dir: PathBuf = std::env::temp_dir().join(format!("lazyjit-difftest-{}", std::process::id()));
    let total = (seeds.end - seeds.start) as usize;
    let done = AtomicUsize::new(0);
    let start = std::time::Instant::now();
    let found = check_seeds(seeds, jobs, &dir, &runners, &|_, mismatch| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(m) = mismatch {
            println!("{m}");
        }
        if n % 100 == 0 || n == total {
            eprintln!("difftest: {n}/{total} programs, {:.0} s", start.elapsed().as_secs_f64());
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("difftest: {total} programs checked, {} mismatches", found.len());
    if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("difftest: {msg}\nusage: difftest [--seeds A..B] [--jobs N] [--no-lua] | --print SEED");
    ExitCode::from(2)
}
