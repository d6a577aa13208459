//! `orcrun`: runs a Lua program (see `cli.rs` for the options). This binary links no
//! LLVM: it runs the interpreter itself (`--tier interp`, `--emit mir`) and executes
//! `orcrun-jit` in its place for compiling tiers (the default).

#[path = "../cli.rs"]
mod cli;

#[path = "../repl.rs"]
mod repl;

#[path = "../alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOCATOR: alloc::ToolAlloc = alloc::ToolAlloc;

fn main() -> std::process::ExitCode {
    cli::main_with(None)
}
