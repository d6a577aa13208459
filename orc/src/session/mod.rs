//! The ORC session: one LLJIT with a public "main" dylib and a private "impl"
//! dylib for lazily compiled bodies.
//!
//! ```text
//!   main JITDylib                        impl JITDylib ("lazyjit.impl")
//!   ├─ host symbols (absolute)           ├─ f.body  (custom MU -> materializer)
//!   ├─ dispatch slots (absolute data)    ├─ g.body
//!   ├─ eagerly added objects             └─ generator: missing names -> main
//!   ├─ f  (lazy reexport of f.body)
//!   └─ g  (lazy reexport of g.body)
//! ```
//!
//! Looking up `f` creates its stub and compiles nothing. The first call jumps
//! through the stub into the lazy call-through manager, which looks up
//! `f.body` in impl; that runs `f`'s materializer (once, even under racing
//! threads), links the returned object and repoints the stub. A failed
//! materialization is described in [`take_failed_lazy_calls`](crate::take_failed_lazy_calls).
//!
//! Teardown order (ORC-NOTES: the other order corrupts the heap): the lazy
//! call-through manager and the indirect stubs manager are disposed before
//! the LLJIT; the shared state the error reporter points to, after it.

mod dispatch;
mod failure;
mod forward;
mod handles;
mod lazy;
mod lookup;
mod shared;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use llvm_sys::core::LLVMCreateMemoryBufferWithMemoryRangeCopy;
use llvm_sys::orc2::lljit::{LLVMOrcLLJITAddObjectFile, LLVMOrcLLJITLookup};
use llvm_sys::orc2::{
    LLVMJITEvaluatedSymbol, LLVMJITSymbolFlags, LLVMJITSymbolGenericFlags, LLVMOrcAbsoluteSymbols,
    LLVMOrcCSymbolAliasMapEntry, LLVMOrcCSymbolAliasMapPair, LLVMOrcCSymbolFlagsMapPair,
    LLVMOrcCSymbolMapPair, LLVMOrcCreateCustomCAPIDefinitionGenerator,
    LLVMOrcCreateCustomMaterializationUnit, LLVMOrcDisposeMaterializationUnit,
    LLVMOrcExecutionSessionCreateBareJITDylib, LLVMOrcExecutionSessionGetJITDylibByName,
    LLVMOrcExecutionSessionRef, LLVMOrcExecutionSessionSetErrorReporter,
    LLVMOrcJITDylibAddGenerator, LLVMOrcJITDylibDefine, LLVMOrcJITDylibLookupFlags,
    LLVMOrcJITDylibRef, LLVMOrcLazyReexports, LLVMOrcMaterializationUnitRef, LLVMOrcObjectLayerRef,
};

pub use dispatch::DispatchSlot;
pub use failure::{take_failed_lazy_calls, FAILED_LAZY_CALL_RESULT};
pub use lazy::{body_symbol, MaterializeRequest, Materializer};
pub use shared::SessionStats;

use crate::error::{c_name, check, OrcError};
use crate::object::ObjectBuffer;
use handles::{IndirectStubsManager, Jit, LazyCallThroughManager};
use lazy::LazyBody;
use lookup::{lookup_blocking, Missing};
use shared::Shared;

/// Name of the private JITDylib holding lazy bodies.
const IMPL_DYLIB: &str = "lazyjit.impl";
/// Name LLJIT gives the dylib that reflects the process's own symbols.
const PROCESS_SYMBOLS_DYLIB: &str = "<Process Symbols>";

/// Choices made when a [`Session`] is created.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Address of an `extern "C"` function that ORC enters *in place of* a lazy
    /// function whose body failed to materialize: it receives that call's
    /// arguments and its return value becomes the call's result. `None` means
    /// the default handler described in [`take_failed_lazy_calls`]. Must not be
    /// 0 (which segfaults); a `Some(0)` is replaced by the default.
    pub lazy_call_error_handler: Option<u64>,
    /// Register every linked object with GDB's JIT interface
    /// (`LLVMOrcLLJITEnableDebugSupport`), so that a debugger attached to the
    /// process sees the JIT's functions by name.
    ///
    /// ORC finds the registration functions by name among the process's dynamic
    /// symbols ([`GDB_REGISTRATION_SYMBOLS`]). With LLVM linked statically (the
    /// default), the executable must export them: link it with
    /// `-Wl,--export-dynamic-symbol=NAME` for each, as `orcrun-jit`'s build script
    /// does (this crate references them, so they are linked in).
    pub debugger_support: bool,
}

include!("../gdb_symbols.rs");

extern "C" {
    // Defined by LLVM's OrcTargetProcess library (any signature serves: only the
    // address is taken, so that a static link keeps them).
    fn llvm_orc_registerJITLoaderGDBWrapper();
    fn llvm_orc_registerJITLoaderGDBAllocAction();
}

/// An LLJIT session: host symbols, eagerly added objects and lazily
/// materialized functions, looked up by name.
///
/// Addresses obtained from a session are valid only while it lives. All
/// methods take `&self`; ORC synchronizes internally, so a session may be
/// shared between threads.
pub struct Session {
    // Fields drop in declaration order, which is the teardown order ORC needs:
    // call-through manager and stubs manager first, then the LLJIT (whose
    // session still reports errors while ending), then the reporter's state.
    call_through: LazyCallThroughManager,
    stubs: IndirectStubsManager,
    jit: Jit,
    shared: Arc<Shared>,
    slots: Mutex<Vec<Arc<AtomicU64>>>,
    execution_session: LLVMOrcExecutionSessionRef,
    main: LLVMOrcJITDylibRef,
    impl_dylib: LLVMOrcJITDylibRef,
    object_layer: LLVMOrcObjectLayerRef,
}

// SAFETY: the raw handles point into ORC objects owned by `jit`, which ORC
// makes safe to use from several threads: the execution session serializes
// definitions and lookups under its own lock, the call-through and stubs
// managers lock internally, and materialization may already run on whichever
// thread calls first. The host-side state (`Shared`, slots) is atomics and
// mutexes.
unsafe impl Send for Session {}
// SAFETY: see `Send`; no method hands out access that is not thread-safe.
unsafe impl Sync for Session {}

fn flags(generic: &[LLVMJITSymbolGenericFlags]) -> LLVMJITSymbolFlags {
    LLVMJITSymbolFlags {
        GenericFlags: generic.iter().fold(0u8, |acc, &f| acc | f as u8),
        TargetFlags: 0,
    }
}

fn callable() -> LLVMJITSymbolFlags {
    flags(&[
        LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported,
        LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable,
    ])
}

fn data() -> LLVMJITSymbolFlags {
    flags(&[LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported])
}

impl Session {
    /// A session with default options.
    pub fn new() -> Result<Session, OrcError> {
        Session::with_options(SessionOptions::default())
    }

    /// A session: the LLJIT, its error reporter, the impl dylib with its
    /// forwarding generator, and the lazy-reexport machinery.
    pub fn with_options(options: SessionOptions) -> Result<Session, OrcError> {
        let jit = Jit::new()?;
        if options.debugger_support {
            // ORC looks these up by name; the reference keeps them in a static link.
            std::hint::black_box([llvm_orc_registerJITLoaderGDBWrapper as *const (), llvm_orc_registerJITLoaderGDBAllocAction as *const ()]);
            // SAFETY: a live LLJIT, before anything is added to it.
            unsafe {
                check(llvm_sys::orc2::lljit::LLVMOrcLLJITEnableDebugSupport(jit.raw()), || {
                    String::from("enable debugger support")
                })?;
            }
        }
        let shared = Arc::new(Shared::default());
        let execution_session = jit.execution_session();
        // SAFETY: the context is the `Shared` that the session keeps alive
        // until after the LLJIT (and with it the execution session) is gone.
        unsafe {
            LLVMOrcExecutionSessionSetErrorReporter(
                execution_session,
                shared::report_error,
                Arc::as_ptr(&shared) as *mut std::ffi::c_void,
            );
        }
        let main = jit.main_dylib();
        let impl_name = c_name(IMPL_DYLIB)?;
        let process_name = c_name(PROCESS_SYMBOLS_DYLIB)?;
        // SAFETY: live session, NUL-terminated names. The bare dylib is owned by
        // the session; the process-symbols lookup may yield null (then skipped).
        let (impl_dylib, process) = unsafe {
            (
                LLVMOrcExecutionSessionCreateBareJITDylib(execution_session, impl_name.as_ptr()),
                LLVMOrcExecutionSessionGetJITDylibByName(execution_session, process_name.as_ptr()),
            )
        };
        let mut forward_to = vec![main];
        if !process.is_null() {
            forward_to.push(process);
        }
        let ctx = Box::into_raw(Box::new(forward::ForwardTo {
            session: execution_session,
            dylibs: forward_to,
        }));
        // SAFETY: the generator takes `ctx` and frees it through `dispose` when
        // the impl dylib is destroyed; adding it hands the generator to the dylib.
        unsafe {
            let generator = LLVMOrcCreateCustomCAPIDefinitionGenerator(
                forward::try_to_generate,
                ctx.cast(),
                forward::dispose,
            );
            LLVMOrcJITDylibAddGenerator(impl_dylib, generator);
        }
        let handler = match options.lazy_call_error_handler {
            Some(address) if address != 0 => address,
            _ => failure::default_handler_address(),
        };
        let stubs = IndirectStubsManager::new(jit.triple())?;
        let call_through = LazyCallThroughManager::new(jit.triple(), execution_session, handler)?;
        let object_layer = jit.object_layer();
        Ok(Session {
            call_through,
            stubs,
            jit,
            shared,
            slots: Mutex::new(Vec::new()),
            execution_session,
            main,
            impl_dylib,
            object_layer,
        })
    }

    /// The target triple code is generated and linked for.
    pub fn triple(&self) -> String {
        self.jit.triple().to_string_lossy().into_owned()
    }

    /// Defines host functions (e.g. Rust `extern "C" fn`s) in main as absolute
    /// symbols, so JIT code can call them by name.
    pub fn define_host_symbols(&self, symbols: &[(&str, u64)]) -> Result<(), OrcError> {
        self.define_absolute(symbols, callable())
    }

    /// Defines host data (e.g. the address of a static) in main as absolute
    /// symbols; in IR, `@name = external global <ty>` then refers to that memory.
    pub fn define_host_data(&self, symbols: &[(&str, u64)]) -> Result<(), OrcError> {
        self.define_absolute(symbols, data())
    }

    fn define_absolute(
        &self,
        symbols: &[(&str, u64)],
        symbol_flags: LLVMJITSymbolFlags,
    ) -> Result<(), OrcError> {
        if symbols.is_empty() {
            return Ok(());
        }
        let names = symbols
            .iter()
            .map(|(name, _)| self.jit.mangle(name))
            .collect::<Result<Vec<_>, _>>()?;
        let mut pairs: Vec<LLVMOrcCSymbolMapPair> = names
            .into_iter()
            .zip(symbols)
            .map(|(name, &(_, address))| LLVMOrcCSymbolMapPair {
                Name: name.into_raw(),
                Sym: LLVMJITEvaluatedSymbol {
                    Address: address,
                    Flags: LLVMJITSymbolFlags {
                        GenericFlags: symbol_flags.GenericFlags,
                        TargetFlags: symbol_flags.TargetFlags,
                    },
                },
            })
            .collect();
        // SAFETY: the unit takes the names' references and copies the array.
        let unit = unsafe { LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len()) };
        self.define(self.main, unit, || {
            let list: Vec<&str> = symbols.iter().map(|(n, _)| *n).collect();
            format!("define host symbols {list:?}")
        })
    }

    /// Defines `unit` in `dylib`, disposing it if the definition is refused.
    fn define(
        &self,
        dylib: LLVMOrcJITDylibRef,
        unit: LLVMOrcMaterializationUnitRef,
        operation: impl FnOnce() -> String,
    ) -> Result<(), OrcError> {
        // SAFETY: live dylib and a unit we own; on success the dylib takes the
        // unit, on failure it stays ours and is disposed here.
        unsafe {
            let err = LLVMOrcJITDylibDefine(dylib, unit);
            if !err.is_null() {
                LLVMOrcDisposeMaterializationUnit(unit);
            }
            check(err, operation)
        }
    }

    /// Adds a relocatable object to main. Its global definitions become
    /// visible by name; like everything in ORC, it is linked when one of its
    /// symbols is first looked up. A malformed object is refused here; an
    /// unresolvable reference is reported by that first lookup.
    pub fn add_object(&self, object: &ObjectBuffer) -> Result<(), OrcError> {
        let bytes = object.as_bytes();
        let name = c_name("lazyjit-object")?;
        // SAFETY: LLVM copies the bytes into a buffer that
        // `LLVMOrcLLJITAddObjectFile` takes ownership of, success or not.
        unsafe {
            let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                bytes.as_ptr().cast(),
                bytes.len(),
                name.as_ptr(),
            );
            check(
                LLVMOrcLLJITAddObjectFile(self.jit.raw(), self.main, buffer),
                || String::from("add object"),
            )
        }
    }

    /// Adds function `name`, compiled on its first call.
    ///
    /// `name` in main becomes a lazy stub; looking it up compiles nothing. The
    /// first call through it runs `materializer` (exactly once, on the calling
    /// thread; threads racing on the first call wait for it), which must return
    /// an object defining [`MaterializeRequest::symbol`] (`body_symbol(name)`)
    /// as its only global symbol. The object is linked into the private impl
    /// dylib, where names it references resolve first to impl's bodies and then
    /// to everything in main (host symbols, other functions' stubs, slots).
    ///
    /// If the materializer fails, panics, or returns an object that does not
    /// link, the call returns as described in [`take_failed_lazy_calls`] and the
    /// reason is in [`Session::take_errors`]; later calls fail the same way
    /// without running anything again.
    pub fn add_lazy_function<F>(&self, name: &str, materializer: F) -> Result<(), OrcError>
    where
        F: FnOnce(&MaterializeRequest) -> Result<ObjectBuffer, String> + Send + 'static,
    {
        let public = self.jit.mangle(name)?;
        let body_name = self.jit.mangle(&body_symbol(name))?;
        let body = LazyBody::new(
            name,
            Box::new(materializer),
            self.object_layer,
            Arc::clone(&self.shared),
        )?;
        let unit_name = c_name(&format!("lazyjit:{name}"))?;
        let ctx = Box::into_raw(Box::new(body));
        let mut symbols = [LLVMOrcCSymbolFlagsMapPair {
            Name: body_name.clone().into_raw(),
            Flags: callable(),
        }];
        // SAFETY: the unit takes the symbol's reference (given away above) and
        // `ctx`, which it passes to `materialize` or `destroy`; it copies the
        // name and the array. No initializer symbol.
        let unit = unsafe {
            LLVMOrcCreateCustomMaterializationUnit(
                unit_name.as_ptr(),
                ctx.cast(),
                symbols.as_mut_ptr(),
                symbols.len(),
                std::ptr::null_mut(),
                lazy::materialize,
                lazy::discard,
                lazy::destroy,
            )
        };
        self.define(self.impl_dylib, unit, || {
            format!("define body of lazy function `{name}`")
        })?;
        let mut aliases = [LLVMOrcCSymbolAliasMapPair {
            Name: public.into_raw(),
            Entry: LLVMOrcCSymbolAliasMapEntry {
                Name: body_name.into_raw(),
                Flags: callable(),
            },
        }];
        // SAFETY: the unit takes both names' references and copies the array;
        // the managers and the impl dylib outlive it (it lives in main, which
        // the LLJIT destroys after the managers are gone, but a never
        // materialized reexport does not touch them when destroyed).
        let reexport = unsafe {
            LLVMOrcLazyReexports(
                self.call_through.raw(),
                self.stubs.raw(),
                self.impl_dylib,
                aliases.as_mut_ptr(),
                aliases.len(),
            )
        };
        self.define(self.main, reexport, || format!("define lazy stub `{name}`"))
    }

    /// The address of `name` in main (a host symbol, a slot, a function of an
    /// added object, or a lazy function's stub). Looking up a stub does not
    /// materialize its body; linking an added object happens here.
    pub fn lookup(&self, name: &str) -> Result<u64, OrcError> {
        let c = c_name(name)?;
        let mut address = 0u64;
        // SAFETY: live LLJIT, NUL-terminated name, `address` written on success.
        unsafe {
            check(
                LLVMOrcLLJITLookup(self.jit.raw(), &mut address, c.as_ptr()),
                || format!("look up `{name}`"),
            )?;
        }
        Ok(address)
    }

    /// The address of lazy function `name`'s body, materializing it now if it
    /// was not yet (the stub is not touched). Useful to point a
    /// [`DispatchSlot`] straight at compiled code.
    pub fn lookup_body(&self, name: &str) -> Result<u64, OrcError> {
        let body = self.jit.mangle(&body_symbol(name))?;
        let order = [(
            self.impl_dylib,
            LLVMOrcJITDylibLookupFlags::LLVMOrcJITDylibLookupFlagsMatchAllSymbols,
        )];
        let found = lookup_blocking(
            self.execution_session,
            &order,
            std::slice::from_ref(&body),
            Missing::Error,
        )
        .map_err(|message| OrcError::Llvm {
            operation: format!("look up body of `{name}`"),
            message,
        })?;
        match found.first().copied().flatten() {
            Some(f) => Ok(f.address),
            None => Err(OrcError::Llvm {
                operation: format!("look up body of `{name}`"),
                message: format!("`{}` not in the lookup result", body.text()),
            }),
        }
    }

    /// Creates a dispatch slot holding `initial` and defines it in main as the
    /// data symbol `name`. The session keeps the slot's memory alive.
    pub fn define_dispatch_slot(&self, name: &str, initial: u64) -> Result<DispatchSlot, OrcError> {
        let slot = DispatchSlot::new(name, initial);
        self.define_host_data(&[(name, slot.slot_address())])?;
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::clone(slot.cell()));
        Ok(slot)
    }

    /// Takes every error reported so far: LLVM's (through the execution
    /// session's error reporter, e.g. failed links or failed lazy calls) and
    /// failed materializers'.
    /// Records an error of the client's own (a compile it gave up), reported with the
    /// session's in [`Session::take_errors`].
    pub fn record_error(&self, message: String) {
        self.shared.record_error(message)
    }

    /// Messages of the errors recorded so far (cleared).
    pub fn take_errors(&self) -> Vec<String> {
        self.shared.take_errors()
    }

    /// Materialization counters.
    pub fn stats(&self) -> SessionStats {
        self.shared.stats()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("triple", &self.triple())
            .field("stats", &self.stats())
            .finish()
    }
}
