//! The bounded differential run: 300 generated programs (seeds 0..300, see
//! `lazyjit_tests::gen`) must print the same and end the same way in the interpreter,
//! under each policy file and in `lua5.4` (when installed; else the interpreter is the
//! reference). A failure names the seed and shows the program minimized. The long run
//! is `cargo run --release -p lazyjit-tests --bin difftest -- --seeds 0..20000`.

use lazyjit_tests::differential::{check_seeds, runners};
use lazyjit_tests::{orcrun, which, workspace};

const SEEDS: std::ops::Range<u64> = 0..300;

#[test]
fn generated_programs_agree_across_tiers_and_with_lua() {
    let lua = which("lua5.4");
    if lua.is_none() {
        eprintln!("lua5.4 is not installed: the interpreter is the reference");
    }
    let runners = runners(&orcrun(), &workspace().join("policies"), lua);
    let dir = std::env::temp_dir().join(format!("lazyjit-differential-{}", std::process::id()));
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let found = check_seeds(SEEDS, jobs, &dir, &runners, &|_, _| {});
    let _ = std::fs::remove_dir_all(&dir);
    let report: Vec<String> = found.iter().map(|m| m.to_string()).collect();
    assert!(found.is_empty(), "{} of {} programs differ:\n{}", found.len(), SEEDS.end - SEEDS.start, report.join("\n"));
}

#[test]
fn a_difference_is_minimized_to_what_causes_it() {
    use lazyjit_tests::differential::{difference, minimize, run, Runner};
    use lazyjit_tests::gen::{Program, Stmt};
    // Two runs that differ wherever a 2 is printed: the interpreter, and the
    // interpreter with its output's 2s turned into 3s.
    let dir = std::env::temp_dir().join(format!("lazyjit-minimize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let orcrun = orcrun().to_string_lossy().into_owned();
    let interp = Runner { name: "interp".into(), program: orcrun.clone().into(), args: vec!["--tier".into(), "interp".into()] };
    let skewed = Runner { name: "skewed".into(), program: "/bin/sh".into(), args: vec!["-c".into(), format!("'{orcrun}' --tier interp \"$0\" | tr 2 3")] };
    let line = |s: &str| Stmt::Line(s.into());
    let p = Program {
        seed: 0,
        body: vec![
            line("print(1)"),
            Stmt::Block { head: "for i = 1, 2 do".into(), body: vec![line("print(\"a\")"), line("print(i)")], tail: Vec::new() },
            line("print(7)"),
        ],
    };
    let file = dir.join("prog.lua");
    std::fs::write(&file, p.source()).unwrap();
    let found = difference(&run(&interp, &file), &run(&skewed, &file));
    assert!(found.as_deref().is_some_and(|d| d.contains("expected \"2\", got \"3\"")), "{found:?}");
    let small = minimize(&p, &dir, &interp, &skewed);
    let _ = std::fs::remove_dir_all(&dir);
    let source = small.source();
    let body: Vec<&str> = source.lines().skip_while(|l| !l.starts_with("local other")).skip(1).map(str::trim).collect();
    assert_eq!(body, ["for i = 1, 2 do", "print(i)", "end"], "{source}");
}
