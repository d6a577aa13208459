//! Tier policies: which code a function gets when, written in RON.
//!
//! A [`TierPolicy`] names the tiers a function goes through and everything that decides
//! them: the code shape of the first tier, the call and back-edge counts at which a
//! function moves on, the pass pipeline and LLVM optimization level of the optimizing
//! tier, background compilation and the deoptimization limit. The policy files in
//! `policies/` are commented examples; `default.ron` is built in as the default
//! ([`TierPolicy::default`]), and [`TierPolicy::builtin`] knows them all by name.
//!
//! ```
//! let policy = lazyjit_orc::policy::TierPolicy::parse(
//!     "TierPolicy(baseline: (loop_free: Compact, with_loops: Compact, hot_calls: Some(10), \
//!      osr_backedges: None, opt_level: O0), optimize: None)",
//! ).unwrap();
//! assert_eq!(policy.tiering().hot_calls, Some(10));
//! ```

use lazyjit_cache::CacheConfig;
use serde::Deserialize;

use crate::engine::{Optimize, Shape, Tiering};
use crate::OptLevel;

/// A tier policy (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    /// The baseline tier: every function's code at its first call.
    pub baseline: BaselinePolicy,
    /// The optimizing tier (none: hot functions move to generic inline code).
    pub optimize: Option<OptimizePolicy>,
    /// The persistent code cache (none: every run compiles what it calls). A policy
    /// that leaves the field out gets the default cache.
    #[serde(default = "CachePolicy::default_some")]
    pub cache: Option<CachePolicy>,
}

/// The persistent code cache.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    /// The directory (none: [`CacheConfig::default_dir`], `$XDG_CACHE_HOME/lazyjit` or
    /// `~/.cache/lazyjit`).
    #[serde(default)]
    pub dir: Option<String>,
    /// The size limit in mebibytes: beyond it the least recently used entries are
    /// removed.
    #[serde(default = "CachePolicy::default_max_megabytes")]
    pub max_megabytes: u64,
}

impl CachePolicy {
    fn default_max_megabytes() -> u64 {
        CacheConfig::DEFAULT_MAX_BYTES >> 20
    }

    fn default_some() -> Option<CachePolicy> {
        Some(CachePolicy { dir: None, max_megabytes: CachePolicy::default_max_megabytes() })
    }

    /// Where the cache is and how large it may grow; `None` if no directory is named
    /// and there is no default one (neither `XDG_CACHE_HOME` nor `HOME` is set).
    pub fn config(&self) -> Option<CacheConfig> {
        let dir = match &self.dir {
            Some(dir) => std::path::PathBuf::from(dir),
            None => CacheConfig::default_dir()?,
        };
        Some(CacheConfig { dir, max_bytes: self.max_megabytes.saturating_mul(1 << 20) })
    }
}

/// The baseline tier.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinePolicy {
    /// The code shape at the first call of a function without loops.
    pub loop_free: ShapeName,
    /// The code shape at the first call of a function with a loop.
    pub with_loops: ShapeName,
    /// Calls after which compact code moves the function on (none: never).
    pub hot_calls: Option<u32>,
    /// Back edges after which compact code enters a loop's hotter code in the middle of
    /// the call (on-stack replacement; none: never).
    pub osr_backedges: Option<u32>,
    /// LLVM's optimization level for generic inline code.
    pub opt_level: OptLevelName,
    /// Compile leaf functions' first code on a background thread as soon as a program
    /// is loaded, ahead of their first calls ([`Tiering::precompile_leaves`]; off if left
    /// out).
    #[serde(default)]
    pub precompile_leaves: bool,
}

/// The optimizing tier.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizePolicy {
    /// The pass pipeline, by registered pass names.
    pub pipeline: Vec<String>,
    /// LLVM's optimization level for optimized code.
    pub opt_level: OptLevelName,
    /// Deoptimizations after which a function keeps generic code.
    pub max_deopts: u32,
    /// Compile in the background while the function keeps running.
    pub background: bool,
    /// Verify the MIR after every pass.
    #[serde(default)]
    pub verify: bool,
}

/// A code shape, as policies spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[allow(missing_docs)]
pub enum ShapeName {
    Compact,
    Inline,
}

/// An LLVM optimization level, as policies spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[allow(missing_docs)]
pub enum OptLevelName {
    O0,
    O1,
    O2,
    O3,
}

impl From<ShapeName> for Shape {
    fn from(s: ShapeName) -> Shape {
        match s {
            ShapeName::Compact => Shape::Compact,
            ShapeName::Inline => Shape::Inline,
        }
    }
}

impl From<OptLevelName> for OptLevel {
    fn from(o: OptLevelName) -> OptLevel {
        match o {
            OptLevelName::O0 => OptLevel::O0,
            OptLevelName::O1 => OptLevel::O1,
            OptLevelName::O2 => OptLevel::O2,
            OptLevelName::O3 => OptLevel::O3,
        }
    }
}

/// Why a policy was rejected: where and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct PolicyError {
    /// 1-based line of the problem (0: the policy as a whole).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// The policies that come with lazyjit, by name: their text.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../policies/default.ron")),
    ("baseline-only", include_str!("../../policies/baseline-only.ron")),
    ("optimize-now", include_str!("../../policies/optimize-now.ron")),
];

impl TierPolicy {
    /// Parses a policy from RON text, and checks that its pipeline names registered
    /// passes.
    pub fn parse(text: &str) -> Result<TierPolicy, PolicyError> {
        let policy: TierPolicy = ron::from_str(text).map_err(|e| PolicyError {
            line: e.position.line,
            column: e.position.col,
            message: e.code.to_string(),
        })?;
        if let Some(opt) = &policy.optimize {
            for name in &opt.pipeline {
                if lazyjit_passes::pass_by_name(name).is_none() {
                    let (line, column) = position_of(text, &format!("\"{name}\""));
                    let available: Vec<&str> = lazyjit_passes::PASSES.iter().map(|p| p.name).collect();
                    return Err(PolicyError {
                        line,
                        column,
                        message: format!("unknown pass '{name}' (available: {})", available.join(", ")),
                    });
                }
            }
        }
        Ok(policy)
    }

    /// The policy `name` names: a built-in one, or else a RON file. The error says why
    /// (with the file's line and column for a malformed one).
    pub fn load(name: &str) -> Result<TierPolicy, String> {
        if let Some(p) = TierPolicy::builtin(name) {
            return Ok(p);
        }
        let text = std::fs::read_to_string(name).map_err(|e| {
            let builtin: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            format!("cannot read policy {name}: {e} (built-in policies: {})", builtin.join(", "))
        })?;
        TierPolicy::parse(&text).map_err(|e| format!("{name}:{e}"))
    }

    /// The built-in policy named `name` (see [`BUILTIN`]).
    pub fn builtin(name: &str) -> Option<TierPolicy> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Some(TierPolicy::parse(text).expect("built-in policies parse"))
    }

    /// How the engine applies the policy.
    pub fn tiering(&self) -> Tiering {
        let b = &self.baseline;
        Tiering {
            loop_free: b.loop_free.into(),
            with_loops: b.with_loops.into(),
            hot_calls: b.hot_calls,
            osr_backedges: b.osr_backedges,
            precompile_leaves: b.precompile_leaves,
            optimize: self.optimize.as_ref().map(|o| Optimize {
                pipeline: o.pipeline.clone(),
                opt: o.opt_level.into(),
                max_deopts: o.max_deopts,
                background: o.background,
                verify: o.verify,
            }),
        }
    }

    /// The cache a run keeps code in: in `dir` when one is given (with the policy's size
    /// limit, or the default one when the policy has no cache), else where the policy
    /// says. `None`: no cache.
    pub fn cache_config(&self, dir: Option<std::path::PathBuf>) -> Option<CacheConfig> {
        match dir {
            Some(dir) => {
                let max_bytes = self.cache.as_ref().map_or(CacheConfig::DEFAULT_MAX_BYTES, |c| c.max_megabytes.saturating_mul(1 << 20));
                Some(CacheConfig { dir, max_bytes })
            }
            None => self.cache.as_ref()?.config(),
        }
    }

    /// LLVM's optimization level for generic inline code.
    pub fn inline_opt(&self) -> OptLevel {
        self.baseline.opt_level.into()
    }
}

impl Default for TierPolicy {
    /// `policies/default.ron`.
    fn default() -> TierPolicy {
        TierPolicy::builtin("default").expect("the default policy is built in")
    }
}

/// The 1-based line and column of the first occurrence of `needle` in `text` (0, 0 if
/// absent).
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let Some(at) = text.find(needle) else { return (0, 0) };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policies_parse() {
        for (name, _) in BUILTIN {
            assert!(TierPolicy::builtin(name).is_some(), "{name}");
        }
        assert!(TierPolicy::default().optimize.is_some());
        assert!(TierPolicy::builtin("baseline-only").unwrap().optimize.is_none());
    }

    #[test]
    fn the_cache_is_on_unless_a_policy_says_none() {
        let default = TierPolicy::default().cache.expect("the default policy caches");
        assert_eq!(default.dir, None);
        assert_eq!(default.max_megabytes, 256);
        let base = "TierPolicy(baseline: (loop_free: Compact, with_loops: Compact, hot_calls: None, \
                    osr_backedges: None, opt_level: O0), optimize: None";
        let unsaid = TierPolicy::parse(&format!("{base})")).unwrap();
        assert_eq!(unsaid.cache, Some(default.clone()));
        assert_eq!(TierPolicy::parse(&format!("{base}, cache: None)")).unwrap().cache, None);
        let p = TierPolicy::parse(&format!("{base}, cache: Some((dir: Some(\"/tmp/c\"), max_megabytes: 2)))")).unwrap();
        let config = p.cache.unwrap().config().unwrap();
        assert_eq!((config.dir, config.max_bytes), (std::path::PathBuf::from("/tmp/c"), 2 << 20));
        let e = TierPolicy::parse(&format!("{base}, cache: Some((size: 2)))")).unwrap_err();
        assert!(e.message.contains("size"), "{e}");
    }

    #[test]
    fn errors_have_positions() {
        let e = TierPolicy::parse("TierPolicy(\n  baseline: (loop_free: Compact,\n    with_loops: Sideways,").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().starts_with("3:"), "{e}");
        let text = "TierPolicy(baseline: (loop_free: Compact, with_loops: Compact, hot_calls: None, \
                    osr_backedges: None, opt_level: O0),\n optimize: Some((pipeline: [\"dce\", \"warp\"], \
                    opt_level: O2, max_deopts: 1, background: false)))";
        let e = TierPolicy::parse(text).unwrap_err();
        assert_eq!((e.line, e.column), (2, 36), "{e}");
        assert!(e.message.contains("unknown pass 'warp'"), "{e}");
        let e = TierPolicy::parse("TierPolicy(speed: 11)").unwrap_err();
        assert!(e.message.contains("speed"), "{e}");
    }
}
