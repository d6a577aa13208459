//! The base library: `print type tostring tonumber pairs ipairs next select error
//! assert pcall xpcall raw* setmetatable getmetatable collectgarbage`, and the globals
//! of out-of-scope features, which raise an error naming the feature.

use lazyjit::runtime::{access, VmResult, VmError, Native, Vm, VARINFO};
use lazyjit::runtime::{Tag, Val};

use crate::lualib::number;

use super::args::{ret, ret1, Args};
use super::arith::raw_equal;
use super::convert::{number_to_string, str_to_number, tostring as tostring_val};
use super::meta::{index, metafield, metatable_val};
use super::{key, new_lib, raw_set_checked, set_global, st, type_key, unpositioned, write_out, Key};

static BASE: [Native; 20] = [
    Native { name: "print", f: print },
    Native { name: "type", f: type_ },
    Native { name: "tostring", f: tostring },
    Native { name: "tonumber", f: tonumber },
    Native { name: "pairs", f: pairs },
    Native { name: "ipairs", f: ipairs },
    Native { name: "select", f: select },
    Native { name: "error", f: error },
    Native { name: "assert", f: assert },
    Native { name: "pcall", f: pcall },
    Native { name: "xpcall", f: xpcall },
    Native { name: "rawequal", f: rawequal },
    Native { name: "rawlen", f: rawlen },
    Native { name: "rawget", f: rawget },
    Native { name: "rawset", f: rawset },
    Native { name: "setmetatable", f: setmetatable },
    Native { name: "getmetatable", f: getmetatable },
    Native { name: "collectgarbage", f: collectgarbage },
    Native { name: "next", f: next },
    Native { name: "warn", f: warn },
];

/// `next`, also returned by `pairs`.
pub(crate) static NEXT: &Native = &BASE[18];

static IPAIRS_AUX: Native = Native { name: "ipairs_iterator", f: ipairs_aux };

unsupported! {
    UNSUPPORTED_GLOBALS: u_load = "load", u_loadstring = "loadstring", u_loadfile = "loadfile",
    u_dofile = "dofile", u_require = "require";
    " (loading code at run time is out of scope)"
}

unsupported! {
    COROUTINE: u_co_create = "coroutine.create", u_co_resume = "coroutine.resume",
    u_co_yield = "coroutine.yield", u_co_status = "coroutine.status", u_co_wrap = "coroutine.wrap",
    u_co_running = "coroutine.running", u_co_isyieldable = "coroutine.isyieldable",
    u_co_close = "coroutine.close";
    " (coroutines are out of scope)"
}

unsupported! {
    UTF8: u_utf8_char = "utf8.char", u_utf8_codes = "utf8.codes", u_utf8_codepoint = "utf8.codepoint",
    u_utf8_len = "utf8.len", u_utf8_offset = "utf8.offset";
    " (the utf8 library is out of scope)"
}

unsupported! {
    DEBUG: u_dbg_traceback = "debug.traceback", u_dbg_getinfo = "debug.getinfo",
    u_dbg_sethook = "debug.sethook", u_dbg_gethook = "debug.gethook", u_dbg_getlocal = "debug.getlocal",
    u_dbg_setlocal = "debug.setlocal", u_dbg_getupvalue = "debug.getupvalue",
    u_dbg_setupvalue = "debug.setupvalue", u_dbg_getmetatable = "debug.getmetatable",
    u_dbg_setmetatable = "debug.setmetatable", u_dbg_getregistry = "debug.getregistry",
    u_dbg_debug = "debug.debug", u_dbg_upvalueid = "debug.upvalueid", u_dbg_upvaluejoin = "debug.upvaluejoin";
    " (the debug library is out of scope)"
}

/// Installs the base library and the placeholders of unsupported libraries.
pub(crate) fn open(vm: &mut Vm) {
    for f in BASE.iter().chain(UNSUPPORTED_GLOBALS) {
        set_global(vm, f.name, Vm::native(f));
    }
    let g = Val::from_raw(Tag::Table, vm.globals as u64);
    set_global(vm, "_G", g);
    let v = vm.new_str(b"Lua 5.4");
    set_global(vm, "_VERSION", v);
    new_lib(vm, "coroutine", COROUTINE);
    let utf8 = new_lib(vm, "utf8", UTF8);
    let pattern = vm.new_str(b"[\x00-\x7F\xC2-\xFD][\x80-\xBF]*");
    super::set_field(vm, utf8, "charpattern", pattern);
    new_lib(vm, "debug", DEBUG);
}

/// `warn(msg, ...)`: off until `warn("@on")`; then writes `Lua warning: msg` to
/// standard error, as `lua5.4` does.
fn warn(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "warn");
    let mut msg = Vec::new();
    for i in 1..=n.max(1) {
        let v = a.str(vm, i)?;
        msg.extend_from_slice(access::bytes_of(v));
    }
    match &msg[..] {
        b"@on" => st(vm).warn_on = true,
        b"@off" => st(vm).warn_on = false,
        m if m.first() == Some(&b'@') => {}
        m if st(vm).warn_on => {
            super::flush_stdout(vm);
            let mut line = b"Lua warning: ".to_vec();
            line.extend_from_slice(m);
            line.push(b'\n');
            let _ = std::io::Write::write_all(&mut std::io::stderr(), &line);
        }
        _ => {}
    }
    Ok(0)
}

fn print(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let mut line = Vec::new();
    for i in 0..n {
        if i > 0 {
            line.push(b'\t');
        }
        let v = vm.get(base + i);
        match v.tag() {
            Tag::Str => line.extend_from_slice(access::bytes_of(v)),
            Tag::Int | Tag::Float => line.extend_from_slice(&number_to_string(v)),
            Tag::Nil => line.extend_from_slice(b"nil"),
            Tag::Bool => line.extend_from_slice(if v.truthy() { b"true" } else { b"false" }),
            _ => {
                let s = tostring_val(vm, v)?;
                line.extend_from_slice(access::bytes_of(s));
            }
        }
    }
    line.push(b'\n');
    write_out(vm, &line);
    Ok(0)
}

fn type_(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "type");
    let v = a.any(vm, 1)?;
    let name = key(vm, type_key(v));
    ret1(vm, base, name)
}

fn tostring(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "tostring");
    let v = a.any(vm, 1)?;
    let s = tostring_val(vm, v)?;
    ret1(vm, base, s)
}

fn tonumber(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "tonumber");
    if a.none_or_nil(vm, 2) {
        let v = a.any(vm, 1)?;
        let r = match v.tag() {
            Tag::Int | Tag::Float => v,
            Tag::Str => str_to_number(access::bytes_of(v)).unwrap_or(Val::NIL),
            _ => Val::NIL,
        };
        return ret1(vm, base, r);
    }
    let radix = a.int(vm, 2)?;
    let v = a.get(vm, 1);
    if v.tag() != Tag::Str {
        return Err(a.type_error(vm, 1, "string"));
    }
    if !(2..=36).contains(&radix) {
        return Err(a.error(vm, 2, "base out of range"));
    }
    let r = number::str_to_int_base(access::bytes_of(v), radix as u32).map(Val::int).unwrap_or(Val::NIL);
    ret1(vm, base, r)
}

fn next(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "next");
    let t = a.table(vm, 1)?;
    let k = a.get(vm, 2);
    match access::table_of(t).next(k) {
        Ok(Some((k, v))) => ret(vm, base, &[k, v]),
        Ok(None) => ret1(vm, base, Val::NIL),
        Err(()) => Err(super::error_value(vm, "invalid key to 'next'")),
    }
}

fn pairs(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "pairs");
    let t = a.any(vm, 1)?;
    let mm = metafield(vm, t, Key::Pairs);
    if !mm.is_nil() {
        let r = vm.call(mm, &[t])?;
        let r3 = [0, 1, 2].map(|i| r.get(i).copied().unwrap_or(Val::NIL));
        return ret(vm, base, &r3);
    }
    ret(vm, base, &[Vm::native(NEXT), t, Val::NIL])
}

fn ipairs(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "ipairs");
    let t = a.any(vm, 1)?;
    ret(vm, base, &[Vm::native(&IPAIRS_AUX), t, Val::int(0)])
}

fn ipairs_aux(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "ipairs_iterator");
    let t = a.get(vm, 1);
    let i = a.get(vm, 2).as_int().unwrap_or(0).wrapping_add(1);
    let v = if t.tag() == Tag::Table && access::table_of(t).meta.is_null() {
        access::table_of(t).get_int(i)
    } else {
        index(vm, t, Val::int(i)).map_err(|e| unpositioned(vm, e))?
    };
    if v.is_nil() {
        return ret1(vm, base, Val::NIL);
    }
    ret(vm, base, &[Val::int(i), v])
}

fn select(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "select");
    let sel = a.get(vm, 1);
    if sel.tag() == Tag::Str && access::bytes_of(sel).first() == Some(&b'#') {
        return ret1(vm, base, Val::int(n as i64 - 1));
    }
    let mut i = a.int(vm, 1)?;
    let total = n as i64;
    if i < 0 {
        i += total;
    } else if i > total {
        i = total;
    }
    if i < 1 {
        return Err(a.error(vm, 1, "index out of range"));
    }
    let first = i as usize;
    let count = n - first;
    for k in 0..count {
        let v = vm.get(base + first + k);
        vm.set(base + k, v);
    }
    Ok(count)
}

/// The `chunk:line: ` prefix for an error raised `level` levels up (1: the function
/// that called the native running now), or "" where Lua has no position.
pub(crate) fn position(vm: &mut Vm, level: i64) -> String {
    if level <= 0 {
        return String::new();
    }
    // Levels count functions, natives included; the interpreter only keeps Lua frames.
    // A native called directly by `pcall` has `pcall` at level 1, and a Lua function
    // called directly by `pcall` has it at level 2: those levels have no position and
    // the Lua frames beyond are one level further.
    let direct = st(vm).direct_depth;
    let pcall_level = if vm.depth == direct {
        1
    } else if vm.depth == direct.wrapping_add(1) {
        2
    } else {
        i64::MAX
    };
    if level == pcall_level {
        return String::new();
    }
    let frame = if level > pcall_level { level - 2 } else { level - 1 };
    match vm.frame_line(frame as usize) {
        Some((chunk, line)) => format!("{chunk}:{line}: "),
        None => String::new(),
    }
}

/// Raises `v` from the native `name` as an error value, noting the traceback when
/// nothing will catch it.
pub(crate) fn raise(vm: &mut Vm, v: Val, name: &str) -> VmError {
    // lua.c reports an error object with `__tostring` by that text alone.
    let plain = matches!(v.tag(), Tag::Str | Tag::Int | Tag::Float) || metafield(vm, v, Key::ToString).is_nil();
    if vm.protected == 0 && vm.pending_traceback.is_none() && plain {
        let tb = vm.traceback();
        let tb = match tb.split_once('\n') {
            Some((head, rest)) => format!("{head}\n\t[C]: in function '{name}'\n{rest}"),
            None => tb,
        };
        vm.pending_traceback = Some(tb);
    }
    VmError::Value(v)
}

fn error(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "error");
    let level = a.opt_int(vm, 2, 1)?;
    let mut v = a.get(vm, 1);
    if v.tag() == Tag::Str && level > 0 {
        let pos = position(vm, level);
        if !pos.is_empty() {
            let mut s = pos.into_bytes();
            s.extend_from_slice(access::bytes_of(v));
            v = vm.new_str(&s);
        }
    }
    Err(raise(vm, v, "error"))
}

fn assert(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "assert");
    let v = a.any(vm, 1)?;
    if v.truthy() {
        return Ok(n);
    }
    let msg = if n >= 2 {
        let m = a.get(vm, 2);
        let pos = position(vm, 1);
        if m.tag() == Tag::Str && !pos.is_empty() {
            let mut s = pos.into_bytes();
            s.extend_from_slice(access::bytes_of(m));
            vm.new_str(&s)
        } else {
            m
        }
    } else {
        let pos = position(vm, 1);
        vm.new_str(format!("{pos}assertion failed!").as_bytes())
    };
    Err(raise(vm, msg, "assert"))
}

/// Calls the function at `base` with the `n - 1` arguments after it in protected mode;
/// the results (or the error value) are left from `base + 1` up.
fn protected_call(vm: &mut Vm, base: usize, n: usize) -> VmResult<Result<usize, Val>> {
    let f = vm.get(base);
    let saved = st(vm).direct_depth;
    st(vm).direct_depth = vm.depth + 1;
    vm.protected += 1;
    let r = vm.call_at(f, base + 1, n - 1);
    vm.protected -= 1;
    st(vm).direct_depth = saved;
    match r {
        Ok(k) => Ok(Ok(k)),
        Err(VmError::Value(v)) => Ok(Err(v)),
        Err(VmError::Runtime { msg, .. }) => {
            let s = msg.replace(VARINFO, "");
            Ok(Err(vm.new_str(s.as_bytes())))
        }
        Err(e @ VmError::Exit(_)) => Err(e),
    }
}

fn pcall(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "pcall");
    a.any(vm, 1)?;
    match protected_call(vm, base, n)? {
        Ok(k) => {
            vm.set(base, Val::TRUE);
            Ok(k + 1)
        }
        Err(e) => ret(vm, base, &[Val::FALSE, e]),
    }
}

fn xpcall(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "xpcall");
    let handler = a.get(vm, 2);
    if !matches!(handler.tag(), Tag::Func | Tag::Native) {
        return Err(a.type_error(vm, 2, "function"));
    }
    // f goes where the handler was, so f and its arguments are contiguous.
    let f = vm.get(base);
    vm.set(base + 1, f);
    match protected_call(vm, base + 1, n - 1)? {
        Ok(k) => {
            vm.set(base, Val::TRUE);
            for i in 0..k {
                let v = vm.get(base + 2 + i);
                vm.set(base + 1 + i, v);
            }
            Ok(k + 1)
        }
        Err(e) => {
            vm.protected += 1;
            let h = vm.call(handler, &[e]);
            vm.protected -= 1;
            let hv = match h {
                Ok(r) => r.first().copied().unwrap_or(Val::NIL),
                Err(VmError::Value(v)) => v,
                Err(VmError::Runtime { msg, .. }) => vm.new_str(msg.replace(VARINFO, "").as_bytes()),
                Err(e) => return Err(e),
            };
            ret(vm, base, &[Val::FALSE, hv])
        }
    }
}

fn rawequal(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "rawequal");
    let x = a.any(vm, 1)?;
    let y = a.any(vm, 2)?;
    ret1(vm, base, Val::bool(raw_equal(x, y)))
}

fn rawlen(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "rawlen");
    let v = a.get(vm, 1);
    let len = match v.tag() {
        Tag::Table => access::table_of(v).border(),
        Tag::Str => access::str_of(v).len() as i64,
        _ => return Err(a.type_error(vm, 1, "table or string")),
    };
    ret1(vm, base, Val::int(len))
}

fn rawget(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "rawget");
    let t = a.table(vm, 1)?;
    let k = a.any(vm, 2)?;
    let v = access::table_of(t).get(k);
    ret1(vm, base, v)
}

fn rawset(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "rawset");
    let t = a.table(vm, 1)?;
    let k = a.any(vm, 2)?;
    let v = a.any(vm, 3)?;
    raw_set_checked(vm, t, k, v).map_err(|e| unpositioned(vm, e))?;
    ret1(vm, base, t)
}

fn setmetatable(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "setmetatable");
    let t = a.table(vm, 1)?;
    let mt = a.get(vm, 2);
    if n < 2 || !matches!(mt.tag(), Tag::Nil | Tag::Table) {
        return Err(a.type_error(vm, 2, "nil or table"));
    }
    if !metafield(vm, t, Key::Metatable).is_nil() {
        return Err(VmError::msg("cannot change a protected metatable"));
    }
    if mt.tag() == Tag::Table {
        for (k, what) in [(Key::Gc, "__gc"), (Key::Close, "__close"), (Key::Mode, "__mode")] {
            let kv = key(vm, k);
            if !access::table_of(mt).get(kv).is_nil() {
                return Err(VmError::msg(format!(
                    "'{what}' metamethods are not supported (finalizers, to-be-closed variables and weak tables are out of scope)"
                )));
            }
        }
        access::table_of(t).set_meta(mt.payload() as *mut _);
    } else {
        access::table_of(t).set_meta(std::ptr::null_mut());
    }
    ret1(vm, base, t)
}

fn getmetatable(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "getmetatable");
    let v = a.any(vm, 1)?;
    let mt = metatable_val(vm, v);
    if mt.is_nil() {
        return ret1(vm, base, Val::NIL);
    }
    let protected = metafield(vm, v, Key::Metatable);
    ret1(vm, base, if protected.is_nil() { mt } else { protected })
}

fn collectgarbage(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "collectgarbage");
    let opt = a.opt_str(vm, 1)?;
    let opt = opt.map(|v| access::bytes_of(v).to_vec()).unwrap_or_else(|| b"collect".to_vec());
    match &opt[..] {
        b"collect" => {
            vm.collect_garbage();
            ret1(vm, base, Val::int(0))
        }
        b"count" => {
            let kb = vm.heap.bytes as f64 / 1024.0;
            ret1(vm, base, Val::float(kb))
        }
        b"step" => {
            vm.collect_garbage();
            ret1(vm, base, Val::FALSE)
        }
        b"stop" | b"restart" | b"setpause" | b"setstepmul" | b"isrunning" | b"incremental" | b"generational" => {
            Err(VmError::msg(format!(
                "collectgarbage option '{}' is not supported (only \"collect\", \"count\" and \"step\" are)",
                String::from_utf8_lossy(&opt)
            )))
        }
        _ => {
            let msg = format!("invalid option '{}'", String::from_utf8_lossy(&opt));
            Err(a.error(vm, 1, &msg))
        }
    }
}
