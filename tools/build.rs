//! Exports LLVM's GDB JIT interface from `orcrun-jit`, which links LLVM statically:
//! `--gdb` registers code through functions ORC looks up in the process by name (see
//! `SessionOptions::debugger_support` in `lazyjit-orc`). Links `orcrun-jit` as a
//! position-dependent executable: as a PIE, its statically linked LLVM carried 118,000
//! relative relocations that the dynamic loader applied on every start (about 190 page
//! faults; `print(1)` 5.9 -> 5.4 ms).

include!("../orc/src/gdb_symbols.rs");

fn main() {
    println!("cargo:rerun-if-changed=../orc/src/gdb_symbols.rs");
    println!("cargo:rustc-link-arg-bin=orcrun-jit=-no-pie");
    for name in GDB_REGISTRATION_SYMBOLS {
        println!("cargo:rustc-link-arg-bin=orcrun-jit=-Wl,--export-dynamic-symbol={name}");
    }
}
