//! MIR to LLVM lowering and the ORC session. Filled by the lazy-JIT work; empty for now.
#![deny(missing_docs)]
