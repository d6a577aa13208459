//! The `string` library (`format sub len rep byte char upper lower reverse find`,
//! pattern functions raising "not supported") and the string metatable.

use lazyjit::runtime::{access, VmResult, VmError, Native, Vm};
use lazyjit::runtime::Val;

use crate::lualib::strlib;

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

fn sub(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.sub");
    let s = a.str(vm, 1)?;
    let i = a.int(vm, 2)?;
    let j = a.opt_int(vm, 3, -1)?;
    let bytes = access::bytes_of(s);
    let part = strlib::sub(bytes, i, j);
    let r = if part.len() == bytes.len() { s } else { vm.try_new_str(part)? };
    ret1(vm, base, r)
}

fn len(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.len");
    let s = a.str(vm, 1)?;
    ret1(vm, base, Val::int(access::str_of(s).len() as i64))
}

fn rep(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.rep");
    let s = a.str(vm, 1)?;
    let count = a.int(vm, 2)?;
    let sep = a.opt_str(vm, 3)?;
    let (s, sep) = (access::bytes_of(s), sep.map(access::bytes_of).unwrap_or(b""));
    let total = strlib::rep_len(s.len(), count, sep.len()).map_err(VmError::msg)?;
    // The arguments stay on the stack (reachable) if the allocation collects.
    let mut out = vm.try_buffer(total)?;
    strlib::rep_into(&mut out, s, count, sep);
    let r = vm.str_from_buffer(out);
    ret1(vm, base, r)
}

fn byte(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.byte");
    let s = a.str(vm, 1)?;
    let i = if a.none_or_nil(vm, 2) { None } else { Some(a.int(vm, 2)?) };
    let j = if a.none_or_nil(vm, 3) { None } else { Some(a.int(vm, 3)?) };
    let range = strlib::byte_range(access::str_of(s).len(), i, j);
    if range.len() >= i32::MAX as usize {
        return Err(VmError::msg("string slice too long"));
    }
    vm.ensure_stack(base, range.len())?;
    let bytes = access::bytes_of(s);
    for (k, &b) in bytes[range.clone()].iter().enumerate() {
        vm.set(base + k, Val::int(b as i64));
    }
    Ok(range.len())
}

fn char(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.char");
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let c = a.int(vm, i)?;
        match strlib::char_code(c) {
            Some(b) => out.push(b),
            None => return Err(a.error(vm, i, "value out of range")),
        }
    }
    let r = vm.new_str(&out);
    ret1(vm, base, r)
}

fn map_bytes(vm: &mut Vm, base: usize, n: usize, name: &'static str, f: fn(&mut [u8])) -> VmResult<usize> {
    let a = Args::new(base, n, name);
    let s = a.str(vm, 1)?;
    let mut out = vm.try_buffer(access::bytes_of(s).len())?;
    out.extend_from_slice(access::bytes_of(s));
    f(&mut out);
    let r = vm.str_from_buffer(out);
    ret1(vm, base, r)
}

fn upper(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    map_bytes(vm, base, n, "string.upper", strlib::upper)
}

fn lower(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    map_bytes(vm, base, n, "string.lower", strlib::lower)
}

fn reverse(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    map_bytes(vm, base, n, "string.reverse", strlib::reverse)
}

fn find(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.find");
    let s = a.str(vm, 1)?;
    let p = a.str(vm, 2)?;
    let init = a.opt_int(vm, 3, 1)?;
    let hay = access::bytes_of(s);
    let needle = access::bytes_of(p);
    if strlib::start_pos(init, hay.len()) - 1 > hay.len() {
        return ret1(vm, base, Val::NIL);
    }
    if !a.get(vm, 4).truthy() && strlib::has_magic(needle) {
        return Err(patterns_unsupported("string.find"));
    }
    match strlib::find_plain(hay, needle, init) {
        Some((i, j)) => ret(vm, base, &[Val::int(i as i64), Val::int(j as i64)]),
        None => ret1(vm, base, Val::NIL),
    }
}

fn patterns_unsupported(name: &str) -> VmError {
    VmError::msg(format!(
        "'{name}' with a pattern is not supported (string patterns are out of scope; string.find accepts plain = true)"
    ))
}

fn match_(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(patterns_unsupported("string.match"))
}

fn gmatch(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(patterns_unsupported("string.gmatch"))
}

fn gsub(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(patterns_unsupported("string.gsub"))
}

fn pack(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(VmError::msg("'string.pack' is not supported (binary packing is out of scope)"))
}

fn unpack(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(VmError::msg("'string.unpack' is not supported (binary packing is out of scope)"))
}

fn packsize(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(VmError::msg("'string.packsize' is not supported (binary packing is out of scope)"))
}

fn dump(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(VmError::msg("'string.dump' is not supported (loading code at run time is out of scope)"))
}

fn format(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "string.format");
    let r = super::format::format(vm, &a)?;
    ret1(vm, base, r)
}
