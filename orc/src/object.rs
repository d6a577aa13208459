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

    /// Whether the bytes are a relocatable ELF object for this machine whose symbol
    /// table is whole and has a function `name` with code inside its section: what the
    /// engine checks of an object from the cache before linking it (an entry that passed
    /// the cache's own checks but holds something else is compiled afresh).
    ///
    /// Read here, not by LLVM: LLVM's C API for objects trusts the file it reads (a
    /// damaged symbol table crashes it, or ends the process through
    /// `report_fatal_error`).
    pub fn defines(&self, name: &str) -> bool {
        elf::defines(&self.bytes, name).is_some()
    }
}

/// Just enough of ELF64 (little-endian, relocatable) to find a defined function.
mod elf {
    #[cfg(target_arch = "x86_64")]
    const MACHINE: u16 = 62;
    #[cfg(target_arch = "aarch64")]
    const MACHINE: u16 = 183;
    const SECTION_HEADER: usize = 64;
    const SYMBOL: usize = 24;
    const SHT_PROGBITS: u32 = 1;
    const SHT_SYMTAB: u32 = 2;
    const STT_FUNC: u8 = 2;

    fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
    }
    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
    }
    fn u64_at(b: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
    }

    /// A section's type, and its bytes (checked to lie in the file).
    fn section(b: &[u8], shoff: usize, shnum: usize, index: usize) -> Option<(u32, &[u8], u32)> {
        if index >= shnum {
            return None;
        }
        let h = shoff.checked_add(index.checked_mul(SECTION_HEADER)?)?;
        let kind = u32_at(b, h + 4)?;
        let offset = usize::try_from(u64_at(b, h + 24)?).ok()?;
        let size = usize::try_from(u64_at(b, h + 32)?).ok()?;
        let link = u32_at(b, h + 40)?;
        Some((kind, b.get(offset..offset.checked_add(size)?)?, link))
    }

    /// `Some(())` if `b` defines function `name` (see `ObjectBuffer::defines`).
    pub(super) fn defines(b: &[u8], name: &str) -> Option<()> {
        let ident_ok = b.get(..6)? == [0x7f, b'E', b'L', b'F', 2, 1];
        let kind_ok = u16_at(b, 16)? == 1 && u16_at(b, 18)? == MACHINE;
        if !(ident_ok && kind_ok && usize::from(u16_at(b, 0x3a)?) == SECTION_HEADER) {
            return None;
        }
        let shoff = usize::try_from(u64_at(b, 0x28)?).ok()?;
        let shnum = usize::from(u16_at(b, 0x3c)?);
        let symtab = (0..shnum).find_map(|i| section(b, shoff, shnum, i).filter(|s| s.0 == SHT_SYMTAB))?;
        let (_, symbols, strtab) = symtab;
        let (_, strings, _) = section(b, shoff, shnum, strtab as usize)?;
        for sym in symbols.chunks_exact(SYMBOL) {
            let start = u32_at(sym, 0)? as usize;
            let tail = strings.get(start..)?;
            let end = tail.iter().position(|&c| c == 0)?;
            if &tail[..end] != name.as_bytes() || sym[4] & 0xf != STT_FUNC {
                continue;
            }
            let (value, size) = (u64_at(sym, 8)?, u64_at(sym, 16)?);
            let (kind, code, _) = section(b, shoff, shnum, usize::from(u16_at(sym, 6)?))?;
            let inside = value.checked_add(size).is_some_and(|end| end <= code.len() as u64);
            if kind == SHT_PROGBITS && size > 0 && inside {
                return Some(());
            }
        }
        None
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

#[cfg(test)]
mod tests {
    use super::ObjectBuffer;
    use crate::{compile_module, OptLevel};

    fn object_with(function: &str) -> ObjectBuffer {
        let ctx = inkwell::context::Context::create();
        let m = ctx.create_module("m");
        let f = m.add_function(function, ctx.i64_type().fn_type(&[], false), None);
        let b = ctx.create_builder();
        b.position_at_end(ctx.append_basic_block(f, "entry"));
        b.build_return(Some(&ctx.i64_type().const_int(7, false))).unwrap();
        compile_module(&m, OptLevel::O0).unwrap()
    }

    #[test]
    fn defines_finds_functions_and_refuses_damage() {
        let object = object_with("lzf.test.body");
        assert!(object.defines("lzf.test.body"));
        assert!(!object.defines("lzf.other.body"));
        assert!(!object.defines("lzf.test"));
        // Every truncation, and every single flipped byte of the header, is refused or
        // still reads consistently; none crashes.
        let bytes = object.as_bytes();
        for len in 0..bytes.len() {
            let cut = ObjectBuffer::from_bytes(bytes[..len].to_vec());
            let _ = cut.defines("lzf.test.body");
        }
        assert!(!ObjectBuffer::from_bytes(bytes[..bytes.len() / 2].to_vec()).defines("lzf.test.body"));
        for at in 0..64 {
            let mut flipped = bytes.to_vec();
            flipped[at] ^= 0xff;
            let _ = ObjectBuffer::from_bytes(flipped).defines("lzf.test.body");
        }
        // What the cache_entry fuzz target found crashing LLVM's symbol iterator.
        let found = include_bytes!("../tests/data/fuzz-cache-entry-symtab.bin");
        assert!(!ObjectBuffer::from_bytes(found.to_vec()).defines("lzf.fuzz"));
    }
}
