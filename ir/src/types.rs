//! MIR value types.

use std::fmt;

/// The type of an SSA value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Type {
    /// A boolean condition.
    I1,
    /// A 64-bit integer (wrapping arithmetic).
    I64,
    /// An IEEE double.
    F64,
    /// An untraced machine pointer.
    Ptr,
    /// A boxed dynamic value (see [`crate::rt::value`]).
    Val,
    /// A variable-length sequence of boxed values (varargs, multiple results).
    Pack,
}

impl Type {
    /// Every type, in text-format order.
    pub const ALL: [Type; 6] = [Type::I1, Type::I64, Type::F64, Type::Ptr, Type::Val, Type::Pack];

    /// The text spelling.
    pub fn name(self) -> &'static str {
        match self {
            Type::I1 => "i1",
            Type::I64 => "i64",
            Type::F64 => "f64",
            Type::Ptr => "ptr",
            Type::Val => "val",
            Type::Pack => "pack",
        }
    }

    /// Parses a text spelling.
    pub fn from_name(s: &str) -> Option<Type> {
        Type::ALL.into_iter().find(|t| t.name() == s)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
