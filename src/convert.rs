//! Typed calls: Rust values in and out of boxed values.

use crate::runtime::{access, Tag, Val, Vm};

/// A Rust value that can be passed to a MIR function as an argument.
///
/// ```
/// use lazyjit::runtime::{Tag, Vm};
/// use lazyjit::IntoVal;
///
/// let mut vm = Vm::new(None);
/// assert_eq!(7i64.into_val(&mut vm).as_int(), Some(7));
/// assert_eq!(0.5f64.into_val(&mut vm).as_float(), Some(0.5));
/// assert_eq!("hi".into_val(&mut vm).tag(), Tag::Str);
/// ```
pub trait IntoVal {
    /// The boxed value (strings are allocated in `vm`'s heap).
    fn into_val(self, vm: &mut Vm) -> Val;
}

/// A Rust value a MIR function's result can be read as.
///
/// ```
/// use lazyjit::runtime::{Val, Vm};
/// use lazyjit::FromVal;
///
/// let mut vm = Vm::new(None);
/// assert_eq!(i64::from_val(&vm, Val::int(3)), Ok(3));
/// assert_eq!(f64::from_val(&vm, Val::int(3)), Ok(3.0), "an integer reads as a float");
/// assert_eq!(i64::from_val(&vm, Val::float(3.5)), Err("int"));
/// let s = vm.new_str(b"text");
/// assert_eq!(String::from_val(&vm, s).as_deref(), Ok("text"));
/// ```
pub trait FromVal: Sized {
    /// The Rust value, or the name of the type that was expected.
    fn from_val(vm: &Vm, v: Val) -> Result<Self, &'static str>;
}

impl IntoVal for Val {
    fn into_val(self, _: &mut Vm) -> Val {
        self
    }
}

impl IntoVal for i64 {
    fn into_val(self, _: &mut Vm) -> Val {
        Val::int(self)
    }
}

impl IntoVal for i32 {
    fn into_val(self, _: &mut Vm) -> Val {
        Val::int(self as i64)
    }
}

impl IntoVal for f64 {
    fn into_val(self, _: &mut Vm) -> Val {
        Val::float(self)
    }
}

impl IntoVal for bool {
    fn into_val(self, _: &mut Vm) -> Val {
        Val::bool(self)
    }
}

impl IntoVal for &str {
    fn into_val(self, vm: &mut Vm) -> Val {
        vm.new_str(self.as_bytes())
    }
}

impl IntoVal for String {
    fn into_val(self, vm: &mut Vm) -> Val {
        vm.new_str(self.as_bytes())
    }
}

impl FromVal for Val {
    fn from_val(_: &Vm, v: Val) -> Result<Val, &'static str> {
        Ok(v)
    }
}

impl FromVal for i64 {
    fn from_val(_: &Vm, v: Val) -> Result<i64, &'static str> {
        v.as_int().ok_or("int")
    }
}

impl FromVal for f64 {
    fn from_val(_: &Vm, v: Val) -> Result<f64, &'static str> {
        match v.tag() {
            Tag::Float => Ok(v.float_unchecked()),
            Tag::Int => Ok(v.int_unchecked() as f64),
            _ => Err("float"),
        }
    }
}

impl FromVal for bool {
    fn from_val(_: &Vm, v: Val) -> Result<bool, &'static str> {
        v.as_bool().ok_or("bool")
    }
}

impl FromVal for String {
    fn from_val(_: &Vm, v: Val) -> Result<String, &'static str> {
        match v.tag() {
            Tag::Str => Ok(String::from_utf8_lossy(access::bytes_of(v)).into_owned()),
            _ => Err("str"),
        }
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(vm: &Vm, v: Val) -> Result<Option<T>, &'static str> {
        if v.is_nil() {
            Ok(None)
        } else {
            T::from_val(vm, v).map(Some)
        }
    }
}

/// The arguments of a typed call: a tuple of [`IntoVal`]s.
///
/// ```
/// use lazyjit::runtime::Vm;
/// use lazyjit::Args;
///
/// let mut vm = Vm::new(None);
/// assert_eq!(<(i64, f64) as Args>::COUNT, 2);
/// assert_eq!((1i64, 2.0f64).into_vals(&mut vm).len(), 2);
/// ```
pub trait Args {
    /// How many values the tuple passes.
    const COUNT: usize;
    /// The boxed arguments.
    fn into_vals(self, vm: &mut Vm) -> Vec<Val>;
}

/// The results of a typed call: `()` (any results ignored), one [`FromVal`], a tuple of
/// them, or `Vec<Val>` (all results, which are no roots: read them before calling into
/// the VM again).
///
/// ```
/// use lazyjit::runtime::{Val, Vm};
/// use lazyjit::Results;
///
/// let vm = Vm::new(None);
/// let vals = [Val::int(1), Val::float(2.5)];
/// assert_eq!(<(i64, f64)>::from_vals(&vm, &vals), Ok((1, 2.5)));
/// assert_eq!(i64::from_vals(&vm, &vals), Ok(1), "the first result");
/// assert!(<(i64, f64, bool)>::from_vals(&vm, &vals).is_err(), "a missing result is nil");
/// ```
pub trait Results: Sized {
    /// The Rust value of the results; the error names the position (from 0) and the
    /// type expected.
    fn from_vals(vm: &Vm, vals: &[Val]) -> Result<Self, (usize, &'static str)>;
}

impl Results for () {
    fn from_vals(_: &Vm, _: &[Val]) -> Result<(), (usize, &'static str)> {
        Ok(())
    }
}

impl Results for Vec<Val> {
    fn from_vals(_: &Vm, vals: &[Val]) -> Result<Vec<Val>, (usize, &'static str)> {
        Ok(vals.to_vec())
    }
}

macro_rules! single_results {
    ($($t:ty),*) => {$(
        impl Results for $t {
            fn from_vals(vm: &Vm, vals: &[Val]) -> Result<$t, (usize, &'static str)> {
                <$t>::from_val(vm, vals.first().copied().unwrap_or(Val::NIL)).map_err(|e| (0, e))
            }
        }
    )*};
}

single_results!(Val, i64, f64, bool, String);

impl<T: FromVal> Results for Option<T> {
    fn from_vals(vm: &Vm, vals: &[Val]) -> Result<Option<T>, (usize, &'static str)> {
        Option::<T>::from_val(vm, vals.first().copied().unwrap_or(Val::NIL)).map_err(|e| (0, e))
    }
}

macro_rules! tuples {
    ($n:literal: $($t:ident $i:tt),*) => {
        impl<$($t: IntoVal),*> Args for ($($t,)*) {
            const COUNT: usize = $n;
            #[allow(unused_variables)]
            fn into_vals(self, vm: &mut Vm) -> Vec<Val> {
                vec![$(self.$i.into_val(vm)),*]
            }
        }
    };
}

tuples!(0:);
tuples!(1: A 0);
tuples!(2: A 0, B 1);
tuples!(3: A 0, B 1, C 2);
tuples!(4: A 0, B 1, C 2, D 3);
tuples!(5: A 0, B 1, C 2, D 3, E 4);
tuples!(6: A 0, B 1, C 2, D 3, E 4, F 5);

macro_rules! result_tuples {
    ($($t:ident $i:tt),*) => {
        impl<$($t: FromVal),*> Results for ($($t,)*) {
            fn from_vals(vm: &Vm, vals: &[Val]) -> Result<Self, (usize, &'static str)> {
                Ok(($($t::from_val(vm, vals.get($i).copied().unwrap_or(Val::NIL)).map_err(|e| ($i, e))?,)*))
            }
        }
    };
}

result_tuples!(A 0, B 1);
result_tuples!(A 0, B 1, C 2);
result_tuples!(A 0, B 1, C 2, D 3);
