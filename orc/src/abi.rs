//! The baseline tier's calling convention and the host helpers its code calls.
//!
//! This module is the contract between the lowering (MIR -> LLVM IR, `lower/`) and the
//! host side (`glue.rs`): every name and signature generated code uses is here.
//!
//! ## Frames and values
//! A compiled function runs in the same value-stack frame the interpreter would use:
//! `nslots` slots of 16 bytes from `base`, value `v` in slot `proto.slot_of[v]`, typed
//! values stored as boxed values of the matching tag (`i64` as `int`, `f64` as `float`,
//! `i1` as `bool` with payload 0 or 1). The collector scans compiled frames as it scans
//! interpreted ones (the slots live at the frame's `pc`); compiled code stores to its
//! slots only the values that can be read there (see `lower/framed.rs`), so other slots
//! may hold stale values, which the collector's validated marking tolerates. A `Val` is `{ tag: u8 at offset 0, payload: u64 at
//! offset 8 }`.
//!
//! The host pushes the frame (parameters padded, varargs packed in slot `nparams`,
//! counters, safepoint) before entering compiled code and pops it after, as for the
//! interpreter; the body only computes.
//!
//! ## The entry point
//! ```text
//! i64 body(ptr vm, ptr closure, ptr base)
//! ```
//! returns `n >= 0`: `n` results were stored at `base[0..n]`; [`STATUS_ERROR`]: a helper
//! failed and left the error in the VM (the body returns at once); [`STATUS_TAIL_CALL`]:
//! the body asks for a tail call — it called [`TAIL_CALL`] with the callee and the
//! arguments are at `base[0..n]`; [`STATUS_DEOPTED`]: a guard failed and [`DEOPT`] made
//! the frame the generic function's, for the caller to finish in the interpreter.
//!
//! ## Helpers
//! Every helper that can fail returns an `i32` status: 0 ok, nonzero failed (the body
//! then returns [`STATUS_ERROR`]). `pc` arguments are the decoded op index of the
//! instruction (the interpreter's numbering, [`lazyjit_ir::interp::Proto::inst_pc`]), so
//! errors get the same positions and tracebacks the same lines in every tier. Helpers are
//! host functions bound by name (absolute symbols), so objects hold no process
//! addresses and can be cached and linked into another process.

pub use lazyjit_ir::interp::compiled::{CompiledFn, STATUS_DEOPTED, STATUS_ERROR, STATUS_OSR_DECLINED, STATUS_TAIL_CALL};

/// `i32 lz_rtcall(ptr vm, i32 rt, i32 site, ptr args, i32 nargs, ptr out, i32 pc)`:
/// calls runtime function `rt` (index into the module's runtime declarations) on
/// `nargs` values at `args` (a spread pack, if any, already expanded by
/// [`STAGE_PACK`]) and stores its result (boxed; typed results as their tags) at `out`.
/// Records the profile at `site` (`-1`: none).
pub const RTCALL: &str = "lz_rtcall";
/// `{i64, i64} lz_rtcall_v(ptr vm, i32 rt, i32 site, i32 pc, i32 nargs, i64 tag0, i64
/// payload0, i64 tag1, i64 payload1, i64 tag2, i64 payload2)`: [`RTCALL`] for up to three
/// arguments passed as tag/payload pairs (those past `nargs` are ignored), returning the
/// result's tag and payload in registers, or the tag [`ERROR_TAG`] if the function failed.
pub const RTCALL_V: &str = "lz_rtcall_v";
/// `{i64, i64} lz_rtcall_v2(ptr vm, i64 call, i64 tag0, i64 payload0, i64 tag1, i64
/// payload1)`: [`RTCALL_V`] for one or two arguments, with `rt`, `nargs`, `site` and `pc`
/// packed into `call` ([`pack_rtcall`]), so that every argument travels in a register.
pub const RTCALL_V2: &str = "lz_rtcall_v2";

/// The `call` word of [`RTCALL_V2`]: bits 0..16 `rt`, 16..18 `nargs` (1 or 2), 18..40
/// `site + 1`, 40..64 `pc`; `None` when a field does not fit.
pub fn pack_rtcall(rt: u32, nargs: usize, site: i64, pc: u32) -> Option<u64> {
    let site = u64::try_from(site + 1).ok().filter(|&s| s < 1 << 22)?;
    let fits = rt < 1 << 16 && (1..=2).contains(&nargs) && pc < 1 << 24;
    fits.then(|| rt as u64 | (nargs as u64) << 16 | site << 18 | (pc as u64) << 40)
}

/// The fields of a [`pack_rtcall`] word: `(rt, nargs, site, pc)`.
pub fn unpack_rtcall(call: u64) -> (u32, usize, i64, u32) {
    let site = ((call >> 18) & ((1 << 22) - 1)) as i64 - 1;
    ((call & 0xffff) as u32, ((call >> 16) & 3) as usize, site, (call >> 40) as u32)
}

/// The tag [`RTCALL_V`] returns for a failure (no value has it).
pub const ERROR_TAG: u64 = 0xff;
/// `i32 lz_call(ptr vm, ptr callee, ptr at, i32 nargs, i32 pc, ptr nret_out)`: calls the
/// value at `callee` with `nargs` arguments at `at` (which must be `base + nslots`, the
/// end of the frame); results are left at `at`, their number stored at `nret_out` (i32).
pub const CALL: &str = "lz_call";
/// `i32 lz_stage_pack(ptr vm, ptr pack, ptr at, ptr n_out)`: appends the values of the
/// pack value at `pack` at `at` (after the fixed arguments) and stores their number at
/// `n_out` (i32); fails with "stack overflow" if they do not fit.
pub const STAGE_PACK: &str = "lz_stage_pack";
/// `void lz_tail_call(ptr vm, ptr callee, i32 nargs, i32 pc)`: records a pending tail call
/// of the value at `callee` with `nargs` arguments already at `base[0..nargs]` (and that
/// the frame stopped at `pc`, where errors of a callee that is not a Lua function are
/// reported); the body then returns [`STATUS_TAIL_CALL`].
pub const TAIL_CALL: &str = "lz_tail_call";
/// `i32 lz_new_pack(ptr vm, ptr vals, i32 n, ptr out)`: a pack of `n` values (for
/// `call.pack` results).
pub const NEW_PACK: &str = "lz_new_pack";
/// `void lz_pack_get(ptr pack, i32 index, ptr out)`: element `index` of the pack value at
/// `pack`, or `nil`.
pub const PACK_GET: &str = "lz_pack_get";
/// `i64 lz_pack_len(ptr pack)`.
pub const PACK_LEN: &str = "lz_pack_len";
/// `void lz_cell_new(ptr vm, ptr value, ptr out)`: a new cell holding the value at
/// `value`; the cell value is stored at `out`.
pub const CELL_NEW: &str = "lz_cell_new";
/// `void lz_upval(ptr closure, i32 index, ptr out)`: capture `index` of `closure` (a cell
/// value) stored at `out`.
pub const UPVAL: &str = "lz_upval";
/// `void lz_globals(ptr vm, ptr out)`: the globals table value.
pub const GLOBALS: &str = "lz_globals";
/// `{i64, i64} lz_hash_get(ptr table, i64 key, ptr cache)`: if the raw value of `table`
/// at string `key` (a string object's address) is not `nil`, that value, and the number
/// of the hash-part entry holding it is stored in the `u32` at `cache` (an inline cache,
/// see `TableAccess`); else `{LEAF_MISS, 0}`.
pub const HASH_GET: &str = "lz_hash_get";
/// `i32 lz_hash_set(ptr table, i64 key, i64 tag, i64 payload, ptr cache)`: like
/// `lz_hash_get`, but stores the value `tag`/`payload` in the entry found and returns 1;
/// 0 when the raw value is `nil` (nothing stored).
pub const HASH_SET: &str = "lz_hash_set";
/// `{i64, i64} lz_hash_lookup(ptr vm, ptr table, i64 key, ptr word, ptr cache, ptr chain)`:
/// like `lz_hash_get`, and when the raw value is `nil`, the rest of the lookup by the
/// runtime function's chain lookup `chain` (a [`lazyjit_ir::interp::ChainFn`]): `nil`
/// without a metatable, else the answer the site's lookup cache `cache` has for the
/// metatable or, failing that, `chain`'s (remembered there unless `{LEAF_MISS, 0}`).
pub const HASH_LOOKUP: &str = "lz_hash_lookup";
/// `i64 lz_hash_find(ptr table, i64 key, ptr cache)`: the number of the hash-part entry of
/// `table` holding string `key` with a value other than `nil` (stored in the `u32` at
/// `cache` too), or -1 (`hash.find` when its cache word names another entry).
pub const HASH_FIND: &str = "lz_hash_find";
/// `void lz_hash_store(ptr table, i64 entry, i64 tag, i64 payload)`: stores the value
/// into hash-part entry `entry` of a watched table, which moves the lookup epoch on
/// (`hash.set` on a table some lookup cache depends on).
pub const HASH_STORE: &str = "lz_hash_store";
/// `void lz_closure(ptr vm, ptr closure, i32 func, ptr cells, i32 ncells, ptr out)`: a
/// closure of function `func` of the running closure's module over the `ncells` cell
/// values at `cells`.
pub const CLOSURE: &str = "lz_closure";
/// `i32 lz_backedge(ptr vm, i32 pc)`: the safepoint of a loop back-edge, called when the
/// heap wants a collection (`pc`: the op the frame continues at). Compiled code counts
/// back edges in [`lazyjit_ir::interp::Proto::backedges`] itself and tests the heap's
/// counters ([`VM_GC_BYTES_OFFSET`], [`VM_GC_THRESHOLD_OFFSET`]) inline.
pub const BACKEDGE: &str = "lz_backedge";
/// `i64 lz_deopt(ptr vm, i32 snap, i32 pc)`: the guard of op `pc` with snapshot `snap`
/// failed (the guard's code stored the values the snapshot names to their slots): the
/// frame becomes the generic function's; returns the status the body returns
/// ([`STATUS_DEOPTED`], see [`lazyjit_ir::interp::compiled::deopt`]).
pub const DEOPT: &str = "lz_deopt";

/// `i32 lz_call_finish(ptr vm, i64 status, i64 floor, i64 top, i32 pc, ptr nret)`: a
/// body that compiled code called directly (having pushed its frame, see
/// `lower::calls`) returned a negative status: follows its tail call, finishes its
/// deoptimized frame in the interpreter or takes its error, pops the frames above
/// `floor`, restores the top of the stack; 0 and the result count in `*nret`, or
/// nonzero with the error (positioned at `pc`) in the VM.
pub const CALL_FINISH: &str = "lz_call_finish";

/// `i64 lz_enter_version(ptr vm, ptr proto)`: the prologue of optimized code: the frame
/// becomes one of `proto`, the version the code was made from; 0 or [`STATUS_ERROR`]
/// (see [`lazyjit_ir::interp::compiled::enter_version`]).
pub const ENTER_VERSION: &str = "lz_enter_version";

/// `i64 lz_osr(ptr vm, ptr closure, ptr base, i32 header)`: compact code at a hot back
/// edge to loop header `header` leaves for the header's on-stack entry; returns its
/// status, or [`STATUS_OSR_DECLINED`] when there is none to take and the code goes on
/// to the header (see [`lazyjit_ir::interp::compiled::osr`]).
pub const OSR: &str = "lz_osr";

/// `void lz_hot(ptr vm, ptr proto)`: compact code's entry counted the call that makes
/// the function hot; the JIT moves it on (see [`lazyjit_ir::interp::JitHooks::hot`]).
pub const HOT: &str = "lz_hot";

/// `i64 lz_step(ptr vm, i32 pc)`: runs op `pc` of the running frame as the interpreter
/// does (the compact code shape, `lower/compact.rs`); returns the pc the frame goes on
/// at (the next op, or a branch's target, block-parameter moves made and back edge
/// counted), a return's result count, [`STATUS_TAIL_CALL`] or [`STATUS_ERROR`]
/// (see [`lazyjit_ir::interp::compiled::step`]). After a failed step, later steps
/// return [`STATUS_ERROR`] without running their op until the error is taken.
pub const STEP: &str = "lz_step";

/// `i64 lz_elems_are(ptr table, i64 tag)`: 1 if every element of the table's array
/// part has the tag (looking at them; the table then remembers it at
/// [`TABLE_ELEMS_OFFSET`]), else 0 (`guard.elems` when the remembered tag is another).
pub const ELEMS_ARE: &str = "lz_elems_are";

/// `void lz_arr_reserve(ptr vm, ptr table, i64 n)`: makes room in the table's array
/// part for `n` elements in all (`arr.reserve`, when its capacity is less), counting
/// the growth toward the next collection.
pub const ARR_RESERVE: &str = "lz_arr_reserve";

/// Every helper name (the host defines them all).
pub const HELPERS: &[&str] = &[
    STEP,
    RTCALL,
    RTCALL_V,
    RTCALL_V2,
    CALL,
    STAGE_PACK,
    TAIL_CALL,
    NEW_PACK,
    PACK_GET,
    PACK_LEN,
    CELL_NEW,
    UPVAL,
    GLOBALS,
    CLOSURE,
    BACKEDGE,
    DEOPT,
    ENTER_VERSION,
    CALL_FINISH,
    OSR,
    HOT,
    HASH_GET,
    HASH_SET,
    HASH_LOOKUP,
    HASH_FIND,
    HASH_STORE,
    ELEMS_ARE,
    ARR_RESERVE,
];

/// Offset of a value's tag byte.
pub const VAL_TAG_OFFSET: u64 = 0;
/// Offset of a value's payload.
pub const VAL_PAYLOAD_OFFSET: u64 = 8;
/// Size of a value.
pub const VAL_SIZE: u64 = 16;
/// Bytes between two payloads of a table's array part (see
/// [`lazyjit_ir::rt::object::Table::ARRAY_PTR_OFFSET`]).
pub const ELEMENT_SIZE: u64 = lazyjit_ir::rt::object::Table::ELEMENT_SIZE as u64;
/// Offset of a cell's value within a cell object.
pub const CELL_VALUE_OFFSET: u64 = 8;
/// Offset of the allocated-bytes counter (a `usize`) in the VM.
pub const VM_GC_BYTES_OFFSET: u64 = lazyjit_ir::interp::Vm::GC_BYTES_OFFSET as u64;
/// Offset of the collection threshold (a `usize`) in the VM.
pub const VM_GC_THRESHOLD_OFFSET: u64 = lazyjit_ir::interp::Vm::GC_THRESHOLD_OFFSET as u64;
/// Offset of the address of the interrupt flag (a byte, non-zero once the run is to
/// stop) in the VM.
pub const VM_INTERRUPT_FLAG_OFFSET: u64 = lazyjit_ir::interp::Vm::INTERRUPT_FLAG_OFFSET as u64;
/// Offset of the address of the frame records ([`lazyjit_ir::interp::FrameInfo`]) in the VM.
pub const VM_FRAMES_PTR_OFFSET: u64 = lazyjit_ir::interp::Vm::FRAMES_PTR_OFFSET as u64;
/// Offset of the number of frames (a `usize`) in the VM.
pub const VM_FRAMES_LEN_OFFSET: u64 = lazyjit_ir::interp::Vm::FRAMES_LEN_OFFSET as u64;
/// Offset of the frame capacity (a `usize`) in the VM.
pub const VM_FRAMES_CAP_OFFSET: u64 = lazyjit_ir::interp::Vm::FRAMES_CAP_OFFSET as u64;
/// Offset of the call depth (a `usize`) in the VM.
pub const VM_DEPTH_OFFSET: u64 = lazyjit_ir::interp::Vm::DEPTH_OFFSET as u64;
/// Offset of the call depth limit (a `usize`) in the VM.
pub const VM_MAX_DEPTH_OFFSET: u64 = lazyjit_ir::interp::Vm::MAX_DEPTH_OFFSET as u64;
/// Offset of the top of the value stack in use (a `usize` slot index) in the VM.
pub const VM_TOP_OFFSET: u64 = lazyjit_ir::interp::Vm::TOP_OFFSET as u64;
/// Offset of the value stack's size in slots (a `usize`) in the VM.
pub const VM_STACK_SLOTS_OFFSET: u64 = lazyjit_ir::interp::Vm::STACK_SLOTS_OFFSET as u64;
/// Slots kept free on the value stack past what a frame asks for.
pub const VM_STACK_MARGIN: u64 = lazyjit_ir::interp::Vm::STACK_MARGIN as u64;
/// Size of a frame record.
pub const FRAME_SIZE: u64 = lazyjit_ir::interp::FrameInfo::SIZE as u64;
/// Offset of the running function (`*const Proto`) in a frame record.
pub const FRAME_PROTO_OFFSET: u64 = lazyjit_ir::interp::FrameInfo::PROTO_OFFSET as u64;
/// Offset of the frame's first slot (a `usize` slot index) in a frame record.
pub const FRAME_BASE_OFFSET: u64 = lazyjit_ir::interp::FrameInfo::BASE_OFFSET as u64;
/// Offset of the position (a `u32` op index) in a frame record.
pub const FRAME_PC_OFFSET: u64 = lazyjit_ir::interp::FrameInfo::PC_OFFSET as u64;
/// Offset of the running closure in a frame record.
pub const FRAME_CLOSURE_OFFSET: u64 = lazyjit_ir::interp::FrameInfo::CLOSURE_OFFSET as u64;
/// Offset of a closure's inline cell pointers (closures with at most
/// [`CLOSURE_INLINE_CELLS`] cells).
pub const CLOSURE_INLINE_CELLS_OFFSET: u64 = lazyjit_ir::rt::object::Closure::INLINE_CELLS_OFFSET as u64;
/// How many cells a closure keeps inline.
pub const CLOSURE_INLINE_CELLS: u32 = lazyjit_ir::rt::object::INLINE_CELLS as u32;
/// Offset of the function (`*const Proto`) in a closure.
pub const CLOSURE_PROTO_OFFSET: u64 = lazyjit_ir::rt::object::Closure::PROTO_OFFSET as u64;
/// Offset of the pointer to the module's string constants in a function.
pub const PROTO_CONSTS_OFFSET: u64 = lazyjit_ir::interp::Proto::CONSTS_OFFSET as u64;
/// Offset of the pointer to the inline-cache words (a `u32` per MIR instruction) in a
/// function.
pub const PROTO_ICS_OFFSET: u64 = lazyjit_ir::interp::Proto::ICS_OFFSET as u64;
/// Offset of the call counter (a `u32`) in a function.
pub const PROTO_CALLS_OFFSET: u64 = lazyjit_ir::interp::Proto::CALLS_OFFSET as u64;
/// Offset of the dispatch slot (a code address) in a function.
pub const PROTO_ENTRY_OFFSET: u64 = lazyjit_ir::interp::Proto::ENTRY_OFFSET as u64;
/// Offset of the frame size in slots (a `u32`) in a function.
pub const PROTO_NSLOTS_OFFSET: u64 = lazyjit_ir::interp::Proto::NSLOTS_OFFSET as u64;
/// Offset of the number of fixed parameters (a `u32`) in a function.
pub const PROTO_NPARAMS_OFFSET: u64 = lazyjit_ir::interp::Proto::NPARAMS_OFFSET as u64;
/// Offset of the vararg flag (a `bool` byte) in a function.
pub const PROTO_VARARG_OFFSET: u64 = lazyjit_ir::interp::Proto::VARARG_OFFSET as u64;
/// Offset of the entry the dispatch slot takes when the function gets hot.
pub const PROTO_HOT_ENTRY_OFFSET: u64 = lazyjit_ir::interp::Proto::HOT_ENTRY_OFFSET as u64;
/// Offset of the back-edge counter (a `u32`) in a function.
pub const PROTO_BACKEDGES_OFFSET: u64 = lazyjit_ir::interp::Proto::BACKEDGES_OFFSET as u64;
/// Size of a table object.
pub const TABLE_SIZE: u64 = lazyjit_ir::rt::object::Table::SIZE as u64;
/// Offset of a table's metatable pointer (null if none).
pub const TABLE_META_OFFSET: u64 = lazyjit_ir::rt::object::Table::META_OFFSET as u64;
/// Offset of a table's element tag (a byte): the tag every element of its array part
/// has, or 0 (see [`lazyjit_ir::rt::object::Table::ELEMS_OFFSET`]).
pub const TABLE_ELEMS_OFFSET: u64 = lazyjit_ir::rt::object::Table::ELEMS_OFFSET as u64;
/// Offset of the pointer to a table's array part: the elements' payloads (`t[1]`'s
/// first, [`ELEMENT_SIZE`] bytes apart), then, `ELEMENT_SIZE * capacity` bytes on, their
/// tag bytes, meaningful while the element tag ([`TABLE_ELEMS_OFFSET`]) is 0.
pub const TABLE_ARRAY_PTR_OFFSET: u64 = lazyjit_ir::rt::object::Table::ARRAY_PTR_OFFSET as u64;
/// Offset of the length (`u64`) of a table's array part.
pub const TABLE_ARRAY_LEN_OFFSET: u64 = lazyjit_ir::rt::object::Table::ARRAY_LEN_OFFSET as u64;
/// Offset of the capacity (`u64`) of a table's array part.
pub const TABLE_ARRAY_CAP_OFFSET: u64 = lazyjit_ir::rt::object::Table::ARRAY_CAP_OFFSET as u64;
/// Offset of the pointer to a table's hash-part entries (key, then value).
pub const TABLE_HASH_PTR_OFFSET: u64 = lazyjit_ir::rt::object::Table::HASH_PTR_OFFSET as u64;
/// Offset of the number of a table's hash-part entries (`u64`).
pub const TABLE_HASH_LEN_OFFSET: u64 = lazyjit_ir::rt::object::Table::HASH_LEN_OFFSET as u64;
/// Offset of a table's watched flag (a `bool` byte).
pub const TABLE_WATCHED_OFFSET: u64 = lazyjit_ir::rt::object::Table::WATCHED_OFFSET as u64;
/// Offset of the pointer to a function's lookup caches.
pub const PROTO_LOOKUPS_OFFSET: u64 = lazyjit_ir::interp::Proto::LOOKUPS_OFFSET as u64;
/// Size of a lookup cache.
pub const LOOKUP_SIZE: u64 = lazyjit_ir::rt::object::LookupCache::SIZE as u64;
/// Offset of a table's hash-part key summary (`u64`, see `Table::KEYS_OFFSET`).
pub const TABLE_KEYS_OFFSET: u64 = lazyjit_ir::rt::object::Table::KEYS_OFFSET as u64;
/// Offset of a string's hash (`u64`).
pub const STR_HASH_OFFSET: u64 = lazyjit_ir::rt::object::LStr::HASH_OFFSET as u64;
/// Offset of a lookup cache's epoch (`u64`).
pub const LOOKUP_EPOCH_OFFSET: u64 = lazyjit_ir::rt::object::LookupCache::EPOCH_OFFSET as u64;
/// Offset of a lookup cache's first way (metatable, result tag, result payload).
pub const LOOKUP_WAYS_OFFSET: u64 = lazyjit_ir::rt::object::LookupCache::WAYS_OFFSET as u64;
/// Size of a lookup cache's way.
pub const LOOKUP_WAY_SIZE: u64 = lazyjit_ir::rt::object::LookupCache::WAY_SIZE as u64;
/// The data symbol at the process's lookup-cache epoch (`LOOKUP_EPOCH`, a `u64`).
pub const LOOKUP_EPOCH_SYMBOL: &str = "lz_lookup_epoch";
/// Size of a hash-part entry.
pub const TABLE_HASH_ENTRY_SIZE: u64 = lazyjit_ir::rt::object::Table::HASH_ENTRY_SIZE as u64;

#[cfg(test)]
mod tests {
    use lazyjit_ir::rt::object::Cell;
    use lazyjit_ir::rt::Val;

    #[test]
    fn rtcall_words_round_trip_or_refuse() {
        for (rt, nargs, site, pc) in [(0, 1, -1, 0), (65535, 2, (1 << 22) - 2, (1 << 24) - 1), (7, 2, 3, 12345)] {
            let call = super::pack_rtcall(rt, nargs, site, pc).expect("fits");
            assert_eq!(super::unpack_rtcall(call), (rt, nargs, site, pc));
        }
        assert_eq!(super::pack_rtcall(1 << 16, 1, 0, 0), None);
        assert_eq!(super::pack_rtcall(0, 3, 0, 0), None);
        assert_eq!(super::pack_rtcall(0, 0, 0, 0), None);
        assert_eq!(super::pack_rtcall(0, 1, (1 << 22) - 1, 0), None);
        assert_eq!(super::pack_rtcall(0, 1, -2, 0), None);
        assert_eq!(super::pack_rtcall(0, 1, 0, 1 << 24), None);
    }

    #[test]
    fn layouts_match_the_abi() {
        assert_eq!(std::mem::size_of::<Val>() as u64, super::VAL_SIZE);
        let v = Val::int(0x1122);
        let p = &v as *const Val as *const u8;
        // SAFETY: reads within the value.
        unsafe {
            assert_eq!(
                *p.add(super::VAL_TAG_OFFSET as usize),
                lazyjit_ir::rt::Tag::Int as u8
            );
            assert_eq!(
                *(p.add(super::VAL_PAYLOAD_OFFSET as usize) as *const u64),
                0x1122
            );
        }
        let c = Cell::new(Val::int(7));
        let cp = &*c as *const Cell as *const u8;
        // SAFETY: reads within the cell.
        let inner = unsafe { *(cp.add(super::CELL_VALUE_OFFSET as usize) as *const Val) };
        assert_eq!(inner.as_int(), Some(7));
    }
}
