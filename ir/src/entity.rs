//! Entity references: `u32` newtypes whose `Display` is their text spelling.

use std::fmt;

macro_rules! entity {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub u32);

        impl $name {
            /// The entity's index in its table.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
            /// The entity with this index.
            #[inline]
            pub fn new(index: usize) -> Self {
                $name(index as u32)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

entity!(
    /// An SSA value: an instruction result or a block parameter (`v7`).
    Value, "v"
);
entity!(
    /// A basic block (`block3`).
    Block, "block"
);
entity!(
    /// An instruction (no text spelling of its own; shown through its results).
    Inst, "inst"
);
entity!(
    /// A function of a module (`fn2`).
    FuncId, "fn"
);
entity!(
    /// A deopt snapshot of a function (`snap1`).
    SnapId, "snap"
);
entity!(
    /// A type-profile site of a function (`site4`).
    SiteId, "site"
);
entity!(
    /// A string in a module's constant pool (`str5`).
    StrId, "str"
);
entity!(
    /// A runtime function declared by a module (`rt3`, printed by name).
    RtId, "rt"
);
