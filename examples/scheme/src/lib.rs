//! A Scheme subset on lazyjit, built on the facade crate alone: a reader, special forms
//! and scopes ([`syntax`]), lowering to generic MIR ([`lower`]) and a runtime of
//! runtime functions with declared fast paths ([`runtime`]). `README.md` beside this
//! crate says what the language has.

pub mod lower;
pub mod reader;
pub mod runtime;
pub mod syntax;

use lazyjit::mir::Module;
use lazyjit::{Jit, JitBuilder};

pub use reader::Diagnostic;

/// Reads, resolves and lowers a program to a MIR module named `file`.
pub fn compile(source: &str, file: &str) -> Result<Module, Diagnostic> {
    let forms = reader::read(source, file)?;
    let program = syntax::resolve(&forms, file)?;
    Ok(lower::lower(&program, file))
}

/// A builder for a [`Jit`] with the Scheme runtime's functions.
pub fn jit_builder() -> JitBuilder {
    Jit::builder(runtime::registry())
}

/// Installs the Scheme runtime in `jit`'s VM (once, before loading programs).
pub fn install(jit: &mut Jit) {
    runtime::install(jit.vm());
}

/// Native stack for programs: compiled procedures recurse on it.
pub const STACK_BYTES: usize = 1 << 30;

/// Compiles `source` and runs it in `jit` (prepared with [`install`]); what it displays
/// is buffered in the VM ([`runtime::take_output`], [`runtime::flush`]).
pub fn run(jit: &mut Jit, source: &str, file: &str) -> Result<(), String> {
    let module = compile(source, file).map_err(|e| e.to_string())?;
    let main = jit.load(module).map_err(|e| format!("{file}: {e}"))?;
    main.call(jit, ()).map_err(|e| e.to_string())
}
