//! Any text as a RON tier policy: a policy, or an error whose line is in the text; a
//! policy that parses can be applied (its tiering, opt levels and cache settings read).
#![no_main]

use lazyjit_orc::policy::TierPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match TierPolicy::parse(text) {
        Ok(policy) => {
            let _ = policy.tiering();
            let _ = policy.inline_opt();
            let _ = policy.cache.as_ref().map(|c| c.config());
        }
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(e.line <= lines, "error line {} of a {lines}-line text: {e}", e.line);
            let _ = e.to_string();
        }
    }
});
