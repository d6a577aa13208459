//! The library's per-VM state (kept in [`Vm::ext`]): interned well-known keys, the
//! string metatable, buffered output, standard input and the random generator.

use std::io::{BufRead, BufReader, Read, Stdin, Write};

use lazyjit::runtime::Vm;
use lazyjit::runtime::Val;

use crate::lualib::LuaRandom;

/// Well-known keys (metamethod names and a few fields), interned once per VM.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub(crate) enum Key {
    Index,
    NewIndex,
    Call,
    ToString,
    Len,
    Eq,
    Lt,
    Le,
    Concat,
    Unm,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    IDiv,
    BAnd,
    BOr,
    BXor,
    Shl,
    Shr,
    BNot,
    Name,
    Metatable,
    Gc,
    Close,
    Mode,
    Pairs,
    N,
    TNil,
    TBoolean,
    TNumber,
    TString,
    TTable,
    TFunction,
    TUserdata,
}

pub(crate) const KEY_NAMES: [&str; 37] = [
    "__index",
    "__newindex",
    "__call",
    "__tostring",
    "__len",
    "__eq",
    "__lt",
    "__le",
    "__concat",
    "__unm",
    "__add",
    "__sub",
    "__mul",
    "__div",
    "__mod",
    "__pow",
    "__idiv",
    "__band",
    "__bor",
    "__bxor",
    "__shl",
    "__shr",
    "__bnot",
    "__name",
    "__metatable",
    "__gc",
    "__close",
    "__mode",
    "__pairs",
    "n",
    "nil",
    "boolean",
    "number",
    "string",
    "table",
    "function",
    "userdata",
];

/// Where `print` and `io.write` go.
pub(crate) enum Out {
    /// Process standard output, buffered.
    Stdout(std::io::BufWriter<std::io::Stdout>),
    /// Collected in memory ([`super::capture_stdout`]).
    Capture(Vec<u8>),
}

impl Out {
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        match self {
            Out::Stdout(w) => {
                let _ = w.write_all(bytes);
            }
            Out::Capture(v) => v.extend_from_slice(bytes),
        }
    }
    pub(crate) fn flush(&mut self) {
        if let Out::Stdout(w) = self {
            let _ = w.flush();
        }
    }
}

/// Where `io.read` reads from.
pub(crate) enum In {
    /// Process standard input.
    Stdin(BufReader<Stdin>),
    /// A fixed text (tests).
    #[allow(dead_code)]
    Bytes(std::io::Cursor<Vec<u8>>),
}

impl In {
    /// The next byte without consuming it.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let buf = match self {
            In::Stdin(r) => r.fill_buf().ok()?,
            In::Bytes(r) => r.fill_buf().ok()?,
        };
        buf.first().copied()
    }
    /// Consumes one byte.
    pub(crate) fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        match self {
            In::Stdin(r) => r.consume(1),
            In::Bytes(r) => r.consume(1),
        }
        Some(b)
    }
    /// Everything up to the end of input.
    pub(crate) fn read_all(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = match self {
            In::Stdin(r) => r.read_to_end(&mut v),
            In::Bytes(r) => r.read_to_end(&mut v),
        };
        v
    }
}

/// The library's per-VM state (in [`Vm::ext`]).
pub(crate) struct State {
    /// Interned well-known keys, indexed by [`Key`].
    pub keys: [Val; KEY_NAMES.len()],
    /// The metatable shared by all strings (a table value).
    pub string_meta: Val,
    /// The `io.stdout` object (returned by `io.write`).
    pub stdout_obj: Val,
    /// Output buffer.
    pub out: Out,
    /// Input.
    pub input: In,
    /// `math.random`'s generator.
    pub rng: LuaRandom,
    /// The call depth a native function runs at when `pcall` calls it directly (such a
    /// native's errors get no position and name it by its qualified name, as in Lua).
    pub direct_depth: usize,
    /// `warn("@on")` was called.
    pub warn_on: bool,
}

/// The library state of `vm` (panics if [`install`] was not called).
#[inline]
pub(crate) fn st(vm: &mut Vm) -> &mut State {
    vm.ext.as_mut().and_then(|e| e.downcast_mut::<State>()).expect("lua runtime not installed")
}

/// The interned key `k`.
#[inline]
pub(crate) fn key(vm: &mut Vm, k: Key) -> Val {
    st(vm).keys[k as usize]
}

impl State {
    /// A fresh state: output to process stdout, input from stdin, the generator seeded
    /// from the clock.
    pub(crate) fn new(keys: [Val; KEY_NAMES.len()]) -> State {
        State {
            keys,
            string_meta: Val::NIL,
            stdout_obj: Val::NIL,
            out: Out::Stdout(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
            input: In::Stdin(BufReader::new(std::io::stdin())),
            rng: LuaRandom::seed_from_time(),
            direct_depth: usize::MAX,
            warn_on: false,
        }
    }
}
