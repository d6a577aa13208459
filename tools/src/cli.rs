//! The command line shared by `orcrun` and `orcrun-jit`: options, running a program,
//! statistics. `orcrun` links no LLVM (start-up and memory stay those of the
//! interpreter); for a compiling tier (the default) it hands the command line to
//! `orcrun-jit`, which links the JIT.
//!
//! ```text
//! orcrun [OPTIONS] FILE.lua [ARGS...]   run a file (ARGS become `...` and `arg`)
//! orcrun [OPTIONS] -e CODE [ARGS...]    run a string
//! orcrun [OPTIONS] - [ARGS...]          run standard input
//! orcrun [OPTIONS] [-i [FILE.lua [ARGS...]]]
//!                                       the interactive mode (see `repl.rs`), after
//!                                       FILE if given; without -i, when standard input
//!                                       is a terminal (else it is the program)
//! OPTIONS: --policy P       run under tier policy P: a built-in one (default,
//!                           baseline-only, optimize-now) or a RON file (the default:
//!                           `--policy default`, policies/default.ron)
//!          --tier baseline  the baseline tier only (compact code, inline when hot)
//!          --tier compact|inline|eager  one code shape, or every transition at once
//!          --tier interp    run in the interpreter
//!          --emit mir       print the generic MIR instead of running
//!          --emit mir-opt   print the MIR after the policy's optimizing pipeline
//!          --emit llvm      print the optimized code's LLVM IR before LLVM's optimizer
//!          --emit llvm-opt  ... after LLVM's optimizer (at the optimizing tier's level)
//!          --emit asm       ... its assembly
//!                           (with --tier compact or --tier inline, llvm, llvm-opt and
//!                           asm show that baseline code instead; nothing runs, so
//!                           nothing is speculated: `orc-inspect --profile-run` shows
//!                           what a run's profile makes of a function)
//!          --fn NAME        with --emit: only the function named NAME
//!          --stats          print compile and run statistics on stderr at exit, as a
//!                           table
//!          --stats-json P   write them to P as one JSON object (`-`: stderr)
//!          --trace-tier     one line on stderr per compile (function, code, why, time)
//!                           and per loop whose optimized entry was declined
//!          --trace-deopt    one line on stderr per deoptimization (function, guard,
//!                           snapshot, what the guarded value held)
//!          --cache-dir DIR  keep compiled code in DIR (default: the policy's cache,
//!                           $XDG_CACHE_HOME/lazyjit or ~/.cache/lazyjit)
//!          --no-cache       compile everything, store nothing
//!          --perf           write /tmp/perf-PID.map at exit, naming the JIT's code
//!                           for `perf report` (lua:FUNCTION CHUNK:LINE [CODE])
//!          --gdb            register compiled code with GDB's JIT interface
//!          --timeout S      stop the program after S seconds (exit status 124, with
//!                           a message; output so far is written)
//!
//! orcrun compile [OPTIONS] FILE.lua     compile every function's first code into the
//!                                       cache (in parallel), run nothing
//! orcrun cache stats|clear [OPTIONS]    the cache's size / remove its entries
//! orcrun cache verify [OPTIONS] [FILE.lua]  check every entry; with FILE, compile its
//!                                       cached functions again and compare the bytes
//! ```

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use crate::repl;

use std::time::Instant;

use lazyjit_lua::driver::{self, RunError};

const USAGE: &str = "usage: orcrun [--policy default|baseline-only|optimize-now|FILE.ron] [--tier interp|baseline|compact|inline|eager] [--emit mir|mir-opt|llvm|llvm-opt|asm [--fn NAME]] [--stats] [--stats-json PATH] [--trace-tier] [--trace-deopt] [--cache-dir DIR | --no-cache] [--perf] [--gdb] [--timeout SECONDS] [-i] [FILE.lua | -e CODE | -] [ARGS...]
       orcrun compile [--policy P] [--tier T] [--cache-dir DIR] FILE.lua
       orcrun cache (stats | clear | verify [FILE.lua]) [--policy P] [--cache-dir DIR]";

/// An execution tier.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter.
    Interp,
    /// Machine code compiled when a function is first called: compact code, moving to
    /// inline code when hot (after calls, or in the middle of a loop by on-stack
    /// replacement).
    Baseline,
    /// The baseline tiering, moving on at the first call and the first back edge (every
    /// transition at once; for tests).
    Eager,
    /// The tiers a policy describes (`--policy`; the default).
    Policy,
    /// Compact code only (one host call per op).
    Compact,
    /// Inline code only (values in registers, fast paths inline).
    Inline,
}

impl Tier {
    /// The name `--tier` takes and the statistics report.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Baseline => "baseline",
            Tier::Compact => "compact",
            Tier::Inline => "inline",
            Tier::Eager => "eager",
            Tier::Policy => "policy",
        }
    }
}

struct Options {
    tier: Tier,
    /// With [`Tier::Policy`]: the policy's name or file (none: the default).
    policy: Option<String>,
    /// `--emit`: print this instead of running.
    emit: Option<Emit>,
    /// Only this function (by name) for `--emit`.
    only_fn: Option<String>,
    stats: bool,
    stats_json: Option<String>,
    traces: Traces,
    cache: CacheChoice,
    /// `--perf`.
    perf: bool,
    /// `--gdb`.
    gdb: bool,
    /// `--timeout SECONDS`.
    timeout: Option<std::time::Duration>,
    /// `-i`: the interactive mode, after the script if one is given.
    interactive: bool,
    /// None: no script (standard input is read, or the interactive mode starts).
    source: Option<Source>,
    args: Vec<String>,
}

impl Options {
    /// How the compiling tiers run, as the options say.
    fn jit_config(&self) -> JitConfig {
        JitConfig { tier: self.tier, policy: self.policy.clone(), traces: self.traces, cache: self.cache.clone(), perf: self.perf, gdb: self.gdb }
    }
}

/// Where compiled code is cached (`--cache-dir`, `--no-cache`; else the policy's cache).
#[derive(Clone, Default)]
pub struct CacheChoice {
    /// `--cache-dir`.
    pub dir: Option<String>,
    /// `--no-cache`.
    pub off: bool,
}

/// An `orcrun compile` or `orcrun cache ...` command.
#[allow(dead_code)] // read by orcrun-jit only
pub struct CacheCommand {
    /// What to do.
    pub action: CacheAction,
    /// `--tier` (for `compile` and `verify`: whose first code).
    pub tier: Tier,
    /// `--policy`.
    pub policy: Option<String>,
    /// The cache.
    pub cache: CacheChoice,
    /// The program (`compile`, `verify`).
    pub file: Option<String>,
}

/// What a [`CacheCommand`] does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CacheAction {
    /// `orcrun compile FILE`.
    Compile,
    /// `orcrun cache stats`.
    Stats,
    /// `orcrun cache clear`.
    Clear,
    /// `orcrun cache verify [FILE]`.
    Verify,
}

/// Parses the words after `orcrun compile` or `orcrun cache`.
fn parse_cache_command(first: &str, mut argv: impl Iterator<Item = String>) -> Result<CacheCommand, String> {
    let action = match first {
        "compile" => CacheAction::Compile,
        _ => match argv.next().as_deref() {
            Some("stats") => CacheAction::Stats,
            Some("clear") => CacheAction::Clear,
            Some("verify") => CacheAction::Verify,
            Some(other) => return Err(format!("unknown cache command '{other}' (available: stats, clear, verify)")),
            None => return Err(format!("orcrun cache needs a command: stats, clear or verify\n{USAGE}")),
        },
    };
    let mut cmd = CacheCommand { action, tier: Tier::Policy, policy: None, cache: CacheChoice::default(), file: None };
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--policy" => cmd.policy = Some(argv.next().ok_or("--policy needs a policy name or file")?),
            "--tier" => {
                cmd.tier = match argv.next().as_deref() {
                    Some("baseline") => Tier::Baseline,
                    Some("compact") => Tier::Compact,
                    Some("inline") => Tier::Inline,
                    Some("eager") => Tier::Eager,
                    Some(other) => return Err(format!("cannot compile ahead for tier '{other}' (available: baseline, compact, inline, eager)")),
                    None => return Err("--tier needs a value".to_string()),
                }
            }
            "--cache-dir" => cmd.cache.dir = Some(argv.next().ok_or("--cache-dir needs a directory")?),
            s if s.starts_with('-') => return Err(format!("unrecognized option '{s}'\n{USAGE}")),
            _ if cmd.file.is_none() && matches!(action, CacheAction::Compile | CacheAction::Verify) => cmd.file = Some(arg),
            _ => return Err(format!("unexpected argument '{arg}'\n{USAGE}")),
        }
    }
    if action == CacheAction::Compile && cmd.file.is_none() {
        return Err(format!("orcrun compile needs a file\n{USAGE}"));
    }
    Ok(cmd)
}

/// What the JIT reports on stderr as it runs (`--trace-tier`, `--trace-deopt`).
#[derive(Clone, Copy, Default)]
pub struct Traces {
    /// One line per compile.
    pub tier: bool,
    /// One line per deoptimization.
    pub deopt: bool,
}

enum Source {
    File(String),
    Code(String),
    Stdin,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut emit = None;
    let mut only_fn = None;
    let mut tier = Tier::Policy;
    let mut policy = None;
    let mut stats = false;
    let mut stats_json = None;
    let mut traces = Traces::default();
    let mut cache = CacheChoice::default();
    let mut interactive = false;
    let mut perf = false;
    let mut gdb = false;
    let mut timeout = None;
    let source = loop {
        let Some(arg) = argv.next() else { break None };
        match arg.as_str() {
            "--tier" => match argv.next().as_deref() {
                Some("interp") => tier = Tier::Interp,
                Some("baseline") => tier = Tier::Baseline,
                Some("compact") => tier = Tier::Compact,
                Some("inline") => tier = Tier::Inline,
                Some("eager") => tier = Tier::Eager,
                Some(other) => return Err(format!("unknown tier '{other}' (available: interp, baseline, compact, inline, eager)")),
                None => return Err("--tier needs a value".to_string()),
            },
            "--policy" => {
                tier = Tier::Policy;
                policy = Some(argv.next().ok_or("--policy needs a policy name or file")?);
            }
            "--emit" => match argv.next().as_deref() {
                Some(name) => emit = Some(Emit::from_name(name).ok_or_else(|| format!("cannot emit '{name}' (available: mir, mir-opt, llvm, llvm-opt, asm)"))?),
                None => return Err("--emit needs a value".to_string()),
            },
            "--fn" => only_fn = Some(argv.next().ok_or("--fn needs a function name")?),
            "--stats" => stats = true,
            "--trace-tier" => traces.tier = true,
            "--trace-deopt" => traces.deopt = true,
            "--stats-json" => stats_json = Some(argv.next().ok_or("--stats-json needs a path")?),
            "--cache-dir" => cache.dir = Some(argv.next().ok_or("--cache-dir needs a directory")?),
            "--no-cache" => cache.off = true,
            "--perf" => perf = true,
            "--gdb" => gdb = true,
            "--timeout" => {
                let value = argv.next().ok_or("--timeout needs a number of seconds")?;
                match value.parse::<f64>() {
                    Ok(s) if s > 0.0 && s.is_finite() && s < 1e9 => timeout = Some(std::time::Duration::from_secs_f64(s)),
                    _ => return Err(format!("--timeout needs a positive number of seconds, not '{value}'")),
                }
            }
            "-i" => interactive = true,
            "-e" => break Some(Source::Code(argv.next().ok_or("-e needs a chunk of code")?)),
            "-" => break Some(Source::Stdin),
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unrecognized option '{s}'\n{USAGE}")),
            _ => break Some(Source::File(arg)),
        }
    };
    if interactive && matches!(source, Some(Source::Stdin)) {
        return Err("-i reads its input from standard input: it cannot run a script from there too".to_string());
    }
    if interactive && emit.is_some() {
        return Err("--emit does not work with -i".to_string());
    }
    if cache.off && cache.dir.is_some() {
        return Err("--cache-dir and --no-cache exclude each other".to_string());
    }
    if interactive && timeout.is_some() {
        return Err("--timeout does not work with -i".to_string());
    }
    Ok(Options { tier, policy, emit, only_fn, stats, stats_json, traces, cache, perf, gdb, timeout, interactive, source, args: argv.collect() })
}

/// What a run did and where its time went.
#[derive(Clone, Default)]
pub struct RunStats {
    /// The tier's name, or the policy's.
    pub tier: String,
    pub functions_defined: usize,
    /// Functions that share the code of an identical function defined before.
    pub functions_shared: u64,
    pub functions_compiled: u64,
    /// Code found in the persistent cache, and looked up there in vain.
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Optimized code found in the persistent cache, and looked up there in vain.
    pub optimized_cache_hits: u64,
    pub optimized_cache_misses: u64,
    /// Leaf functions built ahead, and first calls that found their code built or being
    /// built.
    pub precompiled: u64,
    pub first_calls_ready: u64,
    pub first_calls_waited: u64,
    /// Compiles in the compact and the inline shape, and of on-stack entries.
    pub compiles_compact: u64,
    pub compiles_inline: u64,
    pub compiles_osr: u64,
    /// Compiles of optimized code, and deoptimizations.
    pub compiles_optimized: u64,
    pub deopts: u64,
    pub passes_ns: u64,
    pub parse_ns: u64,
    pub lower_mir_ns: u64,
    pub llvm_ir_ns: u64,
    pub llvm_opt_ns: u64,
    pub codegen_ns: u64,
    pub link_ns: u64,
    /// Wall time of the run, compile phases excluded.
    pub run_ns: u64,
    /// The statistics will be reported (`--stats`, `--stats-json`): background compiles
    /// still running when the program ends are waited for, so that they count.
    #[allow(dead_code)] // read by orcrun-jit's runner only
    pub reported: bool,
}

/// Set by a runner that left background compiles running when the program ended
/// (nothing reports on them): the process ends at once, without running exit
/// handlers that the compiler threads could still depend on.
pub static LEFT_COMPILING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ends the process with `code` (see [`LEFT_COMPILING`]).
fn end_now(code: ExitCode, status: i32) -> ExitCode {
    if !LEFT_COMPILING.load(std::sync::atomic::Ordering::Acquire) {
        return code;
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    extern "C" {
        fn _exit(status: i32) -> !;
    }
    // SAFETY: ends the process; its output is flushed and nothing else needs finishing.
    unsafe { _exit(status) }
}

/// Runs a compiled module in a compiling tier (for [`Tier::Policy`], under the named
/// policy: a built-in name or a file), with the traces asked for, filling in the
/// statistics.
pub type JitRunner = fn(lazyjit_ir::Module, &str, &[String], &JitConfig, &mut RunStats) -> Result<i32, RunError>;

/// How a compiling tier runs: the tier (for [`Tier::Policy`], the policy's name or
/// file), the traces asked for, and the cache.
#[allow(dead_code)] // read by orcrun-jit's runner only
pub struct JitConfig {
    pub tier: Tier,
    pub policy: Option<String>,
    pub traces: Traces,
    pub cache: CacheChoice,
    /// Write a perf symbol map at exit.
    pub perf: bool,
    /// Register compiled code with GDB.
    pub gdb: bool,
}

impl JitConfig {
    /// The tier's name, or for [`Tier::Policy`] the policy's (statistics, banner).
    pub fn tier_name(&self) -> String {
        match self.tier {
            Tier::Policy => self.policy.clone().unwrap_or_else(|| "default".to_string()),
            tier => tier.name().to_string(),
        }
    }
}

/// What `--emit` prints instead of running.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Emit {
    /// The generic MIR.
    Mir,
    /// The MIR after the optimizing tier's passes.
    MirOpt,
    /// The baseline tier's LLVM IR before LLVM's optimizer.
    Llvm,
    /// The same after LLVM's optimizer.
    LlvmOpt,
    /// Its assembly.
    Asm,
}

impl Emit {
    fn from_name(name: &str) -> Option<Emit> {
        Some(match name {
            "mir" => Emit::Mir,
            "mir-opt" => Emit::MirOpt,
            "llvm" => Emit::Llvm,
            "llvm-opt" => Emit::LlvmOpt,
            "asm" => Emit::Asm,
            _ => return None,
        })
    }
}

/// What `--emit` asks for of a module's functions (all, or the one named), for the
/// tier and policy given: everything but [`Emit::Mir`], which needs no JIT.
#[allow(dead_code)] // Read by orcrun-jit's emitter only.
pub struct EmitRequest<'a> {
    pub emit: Emit,
    pub only: Option<&'a str>,
    pub tier: Tier,
    pub policy: Option<&'a str>,
}

/// Prints what an [`EmitRequest`] asks for.
pub type Emitter = fn(lazyjit_ir::Module, &EmitRequest) -> Result<String, String>;

/// What only the JIT-linked binary can do.
#[derive(Clone, Copy)]
pub struct Jit {
    /// Runs compiling tiers.
    pub run: JitRunner,
    /// `--emit` (but `mir`).
    pub emit: Emitter,
    /// `orcrun compile` and `orcrun cache ...`.
    pub cache_command: fn(&CacheCommand) -> ExitCode,
    /// The engine of an interactive session.
    pub repl_host: fn(&JitConfig) -> Result<Box<dyn repl::Host>, String>,
}

impl RunStats {
    /// Time compiling: passes, LLVM and linking.
    pub fn compile_ns(&self) -> u64 {
        self.passes_ns + self.llvm_ir_ns + self.llvm_opt_ns + self.codegen_ns + self.link_ns
    }

    /// What happened after `before` (taken from the same run).
    pub fn since(&self, before: &RunStats) -> RunStats {
        RunStats {
            tier: self.tier.clone(),
            functions_defined: self.functions_defined - before.functions_defined,
            functions_shared: self.functions_shared - before.functions_shared,
            functions_compiled: self.functions_compiled - before.functions_compiled,
            cache_hits: self.cache_hits - before.cache_hits,
            cache_misses: self.cache_misses - before.cache_misses,
            optimized_cache_hits: self.optimized_cache_hits - before.optimized_cache_hits,
            optimized_cache_misses: self.optimized_cache_misses - before.optimized_cache_misses,
            precompiled: self.precompiled - before.precompiled,
            first_calls_ready: self.first_calls_ready - before.first_calls_ready,
            first_calls_waited: self.first_calls_waited - before.first_calls_waited,
            compiles_compact: self.compiles_compact - before.compiles_compact,
            compiles_inline: self.compiles_inline - before.compiles_inline,
            compiles_osr: self.compiles_osr - before.compiles_osr,
            compiles_optimized: self.compiles_optimized - before.compiles_optimized,
            deopts: self.deopts - before.deopts,
            passes_ns: self.passes_ns - before.passes_ns,
            parse_ns: self.parse_ns - before.parse_ns,
            lower_mir_ns: self.lower_mir_ns - before.lower_mir_ns,
            llvm_ir_ns: self.llvm_ir_ns - before.llvm_ir_ns,
            llvm_opt_ns: self.llvm_opt_ns - before.llvm_opt_ns,
            codegen_ns: self.codegen_ns - before.codegen_ns,
            link_ns: self.link_ns - before.link_ns,
            run_ns: self.run_ns - before.run_ns,
            reported: self.reported,
        }
    }

    /// The statistics as a table for people (`--stats`).
    pub fn to_table(&self) -> String {
        let mut out = format!("orcrun statistics ({})\n", self.tier);
        out.push_str(&format!(
            "  functions  {} defined, {} compiled, {} sharing another's code\n",
            self.functions_defined, self.functions_compiled, self.functions_shared
        ));
        out.push_str(&format!(
            "  cache      {} hits, {} misses; optimized code {} hits, {} misses; leaves built ahead {} (first calls: {} ready, {} waited)\n",
            self.cache_hits, self.cache_misses, self.optimized_cache_hits, self.optimized_cache_misses,
            self.precompiled, self.first_calls_ready, self.first_calls_waited
        ));
        out.push_str(&format!(
            "  compiles   {} compact, {} inline, {} on-stack entries, {} optimized; {} deoptimizations\n",
            self.compiles_compact, self.compiles_inline, self.compiles_osr, self.compiles_optimized, self.deopts
        ));
        let phases = [
            ("parse", self.parse_ns),
            ("lower to MIR", self.lower_mir_ns),
            ("passes", self.passes_ns),
            ("LLVM IR", self.llvm_ir_ns),
            ("LLVM optimizer", self.llvm_opt_ns),
            ("code generation", self.codegen_ns),
            ("linking", self.link_ns),
            ("running", self.run_ns),
        ];
        let total: u64 = phases.iter().map(|(_, ns)| ns).sum();
        out.push_str("  phase                    ms       %\n");
        for (name, ns) in phases {
            let share = if total == 0 { 0.0 } else { ns as f64 * 100.0 / total as f64 };
            out.push_str(&format!("  {name:<18} {:>10.3} {share:>7.1}\n", ns as f64 / 1e6));
        }
        out.push_str(&format!("  {:<18} {:>10.3}\n", "total", total as f64 / 1e6));
        out
    }

    /// One line of the main counts (the interactive mode's report after each input).
    pub fn to_line(&self) -> String {
        format!(
            "[stats] {} compiled, {} shared, {} cache hits; compiling {:.3} ms, running {:.3} ms",
            self.functions_compiled,
            self.functions_shared,
            self.cache_hits,
            self.compile_ns() as f64 / 1e6,
            self.run_ns as f64 / 1e6
        )
    }

    /// Writes the statistics as JSON to `path` (`-`: standard error).
    pub fn write_json(&self, path: &str) {
        if path == "-" {
            eprintln!("{}", self.to_json());
        } else if let Err(e) = std::fs::write(path, self.to_json() + "\n") {
            eprintln!("orcrun: cannot write {path}: {e}");
        }
    }

    /// The statistics as one JSON object.
    pub fn to_json(&self) -> String {
        let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
        format!(
            concat!(
                "{{\"tier\":\"{}\",\"functions_defined\":{},\"functions_shared\":{},\"functions_compiled\":{},\"cache_hits\":{},\"cache_misses\":{},",
                "\"optimized_cache_hits\":{},\"optimized_cache_misses\":{},\"precompiled\":{},\"first_calls_ready\":{},\"first_calls_waited\":{},",
                "\"compiles\":{{\"compact\":{},\"inline\":{},\"osr\":{},\"optimized\":{}}},\"deopts\":{},\"phase_ms\":{{\"parse\":{},\"lower_mir\":{},",
                "\"passes\":{},\"llvm_ir\":{},\"llvm_opt\":{},\"codegen\":{},\"link\":{},\"run\":{}}}}}"
            ),
            self.tier,
            self.functions_defined,
            self.functions_shared,
            self.functions_compiled,
            self.cache_hits,
            self.cache_misses,
            self.optimized_cache_hits,
            self.optimized_cache_misses,
            self.precompiled,
            self.first_calls_ready,
            self.first_calls_waited,
            self.compiles_compact,
            self.compiles_inline,
            self.compiles_osr,
            self.compiles_optimized,
            self.deopts,
            ms(self.parse_ns),
            ms(self.lower_mir_ns),
            ms(self.passes_ns),
            ms(self.llvm_ir_ns),
            ms(self.llvm_opt_ns),
            ms(self.codegen_ns),
            ms(self.link_ns),
            ms(self.run_ns),
        )
    }
}

/// Compiles and runs the program in the chosen tier (on the VM thread).
fn run(
    source: &[u8],
    chunkname: &str,
    script: &str,
    args: &[String],
    config: &JitConfig,
    jit: Option<Jit>,
    stats: &mut RunStats,
) -> Result<i32, RunError> {
    let tier = config.tier;
    let t = Instant::now();
    let chunk = lazyjit_lua::parser::parse(source, chunkname)?;
    stats.parse_ns = t.elapsed().as_nanos() as u64;
    let t = Instant::now();
    let module = lazyjit_lua::lower::lower_chunk(&chunk, chunkname);
    stats.lower_mir_ns = t.elapsed().as_nanos() as u64;
    stats.functions_defined = module.functions.len();
    match (tier, jit) {
        (Tier::Interp, _) | (_, None) => {
            stats.tier = "interp".to_string();
            let t = Instant::now();
            let r = driver::run_module_with(module, script, args, &mut |vm| { arm_time_limit(vm); Ok(()) }, false);
            stats.run_ns = t.elapsed().as_nanos() as u64;
            r
        }
        (_, Some(jit)) => {
            stats.tier = config.tier_name();
            (jit.run)(module, script, args, config, stats)
        }
    }
}

/// `--timeout`: the run's time limit, set once before it starts.
static TIME_LIMIT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Whether the time limit interrupted the run.
static TIMED_OUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts the clock of `--timeout` for the program `vm` is about to run (called once
/// it is loaded, in every tier): a thread that sleeps until the limit and then
/// interrupts the VM, which ends the run at its next loop back edge or call with exit
/// status 124, its output so far written (then `main_with` says why).
pub fn arm_time_limit(vm: &mut lazyjit_ir::interp::Vm) {
    let Some(&limit) = TIME_LIMIT.get() else { return };
    let interrupter = vm.interrupter();
    let spawned = std::thread::Builder::new().name("orcrun-timeout".into()).spawn(move || {
        std::thread::sleep(limit);
        TIMED_OUT.store(true, std::sync::atomic::Ordering::SeqCst);
        interrupter.interrupt();
    });
    if let Err(e) = spawned {
        eprintln!("orcrun: cannot start the --timeout clock: {e}");
    }
}

/// Replaces this process by `orcrun-jit` (next to this executable) with the same
/// arguments.
///
/// Unless the environment says otherwise, mimalloc in `orcrun-jit` keeps to ordinary
/// pages (`MIMALLOC_ALLOW_THP=0`): the first touch of each transparent huge page it
/// would map costs a clear of 2 MiB, which is most of the kernel's share of a short
/// run's start-up (`print(1)`: 6.8 -> 6.5 ms, median of 40) and, on a virtual machine
/// that backs huge pages slowly, behind the slowest of repeated runs of the benchmarks.
fn exec_jit() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let jit = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("orcrun-jit")));
    let Some(jit) = jit.filter(|p| p.is_file()) else {
        eprintln!("orcrun: the JIT runner (orcrun-jit) is not installed beside orcrun");
        return ExitCode::from(1);
    };
    let mut command = std::process::Command::new(&jit);
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        command.env("MIMALLOC_ALLOW_THP", "0");
    }
    let err = command.args(std::env::args_os().skip(1)).exec();
    eprintln!("orcrun: cannot run {}: {err}", jit.display());
    ExitCode::from(1)
}

/// A script's source, chunk name and `arg[0]`.
fn read_source(source: &Source) -> Result<(Vec<u8>, String, String), String> {
    Ok(match source {
        Source::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot open {path}: {e}"))?;
            (bytes, path.clone(), path.clone())
        }
        Source::Code(code) => (code.clone().into_bytes(), "(command line)".to_string(), "-e".to_string()),
        Source::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read stdin: {e}"))?;
            (buf, "stdin".to_string(), "-".to_string())
        }
    })
}

/// The interactive mode (see `repl.rs`), after `script` if there is one.
fn interactive(opts: Options, script: Option<(Vec<u8>, String, String)>, jit: Option<Jit>) -> ExitCode {
    let config = opts.jit_config();
    let script = script.map(|(source, chunkname, _)| (source, chunkname, opts.args.clone()));
    let options = repl::Options { tier: config.tier_name(), script, stats: opts.stats, stats_json: opts.stats_json.clone() };
    std::panic::set_hook(Box::new(|info| eprintln!("orcrun: internal error: {info}")));
    let outcome = driver::on_vm_thread(move || {
        let mut host: Box<dyn repl::Host> = match (opts.tier, jit) {
            (Tier::Interp, _) | (_, None) => Box::new(repl::Interp),
            (_, Some(jit)) => match (jit.repl_host)(&config) {
                Ok(host) => host,
                Err(msg) => {
                    eprintln!("orcrun: {msg}");
                    return 1;
                }
            },
        };
        let status = repl::run(host.as_mut(), &options);
        // Compiles may still run in the background; nothing waits for them.
        LEFT_COMPILING.store(true, std::sync::atomic::Ordering::Release);
        std::mem::forget(host);
        status
    });
    let status = outcome.unwrap_or(1).clamp(0, 255);
    end_now(ExitCode::from(status as u8), status)
}

/// The whole command: `jit` runs compiling tiers (`None`: hand them to `orcrun-jit`).
pub fn main_with(jit: Option<Jit>) -> ExitCode {
    let first = std::env::args().nth(1);
    if let Some(first @ ("compile" | "cache")) = first.as_deref() {
        return match parse_cache_command(first, std::env::args().skip(2)) {
            Err(msg) => {
                eprintln!("orcrun: {msg}");
                ExitCode::from(1)
            }
            Ok(cmd) => match jit {
                Some(jit) => (jit.cache_command)(&cmd),
                None => exec_jit(),
            },
        };
    }
    let mut opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("orcrun: {msg}");
            return ExitCode::from(1);
        }
    };
    // Before reading anything (standard input belongs to the program).
    let needs_jit = match opts.emit {
        Some(emit) => emit != Emit::Mir,
        None => opts.tier != Tier::Interp,
    };
    if needs_jit && jit.is_none() {
        return exec_jit();
    }
    let source = match opts.source.take() {
        Some(source) => Some(source),
        None if opts.emit.is_some() => {
            eprintln!("orcrun: --emit needs a file\n{USAGE}");
            return ExitCode::from(1);
        }
        // Like lua5.4: interactive on a terminal, else standard input is the program.
        None if opts.interactive || std::io::stdin().is_terminal() => None,
        None => Some(Source::Stdin),
    };
    let script = match source.as_ref().map(read_source).transpose() {
        Ok(script) => script,
        Err(msg) => {
            eprintln!("orcrun: {msg}");
            return ExitCode::from(1);
        }
    };
    if opts.interactive || script.is_none() {
        return interactive(opts, script, jit);
    }
    let Some((source, chunkname, script)) = script else { unreachable!("a script is read unless interactive") };
    if let Some(emit) = opts.emit {
        let request = EmitRequest { emit, only: opts.only_fn.as_deref(), tier: opts.tier, policy: opts.policy.as_deref() };
        return match lazyjit_lua::compile(&source, &chunkname) {
            Ok(module) if emit != Emit::Mir => match jit.map(|j| (j.emit)(module, &request)) {
                Some(Ok(text)) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Some(Err(e)) => {
                    eprintln!("orcrun: {e}");
                    ExitCode::from(1)
                }
                None => exec_jit(),
            },
            Ok(module) => {
                let text = match &opts.only_fn {
                    Some(name) => match module.functions.iter().find(|f| &f.name == name) {
                        Some(f) => lazyjit_ir::print_function(&module, f),
                        None => {
                            eprintln!("orcrun: no function named '{name}'");
                            return ExitCode::from(1);
                        }
                    },
                    None => lazyjit_ir::print_module(&module),
                };
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(diag) => {
                eprintln!("orcrun: {diag}");
                ExitCode::from(1)
            }
        };
    }
    std::panic::set_hook(Box::new(|info| eprintln!("orcrun: internal error: {info}")));
    let config = opts.jit_config();
    let args = opts.args;
    if let Some(limit) = opts.timeout {
        let _ = TIME_LIMIT.set(limit);
    }
    let reported = opts.stats || opts.stats_json.is_some();
    let outcome = driver::on_vm_thread(move || {
        let mut stats = RunStats { reported, ..RunStats::default() };
        let r = run(&source, &chunkname, &script, &args, &config, jit, &mut stats);
        (r, stats)
    });
    let outcome = match outcome {
        Ok((r, stats)) => {
            if opts.stats {
                eprint!("{}", stats.to_table());
            }
            if let Some(path) = &opts.stats_json {
                stats.write_json(path);
            }
            Ok(r)
        }
        Err(e) => Err(e),
    };
    let status = match outcome {
        Ok(Ok(code)) if code == lazyjit_ir::interp::INTERRUPTED_EXIT && TIMED_OUT.load(std::sync::atomic::Ordering::SeqCst) => {
            let limit = TIME_LIMIT.get().map_or(0.0, |d| d.as_secs_f64());
            eprintln!("orcrun: time limit of {limit} s exceeded (--timeout)");
            lazyjit_ir::interp::INTERRUPTED_EXIT
        }
        Ok(Ok(code)) => code.clamp(0, 255),
        Ok(Err(RunError::Uncaught { message, traceback })) => {
            eprintln!("orcrun: {message}");
            if let Some(tb) = traceback {
                eprintln!("{tb}");
            }
            1
        }
        Ok(Err(e)) => {
            eprintln!("orcrun: {e}");
            1
        }
        Err(_) => 1,
    };
    end_now(ExitCode::from(status as u8), status)
}
