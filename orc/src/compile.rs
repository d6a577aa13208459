//! LLVM IR module -> relocatable object bytes.
//!
//! Each thread keeps its own `TargetMachine` per (optimization level, CPU
//! choice): creating one costs about as much as compiling a small function, and
//! a `TargetMachine` must not be shared between threads that compile at once.
//! Modules are verified before anything else touches them, because invalid IR
//! that reaches code generation crashes LLVM instead of reporting an error.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};
use inkwell::OptimizationLevel;

use crate::error::OrcError;
use crate::object::ObjectBuffer;

/// How hard LLVM optimizes a module before code generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OptLevel {
    /// No IR passes; fast instruction selection; the register allocator of
    /// [`CodegenOptions::regalloc`]. The baseline tier.
    #[default]
    O0,
    /// `default<O1>` pipeline, codegen at `-O1`.
    O1,
    /// `default<O2>` pipeline, codegen at `-O2`.
    O2,
    /// `default<O3>` pipeline, codegen at `-O3`.
    O3,
}

impl OptLevel {
    fn codegen_level(self) -> OptimizationLevel {
        match self {
            OptLevel::O0 => OptimizationLevel::None,
            OptLevel::O1 => OptimizationLevel::Less,
            OptLevel::O2 => OptimizationLevel::Default,
            OptLevel::O3 => OptimizationLevel::Aggressive,
        }
    }

    fn pipeline(self) -> Option<&'static str> {
        match self {
            OptLevel::O0 => None,
            OptLevel::O1 => Some("default<O1>"),
            OptLevel::O2 => Some("default<O2>"),
            OptLevel::O3 => Some("default<O3>"),
        }
    }
}

/// Which CPU the generated code is tuned for and may assume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CpuTarget {
    /// Baseline `x86-64`: objects run on any x86-64 machine, so a persistent
    /// cache can share them, and codegen is cheaper (ORC-NOTES measured host
    /// tuning at about twice the O2 cost).
    #[default]
    Generic,
    /// The host's CPU name and features (`-march=native`).
    Host,
}

/// The register allocator of an [`OptLevel::O0`] compile (higher levels always use the
/// greedy one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RegAlloc {
    /// LLVM's greedy allocator: values stay in registers across blocks. About twice the
    /// cost of the fast one on the same code (see `with_regalloc`).
    #[default]
    Greedy,
    /// LLVM's `-O0` allocator: every value live across a block boundary is spilled. For
    /// code that keeps nothing in registers across ops (the compact shape).
    Fast,
}

/// Everything [`compile_module_with`] needs to know besides the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CodegenOptions {
    /// Optimization level of the IR pipeline and of code generation.
    pub opt: OptLevel,
    /// CPU to generate code for.
    pub cpu: CpuTarget,
    /// Register allocator (at `O0`).
    pub regalloc: RegAlloc,
}

/// Compiles `module` to an object for the host triple, for the generic x86-64
/// CPU, PIC, default code model. See [`compile_module_with`].
pub fn compile_module(module: &Module<'_>, opt: OptLevel) -> Result<ObjectBuffer, OrcError> {
    compile_module_with(module, &CodegenOptions { opt, ..CodegenOptions::default() })
}

/// Verifies `module`, then (in place) sets its triple and data layout to the
/// target's, runs the optimization pipeline of `options.opt` on it, and emits a
/// relocatable object.
///
/// The module is modified: callers that want the unoptimized IR afterwards
/// must keep their own copy.
pub fn compile_module_with(
    module: &Module<'_>,
    options: &CodegenOptions,
) -> Result<ObjectBuffer, OrcError> {
    compile_module_timed(module, options).map(|(object, _)| object)
}

/// Time spent in the two halves of [`compile_module_timed`], in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileTimes {
    /// Verifying and running the IR optimization pipeline.
    pub opt_ns: u64,
    /// Code generation to object bytes.
    pub codegen_ns: u64,
}

/// [`compile_module_with`], also reporting where the time went.
pub fn compile_module_timed(
    module: &Module<'_>,
    options: &CodegenOptions,
) -> Result<(ObjectBuffer, CompileTimes), OrcError> {
    let t0 = std::time::Instant::now();
    let machine = optimize_module(module, options)?;
    let t1 = std::time::Instant::now();
    let greedy = options.opt != OptLevel::O0 || options.regalloc == RegAlloc::Greedy;
    let buffer = with_regalloc(greedy, || machine.write_to_memory_buffer(module, FileType::Object))
        .map_err(|e| OrcError::Codegen(e.to_string()))?;
    let times = CompileTimes {
        opt_ns: (t1 - t0).as_nanos() as u64,
        codegen_ns: t1.elapsed().as_nanos() as u64,
    };
    Ok((ObjectBuffer::from_bytes(buffer.as_slice().to_vec()), times))
}

/// What [`compile_module_with`] does to `module` before code generation, in place:
/// verifies it, sets its triple and data layout to the target's and runs the IR
/// pipeline of `options.opt`. Returns the target machine that generates its code.
pub fn optimize_module(module: &Module<'_>, options: &CodegenOptions) -> Result<Rc<TargetMachine>, OrcError> {
    module.verify().map_err(|message| OrcError::InvalidModule {
        module: module.get_name().to_string_lossy().into_owned(),
        message: message.to_string(),
    })?;
    let machine = target_machine(*options)?;
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    if let Some(pipeline) = options.opt.pipeline() {
        module
            .run_passes(pipeline, &machine, PassBuilderOptions::create())
            .map_err(|e| OrcError::Codegen(format!("running `{pipeline}`: {e}")))?;
    }
    Ok(machine)
}

/// The assembly code generation makes of `module` as it is (after
/// [`optimize_module`], it is what [`compile_module_with`] would compile), as text: what
/// an inspection tool shows.
pub fn emit_assembly(module: &Module<'_>, options: &CodegenOptions) -> Result<String, OrcError> {
    let machine = target_machine(*options)?;
    let greedy = options.opt != OptLevel::O0 || options.regalloc == RegAlloc::Greedy;
    let buffer = with_regalloc(greedy, || machine.write_to_memory_buffer(module, FileType::Assembly))
        .map_err(|e| OrcError::Codegen(e.to_string()))?;
    Ok(String::from_utf8_lossy(buffer.as_slice()).into_owned())
}

/// LLVM's process-wide options, set once before any code generation:
///
/// - `-enable-misched=false`: no machine instruction scheduling before register
///   allocation, which the greedy allocator's pipeline would otherwise add at `-O0`.
///   Out-of-order x86 cores gain little from it, and it was the most expensive single
///   pass of a baseline compile (a 57-op function: 12.4 ms with it, 6.9 ms without,
///   criterion `baseline-compile/medium`).
///
/// The register allocator is chosen per compile ([`RegAlloc`], see [`with_regalloc`]).
const LLVM_OPTIONS: &[&str] = &["lazyjit", "-enable-misched=false"];

/// Runs `emit` (a code generation) with LLVM's `-optimize-regalloc` option set to
/// `greedy`.
///
/// LLVM has no per-compile way to pick the `-O0` register allocator: the option is
/// process-wide, and read when a compile builds its codegen pipeline. The greedy
/// allocator keeps the full lowering's SSA values in registers across blocks (with
/// `-O0`'s fast allocator every such value is spilled around every block, which made
/// compiled loops slower than the interpreter: mandelbrot 0.94 s against 0.58 s), at
/// about twice the compile cost; the compact shape has nothing to keep and wants the
/// cheap one. So the option is switched between compiles: compiles wanting the current
/// setting run concurrently, one wanting the other waits until none runs, then flips
/// it (re-parsing the option is allowed and takes effect, checked with LLVM 19). The
/// option is set explicitly also for higher levels, where `true` is their default.
fn with_regalloc<T>(greedy: bool, emit: impl FnOnce() -> T) -> T {
    use std::sync::{Condvar, Mutex};
    /// The option's current setting (`None`: never set) and the compiles running with it.
    static STATE: Mutex<(Option<bool>, usize)> = Mutex::new((None, 0));
    static IDLE: Condvar = Condvar::new();
    {
        let mut state = STATE.lock().unwrap_or_else(|p| p.into_inner());
        while state.0 != Some(greedy) && state.1 > 0 {
            state = IDLE.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.0 != Some(greedy) {
            parse_llvm_options(&["lazyjit", if greedy { "-optimize-regalloc=true" } else { "-optimize-regalloc=false" }]);
            state.0 = Some(greedy);
        }
        state.1 += 1;
    }
    /// Leaves the running count, also if `emit` unwinds.
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            let mut state = STATE.lock().unwrap_or_else(|p| p.into_inner());
            state.1 -= 1;
            if state.1 == 0 {
                IDLE.notify_all();
            }
        }
    }
    let _running = Running;
    emit()
}

/// Passes `args` (the first is a program name) to LLVM's option parser. Only fixed,
/// known-valid options may be passed: LLVM's parser exits the process on an error.
fn parse_llvm_options<S: AsRef<str>>(args: &[S]) {
    let owned: Vec<std::ffi::CString> = args
        .iter()
        .map(|o| std::ffi::CString::new(o.as_ref()).expect("no NUL in an option"))
        .collect();
    let argv: Vec<*const std::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    // SAFETY: `argv` holds NUL-terminated strings that outlive the call; LLVM copies
    // what it keeps. Callers make sure no compile builds a pipeline meanwhile.
    unsafe { llvm_sys::support::LLVMParseCommandLineOptions(argv.len() as i32, argv.as_ptr(), std::ptr::null()) };
}

/// Registers the native target with LLVM and sets [`LLVM_OPTIONS`], once per process.
/// `LAZYJIT_LLVM_OPTIONS` (whitespace-separated LLVM options) replaces the list, for
/// measuring codegen choices: e.g. `LAZYJIT_LLVM_OPTIONS=" "` gives LLVM's own `-O0`.
pub(crate) fn ensure_native_target() -> Result<(), OrcError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        let extra = std::env::var("LAZYJIT_LLVM_OPTIONS").ok();
        let base: &[&str] = if extra.is_some() { &LLVM_OPTIONS[..1] } else { LLVM_OPTIONS };
        let args: Vec<&str> = base.iter().copied().chain(extra.as_deref().unwrap_or("").split_whitespace()).collect();
        parse_llvm_options(&args);
        Target::initialize_native(&InitializationConfig::default())
    })
    .clone()
    .map_err(OrcError::Codegen)
}

/// Everything besides the module that decides the object bytes a compile with
/// `options` makes: LLVM's version, the target triple, CPU and features, LLVM's
/// process-wide options (`LLVM_OPTIONS` or their replacement), the optimization level
/// and the register allocator. Part of persistent cache keys.
pub fn codegen_fingerprint(options: &CodegenOptions) -> String {
    static STATIC_PART: OnceLock<String> = OnceLock::new();
    let fixed = STATIC_PART.get_or_init(|| {
        let (mut major, mut minor, mut patch) = (0u32, 0u32, 0u32);
        // SAFETY: writes three integers.
        unsafe { llvm_sys::core::LLVMGetVersion(&mut major, &mut minor, &mut patch) };
        let options = std::env::var("LAZYJIT_LLVM_OPTIONS").unwrap_or_else(|_| LLVM_OPTIONS[1..].join(" "));
        format!("llvm {major}.{minor}.{patch}; {}; options [{options}]", TargetMachine::get_default_triple())
    });
    let cpu = match options.cpu {
        CpuTarget::Generic => String::from("x86-64"),
        CpuTarget::Host => {
            format!("{} {}", TargetMachine::get_host_cpu_name(), TargetMachine::get_host_cpu_features())
        }
    };
    let greedy = options.opt != OptLevel::O0 || options.regalloc == RegAlloc::Greedy;
    format!("{fixed}; cpu {cpu}; {:?}; greedy {greedy}", options.opt)
}

thread_local! {
    static MACHINES: RefCell<Vec<(CodegenOptions, Rc<TargetMachine>)>> = const { RefCell::new(Vec::new()) };
}

/// This thread's target machine for `options`, created on first use.
fn target_machine(options: CodegenOptions) -> Result<Rc<TargetMachine>, OrcError> {
    // The register allocator is a pipeline option (see `with_regalloc`), not the
    // machine's: one machine serves both.
    let options = CodegenOptions { regalloc: RegAlloc::default(), ..options };
    if let Some(machine) = MACHINES.with(|m| {
        m.borrow()
            .iter()
            .find(|(o, _)| *o == options)
            .map(|(_, tm)| Rc::clone(tm))
    }) {
        return Ok(machine);
    }
    ensure_native_target()?;
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| OrcError::Codegen(e.to_string()))?;
    let (cpu, features) = match options.cpu {
        CpuTarget::Generic => (String::from("x86-64"), String::new()),
        CpuTarget::Host => (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        ),
    };
    let machine = target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            options.opt.codegen_level(),
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| OrcError::Codegen(format!("no target machine for {triple} / {cpu}")))?;
    let machine = Rc::new(machine);
    MACHINES.with(|m| m.borrow_mut().push((options, Rc::clone(&machine))));
    Ok(machine)
}
