//! A blocking wrapper around the asynchronous `LLVMOrcExecutionSessionLookup`.
//!
//! Used by the impl dylib's forwarding generator (a lookup nested inside
//! another lookup, which ORC allows as long as the nested one cannot need the
//! same generator) and by [`Session::lookup_body`](super::Session::lookup_body).

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::{
    LLVMOrcCJITDylibSearchOrderElement, LLVMOrcCLookupSetElement, LLVMOrcCSymbolMapPairs,
    LLVMOrcExecutionSessionLookup, LLVMOrcExecutionSessionRef, LLVMOrcJITDylibLookupFlags,
    LLVMOrcJITDylibRef, LLVMOrcLookupKind, LLVMOrcSymbolLookupFlags,
    LLVMOrcSymbolStringPoolEntryRef,
};

use super::handles::SymbolName;
use crate::error::consume_error_message;

/// A found symbol: its address and ORC's generic/target flags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    pub(crate) address: u64,
    pub(crate) generic_flags: u8,
    pub(crate) target_flags: u8,
}

/// Whether a lookup fails on a missing name or just leaves it out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Error,
    Skip,
}

type Reply = Result<Vec<(LLVMOrcSymbolStringPoolEntryRef, Found)>, String>;

/// Looks `names` up in `search_order` (each dylib with its flags) and waits for
/// the answer, which is in the order of `names` (`None` for a name skipped
/// under [`Missing::Skip`]). Errors are LLVM's message.
pub(crate) fn lookup_blocking(
    session: LLVMOrcExecutionSessionRef,
    search_order: &[(LLVMOrcJITDylibRef, LLVMOrcJITDylibLookupFlags)],
    names: &[SymbolName],
    missing: Missing,
) -> Result<Vec<Option<Found>>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<LLVMOrcCJITDylibSearchOrderElement> = search_order
        .iter()
        .map(|&(jd, flags)| LLVMOrcCJITDylibSearchOrderElement {
            JD: jd,
            JDLookupFlags: flags,
        })
        .collect();
    let lookup_flags = match missing {
        Missing::Error => LLVMOrcSymbolLookupFlags::LLVMOrcSymbolLookupFlagsRequiredSymbol,
        Missing::Skip => LLVMOrcSymbolLookupFlags::LLVMOrcSymbolLookupFlagsWeaklyReferencedSymbol,
    };
    // The lookup takes over one reference per name, so hand it clones.
    let mut set: Vec<LLVMOrcCLookupSetElement> = names
        .iter()
        .map(|n| LLVMOrcCLookupSetElement {
            Name: n.clone().into_raw(),
            LookupFlags: lookup_flags,
        })
        .collect();
    let (tx, rx) = mpsc::channel::<Reply>();
    let ctx = Box::into_raw(Box::new(tx));
    // SAFETY: live session; `order` and `set` outlive the call (LLVM copies
    // them); `ctx` is a leaked `Sender` that `handle_result` reclaims exactly once.
    unsafe {
        LLVMOrcExecutionSessionLookup(
            session,
            LLVMOrcLookupKind::LLVMOrcLookupKindStatic,
            order.as_mut_ptr(),
            order.len(),
            set.as_mut_ptr(),
            set.len(),
            handle_result,
            ctx.cast(),
        );
    }
    let found = rx
        .recv()
        .map_err(|_| String::from("lookup result handler did not answer (it panicked)"))??;
    Ok(names
        .iter()
        .map(|n| {
            found
                .iter()
                .find(|(entry, _)| *entry == n.as_raw())
                .map(|&(_, f)| f)
        })
        .collect())
}

extern "C" fn handle_result(
    err: LLVMErrorRef,
    result: LLVMOrcCSymbolMapPairs,
    num_pairs: usize,
    ctx: *mut std::ffi::c_void,
) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the `Box<Sender>` leaked by `lookup_blocking`; ORC
        // calls this handler exactly once.
        let tx = unsafe { Box::from_raw(ctx as *mut mpsc::Sender<Reply>) };
        let reply = if err.is_null() {
            // SAFETY: on success LLVM passes `num_pairs` valid pairs, borrowed for
            // the duration of this call; we copy out plain values and compare the
            // name pointers only while the caller still holds its own references.
            let pairs = if num_pairs == 0 || result.is_null() {
                &[][..]
            } else {
                unsafe { std::slice::from_raw_parts(result, num_pairs) }
            };
            Ok(pairs
                .iter()
                .map(|p| {
                    (
                        p.Name,
                        Found {
                            address: p.Sym.Address,
                            generic_flags: p.Sym.Flags.GenericFlags,
                            target_flags: p.Sym.Flags.TargetFlags,
                        },
                    )
                })
                .collect())
        } else {
            // SAFETY: a non-null error is ours to consume.
            Err(unsafe { consume_error_message(err) })
        };
        // The receiver only disappears if the waiting thread is gone.
        let _ = tx.send(reply);
    }));
}
