//! Every function the frontend produces for the conformance corpus and the benchmark
//! programs verifies, and its text form round-trips: print -> parse -> print is the
//! identity, and the parsed module equals the original.

use lazyjit_tests::shared;

fn lua_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["conformance/public", "bench/public"] {
        for e in std::fs::read_dir(shared().join(dir)).expect("corpus directory").flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".lua") && !name.starts_with("err_compile") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn frontend_output_verifies_and_round_trips() {
    let files = lua_files();
    assert!(files.len() > 50, "expected the whole corpus, found {} files", files.len());
    let mut functions = 0;
    for path in files {
        let source = std::fs::read(&path).expect("read");
        let module = lazyjit_lua::compile(&source, "input").unwrap_or_else(|d| panic!("{}: {d}", path.display()));
        if let Err(errors) = lazyjit_ir::verify_module(&module) {
            let text = lazyjit_ir::print_module(&module);
            panic!("{}: verifier errors:\n{}\n{text}", path.display(), errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"));
        }
        let text = lazyjit_ir::print_module(&module);
        let parsed = lazyjit_ir::parse_module(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let again = lazyjit_ir::print_module(&parsed);
        assert_eq!(text, again, "{}: print -> parse -> print changed the text", path.display());
        assert_eq!(module.functions, parsed.functions, "{}: parsed functions differ", path.display());
        assert_eq!(module.strings, parsed.strings, "{}: string pool differs", path.display());
        assert_eq!(module.runtime, parsed.runtime, "{}: runtime declarations differ", path.display());
        functions += module.functions.len();
    }
    assert!(functions > 200, "only {functions} functions compiled");
}
