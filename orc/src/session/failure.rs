//! What a call into a lazy function whose body cannot be materialized does.
//!
//! When materialization fails, ORC's lazy call-through manager reports the
//! error to the session and then *jumps* to its `ErrorHandlerAddr` instead of
//! the missing body, with the caller's arguments still in their registers and
//! the caller's return address on the stack. The handler therefore runs as if
//! it were the callee, and whatever it returns becomes the result of the
//! failed call. (With an address of 0 the process segfaults.)
//!
//! The default handler, [`lazy_call_failed`], counts the failure in a
//! thread-local counter and returns 0 (in `rax`; `xmm0` is left as it was, so a
//! float-returning callee yields whatever was in `xmm0`). The caller continues
//! normally; host code that called into JIT code checks
//! [`take_failed_lazy_calls`] afterwards to turn the failure into an error. The
//! message itself goes to the session's error log
//! ([`Session::take_errors`](super::Session::take_errors)), because the
//! handler is given no context to tell sessions or callees apart.
//!
//! A frontend that needs the failure to stop the generated code (rather than
//! see a 0) installs its own handler through
//! [`SessionOptions::lazy_call_error_handler`](super::SessionOptions).

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static FAILED_LAZY_CALLS: Cell<u64> = const { Cell::new(0) };
}

/// The value a failed lazy call returns (in `rax`) under the default handler.
pub const FAILED_LAZY_CALL_RESULT: u64 = 0;

/// The default `ErrorHandlerAddr`: entered in place of a lazy function whose
/// body failed to materialize. Counts the failure for this thread and returns
/// [`FAILED_LAZY_CALL_RESULT`] to the original caller.
extern "C" fn lazy_call_failed() -> u64 {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let _ = FAILED_LAZY_CALLS.try_with(|n| n.set(n.get() + 1));
    }));
    FAILED_LAZY_CALL_RESULT
}

/// The address of the default handler, for the call-through manager.
pub(crate) fn default_handler_address() -> u64 {
    lazy_call_failed as extern "C" fn() -> u64 as usize as u64
}

/// How many calls made on this thread reached a lazy function whose body
/// could not be materialized (under the default handler) since the last call
/// of this function; resets the count to 0.
///
/// Each such call returned [`FAILED_LAZY_CALL_RESULT`] to its caller.
pub fn take_failed_lazy_calls() -> u64 {
    FAILED_LAZY_CALLS.try_with(|n| n.replace(0)).unwrap_or(0)
}
