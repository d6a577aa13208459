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
    /// No IR passes; fast instruction selection (and the greedy register allocator, see
    /// [`LLVM_OPTIONS`]). The baseline tier.
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

/// Everything [`compile_module_with`] needs to know besides the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CodegenOptions {
    /// Optimization level of the IR pipeline and of code generation.
    pub opt: OptLevel,
    /// CPU to generate code for.
    pub cpu: CpuTarget,
}

/// Compiles `module` to an object for the host triple, for the generic x86-64
/// CPU, PIC, default code model. See [`compile_module_with`].
pub fn compile_module(module: &Module<'_>, opt: OptLevel) -> Result<ObjectBuffer, OrcError> {
    compile_module_with(
        module,
        &CodegenOptions {
            opt,
            cpu: CpuTarget::Generic,
        },
    )
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
    let t1 = std::time::Instant::now();
    let buffer = machine
        .write_to_memory_buffer(module, FileType::Object)
        .map_err(|e| OrcError::Codegen(e.to_string()))?;
    let times = CompileTimes {
        opt_ns: (t1 - t0).as_nanos() as u64,
        codegen_ns: t1.elapsed().as_nanos() as u64,
    };
    Ok((ObjectBuffer::from_bytes(buffer.as_slice().to_vec()), times))
}

/// LLVM's process-wide options, set once before any code generation:
///
/// - `-optimize-regalloc`: the greedy register allocator also at `-O0`. The baseline
///   tier keeps MIR values in SSA registers across blocks; `-O0`'s default fast
///   allocator spills every such value around every block, which made compiled loops
///   slower than the interpreter (mandelbrot: 0.94 s against 0.58 s with this option,
///   side by side); instruction selection stays fast, and a module costs about 2.5x
///   what it costs with the fast allocator. Higher levels use the greedy one anyway.
/// - `-enable-misched=false`: no machine instruction scheduling before register
///   allocation, which `-optimize-regalloc` would otherwise add at `-O0`. Out-of-order
///   x86 cores gain little from it, and it was the most expensive single pass of a
///   baseline compile (a 57-op function: 12.4 ms with it, 6.9 ms without, criterion
///   `baseline-compile/medium`).
const LLVM_OPTIONS: &[&str] = &["lazyjit", "-optimize-regalloc", "-enable-misched=false"];

/// Registers the native target with LLVM and sets [`LLVM_OPTIONS`], once per process.
/// `LAZYJIT_LLVM_OPTIONS` (whitespace-separated LLVM options) replaces the list, for
/// measuring codegen choices: e.g. `LAZYJIT_LLVM_OPTIONS=" "` gives LLVM's own `-O0`.
pub(crate) fn ensure_native_target() -> Result<(), OrcError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        let extra = std::env::var("LAZYJIT_LLVM_OPTIONS").ok();
        let base: &[&str] = if extra.is_some() { &LLVM_OPTIONS[..1] } else { LLVM_OPTIONS };
        let owned: Vec<std::ffi::CString> = base
            .iter()
            .copied()
            .chain(extra.as_deref().unwrap_or("").split_whitespace())
            .map(|o| std::ffi::CString::new(o).expect("no NUL in an option"))
            .collect();
        let argv: Vec<*const std::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        // SAFETY: `argv` holds NUL-terminated strings that outlive the call; LLVM copies
        // what it keeps. Called once, before any other thread uses LLVM's options.
        unsafe {
            llvm_sys::support::LLVMParseCommandLineOptions(
                argv.len() as i32,
                argv.as_ptr(),
                std::ptr::null(),
            )
        };
        Target::initialize_native(&InitializationConfig::default())
    })
    .clone()
    .map_err(OrcError::Codegen)
}

thread_local! {
    static MACHINES: RefCell<Vec<(CodegenOptions, Rc<TargetMachine>)>> = const { RefCell::new(Vec::new()) };
}

/// This thread's target machine for `options`, created on first use.
fn target_machine(options: CodegenOptions) -> Result<Rc<TargetMachine>, OrcError> {
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
