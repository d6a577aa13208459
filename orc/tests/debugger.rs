//! Registering code with GDB's JIT interface (`SessionOptions::debugger_support`): every
//! linked object is put on the list a debugger reads, `__jit_debug_descriptor`.

mod common;

use common::{add_const, as_fn};
use lazyjit_orc::{Session, SessionOptions};

/// The head of GDB's JIT interface, as the interface defines it.
#[repr(C)]
struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *const JitCodeEntry,
    first_entry: *const JitCodeEntry,
}

#[repr(C)]
struct JitCodeEntry {
    next_entry: *const JitCodeEntry,
    prev_entry: *const JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

extern "C" {
    fn dlsym(handle: *mut std::ffi::c_void, symbol: *const std::ffi::c_char) -> *mut std::ffi::c_void;
}

/// The entries on the list.
fn registered() -> usize {
    // SAFETY: RTLD_DEFAULT (null) looks the symbol up in every loaded library; LLVM
    // defines it with the layout above. Nothing else changes the list meanwhile (this
    // is the only test of the binary).
    unsafe {
        let descriptor = dlsym(std::ptr::null_mut(), c"__jit_debug_descriptor".as_ptr()) as *const JitDescriptor;
        assert!(!descriptor.is_null(), "LLVM's __jit_debug_descriptor is not in the process");
        assert_eq!((*descriptor).version, 1);
        let mut n = 0;
        let mut entry = (*descriptor).first_entry;
        while !entry.is_null() {
            assert!((*entry).symfile_size > 0);
            n += 1;
            entry = (*entry).next_entry;
        }
        n
    }
}

#[test]
fn linked_objects_are_registered_only_when_asked() {
    let before = registered();
    let plain = Session::new().expect("session");
    plain.add_object(&add_const("plain", 1)).expect("add");
    let f = unsafe { as_fn(plain.lookup("plain").expect("lookup")) };
    assert_eq!(unsafe { f(1) }, 2);
    assert_eq!(registered(), before, "a session without debugger support registers nothing");

    let debugged = Session::with_options(SessionOptions { debugger_support: true, ..SessionOptions::default() }).expect("session");
    debugged.add_object(&add_const("debugged", 2)).expect("add");
    let f = unsafe { as_fn(debugged.lookup("debugged").expect("lookup")) };
    assert_eq!(unsafe { f(1) }, 3);
    assert!(registered() > before, "the linked object is on GDB's list");
    assert!(debugged.take_errors().is_empty());
}
