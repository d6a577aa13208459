//! Any bytes as a Lua chunk: parsing and lowering to MIR end in a module or a
//! diagnostic, never a panic, and a module the lowerer makes passes the verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &[u8]| {
    match lazyjit_lua::compile(source, "fuzz.lua") {
        Ok(module) => {
            if let Err(errors) = lazyjit_ir::verify_module(&module) {
                panic!("the lowerer made invalid MIR: {errors:?}");
            }
        }
        Err(diag) => {
            // Rendering the diagnostic (with its source line) must not panic either.
            let _ = diag.to_string();
        }
    }
});
