//! `lazyjit`: the facade crate for language frontends. It re-exports the IR builder,
//! the value model, the interpreter and (as later tiers land) the engine and tier policy.
#![deny(missing_docs)]

pub use lazyjit_ir as ir;
