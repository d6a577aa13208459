//! One owning wrapper per ORC handle that we create, each disposing its handle
//! exactly once. Handles that LLVM owns (the execution session, JITDylibs, the
//! object layer) are plain copies of pointers, valid while the [`Jit`] lives.

use std::ffi::CStr;

use llvm_sys::error::LLVMConsumeError;
use llvm_sys::orc2::lljit::{
    LLVMOrcCreateLLJIT, LLVMOrcCreateLLJITBuilder, LLVMOrcDisposeLLJIT,
    LLVMOrcLLJITGetExecutionSession, LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITGetObjLinkingLayer,
    LLVMOrcLLJITGetTripleString, LLVMOrcLLJITMangleAndIntern, LLVMOrcLLJITRef,
};
use llvm_sys::orc2::{
    LLVMOrcCreateLocalIndirectStubsManager, LLVMOrcCreateLocalLazyCallThroughManager,
    LLVMOrcDisposeIndirectStubsManager, LLVMOrcDisposeLazyCallThroughManager,
    LLVMOrcExecutionSessionRef, LLVMOrcIndirectStubsManagerRef, LLVMOrcJITDylibRef,
    LLVMOrcLazyCallThroughManagerRef, LLVMOrcObjectLayerRef, LLVMOrcReleaseSymbolStringPoolEntry,
    LLVMOrcRetainSymbolStringPoolEntry, LLVMOrcSymbolStringPoolEntryRef,
    LLVMOrcSymbolStringPoolEntryStr,
};

use crate::error::{c_name, check, OrcError};

/// An `LLVMOrcLLJITRef` created through the LLJIT builder (host target, JITLink).
pub(crate) struct Jit {
    raw: LLVMOrcLLJITRef,
}

impl Jit {
    pub(crate) fn new() -> Result<Jit, OrcError> {
        crate::compile::ensure_native_target()?;
        let mut raw: LLVMOrcLLJITRef = std::ptr::null_mut();
        // SAFETY: the builder is fresh; `LLVMOrcCreateLLJIT` takes ownership of
        // it whether or not it succeeds, and writes `raw` only on success.
        unsafe {
            let builder = LLVMOrcCreateLLJITBuilder();
            check(LLVMOrcCreateLLJIT(&mut raw, builder), || {
                String::from("create LLJIT")
            })?;
        }
        if raw.is_null() {
            return Err(OrcError::Llvm {
                operation: String::from("create LLJIT"),
                message: String::from("null LLJIT"),
            });
        }
        Ok(Jit { raw })
    }

    pub(crate) fn raw(&self) -> LLVMOrcLLJITRef {
        self.raw
    }

    pub(crate) fn execution_session(&self) -> LLVMOrcExecutionSessionRef {
        // SAFETY: `raw` is a live LLJIT; the session it returns lives as long.
        unsafe { LLVMOrcLLJITGetExecutionSession(self.raw) }
    }

    pub(crate) fn main_dylib(&self) -> LLVMOrcJITDylibRef {
        // SAFETY: as above; the main JITDylib is owned by the session.
        unsafe { LLVMOrcLLJITGetMainJITDylib(self.raw) }
    }

    pub(crate) fn object_layer(&self) -> LLVMOrcObjectLayerRef {
        // SAFETY: as above; the object linking layer is owned by the LLJIT.
        unsafe { LLVMOrcLLJITGetObjLinkingLayer(self.raw) }
    }

    /// The LLJIT's target triple, e.g. `x86_64-pc-linux-gnu`.
    pub(crate) fn triple(&self) -> &CStr {
        // SAFETY: LLVM returns a NUL-terminated string owned by the LLJIT,
        // which lives as long as `self`.
        unsafe { CStr::from_ptr(LLVMOrcLLJITGetTripleString(self.raw)) }
    }

    /// `name` mangled for the target and interned in the session's string pool.
    pub(crate) fn mangle(&self, name: &str) -> Result<SymbolName, OrcError> {
        let c = c_name(name)?;
        // SAFETY: live LLJIT and NUL-terminated name; the returned entry carries
        // one reference, which `SymbolName` now owns.
        Ok(SymbolName {
            raw: unsafe { LLVMOrcLLJITMangleAndIntern(self.raw, c.as_ptr()) },
        })
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        // SAFETY: we own the LLJIT and dispose it once. Disposal can report an
        // error (e.g. from ending the session); nobody is left to tell, so it is
        // consumed.
        unsafe {
            let err = LLVMOrcDisposeLLJIT(self.raw);
            if !err.is_null() {
                LLVMConsumeError(err);
            }
        }
    }
}

/// An `LLVMOrcIndirectStubsManagerRef`: owns the stubs of lazy reexports.
pub(crate) struct IndirectStubsManager {
    raw: LLVMOrcIndirectStubsManagerRef,
}

impl IndirectStubsManager {
    pub(crate) fn new(triple: &CStr) -> Result<Self, OrcError> {
        // SAFETY: `triple` is NUL-terminated; a null result means "unsupported".
        let raw = unsafe { LLVMOrcCreateLocalIndirectStubsManager(triple.as_ptr()) };
        if raw.is_null() {
            return Err(OrcError::Llvm {
                operation: String::from("create indirect stubs manager"),
                message: format!("no stubs manager for {}", triple.to_string_lossy()),
            });
        }
        Ok(IndirectStubsManager { raw })
    }

    pub(crate) fn raw(&self) -> LLVMOrcIndirectStubsManagerRef {
        self.raw
    }
}

impl Drop for IndirectStubsManager {
    fn drop(&mut self) {
        // SAFETY: owned, disposed once.
        unsafe { LLVMOrcDisposeIndirectStubsManager(self.raw) }
    }
}

/// An `LLVMOrcLazyCallThroughManagerRef`: owns the trampolines that catch the
/// first call of a lazy reexport and resolve (materialize) its body.
pub(crate) struct LazyCallThroughManager {
    raw: LLVMOrcLazyCallThroughManagerRef,
}

impl LazyCallThroughManager {
    /// `error_handler` is the address jumped to, in place of the callee, when the
    /// body cannot be materialized. It must be a real function: 0 segfaults.
    pub(crate) fn new(
        triple: &CStr,
        session: LLVMOrcExecutionSessionRef,
        error_handler: u64,
    ) -> Result<Self, OrcError> {
        let mut raw: LLVMOrcLazyCallThroughManagerRef = std::ptr::null_mut();
        // SAFETY: live session, NUL-terminated triple; `raw` is written on success.
        unsafe {
            check(
                LLVMOrcCreateLocalLazyCallThroughManager(
                    triple.as_ptr(),
                    session,
                    error_handler,
                    &mut raw,
                ),
                || String::from("create lazy call-through manager"),
            )?;
        }
        Ok(LazyCallThroughManager { raw })
    }

    pub(crate) fn raw(&self) -> LLVMOrcLazyCallThroughManagerRef {
        self.raw
    }
}

impl Drop for LazyCallThroughManager {
    fn drop(&mut self) {
        // SAFETY: owned, disposed once.
        unsafe { LLVMOrcDisposeLazyCallThroughManager(self.raw) }
    }
}

/// One counted reference to an interned symbol name.
///
/// Must not outlive the session whose string pool holds it; the crate only
/// keeps these for the duration of one call.
pub(crate) struct SymbolName {
    raw: LLVMOrcSymbolStringPoolEntryRef,
}

impl SymbolName {
    /// Takes a new reference to an entry borrowed from LLVM.
    ///
    /// # Safety
    /// `raw` must be a live pool entry.
    pub(crate) unsafe fn retain(raw: LLVMOrcSymbolStringPoolEntryRef) -> SymbolName {
        // SAFETY: live entry by the caller's contract.
        unsafe { LLVMOrcRetainSymbolStringPoolEntry(raw) };
        SymbolName { raw }
    }

    /// The entry, still owned by `self`.
    pub(crate) fn as_raw(&self) -> LLVMOrcSymbolStringPoolEntryRef {
        self.raw
    }

    /// Gives this reference away, for C API functions documented to take
    /// ownership of ("to have been retained for") the names passed to them.
    pub(crate) fn into_raw(self) -> LLVMOrcSymbolStringPoolEntryRef {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }

    /// The (mangled) text of the name.
    pub(crate) fn text(&self) -> String {
        // SAFETY: the entry is live while we hold our reference; the string is
        // NUL-terminated and owned by the pool.
        unsafe { CStr::from_ptr(LLVMOrcSymbolStringPoolEntryStr(self.raw)) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Clone for SymbolName {
    fn clone(&self) -> Self {
        // SAFETY: we hold a reference, so the entry is live.
        unsafe { SymbolName::retain(self.raw) }
    }
}

impl Drop for SymbolName {
    fn drop(&mut self) {
        // SAFETY: releases the one reference this value owns.
        unsafe { LLVMOrcReleaseSymbolStringPoolEntry(self.raw) }
    }
}
