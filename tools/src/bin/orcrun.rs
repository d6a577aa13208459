//! `orcrun`: runs a Lua program (see `cli.rs` for the options). This binary links no
//! LLVM; compiling tiers run in `orcrun-jit`, which it executes in its place.

#[path = "../cli.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main_with(None)
}
