//! Optimization passes over MIR, and the one registry that names them.
//!
//! A pass rewrites one [`Function`] in place ([`Pass::run`]) and reports whether it
//! changed anything and what it did, as named counts ("instructions removed": 3).
//! [`PASSES`] is the single list of pass names: pipelines, tier policies, command-line
//! switches and timing statistics all refer to passes by these names.
//! [`run_pipeline`] runs a list of passes over a function, optionally verifying the
//! module after every pass (tests always do), and times each one. A pass removes an
//! instruction by taking it out of its block; after a pass that changed the function
//! the pipeline compacts it ([`Function::compact`]), so values and instructions are
//! numbered densely again.
#![deny(missing_docs)]

pub mod bce;
pub mod box_elim;
pub mod const_fold;
pub mod dce;
mod edit;
pub mod gvn;
pub mod inline;
pub mod licm;
pub mod osr;
mod profile;
pub mod type_spec;

pub use profile::{Profile, SiteSeen};

use std::time::{Duration, Instant};

use lazyjit_ir::interp::{NativeOp, RtEntry};
use lazyjit_ir::{verify_version, Block, Function, Module, Value, VerifyError};

/// What a pass did to a function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Whether the function changed.
    pub changed: bool,
    /// Named counts of what the pass did (e.g. `("instructions removed", 3)`).
    pub counts: Vec<(&'static str, u64)>,
}

/// What a pass may read besides the function it rewrites.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The module the function belongs to.
    pub module: &'a Module,
    /// The frontend's declarations of the module's runtime functions, by `RtId`
    /// (typed fast paths, float promotion, effects); empty when unknown, and then
    /// nothing is speculated about runtime calls.
    pub runtime: &'a [RtEntry],
    /// What the function's profile sites have seen; none: nothing is speculated.
    pub profile: Option<&'a Profile>,
    /// Values of the function that stand for another value of the generic function
    /// (an on-stack entry's new header parameters, see [`osr::OsrEntry::stands_for`]):
    /// snapshots name the generic value.
    pub stands_for: &'a [(Value, Value)],
    /// Blocks of the function that copy a block of the generic function (an on-stack
    /// entry's copy of the loop it enters, see [`osr::OsrEntry::copied_from`]): their
    /// snapshots resume in the original.
    pub copied_from: &'a [(Block, Block)],
    /// The profiles of the module's functions, by function number (empty when unknown):
    /// what `inline` speculates a callee's body from.
    pub profiles: &'a [Profile],
    /// The frontend's native fast paths (`guard.native N` names the N-th; empty when
    /// unknown, and then no call of a native is speculated).
    pub natives: &'a [NativeOp],
}

impl<'a> Context<'a> {
    /// The generic value `v` stands for (itself unless [`Context::stands_for`] says).
    pub fn generic_value(&self, v: Value) -> Value {
        self.stands_for.iter().find(|&&(p, _)| p == v).map_or(v, |&(_, g)| g)
    }

    /// The block of the generic function `b` is (itself unless it is a copy).
    pub fn generic_block(&self, b: Block) -> Block {
        self.copied_from.iter().find(|&&(c, _)| c == b).map_or(b, |&(_, o)| o)
    }

    /// A context with the module only: no runtime declarations, no profile.
    pub fn new(module: &'a Module) -> Context<'a> {
        Context { module, runtime: &[], profile: None, stands_for: &[], copied_from: &[], profiles: &[], natives: &[] }
    }
}

/// A MIR-to-MIR transformation.
pub trait Pass {
    /// Rewrites `f` (a function of `cx.module`, which the pass may read but not change).
    fn run(&self, cx: &Context, f: &mut Function) -> PassReport;
}

/// A registered pass: its name, a one-line summary and how to make it.
pub struct PassInfo {
    /// The name pipelines, policies and switches use.
    pub name: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// Makes the pass.
    pub make: fn() -> Box<dyn Pass>,
}

/// Every pass, by name.
pub const PASSES: &[PassInfo] = &[
    PassInfo {
        name: "type_spec",
        summary: "replaces runtime calls whose operands' types the profile knows with guarded typed operations",
        make: || Box::new(type_spec::TypeSpec),
    },
    PassInfo {
        name: "box_elim",
        summary: "removes box/unbox pairs and guards on known tags, and carries unboxed values through block parameters",
        make: || Box::new(box_elim::BoxElim),
    },
    PassInfo {
        name: "bce",
        summary: "replaces a loop's bounds checks on an induction variable by checks of its range before the loop",
        make: || Box::new(bce::Bce),
    },
    PassInfo {
        name: "const_fold",
        summary: "turns operations on constants into constants, and branches on them into jumps",
        make: || Box::new(const_fold::ConstFold),
    },
    PassInfo {
        name: "dce",
        summary: "removes pure instructions whose results are never used",
        make: || Box::new(dce::Dce),
    },
    PassInfo {
        name: "licm",
        summary: "moves loop-invariant computations, guards and heap reads to the loop's preheader",
        make: || Box::new(licm::Licm),
    },
    PassInfo {
        name: "inline",
        summary: "inlines calls of one known small function whose speculated body has no effects",
        make: || Box::new(inline::Inline),
    },
    PassInfo {
        name: "gvn",
        summary: "reuses the result of a dominating identical pure computation",
        make: || Box::new(gvn::Gvn),
    },
];

/// The registered pass named `name`.
pub fn pass_by_name(name: &str) -> Option<&'static PassInfo> {
    PASSES.iter().find(|p| p.name == name)
}

/// One pass of a pipeline run: its name, its report and the time it took.
#[derive(Clone, Debug)]
pub struct PassRun {
    /// The pass's registered name.
    pub name: &'static str,
    /// What it did.
    pub report: PassReport,
    /// How long it ran (verification excluded).
    pub time: Duration,
}

/// Why a pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A name in the pipeline is not a registered pass.
    #[error("unknown pass '{name}' (available: {available})")]
    UnknownPass {
        /// The name given.
        name: String,
        /// The registered names, comma-separated.
        available: String,
    },
    /// The function no longer verifies after a pass (a bug in the pass).
    #[error("after pass '{pass}', {function} does not verify: {}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The pass that ran last.
        pass: &'static str,
        /// The function's name.
        function: String,
        /// What the verifier found.
        errors: Vec<VerifyError>,
    },
}

/// Runs the passes named `names`, in order, over `f` (a function of `cx.module`). With
/// `verify`, the function is verified after every pass, and a pass that leaves it
/// invalid stops the pipeline with [`PipelineError::Invalid`]. Names are checked before
/// anything runs.
pub fn run_pipeline(cx: &Context, f: &mut Function, names: &[&str], verify: bool) -> Result<Vec<PassRun>, PipelineError> {
    // Snapshots resume the function as it comes in (the generic one, in its numbering).
    let generic_blocks: Vec<usize> = if verify { f.blocks.iter().map(|b| b.insts.len()).collect() } else { Vec::new() };
    run_pipeline_from(cx, f, names, verify.then_some(&generic_blocks[..]))
}

/// [`run_pipeline`] over a function some passes already ran over (one pass at a time,
/// say): with `generic_blocks` (the instruction count of each block of the generic
/// function, whose positions snapshots resume at), it is verified after every pass.
pub fn run_pipeline_from(
    cx: &Context,
    f: &mut Function,
    names: &[&str],
    generic_blocks: Option<&[usize]>,
) -> Result<Vec<PassRun>, PipelineError> {
    let passes = names
        .iter()
        .map(|&name| {
            pass_by_name(name).ok_or_else(|| PipelineError::UnknownPass {
                name: name.to_string(),
                available: PASSES.iter().map(|p| p.name).collect::<Vec<_>>().join(", "),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut runs = Vec::with_capacity(passes.len());
    for info in passes {
        let pass = (info.make)();
        let t = Instant::now();
        let report = pass.run(cx, f);
        if report.changed {
            f.compact();
        }
        let time = t.elapsed();
        if let Some(generic_blocks) = generic_blocks {
            verify_version(cx.module, f, Some(generic_blocks)).map_err(|errors| PipelineError::Invalid {
                pass: info.name,
                function: f.name.clone(),
                errors,
            })?;
        }
        runs.push(PassRun { name: info.name, report, time });
    }
    Ok(runs)
}
