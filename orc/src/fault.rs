//! Injected faults, for testing that a failure costs time and never a result.
//!
//! `LAZYJIT_FAIL_LLVM=N` (read once per process) makes every Nth compilation of a
//! function body by LLVM fail as if LLVM had reported an error (`1`: every one). The
//! engine then does what it does for a real failure: the session's error log records
//! it and the function runs in the interpreter (see the engine's stand-in body).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The variable that injects LLVM failures.
pub const LLVM_FAILURES: &str = "LAZYJIT_FAIL_LLVM";

/// Whether this compilation is to fail.
pub(crate) fn llvm_fails() -> bool {
    static EVERY: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let every = *EVERY.get_or_init(|| std::env::var(LLVM_FAILURES).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0));
    every != 0 && (COUNT.fetch_add(1, Ordering::Relaxed) + 1) % every == 0
}
