//! Relocatable object code as plain bytes.

/// The bytes of one relocatable object file (ELF on Linux), as produced by
/// [`compile_module`](crate::compile_module).
///
/// Plain owned bytes, so that a cache can store and reload them; emitting one
/// into a session hands LLVM a copy (LLVM takes ownership of its own buffer).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ObjectBuffer {
    bytes: Vec<u8>,
}

impl ObjectBuffer {
    /// Wraps object bytes (e.g. read back from a cache). They are not checked here;
    /// a malformed object is reported by the session when it is emitted.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        ObjectBuffer { bytes }
    }

    /// The object's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The object's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the buffer holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The size in bytes of the code of the symbol `name` the object defines (what a
    /// profiler's symbol map needs), if it defines it and LLVM can read the object.
    pub fn symbol_size(&self, name: &str) -> Option<u64> {
        use llvm_sys::core::{LLVMCreateMemoryBufferWithMemoryRange, LLVMDisposeMemoryBuffer, LLVMDisposeMessage};
        use llvm_sys::object::*;
        let buffer_name = c"object";
        // SAFETY: the memory buffer refers to `self.bytes` (no copy) and is disposed after
        // the binary that reads it; the iterator and names live within that.
        unsafe {
            let buffer = LLVMCreateMemoryBufferWithMemoryRange(self.bytes.as_ptr().cast(), self.bytes.len(), buffer_name.as_ptr(), 0);
            let mut error = std::ptr::null_mut();
            let binary = LLVMCreateBinary(buffer, std::ptr::null_mut(), &mut error);
            if binary.is_null() {
                if !error.is_null() {
                    LLVMDisposeMessage(error);
                }
                LLVMDisposeMemoryBuffer(buffer);
                return None;
            }
            let symbols = LLVMObjectFileCopySymbolIterator(binary);
            let mut size = None;
            while LLVMObjectFileIsSymbolIteratorAtEnd(binary, symbols) == 0 {
                let sym = LLVMGetSymbolName(symbols);
                // The file symbol may have the same name (modules are named after their
                // function): the function's is the one with a size.
                if !sym.is_null() && std::ffi::CStr::from_ptr(sym).to_bytes() == name.as_bytes() {
                    size = size.max(Some(LLVMGetSymbolSize(symbols)));
                }
                LLVMMoveToNextSymbol(symbols);
            }
            LLVMDisposeSymbolIterator(symbols);
            LLVMDisposeBinary(binary);
            LLVMDisposeMemoryBuffer(buffer);
            size
        }
    }

    /// Whether LLVM can read the object and it defines the code of symbol `name` (what
    /// the engine checks of an object from the cache before linking it: an entry that
    /// passed the cache's own checks but holds something else is compiled afresh).
    pub fn defines(&self, name: &str) -> bool {
        self.symbol_size(name).is_some_and(|size| size > 0)
    }
}

impl From<Vec<u8>> for ObjectBuffer {
    fn from(bytes: Vec<u8>) -> Self {
        ObjectBuffer { bytes }
    }
}

impl std::fmt::Debug for ObjectBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectBuffer({} bytes)", self.bytes.len())
    }
}
