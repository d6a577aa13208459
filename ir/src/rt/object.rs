//! Heap objects: strings, tables, closures, cells and packs.

use super::gc::{GcHeader, Kind};
use super::value::{Tag, Val};
use crate::interp::Proto;

/// An immutable byte string with its hash.
#[repr(C)]
pub struct LStr {
    hdr: GcHeader,
    /// Hash of the bytes ([`hash_bytes`]).
    pub hash: u64,
    bytes: Box<[u8]>,
}

impl LStr {
    /// Byte offset of the hash (`u64`).
    pub const HASH_OFFSET: usize = std::mem::offset_of!(LStr, hash);

    /// A new string object (not yet owned by a heap).
    pub fn new(bytes: &[u8]) -> Box<LStr> {
        LStr::from_boxed(bytes.into())
    }
    /// A string owning `bytes` (no copy).
    pub fn from_boxed(bytes: Box<[u8]>) -> Box<LStr> {
        Box::new(LStr { hdr: GcHeader::new(Kind::Str), hash: hash_bytes(&bytes), bytes })
    }
    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// Marks the string as a never-collected constant.
    pub fn set_fixed(&mut self) {
        self.hdr.fixed = true;
    }
}

/// A 64-bit hash of a byte string (word-at-a-time multiply-rotate).
pub fn hash_bytes(s: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (s.len() as u64).wrapping_mul(K);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ b as u64).wrapping_mul(K).rotate_left(13);
    }
    h ^ (h >> 31)
}

#[inline]
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 29)
}

/// A captured local variable.
#[repr(C)]
pub struct Cell {
    hdr: GcHeader,
    /// The variable's value.
    pub value: Val,
}

impl Cell {
    /// A new cell.
    pub fn new(value: Val) -> Box<Cell> {
        Box::new(Cell { hdr: GcHeader::new(Kind::Cell), value })
    }
}

/// A sequence of values (varargs, all results of a call).
#[repr(C)]
pub struct Pack {
    hdr: GcHeader,
    /// The values.
    pub vals: Box<[Val]>,
}

impl Pack {
    /// A new pack.
    pub fn new(vals: &[Val]) -> Box<Pack> {
        Box::new(Pack { hdr: GcHeader::new(Kind::Pack), vals: vals.into() })
    }
}

/// Captures kept inside the closure object itself (most closures have few): a closure
/// with at most this many cells keeps them all inline, else all in a separate array.
pub const INLINE_CELLS: usize = 3;

/// A function value: a loaded MIR function and the cells it captured.
#[repr(C)]
pub struct Closure {
    hdr: GcHeader,
    /// The function.
    pub proto: *const Proto,
    inline: [*mut Cell; INLINE_CELLS],
    spilled: Option<Box<[*mut Cell]>>,
    len: u32,
}

impl Closure {
    /// Byte offset of [`Closure::proto`].
    pub const PROTO_OFFSET: usize = std::mem::offset_of!(Closure, proto);
    /// Byte offset of the inline cell pointers: cell `i` of a closure with at most
    /// [`INLINE_CELLS`] cells is the pointer at `INLINE_CELLS_OFFSET + 8 * i`.
    pub const INLINE_CELLS_OFFSET: usize = std::mem::offset_of!(Closure, inline);

    /// A new closure.
    pub fn new(proto: *const Proto, cells: &[*mut Cell]) -> Box<Closure> {
        let mut inline = [std::ptr::null_mut(); INLINE_CELLS];
        let spilled = if cells.len() <= INLINE_CELLS {
            inline[..cells.len()].copy_from_slice(cells);
            None
        } else {
            Some(cells.into())
        };
        Box::new(Closure { hdr: GcHeader::new(Kind::Closure), proto, inline, spilled, len: cells.len() as u32 })
    }

    /// Captured cells: `upval N` gives number N.
    #[inline]
    pub fn cells(&self) -> &[*mut Cell] {
        match &self.spilled {
            Some(cells) => cells,
            None => &self.inline[..self.len as usize],
        }
    }
}

/// A table: an array part for keys `1..=n` and a hash part for the rest.
#[repr(C)]
pub struct Table {
    hdr: GcHeader,
    /// Some lookup cache depends on this table's hash part or metatable (see
    /// [`Table::watch`]). (Next to the header, in the padding before the pointers.)
    watched: bool,
    /// The tag every element of the array part has, or nil's ([`Tag::Nil`], 0): the
    /// elements are mixed and each has its own tag byte (see [`Table::ELEMS_OFFSET`]).
    /// Every store into the array part keeps it true: a store of another tag writes
    /// this tag into every element's tag byte and sets it to 0, an append to an empty
    /// part sets it to the value's tag. ([`Table::rescan_elems`] finds it again.)
    elems: u8,
    /// Elements the object holds itself, right after its fields, from
    /// [`Table::new_colocated`] (0: none): the array part starts there, until it grows
    /// past them.
    colocated: u8,
    /// The metatable, or null. Changed through [`Table::set_meta`] (which keeps lookup
    /// caches right).
    pub meta: *mut Table,
    /// The array part; compiled code reads its pointer and length
    /// ([`Table::ARRAY_PTR_OFFSET`]).
    arr: ArrayPart,
    hash: HashPart,
}

/// A table's array part: room for `cap` elements in one allocation, first their
/// payloads (8 bytes each, `t[1]`'s first), then their tags (a byte each, at
/// `ptr + 8 * cap`). The tag bytes mean something only while the table's element tag
/// is 0 (mixed elements): a table whose elements share a tag keeps it once, in
/// [`Table::elems`], and its elements are bare payloads 8 bytes apart, as in a C
/// array, which is all compiled code reads once it has checked that tag. Pointer
/// first, then length and capacity as `u64`s, which compiled code reads at fixed
/// offsets.
#[repr(C)]
struct ArrayPart {
    ptr: *mut u64,
    len: u64,
    cap: u64,
}

impl ArrayPart {
    const PTR_OFFSET: usize = std::mem::offset_of!(ArrayPart, ptr);
    const LEN_OFFSET: usize = std::mem::offset_of!(ArrayPart, len);
    const CAP_OFFSET: usize = std::mem::offset_of!(ArrayPart, cap);

    /// Bytes of the allocation for `cap` elements (payloads and tags, a multiple of 8).
    const fn bytes(cap: usize) -> usize {
        (cap * 9 + 7) & !7
    }

    fn layout(cap: usize) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(Self::bytes(cap), 8).expect("an array part's layout")
    }

    /// No elements and no allocation.
    const fn empty() -> ArrayPart {
        ArrayPart { ptr: std::ptr::NonNull::dangling().as_ptr(), len: 0, cap: 0 }
    }

    fn with_capacity(cap: usize) -> ArrayPart {
        let mut a = ArrayPart::empty();
        if cap > 0 {
            a.move_to(cap, false, false);
        }
        a
    }

    #[inline]
    fn len(&self) -> usize {
        self.len as usize
    }

    fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// The payload of element `i` (0-based, within the length).
    #[inline]
    fn payload(&self, i: usize) -> u64 {
        debug_assert!(i < self.len());
        // SAFETY: within the initialised elements.
        unsafe { *self.ptr.add(i) }
    }

    #[inline]
    fn set_payload(&mut self, i: usize, payload: u64) {
        debug_assert!(i < self.len());
        // SAFETY: within the elements.
        unsafe { *self.ptr.add(i) = payload }
    }

    /// The tag bytes (valid for the length while the elements are mixed).
    #[inline]
    fn tags(&self) -> *mut Tag {
        (self.ptr as *mut Tag).wrapping_add(self.capacity() * 8)
    }

    /// The tag byte of element `i` (0-based, within the length; mixed elements).
    #[inline]
    fn tag(&self, i: usize) -> Tag {
        debug_assert!(i < self.len());
        // SAFETY: within the allocation; the byte was written as a tag (`set_tag`,
        // `Table::mix`).
        unsafe { *self.tags().add(i) }
    }

    #[inline]
    fn set_tag(&mut self, i: usize, tag: Tag) {
        debug_assert!(i < self.len());
        // SAFETY: within the allocation.
        unsafe { *self.tags().add(i) = tag }
    }

    /// Moves the elements to a new allocation with room for `cap` (at least the
    /// length), their tag bytes too when `mixed`, and frees the old one when `owned`
    /// (not a table's colocated elements).
    fn move_to(&mut self, cap: usize, mixed: bool, owned: bool) {
        let len = self.len();
        debug_assert!(cap >= len && cap > 0);
        let layout = Self::layout(cap);
        // SAFETY: a layout of nonzero size; the copies stay within both allocations
        // (`len <= cap` elements, payloads then tags).
        unsafe {
            let ptr = std::alloc::alloc(layout) as *mut u64;
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            std::ptr::copy_nonoverlapping(self.ptr, ptr, len);
            if mixed {
                std::ptr::copy_nonoverlapping(self.tags(), (ptr as *mut Tag).add(cap * 8), len);
            }
            if owned && self.cap > 0 {
                std::alloc::dealloc(self.ptr as *mut u8, Self::layout(self.capacity()));
            }
            self.ptr = ptr;
        }
        self.cap = cap as u64;
    }
}

impl Drop for ArrayPart {
    fn drop(&mut self) {
        if self.cap > 0 {
            // SAFETY: an allocation `move_to` made with this capacity's layout.
            unsafe { std::alloc::dealloc(self.ptr as *mut u8, Self::layout(self.capacity())) };
        }
    }
}

/// A growable array as a `Vec`'s parts, pointer first, then length and capacity as
/// `u64`s: a table's hash entries, whose pointer and length compiled code reads at fixed
/// offsets (with a `Vec`, whose layout is not fixed, the table would have to keep a
/// copy of both, 16 more bytes in every table).
#[repr(C)]
struct Elements<T> {
    ptr: *mut T,
    len: u64,
    cap: u64,
}

impl<T> Elements<T> {
    /// Byte offset of the pointer to the first element.
    const PTR_OFFSET: usize = std::mem::offset_of!(Elements<T>, ptr);
    /// Byte offset of the length (`u64`).
    const LEN_OFFSET: usize = std::mem::offset_of!(Elements<T>, len);

    fn with_capacity(n: usize) -> Elements<T> {
        Elements::from_vec(Vec::with_capacity(n))
    }

    fn from_vec(v: Vec<T>) -> Elements<T> {
        let mut v = std::mem::ManuallyDrop::new(v);
        Elements { ptr: v.as_mut_ptr(), len: v.len() as u64, cap: v.capacity() as u64 }
    }

    #[inline]
    fn as_slice(&self) -> &[T] {
        // SAFETY: the parts of a live `Vec<T>` (see `from_vec`, `edit`).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len as usize) }
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as in `as_slice`; `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len as usize) }
    }

    #[inline]
    fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// Runs `f` on the elements as a `Vec` (to grow or filter them) and keeps the result.
    /// (Should `f` panic, the `Vec` drops the elements and this is left empty.)
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
        let parts = std::mem::replace(self, Elements::from_vec(Vec::new()));
        let parts = std::mem::ManuallyDrop::new(parts);
        // SAFETY: the parts came from a `Vec<T>` and are owned by nothing else now.
        let mut v = unsafe { Vec::from_raw_parts(parts.ptr, parts.len as usize, parts.cap as usize) };
        let r = f(&mut v);
        *self = Elements::from_vec(v);
        r
    }

    #[inline]
    fn push(&mut self, value: T) {
        if self.len < self.cap {
            // SAFETY: within the capacity; the slot is past the initialised elements.
            unsafe { self.ptr.add(self.len as usize).write(value) };
            self.len += 1;
        } else {
            self.edit(|v| v.push(value));
        }
    }
}

impl<T> Drop for Elements<T> {
    fn drop(&mut self) {
        // SAFETY: the parts of a `Vec<T>` that nothing else owns.
        drop(unsafe { Vec::from_raw_parts(self.ptr, self.len as usize, self.cap as usize) });
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // A cache may name it as a metatable; another table may get its address.
        self.changing();
        if self.array_colocated() {
            // Elements in the table's own memory, which `Table::free` releases.
            std::mem::forget(std::mem::replace(&mut self.arr, ArrayPart::empty()));
        }
    }
}

/// The generation of lookup caches: it moves on whenever a watched table (see
/// [`Table::watch`]) changes or dies, and a [`LookupCache`] filled in an older one is
/// empty. Shared by every VM of the process (a change in one VM's tables only costs
/// another VM's caches a refill).
pub static LOOKUP_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The current [`LOOKUP_EPOCH`].
pub fn lookup_epoch() -> u64 {
    LOOKUP_EPOCH.load(std::sync::atomic::Ordering::Relaxed)
}

/// The number of ways of a [`LookupCache`].
pub const LOOKUP_WAYS: usize = 4;

/// A polymorphic cache of one lookup site of compiled code whose key is a constant
/// string: for tables without the key in their hash part, the result by the table's
/// metatable (up to [`LOOKUP_WAYS`] metatables). Valid while [`LOOKUP_EPOCH`] equals
/// `epoch`; every table the results depend on is watched ([`Table::watch`]), so the
/// epoch moves on before any of them could differ.
#[repr(C)]
#[derive(Default)]
pub struct LookupCache {
    epoch: u64,
    /// The next way to replace when all are taken.
    next: u64,
    ways: [LookupWay; LOOKUP_WAYS],
    /// Ever filled: the site met a table without the key and answered from its
    /// metatable (read by profiles while the function runs, hence atomic).
    used: std::sync::atomic::AtomicBool,
}

/// One way of a [`LookupCache`]: a metatable (null: unused) and the result for tables
/// that have it.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct LookupWay {
    meta: u64,
    tag: u64,
    payload: u64,
}

impl LookupCache {
    /// Size of a cache (compiled code finds a site's cache by its number).
    pub const SIZE: usize = std::mem::size_of::<LookupCache>();
    /// Byte offset of the epoch the cache was filled in (`u64`).
    pub const EPOCH_OFFSET: usize = std::mem::offset_of!(LookupCache, epoch);
    /// Byte offset of the first way: [`LOOKUP_WAYS`] of [`LookupCache::WAY_SIZE`] bytes,
    /// each a metatable address (`u64`, 0: unused), then the result's tag (`u64`) and
    /// payload (`u64`).
    pub const WAYS_OFFSET: usize = std::mem::offset_of!(LookupCache, ways);
    /// Size of a way.
    pub const WAY_SIZE: usize = std::mem::size_of::<LookupWay>();

    /// Remembers `value` as the result for tables with metatable `meta`, found in
    /// `epoch` (read before the lookup that found it).
    pub fn fill(&mut self, epoch: u64, meta: *const Table, value: Val) {
        if self.epoch != epoch {
            (self.epoch, self.next, self.ways) = (epoch, 0, Default::default());
        }
        self.used.store(true, std::sync::atomic::Ordering::Relaxed);
        let way = match self.ways.iter().position(|w| w.meta == 0 || w.meta == meta as u64) {
            Some(i) => i,
            None => {
                let i = self.next as usize % LOOKUP_WAYS;
                self.next = self.next.wrapping_add(1);
                i
            }
        };
        self.ways[way] = LookupWay { meta: meta as u64, tag: value.tag() as u64, payload: value.payload() };
    }

    /// Whether the cache at `cache` was ever filled (its site answered for a table
    /// without the key). Reads only that flag, so another thread may be filling the
    /// rest meanwhile.
    ///
    /// # Safety
    /// `cache` points to a live cache.
    pub unsafe fn was_used(cache: *const LookupCache) -> bool {
        // SAFETY: the caller's; no reference to the whole cache is made.
        unsafe { (*std::ptr::addr_of!((*cache).used)).load(std::sync::atomic::Ordering::Relaxed) }
    }

    /// The result remembered for metatable `meta`, if the cache is of the current epoch.
    pub fn get(&self, meta: *const Table) -> Option<Val> {
        if self.epoch != lookup_epoch() || meta.is_null() {
            return None;
        }
        let w = self.ways.iter().find(|w| w.meta == meta as u64)?;
        Some(Val::from_raw(Tag::from_u8(w.tag as u8)?, w.payload))
    }
}

/// Why a key cannot be stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyError {
    /// The key is `nil`.
    Nil,
    /// The key is NaN.
    NaN,
}

impl Table {
    /// Size of a table object (compiled code may read any of it once a value is known to
    /// be a table).
    pub const SIZE: usize = std::mem::size_of::<Table>();
    /// Byte offset of the metatable pointer (null if none).
    pub const META_OFFSET: usize = std::mem::offset_of!(Table, meta);
    /// Byte offset of the pointer to the array part's first element (`t[1]`): the
    /// elements' payloads, [`Table::ELEMENT_SIZE`] bytes apart, then at `8 * capacity`
    /// bytes past it their tags, a byte each, meaningful while the element tag
    /// ([`Table::ELEMS_OFFSET`]) is 0.
    pub const ARRAY_PTR_OFFSET: usize = std::mem::offset_of!(Table, arr) + ArrayPart::PTR_OFFSET;
    /// Byte offset of the array part's length (`u64`): keys `1..=len` are there.
    pub const ARRAY_LEN_OFFSET: usize = std::mem::offset_of!(Table, arr) + ArrayPart::LEN_OFFSET;
    /// Byte offset of the array part's capacity (`u64`): elements it holds without
    /// growing.
    pub const ARRAY_CAP_OFFSET: usize = std::mem::offset_of!(Table, arr) + ArrayPart::CAP_OFFSET;
    /// Bytes between two elements' payloads in the array part.
    pub const ELEMENT_SIZE: usize = 8;
    /// Byte offset of the pointer to the hash part's entries: each is
    /// [`Table::HASH_ENTRY_SIZE`] bytes, a key value then a value (`nil` for a dead key),
    /// in insertion order; a key appears at most once.
    pub const HASH_PTR_OFFSET: usize =
        std::mem::offset_of!(Table, hash) + std::mem::offset_of!(HashPart, entries) + Elements::<Entry>::PTR_OFFSET;
    /// Byte offset of the number of hash-part entries (`u64`).
    pub const HASH_LEN_OFFSET: usize =
        std::mem::offset_of!(Table, hash) + std::mem::offset_of!(HashPart, entries) + Elements::<Entry>::LEN_OFFSET;
    /// Size of a hash-part entry.
    pub const HASH_ENTRY_SIZE: usize = std::mem::size_of::<Entry>();

    /// Byte offset of the element tag (a byte): when it is not 0 ([`Tag::Nil`]), every
    /// element of the array part has that tag and the elements' tag bytes mean nothing,
    /// so compiled code that checked it once reads and stores payloads alone. Code that
    /// stores another tag must first write it into the tag byte of every element and
    /// set it to 0 (or, appending to an empty part, set it to the value's tag); while it
    /// is 0, a store writes the tag byte too.
    pub const ELEMS_OFFSET: usize = std::mem::offset_of!(Table, elems);
    /// Byte offset of the watched flag (a `bool` byte, see [`Table::watch`]).
    pub const WATCHED_OFFSET: usize = std::mem::offset_of!(Table, watched);
    /// Byte offset of the hash part's key summary (`u64`): bit `hash >> 58` is set for
    /// the hash of every key it holds (see [`key_bit`]), so a clear bit proves a key
    /// absent without a probe. (Bits of removed keys stay until the part is rebuilt.)
    pub const KEYS_OFFSET: usize = std::mem::offset_of!(Table, hash) + std::mem::offset_of!(HashPart, keys);

    /// A new table with room for `narr` array items and `nhash` other keys.
    pub fn new(narr: usize, nhash: usize) -> Box<Table> {
        Box::new(Table::empty(ArrayPart::with_capacity(narr), 0, nhash))
    }

    /// An empty table with array part `arr` (`colocated` of its elements in the table's
    /// own allocation) and room for `nhash` other keys.
    /// (Inlined: see [`HashPart::with_capacity`].)
    #[inline(always)]
    fn empty(arr: ArrayPart, colocated: u8, nhash: usize) -> Table {
        Table {
            hdr: GcHeader::new(Kind::Table),
            meta: std::ptr::null_mut(),
            watched: false,
            elems: Tag::Nil as u8,
            colocated,
            arr,
            hash: HashPart::with_capacity(nhash),
        }
    }

    /// The most elements [`Table::new_colocated`] puts in the table object itself.
    pub const MAX_COLOCATED: usize = 4;

    /// A new table, as [`Table::new`], whose array part (room for `narr` items, at most
    /// [`Table::MAX_COLOCATED`]) is in the same allocation, right after the table's
    /// fields: one allocation and one free for a small table instead of two, and its
    /// elements next to it. Growing past them moves the array part out. The table must
    /// be freed by [`Table::free`].
    pub fn new_colocated(narr: usize, nhash: usize) -> *mut Table {
        assert!((1..=Self::MAX_COLOCATED).contains(&narr), "{narr} colocated elements");
        let layout = Self::colocated_layout(narr);
        // SAFETY: a layout of nonzero size; the table is written whole before its
        // address is returned.
        unsafe {
            let p = std::alloc::alloc(layout) as *mut Table;
            if p.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            let elements = (p as *mut u8).add(Self::SIZE) as *mut u64;
            p.write(Table::empty(ArrayPart { ptr: elements, len: 0, cap: narr as u64 }, narr as u8, nhash));
            p
        }
    }

    /// The allocation of a table with `n` colocated elements.
    fn colocated_layout(n: usize) -> std::alloc::Layout {
        let size = Self::SIZE + ArrayPart::bytes(n);
        std::alloc::Layout::from_size_align(size, std::mem::align_of::<Table>()).expect("a small layout")
    }

    /// Frees a table that [`Table::new`] (through `Box::into_raw`) or
    /// [`Table::new_colocated`] made.
    ///
    /// # Safety
    /// `p` is such a table, not used afterwards.
    pub unsafe fn free(p: *mut Table) {
        // SAFETY: the caller's promise; the layout is the one the table was made with.
        unsafe {
            match (*p).colocated {
                0 => drop(Box::from_raw(p)),
                n => {
                    std::ptr::drop_in_place(p);
                    std::alloc::dealloc(p as *mut u8, Self::colocated_layout(n as usize));
                }
            }
        }
    }

    /// Whether the array part is the colocated elements.
    #[inline]
    fn array_colocated(&self) -> bool {
        self.colocated != 0 && std::ptr::eq(self.arr.ptr as *const u8, (self as *const Table as *const u8).wrapping_add(Self::SIZE))
    }

    /// Appends to the array part, growing it (and moving colocated elements out) when
    /// it is full; returns the bytes it grew by.
    #[inline]
    fn push_element(&mut self, value: Val) -> usize {
        let grew = if self.arr.len == self.arr.cap { self.resize_array((2 * self.arr.len()).max(4)) } else { 0 };
        let i = self.arr.len();
        if i == 0 {
            // An empty part: its elements have this tag (nil's: mixed).
            self.elems = value.tag() as u8;
        }
        self.arr.len += 1;
        self.store_element(i, value);
        grew
    }

    /// Moves the array part to an allocation with room for `capacity` elements (the
    /// table's own memory, for colocated elements, is not freed); returns the bytes it
    /// grew by.
    fn resize_array(&mut self, capacity: usize) -> usize {
        let before = self.arr.capacity();
        let owned = !self.array_colocated();
        self.arr.move_to(capacity, self.elems == 0, owned);
        ArrayPart::bytes(capacity).saturating_sub(ArrayPart::bytes(before))
    }

    /// Element `i` (0-based, within the array part).
    #[inline]
    fn element(&self, i: usize) -> Val {
        let tag = match self.elems {
            0 => self.arr.tag(i),
            t => Tag::from_u8(t).unwrap_or(Tag::Nil),
        };
        Val::from_raw(tag, self.arr.payload(i))
    }

    /// Stores `value` as element `i` (0-based, within the array part), keeping
    /// [`Table::elems`] true.
    #[inline]
    fn store_element(&mut self, i: usize, value: Val) {
        let tag = value.tag();
        if self.elems != tag as u8 || tag == Tag::Nil {
            self.mix();
            self.arr.set_tag(i, tag);
        }
        self.arr.set_payload(i, value.payload());
    }

    /// Makes the elements mixed: the element tag, if any, goes into every element's tag
    /// byte and becomes 0.
    fn mix(&mut self) {
        if let Some(tag) = self.elems() {
            // SAFETY: the tag bytes of the elements, within the allocation.
            unsafe { std::ptr::write_bytes(self.arr.tags(), tag as u8, self.arr.len()) };
            self.elems = Tag::Nil as u8;
        }
    }

    /// Sets the metatable (null for none).
    pub fn set_meta(&mut self, meta: *mut Table) {
        self.changing();
        self.meta = meta;
    }

    /// Marks the table as one some lookup cache depends on: from now on, any change to
    /// its hash part or metatable, and its death, moves [`lookup_epoch`] on (which
    /// empties every [`LookupCache`]). Array-part changes do not (caches are for string
    /// keys).
    pub fn watch(&mut self) {
        self.watched = true;
    }

    #[inline]
    fn changing(&self) {
        if self.watched {
            LOOKUP_EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Bytes of an array part with room for `n` elements (outside the table object).
    pub const fn array_bytes(n: usize) -> usize {
        ArrayPart::bytes(n)
    }

    /// The length of the array part (`t[1]..t[n]`, possibly with trailing nils).
    #[inline]
    pub fn array_len(&self) -> usize {
        self.arr.len()
    }

    /// The elements of the array part, `t[1]` first.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = Val> + '_ {
        (0..self.arr.len()).map(|i| self.element(i))
    }

    /// Whether the array part's elements may point to heap objects (a collection
    /// skips the others).
    pub fn elements_traced(&self) -> bool {
        self.elems().is_none_or(Tag::is_heap)
    }

    /// The address of the array part's first payload (for a collector's prefetch).
    pub fn elements_ptr(&self) -> *const u8 {
        self.arr.ptr as *const u8
    }

    /// The tag every element of the array part has, if the table knows one (see
    /// [`Table::ELEMS_OFFSET`]); `None` says nothing about the elements.
    #[inline]
    pub fn elems(&self) -> Option<Tag> {
        Tag::from_u8(self.elems).filter(|&t| t != Tag::Nil)
    }

    /// Looks at every element of the array part for the tag they share, remembers it
    /// (see [`Table::elems`]) and returns it: an array filled with one tag, then with
    /// another, is known to hold the second again once every element is replaced.
    pub fn rescan_elems(&mut self) -> Option<Tag> {
        let len = self.arr.len();
        if len == 0 {
            self.elems = Tag::Nil as u8;
        } else if self.elems == Tag::Nil as u8 {
            // SAFETY: the tag bytes of the (mixed) elements.
            let tags = unsafe { std::slice::from_raw_parts(self.arr.tags(), len) };
            if tags.iter().all(|&t| t == tags[0]) {
                // (All nil stays mixed: 0 is the mixed mark.)
                self.elems = tags[0] as u8;
            }
        }
        self.elems()
    }

    /// Whether every element of the array part has tag `tag` (an empty part's do): what
    /// the table knows, else what a look at the elements finds (and the table then
    /// knows).
    pub fn elems_are(&mut self, tag: Tag) -> bool {
        if tag != Tag::Nil && self.elems == tag as u8 {
            return true;
        }
        if self.arr.len == 0 {
            self.elems = tag as u8;
            return true;
        }
        self.rescan_elems() == Some(tag)
    }

    /// The number of the hash-part entry holding `key` (as stored: no normalisation of
    /// float keys) with a non-`nil` value, and the value: what an inline cache of
    /// compiled code remembers (see [`Table::HASH_PTR_OFFSET`]).
    pub fn hash_entry_of(&self, key: Val) -> Option<(usize, Val)> {
        let i = self.hash.find(key)?;
        let v = self.hash.entries.as_slice()[i].value;
        (!v.is_nil()).then_some((i, v))
    }

    /// Stores `value` in hash-part entry `i`, which [`Table::hash_entry_of`] gave.
    pub fn set_hash_entry(&mut self, i: usize, value: Val) {
        self.changing();
        self.hash.entries.as_mut_slice()[i].value = value;
    }

    /// The number of the hash-part entry holding `key` with a value other than `nil`,
    /// or -1 (`hash.find`).
    pub fn hash_index_of(&self, key: Val) -> i64 {
        self.hash_entry_of(key).map_or(-1, |(i, _)| i as i64)
    }

    /// The value of hash-part entry `i` (`nil` past the entries; `hash.get`).
    pub fn hash_entry_value(&self, i: i64) -> Val {
        usize::try_from(i).ok().and_then(|i| self.hash.entries.as_slice().get(i)).map_or(Val::NIL, |e| e.value)
    }

    /// Stores `value` in hash-part entry `i` if there is one (`hash.set`).
    pub fn set_hash_entry_at(&mut self, i: i64, value: Val) {
        if let Ok(i) = usize::try_from(i) {
            if i < self.hash.entries.len() {
                self.set_hash_entry(i, value);
            }
        }
    }

    /// Every hash-part entry (dead ones have a `nil` value).
    pub fn hash_entries(&self) -> impl Iterator<Item = (Val, Val)> + '_ {
        self.hash.entries.as_slice().iter().map(|e| (e.key, e.value))
    }

    /// Bytes held outside the object itself.
    pub fn payload_bytes(&self) -> usize {
        ArrayPart::bytes(self.arr.capacity()) + self.hash.entries.capacity() * 32 + self.hash.index.len() * 4
    }

    /// Raw get.
    #[inline(always)]
    pub fn get(&self, key: Val) -> Val {
        match key.tag() {
            Tag::Int => self.get_int(key.int_unchecked()),
            Tag::Str => self.get_str(key),
            Tag::Float => match float_key(key.float_unchecked()) {
                Some(i) => self.get_int(i),
                None => self.hash.get(key),
            },
            Tag::Nil => Val::NIL,
            _ => self.hash.get(key),
        }
    }

    /// Raw get of an integer key.
    #[inline(always)]
    pub fn get_int(&self, i: i64) -> Val {
        let idx = (i as u64).wrapping_sub(1);
        if idx < self.arr.len {
            self.element(idx as usize)
        } else if self.hash.is_empty() {
            Val::NIL
        } else {
            self.hash.get(Val::int(i))
        }
    }

    /// Raw get of a string key.
    #[inline]
    pub fn get_str(&self, key: Val) -> Val {
        self.hash.get(key)
    }

    /// Stores into `t[i]` if `i` is within the array part (no growth, no rehash);
    /// returns whether it did.
    #[inline]
    pub fn set_existing_int(&mut self, i: i64, value: Val) -> bool {
        let idx = (i as u64).wrapping_sub(1);
        if idx < self.arr.len {
            self.store_element(idx as usize, value);
            true
        } else {
            false
        }
    }

    /// Stores `value` at `key` if the table holds a non-`nil` value there (no growth, no
    /// rehash, no metamethod to consult); returns whether it did.
    pub fn set_existing(&mut self, key: Val, value: Val) -> bool {
        let key = match key.tag() {
            Tag::Float => match float_key(key.float_unchecked()) {
                Some(i) => Val::int(i),
                None => key,
            },
            _ => key,
        };
        if key.tag() == Tag::Int {
            let idx = (key.int_unchecked() as u64).wrapping_sub(1);
            if idx < self.arr.len {
                if self.element(idx as usize).is_nil() {
                    return false;
                }
                self.store_element(idx as usize, value);
                return true;
            }
        }
        match self.hash.find(key) {
            Some(i) if !self.hash.entries.as_slice()[i].value.is_nil() => {
                self.changing();
                self.hash.entries.as_mut_slice()[i].value = value;
                true
            }
            _ => false,
        }
    }

    /// Raw set; returns the growth in bytes (for the heap's account).
    pub fn set(&mut self, key: Val, value: Val) -> Result<usize, KeyError> {
        match key.tag() {
            Tag::Int => Ok(self.set_int(key.int_unchecked(), value)),
            Tag::Float => {
                let x = key.float_unchecked();
                if x.is_nan() {
                    return Err(KeyError::NaN);
                }
                match float_key(x) {
                    Some(i) => Ok(self.set_int(i, value)),
                    None => Ok(self.set_hash(key, value)),
                }
            }
            Tag::Nil => Err(KeyError::Nil),
            _ => Ok(self.set_hash(key, value)),
        }
    }

    /// Raw set in the hash part; returns the growth in bytes.
    fn set_hash(&mut self, key: Val, value: Val) -> usize {
        self.changing();
        self.hash.set(key, value)
    }

    /// Raw set of an integer key; returns the growth in bytes.
    pub fn set_int(&mut self, i: i64, value: Val) -> usize {
        let idx = (i as u64).wrapping_sub(1);
        let len = self.arr.len;
        if idx < len {
            self.store_element(idx as usize, value);
            return 0;
        }
        if idx == len && !value.is_nil() {
            let mut grew = self.push_element(value);
            if !self.hash.is_empty() {
                self.set_hash(Val::int(i), Val::NIL);
                grew += self.migrate_from_hash();
            }
            return grew;
        }
        self.set_hash(Val::int(i), value)
    }

    /// Appends `value` as element `i` when that needs neither growth nor a look at the
    /// hash part: `i` is one past the array part, which has room for it, the hash part
    /// is empty (so it holds no key `i` or beyond to move over) and `value` is not
    /// `nil`. Returns whether it did; otherwise [`Table::set_int`] does the rest.
    /// (`arr.push`, which compiled code does inline.)
    #[inline]
    pub fn push_within(&mut self, i: i64, value: Val) -> bool {
        let len = self.arr.len;
        let fits = i as u64 == len.wrapping_add(1) && len < self.arr.cap && self.hash.is_empty() && !value.is_nil();
        if fits {
            self.push_element(value);
        }
        fits
    }

    /// The most elements past its length that [`Table::reserve`] makes room for at once
    /// (1 MiB of elements): a loop that reserved for a long range and left early wastes
    /// at most that. Appends past it grow the part as usual.
    pub const RESERVE_LIMIT: usize = 1 << 16;

    /// Makes room in the array part for `n` elements in all (at most
    /// [`Table::RESERVE_LIMIT`] past its length), so that appends up to there need no
    /// growth; changes no element, length or key. Returns the bytes the part grew by.
    /// (`arr.reserve`, which compiled code makes before a loop that appends.)
    pub fn reserve(&mut self, n: usize) -> usize {
        let want = n.min(self.arr.len().saturating_add(Self::RESERVE_LIMIT));
        if want <= self.arr.capacity() {
            return 0;
        }
        self.resize_array(want)
    }

    /// Moves keys `n+1, n+2, ...` from the hash part to the end of the array part;
    /// returns the bytes the array part grew by.
    fn migrate_from_hash(&mut self) -> usize {
        let mut grew = 0;
        loop {
            let next = Val::int(self.arr.len() as i64 + 1);
            let v = self.hash.get(next);
            if v.is_nil() {
                return grew;
            }
            self.hash.set(next, Val::NIL);
            grew += self.push_element(v);
        }
    }

    /// Appends to the array part at position `len + 1` of the array part (constructors);
    /// returns the bytes the array part grew by.
    pub fn push_array(&mut self, value: Val) -> usize {
        self.push_element(value)
    }

    /// The length operator's border (raw, no `__len`).
    pub fn border(&self) -> i64 {
        let n = self.arr.len();
        if n > 0 && self.element(n - 1).is_nil() {
            // Binary search for a border inside the array part.
            let (mut lo, mut hi) = (0usize, n); // t[lo] non-nil (or lo = 0), t[hi] nil
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if self.element(mid - 1).is_nil() {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return lo as i64;
        }
        if self.hash.is_empty() {
            return n as i64;
        }
        // Unbounded search in the hash part.
        let mut i = n as i64;
        let mut j = i + 1;
        while !self.hash.get(Val::int(j)).is_nil() {
            i = j;
            if j > i64::MAX / 2 {
                // Pathological: fall back to a linear scan.
                let mut k = 1;
                while !self.get_int(k).is_nil() {
                    k += 1;
                }
                return k - 1;
            }
            j *= 2;
        }
        while j - i > 1 {
            let m = i + (j - i) / 2;
            if self.hash.get(Val::int(m)).is_nil() {
                j = m;
            } else {
                i = m;
            }
        }
        i
    }

    /// Lua's `next`: the entry after `key` (`nil` key: the first), or `None` at the end.
    /// `Err(())` if `key` is not in the table.
    pub fn next(&self, key: Val) -> Result<Option<(Val, Val)>, ()> {
        let mut start_arr = 0usize;
        let mut start_hash = 0usize;
        if !key.is_nil() {
            let int_key = match key.tag() {
                Tag::Int => Some(key.int_unchecked()),
                Tag::Float => float_key(key.float_unchecked()),
                _ => None,
            };
            match int_key {
                Some(i) if i >= 1 && (i as u64) <= self.arr.len() as u64 => start_arr = i as usize,
                _ => {
                    start_arr = self.arr.len();
                    let k = int_key.map(Val::int).unwrap_or(key);
                    start_hash = self.hash.find(k).ok_or(())? + 1;
                }
            }
        }
        for (i, v) in self.elements().enumerate().skip(start_arr) {
            if !v.is_nil() {
                return Ok(Some((Val::int(i as i64 + 1), v)));
            }
        }
        let entries = self.hash.entries.as_slice();
        for e in &entries[start_hash.min(entries.len())..] {
            if !e.value.is_nil() {
                return Ok(Some((e.key, e.value)));
            }
        }
        Ok(None)
    }
}

/// A float key with an exact integer value is stored as that integer.
#[inline]
fn float_key(x: f64) -> Option<i64> {
    if x >= -9.223_372_036_854_776e18 && x < 9.223_372_036_854_776e18 {
        let i = x as i64;
        if i as f64 == x {
            return Some(i);
        }
    }
    None
}

/// Raw equality of two keys (numbers already normalised; strings by content).
#[inline]
fn key_eq(a: Val, b: Val) -> bool {
    if a.raw_identical(b) {
        return true;
    }
    if a.tag() == Tag::Str && b.tag() == Tag::Str {
        // SAFETY: both are live string objects.
        let (x, y) = unsafe { (&*(a.payload() as *const LStr), &*(b.payload() as *const LStr)) };
        return x.hash == y.hash && x.as_bytes() == y.as_bytes();
    }
    false
}

#[inline]
fn key_hash(k: Val) -> u64 {
    match k.tag() {
        // SAFETY: a string value points to a live string object.
        Tag::Str => unsafe { (*(k.payload() as *const LStr)).hash },
        t => mix(k.payload() ^ ((t as u64) << 56)),
    }
}

/// A hash-part entry; compiled code reads and writes them (see
/// [`Table::HASH_PTR_OFFSET`]).
#[repr(C)]
struct Entry {
    key: Val,
    value: Val,
}

/// Insertion-ordered hash part: an entry vector (so `next` can continue from any key,
/// and keys assigned `nil` stay in place while a traversal runs) and an open-addressed
/// index of entry numbers.
struct HashPart {
    /// Compiled code's inline caches read their pointer and length
    /// ([`Table::HASH_PTR_OFFSET`]).
    entries: Elements<Entry>,
    /// 0: empty slot; otherwise entry index + 1. Length is 0 or a power of two.
    index: Box<[u32]>,
    /// The key summary ([`Table::KEYS_OFFSET`]).
    keys: u64,
}

/// The bit of a key's hash in a hash part's key summary ([`Table::KEYS_OFFSET`]).
#[inline]
pub fn key_bit(hash: u64) -> u64 {
    1 << (hash >> 58)
}

impl HashPart {
    /// (Inlined, like [`Table::empty`]: a part returned through memory, written a word
    /// at a time and read back 16 bytes at a time, stalled each new table on store
    /// forwarding, 18% of binary-trees.)
    #[inline(always)]
    fn with_capacity(n: usize) -> HashPart {
        if n == 0 {
            return HashPart { entries: Elements::from_vec(Vec::new()), index: Box::default(), keys: 0 };
        }
        let index = vec![0; (n * 4 / 3 + 1).next_power_of_two().max(4)].into_boxed_slice();
        HashPart { entries: Elements::with_capacity(n), index, keys: 0 }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn find(&self, key: Val) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.index.len() - 1;
        let mut slot = key_hash(key) as usize & mask;
        loop {
            let e = self.index[slot];
            if e == 0 {
                return None;
            }
            let idx = e as usize - 1;
            if key_eq(self.entries.as_slice()[idx].key, key) {
                return Some(idx);
            }
            slot = (slot + 1) & mask;
        }
    }

    #[inline]
    fn get(&self, key: Val) -> Val {
        match self.find(key) {
            Some(i) => self.entries.as_slice()[i].value,
            None => Val::NIL,
        }
    }

    /// Sets a key; returns the growth in bytes.
    fn set(&mut self, key: Val, value: Val) -> usize {
        if let Some(i) = self.find(key) {
            self.entries.as_mut_slice()[i].value = value;
            return 0;
        }
        if value.is_nil() {
            return 0;
        }
        let before = self.entries.capacity() * 32 + self.index.len() * 4;
        if (self.entries.len() + 1) * 4 > self.index.len() * 3 {
            self.rehash();
        }
        self.keys |= key_bit(key_hash(key));
        self.entries.push(Entry { key, value });
        self.insert_index(self.entries.len() - 1);
        (self.entries.capacity() * 32 + self.index.len() * 4).saturating_sub(before)
    }

    fn insert_index(&mut self, idx: usize) {
        let mask = self.index.len() - 1;
        let mut slot = key_hash(self.entries.as_slice()[idx].key) as usize & mask;
        while self.index[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        self.index[slot] = idx as u32 + 1;
    }

    /// Drops dead entries and resizes the index for the live ones plus growth.
    fn rehash(&mut self) {
        self.entries.edit(|v| v.retain(|e| !e.value.is_nil()));
        self.keys = self.entries.as_slice().iter().fold(0, |keys, e| keys | key_bit(key_hash(e.key)));
        let want = ((self.entries.len() + 1) * 2).max(4);
        let size = (want * 4 / 3 + 1).next_power_of_two();
        self.index = vec![0; size].into_boxed_slice();
        for i in 0..self.entries.len() {
            self.insert_index(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key summary compiled code reads at `Table::KEYS_OFFSET`.
    fn summary(t: &Table) -> u64 {
        // SAFETY: the offset of a `u64` field of a live table.
        unsafe { *((t as *const Table as *const u8).add(Table::KEYS_OFFSET) as *const u64) }
    }

    #[test]
    fn the_key_summary_holds_every_key_and_forgets_removed_ones_on_rebuild() {
        let strings: Vec<Box<LStr>> = (0..40).map(|i| LStr::new(format!("key{i}").as_bytes())).collect();
        let key = |i: usize| Val::from_raw(Tag::Str, &*strings[i] as *const LStr as u64);
        let mut t = Table::new(0, 0);
        for i in 0..8 {
            t.set(key(i), Val::int(i as i64)).unwrap();
        }
        for i in 0..8 {
            assert_ne!(summary(&t) & key_bit(strings[i].hash), 0, "key{i}");
        }
        // A key the summary leaves out is absent: compiled code answers without a probe.
        let absent = (8..40).filter(|&i| summary(&t) & key_bit(strings[i].hash) == 0).count();
        assert!(absent > 0);
        // Removed keys keep their bits until the hash part is rebuilt for growth.
        for i in 0..8 {
            t.set(key(i), Val::NIL).unwrap();
        }
        let before = summary(&t);
        assert_eq!(before & key_bit(strings[0].hash), key_bit(strings[0].hash));
        for i in 8..40 {
            t.set(key(i), Val::TRUE).unwrap();
        }
        let want = (8..40).fold(0, |s, i| s | key_bit(strings[i].hash));
        assert_eq!(summary(&t), want, "rebuilt from the live keys");
    }

    #[test]
    fn colocated_elements_move_out_when_full() {
        // SAFETY: each table is made by `new_colocated` and freed once, last.
        unsafe {
            let t = Table::new_colocated(2, 0);
            (*t).push_array(Val::int(1));
            assert!((*t).push_within(2, Val::int(2)));
            assert!((*t).array_colocated());
            assert!(!(*t).push_within(3, Val::int(3)), "full: the inline way declines");
            assert!((*t).set_int(3, Val::int(3)) > 0, "grows");
            assert!(!(*t).array_colocated());
            for i in 4..=40 {
                (*t).set_int(i, Val::int(i));
            }
            assert_eq!((*t).border(), 40);
            assert!((*t).elements().enumerate().all(|(i, v)| v.as_int() == Some(i as i64 + 1)));
            Table::free(t);
            // Freed while still colocated; keys moved over from the hash part.
            let u = Table::new_colocated(4, 2);
            (*u).set_int(3, Val::float(3.0));
            (*u).set_int(2, Val::float(2.0));
            (*u).set_int(1, Val::float(1.0));
            assert!((*u).array_colocated());
            assert_eq!((*u).array_len(), 3);
            assert_eq!((*u).elems(), Some(Tag::Float));
            assert_eq!((*u).get_int(2).as_float(), Some(2.0));
            Table::free(u);
        }
        // Boxed tables go through the same free.
        let b = Box::into_raw(Table::new(3, 0));
        // SAFETY: made by `Box::into_raw`, freed once.
        unsafe { Table::free(b) };
    }

    #[test]
    fn reserve_makes_room_without_changing_contents() {
        let mut t = Table::new(0, 0);
        t.set_int(1, Val::int(10));
        assert_eq!(t.reserve(1), 0, "room already");
        let before = t.arr.capacity();
        let grew = t.reserve(100);
        assert_eq!((t.arr.capacity(), grew), (100, ArrayPart::bytes(100) - ArrayPart::bytes(before)));
        assert_eq!((t.array_len(), t.border(), t.elems()), (1, 1, Some(Tag::Int)));
        for i in 2..=100 {
            assert!(t.push_within(i, Val::int(i)), "room for element {i}");
        }
        assert_eq!(t.reserve(50), 0, "never shrinks");
        assert_eq!(t.get_int(100).as_int(), Some(100));
        // At most RESERVE_LIMIT past the length at once.
        let mut u = Table::new(0, 0);
        u.reserve(usize::MAX);
        assert_eq!(u.arr.capacity(), Table::RESERVE_LIMIT);
        // SAFETY: made by `new_colocated`, freed once, last.
        unsafe {
            let c = Table::new_colocated(2, 0);
            (*c).push_array(Val::float(0.5));
            assert!((*c).reserve(8) > 0);
            assert!(!(*c).array_colocated(), "moved out");
            assert_eq!(((*c).array_len(), (*c).get_int(1).as_float()), (1, Some(0.5)));
            assert!((2..=8).all(|i| (*c).push_within(i, Val::float(i as f64))));
            Table::free(c);
        }
    }

    #[test]
    fn element_tag_follows_every_store() {
        let mut t = Table::new(0, 0);
        assert_eq!(t.elems(), None, "an empty table knows no tag");
        for i in 1..=4 {
            t.set_int(i, Val::int(i));
        }
        assert_eq!(t.elems(), Some(Tag::Int), "appends of one tag");
        assert!(t.set_existing_int(2, Val::int(7)));
        t.set_int(5, Val::int(5));
        assert_eq!(t.array_len(), 5);
        assert_eq!(t.elems(), Some(Tag::Int));
        t.set_int(3, Val::float(0.5));
        assert_eq!(t.elems(), None, "a store of another tag");
        assert_eq!(t.rescan_elems(), None, "still mixed");
        for i in 1..=5 {
            t.set(Val::int(i), Val::float(i as f64)).unwrap();
        }
        assert_eq!(t.elems(), None, "a forgotten tag stays forgotten");
        assert_eq!(t.rescan_elems(), Some(Tag::Float), "until the elements are looked at");
        assert_eq!(t.elems(), Some(Tag::Float));
        assert!(!t.set_existing(Val::int(9), Val::int(1)), "no key 9");
        assert!(t.set_existing(Val::float(1.0), Val::TRUE));
        assert_eq!(t.elems(), None, "set_existing keeps it too");
        t.rescan_elems();
        t.set_int(1, Val::float(1.0));
        assert_eq!(t.rescan_elems(), Some(Tag::Float));
        t.set_int(5, Val::NIL);
        assert_eq!(t.elems(), None, "a hole");
        // Keys moved over from the hash part count as appends.
        let mut m = Table::new(0, 0);
        m.set_int(3, Val::int(3));
        m.set_int(2, Val::TRUE);
        assert_eq!(m.array_len(), 0);
        m.set_int(1, Val::int(1));
        assert_eq!(m.array_len(), 3);
        assert_eq!(m.elems(), None, "an int, then a bool came over");
        let mut c = Table::new(3, 0);
        for v in [Val::float(1.0), Val::float(2.0)] {
            c.push_array(v);
        }
        assert_eq!(c.elems(), Some(Tag::Float), "constructors");
        c.push_array(Val::NIL);
        assert_eq!(c.elems(), None);
        // Appending to an emptied part starts over.
        let mut e = Table::new(0, 0);
        e.push_array(Val::NIL);
        assert_eq!(e.elems(), None);
        let mut f = Table::new(1, 0);
        assert!(f.push_within(1, Val::TRUE));
        assert_eq!(f.elems(), Some(Tag::Bool));
        // `guard.elems`: an empty part has every tag; a mixed one none.
        let mut g = Table::new(0, 0);
        assert!(g.elems_are(Tag::Float));
        g.set_int(1, Val::int(1));
        assert!(!g.elems_are(Tag::Float));
        assert!(g.elems_are(Tag::Int));
        g.set_int(2, Val::float(2.0));
        assert!(!g.elems_are(Tag::Int) && !g.elems_are(Tag::Float));
        g.set_int(1, Val::float(1.0));
        assert!(g.elems_are(Tag::Float), "found by a look at the elements");
    }

    #[test]
    fn uniform_elements_are_bare_payloads_until_a_store_mixes_them() {
        let payloads = |t: &Table| (0..t.array_len()).map(|i| t.arr.payload(i)).collect::<Vec<u64>>();
        let mut t = Table::new(0, 0);
        for i in 1..=6 {
            t.set_int(i, Val::float(i as f64));
        }
        // 8 bytes apart, as compiled code reads them after one check of the tag.
        assert_eq!(payloads(&t), (1..=6).map(|i| (i as f64).to_bits()).collect::<Vec<_>>());
        assert_eq!((t.elems(), t.elements_traced()), (Some(Tag::Float), false));
        // A string among them: every element gets its tag byte, each keeps its value.
        t.set_int(4, Val::from_raw(Tag::Str, 0x1000));
        assert_eq!((t.elems(), t.elements_traced()), (None, true));
        let tags: Vec<Tag> = t.elements().map(|v| v.tag()).collect();
        assert_eq!(tags, [Tag::Float, Tag::Float, Tag::Float, Tag::Str, Tag::Float, Tag::Float]);
        // Growth and appends keep the tag bytes of mixed elements.
        for i in 7..=100 {
            t.set_int(i, if i % 2 == 0 { Val::int(i) } else { Val::TRUE });
        }
        assert_eq!(t.array_len(), 100);
        assert_eq!(t.get_int(3).as_float(), Some(3.0));
        assert_eq!(t.get_int(4).tag(), Tag::Str);
        assert_eq!((t.get_int(99).tag(), t.get_int(100).as_int()), (Tag::Bool, Some(100)));
        // Uniform again once every element is replaced and looked at.
        for i in 1..=100 {
            t.set_int(i, Val::int(-i));
        }
        assert_eq!(t.elems(), None);
        assert_eq!(t.rescan_elems(), Some(Tag::Int));
        assert_eq!(payloads(&t)[99], (-100i64) as u64);
        assert!(t.elements().enumerate().all(|(i, v)| v.as_int() == Some(-(i as i64) - 1)));
        // A nil makes them mixed; trailing nils end the border.
        t.set_int(100, Val::NIL);
        assert_eq!((t.elems(), t.border(), t.get_int(99).as_int()), (None, 99, Some(-99)));
        assert_eq!(t.rescan_elems(), None, "nil and integers");
        // Colocated elements: mixed in the table's own memory, then moved out.
        // SAFETY: made by `new_colocated`, freed once, last.
        unsafe {
            let c = Table::new_colocated(3, 0);
            (*c).push_array(Val::int(1));
            (*c).push_array(Val::FALSE);
            (*c).push_array(Val::float(0.5));
            assert!((*c).array_colocated());
            assert_eq!((*c).elements().map(|v| v.tag()).collect::<Vec<_>>(), [Tag::Int, Tag::Bool, Tag::Float]);
            (*c).set_int(4, Val::int(4));
            assert!(!(*c).array_colocated());
            assert_eq!((*c).elements().map(|v| v.tag()).collect::<Vec<_>>(), [Tag::Int, Tag::Bool, Tag::Float, Tag::Int]);
            assert_eq!((*c).get_int(3).as_float(), Some(0.5));
            Table::free(c);
        }
    }

    #[test]
    fn lookup_caches_empty_when_a_watched_table_changes() {
        let key = Val::from_raw(Tag::Str, Box::into_raw(LStr::new(b"m")) as u64);
        let metas: Vec<Box<Table>> = (0..=LOOKUP_WAYS).map(|_| Table::new(0, 0)).collect();
        let mut cache = LookupCache::default();
        for (i, m) in metas.iter().enumerate() {
            cache.fill(lookup_epoch(), &**m, Val::int(i as i64));
        }
        // Five metatables, four ways: the first was replaced, the rest are there.
        assert!(cache.get(&*metas[0]).is_none());
        for (i, m) in metas.iter().enumerate().skip(1) {
            assert_eq!(cache.get(&**m).and_then(Val::as_int), Some(i as i64));
        }
        // Unwatched tables change without emptying the cache (no other test of this crate
        // watches a table, so only this one moves the epoch).
        let mut plain = Table::new(0, 0);
        plain.set(key, Val::int(1)).unwrap();
        assert!(cache.get(&*metas[1]).is_some());
        // Any change to a watched one's hash part or metatable empties it; its array part
        // is not the caches' concern (their keys are strings).
        let mut watched = Table::new(0, 0);
        watched.watch();
        watched.set(Val::int(1), Val::int(1)).unwrap();
        assert_eq!(watched.array_len(), 1);
        assert!(cache.get(&*metas[1]).is_some());
        watched.set(key, Val::int(1)).unwrap();
        assert!(cache.get(&*metas[1]).is_none());
        cache.fill(lookup_epoch(), &*metas[1], Val::int(1));
        watched.set_meta(std::ptr::null_mut());
        assert!(cache.get(&*metas[1]).is_none());
        cache.fill(lookup_epoch(), &*metas[1], Val::int(1));
        drop(watched);
        assert!(cache.get(&*metas[1]).is_none());
        // SAFETY: made above, used by nothing else.
        drop(unsafe { Box::from_raw(key.payload() as *mut LStr) });
    }

    #[test]
    fn tables_stay_small() {
        // Every table pays for these bytes, and collections come when their sum doubles.
        assert!(std::mem::size_of::<Table>() <= 88, "{}", std::mem::size_of::<Table>());
    }

    #[test]
    fn array_part_grows_and_migrates() {
        let mut t = Table::new(0, 0);
        t.set_int(3, Val::int(30));
        t.set_int(2, Val::int(20));
        assert_eq!(t.array_len(), 0);
        t.set_int(1, Val::int(10));
        assert_eq!(t.array_len(), 3);
        assert_eq!(t.border(), 3);
        assert_eq!(t.get_int(3).as_int(), Some(30));
    }

    #[test]
    fn border_with_trailing_nils() {
        let mut t = Table::new(0, 0);
        for i in 1..=5 {
            t.set_int(i, Val::int(i));
        }
        for i in (3..=5).rev() {
            t.set_int(i, Val::NIL);
        }
        assert_eq!(t.border(), 2);
    }

    #[test]
    fn next_visits_everything_once_and_survives_deletion() {
        let mut t = Table::new(0, 0);
        for i in 1..=3 {
            t.set_int(i, Val::int(i));
        }
        for i in 10..20 {
            t.set_int(i * 7, Val::int(i));
        }
        let mut k = Val::NIL;
        let mut n = 0;
        while let Some((key, _)) = t.next(k).unwrap() {
            t.set(key, Val::NIL).unwrap();
            k = key;
            n += 1;
        }
        assert_eq!(n, 13);
        assert_eq!(t.next(Val::NIL).unwrap().map(|(k, _)| k.as_int()), None);
    }

    #[test]
    fn float_keys_normalise_to_integers() {
        let mut t = Table::new(0, 0);
        t.set(Val::float(2.0), Val::int(5)).unwrap();
        assert_eq!(t.get(Val::int(2)).as_int(), Some(5));
        assert_eq!(t.set(Val::float(f64::NAN), Val::int(1)), Err(KeyError::NaN));
        assert_eq!(t.set(Val::NIL, Val::int(1)), Err(KeyError::Nil));
    }
}
