//! `orcrun`: runs a Lua program (see `cli.rs` for the options). This binary links no
//! LLVM: it runs the interpreter itself (`--tier interp`, `--emit mir`) and executes
//! `orcrun-jit` in its place for compiling tiers (the default).

#[path = "../cli.rs"]
mod cli;

/// Runtime objects are many and small, and programs allocate them at a high rate:
/// mimalloc's size-class free lists serve them several times faster than the system
/// allocator (binary-trees spent over 40% of its time in glibc's malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main_with(None)
}
