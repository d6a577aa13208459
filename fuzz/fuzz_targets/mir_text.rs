//! Any text as MIR: the parser gives a module or a positioned error; the verifier
//! accepts or lists errors; a module it accepts prints to text that parses back and
//! prints the same (the format round-trips).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(module) = lazyjit_ir::parse_module(text) else { return };
    if lazyjit_ir::verify_module(&module).is_err() {
        return;
    }
    let printed = lazyjit_ir::print_module(&module);
    let again = match lazyjit_ir::parse_module(&printed) {
        Ok(m) => m,
        Err(e) => panic!("printed MIR does not parse back ({e}):\n{printed}"),
    };
    if let Err(errors) = lazyjit_ir::verify_module(&again) {
        panic!("printed MIR no longer verifies ({errors:?}):\n{printed}");
    }
    assert_eq!(printed, lazyjit_ir::print_module(&again), "printing is not a fixpoint");
});
