//! Every program of `shared/conformance/public` gives exactly the stdout (and exit
//! status, and stderr lines) `lua5.4` gives, in every tier: `orcrun --tier interp` and
//! `orcrun --tier baseline` (one trial per program and tier, named `tier/program`), and
//! in the JIT with a collection at every safepoint (`gc-stress/program`,
//! `LAZYJIT_GC_STRESS=1`), which catches a value compiled code needs but keeps only in
//! a register across a collection.

use lazyjit_tests::{strs, tier_args, first_difference, orcrun_in_env, shared, TIERS};
use libtest_mimic::{Arguments, Failed, Trial};

/// The pseudo-tier of the JIT under collection stress.
const GC_STRESS: &str = "gc-stress";

fn check(dir: &std::path::Path, name: &str, tier: &str) -> Result<(), Failed> {
    let read = |ext: &str| std::fs::read(dir.join(format!("{name}.{ext}"))).ok();
    let stdin = read("stdin").unwrap_or_default();
    let (tier, env): (&str, &[(&str, &str)]) =
        if tier == GC_STRESS { ("policy:optimize-now", &[("LAZYJIT_GC_STRESS", "1")]) } else { (tier, &[]) };
    let out = orcrun_in_env(dir, &strs(&tier_args(tier, &[&format!("{name}.lua")])), &stdin, env);
    let mut problems = Vec::new();
    let expected = read("expected").unwrap_or_default();
    if out.stdout != expected {
        problems.push(format!("stdout differs: {}", first_difference(&expected, &out.stdout)));
    }
    let want_status: i32 = read("status").map_or(0, |s| String::from_utf8_lossy(&s).trim().parse().unwrap_or(-1));
    if out.status.code() != Some(want_status) {
        problems.push(format!("exit status {:?}, expected {want_status}", out.status.code()));
    }
    if let Some(lines) = read("stderr") {
        let err = String::from_utf8_lossy(&out.stderr);
        for line in String::from_utf8_lossy(&lines).lines().filter(|l| !l.is_empty()) {
            if !err.contains(line) {
                problems.push(format!("stderr lacks {line:?}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\nstderr: {}", problems.join("\n"), String::from_utf8_lossy(&out.stderr)).into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = shared().join("conformance/public");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("conformance directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".lua")).map(String::from))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no conformance programs found");
    let trials = TIERS
        .iter()
        .chain(std::iter::once(&GC_STRESS))
        .flat_map(|&tier| names.iter().map(move |name| (tier, name.clone())))
        .map(|(tier, name)| {
            let dir = dir.clone();
            Trial::test(format!("{tier}/{name}"), move || check(&dir, &name, tier))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
