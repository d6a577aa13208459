//! The tools' global allocator: mimalloc, or the system allocator when the environment
//! has `LAZYJIT_SYSTEM_ALLOC` set. Runtime objects are many and small and programs
//! allocate them at a high rate; mimalloc's size-class free lists serve them several
//! times faster than glibc's malloc (binary-trees spent over 40% of its time in malloc
//! and free). Memcheck, though, sees the bounds of heap blocks only of the system
//! allocator, so `scripts/valgrind.sh` chooses it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// The allocator of a process, chosen on its first allocation.
pub struct ToolAlloc;

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

extern "C" {
    fn getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
}

/// The allocator chosen for the process.
#[inline]
fn chosen() -> &'static dyn GlobalAlloc {
    let system = match CHOICE.load(Ordering::Relaxed) {
        MIMALLOC => false,
        SYSTEM => true,
        _ => {
            // SAFETY: a NUL-terminated name; `getenv` does not allocate. The first
            // allocation happens before the process starts threads, so the choice
            // never changes under an allocated block.
            let system = unsafe { !getenv(c"LAZYJIT_SYSTEM_ALLOC".as_ptr()).is_null() };
            CHOICE.store(if system { SYSTEM } else { MIMALLOC }, Ordering::Relaxed);
            system
        }
    };
    if system {
        &System
    } else {
        &mimalloc::MiMalloc
    }
}

// SAFETY: every call goes to one allocator for the whole process (see `chosen`), and
// both uphold `GlobalAlloc`'s contract.
unsafe impl GlobalAlloc for ToolAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { chosen().alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { chosen().alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the same allocator, chosen once.
        unsafe { chosen().dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from the same allocator, chosen once.
        unsafe { chosen().realloc(ptr, layout, new_size) }
    }
}
