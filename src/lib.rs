//! `lazyjit`: a lazy, tiered, per-function JIT framework on LLVM ORC. This crate is its
//! public API for language frontends.
//!
//! A frontend compiles its language to *MIR* ([`mir`]): functions of blocks over boxed
//! dynamic values, where every operation the language defines is an `rtcall` of a
//! *runtime function* the frontend writes in Rust and registers ([`runtime`]), with
//! declarations that let the compiler do better: typed fast paths (`int + int` is
//! `iadd`), inline table access, float promotion, leaves. A [`Jit`] loads such modules
//! into a VM: every function starts in the interpreter's semantics and is compiled by
//! LLVM at its first call; functions that get hot are recompiled from their type
//! profiles into speculative code with guards, which deoptimize to the interpreter when
//! a guess fails. How and when is a [`engine::TierPolicy`] (RON); compiled code is
//! kept in a persistent cache across runs.
//!
//! `docs/FRONTENDS.md` walks from an empty crate to a JIT-compiled language;
//! `examples/lisp` is a complete frontend built on this crate alone.
//!
//! ```
//! use lazyjit::mir::{Function, FunctionBuilder, Module, Type};
//! use lazyjit::runtime::{Effects, RtRegistry, Tag, Val, Vm, VmResult};
//! use lazyjit::{Func, Jit};
//!
//! // The language's `+`, with the typed fast path the compiler speculates on.
//! fn add(_: &mut Vm, args: &[Val]) -> VmResult<Val> {
//!     match (args[0].as_int(), args[1].as_int()) {
//!         (Some(a), Some(b)) => Ok(Val::int(a.wrapping_add(b))),
//!         _ => Err(lazyjit::runtime::VmError::msg("cannot add")),
//!     }
//! }
//! let mut registry = RtRegistry::new();
//! registry.register("add", add, Type::Val, Effects::default());
//! registry.declare_fast_path("add", [Tag::Int, Tag::Int], lazyjit::mir::Opcode::Iadd).unwrap();
//!
//! // function 0 (main) and function 1: `add3(a, b, c) = a + b + c`, built with the builder.
//! let mut module = Module::new("example");
//! let add_rt = module.declare_rt("add", Type::Val);
//! let mut main = Function::new("main");
//! let mut b = FunctionBuilder::new(&mut main);
//! let entry = b.create_block();
//! b.switch_to_block(entry);
//! b.ret(vec![], false);
//! module.add_function(main);
//! let mut f = Function::new("add3");
//! f.params = 3;
//! let mut b = FunctionBuilder::new(&mut f);
//! let entry = b.create_block();
//! let p: Vec<_> = (0..3).map(|_| b.append_block_param(entry, Type::Val)).collect();
//! b.switch_to_block(entry);
//! let (s1, s2) = (b.new_site(), b.new_site());
//! let ab = b.rtcall(add_rt, Type::Val, vec![p[0], p[1]], false, Some(s1));
//! let abc = b.rtcall(add_rt, Type::Val, vec![ab, p[2]], false, Some(s2));
//! b.ret(vec![abc], false);
//! module.add_function(f);
//!
//! let mut jit = Jit::builder(registry).no_cache().build().unwrap();
//! jit.load(module).unwrap();
//! let add3: Func<(i64, i64, i64), i64> = jit.function("add3").unwrap();
//! assert_eq!(add3.call(&mut jit, (1, 2, 3)).unwrap(), 6);
//! ```
//!
//! Cargo feature `jit` (on by default) brings the engine ([`Jit`], [`engine`]); without
//! it the crate offers MIR, the runtime and the interpreter and links no LLVM, which
//! is what a frontend's compiler and runtime library need.
#![deny(missing_docs)]

mod convert;
#[cfg(feature = "jit")]
mod jit;

pub use convert::{Args, FromVal, IntoVal, Results};
#[cfg(feature = "jit")]
pub use jit::{Error, Func, Jit, JitBuilder, Stats};

pub mod mir;
pub mod runtime;

#[cfg(feature = "jit")]
pub mod engine;

/// Runs `f` on a new thread whose native stack has `bytes` (only touched pages cost
/// memory) and returns what it returns; a panic in `f` is returned as the error.
/// Compiled code and Rust runtime functions recurse natively, so a language with deep
/// recursion runs its programs on such a thread.
///
/// ```
/// let depth = lazyjit::on_large_stack(256 << 20, || {
///     fn down(n: u64) -> u64 {
///         if n == 0 { 0 } else { 1 + down(n - 1) }
///     }
///     down(100_000)
/// });
/// assert_eq!(depth.unwrap(), 100_000);
/// ```
pub fn on_large_stack<R: Send + 'static>(bytes: usize, f: impl FnOnce() -> R + Send + 'static) -> std::thread::Result<R> {
    std::thread::Builder::new()
        .name("lazyjit".into())
        .stack_size(bytes)
        .spawn(f)
        .map_err(|e| Box::new(e.to_string()) as Box<dyn std::any::Any + Send>)?
        .join()
}

/// `docs/FRONTENDS.md`, whose examples are doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/FRONTENDS.md")]
pub struct FrontendsGuide;
