//! Every benchmark program at its SMALL size prints what `lua5.4` prints, in every tier.

use std::path::Path;

use lazyjit_tests::{strs, tier_args, first_difference, orcrun_in, run_in, shared, which, TIERS};
use libtest_mimic::{Arguments, Failed, Trial};

/// The SMALL size from a program's header comment (`SMALL: 11`).
fn small_size(source: &str) -> Option<String> {
    let at = source.find("SMALL:")?;
    let rest = source[at + 6..].trim_start();
    Some(rest.split(|c: char| !c.is_ascii_digit()).next()?.to_string()).filter(|s| !s.is_empty())
}

fn check(dir: &Path, file: &str, size: &str, tier: &str) -> Result<(), Failed> {
    let lua = which("lua5.4").ok_or("lua5.4 is not installed (./x test installs it)")?;
    let want = run_in(dir, &lua, &[file, size], b"");
    if !want.status.success() {
        return Err(format!("lua5.4 failed: {}", String::from_utf8_lossy(&want.stderr)).into());
    }
    let got = orcrun_in(dir, &strs(&tier_args(tier, &[file, size])), b"");
    if !got.status.success() {
        return Err(format!("orcrun failed: {}", String::from_utf8_lossy(&got.stderr)).into());
    }
    if got.stdout != want.stdout {
        return Err(first_difference(&want.stdout, &got.stdout).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = shared().join("bench/public");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("bench directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().filter(|n| n.ends_with(".lua")).map(String::from))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no benchmark programs found");
    let trials = TIERS
        .iter()
        .flat_map(|&tier| files.iter().map(move |f| (tier, f.clone())))
        .map(|(tier, file)| {
            let dir = dir.clone();
            let source = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
            let size = small_size(&source);
            Trial::test(format!("{tier}/{}", file.trim_end_matches(".lua")), move || {
                let size = size.ok_or("no SMALL size in the header")?;
                check(&dir, &file, &size, tier)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
