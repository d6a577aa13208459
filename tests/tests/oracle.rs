//! The project's own Lua programs (`tests/lua/*.lua`) give exactly what `lua5.4` gives
//! (stdout and exit status), run live against the oracle, in every tier.

use std::path::Path;

use lazyjit_tests::{first_difference, orcrun_in, run_in, which, workspace, TIERS};
use libtest_mimic::{Arguments, Failed, Trial};

fn check(dir: &Path, file: &str, tier: &str) -> Result<(), Failed> {
    let lua = which("lua5.4").ok_or("lua5.4 is not installed (./x test installs it)")?;
    let want = run_in(dir, &lua, &[file], b"");
    let got = orcrun_in(dir, &["--tier", tier, file], b"");
    if got.stdout != want.stdout {
        return Err(format!("stdout: {}", first_difference(&want.stdout, &got.stdout)).into());
    }
    if got.status.code() != want.status.code() {
        return Err(format!("exit status {:?}, lua5.4 {:?}", got.status.code(), want.status.code()).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = workspace().join("tests/lua");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/lua")
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.ends_with(".lua")).map(String::from))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no programs in tests/lua");
    let trials = TIERS
        .iter()
        .flat_map(|&tier| files.iter().map(move |f| (tier, f.clone())))
        .map(|(tier, file)| {
            let dir = dir.clone();
            Trial::test(format!("{tier}/{}", file.trim_end_matches(".lua")), move || check(&dir, &file, tier))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
