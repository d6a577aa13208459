//! The garbage-collected heap: a stop-the-world mark-and-sweep collector.
//!
//! Every object starts with a [`GcHeader`] and is owned by the heap's object list.
//! Collection runs only at safepoints (function entry, loop back-edges and explicit
//! requests), never in the middle of an allocation, so a runtime function may allocate
//! freely without rooting its temporaries.
//!
//! Roots are found two ways:
//! - *precisely*: the globals table, the registry and each loaded module's constants;
//! - *conservatively*: the interpreter's value stack and the native stack (with the
//!   callee-saved registers spilled onto it) are scanned word by word, and any word equal
//!   to the address of a live object keeps that object alive. This asks nothing of
//!   JIT-compiled code (no stack maps) and covers the temporaries of Rust runtime
//!   functions that call back into Lua. Because a word is only trusted after it is found
//!   in the sorted list of object addresses, stale slots are harmless: they can at worst
//!   keep an object alive one cycle longer.
//!
//! The heap of objects themselves is traced precisely, by kind.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::object::{Cell, Closure, LStr, Pack, Table};
use super::value::{Tag, Val};

/// The kind of a heap object (its header says what it is; a value's tag may be stale).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Kind {
    /// [`LStr`].
    Str,
    /// [`Table`].
    Table,
    /// [`Closure`].
    Closure,
    /// [`Cell`].
    Cell,
    /// [`Pack`].
    Pack,
    /// A frontend's own object ([`super::host::HostBox`]).
    Host,
}

impl Kind {
    /// The value tag of objects of this kind.
    pub fn tag(self) -> Tag {
        match self {
            Kind::Str => Tag::Str,
            Kind::Table => Tag::Table,
            Kind::Closure => Tag::Func,
            Kind::Cell => Tag::Cell,
            Kind::Pack => Tag::Pack,
            Kind::Host => Tag::Object,
        }
    }
}

/// The header every heap object starts with.
#[repr(C)]
pub struct GcHeader {
    /// What the object is.
    pub kind: Kind,
    marked: bool,
    /// Never collected (module constants).
    pub fixed: bool,
}

impl GcHeader {
    /// A fresh header.
    pub fn new(kind: Kind) -> GcHeader {
        GcHeader { kind, marked: false, fixed: false }
    }
}

/// Collector statistics.
#[derive(Clone, Copy, Debug, Default)]
pub struct GcStats {
    /// Completed collections.
    pub collections: u64,
    /// Objects freed in total.
    pub freed: u64,
}

/// The heap: every live object, the byte account and the collection threshold.
pub struct Heap {
    objects: Vec<*mut GcHeader>,
    /// Estimated bytes in live objects (headers, strings, table parts).
    pub bytes: usize,
    /// Atomic only so that an [`crate::interp::Interrupter`] on another thread can set
    /// it to 0 (every safepoint then takes its slow path); the VM's thread reads and
    /// writes it with relaxed operations, which are plain moves.
    threshold: AtomicUsize,
    /// Statistics.
    pub stats: GcStats,
    gray: Vec<*mut GcHeader>,
    /// Print a line per collection on stderr (`LAZYJIT_GC_TRACE=1`).
    pub trace: bool,
    /// Collect at every safepoint (`LAZYJIT_GC_STRESS=1`): finds values compiled code or
    /// a runtime function holds without rooting them. Very slow.
    stress: bool,
}

/// Bits of the filter that rules out objects no conservative word points to.
const CANDIDATE_FILTER_BITS: usize = 1 << 16;

/// The filter bit of an address (the lowest bits of object addresses vary little, so
/// they are dropped and higher ones folded in).
#[inline]
fn candidate_bit(address: usize) -> usize {
    ((address >> 4) ^ (address >> 20)) % CANDIDATE_FILTER_BITS
}

/// Collections start once the heap is this large, whatever survived the last one.
const MIN_THRESHOLD: usize = 1 << 20;

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    /// An empty heap.
    pub fn new() -> Heap {
        let stress = std::env::var_os("LAZYJIT_GC_STRESS").is_some_and(|v| v == "1");
        Heap {
            objects: Vec::new(),
            bytes: 0,
            threshold: AtomicUsize::new(if stress { 0 } else { MIN_THRESHOLD }),
            stats: GcStats::default(),
            gray: Vec::new(),
            trace: std::env::var_os("LAZYJIT_GC_TRACE").is_some_and(|v| v == "1"),
            stress,
        }
    }

    /// Byte offsets of [`Heap::bytes`] and of the collection threshold in a `Heap`, for
    /// compiled code that checks [`Heap::wants_collection`] inline.
    pub const BYTES_OFFSET: usize = std::mem::offset_of!(Heap, bytes);
    /// See [`Heap::BYTES_OFFSET`].
    pub const THRESHOLD_OFFSET: usize = std::mem::offset_of!(Heap, threshold);

    /// Whether enough has been allocated since the last collection to run one.
    #[inline]
    pub fn wants_collection(&self) -> bool {
        self.bytes >= self.threshold.load(Ordering::Relaxed)
    }

    /// The collection threshold, for an interrupter to zero.
    pub(crate) fn threshold_cell(&self) -> &AtomicUsize {
        &self.threshold
    }

    /// Number of live objects.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// Takes ownership of a boxed object.
    pub fn adopt<T>(&mut self, obj: Box<T>, extra_bytes: usize) -> *mut T {
        let p = Box::into_raw(obj);
        self.objects.push(p as *mut GcHeader);
        self.bytes += std::mem::size_of::<T>() + extra_bytes;
        p
    }

    /// Takes ownership of an object made some other way than in a `Box` (its kind's
    /// free function releases it, see `free_object`), of `bytes` bytes in all.
    pub fn adopt_raw<T>(&mut self, p: *mut T, bytes: usize) -> *mut T {
        self.objects.push(p as *mut GcHeader);
        self.bytes += bytes;
        p
    }

    /// Accounts for memory an object grew by (e.g. a table's array part).
    #[inline]
    pub fn account(&mut self, bytes: usize) {
        self.bytes += bytes;
    }

    /// Runs a full collection. `roots` marks the precise roots through the [`Marker`];
    /// `conservative` lists memory ranges (as word slices) to scan conservatively.
    pub fn collect(&mut self, roots: impl FnOnce(&mut Marker), conservative: &[&[usize]]) {
        let mut marker = Marker { gray: std::mem::take(&mut self.gray), candidates: Vec::new() };
        roots(&mut marker);
        // Conservative words: sort the candidates (few) rather than the objects (many),
        // then find each object's address among them.
        let mut candidates = std::mem::take(&mut marker.candidates);
        for range in conservative {
            candidates.extend(range.iter().copied().filter(|&w| w != 0 && w % 8 == 0));
        }
        candidates.sort_unstable();
        candidates.dedup();
        if !candidates.is_empty() {
            // Most objects are no candidate: a bit per hashed address (false positives
            // only) rules them out before the search.
            let mut filter = vec![0u64; CANDIDATE_FILTER_BITS / 64];
            for &c in &candidates {
                let h = candidate_bit(c);
                filter[h / 64] |= 1 << (h % 64);
            }
            for &p in &self.objects {
                let h = candidate_bit(p as usize);
                if filter[h / 64] & (1 << (h % 64)) != 0 && candidates.binary_search(&(p as usize)).is_ok() {
                    marker.mark_ptr(p);
                }
            }
        }
        marker.drain();
        self.gray = marker.gray;
        self.sweep();
        self.stats.collections += 1;
        let before = self.threshold.load(Ordering::Relaxed);
        self.threshold.store(if self.stress { 0 } else { (self.bytes * 2).max(MIN_THRESHOLD) }, Ordering::SeqCst);
        if self.trace {
            eprintln!(
                "gc #{}: threshold {} KiB -> live {} KiB in {} objects, next at {} KiB",
                self.stats.collections,
                before / 1024,
                self.bytes / 1024,
                self.objects.len(),
                self.threshold.load(Ordering::Relaxed) / 1024
            );
        }
    }

    fn sweep(&mut self) {
        let mut live_bytes = 0usize;
        let mut freed = 0u64;
        self.objects.retain(|&p| {
            // SAFETY: every pointer in `objects` is a live object this heap owns.
            let hdr = unsafe { &mut *p };
            if hdr.marked || hdr.fixed {
                hdr.marked = false;
                live_bytes += unsafe { object_size(p) };
                true
            } else {
                unsafe { free_object(p) };
                freed += 1;
                false
            }
        });
        self.bytes = live_bytes;
        self.stats.freed += freed;
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        for &p in &self.objects {
            // SAFETY: the heap owns every object; nothing uses them after the heap goes.
            unsafe { free_object(p) };
        }
    }
}

/// Marks reachable objects during a collection.
pub struct Marker {
    gray: Vec<*mut GcHeader>,
    /// Words that may be object addresses, checked against the object list.
    candidates: Vec<usize>,
}

impl Marker {
    /// Marks the object a value refers to (if any).
    #[inline]
    pub fn mark_val(&mut self, v: Val) {
        if v.tag().is_heap() {
            self.mark_ptr(v.payload() as *mut GcHeader);
        }
    }

    /// Marks an object known to be live. (It is queued without reading it: the
    /// collector reads it later, after prefetching it.)
    #[inline]
    pub fn mark_ptr(&mut self, p: *mut GcHeader) {
        if !p.is_null() {
            self.gray.push(p);
        }
    }

    /// Marks the object at `word` if `word` is the address of a live object.
    #[inline]
    pub fn mark_word(&mut self, word: usize) {
        if word != 0 && word % 8 == 0 {
            self.candidates.push(word);
        }
    }

    /// Marks and traces gray objects until there are none. Reading an object (its mark)
    /// and then a table's array part are the collector's cache misses: an object
    /// leaving the gray stack waits in a short queue, its memory fetched meanwhile, and
    /// its array part halfway through, before it is marked and traced (or skipped,
    /// marked already: an object is queued once per reference found).
    fn drain(&mut self) {
        const AHEAD: usize = 8;
        let mut queue: std::collections::VecDeque<*mut GcHeader> = std::collections::VecDeque::with_capacity(AHEAD);
        loop {
            let next = self.gray.pop();
            if let Some(p) = next {
                prefetch(p as *const u8);
                queue.push_back(p);
                if let Some(&half) = queue.len().checked_sub(AHEAD / 2 + 1).and_then(|i| queue.get(i)) {
                    // SAFETY: queued objects are live objects of the heap; their headers
                    // were fetched AHEAD / 2 objects ago.
                    unsafe { prefetch_parts(half) };
                }
            }
            if queue.len() < AHEAD && next.is_some() {
                continue;
            }
            let Some(p) = queue.pop_front() else { break };
            // SAFETY: gray objects are live objects of the heap.
            unsafe {
                if !(*p).marked {
                    (*p).marked = true;
                    trace(p, self);
                }
            }
        }
    }
}

/// Asks the processor to start fetching the cache line at `p` (a hint: no effect on
/// what the program computes).
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Prefetches the array part of the table at `p` (nothing for other objects).
///
/// # Safety
/// `p` is a live object of the heap.
unsafe fn prefetch_parts(p: *mut GcHeader) {
    // SAFETY: the caller's; the kind says the object is a table.
    unsafe {
        if (*p).kind == Kind::Table {
            prefetch((*(p as *mut Table)).elements_ptr());
        }
    }
}

/// Marks everything `p` refers to.
unsafe fn trace(p: *mut GcHeader, m: &mut Marker) {
    // SAFETY (all arms): the header's kind says which object type `p` points to.
    unsafe {
        match (*p).kind {
            Kind::Str => {}
            Kind::Table => {
                let t = &*(p as *mut Table);
                if !t.meta.is_null() {
                    m.mark_ptr(t.meta as *mut GcHeader);
                }
                if t.elements_traced() {
                    for v in t.elements() {
                        m.mark_val(v);
                    }
                }
                for (k, v) in t.hash_entries() {
                    m.mark_val(k);
                    m.mark_val(v);
                }
            }
            Kind::Closure => {
                let c = &*(p as *mut Closure);
                for &cell in c.cells() {
                    m.mark_ptr(cell as *mut GcHeader);
                }
            }
            Kind::Cell => m.mark_val((*(p as *mut Cell)).value),
            Kind::Pack => {
                for &v in (*(p as *mut Pack)).vals.iter() {
                    m.mark_val(v);
                }
            }
            Kind::Host => super::host::trace(p, m),
        }
    }
}

/// Bytes an object accounts for.
unsafe fn object_size(p: *mut GcHeader) -> usize {
    // SAFETY: the header's kind says which object type `p` points to.
    unsafe {
        match (*p).kind {
            Kind::Str => std::mem::size_of::<LStr>() + (*(p as *mut LStr)).len(),
            Kind::Table => std::mem::size_of::<Table>() + (*(p as *mut Table)).payload_bytes(),
            Kind::Closure => std::mem::size_of::<Closure>() + (*(p as *mut Closure)).cells().len().saturating_sub(3) * 8,
            Kind::Cell => std::mem::size_of::<Cell>(),
            Kind::Pack => std::mem::size_of::<Pack>() + (&(*(p as *mut Pack)).vals).len() * 16,
            Kind::Host => super::host::size(p),
        }
    }
}

/// Frees an object.
unsafe fn free_object(p: *mut GcHeader) {
    // SAFETY: `p` came from `Box::into_raw` of the type its kind names (a table, maybe
    // from `Table::new_colocated`, which `Table::free` tells apart).
    unsafe {
        match (*p).kind {
            Kind::Str => drop(Box::from_raw(p as *mut LStr)),
            Kind::Table => Table::free(p as *mut Table),
            Kind::Closure => drop(Box::from_raw(p as *mut Closure)),
            Kind::Cell => drop(Box::from_raw(p as *mut Cell)),
            Kind::Pack => drop(Box::from_raw(p as *mut Pack)),
            Kind::Host => super::host::free(p),
        }
    }
}

/// Spills the callee-saved registers into a buffer on the current stack frame and calls
/// `f` with the current stack pointer, so a conservative scan from there up sees every
/// value the callers hold in registers.
#[inline(never)]
pub fn with_spilled_registers<R>(f: impl FnOnce(usize) -> R) -> R {
    let mut regs = [0usize; 8];
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only stores registers into a local array.
    unsafe {
        std::arch::asm!(
            "mov [{b}], rbx", "mov [{b} + 8], rbp", "mov [{b} + 16], r12", "mov [{b} + 24], r13",
            "mov [{b} + 32], r14", "mov [{b} + 40], r15",
            b = in(reg) regs.as_mut_ptr(),
        );
    }
    let sp = regs.as_ptr() as usize;
    let r = f(sp);
    std::hint::black_box(&regs);
    r
}
