//! The MIR text format: a printer ([`print_module`]) and a parser ([`parse_module`]) such
//! that `print(parse(print(m))) == print(m)` and `parse(print(m)) == m`.
//!
//! ```text
//! module "prog.lua"
//! str0 = "n"
//! rt @lua.lt -> i1
//!
//! function fn0 "fib" (params 1, vararg, upvals 0, sites 2, line 2) {
//! block0(v0: val):
//!     v1 = const 2
//!     v2 = rtcall @lua.lt(v0, v1) -> i1, site0  ; line 3 [local "n", -]
//!     brif v2, block1, block2(v0)
//! block1:
//!     return v0
//! block2(v3: val) loop:
//!     guard.tag v3, func, snap0
//!     v6 = varargs
//!     v4, v5 = call v3(v0, ...v6), site1
//!     jump block2(v4)
//! snap0 = resume block2:0 { v3 = v3, v9 = const 1.5 }
//! }
//! ```
//!
//! One item per line; `;` starts a comment, except that `; line N [name, name]` after an
//! instruction is its [`crate::DebugInfo`] (`name` is `kind "string"` or `-`).
//!
//! * **Module**: `module "name"`, then the string pool in order (`strN = "..."`), the
//!   runtime declarations in order (`rt @name -> type`), then the functions in order.
//! * **Function**: `function fnN "name" (params N[, vararg], upvals N, sites N, line N) {`,
//!   its blocks in order (`blockN(vA: type, ...) [loop]:` then one instruction per
//!   line), an optional `detached:` section (instructions in no block, and `value vN:
//!   type, param blockB:I` / `value vN: type, result instI:J` lines for values defined
//!   nowhere), its snapshots in order (`snapN = resume blockB:I [blame siteS] [unreached]
//!   { vK = vS, vK = const literal }`; `blame` names the site a failure is recorded at
//!   when it is not the resume point's, `unreached` marks an exit from code the profile
//!   never reached, see [`crate::Snapshot::unreached`]), and `}`.
//! * **Instruction**: `[instN: ] [results =] mnemonic operands`, operands laid out by the
//!   opcode's [`crate::Format`]. Results may carry a type annotation (`v3: i64`) when
//!   their type is not the one the opcode gives (`call` results are `val`, an `rtcall`'s
//!   is its `-> type`). `instN:` appears only when the instruction's id is not the
//!   previous instruction's plus one (the first is `inst0`). Spread operands are written
//!   `...vN`, call sites `, siteN`, block arguments `blockN(v1, v2)`, `guard.tag` tags by
//!   name.
//! * **Literals**: `nil`, `true`, `false`, integers, floats in Rust's shortest exact
//!   spelling (always with `.` or an exponent) or `inf`, `-inf`, `nan`, `f64 0xBITS` (other
//!   NaNs); strings double-quoted with `\n \t \\ \"` and `\xHH` escapes (any byte string).
//!   Strings are referenced by content; a raw `strN` (and `@N` for a runtime function)
//!   names an id the module does not have.

mod lex;
pub mod parse;
pub mod print;

pub use parse::{parse_module, ParseError};
pub use print::{print_function, print_function_at, print_module, DisplayFunction, DisplayModule};

/// A small module in the text format (it parses and verifies).
pub const EXAMPLE: &str = r#"module "prog.lua"
str0 = "n"
rt @lua.lt -> i1

function fn0 "fib" (params 1, vararg, upvals 0, sites 2, line 2) {
block0(v0: val):
    v1 = const 2
    v2 = rtcall @lua.lt(v0, v1) -> i1, site0  ; line 3 [local "n", -]
    brif v2, block1, block2(v0)
block1:
    return v0
block2(v3: val) loop:
    guard.tag v3, func, snap0
    v6 = varargs
    v4, v5 = call v3(v0, ...v6), site1
    jump block2(v4)
snap0 = resume block2:0 { v3 = v3, v9 = const 1.5 }
}
"#;

/// The op reference (`docs/mir-ops.md`): an introduction to the text format and the op
/// table from [`crate::Opcode::reference`].
pub fn ops_reference_markdown() -> String {
    let mut out = String::from(
        "# MIR operations\n\
         \n\
         <!-- Generated from the op table in `ir/src/ops.rs` by `lazyjit_ir::text::ops_reference_markdown`.\n\
         Do not edit: run `BLESS=1 cargo test -p lazyjit-ir --test text_roundtrip` to regenerate. -->\n\
         \n\
         MIR is lazyjit's typed mid-level IR: functions of basic blocks with parameters (SSA\n\
         phis), whose values have the types `i1`, `i64`, `f64`, `ptr`, `val` (a boxed dynamic\n\
         value) and `pack` (a sequence of boxed values).\n\
         \n\
         ## Text format\n\
         \n\
         ```text\n",
    );
    out.push_str(EXAMPLE);
    out.push_str(
        "```\n\
         \n\
         - One item per line. `;` starts a comment, except that `; line N [kind \"name\", -]`\n\
         \x20 after an instruction is its debug information (source line, and what operands 0\n\
         \x20 and 1 were read from).\n\
         - A module lists its string pool (`strN = \"...\"`) and runtime functions\n\
         \x20 (`rt @name -> type`) in order, then its functions (`function fnN \"name\" (params N,\n\
         \x20 vararg, upvals N, sites N, line N) { ... }`).\n\
         - Blocks appear in order (`blockN(v1: type, ...) loop:`); instructions list their\n\
         \x20 results on the left (`v3: i64 = ...` annotates a type the opcode does not imply) and\n\
         \x20 their operands as the opcode's format says (column *format* below). Values keep\n\
         \x20 their numbers and may be used before their definition.\n\
         - Snapshots follow the blocks: `snapN = resume blockB:I { vK = vS, vK = const 1 }`\n\
         \x20 (`resume blockB:I blame siteS { ... }`: a failure is recorded at site S, not at the\n\
         \x20 resume point's site; `resume blockB:I unreached { ... }`: the guard leaves code the\n\
         \x20 profile never reached, which is not a failed guess).\n\
         - Instructions in no block and values defined nowhere are listed in a `detached:`\n\
         \x20 section; `instN:` prefixes an instruction whose id is not the previous one's plus one.\n\
         - Literals: `nil`, `true`, `false`, integers, floats (always with `.` or an exponent;\n\
         \x20 `inf`, `-inf`, `nan`, `f64 0xBITS` for other NaNs), byte strings with `\\n \\t \\\\ \\\"`\n\
         \x20 and `\\xHH` escapes. `guard.tag` and `guard.elems` take a tag name: ",
    );
    let tags: Vec<String> = crate::rt::Tag::ALL.iter().map(|t| format!("`{}`", t.name())).collect();
    out.push_str(&tags.join(", "));
    out.push_str(
        ".\n\
         \n\
         `lazyjit_ir::verify_module` checks the rules: block parameters and branch arguments,\n\
         operand and result types, dominance of definitions over uses, and the ranges of\n\
         functions, runtime functions, sites, snapshots and upvalues.\n\
         \n\
         ## Operations\n\
         \n",
    );
    out.push_str(&crate::ops::Opcode::reference());
    out
}
