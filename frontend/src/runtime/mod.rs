//! The Lua runtime library: the runtime functions the lowering calls (`lua.add`,
//! `lua.index`, ...), the metamethod machinery, and the standard library subset of
//! LANGUAGE.md as native functions.
//!
//! Per-VM state (interned metamethod names, the string metatable, the output buffer,
//! standard input, the random generator) lives in [`Vm::ext`]; every heap value it holds
//! is also kept in [`Vm::registry`] so the collector sees it.

use lazyjit::runtime::{access, Hooks, VmError, Native, RtRegistry, Vm, VARINFO};
use lazyjit::runtime::{Tag, Val};

/// Defines natives that raise `'name' is not supported ...` and a static table of them.
macro_rules! unsupported {
    ($table:ident: $($fname:ident = $name:literal),* $(,)? ; $why:literal) => {
        $(
            fn $fname(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
                Err(VmError::msg(concat!("'", $name, "' is not supported", $why)))
            }
        )*
        pub(crate) static $table: &[Native] = &[$(Native { name: $crate::runtime::short($name), f: $fname }),*];
    };
}

mod args;
mod arith;
mod base;
mod convert;
mod format;
mod io;
mod math;
mod meta;
mod ops;
mod state;
mod string;
mod table;

#[cfg(test)]
mod tests;

use convert::number_to_string;
pub(crate) use state::{key, st, In, Key, State, KEY_NAMES};

/// Every runtime function the lowering emits.
pub fn registry() -> RtRegistry {
    let mut r = RtRegistry::new();
    ops::register(&mut r);
    math::declare_native_ops(&mut r);
    r
}

/// Installs the library into `vm`: the globals, the string metatable, the call hooks,
/// the `arg` table (`arg[0]` = `script_name`, `arg[1..]` = `args`) and the state.
pub fn install(vm: &mut Vm, script_name: &str, args: &[String]) {
    let mut keys = [Val::NIL; KEY_NAMES.len()];
    for (k, name) in keys.iter_mut().zip(KEY_NAMES) {
        *k = fixed_str(vm, name.as_bytes());
    }
    vm.ext = Some(Box::new(State::new(keys)));
    vm.hooks = Hooks { call_handler: meta::call_handler, call_error: meta::call_error };
    base::open(vm);
    string::open(vm);
    math::open(vm);
    table::open(vm);
    io::open(vm);

    let argt = vm.new_table(args.len(), 1);
    let name = vm.new_str(script_name.as_bytes());
    raw_set(vm, argt, Val::int(0), name);
    for (i, a) in args.iter().enumerate() {
        let s = vm.new_str(a.as_bytes());
        raw_set(vm, argt, Val::int(i as i64 + 1), s);
    }
    set_global(vm, "arg", argt);
}

/// An uncaught error value as `lua.c` reports it: strings and numbers as they are,
/// otherwise the result of `__tostring` if it gives a string, otherwise
/// `(error object is a X value)`.
pub fn error_to_string(vm: &mut Vm, v: Val) -> String {
    match v.tag() {
        Tag::Str => return String::from_utf8_lossy(access::bytes_of(v)).into_owned(),
        Tag::Int | Tag::Float => return String::from_utf8_lossy(&number_to_string(v)).into_owned(),
        _ => {}
    }
    if let Some(mm) = meta::metamethod(vm, v, Key::ToString) {
        if let Ok(r) = vm.call1(mm, &[v]) {
            if r.tag() == Tag::Str {
                return String::from_utf8_lossy(access::bytes_of(r)).into_owned();
            }
        }
    }
    format!("(error object is a {} value)", type_name(v))
}

/// Keeps what `print` and `io.write` write from now on in memory instead of writing
/// it to standard output (a tool that runs a program for its profile, say); returns
/// what was kept before, if anything.
pub fn capture_stdout(vm: &mut Vm) -> Vec<u8> {
    flush_stdout(vm);
    match std::mem::replace(&mut st(vm).out, state::Out::Capture(Vec::new())) {
        state::Out::Capture(kept) => kept,
        state::Out::Stdout(_) => Vec::new(),
    }
}

/// Flushes what `print` and `io.write` buffered.
pub fn flush_stdout(vm: &mut Vm) {
    if vm.ext.as_ref().is_some_and(|e| e.is::<State>()) {
        st(vm).out.flush();
    }
}

// ---- helpers shared by the library files ---------------------------------------------

/// Writes program output (buffered).
pub(crate) fn write_out(vm: &mut Vm, bytes: &[u8]) {
    st(vm).out.write(bytes);
}

/// A string that is never collected, one object per content (see [`Vm::fixed_str`]).
fn fixed_str(vm: &mut Vm, bytes: &[u8]) -> Val {
    vm.fixed_str(bytes)
}

/// The interned type name of a value (what `type` returns).
pub(crate) fn type_key(v: Val) -> Key {
    match v.tag() {
        Tag::Nil => Key::TNil,
        Tag::Bool => Key::TBoolean,
        Tag::Int | Tag::Float => Key::TNumber,
        Tag::Str => Key::TString,
        Tag::Table => Key::TTable,
        Tag::Func | Tag::Native => Key::TFunction,
        _ => Key::TUserdata,
    }
}

/// Lua's type name of a value.
pub(crate) fn type_name(v: Val) -> &'static str {
    match v.tag() {
        Tag::Nil => "nil",
        Tag::Bool => "boolean",
        Tag::Int | Tag::Float => "number",
        Tag::Str => "string",
        Tag::Table => "table",
        Tag::Func | Tag::Native => "function",
        _ => "userdata",
    }
}

/// The type name Lua uses in error messages: a table's `__name` metafield if it is a
/// string, else [`type_name`].
pub(crate) fn obj_type_name(vm: &mut Vm, v: Val) -> String {
    if v.tag() == Tag::Table {
        let name = meta::metafield(vm, v, Key::Name);
        if name.tag() == Tag::Str {
            return String::from_utf8_lossy(access::bytes_of(name)).into_owned();
        }
    }
    type_name(v).to_string()
}

/// Raw `t[k] = v` on a table value, accounting for growth (keys must be valid).
pub(crate) fn raw_set(vm: &mut Vm, t: Val, k: Val, v: Val) {
    if let Ok(grow) = access::table_of(t).set(k, v) {
        vm.heap.account(grow);
    }
}

/// Raw `t[k] = v` with Lua's errors for `nil`/NaN keys (as runtime messages).
pub(crate) fn raw_set_checked(vm: &mut Vm, t: Val, k: Val, v: Val) -> Result<(), VmError> {
    match access::table_of(t).set(k, v) {
        Ok(grow) => {
            vm.heap.account(grow);
            Ok(())
        }
        Err(lazyjit::runtime::KeyError::Nil) => Err(VmError::msg("table index is nil")),
        Err(lazyjit::runtime::KeyError::NaN) => Err(VmError::msg("table index is NaN")),
    }
}

/// `t.name = v` (raw) with a new string key.
pub(crate) fn set_field(vm: &mut Vm, t: Val, name: &str, v: Val) {
    let k = vm.fixed_str(name.as_bytes());
    raw_set(vm, t, k, v);
}

/// A global's value (raw: the globals table has no metatable of the runtime's making).
pub fn global(vm: &mut Vm, name: &str) -> Val {
    let k = vm.fixed_str(name.as_bytes());
    // SAFETY: the globals table lives as long as the VM.
    unsafe { (*vm.globals).get(k) }
}

/// Sets a global.
pub(crate) fn set_global(vm: &mut Vm, name: &str, v: Val) {
    let g = Val::from_raw(Tag::Table, vm.globals as u64);
    set_field(vm, g, name, v);
}

/// A table of native functions (a library), also set as global `name` unless empty.
pub(crate) fn new_lib(vm: &mut Vm, name: &str, funcs: &'static [Native]) -> Val {
    let t = vm.new_table(0, funcs.len());
    for f in funcs {
        set_field(vm, t, f.name, Vm::native(f));
    }
    if !name.is_empty() {
        set_global(vm, name, t);
    }
    t
}

/// A string value.
pub(crate) fn str_val(vm: &mut Vm, s: &str) -> Val {
    vm.new_str(s.as_bytes())
}

/// Turns a runtime message raised inside a native function (Lua's `luaG_runerror`
/// called from C) into a finished error value: no position, no variable description.
pub(crate) fn unpositioned(vm: &mut Vm, e: VmError) -> VmError {
    match e {
        VmError::Runtime { msg, .. } => {
            let s = msg.replace(VARINFO, "");
            VmError::Value(vm.new_str(s.as_bytes()))
        }
        e => e,
    }
}

/// A finished error value (a message without position).
pub(crate) fn error_value(vm: &mut Vm, msg: &str) -> VmError {
    VmError::Value(vm.new_str(msg.as_bytes()))
}

/// The part of a qualified name after the last dot (`string.rep` -> `rep`).
pub(crate) const fn short(name: &'static str) -> &'static str {
    let b = name.as_bytes();
    let mut i = b.len();
    while i > 0 {
        if b[i - 1] == b'.' {
            let (_, tail) = b.split_at(i);
            // SAFETY: splitting ASCII text after a '.' keeps it valid UTF-8.
            return unsafe { std::str::from_utf8_unchecked(tail) };
        }
        i -= 1;
    }
    name
}
