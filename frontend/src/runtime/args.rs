//! Argument access and checking for native functions, with Lua's `bad argument`
//! messages.

use lazyjit::runtime::{VmResult, VmError, Vm};
use lazyjit::runtime::{Tag, Val};
use lazyjit::mir::VarKind;

use super::convert::{float_to_int, number_to_string, str_to_number};
use super::{obj_type_name, st};

/// The arguments of one native call: `n` values at `vm.get(base..)`, and the function's
/// qualified name (`string.rep`) for messages.
#[derive(Clone, Copy)]
pub(crate) struct Args {
    /// First argument's stack slot (results go here too).
    pub base: usize,
    /// Number of arguments.
    pub n: usize,
    /// Qualified name.
    pub name: &'static str,
}

impl Args {
    /// The arguments of a native call.
    #[inline]
    pub fn new(base: usize, n: usize, name: &'static str) -> Args {
        Args { base, n, name }
    }

    /// Argument `i` (1-based), `nil` if absent.
    #[inline]
    pub fn get(&self, vm: &Vm, i: usize) -> Val {
        if i >= 1 && i <= self.n {
            vm.get(self.base + i - 1)
        } else {
            Val::NIL
        }
    }

    /// Whether argument `i` is absent or `nil`.
    #[inline]
    pub fn none_or_nil(&self, vm: &Vm, i: usize) -> bool {
        self.get(vm, i).is_nil()
    }

    /// How the running native was called, as far as the interpreter can tell: the
    /// name the calling instruction used for it and whether it was a method call.
    /// `None` when `pcall` called it directly (no call instruction) or the innermost
    /// Lua frame is not at a call.
    fn call_site(&self, vm: &mut Vm) -> Option<(String, bool)> {
        if vm.depth == st(vm).direct_depth {
            return None;
        }
        let (kind, name) = vm.calling_name()?;
        Some((String::from_utf8_lossy(name).into_owned(), kind == VarKind::Method))
    }

    /// The name Lua uses for this function in messages: the name at the call site,
    /// else the qualified name (as when `pcall` calls it directly).
    pub fn fname(&self, vm: &mut Vm) -> String {
        match self.call_site(vm) {
            Some((name, _)) => name,
            None if vm.depth == st(vm).direct_depth => self.name.to_string(),
            None => self.name.rsplit('.').next().unwrap_or(self.name).to_string(),
        }
    }

    /// `bad argument #i to 'f' (extra)` (for a method call, `self` is not counted).
    pub fn error(&self, vm: &mut Vm, i: usize, extra: &str) -> VmError {
        let (name, method) = match self.call_site(vm) {
            Some(site) => site,
            None => (self.fname(vm), false),
        };
        if method {
            if i == 1 {
                return VmError::msg(format!("calling '{name}' on bad self ({extra})"));
            }
            return VmError::msg(format!("bad argument #{} to '{name}' ({extra})", i - 1));
        }
        VmError::msg(format!("bad argument #{i} to '{name}' ({extra})"))
    }

    /// `bad argument #i to 'f' (T expected, got U)`.
    pub fn type_error(&self, vm: &mut Vm, i: usize, expected: &str) -> VmError {
        let got = if i > self.n { "no value".to_string() } else { obj_type_name(vm, self.get(vm, i)) };
        self.error(vm, i, &format!("{expected} expected, got {got}"))
    }

    /// Any value, but present.
    pub fn any(&self, vm: &mut Vm, i: usize) -> VmResult<Val> {
        if i > self.n {
            return Err(self.error(vm, i, "value expected"));
        }
        Ok(self.get(vm, i))
    }

    /// A table.
    pub fn table(&self, vm: &mut Vm, i: usize) -> VmResult<Val> {
        let v = self.get(vm, i);
        if v.tag() != Tag::Table {
            return Err(self.type_error(vm, i, "table"));
        }
        Ok(v)
    }

    /// A number as a value (int or float; numeric strings convert).
    pub fn number(&self, vm: &mut Vm, i: usize) -> VmResult<Val> {
        let v = self.get(vm, i);
        match v.tag() {
            Tag::Int | Tag::Float => Ok(v),
            Tag::Str => {
                str_to_number(lazyjit::runtime::access::bytes_of(v)).ok_or_else(|| self.type_error(vm, i, "number"))
            }
            _ => Err(self.type_error(vm, i, "number")),
        }
    }

    /// A number as a float.
    pub fn num(&self, vm: &mut Vm, i: usize) -> VmResult<f64> {
        let v = self.number(vm, i)?;
        Ok(match v.tag() {
            Tag::Int => v.int_unchecked() as f64,
            _ => v.float_unchecked(),
        })
    }

    /// An optional float.
    pub fn opt_num(&self, vm: &mut Vm, i: usize, default: f64) -> VmResult<f64> {
        if self.none_or_nil(vm, i) {
            Ok(default)
        } else {
            self.num(vm, i)
        }
    }

    /// An integer (floats and strings only with an exact integer value).
    pub fn int(&self, vm: &mut Vm, i: usize) -> VmResult<i64> {
        let v = self.get(vm, i);
        if let Some(n) = v.as_int() {
            return Ok(n);
        }
        let n = match v.tag() {
            Tag::Float => v,
            Tag::Str => match str_to_number(lazyjit::runtime::access::bytes_of(v)) {
                Some(n) => n,
                None => return Err(self.type_error(vm, i, "number")),
            },
            _ => return Err(self.type_error(vm, i, "number")),
        };
        match n.tag() {
            Tag::Int => Ok(n.int_unchecked()),
            _ => float_to_int(n.float_unchecked())
                .ok_or_else(|| self.error(vm, i, "number has no integer representation")),
        }
    }

    /// An optional integer.
    pub fn opt_int(&self, vm: &mut Vm, i: usize, default: i64) -> VmResult<i64> {
        if self.none_or_nil(vm, i) {
            Ok(default)
        } else {
            self.int(vm, i)
        }
    }

    /// A string (numbers convert to their text).
    pub fn str(&self, vm: &mut Vm, i: usize) -> VmResult<Val> {
        let v = self.get(vm, i);
        match v.tag() {
            Tag::Str => Ok(v),
            Tag::Int | Tag::Float => {
                let s = number_to_string(v);
                Ok(vm.new_str(&s))
            }
            _ => Err(self.type_error(vm, i, "string")),
        }
    }

    /// An optional string.
    pub fn opt_str(&self, vm: &mut Vm, i: usize) -> VmResult<Option<Val>> {
        if self.none_or_nil(vm, i) {
            Ok(None)
        } else {
            self.str(vm, i).map(Some)
        }
    }
}

/// Writes results at `base..` and returns their number.
#[inline]
pub(crate) fn ret(vm: &mut Vm, base: usize, vals: &[Val]) -> VmResult<usize> {
    vm.ensure_stack(base, vals.len())?;
    for (i, &v) in vals.iter().enumerate() {
        vm.set(base + i, v);
    }
    Ok(vals.len())
}

/// Writes one result.
#[inline]
pub(crate) fn ret1(vm: &mut Vm, base: usize, v: Val) -> VmResult<usize> {
    vm.set(base, v);
    Ok(1)
}
