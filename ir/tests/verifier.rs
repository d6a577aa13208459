//! Verifier tests from files: every `tests/verifier/*.mir` is parsed and verified. Lines
//! `; error: SUBSTRING` list the expected errors: each must match (as a substring) some
//! error's message or its `Display`, and every error must be matched by one of them. A
//! file without `; error:` lines must verify clean. Every file must also survive print ->
//! parse -> print unchanged.

use std::path::{Path, PathBuf};

use lazyjit_ir::{parse_module, print_module, verify_module};
use libtest_mimic::{Arguments, Failed, Trial};

fn check_file(path: &Path) -> Result<(), Failed> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let expected: Vec<&str> =
        src.lines().filter_map(|l| l.trim_start().strip_prefix("; error:")).map(str::trim).collect();
    let m = parse_module(&src).map_err(|e| format!("{}:{e}", path.display()))?;

    let printed = print_module(&m);
    let reparsed = parse_module(&printed).map_err(|e| format!("printed module does not parse: {e}\n{printed}"))?;
    if print_module(&reparsed) != printed {
        return Err(format!("print -> parse -> print is not the identity:\n{printed}").into());
    }

    let errors = verify_module(&m).err().unwrap_or_default();
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let listing = || if shown.is_empty() { "  (none)".to_string() } else { format!("  {}", shown.join("\n  ")) };
    for want in &expected {
        if !errors.iter().zip(&shown).any(|(e, s)| e.message.contains(want) || s.contains(want)) {
            return Err(format!("expected an error containing {want:?}; the verifier reported:\n{}", listing()).into());
        }
    }
    for (e, s) in errors.iter().zip(&shown) {
        if !expected.iter().any(|want| e.message.contains(want) || s.contains(want)) {
            return Err(format!("unexpected error: {s}\nall errors:\n{}", listing()).into());
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/verifier");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mir"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "expected at least 20 verifier test files, found {}", files.len());
    let trials = files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Trial::test(name, move || check_file(&p))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
