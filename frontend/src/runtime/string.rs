//! The `string` library (`format sub len rep byte char upper lower reverse find`,
//! pattern functions raising "not supported") and the string metatable.

use lazyjit_ir::interp::{access, LResult, LuaError, Native, Vm};
use lazyjit_ir::rt::Val;

use super::args::{ret, ret1, Args};
use super::{key, new_lib, raw_set, st, Key};

static STRING: [Native; 11] = [
    Native { name: "format", f: format },
    Native { name: "sub", f: sub },
    Native { name: "len", f: len },
    Native { name: "rep", f: rep },
    Native { name: "byte", f: byte },
    Native { name: "char", f: char },
    Native { name: "upper", f: upper },
    Native { name: "lower", f: lower },
    Native { name: "reverse", f: reverse },
    Native { name: "find", f: find },
    Native { name: "match", f: match_ },
];

static MORE: [Native; 6] = [
    Native { name: "gmatch", f: gmatch },
    Native { name: "gsub", f: gsub },
    Native { name: "pack", f: pack },
    Native { name: "unpack", f: unpack },
    Native { name: "packsize", f: packsize },
    Native { name: "dump", f: dump },
];

/// Installs `string` and the string metatable (`__index` = `string`).
pub(crate) fn open(vm: &mut Vm) {
    let lib = new_lib(vm, "string", &STRING);
    for f in &MORE {
        super::set_field(vm, lib, f.name, Vm::native(f));
    }
    let mt = vm.new_table(0, 2);
    let k = key(vm, Key::Index);
    raw_set(vm, mt, k, lib);
    vm.registry.push(mt);
    st(vm).string_meta = mt;
}

/// Lua's `posrelatI`: a start position (negative from the end) clipped to `1..`.
fn start_pos(pos: i64, len: usize) -> usize {
    if pos > 0 {
        pos as usize
    } else if pos == 0 || pos < -(len as i64) {
        1
    } else {
        (len as i64 + pos + 1) as usize
    }
}

/// Lua's `getendpos`: an end position clipped to `0..=len`.
fn end_pos(pos: i64, len: usize) -> usize {
    if pos > len as i64 {
        len
    } else if pos >= 0 {
        pos as usize
    } else if pos < -(len as i64) {
        0
    } else {
        (len as i64 + pos + 1) as usize
    }
}

fn sub(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.sub");
    let s = a.str(vm, 1)?;
    let len = access::str_of(s).len();
    let i = start_pos(a.int(vm, 2)?, len);
    let j = end_pos(a.opt_int(vm, 3, -1)?, len);
    let r = if i > j {
        vm.new_str(b"")
    } else if i == 1 && j == len {
        s
    } else {
        let bytes = access::bytes_of(s)[i - 1..j].to_vec();
        vm.new_str(&bytes)
    };
    ret1(vm, base, r)
}

fn len(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.len");
    let s = a.str(vm, 1)?;
    ret1(vm, base, Val::int(access::str_of(s).len() as i64))
}

/// Largest string `rep` builds (Lua's own limit is memory).
const MAX_STRING: usize = 1 << 31;

fn rep(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.rep");
    let s = a.str(vm, 1)?;
    let count = a.int(vm, 2)?;
    let sep = a.opt_str(vm, 3)?;
    if count <= 0 {
        let e = vm.new_str(b"");
        return ret1(vm, base, e);
    }
    let body = access::bytes_of(s);
    let sep = sep.map(access::bytes_of).unwrap_or(b"");
    let total = (body.len() as u128 + sep.len() as u128) * count as u128;
    if total > MAX_STRING as u128 {
        return Err(LuaError::msg("resulting string too large"));
    }
    let mut out = Vec::with_capacity(total as usize);
    for k in 0..count {
        if k > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(body);
    }
    let r = vm.new_str(&out);
    ret1(vm, base, r)
}

fn byte(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.byte");
    let s = a.str(vm, 1)?;
    let len = access::str_of(s).len();
    let i = a.opt_int(vm, 2, 1)?;
    let pi = start_pos(i, len);
    let pe = end_pos(a.opt_int(vm, 3, pi as i64)?, len);
    if pi > pe {
        return Ok(0);
    }
    let count = pe - pi + 1;
    if count >= i32::MAX as usize {
        return Err(LuaError::msg("string slice too long"));
    }
    vm.ensure_stack(base, count)?;
    let bytes = access::bytes_of(s);
    for k in 0..count {
        vm.set(base + k, Val::int(bytes[pi - 1 + k] as i64));
    }
    Ok(count)
}

fn char(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.char");
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let c = a.int(vm, i)?;
        if c as u64 > 255 {
            return Err(a.error(vm, i, "value out of range"));
        }
        out.push(c as u8);
    }
    let r = vm.new_str(&out);
    ret1(vm, base, r)
}

fn map_bytes(vm: &mut Vm, base: usize, n: usize, name: &'static str, f: fn(&[u8]) -> Vec<u8>) -> LResult<usize> {
    let a = Args::new(base, n, name);
    let s = a.str(vm, 1)?;
    let out = f(access::bytes_of(s));
    let r = vm.new_str(&out);
    ret1(vm, base, r)
}

fn upper(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    map_bytes(vm, base, n, "string.upper", |s| s.to_ascii_uppercase())
}

fn lower(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    map_bytes(vm, base, n, "string.lower", |s| s.to_ascii_lowercase())
}

fn reverse(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    map_bytes(vm, base, n, "string.reverse", |s| s.iter().rev().copied().collect())
}

/// Characters that make a pattern a pattern.
const SPECIALS: &[u8] = b"^$*+?.([%-";

fn find(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.find");
    let s = a.str(vm, 1)?;
    let p = a.str(vm, 2)?;
    let hay = access::bytes_of(s);
    let needle = access::bytes_of(p);
    let init = start_pos(a.opt_int(vm, 3, 1)?, hay.len()) - 1;
    if init > hay.len() {
        return ret1(vm, base, Val::NIL);
    }
    let plain = a.get(vm, 4).truthy();
    if !plain && needle.iter().any(|b| SPECIALS.contains(b)) {
        return Err(patterns_unsupported("string.find"));
    }
    let found = if needle.is_empty() {
        Some(init)
    } else {
        hay[init..].windows(needle.len()).position(|w| w == needle).map(|k| k + init)
    };
    match found {
        Some(at) => ret(vm, base, &[Val::int(at as i64 + 1), Val::int((at + needle.len()) as i64)]),
        None => ret1(vm, base, Val::NIL),
    }
}

fn patterns_unsupported(name: &str) -> LuaError {
    LuaError::msg(format!(
        "'{name}' with a pattern is not supported (string patterns are out of scope; string.find accepts plain = true)"
    ))
}

fn match_(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(patterns_unsupported("string.match"))
}

fn gmatch(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(patterns_unsupported("string.gmatch"))
}

fn gsub(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(patterns_unsupported("string.gsub"))
}

fn pack(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(LuaError::msg("'string.pack' is not supported (binary packing is out of scope)"))
}

fn unpack(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(LuaError::msg("'string.unpack' is not supported (binary packing is out of scope)"))
}

fn packsize(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(LuaError::msg("'string.packsize' is not supported (binary packing is out of scope)"))
}

fn dump(_: &mut Vm, _: usize, _: usize) -> LResult<usize> {
    Err(LuaError::msg("'string.dump' is not supported (loading code at run time is out of scope)"))
}

fn format(vm: &mut Vm, base: usize, n: usize) -> LResult<usize> {
    let a = Args::new(base, n, "string.format");
    let r = super::format::format(vm, &a)?;
    ret1(vm, base, r)
}
