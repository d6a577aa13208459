//! The project's own Lua programs (`tests/lua/*.lua`) give exactly what `lua5.4` gives
//! (stdout and exit status), run live against the oracle, in every tier.

use std::path::Path;

use lazyjit_tests::{in_every_tier, lua_programs, strs, tier_args, first_difference, orcrun_in, run_in, which, workspace};
use libtest_mimic::{Arguments, Failed, Trial};

fn check(dir: &Path, file: &str, tier: &str) -> Result<(), Failed> {
    let lua = which("lua5.4").ok_or("lua5.4 is not installed (./x test installs it)")?;
    let want = run_in(dir, &lua, &[file], b"");
    let got = orcrun_in(dir, &strs(&tier_args(tier, &[file])), b"");
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
    let files = lua_programs(&dir);
    let trials = in_every_tier(&files, |name, tier, file| {
        let dir = dir.clone();
        Trial::test(name, move || check(&dir, &file, tier))
    });
    libtest_mimic::run(&args, trials).exit();
}
