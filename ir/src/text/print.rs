//! The MIR printer: modules and functions to the text format described in
//! [`crate::text`].
//!
//! The printer never panics, whatever the function holds: references that are out of
//! range are printed in their raw form (`str9`, `@3`, `fn7`, `block12`) and an
//! instruction id in a block's list that does not exist is printed as a comment.

use std::fmt::{self, Write};

use crate::entity::{Inst, Value};
use crate::function::{
    BlockCall, Const, DebugInfo, Function, InstData, InstNode, Module, SnapSource, ValueDef, VarName,
};
use crate::ops::{Opcode, Results};
use crate::rt::Tag;
use crate::types::Type;

/// The bit pattern printed as plain `nan`; other NaNs are printed as `f64 0x...`.
pub(crate) const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

/// Prints a whole module: its name, string pool, runtime declarations and functions.
pub fn print_module(m: &Module) -> String {
    let mut out = String::new();
    out.push_str("module ");
    write_quoted(&mut out, m.name.as_bytes());
    out.push('\n');
    for (i, s) in m.strings.iter().enumerate() {
        let _ = write!(out, "str{i} = ");
        write_quoted(&mut out, s);
        out.push('\n');
    }
    for d in &m.runtime {
        out.push_str("rt @");
        write_symbol(&mut out, &d.name);
        let _ = writeln!(out, " -> {}", d.ret);
    }
    for (i, f) in m.functions.iter().enumerate() {
        out.push('\n');
        write_function(&mut out, m, i, f);
    }
    out
}

/// Prints one function of `m` (string constants and runtime functions are spelled with
/// the module's pool and declarations). Its `fnN` label is its index in `m.functions`
/// (found by address, else by equality; a function not in the module is labelled
/// with the index it would get if it were added).
pub fn print_function(m: &Module, f: &Function) -> String {
    let index = m
        .functions
        .iter()
        .position(|g| std::ptr::eq(g, f))
        .or_else(|| m.functions.iter().position(|g| g == f))
        .unwrap_or(m.functions.len());
    let mut out = String::new();
    write_function(&mut out, m, index, f);
    out
}

/// Prints `f` labelled as function number `index` of `m` (a copy of one of its
/// functions being rewritten, say).
pub fn print_function_at(m: &Module, index: usize, f: &Function) -> String {
    let mut out = String::new();
    write_function(&mut out, m, index, f);
    out
}

/// `Display` for a module in the text format (see [`print_module`]).
pub struct DisplayModule<'a>(pub &'a Module);

impl fmt::Display for DisplayModule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_module(self.0))
    }
}

/// `Display` for a function of a module in the text format (see [`print_function`]).
pub struct DisplayFunction<'a>(pub &'a Module, pub &'a Function);

impl fmt::Display for DisplayFunction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_function(self.0, self.1))
    }
}

/// Writes a byte string double-quoted: `\n \t \\ \"` escapes, printable ASCII as is,
/// every other byte as `\xHH`.
pub(crate) fn write_quoted(out: &mut String, s: &[u8]) {
    out.push('"');
    for &b in s {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

/// Whether a runtime symbol can be written bare after `@` (else it is quoted).
fn is_bare_symbol(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return false,
    }
    bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
}

fn write_symbol(out: &mut String, name: &str) {
    if is_bare_symbol(name) {
        out.push_str(name);
    } else {
        write_quoted(out, name.as_bytes());
    }
}

/// Writes a float so that it parses back to the same bits.
pub(crate) fn write_float(out: &mut String, x: f64) {
    if x.is_nan() {
        if x.to_bits() == CANONICAL_NAN_BITS {
            out.push_str("nan");
        } else {
            let _ = write!(out, "f64 0x{:016x}", x.to_bits());
        }
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else {
        // `{:?}` is the shortest spelling that reads back exactly and always has a `.`
        // or an exponent, so it never looks like an integer.
        let _ = write!(out, "{x:?}");
    }
}

fn write_str_ref(out: &mut String, m: &Module, id: crate::entity::StrId) {
    match m.strings.get(id.index()) {
        Some(s) => write_quoted(out, s),
        None => {
            let _ = write!(out, "{id}");
        }
    }
}

/// Writes a literal constant.
pub(crate) fn write_const(out: &mut String, m: &Module, c: &Const) {
    match c {
        Const::Nil => out.push_str("nil"),
        Const::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Const::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Const::Float(x) => write_float(out, *x),
        Const::Str(id) => write_str_ref(out, m, *id),
    }
}

fn write_values(out: &mut String, args: &[Value], spread: bool) {
    if args.is_empty() && spread {
        out.push_str("...");
    }
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if spread && i + 1 == args.len() {
            out.push_str("...");
        }
        let _ = write!(out, "{v}");
    }
}

fn write_block_call(out: &mut String, bc: &BlockCall) {
    let _ = write!(out, "{}", bc.block);
    if !bc.args.is_empty() {
        out.push('(');
        write_values(out, &bc.args, false);
        out.push(')');
    }
}

/// The type the `-> ty` of an `rtcall` shows: the declaration's, or (for an unknown
/// runtime function) its first result's.
fn rtcall_type(m: &Module, f: &Function, node: &InstNode) -> Type {
    if let InstData::RtCall { rt, .. } = &node.data {
        if let Some(d) = m.runtime.get(rt.index()) {
            return d.ret;
        }
    }
    node.results.first().and_then(|v| f.values.get(v.index())).map_or(Type::Val, |d| d.ty)
}

/// The type a result gets when the text does not annotate it (the parser's rule).
pub(crate) fn default_result_type(op: Opcode, declared: Type) -> Type {
    match op.results() {
        Results::One(t) => t,
        Results::Declared => declared,
        Results::Vals | Results::None => Type::Val,
    }
}

fn write_name(out: &mut String, m: &Module, name: &Option<VarName>) {
    match name {
        None => out.push('-'),
        Some(n) => {
            out.push_str(n.kind.name());
            out.push(' ');
            write_str_ref(out, m, n.name);
        }
    }
}

fn write_debug(out: &mut String, m: &Module, d: &DebugInfo) {
    if *d == DebugInfo::default() {
        return;
    }
    let _ = write!(out, "  ; line {}", d.line);
    if d.names.iter().any(|n| n.is_some()) {
        out.push_str(" [");
        write_name(out, m, &d.names[0]);
        out.push_str(", ");
        write_name(out, m, &d.names[1]);
        out.push(']');
    }
}

/// Writes one instruction line (without indentation and newline).
fn write_inst(out: &mut String, m: &Module, f: &Function, node: &InstNode) {
    let op = node.data.opcode();
    let declared = rtcall_type(m, f, node);
    let default_ty = default_result_type(op, declared);
    if !node.results.is_empty() {
        for (i, v) in node.results.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{v}");
            if let Some(d) = f.values.get(v.index()) {
                if d.ty != default_ty {
                    let _ = write!(out, ": {}", d.ty);
                }
            }
        }
        out.push_str(" = ");
    }
    out.push_str(op.mnemonic());
    match &node.data {
        InstData::Nullary { .. } => {}
        InstData::NullaryImm { imm, .. } => {
            let _ = write!(out, " {imm}");
        }
        InstData::Unary { arg, .. } => {
            let _ = write!(out, " {arg}");
        }
        InstData::UnaryImm { op: Opcode::IsFn, arg, imm } => {
            let _ = write!(out, " {arg}, fn{imm}");
        }
        InstData::UnaryImm { arg, imm, .. } => {
            let _ = write!(out, " {arg}, {imm}");
        }
        InstData::Binary { args, .. } => {
            let _ = write!(out, " {}, {}", args[0], args[1]);
        }
        InstData::Ternary { args, .. } => {
            let _ = write!(out, " {}, {}, {}", args[0], args[1], args[2]);
        }
        InstData::Const { imm, .. } => {
            out.push(' ');
            write_const(out, m, imm);
        }
        InstData::Call { callee, args, spread, site, .. } => {
            let _ = write!(out, " {callee}(");
            write_values(out, args, *spread);
            out.push(')');
            if let Some(s) = site {
                let _ = write!(out, ", {s}");
            }
        }
        InstData::RtCall { rt, args, spread, site, .. } => {
            out.push_str(" @");
            match m.runtime.get(rt.index()) {
                Some(d) => write_symbol(out, &d.name),
                None => {
                    let _ = write!(out, "{}", rt.0);
                }
            }
            out.push('(');
            write_values(out, args, *spread);
            let _ = write!(out, ") -> {declared}");
            if let Some(s) = site {
                let _ = write!(out, ", {s}");
            }
        }
        InstData::Closure { func, args, .. } => {
            let _ = write!(out, " {func}(");
            write_values(out, args, false);
            out.push(')');
        }
        InstData::Jump { dest, .. } => {
            out.push(' ');
            write_block_call(out, dest);
        }
        InstData::Brif { cond, then_dest, else_dest, .. } => {
            let _ = write!(out, " {cond}, ");
            write_block_call(out, then_dest);
            out.push_str(", ");
            write_block_call(out, else_dest);
        }
        InstData::Return { args, spread, .. } => {
            if !args.is_empty() || *spread {
                out.push(' ');
                write_values(out, args, *spread);
            }
        }
        InstData::Guard { op, arg, imm, snap } => {
            let _ = write!(out, " {arg}, ");
            let tag = if matches!(op, Opcode::GuardTag | Opcode::GuardElems) { u8::try_from(*imm).ok().and_then(Tag::from_u8) } else { None };
            match tag {
                Some(t) => out.push_str(t.name()),
                None if *op == Opcode::GuardFn => {
                    let _ = write!(out, "fn{imm}");
                }
                None => {
                    let _ = write!(out, "{imm}");
                }
            }
            let _ = write!(out, ", {snap}");
        }
    }
    write_debug(out, m, &node.debug);
}

/// Writes the `instN: ` prefix when the instruction's id is not the one the parser
/// would assign (the previous printed id plus one, starting at 0).
fn write_inst_line(out: &mut String, m: &Module, f: &Function, inst: Inst, expected: &mut usize) {
    out.push_str("    ");
    match f.insts.get(inst.index()) {
        Some(node) => {
            if inst.index() != *expected {
                let _ = write!(out, "{inst}: ");
            }
            *expected = inst.index() + 1;
            write_inst(out, m, f, node);
        }
        None => {
            let _ = write!(out, "; invalid instruction {inst}");
        }
    }
    out.push('\n');
}

fn write_function(out: &mut String, m: &Module, index: usize, f: &Function) {
    let _ = write!(out, "function fn{index} ");
    write_quoted(out, f.name.as_bytes());
    let _ = write!(out, " (params {}", f.params);
    if f.vararg {
        out.push_str(", vararg");
    }
    let _ = writeln!(out, ", upvals {}, sites {}, line {}) {{", f.upvals, f.sites, f.line);

    let mut placed = vec![false; f.insts.len()];
    let mut defined = vec![false; f.values.len()];
    let mut expected = 0usize;
    for (b, block) in f.blocks.iter().enumerate() {
        let _ = write!(out, "block{b}");
        if !block.params.is_empty() {
            out.push('(');
            for (i, v) in block.params.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let ty = f.values.get(v.index()).map_or(Type::Val, |d| d.ty);
                let _ = write!(out, "{v}: {ty}");
                if let Some(d) = defined.get_mut(v.index()) {
                    *d = true;
                }
            }
            out.push(')');
        }
        if block.loop_header {
            out.push_str(" loop");
        }
        out.push_str(":\n");
        for &inst in &block.insts {
            if let Some(p) = placed.get_mut(inst.index()) {
                *p = true;
            }
            write_inst_line(out, m, f, inst, &mut expected);
        }
    }
    for node in &f.insts {
        for v in &node.results {
            if let Some(d) = defined.get_mut(v.index()) {
                *d = true;
            }
        }
    }

    // Instructions in no block, and values defined nowhere, so that nothing is lost.
    let detached: Vec<usize> = (0..f.insts.len()).filter(|&i| !placed[i]).collect();
    let stale: Vec<usize> = (0..f.values.len()).filter(|&v| !defined[v]).collect();
    if !detached.is_empty() || !stale.is_empty() {
        out.push_str("detached:\n");
        for i in detached {
            write_inst_line(out, m, f, Inst::new(i), &mut expected);
        }
        for v in stale {
            let d = f.values[v];
            let _ = write!(out, "    value v{v}: {}, ", d.ty);
            let _ = match d.def {
                ValueDef::Param(b, n) => writeln!(out, "param {b}:{n}"),
                ValueDef::Result(i, n) => writeln!(out, "result {i}:{n}"),
            };
        }
    }

    for (i, snap) in f.snapshots.iter().enumerate() {
        let _ = write!(out, "snap{i} = resume {}:{}", snap.resume.block, snap.resume.index);
        if let Some(site) = snap.blame {
            let _ = write!(out, " blame {site}");
        }
        if snap.unreached {
            out.push_str(" unreached");
        }
        out.push_str(" {");
        for (k, (key, src)) in snap.entries.iter().enumerate() {
            out.push_str(if k == 0 { " " } else { ", " });
            let _ = write!(out, "{key} = ");
            match src {
                SnapSource::Value(v) => {
                    let _ = write!(out, "{v}");
                }
                SnapSource::Const(c) => {
                    out.push_str("const ");
                    write_const(out, m, c);
                }
            }
        }
        out.push_str(if snap.entries.is_empty() { "}\n" } else { " }\n" });
    }
    out.push_str("}\n");
}
