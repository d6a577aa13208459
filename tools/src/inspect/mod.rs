//! What the optimizing tier makes of a module's functions, pass by pass: the report
//! `orc-inspect` prints (as text, JSON or HTML) and `orcrun --emit mir-opt` uses.
//!
//! For each function: its MIR before the pipeline (with what the type profile saw at
//! each site), each pass's counts, time and unified diff, the MIR after, and the LLVM IR
//! the optimized code lowers to before and after LLVM's optimizer, with its assembly.

pub mod html;
pub mod text;

use std::time::Instant;

use lazyjit_ir::interp::{LoadedModule, Proto};
use lazyjit_ir::rt::Tag;
use lazyjit_orc::lower::{lower_proto, LowerOptions};
use lazyjit_orc::policy::TierPolicy;
use lazyjit_orc::{emit_assembly, optimize_module, CodegenOptions, CpuTarget, OptLevel, RegAlloc};
use lazyjit_passes::{Profile, SiteSeen};
use serde::Serialize;

/// One pass's effect on one function.
#[derive(Serialize)]
pub struct PassStep {
    pub pass: String,
    /// Whether the function's text changed.
    pub changed: bool,
    /// What the pass counted (instructions removed, guards inserted, ...).
    pub counts: Vec<(String, u64)>,
    pub ms: f64,
    /// A unified diff of the function's text (empty if unchanged).
    pub diff: String,
    /// The function's text after the pass (empty if unchanged: it is the one before).
    #[serde(skip)]
    pub text: String,
}

/// What the profile saw at one site.
#[derive(Serialize)]
pub struct SiteReport {
    pub site: u32,
    /// The tags each of the first two operands had (empty lists: the site never ran).
    pub operands: [Vec<&'static str>; 2],
    /// The function every call called (by name), if one did.
    pub callee: Option<String>,
    /// The native function with fast paths every call called, if one did.
    pub native: Option<String>,
    /// A speculation made from this site deoptimized before.
    pub failed: bool,
}

impl SiteReport {
    fn new(site: u32, seen: &SiteSeen, module: &lazyjit_ir::Module, loaded: &LoadedModule) -> SiteReport {
        let tags = |bits: u16| Tag::ALL.iter().filter(|t| bits & (1 << **t as u16) != 0).map(|t| t.name()).collect();
        SiteReport {
            site,
            operands: [tags(seen.tags[0]), tags(seen.tags[1])],
            callee: seen.callee.and_then(|i| module.functions.get(i as usize)).map(|f| f.name.clone()),
            native: seen.native.and_then(|i| loaded.natives.get(i as usize)).map(|n| n.native.name.to_string()),
            failed: seen.failed(),
        }
    }

    /// A short description: `saw int, float`, `saw func → "fib"`, `never ran`.
    pub fn describe(&self) -> String {
        if self.operands[0].is_empty() && self.operands[1].is_empty() {
            return "never ran".into();
        }
        let one = |tags: &[&str]| if tags.is_empty() { "-".to_string() } else { tags.join("|") };
        let mut s = format!("saw {}", one(&self.operands[0]));
        if !self.operands[1].is_empty() {
            s.push_str(&format!(", {}", one(&self.operands[1])));
        }
        if let Some(c) = &self.callee {
            s.push_str(&format!(" → \"{c}\""));
        }
        if let Some(n) = &self.native {
            s.push_str(&format!(" → {n}"));
        }
        if self.failed {
            s.push_str(", deoptimized before");
        }
        s
    }
}

/// Everything shown for one function.
#[derive(Serialize)]
pub struct FunctionReport {
    pub name: String,
    pub line: u32,
    pub before: String,
    /// What the profile saw at each site that ran (empty without a profile run).
    pub profile: Vec<SiteReport>,
    /// How often each loop ran, by the block heading it (loops that never ran left out).
    pub loops: Vec<(u32, u32)>,
    pub passes: Vec<PassStep>,
    pub after: String,
    /// The optimized code's LLVM IR before and after LLVM's optimizer, and its assembly
    /// (absent with `--no-llvm`).
    pub llvm: Option<String>,
    pub llvm_optimized: Option<String>,
    pub asm: Option<String>,
    /// Why the pipeline or LLVM stopped, if one did.
    pub error: Option<String>,
}

impl FunctionReport {
    /// The profile note for one line of MIR text, if it has a site or heads a loop.
    pub fn note_for(&self, line: &str) -> Option<String> {
        if let Some(block) = loop_header(line) {
            let runs = self.loops.iter().find(|(b, _)| *b == block)?.1;
            return Some(format!("loop went round {runs} times"));
        }
        let site = site_of(line)?;
        let report = self.profile.iter().find(|s| s.site == site)?;
        Some(format!("site{site} {}", report.describe()))
    }
}

/// The whole report.
#[derive(Serialize)]
pub struct Report {
    pub file: String,
    pub pipeline: Vec<String>,
    pub opt_level: String,
    pub profiled: bool,
    pub functions: Vec<FunctionReport>,
}

/// The optimizing pipeline and LLVM level of `policy`, or the passes `passes` at the
/// policy's level; with `baseline`, the baseline's hot code: no passes, the baseline's
/// level.
pub fn pipeline_of(policy: &TierPolicy, passes: Option<&[String]>, baseline: bool) -> Result<(Vec<String>, OptLevel), String> {
    if baseline {
        return Ok((Vec::new(), policy.inline_opt()));
    }
    let optimize = policy.tiering().optimize;
    // Without an optimizing tier, hot code is the baseline's inline code.
    let opt = optimize.as_ref().map_or(policy.inline_opt(), |o| o.opt);
    let pipeline = match passes {
        Some(list) => list.to_vec(),
        None => optimize.map(|o| o.pipeline).unwrap_or_default(),
    };
    for name in &pipeline {
        if lazyjit_passes::pass_by_name(name).is_none() {
            let available: Vec<&str> = lazyjit_passes::PASSES.iter().map(|p| p.name).collect();
            return Err(format!("unknown pass '{name}' (available: {})", available.join(", ")));
        }
    }
    Ok((pipeline, opt))
}

/// Every function's profile, by number: what `loaded` gathered if it `ran`, else
/// nothing known (not: every loop never ran, which would cut every loop).
pub fn profiles(loaded: &LoadedModule, ran: bool) -> Vec<Profile> {
    match ran {
        true => loaded.protos.iter().map(Profile::of).collect(),
        false => vec![Profile::default(); loaded.protos.len()],
    }
}

/// A unified diff of two texts of a function.
fn diff(before: &str, after: &str, pass: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header("before", &format!("after {pass}"))
        .to_string()
}

/// Runs `pipeline` over `proto` pass by pass, then (with `llvm`) lowers the result as
/// the optimizing tier does. `profiles`: every function's, by number (empty profiles
/// when nothing ran).
pub fn inspect(loaded: &LoadedModule, module: &lazyjit_ir::Module, profiles: &[Profile], proto: &Proto, pipeline: &[String], opt: OptLevel, llvm: bool) -> FunctionReport {
    let profile = &profiles[proto.index as usize];
    let cx = lazyjit_passes::Context {
        module,
        runtime: &loaded.runtime,
        profile: Some(profile),
        stands_for: &[],
        copied_from: &[],
        profiles,
        natives: &loaded.natives,
    };
    let mut f = proto.mir.clone();
    let print = |f: &lazyjit_ir::Function| lazyjit_ir::print_function_at(module, proto.index as usize, f);
    let before = print(&f);
    let sites = profile.sites.iter().enumerate().filter(|(_, s)| s.ran());
    let loops = profile.loop_runs.iter().enumerate().filter(|(_, n)| **n > 0);
    let mut report = FunctionReport {
        name: proto.mir.name.clone(),
        line: proto.mir.line,
        before: before.clone(),
        profile: sites.map(|(i, s)| SiteReport::new(i as u32, s, module, loaded)).collect(),
        loops: loops.map(|(b, n)| (b as u32, *n)).collect(),
        passes: Vec::new(),
        after: String::new(),
        llvm: None,
        llvm_optimized: None,
        asm: None,
        error: None,
    };
    let mut text = before;
    // Snapshots resume at positions of the function as it was before the first pass.
    let generic_blocks: Vec<usize> = f.blocks.iter().map(|b| b.insts.len()).collect();
    for pass in pipeline {
        let t = Instant::now();
        let runs = match lazyjit_passes::run_pipeline_from(&cx, &mut f, &[pass.as_str()], Some(&generic_blocks)) {
            Ok(runs) => runs,
            Err(e) => {
                report.error = Some(e.to_string());
                break;
            }
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let now = print(&f);
        let changed = now != text;
        let counts = runs.into_iter().flat_map(|r| r.report.counts).map(|(k, n)| (k.to_string(), n)).collect();
        let (diff, after) = if changed { (diff(&text, &now, pass), now.clone()) } else { (String::new(), String::new()) };
        report.passes.push(PassStep { pass: pass.clone(), changed, counts, ms, diff, text: after });
        text = now;
    }
    report.after = text;
    if llvm && report.error.is_none() {
        if let Err(e) = lower_and_compile(loaded, proto, f, opt, &mut report) {
            report.error = Some(e);
        }
    }
    report
}

/// The LLVM IR and assembly of `f` (the pipeline's result) as the optimizing tier
/// compiles it: a version of `proto`, inline code at `opt`.
fn lower_and_compile(loaded: &LoadedModule, proto: &Proto, f: lazyjit_ir::Function, opt: OptLevel, report: &mut FunctionReport) -> Result<(), String> {
    let version = Box::new(loaded.decode_version(f, proto.index));
    let ctx = lazyjit_orc::inkwell::context::Context::create();
    let symbol = format!("fn{}.{}", proto.index, report.name);
    let opts = LowerOptions { symbol, version: true, ..Default::default() };
    let m = lower_proto(&ctx, &version, loaded, &opts).map_err(|e| format!("lowering: {e}"))?;
    report.llvm = Some(m.print_to_string().to_string());
    let codegen = CodegenOptions { opt, cpu: CpuTarget::Generic, regalloc: RegAlloc::Greedy };
    optimize_module(&m, &codegen).map_err(|e| e.to_string())?;
    report.llvm_optimized = Some(m.print_to_string().to_string());
    report.asm = Some(emit_assembly(&m, &codegen).map_err(|e| e.to_string())?);
    Ok(())
}

/// The site number an instruction line of MIR text names (`..., site12  ; line 3`).
pub(crate) fn site_of(line: &str) -> Option<u32> {
    let code = line.split("  ;").next()?;
    let at = code.rfind(", site")?;
    let digits = &code[at + ", site".len()..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 || !digits[end..].trim().is_empty() {
        return None;
    }
    digits[..end].parse().ok()
}

/// The block number a loop header line of MIR text heads (`block2(v1: i64) loop:`).
fn loop_header(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("block")?;
    if !line.trim_end().ends_with(" loop:") {
        return None;
    }
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_and_loop_headers_are_found_in_mir_text() {
        assert_eq!(site_of("    v28 = rtcall @lua.index(v27, v26) -> val, site2  ; line 36 [upvalue \"bodies\"]"), Some(2));
        assert_eq!(site_of("    v4, v5 = call v3(v0, ...v6), site11"), Some(11));
        assert_eq!(site_of("    v3 = const \", site4\"  ; line 1"), None);
        assert_eq!(site_of("    v3 = iconst 1"), None);
        assert_eq!(loop_header("block2(v23: i64, v24: i64, v25: val) loop:"), Some(2));
        assert_eq!(loop_header("block12 loop:"), Some(12));
        assert_eq!(loop_header("block3:"), None);
        assert_eq!(loop_header("    v1 = const \"block2 loop:\""), None);
    }
}
