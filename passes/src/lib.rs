//! Optimization passes over MIR. Filled by the optimizing-tier work; empty for now.
#![deny(missing_docs)]
