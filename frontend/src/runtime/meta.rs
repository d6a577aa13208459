//! Metatables: finding metamethods, indexing with `__index`/`__newindex`, and the
//! interpreter hooks for calling non-functions (`__call`).

use lazyjit::runtime::{access, VmResult, VmError, Vm};
use lazyjit::runtime::Table;
use lazyjit::runtime::{Tag, Val};

use super::{key, obj_type_name, raw_set_checked, st, Key};

/// Lua's limit on `__index`/`__newindex` chains.
const MAX_TAG_LOOP: usize = 2000;

/// The metatable of a value, or null (only tables and strings have one).
#[inline]
pub(crate) fn metatable(vm: &mut Vm, v: Val) -> *mut Table {
    match v.tag() {
        Tag::Table => access::table_of(v).meta,
        Tag::Str => {
            let m = st(vm).string_meta;
            if m.tag() == Tag::Table {
                m.payload() as *mut Table
            } else {
                std::ptr::null_mut()
            }
        }
        _ => std::ptr::null_mut(),
    }
}

/// The metatable of a value as a value (`nil` if none).
pub(crate) fn metatable_val(vm: &mut Vm, v: Val) -> Val {
    let m = metatable(vm, v);
    if m.is_null() {
        Val::NIL
    } else {
        Val::from_raw(Tag::Table, m as u64)
    }
}

/// Raw `getmetatable(v)[k]`, `nil` without a metatable.
#[inline]
pub(crate) fn metafield(vm: &mut Vm, v: Val, k: Key) -> Val {
    let m = metatable(vm, v);
    if m.is_null() {
        return Val::NIL;
    }
    let kv = key(vm, k);
    // SAFETY: a metatable pointer refers to a live table.
    unsafe { (*m).get_str(kv) }
}

/// The metamethod `k` of `v`, if it has a non-nil one.
#[inline]
pub(crate) fn metamethod(vm: &mut Vm, v: Val, k: Key) -> Option<Val> {
    let h = metafield(vm, v, k);
    (!h.is_nil()).then_some(h)
}

/// Whether a value is a function (closure or native).
#[inline]
pub(crate) fn is_function(v: Val) -> bool {
    matches!(v.tag(), Tag::Func | Tag::Native)
}

/// `obj[k]` with `__index`. A failure on `obj` itself is about operand 0.
pub(crate) fn index(vm: &mut Vm, obj: Val, k: Val) -> VmResult<Val> {
    let mut t = obj;
    for depth in 0..MAX_TAG_LOOP {
        let handler = if t.tag() == Tag::Table {
            let tab = access::table_of(t);
            let v = tab.get(k);
            if !v.is_nil() || tab.meta.is_null() {
                return Ok(v);
            }
            let kv = key(vm, Key::Index);
            // SAFETY: a metatable pointer refers to a live table.
            let h = unsafe { (*tab.meta).get_str(kv) };
            if h.is_nil() {
                return Ok(Val::NIL);
            }
            h
        } else {
            let h = metafield(vm, t, Key::Index);
            if h.is_nil() {
                let msg = format!("attempt to index a {} value", obj_type_name(vm, t));
                return Err(if depth == 0 { VmError::about(0, msg) } else { VmError::msg(msg) });
            }
            h
        };
        if is_function(handler) {
            return vm.call1(handler, &[t, k]);
        }
        t = handler;
    }
    Err(VmError::msg("'__index' chain too long; possible loop"))
}

/// `obj[k] = v` with `__newindex`. A failure on `obj` itself is about operand 0.
pub(crate) fn setindex(vm: &mut Vm, obj: Val, k: Val, v: Val) -> VmResult<()> {
    let mut t = obj;
    for depth in 0..MAX_TAG_LOOP {
        let handler = if t.tag() == Tag::Table {
            let tab = access::table_of(t);
            if tab.meta.is_null() || !tab.get(k).is_nil() {
                return raw_set_checked(vm, t, k, v);
            }
            let kv = key(vm, Key::NewIndex);
            // SAFETY: a metatable pointer refers to a live table.
            let h = unsafe { (*tab.meta).get_str(kv) };
            if h.is_nil() {
                return raw_set_checked(vm, t, k, v);
            }
            h
        } else {
            let h = metafield(vm, t, Key::NewIndex);
            if h.is_nil() {
                let msg = format!("attempt to index a {} value", obj_type_name(vm, t));
                return Err(if depth == 0 { VmError::about(0, msg) } else { VmError::msg(msg) });
            }
            h
        };
        if is_function(handler) {
            vm.call(handler, &[t, k, v])?;
            return Ok(());
        }
        t = handler;
    }
    Err(VmError::msg("'__newindex' chain too long; possible loop"))
}

/// Calls the handler `h` of metamethod `k` with `args` (its first result); a handler
/// that cannot be called is an error naming the metamethod, as Lua's is (`a <= b`
/// through `__lt` names `le`: Lua names the operator's event).
pub(crate) fn call_meta(vm: &mut Vm, h: Val, k: Key, args: &[Val]) -> VmResult<Val> {
    if !is_function(h) && call_handler(vm, h).is_none() {
        let name = super::KEY_NAMES[k as usize].trim_start_matches("__");
        return Err(VmError::msg(format!("attempt to call a {} value (metamethod '{name}')", obj_type_name(vm, h))));
    }
    vm.call1(h, args)
}

/// Interpreter hook: the `__call` handler of a non-function value.
pub(crate) fn call_handler(vm: &mut Vm, v: Val) -> Option<Val> {
    metamethod(vm, v, Key::Call)
}

/// Interpreter hook: the error for calling a value that cannot be called.
pub(crate) fn call_error(vm: &mut Vm, v: Val) -> VmError {
    VmError::about(0, format!("attempt to call a {} value", obj_type_name(vm, v)))
}
