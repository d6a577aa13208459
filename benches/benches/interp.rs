//! The interpreter on the benchmark programs at their SMALL sizes: `orcrun --tier
//! interp` end to end (process start, compile, run), output discarded.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

fn orcrun() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args(["build", "-q", "--release", "-p", "lazyjit-tools", "--bins"])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building orcrun failed");
    workspace().join("target/release/orcrun")
}

fn small_size(source: &str) -> Option<String> {
    let at = source.find("SMALL:")?;
    let digits: String = source[at + 6..].trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
    (!digits.is_empty()).then_some(digits)
}

fn interpreter(c: &mut Criterion) {
    let orcrun = orcrun();
    let dir = workspace().join("../shared/bench/public");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("../shared/bench/public")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    files.sort();
    let mut group = c.benchmark_group("interp-small");
    group.sample_size(10);
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        let Some(size) = small_size(&source) else { continue };
        let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        group.bench_function(&name, |b| {
            b.iter(|| {
                let status = Command::new(&orcrun)
                    .args(["--tier", "interp"])
                    .arg(&file)
                    .arg(&size)
                    .current_dir(&dir)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run orcrun");
                assert!(status.success());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, interpreter);
criterion_main!(benches);
