//! Computes `LAZYJIT_BUILD_ID`: a digest of the sources that decide what machine code
//! the engine makes of a function (this crate's and the IR crate's, and the locked
//! dependency versions). Persistent cache keys include it, so code compiled by one
//! build of lazyjit is never loaded by another.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let inputs = ["src", "../ir/src", "../Cargo.lock"];
    let mut files = Vec::new();
    for input in inputs {
        println!("cargo:rerun-if-changed={input}");
        let path = Path::new(input);
        if path.is_dir() {
            collect(path, &mut files);
        } else {
            files.push(path.to_path_buf());
        }
    }
    files.sort();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        h.update(f.to_string_lossy().as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=LAZYJIT_BUILD_ID={version}+{:032x}", h.digest128());
    // The tests of debugger support look LLVM's GDB interface up in the process (as
    // ORC does): export it from the test executables (see
    // `SessionOptions::debugger_support`; the names are `GDB_REGISTRATION_SYMBOLS`).
    for name in GDB_REGISTRATION_SYMBOLS {
        println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic-symbol={name}");
    }
}

include!("src/gdb_symbols.rs");
