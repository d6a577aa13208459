//! Dispatch slots: per-function code pointers in host memory.
//!
//! The C API can neither repoint a lazy stub nor redefine a symbol, so tier-up
//! goes through a slot instead: generated callers load the slot (acquire) and
//! call the address in it; installing a better version is a release store.
//! The slot is exposed to JIT code as an absolute data symbol whose address is
//! the slot's, i.e. in IR `@name = external global i64` (or `ptr`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A handle to one dispatch slot. Clones share the slot; the session keeps the
/// slot's memory alive for as long as it lives, so JIT code never sees it freed.
#[derive(Clone, Debug)]
pub struct DispatchSlot {
    name: String,
    cell: Arc<AtomicU64>,
}

impl DispatchSlot {
    pub(crate) fn new(name: &str, initial: u64) -> DispatchSlot {
        DispatchSlot {
            name: name.to_owned(),
            cell: Arc::new(AtomicU64::new(initial)),
        }
    }

    pub(crate) fn cell(&self) -> &Arc<AtomicU64> {
        &self.cell
    }

    /// The slot's symbol name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The code address currently installed (acquire load, like JIT callers).
    pub fn target(&self) -> u64 {
        self.cell.load(Ordering::Acquire)
    }

    /// Installs `code` (release store): calls that load the slot afterwards go
    /// there. Calls already past the load finish in the old code, which must
    /// therefore stay valid (ORC never frees code while the session lives).
    pub fn set_target(&self, code: u64) {
        self.cell.store(code, Ordering::Release)
    }

    /// The address of the slot itself (the value of its data symbol).
    pub fn slot_address(&self) -> u64 {
        Arc::as_ptr(&self.cell) as usize as u64
    }
}
