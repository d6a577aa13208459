//! The crate's error type and the conversion of `LLVMErrorRef`s into it.

use std::ffi::CStr;

use llvm_sys::error::{LLVMDisposeErrorMessage, LLVMErrorRef, LLVMGetErrorMessage};

/// Everything that can go wrong in the ORC session layer.
#[derive(Debug, thiserror::Error)]
pub enum OrcError {
    /// An LLVM API call failed; `message` is LLVM's own text.
    #[error("{operation}: {message}")]
    Llvm {
        /// What we were doing, e.g. "look up `f`".
        operation: String,
        /// The message of the `llvm::Error`.
        message: String,
    },
    /// A symbol name contained a NUL byte and cannot cross into C.
    #[error("symbol name {0:?} contains a NUL byte")]
    InvalidName(String),
    /// The module given to `compile_module` failed the LLVM verifier.
    #[error("module `{module}` is invalid LLVM IR: {message}")]
    InvalidModule {
        /// The module's name.
        module: String,
        /// The verifier's report.
        message: String,
    },
    /// Setting up the target or emitting machine code failed.
    #[error("code generation: {0}")]
    Codegen(String),
}

/// Lets a materializer (which returns `Result<_, String>`) use `?` on this
/// crate's functions.
impl From<OrcError> for String {
    fn from(err: OrcError) -> String {
        err.to_string()
    }
}

/// Turns an `LLVMErrorRef` into its message, consuming the error.
///
/// # Safety
/// `err` must be a non-null, not yet consumed `LLVMErrorRef`.
pub(crate) unsafe fn consume_error_message(err: LLVMErrorRef) -> String {
    // SAFETY: the caller hands over a live error; `LLVMGetErrorMessage` consumes
    // it and returns a string that we own until `LLVMDisposeErrorMessage`.
    unsafe {
        let raw = LLVMGetErrorMessage(err);
        if raw.is_null() {
            return String::from("(LLVM gave no error message)");
        }
        let message = CStr::from_ptr(raw).to_string_lossy().into_owned();
        LLVMDisposeErrorMessage(raw);
        message
    }
}

/// `Ok(())` for a null `LLVMErrorRef`, else the error's message under `operation`.
///
/// # Safety
/// `err` must be null or a live, not yet consumed `LLVMErrorRef`; it is consumed.
pub(crate) unsafe fn check(
    err: LLVMErrorRef,
    operation: impl FnOnce() -> String,
) -> Result<(), OrcError> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: non-null and unconsumed by the caller's contract.
    let message = unsafe { consume_error_message(err) };
    Err(OrcError::Llvm {
        operation: operation(),
        message,
    })
}

/// Turns a name into a C string, refusing interior NULs.
pub(crate) fn c_name(name: &str) -> Result<std::ffi::CString, OrcError> {
    std::ffi::CString::new(name).map_err(|_| OrcError::InvalidName(name.to_owned()))
}

/// The text of a panic payload, for reporting a panic caught at an FFI boundary.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(non-string panic payload)")
    }
}
