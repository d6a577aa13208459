//! Lazy function bodies: one custom materialization unit per body, in the impl
//! dylib, whose materializer runs on the first call through the function's
//! lazy stub in main.
//!
//! ORC guarantees a unit is materialized at most once, however many threads
//! race on the first call: the losers wait for the winner's result. The unit's
//! context (the boxed materializer) is consumed by `materialize`, or by
//! `destroy` if the unit is never materialized (e.g. the session is dropped
//! first).

use std::ffi::CString;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use llvm_sys::core::LLVMCreateMemoryBufferWithMemoryRangeCopy;
use llvm_sys::orc2::{
    LLVMOrcDisposeMaterializationResponsibility, LLVMOrcJITDylibRef,
    LLVMOrcMaterializationResponsibilityFailMaterialization,
    LLVMOrcMaterializationResponsibilityRef, LLVMOrcObjectLayerEmit, LLVMOrcObjectLayerRef,
    LLVMOrcSymbolStringPoolEntryRef,
};

use super::shared::Shared;
use crate::error::panic_message;
use crate::object::ObjectBuffer;

/// What a materializer is asked to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaterializeRequest {
    name: String,
    symbol: String,
}

impl MaterializeRequest {
    /// The public name, as given to
    /// [`Session::add_lazy_function`](super::Session::add_lazy_function).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The symbol the returned object must define (see [`body_symbol`]): the
    /// object's only non-local symbol. Any other global definition, or a
    /// missing one, makes the link fail (and the call fail as described in
    /// [`take_failed_lazy_calls`](crate::take_failed_lazy_calls)). Calls to
    /// other functions use their public names.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
}

/// The name under which the body of lazy function `name` is defined in the
/// private impl dylib; the public `name` in main is its lazy stub.
///
/// Distinct from `name` so that a body calling `name` (its own or another's
/// public name) goes through the stub and stays lazy, instead of binding to
/// the body directly and forcing it to be compiled when the caller is linked.
pub fn body_symbol(name: &str) -> String {
    format!("{name}.body")
}

/// A materializer: produces the object for one lazy body, on the thread of the
/// first call. An `Err` (or a panic) fails the call; see
/// [`take_failed_lazy_calls`](crate::take_failed_lazy_calls).
pub type Materializer = Box<dyn FnOnce(&MaterializeRequest) -> Result<ObjectBuffer, String> + Send>;

/// The context of one body's materialization unit.
pub(crate) struct LazyBody {
    pub(crate) request: MaterializeRequest,
    pub(crate) materializer: Materializer,
    /// NUL-terminated `request.symbol`, the emitted buffer's name.
    pub(crate) buffer_name: CString,
    /// The LLJIT's object linking layer; valid while the LLJIT lives, which
    /// is as long as this unit can be materialized.
    pub(crate) layer: LLVMOrcObjectLayerRef,
    pub(crate) shared: Arc<Shared>,
}

impl LazyBody {
    fn new_request(name: &str) -> MaterializeRequest {
        MaterializeRequest {
            name: name.to_owned(),
            symbol: body_symbol(name),
        }
    }

    pub(crate) fn new(
        name: &str,
        materializer: Materializer,
        layer: LLVMOrcObjectLayerRef,
        shared: Arc<Shared>,
    ) -> Result<LazyBody, crate::OrcError> {
        let request = LazyBody::new_request(name);
        let buffer_name = crate::error::c_name(&request.symbol)?;
        Ok(LazyBody {
            request,
            materializer,
            buffer_name,
            layer,
            shared,
        })
    }
}

pub(crate) extern "C" fn materialize(
    ctx: *mut std::ffi::c_void,
    responsibility: LLVMOrcMaterializationResponsibilityRef,
) {
    // `emit` returns true once it has handed the responsibility to the object
    // layer; until then (an error, or a panic anywhere) it is still ours to fail.
    let emitted = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the `Box<LazyBody>` leaked by `Session::add_lazy_function`;
        // ORC passes it to exactly one of `materialize` and `destroy`.
        let body = unsafe { Box::from_raw(ctx as *mut LazyBody) };
        // SAFETY: `responsibility` is the live MR ORC just handed us.
        unsafe { emit(*body, responsibility) }
    }));
    if !matches!(emitted, Ok(true)) {
        // SAFETY: we still own the MR: fail its symbols (waking every waiting
        // lookup with an error) and dispose it.
        unsafe {
            LLVMOrcMaterializationResponsibilityFailMaterialization(responsibility);
            LLVMOrcDisposeMaterializationResponsibility(responsibility);
        }
    }
}

/// Runs the materializer and emits its object. Returns whether `responsibility`
/// was handed over to the object layer.
///
/// # Safety
/// `responsibility` must be live and owned by the caller.
unsafe fn emit(body: LazyBody, responsibility: LLVMOrcMaterializationResponsibilityRef) -> bool {
    let LazyBody {
        request,
        materializer,
        buffer_name,
        layer,
        shared,
    } = body;
    shared.count_run();
    let object = match panic::catch_unwind(AssertUnwindSafe(|| materializer(&request))) {
        Ok(Ok(object)) => object,
        Ok(Err(message)) => {
            shared.record_failure(format!(
                "materializer for `{}` failed: {message}",
                request.name
            ));
            return false;
        }
        Err(payload) => {
            shared.record_failure(format!(
                "materializer for `{}` panicked: {}",
                request.name,
                panic_message(&*payload)
            ));
            return false;
        }
    };
    let bytes = object.as_bytes();
    // SAFETY: LLVM copies `bytes` into a buffer it owns; `LLVMOrcObjectLayerEmit`
    // takes ownership of both that buffer and the MR. Link errors are reported
    // to the session and fail the MR inside LLVM.
    unsafe {
        let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
            bytes.as_ptr().cast(),
            bytes.len(),
            buffer_name.as_ptr(),
        );
        let start = std::time::Instant::now();
        LLVMOrcObjectLayerEmit(layer, responsibility, buffer);
        shared.count_link(start.elapsed());
    }
    true
}

pub(crate) extern "C" fn discard(
    _ctx: *mut std::ffi::c_void,
    _dylib: LLVMOrcJITDylibRef,
    _symbol: LLVMOrcSymbolStringPoolEntryRef,
) {
    // Only weak definitions are ever discarded, and bodies are strong.
}

pub(crate) extern "C" fn destroy(ctx: *mut std::ffi::c_void) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see `materialize`: the unit was never materialized, so the
        // box is still ours to drop.
        drop(unsafe { Box::from_raw(ctx as *mut LazyBody) });
    }));
}
