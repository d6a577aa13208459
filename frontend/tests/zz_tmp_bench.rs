use lazyjit_lua::parser::parse;
#[test]
fn bench() {
    let src = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/public/prog_bigint.lua")).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..4 { for i in 0..src.len() { let _ = parse(&src[..i], "x"); } }
    eprintln!("prefixes: {:?}", t.elapsed());
}
