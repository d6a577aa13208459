//! The impl dylib's definition generator: forwards names it lacks to main.
//!
//! Bodies live in the private "impl" JITDylib, while the names they call
//! (other functions' lazy stubs, host symbols) live in main. The C API cannot
//! set a JITDylib's link order, so this generator stands in for "impl links
//! against main": for every name a lookup in impl could not find, it looks the
//! name up in main (and the LLJIT's process-symbols dylib) and defines what it
//! finds in impl as an absolute symbol at the same address. Looking up a lazy
//! stub that way creates the stub but compiles nothing, so calls from one body
//! to another stay lazy. Names found nowhere are left undefined, and the
//! original lookup reports them missing.

use std::panic::{self, AssertUnwindSafe};

use llvm_sys::error::{LLVMCreateStringError, LLVMErrorRef};
use llvm_sys::orc2::{
    LLVMJITEvaluatedSymbol, LLVMJITSymbolFlags, LLVMOrcAbsoluteSymbols, LLVMOrcCLookupSet,
    LLVMOrcCSymbolMapPair, LLVMOrcDefinitionGeneratorRef, LLVMOrcDisposeMaterializationUnit,
    LLVMOrcExecutionSessionRef, LLVMOrcJITDylibDefine, LLVMOrcJITDylibLookupFlags,
    LLVMOrcJITDylibRef, LLVMOrcLookupKind, LLVMOrcLookupStateRef,
};

use super::handles::SymbolName;
use super::lookup::{lookup_blocking, Missing};
use crate::error::{consume_error_message, panic_message};

/// The generator's context: where to look.
pub(crate) struct ForwardTo {
    pub(crate) session: LLVMOrcExecutionSessionRef,
    pub(crate) dylibs: Vec<LLVMOrcJITDylibRef>,
}

pub(crate) extern "C" fn try_to_generate(
    _generator: LLVMOrcDefinitionGeneratorRef,
    ctx: *mut std::ffi::c_void,
    _lookup_state: *mut LLVMOrcLookupStateRef,
    _kind: LLVMOrcLookupKind,
    target: LLVMOrcJITDylibRef,
    _target_flags: LLVMOrcJITDylibLookupFlags,
    lookup_set: LLVMOrcCLookupSet,
    lookup_set_size: usize,
) -> LLVMErrorRef {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the `Box<ForwardTo>` given to the generator, alive
        // until `dispose`; the lookup set holds `lookup_set_size` live entries
        // for the duration of this call.
        let forward = unsafe { &*(ctx as *const ForwardTo) };
        let wanted: Vec<SymbolName> = if lookup_set_size == 0 || lookup_set.is_null() {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(lookup_set, lookup_set_size) }
                .iter()
                .map(|e| unsafe { SymbolName::retain(e.Name) })
                .collect()
        };
        forward_names(forward, target, &wanted)
    }));
    let message = match outcome {
        Ok(Ok(())) => return std::ptr::null_mut(),
        Ok(Err(message)) => message,
        Err(payload) => format!(
            "forwarding generator panicked: {}",
            panic_message(&*payload)
        ),
    };
    let c = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: creates an error from a NUL-terminated string (LLVM copies it);
    // ownership of the error passes to ORC through the return value.
    unsafe { LLVMCreateStringError(c.as_ptr()) }
}

fn forward_names(
    forward: &ForwardTo,
    target: LLVMOrcJITDylibRef,
    wanted: &[SymbolName],
) -> Result<(), String> {
    let order: Vec<_> = forward
        .dylibs
        .iter()
        .map(|&jd| {
            (
                jd,
                LLVMOrcJITDylibLookupFlags::LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly,
            )
        })
        .collect();
    let found = lookup_blocking(forward.session, &order, wanted, Missing::Skip)?;
    let mut pairs: Vec<LLVMOrcCSymbolMapPair> = wanted
        .iter()
        .zip(found)
        .filter_map(|(name, found)| {
            let f = found?;
            Some(LLVMOrcCSymbolMapPair {
                Name: name.clone().into_raw(),
                Sym: LLVMJITEvaluatedSymbol {
                    Address: f.address,
                    Flags: LLVMJITSymbolFlags {
                        GenericFlags: f.generic_flags,
                        TargetFlags: f.target_flags,
                    },
                },
            })
        })
        .collect();
    if pairs.is_empty() {
        return Ok(());
    }
    // SAFETY: `LLVMOrcAbsoluteSymbols` takes the names' references (given away
    // above) and copies the array. `LLVMOrcJITDylibDefine` takes the unit on
    // success and leaves it to us on failure.
    unsafe {
        let unit = LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len());
        let err = LLVMOrcJITDylibDefine(target, unit);
        if !err.is_null() {
            LLVMOrcDisposeMaterializationUnit(unit);
            return Err(format!(
                "forwarding names from main: {}",
                consume_error_message(err)
            ));
        }
    }
    Ok(())
}

pub(crate) extern "C" fn dispose(ctx: *mut std::ffi::c_void) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: ORC calls this once, when the impl dylib is destroyed; `ctx` is
        // the `Box<ForwardTo>` leaked when the generator was created.
        drop(unsafe { Box::from_raw(ctx as *mut ForwardTo) });
    }));
}
