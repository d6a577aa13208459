//! Running a Lua program end to end: compile, load into a VM with the Lua runtime, call
//! the main chunk with the script arguments, and report the outcome.

use lazyjit_ir::interp::{LoadError, LuaError, Vm};
use lazyjit_ir::Module;

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
    std::thread::Builder::new()
        .name("lua".into())
        .stack_size(VM_STACK_BYTES)
        .spawn(f)
        .map_err(|e| Box::new(e.to_string()) as Box<dyn std::any::Any + Send>)?
        .join()
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
        Err(LuaError::Exit(code)) => Ok(code),
        Err(LuaError::Value(v)) => {
            let message = runtime::error_to_string(&mut vm, v);
            Err(RunError::Uncaught { message, traceback: vm.pending_traceback.take() })
        }
        Err(LuaError::Runtime { msg, .. }) => Err(RunError::Uncaught {
            message: msg.replace(lazyjit_ir::interp::VARINFO, ""),
            traceback: vm.pending_traceback.take(),
        }),
    };
    if leak_vm {
        std::mem::forget(vm);
    }
    result
}

/// Compiles and runs a source text (see [`run_module`]).
pub fn run_source(source: &[u8], chunkname: &str, script_name: &str, args: &[String]) -> Result<i32, RunError> {
    let module = crate::compile(source, chunkname)?;
    run_module(module, script_name, args)
}
