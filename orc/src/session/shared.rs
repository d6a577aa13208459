//! State shared between a [`Session`](super::Session) and the callbacks LLVM
//! makes on its behalf: the error log and the materialization counters.
//!
//! It lives in an `Arc` whose raw pointer is the error reporter's context, so
//! the session keeps it alive until after the LLJIT is disposed (the session
//! still reports errors while it shuts down).

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use llvm_sys::error::LLVMErrorRef;

use crate::error::consume_error_message;

/// Counters of one session's lazy materializations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Materializers started (each lazy function's at most once).
    pub materializer_runs: u64,
    /// Materializers that returned an error or panicked. Objects that were
    /// returned but then failed to link are reported through
    /// [`Session::take_errors`](super::Session::take_errors) instead.
    pub materializer_failures: u64,
    /// Nanoseconds spent emitting (linking) materialized objects.
    pub link_ns: u64,
}

#[derive(Default)]
pub(crate) struct Shared {
    errors: Mutex<Vec<String>>,
    materializer_runs: AtomicU64,
    materializer_failures: AtomicU64,
    link_ns: AtomicU64,
}

impl Shared {
    pub(crate) fn count_link(&self, took: std::time::Duration) {
        self.link_ns.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    pub(crate) fn record_error(&self, message: String) {
        self.errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(message);
    }

    pub(crate) fn take_errors(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .errors
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    pub(crate) fn count_run(&self) {
        self.materializer_runs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_failure(&self, message: String) {
        self.materializer_failures.fetch_add(1, Ordering::Relaxed);
        self.record_error(message);
    }

    pub(crate) fn stats(&self) -> SessionStats {
        SessionStats {
            materializer_runs: self.materializer_runs.load(Ordering::Relaxed),
            materializer_failures: self.materializer_failures.load(Ordering::Relaxed),
            link_ns: self.link_ns.load(Ordering::Relaxed),
        }
    }
}

/// The execution session's error reporter: records the message instead of
/// printing it (LLVM's default) so that callers and tests can see it.
///
/// `ctx` is `Arc::as_ptr` of the session's `Shared`.
pub(crate) extern "C" fn report_error(ctx: *mut std::ffi::c_void, err: LLVMErrorRef) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: LLVM hands us ownership of a live error.
        let message = unsafe { consume_error_message(err) };
        // SAFETY: `ctx` points to the session's `Shared`, which outlives the
        // execution session (see the module docs).
        let shared = unsafe { &*(ctx as *const Shared) };
        shared.record_error(message);
    }));
}
