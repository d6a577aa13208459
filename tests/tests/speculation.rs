//! Programs whose values change type, shape or identity while optimized code runs
//! (`tests/lua/speculation/*.lua`) give exactly what `lua5.4` gives in every tier; under
//! `policies/optimize-now.ron` (functions optimized at their second call), a program
//! whose first line says `-- expect-deopts: N` must also have deoptimized at least N
//! times (its statistics say so): its speculation was made, failed, and was recovered
//! from.

use std::path::Path;

use lazyjit_tests::{in_every_tier, lua_programs, first_difference, orcrun_in, run_in, strs, tier_args, which, workspace};
use libtest_mimic::{Arguments, Failed, Trial};

const OPTIMIZE_NOW: &str = "policy:optimize-now";

fn check(dir: &Path, file: &str, tier: &str) -> Result<(), Failed> {
    let lua = which("lua5.4").ok_or("lua5.4 is not installed (./x test installs it)")?;
    let want = run_in(dir, &lua, &[file], b"");
    let stats = std::env::temp_dir().join(format!("lazyjit-spec-{}-{file}-{}.json", std::process::id(), tier.replace(':', "-")));
    let stats_path = stats.to_string_lossy().into_owned();
    let got = orcrun_in(dir, &strs(&tier_args(tier, &["--stats-json", &stats_path, file])), b"");
    if got.stdout != want.stdout {
        return Err(format!("stdout: {}", first_difference(&want.stdout, &got.stdout)).into());
    }
    if got.status.code() != want.status.code() {
        return Err(format!("exit status {:?}, lua5.4 {:?}", got.status.code(), want.status.code()).into());
    }
    let json = std::fs::read_to_string(&stats).map_err(|e| format!("no statistics: {e}"))?;
    let _ = std::fs::remove_file(&stats);
    let source = std::fs::read_to_string(dir.join(file)).map_err(|e| e.to_string())?;
    let expected = source.lines().next().and_then(|l| l.strip_prefix("-- expect-deopts:")).map(|n| n.trim().parse::<u64>());
    if let (OPTIMIZE_NOW, Some(n)) = (tier, expected) {
        let n = n.map_err(|e| format!("bad expect-deopts line: {e}"))?;
        let deopts = json
            .split("\"deopts\":")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| format!("no deopt count in {json}"))?;
        if deopts < n {
            return Err(format!("{deopts} deoptimizations, expected at least {n}: {json}").into());
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = workspace().join("tests/lua/speculation");
    let files = lua_programs(&dir);
    let trials = in_every_tier(&files, |name, tier, file| {
        let dir = dir.clone();
        Trial::test(name, move || check(&dir, &file, tier))
    });
    libtest_mimic::run(&args, trials).exit();
}
