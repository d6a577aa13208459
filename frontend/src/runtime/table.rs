//! The `table` library: `insert remove concat unpack pack sort move`. Element access
//! goes through `__index`/`__newindex` and lengths through `__len`, as in Lua (plain
//! tables take a raw fast path). `sort` is [`crate::lualib::sort`], Lua 5.4's
//! quicksort, so unstable orders and "invalid order function" errors match.

use lazyjit::runtime::{access, VmResult, VmError, Native, Vm};
use lazyjit::runtime::{Tag, Val};

use crate::lualib::{self, sort::INVALID_ORDER, SortAccess, SortError};

use super::args::{ret1, Args};
use super::arith::{len as len_op, less_than};
use super::convert::number_to_string;
use super::meta::{index, setindex};
use super::{key, new_lib, type_name, unpositioned, Key};

static TABLE: [Native; 7] = [
    Native { name: "insert", f: insert },
    Native { name: "remove", f: remove },
    Native { name: "concat", f: concat },
    Native { name: "unpack", f: unpack },
    Native { name: "pack", f: pack },
    Native { name: "sort", f: sort },
    Native { name: "move", f: move_ },
];

/// Installs `table`.
pub(crate) fn open(vm: &mut Vm) {
    new_lib(vm, "table", &TABLE);
}

#[inline]
fn plain(t: Val) -> bool {
    t.tag() == Tag::Table && access::table_of(t).meta.is_null()
}

/// `t[i]` (with `__index`).
#[inline]
fn geti(vm: &mut Vm, t: Val, i: i64) -> VmResult<Val> {
    if plain(t) {
        return Ok(access::table_of(t).get_int(i));
    }
    index(vm, t, Val::int(i)).map_err(|e| unpositioned(vm, e))
}

/// `t[i] = v` (with `__newindex`).
#[inline]
fn seti(vm: &mut Vm, t: Val, i: i64, v: Val) -> VmResult<()> {
    if plain(t) {
        let grow = access::table_of(t).set_int(i, v);
        vm.heap.account(grow);
        return Ok(());
    }
    setindex(vm, t, Val::int(i), v).map_err(|e| unpositioned(vm, e))
}

/// `#t` (with `__len`, whose result must be an integer).
fn length(vm: &mut Vm, t: Val) -> VmResult<i64> {
    if plain(t) {
        return Ok(access::table_of(t).border());
    }
    let n = len_op(vm, t).map_err(|e| unpositioned(vm, e))?;
    match n.tag() {
        Tag::Int => Ok(n.int_unchecked()),
        Tag::Float => match super::convert::float_to_int(n.float_unchecked()) {
            Some(i) => Ok(i),
            None => Err(VmError::msg("object length is not an integer")),
        },
        _ => Err(VmError::msg("object length is not an integer")),
    }
}

fn insert(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "table.insert");
    let t = a.table(vm, 1)?;
    let e = length(vm, t)?.wrapping_add(1);
    let pos = match n {
        2 => e,
        3 => {
            let pos = a.int(vm, 2)?;
            if (pos as u64).wrapping_sub(1) >= e as u64 {
                return Err(a.error(vm, 2, "position out of bounds"));
            }
            let mut i = e;
            while i > pos {
                let v = geti(vm, t, i - 1)?;
                seti(vm, t, i, v)?;
                i -= 1;
            }
            pos
        }
        _ => return Err(VmError::msg("wrong number of arguments to 'insert'")),
    };
    let v = a.get(vm, n);
    seti(vm, t, pos, v)?;
    Ok(0)
}

fn remove(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "table.remove");
    let t = a.table(vm, 1)?;
    let size = length(vm, t)?;
    let mut pos = a.opt_int(vm, 2, size)?;
    if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
        return Err(a.error(vm, 1, "position out of bounds"));
    }
    let result = geti(vm, t, pos)?;
    while pos < size {
        let v = geti(vm, t, pos + 1)?;
        seti(vm, t, pos, v)?;
        pos += 1;
    }
    seti(vm, t, pos, Val::NIL)?;
    ret1(vm, base, result)
}

fn concat(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "table.concat");
    let t = a.table(vm, 1)?;
    let last = length(vm, t)?;
    let sep = a.opt_str(vm, 2)?;
    let first = a.opt_int(vm, 3, 1)?;
    let last = a.opt_int(vm, 4, last)?;
    let sep = sep.map(|s| access::bytes_of(s).to_vec()).unwrap_or_default();
    let mut out = Vec::new();
    let mut i = first;
    while i <= last {
        let v = geti(vm, t, i)?;
        match v.tag() {
            Tag::Str => vm.try_extend(&mut out, access::bytes_of(v))?,
            Tag::Int | Tag::Float => vm.try_extend(&mut out, &number_to_string(v))?,
            _ => {
                return Err(VmError::msg(format!(
                    "invalid value ({}) at index {i} in table for 'concat'",
                    type_name(v)
                )))
            }
        }
        if i == last {
            break;
        }
        vm.try_extend(&mut out, &sep)?;
        i += 1;
    }
    let r = vm.str_from_buffer(out);
    ret1(vm, base, r)
}

/// Lua's limit on the values one call may return (its stack limit).
const MAX_RESULTS: u64 = 999_000;

fn unpack(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "table.unpack");
    let t = a.get(vm, 1);
    let i = a.opt_int(vm, 2, 1)?;
    let e = if a.none_or_nil(vm, 3) { length(vm, t)? } else { a.int(vm, 3)? };
    if i > e {
        return Ok(0);
    }
    let count = (e as u64).wrapping_sub(i as u64);
    if count >= MAX_RESULTS {
        return Err(VmError::msg("too many results to unpack"));
    }
    let count = count as usize + 1;
    vm.ensure_stack(base, count)?;
    if plain(t) {
        let tab = access::table_of(t);
        for k in 0..count {
            vm.set(base + k, tab.get_int(i.wrapping_add(k as i64)));
        }
    } else {
        // Results written so far must stay below `top`: calls into Lua stage their
        // arguments there, and the collector scans only below it.
        let saved_top = vm.top;
        vm.top = vm.top.max(base + count);
        for k in 0..count {
            match geti(vm, t, i.wrapping_add(k as i64)) {
                Ok(v) => vm.set(base + k, v),
                Err(e) => {
                    vm.top = saved_top;
                    return Err(e);
                }
            }
        }
        vm.top = saved_top;
    }
    Ok(count)
}

fn pack(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let t = vm.new_table(n, 1);
    let mut grow = 0;
    {
        let tab = access::table_of(t);
        for i in 0..n {
            grow += tab.push_array(vm.get(base + i));
        }
    }
    vm.heap.account(grow);
    let nk = key(vm, Key::N);
    super::raw_set(vm, t, nk, Val::int(n as i64));
    ret1(vm, base, t)
}

fn move_(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "table.move");
    let a1 = a.table(vm, 1)?;
    let f = a.int(vm, 2)?;
    let e = a.int(vm, 3)?;
    let tpos = a.int(vm, 4)?;
    let tt = if a.none_or_nil(vm, 5) { a1 } else { a.table(vm, 5)? };
    if e >= f {
        if !(f > 0 || e < i64::MAX + f) {
            return Err(a.error(vm, 3, "too many elements to move"));
        }
        if tpos > i64::MAX - (e - f) {
            return Err(a.error(vm, 4, "destination wrap around"));
        }
        let count = e - f;
        let overlap = tpos > e || tpos <= f || (a1.payload() != tt.payload());
        if overlap {
            for i in 0..=count {
                let v = geti(vm, a1, f + i)?;
                seti(vm, tt, tpos + i, v)?;
            }
        } else {
            for i in (0..=count).rev() {
                let v = geti(vm, a1, f + i)?;
                seti(vm, tt, tpos + i, v)?;
            }
        }
    }
    ret1(vm, base, tt)
}

// ---- sort --------------------------------------------------------------------------------

/// The table being sorted, for [`crate::lualib::sort`]: elements through
/// `__index`/`__newindex`, order by the comparator or Lua's `<`.
struct Sorting<'v> {
    vm: &'v mut Vm,
    t: Val,
    cmp: Val,
}

impl SortAccess for Sorting<'_> {
    type Elem = Val;
    type Error = VmError;

    fn get(&mut self, i: usize) -> VmResult<Val> {
        geti(self.vm, self.t, i as i64)
    }

    fn set(&mut self, i: usize, v: Val) -> VmResult<()> {
        seti(self.vm, self.t, i as i64, v)
    }

    fn less(&mut self, a: &Val, b: &Val) -> VmResult<bool> {
        if self.cmp.is_nil() {
            less_than(self.vm, *a, *b).map_err(|e| unpositioned(self.vm, e))
        } else {
            Ok(self.vm.call1(self.cmp, &[*a, *b])?.truthy())
        }
    }

    fn randomize_pivot(&mut self) -> u32 {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(1);
        now.max(1)
    }
}

fn sort(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "table.sort");
    let t = a.table(vm, 1)?;
    let len = length(vm, t)?;
    if len > 1 {
        if len >= i32::MAX as i64 {
            return Err(a.error(vm, 1, "array too big"));
        }
        let cmp = a.get(vm, 2);
        if !cmp.is_nil() && !matches!(cmp.tag(), Tag::Func | Tag::Native) {
            return Err(a.type_error(vm, 2, "function"));
        }
        lualib::sort(&mut Sorting { vm, t, cmp }, len as usize).map_err(|e| match e {
            SortError::InvalidOrder => VmError::msg(INVALID_ORDER),
            SortError::Access(e) => e,
        })?;
    }
    Ok(0)
}
