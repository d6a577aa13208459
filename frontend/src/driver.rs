//! Running a Lua program end to end: compile, load into a VM with the Lua runtime, call
//! the main chunk with the script arguments, and report the outcome.

use lazyjit::runtime::{LoadError, VmError, Vm};
use lazyjit::mir::Module;

use crate::diag::Diagnostic;
use crate::runtime;

/// Why a program did not finish normally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source does not parse.
    #[error("{0}")]
    Syntax(#[from] Diagnostic),
    /// The module could not be loaded.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// The execution engine could not be set up.
    #[error("{0}")]
    Engine(String),
    /// An error escaped the main chunk.
    #[error("{message}")]
    Uncaught {
        /// The error as `lua5.4` shows it.
        message: String,
        /// `stack traceback:` lines, where known.
        traceback: Option<String>,
    },
}

/// Native stack for the thread that runs Lua code: deep recursion (Lua allows about
/// 200,000 levels) recurses natively in the interpreter. Only touched pages cost memory.
pub const VM_STACK_BYTES: usize = 1 << 30;

/// Runs `f` on a thread with a native stack large enough for deep Lua recursion.
pub fn on_vm_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> std::thread::Result<R> {
    lazyjit::on_large_stack(VM_STACK_BYTES, f)
}

/// Loads `module` into a fresh VM and runs its main chunk with `args` as `...` (and in
/// `arg`, with `script_name` as `arg[0]`). Returns the exit status (0, or what
/// `os.exit` asked for). Call it on a thread from [`on_vm_thread`].
pub fn run_module(module: Module, script_name: &str, args: &[String]) -> Result<i32, RunError> {
    run_module_with(module, script_name, args, &mut |_| Ok(()), false)
}

/// [`run_module`], calling `after_load` once the module is loaded (before anything
/// runs): an execution engine attaches compiled entries there. With `leak_vm`, the VM
/// is never dropped, so that it needs no quiet engine: for a process that ends right
/// after, without waiting for background compiles that still read it.
pub fn run_module_with(
    module: Module,
    script_name: &str,
    args: &[String],
    after_load: &mut dyn FnMut(&mut Vm) -> Result<(), String>,
    leak_vm: bool,
) -> Result<i32, RunError> {
    let mut vm = Vm::new(None);
    let stack_marker = 0u8;
    vm.native_stack_base = &stack_marker as *const u8 as usize;
    runtime::install(&mut vm, script_name, args);
    let main = vm.load(module, &runtime::registry())?;
    after_load(&mut vm).map_err(RunError::Engine)?;
    let argv: Vec<_> = args.iter().map(|a| vm.new_str(a.as_bytes())).collect();
    let result = vm.call(main, &argv);
    runtime::flush_stdout(&mut vm);
    let result = match result {
        Ok(_) => Ok(0),
        Err(VmError::Exit(code)) => Ok(code),
        Err(e) => Err(uncaught(&mut vm, e)),
    };
    if leak_vm {
        std::mem::forget(vm);
    }
    result
}

/// The error that ended a chunk (not `os.exit`), as `lua5.4` reports it.
fn uncaught(vm: &mut Vm, e: VmError) -> RunError {
    let message = match e {
        VmError::Value(v) => runtime::error_to_string(vm, v),
        VmError::Runtime { msg, .. } => msg.replace(lazyjit::runtime::VARINFO, ""),
        VmError::Exit(code) => format!("exit {code}"),
    };
    RunError::Uncaught { message, traceback: vm.pending_traceback.take() }
}

/// An interactive session: one VM into which chunks are loaded and run one after
/// another, sharing its globals (as in `lua5.4`'s interactive mode). Create it on a
/// thread from [`on_vm_thread`].
pub struct Session {
    vm: Vm,
}

/// How a chunk of a [`Session`] ended, when it did not raise an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkEnd {
    /// It returned.
    Returned,
    /// It called `os.exit` with this status.
    Exit(i32),
}

impl Session {
    /// A VM with the Lua runtime, `script_name` as `arg[0]` and `args` after it.
    pub fn new(script_name: &str, args: &[String]) -> Session {
        let mut vm = Vm::new(None);
        // Calls are made from frames about as deep as this one.
        let stack_marker = 0u8;
        vm.native_stack_base = &stack_marker as *const u8 as usize;
        runtime::install(&mut vm, script_name, args);
        Session { vm }
    }

    /// The VM.
    pub fn vm(&mut self) -> &mut Vm {
        &mut self.vm
    }

    /// Loads `module`, calls `after_load` with the VM and the module's number (an
    /// execution engine attaches it there), and runs its main chunk with `args` as `...`.
    /// With `print_results`, the chunk's results, if any, are passed to the global
    /// `print` (as `lua5.4` shows an expression entered interactively). Standard output
    /// is flushed before this returns.
    pub fn run_chunk(
        &mut self,
        module: Module,
        args: &[String],
        print_results: bool,
        after_load: &mut dyn FnMut(&mut Vm, usize) -> Result<(), String>,
    ) -> Result<ChunkEnd, RunError> {
        let vm = &mut self.vm;
        let main = vm.load(module, &runtime::registry())?;
        after_load(vm, vm.modules().len() - 1).map_err(RunError::Engine)?;
        let argv: Vec<_> = args.iter().map(|a| vm.new_str(a.as_bytes())).collect();
        let mut result = vm.call(main, &argv);
        if let (true, Ok(values)) = (print_results, &result) {
            if !values.is_empty() {
                let print = runtime::global(vm, "print");
                result = vm.call(print, values).map_err(|e| {
                    let why = match uncaught(vm, e) {
                        RunError::Uncaught { message, .. } => message,
                        other => other.to_string(),
                    };
                    VmError::msg(format!("error calling 'print' ({why})"))
                });
            }
        }
        runtime::flush_stdout(vm);
        match result {
            Ok(_) => Ok(ChunkEnd::Returned),
            Err(VmError::Exit(code)) => Ok(ChunkEnd::Exit(code)),
            Err(e) => Err(uncaught(vm, e)),
        }
    }
}

/// Compiles and runs a source text (see [`run_module`]).
pub fn run_source(source: &[u8], chunkname: &str, script_name: &str, args: &[String]) -> Result<i32, RunError> {
    let module = crate::compile(source, chunkname)?;
    run_module(module, script_name, args)
}
