//! Errors raised while running: error values of the language, runtime messages still waiting
//! for a source position, and requests to exit.

use crate::rt::Val;

/// Marks where a runtime message wants the operand's variable description
/// (e.g. ` (local 'x')`); without a marker the description goes at the end.
pub const VARINFO: &str = "\u{1}";

/// An error travelling up the call stack.
#[derive(Debug)]
pub enum VmError {
    /// A finished error value (what `pcall` returns).
    Value(Val),
    /// A message raised by a runtime or native function: the instruction that called it
    /// prefixes `chunk:line:` and fills in the variable description of `operand`.
    Runtime {
        /// The message, possibly with a [`VARINFO`] marker.
        msg: String,
        /// Which operand of the calling instruction the message is about.
        operand: Option<u8>,
    },
    /// `os.exit(code)`: unwinds everything, not catchable.
    Exit(i32),
}

impl VmError {
    /// A runtime message with no operand.
    pub fn msg(msg: impl Into<String>) -> VmError {
        VmError::Runtime { msg: msg.into(), operand: None }
    }

    /// A runtime message about operand `i` of the calling instruction.
    pub fn about(i: u8, msg: impl Into<String>) -> VmError {
        VmError::Runtime { msg: msg.into(), operand: Some(i) }
    }
}

/// Result of running code.
pub type VmResult<T> = Result<T, VmError>;
