//! Exports LLVM's GDB JIT interface from `orcrun-jit`, which links LLVM statically:
//! `--gdb` registers code through functions ORC looks up in the process by name (see
//! `SessionOptions::debugger_support` in `lazyjit-orc`).

include!("../orc/src/gdb_symbols.rs");

fn main() {
    println!("cargo:rerun-if-changed=../orc/src/gdb_symbols.rs");
    for name in GDB_REGISTRATION_SYMBOLS {
        println!("cargo:rustc-link-arg-bin=orcrun-jit=-Wl,--export-dynamic-symbol={name}");
    }
}
