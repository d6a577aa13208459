//! Robustness of the parser: whatever the input, `parse` returns (never panics or
//! overflows the stack) and every diagnostic has a real position.
//!
//! Inputs: random byte strings, every prefix of every public conformance program,
//! and random soups of Lua tokens (including very deep nesting). All deterministic:
//! the generator is a fixed-seed xorshift.

use lazyjit_lua::parser::parse;
use std::path::{Path, PathBuf};

/// Marsaglia's xorshift64: small, fast and good enough to shuffle test inputs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Parses `source` and checks the result is well formed; returns whether it parsed.
fn check(source: &[u8], what: &str) -> bool {
    match parse(source, "fuzz.lua") {
        Ok(_) => true,
        Err(d) => {
            assert!(d.line >= 1 && d.col >= 1, "{what}: bad position {}:{} in {d}", d.line, d.col);
            assert!(!d.message.is_empty(), "{what}: empty message");
            false
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    // Half the inputs draw from bytes that matter to the lexer, so they get past the
    // first token more often than uniform noise would.
    let interesting = b"  \n\r\t\"'\\[]=-.0123456789xXeEpP+*/%^#&~|<>(){};:,abcdefz_u{}";
    for case in 0..4000 {
        let len = rng.below(120);
        let bytes: Vec<u8> =
            (0..len).map(|_| if case % 2 == 0 { rng.next() as u8 } else { rng.pick(interesting) }).collect();
        check(&bytes, &format!("random case {case}"));
    }
}

/// The public conformance programs, if the shared folder is present.
fn conformance_programs() -> Vec<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/public"));
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .collect();
    files.sort();
    files
}

#[test]
fn conformance_programs_parse() {
    for path in conformance_programs() {
        let source = std::fs::read(&path).expect("readable program");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let parsed = parse(&source, &name);
        if name.starts_with("err_compile_") {
            assert!(parsed.is_err(), "{name} must not compile");
        } else if let Err(d) = parsed {
            panic!("{name} must parse:\n{d}");
        }
    }
}

#[test]
fn every_prefix_of_the_conformance_programs() {
    let programs: Vec<(String, Vec<u8>)> = conformance_programs()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("readable program")))
        .collect();
    // Quadratic in program size, so spread over the available cores.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let programs = &programs;
            scope.spawn(move || {
                for (name, source) in programs.iter().skip(worker).step_by(workers) {
                    for end in 0..source.len() {
                        check(&source[..end], &format!("{name} cut at byte {end}"));
                    }
                }
            });
        }
    });
}

/// Pieces of Lua for the token soups.
const TOKENS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil",
    "not", "or", "repeat", "return", "then", "true", "until", "while", "+", "-", "*", "/", "//", "%", "^", "#", "&",
    "~", "|", "<<", ">>", "==", "~=", "<=", ">=", "<", ">", "=", "(", ")", "{", "}", "[", "]", "::", ";", ":", ",",
    ".", "..", "...", "x", "y", "self", "f", "t", "1", "2.5", "0x10", "'s'", "\"s\\n\"", "[[long]]", "<const>",
    "<close>", "\n", "--c\n", "--[[c]]",
];

/// Fragments that make the soup parse more often, so the parser gets deeper.
const FRAGMENTS: &[&str] = &[
    "local x = ",
    "function f(a, ...) ",
    "return ",
    "end ",
    "if x then ",
    "while x do ",
    "for i = 1, 2 do ",
    "for k, v in pairs(t) do ",
    "repeat ",
    "until x ",
    "x = ",
    "f(",
    ")",
    "t.x.y ",
    "t[1] ",
    "{1, x = 2, [3] = 4}",
    "a:b(1) ",
    "local function g() ",
    "do ",
];

#[test]
fn token_soups() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut parsed = 0;
    for case in 0..3000 {
        let mut src = String::new();
        for _ in 0..rng.below(60) {
            let piece = if rng.below(3) == 0 { rng.pick(FRAGMENTS) } else { rng.pick(TOKENS) };
            src.push_str(piece);
            src.push(' ');
        }
        parsed += usize::from(check(src.as_bytes(), &format!("soup {case}: {src}")));
    }
    // Sanity check on the generator: some soups must be valid Lua.
    assert!(parsed > 0, "no token soup parsed");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let openers = ["(", "{", "f(", "t[", "- ", "not ", "function() return ", "do ", "if x then ", "1 .. "];
    for case in 0..200 {
        let depth = 150 + rng.below(5000);
        let mut src = String::from("x = ");
        for _ in 0..depth {
            src.push_str(rng.pick(&openers));
        }
        src.push('1');
        check(src.as_bytes(), &format!("deep case {case}"));
    }
    let long_chain = format!("x = 1{}", " + 1".repeat(100_000));
    assert!(!check(long_chain.as_bytes(), "long chain"));
    let many_statements = "x = 1\n".repeat(50_000);
    assert!(check(many_statements.as_bytes(), "many statements"));
}
