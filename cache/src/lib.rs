//! The persistent, content-addressed object-code cache. Filled by the cache work; empty for now.
#![deny(missing_docs)]
