/// The functions of LLVM's GDB JIT interface that debugger support
/// (`SessionOptions::debugger_support`) looks up among the process's dynamic symbols,
/// and the descriptor a debugger reads. (Included by the build scripts of this crate
/// and of the tools, which export them from executables.)
pub const GDB_REGISTRATION_SYMBOLS: [&str; 4] = [
    "llvm_orc_registerJITLoaderGDBWrapper",
    "llvm_orc_registerJITLoaderGDBAllocAction",
    "__jit_debug_register_code",
    "__jit_debug_descriptor",
];
