//! The `math` library, with Lua 5.4's int/float rules and its xoshiro256**
//! `random`.

use lazyjit::runtime::{VmResult, VmError, Native, RtRegistry, Vm};
use lazyjit::mir::Opcode;
use lazyjit::runtime::{Tag, Val};

use super::args::{ret, ret1, Args};
use super::arith::less_than;
use super::convert::{float_to_int, to_integer};
use super::{new_lib, set_field, st, unpositioned};

static MATH: [Native; 31] = [
    Native { name: "abs", f: abs },
    Native { name: "ceil", f: ceil },
    Native { name: "floor", f: floor },
    Native { name: "sqrt", f: sqrt },
    Native { name: "sin", f: sin },
    Native { name: "cos", f: cos },
    Native { name: "tan", f: tan },
    Native { name: "asin", f: asin },
    Native { name: "acos", f: acos },
    Native { name: "atan", f: atan },
    Native { name: "exp", f: exp },
    Native { name: "log", f: log },
    Native { name: "fmod", f: fmod },
    Native { name: "modf", f: modf },
    Native { name: "tointeger", f: tointeger },
    Native { name: "type", f: type_ },
    Native { name: "max", f: max },
    Native { name: "min", f: min },
    Native { name: "ult", f: ult },
    Native { name: "random", f: random },
    Native { name: "randomseed", f: randomseed },
    Native { name: "deg", f: deg },
    Native { name: "rad", f: rad },
    // Lua 5.3 compatibility functions, present in Debian's lua5.4.
    Native { name: "atan2", f: atan },
    Native { name: "cosh", f: cosh },
    Native { name: "sinh", f: sinh },
    Native { name: "tanh", f: tanh },
    Native { name: "pow", f: pow },
    Native { name: "log10", f: log10 },
    Native { name: "frexp", f: frexp },
    Native { name: "ldexp", f: ldexp },
];

/// Installs `math` (the generator in the state is seeded from the clock).
pub(crate) fn open(vm: &mut Vm) {
    let lib = new_lib(vm, "math", &MATH);
    set_field(vm, lib, "pi", Val::float(std::f64::consts::PI));
    set_field(vm, lib, "huge", Val::float(f64::INFINITY));
    set_field(vm, lib, "maxinteger", Val::int(i64::MAX));
    set_field(vm, lib, "mininteger", Val::int(i64::MIN));
}

/// A float result as an integer when it has an exact integer value in range.
fn int_if_exact(f: f64) -> Val {
    match float_to_int(f) {
        Some(i) => Val::int(i),
        None => Val::float(f),
    }
}

fn abs(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.abs");
    let v = a.get(vm, 1);
    let r = match v.tag() {
        Tag::Int => Val::int(v.int_unchecked().wrapping_abs()),
        _ => Val::float(a.num(vm, 1)?.abs()),
    };
    ret1(vm, base, r)
}

fn round(vm: &mut Vm, base: usize, n: usize, name: &'static str, f: fn(f64) -> f64) -> VmResult<usize> {
    let a = Args::new(base, n, name);
    let v = a.number(vm, 1)?;
    let r = match v.tag() {
        Tag::Int => v,
        _ => int_if_exact(f(v.float_unchecked())),
    };
    ret1(vm, base, r)
}

fn ceil(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    round(vm, base, n, "math.ceil", f64::ceil)
}

fn floor(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    round(vm, base, n, "math.floor", f64::floor)
}

fn float_fn(vm: &mut Vm, base: usize, n: usize, name: &'static str, f: fn(f64) -> f64) -> VmResult<usize> {
    let a = Args::new(base, n, name);
    let x = a.num(vm, 1)?;
    ret1(vm, base, Val::float(f(x)))
}

/// The typed fast paths of `math` functions (see [`NativeOp`](lazyjit::runtime::NativeOp)):
/// `sqrt` of a float or an int is `fsqrt` (of the int converted to float).
pub(crate) fn declare_native_ops(r: &mut RtRegistry) {
    let Some(sqrt) = MATH.iter().find(|n| n.name == "sqrt") else { return };
    for arg in [Tag::Float, Tag::Int] {
        if let Err(e) = r.declare_native_op(sqrt, arg, Opcode::Fsqrt) {
            debug_assert!(false, "{e}");
        }
    }
}

fn sqrt(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.sqrt", f64::sqrt)
}
fn sin(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.sin", f64::sin)
}
fn cos(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.cos", f64::cos)
}
fn tan(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.tan", f64::tan)
}
fn asin(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.asin", f64::asin)
}
fn acos(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.acos", f64::acos)
}
fn exp(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.exp", f64::exp)
}
fn deg(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.deg", |x| x * (180.0 / std::f64::consts::PI))
}
fn rad(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.rad", |x| x * (std::f64::consts::PI / 180.0))
}

fn cosh(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.cosh", f64::cosh)
}
fn sinh(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.sinh", f64::sinh)
}
fn tanh(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.tanh", f64::tanh)
}
fn log10(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    float_fn(vm, base, n, "math.log10", f64::log10)
}

fn pow(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.pow");
    let x = a.num(vm, 1)?;
    let y = a.num(vm, 2)?;
    ret1(vm, base, Val::float(x.powf(y)))
}

/// `m * 2^e` (C's `ldexp`, exact including subnormal results).
fn ldexp_f(m: f64, e: i64) -> f64 {
    let e = e.clamp(-2200, 2200) as i32;
    let mut x = m;
    let mut e = e;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    // Split the last step so a subnormal result is rounded once.
    if e < -1022 {
        x * 2f64.powi(e + 1022) * 2f64.powi(-1022)
    } else {
        x * 2f64.powi(e)
    }
}

fn ldexp(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.ldexp");
    let m = a.num(vm, 1)?;
    let e = a.int(vm, 2)?;
    ret1(vm, base, Val::float(ldexp_f(m, e)))
}

/// C's `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1` (`m = x`, `e = 0` for 0, inf, NaN).
fn frexp_f(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE { (x * 2f64.powi(64), -64) } else { (x, 0) };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1022;
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp + bias)
}

fn frexp(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.frexp");
    let (m, e) = frexp_f(a.num(vm, 1)?);
    ret(vm, base, &[Val::float(m), Val::int(e)])
}

fn atan(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.atan");
    let y = a.num(vm, 1)?;
    let x = a.opt_num(vm, 2, 1.0)?;
    ret1(vm, base, Val::float(y.atan2(x)))
}

fn log(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.log");
    let x = a.num(vm, 1)?;
    let r = if a.none_or_nil(vm, 2) {
        x.ln()
    } else {
        let b = a.num(vm, 2)?;
        if b == 2.0 {
            x.log2()
        } else if b == 10.0 {
            x.log10()
        } else {
            x.ln() / b.ln()
        }
    };
    ret1(vm, base, Val::float(r))
}

fn fmod(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.fmod");
    let (x, y) = (a.get(vm, 1), a.get(vm, 2));
    if x.tag() == Tag::Int && y.tag() == Tag::Int {
        let d = y.int_unchecked();
        let r = if d == 0 {
            return Err(a.error(vm, 2, "zero"));
        } else if d == -1 {
            0
        } else {
            x.int_unchecked() % d
        };
        return ret1(vm, base, Val::int(r));
    }
    // lua5.4 (built with gcc) checks the second argument first.
    let y = a.num(vm, 2)?;
    let x = a.num(vm, 1)?;
    ret1(vm, base, Val::float(x % y))
}

fn modf(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.modf");
    let v = a.get(vm, 1);
    if v.tag() == Tag::Int {
        return ret(vm, base, &[v, Val::float(0.0)]);
    }
    let x = a.num(vm, 1)?;
    let ip = if x < 0.0 { x.ceil() } else { x.floor() };
    let frac = if x == ip { 0.0 } else { x - ip };
    ret(vm, base, &[int_if_exact(ip), Val::float(frac)])
}

fn tointeger(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.tointeger");
    let v = a.get(vm, 1);
    let r = match v.tag() {
        Tag::Int => v,
        Tag::Float | Tag::Str => to_integer(v).map(Val::int).unwrap_or(Val::NIL),
        _ => {
            a.any(vm, 1)?;
            Val::NIL
        }
    };
    ret1(vm, base, r)
}

fn type_(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.type");
    let v = a.any(vm, 1)?;
    let r = match v.tag() {
        Tag::Int => super::str_val(vm, "integer"),
        Tag::Float => super::str_val(vm, "float"),
        _ => Val::NIL,
    };
    ret1(vm, base, r)
}

fn extreme(vm: &mut Vm, base: usize, n: usize, name: &'static str, want_max: bool) -> VmResult<usize> {
    let a = Args::new(base, n, name);
    if n == 0 {
        return Err(a.error(vm, 1, "value expected"));
    }
    let mut best = a.get(vm, 1);
    for i in 2..=n {
        let v = a.get(vm, i);
        let better = if want_max { less_than(vm, best, v) } else { less_than(vm, v, best) };
        if better.map_err(|e| unpositioned(vm, e))? {
            best = v;
        }
    }
    ret1(vm, base, best)
}

fn max(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    extreme(vm, base, n, "math.max", true)
}

fn min(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    extreme(vm, base, n, "math.min", false)
}

fn ult(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.ult");
    let x = a.int(vm, 1)?;
    let y = a.int(vm, 2)?;
    ret1(vm, base, Val::bool((x as u64) < (y as u64)))
}

// ---- random ------------------------------------------------------------------------------

fn random(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.random");
    let bounds = match n {
        0 => {
            let x = st(vm).rng.random_float();
            return ret1(vm, base, Val::float(x));
        }
        1 => a.int(vm, 1).map(|up| (1, up)),
        2 => a.int(vm, 1).and_then(|low| Ok((low, a.int(vm, 2)?))),
        _ => Err(VmError::msg("wrong number of arguments")),
    };
    let (low, up) = match bounds {
        Ok(b) => b,
        Err(e) => {
            // Lua draws the random value before it looks at the arguments.
            st(vm).rng.next_u64();
            return Err(e);
        }
    };
    if n == 1 && up == 0 {
        let x = st(vm).rng.random_full();
        return ret1(vm, base, Val::int(x));
    }
    match st(vm).rng.random_range(low, up) {
        Ok(x) => ret1(vm, base, Val::int(x)),
        Err(_) => Err(a.error(vm, 1, "interval is empty")),
    }
}

fn randomseed(vm: &mut Vm, base: usize, n: usize) -> VmResult<usize> {
    let a = Args::new(base, n, "math.randomseed");
    let (n1, n2) = if n == 0 {
        st(vm).rng.reseed_from_time()
    } else {
        let n1 = a.int(vm, 1)?;
        let n2 = a.opt_int(vm, 2, 0)?;
        st(vm).rng.seed(n1, n2)
    };
    ret(vm, base, &[Val::int(n1), Val::int(n2)])
}
