//! The tools' global allocator: mimalloc, or the system allocator when the environment
//! has `LAZYJIT_SYSTEM_ALLOC` set. Runtime objects are many and small and programs
//! allocate them at a high rate; mimalloc's size-class free lists serve them several
//! times faster than glibc's malloc (binary-trees spent over 40% of its time in malloc
//! and free). Memcheck, though, sees the bounds of heap blocks only of the system
//! allocator, so `scripts/valgrind.sh` chooses it.
//!
//! Blocks of [`LARGE`] bytes or more (a big table's array part) go to the system
//! allocator either way, which maps each one by itself (`M_MMAP_THRESHOLD` is fixed at
//! `LARGE`) and grows it with `mremap`: a growing array keeps its pages instead of being
//! copied into fresh ones, each of which the kernel clears on first touch (filling a
//! 3,000,000-element array spent 0.1 to 0.5 s in the kernel's page clearing with
//! mimalloc, under 0.05 s so).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// The allocator of a process, chosen on its first allocation.
pub struct ToolAlloc;

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// The size from which blocks are the system allocator's, each mapped by itself.
pub const LARGE: usize = 1 << 20;

/// glibc's `mallopt` parameter for the size from which blocks are mapped by themselves.
const M_MMAP_THRESHOLD: std::ffi::c_int = -3;

extern "C" {
    fn getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
    fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
}

/// The allocator of a block of `size` bytes.
#[inline]
fn allocator(size: usize) -> &'static dyn GlobalAlloc {
    if size >= LARGE {
        &System
    } else {
        chosen()
    }
}

/// The allocator chosen for the process (for blocks under [`LARGE`] bytes).
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
            // SAFETY: sets one of glibc's malloc parameters, before any other thread runs.
            unsafe { mallopt(M_MMAP_THRESHOLD, LARGE as std::ffi::c_int) };
            CHOICE.store(if system { SYSTEM } else { MIMALLOC }, Ordering::Relaxed);
            system
        }
    };
    if system {
        &System
    } else {
        &Mimalloc
    }
}

/// mimalloc, asked for blocks by size alone when their alignment is at most 8 (any
/// block is: its size classes are multiples of 8), and by size and alignment
/// otherwise. (`mimalloc::MiMalloc` asks for every block by both. When the size
/// class's page has no free block, mimalloc's aligned entry takes a block of a larger
/// class for any size that is not a power of two, so that class never gets a page of
/// its own and every allocation of that size takes its slow path: with 112-byte
/// tables, binary-trees took 0.47 s that way, 0.45 s this way.)
struct Mimalloc;

extern "C" {
    fn mi_malloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_zalloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_realloc(p: *mut std::ffi::c_void, size: usize) -> *mut std::ffi::c_void;
}

/// The alignment every mimalloc block has.
const MI_ALIGN: usize = 8;

// SAFETY: blocks of alignment at most `MI_ALIGN` come from `mi_malloc` (aligned so) and
// the rest from `MiMalloc`; both free with `mi_free` (which `MiMalloc::dealloc` is), so
// a block may be freed or reallocated whichever way it was made.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MI_ALIGN {
            // SAFETY: a nonzero size (the caller's).
            unsafe { mi_malloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MI_ALIGN {
            // SAFETY: as in `alloc`.
            unsafe { mi_zalloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: a mimalloc block.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MI_ALIGN {
            // SAFETY: a mimalloc block; a nonzero size (the caller's).
            unsafe { mi_realloc(ptr as *mut std::ffi::c_void, new_size) as *mut u8 }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

// SAFETY: a block's allocator follows from its size (see `allocator`, whose choice for
// small blocks is made once per process), which every call is given; a block that
// changes sides in `realloc` is moved; both allocators uphold `GlobalAlloc`'s contract.
unsafe impl GlobalAlloc for ToolAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { allocator(layout.size()).alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { allocator(layout.size()).alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the allocator its size chooses.
        unsafe { allocator(layout.size()).dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (from, to) = (allocator(layout.size()), allocator(new_size));
        // (Both allocators are zero-sized: their references cannot be compared.)
        if (layout.size() >= LARGE) == (new_size >= LARGE) {
            // SAFETY: `ptr` came from `from`.
            return unsafe { from.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees a valid new size for `layout`'s alignment; the
        // old block is `layout.size()` bytes from `from`.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let moved = to.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                from.dealloc(ptr, layout);
            }
            moved
        }
    }
}
