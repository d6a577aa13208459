//! The op table: every MIR operation's mnemonic, instruction format, operand and result
//! types, flags and a doc line, in one declaration. The `Opcode` enum, the printer and
//! parser (by mnemonic and format), the verifier's arity and type checks, and the op
//! reference (`Opcode::reference`) all come from this table.

use crate::rt::Tag;
use crate::types::Type;

/// The typed array-part ops of each element tag: read, write within the part, append.
const TYPED_ELEMENT_OPS: [(Tag, [Opcode; 3]); 3] = [
    (Tag::Int, [Opcode::ArrGetInt, Opcode::ArrSetInt, Opcode::ArrPushInt]),
    (Tag::Float, [Opcode::ArrGetFloat, Opcode::ArrSetFloat, Opcode::ArrPushFloat]),
    (Tag::Bool, [Opcode::ArrGetBool, Opcode::ArrSetBool, Opcode::ArrPushBool]),
];

/// How an instruction's operands are laid out (the shape of its [`crate::InstData`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// No operands: `op`.
    Nullary,
    /// An integer immediate: `op 3`.
    NullaryImm,
    /// One value: `op v1`.
    Unary,
    /// One value and an integer immediate: `op v1, 3`.
    UnaryImm,
    /// Two values: `op v1, v2`.
    Binary,
    /// Three values: `op v1, v2, v3`.
    Ternary,
    /// A literal constant: `op 42`, `op "s"`, `op nil`.
    Const,
    /// A callee and arguments, the last of which may be a spread pack: `op v1(v2, ...v3)`.
    Call,
    /// A runtime function, arguments, and its declared result type: `op @name(v1) -> val`.
    RtCall,
    /// A function of the module and the cells it captures: `op fn3(v1, v2)`.
    Closure,
    /// An unconditional branch: `op block1(v1)`.
    Jump,
    /// A two-way branch on an `i1`: `op v1, block1(v2), block2()`.
    Brif,
    /// Returned values, the last of which may be a spread pack: `op v1, ...v2`.
    Return,
    /// A guard on a value with a tag immediate (or 0) and a snapshot: `op v1, int, snap0`.
    Guard,
}

/// What an instruction produces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Results {
    /// Nothing.
    None,
    /// One value of this type.
    One(Type),
    /// Any number of `val`s, as many as the instruction lists.
    Vals,
    /// One value of the type the runtime function declares.
    Declared,
}

/// Operation flags.
pub mod flags {
    /// No side effects and no failure: may be removed, hoisted or merged.
    pub const PURE: u16 = 1 << 0;
    /// Ends a block.
    pub const TERMINATOR: u16 = 1 << 1;
    /// Checks an assumption and deoptimizes when it fails.
    pub const GUARD: u16 = 1 << 2;
    /// Operands may be swapped.
    pub const COMMUTATIVE: u16 = 1 << 3;
    /// May run arbitrary code (calls, metamethods).
    pub const CALLS: u16 = 1 << 4;
    /// May raise an error.
    pub const MAY_RAISE: u16 = 1 << 5;
    /// Has a type-profile site.
    pub const PROFILED: u16 = 1 << 6;
    /// Reads the heap (a table's parts) and cannot fail: may be removed when unused,
    /// but moved or merged only where nothing that may write what it reads (a `WRITES`
    /// or `CALLS` op, `cell.set`) comes between.
    pub const READS: u16 = 1 << 7;
    /// Writes the heap (a table's array elements), and cannot fail or call.
    pub const WRITES: u16 = 1 << 8;
    /// As a runtime function's fast path, applies only when the second operand is not
    /// 0 (the function raises an error then); the op itself is total.
    pub const NONZERO_RHS: u16 = 1 << 9;
}

use flags::*;
use Format as F;
use Results as R;
use Type::*;

macro_rules! op_table {
    ($($variant:ident $mnemonic:literal $format:ident [$($arg:ident),*] $results:expr, $flags:expr, $doc:literal;)*) => {
        /// Every MIR operation.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[allow(missing_docs)]
        pub enum Opcode {
            $(#[doc = $doc] $variant,)*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant,)*];

            /// The text mnemonic.
            pub fn mnemonic(self) -> &'static str {
                match self { $(Opcode::$variant => $mnemonic,)* }
            }
            /// The instruction format.
            pub fn format(self) -> Format {
                match self { $(Opcode::$variant => F::$format,)* }
            }
            /// Types of the fixed operands (formats with variable operands list none:
            /// their operands are `val`s, a spread operand a `pack`).
            pub fn operand_types(self) -> &'static [Type] {
                match self { $(Opcode::$variant => &[$($arg),*],)* }
            }
            /// What the instruction produces.
            pub fn results(self) -> Results {
                match self { $(Opcode::$variant => $results,)* }
            }
            /// The flag bits (see [`flags`]).
            pub fn flags(self) -> u16 {
                match self { $(Opcode::$variant => $flags,)* }
            }
            /// The one-line documentation.
            pub fn doc(self) -> &'static str {
                match self { $(Opcode::$variant => $doc,)* }
            }
        }
    };
}

op_table! {
    // -- constants and boxes -------------------------------------------------------------
    Const "const" Const [] R::One(Val), PURE, "A boxed constant: `nil`, `true`, `false`, an integer, a float or a string.";
    Iconst "iconst" Const [] R::One(I64), PURE, "An `i64` constant.";
    Fconst "fconst" Const [] R::One(F64), PURE, "An `f64` constant.";
    Bconst "bconst" Const [] R::One(I1), PURE, "An `i1` constant (`true` or `false`).";
    BoxInt "box.int" Unary [I64] R::One(Val), PURE, "Boxes an integer.";
    BoxFloat "box.float" Unary [F64] R::One(Val), PURE, "Boxes a float.";
    BoxBool "box.bool" Unary [I1] R::One(Val), PURE, "Boxes a boolean.";
    UnboxInt "unbox.int" Unary [Val] R::One(I64), PURE, "The integer in a box known (by a guard) to hold one.";
    UnboxFloat "unbox.float" Unary [Val] R::One(F64), PURE, "The float in a box known (by a guard) to hold one.";
    UnboxBool "unbox.bool" Unary [Val] R::One(I1), PURE, "The boolean in a box known (by a guard) to hold one.";
    Truthy "truthy" Unary [Val] R::One(I1), PURE, "False for `nil` and `false`, true for every other value.";
    Tag "tag" Unary [Val] R::One(I64), PURE, "The tag number of a boxed value.";
    // -- typed arithmetic ----------------------------------------------------------------
    Iadd "iadd" Binary [I64, I64] R::One(I64), PURE | COMMUTATIVE, "Wrapping integer addition.";
    Isub "isub" Binary [I64, I64] R::One(I64), PURE, "Wrapping integer subtraction.";
    Imul "imul" Binary [I64, I64] R::One(I64), PURE | COMMUTATIVE, "Wrapping integer multiplication.";
    Imod "imod" Binary [I64, I64] R::One(I64), PURE | NONZERO_RHS, "Integer floor modulo (the result has the divisor's sign, as Lua's `%`); 0 for a divisor of 0.";
    Ineg "ineg" Unary [I64] R::One(I64), PURE, "Wrapping integer negation.";
    IcmpEq "icmp.eq" Binary [I64, I64] R::One(I1), PURE | COMMUTATIVE, "Integer equality.";
    IcmpNe "icmp.ne" Binary [I64, I64] R::One(I1), PURE | COMMUTATIVE, "Integer inequality.";
    IcmpLt "icmp.lt" Binary [I64, I64] R::One(I1), PURE, "Signed integer less-than.";
    IcmpLe "icmp.le" Binary [I64, I64] R::One(I1), PURE, "Signed integer less-or-equal.";
    Fadd "fadd" Binary [F64, F64] R::One(F64), PURE | COMMUTATIVE, "Float addition.";
    Fsub "fsub" Binary [F64, F64] R::One(F64), PURE, "Float subtraction.";
    Fmul "fmul" Binary [F64, F64] R::One(F64), PURE | COMMUTATIVE, "Float multiplication.";
    Fdiv "fdiv" Binary [F64, F64] R::One(F64), PURE, "Float division.";
    Fneg "fneg" Unary [F64] R::One(F64), PURE, "Float negation.";
    Fsqrt "fsqrt" Unary [F64] R::One(F64), PURE, "Float square root (NaN for a negative operand).";
    FcmpEq "fcmp.eq" Binary [F64, F64] R::One(I1), PURE | COMMUTATIVE, "Float equality (false on NaN).";
    FcmpLt "fcmp.lt" Binary [F64, F64] R::One(I1), PURE, "Float less-than (false on NaN).";
    FcmpLe "fcmp.le" Binary [F64, F64] R::One(I1), PURE, "Float less-or-equal (false on NaN).";
    IntToFloat "i2f" Unary [I64] R::One(F64), PURE, "Converts an integer to the nearest float.";
    Not "not" Unary [I1] R::One(I1), PURE, "Boolean negation.";
    // -- packs, cells, closures ----------------------------------------------------------
    Varargs "varargs" Nullary [] R::One(Pack), PURE, "The extra arguments of a vararg function.";
    PackGet "pack.get" UnaryImm [Pack] R::One(Val), PURE, "Element N (0-based) of a pack, or `nil` past its end.";
    PackLen "pack.len" Unary [Pack] R::One(I64), PURE, "The number of values in a pack.";
    CellNew "cell.new" Unary [Val] R::One(Val), 0, "A new heap cell holding a value (a captured local).";
    CellGet "cell.get" Unary [Val] R::One(Val), 0, "The value in a cell.";
    CellSet "cell.set" Binary [Val, Val] R::None, 0, "Stores a value into a cell.";
    Upval "upval" NullaryImm [] R::One(Val), PURE, "Capture N (0-based) of the running closure: a cell.";
    ClosureCell "closure.cell" UnaryImm [Val] R::One(Val), READS, "Capture N (0-based) of a closure whose function (known by a `guard.fn`) captures more than N cells and at most 3, which the closure holds itself: a cell (`closure.cell v1, 0`; inlined `upval N`).";
    IsFn "is.fn" UnaryImm [Val] R::One(I1), PURE, "Whether a value is a closure of the module's function N (`is.fn v1, fn3`).";
    Globals "globals" Nullary [] R::One(Val), PURE, "The table of globals.";
    // -- tables (operands known, by guards, to be a table and an index in its array part)
    ArrLen "arr.len" Unary [Val] R::One(I64), READS, "The length of a table's array part (keys `1..=len` are there).";
    ArrGet "arr.get" Binary [Val, I64] R::One(Val), READS, "Element N (1-based, within the array part) of a table: its raw value, maybe `nil`.";
    ArrSet "arr.set" Ternary [Val, I64, Val] R::None, WRITES, "Stores a value as element N (1-based, within the array part) of a table, raw.";
    ArrPush "arr.push" Ternary [Val, I64, Val] R::One(I1), WRITES, "Appends a value as element N of a table if N is one past its array part, the value is not `nil`, the part has room without growing and the hash part is empty; whether it did.";
    ArrReserve "arr.reserve" Binary [Val, I64] R::None, WRITES, "Makes room in a table's array part for N elements in all (at most 2^16 past its length), changing no element, length or key: appends up to there need no growth.";
    ArrGetInt "arr.get.int" Binary [Val, I64] R::One(I64), READS, "Element N (1-based, within the array part) of a table whose elements are all integers (a `guard.elems` checked): the integer.";
    ArrGetFloat "arr.get.float" Binary [Val, I64] R::One(F64), READS, "Element N (1-based, within the array part) of a table whose elements are all floats (a `guard.elems` checked): the float.";
    ArrSetInt "arr.set.int" Ternary [Val, I64, I64] R::None, WRITES, "Stores an integer as element N (1-based, within the array part) of a table whose elements are all integers (a `guard.elems` checked), raw: they still are.";
    ArrSetFloat "arr.set.float" Ternary [Val, I64, F64] R::None, WRITES, "Stores a float as element N (1-based, within the array part) of a table whose elements are all floats (a `guard.elems` checked), raw: they still are.";
    ArrPushInt "arr.push.int" Ternary [Val, I64, I64] R::One(I1), WRITES, "`arr.push` of an integer onto a table whose elements are all integers (a `guard.elems` checked): they still are.";
    ArrPushFloat "arr.push.float" Ternary [Val, I64, F64] R::One(I1), WRITES, "`arr.push` of a float onto a table whose elements are all floats (a `guard.elems` checked): they still are.";
    ArrGetBool "arr.get.bool" Binary [Val, I64] R::One(I1), READS, "Element N (1-based, within the array part) of a table whose elements are all booleans (a `guard.elems` checked): the boolean.";
    ArrSetBool "arr.set.bool" Ternary [Val, I64, I1] R::None, WRITES, "Stores a boolean as element N (1-based, within the array part) of a table whose elements are all booleans (a `guard.elems` checked), raw: they still are.";
    ArrPushBool "arr.push.bool" Ternary [Val, I64, I1] R::One(I1), WRITES, "`arr.push` of a boolean onto a table whose elements are all booleans (a `guard.elems` checked): they still are.";
    MetaNil "meta.nil" Unary [Val] R::One(I1), READS, "Whether a table has no metatable.";
    HashFind "hash.find" Binary [Val, Val] R::One(I64), READS, "The number of the hash-part entry of a table that holds a key (a string constant) with a value other than `nil`, or -1 (`hash.find v1, v2`).";
    HashGet "hash.get" Binary [Val, I64] R::One(Val), READS, "The value of hash-part entry N of a table (a number `hash.find` gave, the key still in place).";
    HashSet "hash.set" Ternary [Val, I64, Val] R::None, WRITES, "Stores a value into hash-part entry N of a table (a number `hash.find` gave, the key still in place), raw.";
    Closure "closure" Closure [] R::One(Val), 0, "A new closure of a module function over the given cells.";
    // -- calls ---------------------------------------------------------------------------
    Call "call" Call [] R::Vals, CALLS | MAY_RAISE | PROFILED, "Calls a value; its first N results (padded with `nil`) are the instruction's results.";
    CallPack "call.pack" Call [] R::One(Pack), CALLS | MAY_RAISE | PROFILED, "Calls a value and keeps all of its results as a pack.";
    TailCall "tailcall" Call [] R::None, CALLS | MAY_RAISE | TERMINATOR | PROFILED, "Calls a value in place of the running function and returns its results.";
    RtCall "rtcall" RtCall [] R::Declared, CALLS | MAY_RAISE | PROFILED, "Calls a runtime function declared by the frontend (generic operations).";
    // -- control flow --------------------------------------------------------------------
    Jump "jump" Jump [] R::None, TERMINATOR, "Branches to a block, passing its parameters.";
    Brif "brif" Brif [I1] R::None, TERMINATOR, "Branches to the first block if the condition holds, else to the second.";
    Return "return" Return [] R::None, TERMINATOR, "Returns values (the last may be a spread pack).";
    // -- speculation ---------------------------------------------------------------------
    Guard "guard" Guard [I1] R::None, GUARD, "Deoptimizes at the snapshot unless the condition holds.";
    GuardTag "guard.tag" Guard [Val] R::None, GUARD, "Deoptimizes at the snapshot unless the value has the tag.";
    GuardElems "guard.elems" Guard [Val] R::None, GUARD, "Deoptimizes at the snapshot unless every element of a table's array part has the tag, as those of an empty one do (`guard.elems v1, float, snap0`).";
    GuardFn "guard.fn" Guard [Val] R::None, GUARD, "Deoptimizes at the snapshot unless the value is a closure of the module's function N (`guard.fn v1, fn3, snap0`).";
    GuardNative "guard.native" Guard [Val] R::None, GUARD, "Deoptimizes at the snapshot unless the value is the host function of native op N the frontend declared (`guard.native v1, 0, snap0`; see `NativeOp`).";
}

impl Opcode {
    /// Finds an opcode by mnemonic.
    pub fn from_mnemonic(s: &str) -> Option<Opcode> {
        Opcode::ALL.iter().copied().find(|op| op.mnemonic() == s)
    }

    /// Whether the instruction ends a block.
    pub fn is_terminator(self) -> bool {
        self.flags() & TERMINATOR != 0
    }

    /// Whether the instruction has no effects and cannot fail.
    pub fn is_pure(self) -> bool {
        self.flags() & PURE != 0
    }

    /// The typed array-part ops for elements of `tag`: the read, the write within the
    /// part and the append (`arr.get.float`, `arr.set.float`, `arr.push.float`), if
    /// there are any.
    pub fn typed_element_ops(tag: Tag) -> Option<[Opcode; 3]> {
        TYPED_ELEMENT_OPS.iter().find(|(t, _)| *t == tag).map(|&(_, ops)| ops)
    }

    /// The tag a typed array-part op reads or writes (every element of the table has it,
    /// a `guard.elems` checked), if the op is one.
    pub fn element_tag(self) -> Option<Tag> {
        TYPED_ELEMENT_OPS.iter().find(|(_, ops)| ops.contains(&self)).map(|&(t, _)| t)
    }

    /// Whether the op stores into a table's array part (`arr.set`, `arr.push`, typed or
    /// not).
    pub fn stores_element(self) -> bool {
        matches!(self, Opcode::ArrSet | Opcode::ArrSetInt | Opcode::ArrSetFloat | Opcode::ArrSetBool) || self.appends_element()
    }

    /// Whether the op appends to a table's array part (`arr.push`, typed or not).
    pub fn appends_element(self) -> bool {
        matches!(self, Opcode::ArrPush | Opcode::ArrPushInt | Opcode::ArrPushFloat | Opcode::ArrPushBool)
    }

    /// Whether, as a fast path, the op applies only to a second operand other than 0
    /// (see [`flags::NONZERO_RHS`]).
    pub fn needs_nonzero_rhs(self) -> bool {
        self.flags() & NONZERO_RHS != 0
    }

    /// Integer floor modulo as [`Opcode::Imod`] computes it: the remainder with the
    /// divisor's sign, 0 for a divisor of 0 (`i64::MIN % -1` is 0).
    pub fn imod(a: i64, b: i64) -> i64 {
        if b == 0 {
            return 0;
        }
        let r = a.wrapping_rem(b);
        if r != 0 && (r ^ b) < 0 {
            r + b
        } else {
            r
        }
    }

    /// Whether the instruction is a guard (deoptimizes when its check fails).
    pub fn is_guard(self) -> bool {
        self.flags() & GUARD != 0
    }

    /// Whether the instruction only reads the heap and cannot fail (removable when
    /// unused; not movable across writes).
    pub fn only_reads(self) -> bool {
        self.flags() & READS != 0
    }

    /// The op reference in Markdown, generated from the table.
    pub fn reference() -> String {
        let mut out = String::from("| op | format | operands | result | doc |\n|---|---|---|---|---|\n");
        for op in Opcode::ALL {
            let operands: Vec<&str> = op.operand_types().iter().map(|t| t.name()).collect();
            let result = match op.results() {
                Results::None => "-".to_string(),
                Results::One(t) => t.name().to_string(),
                Results::Vals => "val...".to_string(),
                Results::Declared => "declared".to_string(),
            };
            out.push_str(&format!(
                "| `{}` | {:?} | {} | {} | {} |\n",
                op.mnemonic(),
                op.format(),
                operands.join(", "),
                result,
                op.doc()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_are_unique_and_parse_back() {
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_mnemonic(op.mnemonic()), Some(*op));
        }
    }

    #[test]
    fn terminators_produce_nothing() {
        for op in Opcode::ALL.iter().filter(|op| op.is_terminator()) {
            assert_eq!(op.results(), Results::None, "{}", op.mnemonic());
        }
    }
}
