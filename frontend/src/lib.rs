//! `lazyjit-lua`: the reference frontend. Lua 5.4 subset source goes in, a generic MIR
//! module comes out; the Lua runtime library is registered with the engine as runtime
//! functions.
#![deny(missing_docs)]

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod lualib;
pub mod parser;
pub mod runtime;
pub mod driver;
pub mod lower;

/// Parses and lowers a chunk to a generic MIR module named `chunkname`.
pub fn compile(source: &[u8], chunkname: &str) -> Result<lazyjit::mir::Module, diag::Diagnostic> {
    let chunk = parser::parse(source, chunkname)?;
    Ok(lower::lower_chunk(&chunk, chunkname))
}
