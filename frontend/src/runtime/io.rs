//! `io.write`, `io.read` (formats `n l L a` and byte counts), the `io.stdout` and
//! `io.stderr` objects (`:write`, `:flush`), and `os.clock os.time os.difftime
//! os.getenv os.exit`. Output is buffered (see [`super::flush_stdout`]).

use std::io::Write;
use std::time::Instant;

use lazyjit::runtime::{access, VmResult, VmError, Native, Vm};
use lazyjit::runtime::{Tag, Val};

use super::args::{ret1, Args};
use super::convert::{number_to_string_g, str_to_number};
use super::{flush_stdout, key, new_lib, raw_set, set_field, st, write_out, Key};

static IO: [Native; 3] =
    [Native { name: "write", f: io_write }, Native { name: "read", f: io_read }, Native { name: "flush", f: io_flush }];

static FILE_METHODS: [Native; 3] = [
    Native { name: "write", f: file_write },
    Native { name: "flush", f: io_flush },
    Native { name: "close", f: file_close },
];

static FILE_TOSTRING: Native = Native { name: "tostring", f: file_tostring };

static OS: [Native; 5] = [
    Native { name: "clock", f: clock },
    Native { name: "time", f: time },
    Native { name: "difftime", f: difftime },
    Native { name: "getenv", f: getenv },
    Native { name: "exit", f: exit },
];

unsupported! {
    IO_UNSUPPORTED: u_open = "io.open", u_close = "io.close", u_lines = "io.lines", u_input = "io.input",
    u_output = "io.output", u_popen = "io.popen", u_tmpfile = "io.tmpfile", u_type = "io.type";
    " (only io.write and io.read on the standard streams are available)"
}

unsupported! {
    OS_UNSUPPORTED: u_date = "os.date", u_remove = "os.remove", u_rename = "os.rename",
    u_tmpname = "os.tmpname", u_execute = "os.execute", u_setlocale = "os.setlocale";
    " (only os.clock, os.time, os.difftime, os.getenv and os.exit are available)"
}

thread_local! {
    static START: Instant = Instant::now();
}

/// Installs `io` and `os`.
pub(crate) fn open(vm: &mut Vm) {
    START.with(|_| {});
    let io = new_lib(vm, "io", &IO);
    for f in IO_UNSUPPORTED {
        set_field(vm, io, f.name, Vm::native(f));
    }
    let methods = new_lib(vm, "", &FILE_METHODS);
    let mt = vm.new_table(0, 3);
    let k = key(vm, Key::Index);
    raw_set(vm, mt, k, methods);
    let k = key(vm, Key::Name);
    let name = vm.new_str(b"FILE*");
    raw_set(vm, mt, k, name);
    let k = key(vm, Key::ToString);
    raw_set(vm, mt, k, Vm::native(&FILE_TOSTRING));
    for stream in ["stdout", "stderr", "stdin"] {
        let f = vm.new_table(0, 0);
        access::table_of(f).set_meta(mt.payload() as *mut _);
        set_field(vm, io, stream, f);
        if stream == "stdout" {
            st(vm).stdout_obj = f;
            vm.registry.push(f);
        }
    }
    let os = new_lib(vm, "os", &OS);
    for f in OS_UNSUPPORTED {
        set_field(vm, os, f.name, Vm::native(f));
    }
}

/// Writes arguments `first..=n` (strings and numbers) to `out` or standard error.
fn write_args(vm: &mut Vm, a: &Args, first: usize, to_stdout: bool) -> VmResult<()> {
    let mut buf = Vec::new();
    let mut bad = None;
    for i in first..=a.n {
        let v = a.get(vm, i);
        match v.tag() {
            Tag::Str => buf.extend_from_slice(access::bytes_of(v)),
            Tag::Int | Tag::Float => buf.extend_from_slice(&number_to_string_g(v)),
            _ => {
                bad = Some(i);
                break;
            }
        }
    }
    // What precedes a bad argument is written, as Lua writes argument by argument.
    if to_stdout {
        write_out(vm, &buf);
    } else {
        flush_stdout(vm);
        let _ = std::io::stderr().write_all(&buf);
    }
    match bad {
        Some(i) => Err(a.type_error(vm, i, "string")),
        None => Ok(()),
    }
}

fn io_write(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "io.write");
    write_args(vm, &a, 1, true)?;
    let f = st(vm).stdout_obj;
    ret1(vm, base, f)
}

fn file_write(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "write");
    let f = a.get(vm, 1);
    let to_stdout = f.raw_identical(st(vm).stdout_obj);
    write_args(vm, &a, 2, to_stdout)?;
    ret1(vm, base, f)
}

fn io_flush(vm: &mut Vm, base: usize, _n: usize) -> VmResult<usize> {
    flush_stdout(vm);
    let f = st(vm).stdout_obj;
    ret1(vm, base, f)
}

fn file_close(_: &mut Vm, _: usize, _: usize) -> VmResult<usize> {
    Err(VmError::msg("closing the standard files is not supported"))
}

fn file_tostring(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "tostring");
    let f = a.get(vm, 1);
    let s = format!("file ({:#x})", f.payload());
    let v = vm.new_str(s.as_bytes());
    ret1(vm, base, v)
}

// ---- io.read -----------------------------------------------------------------------------

/// Lua's longest numeral `io.read("n")` accepts.
const MAX_NUMERAL: usize = 200;

/// Reads a numeral the way Lua's `read_number` does: take the longest prefix that looks
/// like a number, leave the first byte that does not, then convert (nil on failure).
fn read_number(vm: &mut Vm) -> Val {
    let input = &mut st(vm).input;
    let mut buf: Vec<u8> = Vec::new();
    let mut ok = true;
    while input.peek().is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')) {
        input.next();
    }
    // Takes the current byte if it is in `set`.
    let mut test = |input: &mut super::In, buf: &mut Vec<u8>, set: &[u8]| -> bool {
        match input.peek() {
            Some(c) if set.contains(&c) => {
                if buf.len() >= MAX_NUMERAL {
                    ok = false;
                    return false;
                }
                buf.push(c);
                input.next();
                true
            }
            _ => false,
        }
    };
    test(input, &mut buf, b"-+");
    let mut count = 0;
    let mut hex = false;
    if test(input, &mut buf, b"0") {
        if test(input, &mut buf, b"xX") {
            hex = true;
        } else {
            count = 1;
        }
    }
    let digits: &[u8] = if hex { b"0123456789abcdefABCDEF" } else { b"0123456789" };
    while test(input, &mut buf, digits) {
        count += 1;
    }
    if test(input, &mut buf, b".") {
        while test(input, &mut buf, digits) {
            count += 1;
        }
    }
    if count > 0 && test(input, &mut buf, if hex { b"pP" } else { b"eE" }) {
        test(input, &mut buf, b"-+");
        while test(input, &mut buf, b"0123456789") {}
    }
    if !ok {
        return Val::NIL;
    }
    str_to_number(&buf).unwrap_or(Val::NIL)
}

fn read_line(vm: &mut Vm, keep_newline: bool) -> Val {
    let input = &mut st(vm).input;
    let mut line = Vec::new();
    let mut any = false;
    while let Some(b) = input.next() {
        any = true;
        if b == b'\n' {
            if keep_newline {
                line.push(b);
            }
            break;
        }
        line.push(b);
    }
    if !any {
        return Val::NIL;
    }
    vm.new_str(&line)
}

fn read_chars(vm: &mut Vm, n: u64) -> Val {
    let input = &mut st(vm).input;
    if n == 0 {
        return if input.peek().is_some() { vm.new_str(b"") } else { Val::NIL };
    }
    let mut out = Vec::new();
    while (out.len() as u64) < n {
        match input.next() {
            Some(b) => out.push(b),
            None => break,
        }
    }
    if out.is_empty() {
        return Val::NIL;
    }
    vm.new_str(&out)
}

fn io_read(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "io.read");
    flush_stdout(vm);
    if n == 0 {
        let v = read_line(vm, false);
        return ret1(vm, base, v);
    }
    for i in 1..=n {
        let fmt = a.get(vm, i);
        let v = if let Some(k) = fmt.as_int() {
            read_chars(vm, k.max(0) as u64)
        } else if fmt.tag() == Tag::Float {
            let k = a.int(vm, i)?;
            read_chars(vm, k.max(0) as u64)
        } else if fmt.tag() == Tag::Str {
            let f = access::bytes_of(fmt);
            let f = f.strip_prefix(b"*").unwrap_or(f);
            match f.first() {
                Some(b'n') => read_number(vm),
                Some(b'l') => read_line(vm, false),
                Some(b'L') => read_line(vm, true),
                Some(b'a') => {
                    let all = st(vm).input.read_all();
                    vm.new_str(&all)
                }
                _ => return Err(a.error(vm, i, "invalid format")),
            }
        } else {
            return Err(a.type_error(vm, i, "string"));
        };
        vm.set(base + i - 1, v);
        if v.is_nil() {
            return Ok(i);
        }
    }
    Ok(n)
}

// ---- os ----------------------------------------------------------------------------------

fn clock(vm: &mut Vm, base: usize, _n: usize) -> VmResult<usize> {
    let secs = START.with(|s| s.elapsed().as_secs_f64());
    ret1(vm, base, Val::float(secs))
}

fn time(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "os.time");
    if !a.none_or_nil(vm, 1) {
        return Err(VmError::msg("'os.time' with a date table is not supported"));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    ret1(vm, base, Val::int(now as i64))
}

fn difftime(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "os.difftime");
    let t2 = a.int(vm, 1)?;
    let t1 = a.opt_int(vm, 2, 0)?;
    ret1(vm, base, Val::float(t2 as f64 - t1 as f64))
}

fn getenv(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "os.getenv");
    let name = a.str(vm, 1)?;
    let name = String::from_utf8_lossy(access::bytes_of(name)).into_owned();
    let v = match std::env::var_os(&name) {
        Some(v) => vm.new_str(v.as_encoded_bytes()),
        None => Val::NIL,
    };
    ret1(vm, base, v)
}

fn exit(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "os.exit");
    let v = a.get(vm, 1);
    let code = match v.tag() {
        Tag::Nil => 0,
        Tag::Bool => {
            if v.truthy() {
                0
            } else {
                1
            }
        }
        _ => a.opt_int(vm, 1, 0)? as i32,
    };
    flush_stdout(vm);
    Err(VmError::Exit(code))
}
