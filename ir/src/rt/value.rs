//! The boxed value: 16 bytes, a tag word and a payload word. Integers, floats and
//! booleans live in the payload (never on the heap); heap objects are a pointer to
//! their [`GcHeader`](super::gc::GcHeader). `nil` is all zero bits, so zeroed memory is
//! a valid array of nils.

use std::fmt;

/// A value's tag. The numbers are part of the MIR text format (`guard.tag v1, int`) and
/// of the code the JIT emits, so they never change meaning.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
pub enum Tag {
    /// `nil`.
    Nil = 0,
    /// `false`/`true` (payload 0/1).
    Bool = 1,
    /// A 64-bit integer.
    Int = 2,
    /// A double.
    Float = 3,
    /// A string object.
    Str = 4,
    /// A table object.
    Table = 5,
    /// A closure object (a MIR function and its cells).
    Func = 6,
    /// A native function: the payload points to a static [`crate::interp::Native`].
    Native = 7,
    /// A cell object (a captured local).
    Cell = 8,
    /// A pack object (varargs, multiple results).
    Pack = 9,
    /// An untraced raw pointer (`ptr` values in interpreter frames).
    RawPtr = 10,
    /// A frontend's own heap object (see [`super::host`]).
    Object = 11,
}

impl Tag {
    /// Every tag.
    pub const ALL: [Tag; 12] = [
        Tag::Nil,
        Tag::Bool,
        Tag::Int,
        Tag::Float,
        Tag::Str,
        Tag::Table,
        Tag::Func,
        Tag::Native,
        Tag::Cell,
        Tag::Pack,
        Tag::RawPtr,
        Tag::Object,
    ];

    /// The text spelling (`nil bool int float str table func native cell pack rawptr
    /// object`).
    pub fn name(self) -> &'static str {
        match self {
            Tag::Nil => "nil",
            Tag::Bool => "bool",
            Tag::Int => "int",
            Tag::Float => "float",
            Tag::Str => "str",
            Tag::Table => "table",
            Tag::Func => "func",
            Tag::Native => "native",
            Tag::Cell => "cell",
            Tag::Pack => "pack",
            Tag::RawPtr => "rawptr",
            Tag::Object => "object",
        }
    }

    /// Parses the text spelling.
    pub fn from_name(s: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The tag with this number.
    pub fn from_u8(n: u8) -> Option<Tag> {
        Tag::ALL.get(n as usize).copied()
    }

    /// Whether values with this tag point to a heap object.
    #[inline]
    pub fn is_heap(self) -> bool {
        matches!(self, Tag::Str | Tag::Table | Tag::Func | Tag::Cell | Tag::Pack | Tag::Object)
    }
}

/// A boxed dynamic value.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Val {
    tag: Tag,
    payload: u64,
}

impl Val {
    /// `nil`.
    pub const NIL: Val = Val { tag: Tag::Nil, payload: 0 };
    /// `false`.
    pub const FALSE: Val = Val { tag: Tag::Bool, payload: 0 };
    /// `true`.
    pub const TRUE: Val = Val { tag: Tag::Bool, payload: 1 };

    /// A value from its raw parts (the caller vouches that a heap tag has a live object).
    #[inline]
    pub const fn from_raw(tag: Tag, payload: u64) -> Val {
        Val { tag, payload }
    }

    /// An integer.
    #[inline]
    pub const fn int(n: i64) -> Val {
        Val { tag: Tag::Int, payload: n as u64 }
    }

    /// A float.
    #[inline]
    pub fn float(x: f64) -> Val {
        Val { tag: Tag::Float, payload: x.to_bits() }
    }

    /// A boolean.
    #[inline]
    pub const fn bool(b: bool) -> Val {
        Val { tag: Tag::Bool, payload: b as u64 }
    }

    /// The tag.
    #[inline]
    pub fn tag(self) -> Tag {
        self.tag
    }

    /// The raw payload word.
    #[inline]
    pub fn payload(self) -> u64 {
        self.payload
    }

    /// Is it `nil`?
    #[inline]
    pub fn is_nil(self) -> bool {
        self.tag == Tag::Nil
    }

    /// Lua truthiness: everything but `nil` and `false`.
    #[inline]
    pub fn truthy(self) -> bool {
        !(self.tag == Tag::Nil || (self.tag == Tag::Bool && self.payload == 0))
    }

    /// The integer, if it is one.
    #[inline]
    pub fn as_int(self) -> Option<i64> {
        (self.tag == Tag::Int).then_some(self.payload as i64)
    }

    /// The float, if it is one.
    #[inline]
    pub fn as_float(self) -> Option<f64> {
        (self.tag == Tag::Float).then(|| f64::from_bits(self.payload))
    }

    /// The boolean, if it is one.
    #[inline]
    pub fn as_bool(self) -> Option<bool> {
        (self.tag == Tag::Bool).then_some(self.payload != 0)
    }

    /// The integer payload with no tag check (after a guard).
    #[inline]
    pub fn int_unchecked(self) -> i64 {
        self.payload as i64
    }

    /// The float payload with no tag check (after a guard).
    #[inline]
    pub fn float_unchecked(self) -> f64 {
        f64::from_bits(self.payload)
    }

    /// Raw identity: same tag and payload (floats by bits).
    #[inline]
    pub fn raw_identical(self, other: Val) -> bool {
        self.tag == other.tag && self.payload == other.payload
    }
}

impl Default for Val {
    fn default() -> Val {
        Val::NIL
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tag {
            Tag::Nil => write!(f, "nil"),
            Tag::Bool => write!(f, "{}", self.payload != 0),
            Tag::Int => write!(f, "{}", self.payload as i64),
            Tag::Float => write!(f, "{:?}", f64::from_bits(self.payload)),
            t => write!(f, "{}@{:#x}", t.name(), self.payload),
        }
    }
}

const _: () = assert!(std::mem::size_of::<Val>() == 16);
