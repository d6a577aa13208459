//! `orc-inspect --format html` in a real browser: the report of `nbody.lua` opens in
//! headless Chromium with nothing on the console (no script error, no load the page's
//! content security policy refused), and a pass's side-by-side diff is visible: its
//! highlight colours cover part of a screenshot.
//!
//! Without Chromium the tests say so and pass, unless `LAZYJIT_REQUIRE_BROWSER` is set
//! (`./x test` installs Chromium and sets it, so CI always runs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lazyjit_tests::{orcrun, run_in, shared, workspace};

/// The added and removed lines' backgrounds (`--add`, `--del` in the page's style).
const ADDED: [u8; 3] = [0xd7, 0xf5, 0xdd];
const REMOVED: [u8; 3] = [0xfb, 0xdc, 0xdc];

fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// The browser, or None (and a note) when it is missing and not required.
fn need_browser() -> Option<PathBuf> {
    match browser() {
        Some(b) => Some(b),
        None if std::env::var_os("LAZYJIT_REQUIRE_BROWSER").is_some() => panic!("LAZYJIT_REQUIRE_BROWSER is set but no chromium is on PATH"),
        None => {
            eprintln!("skipped: no chromium on PATH (apt-get install chromium; ./x test installs it)");
            None
        }
    }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lazyjit-html-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `orc-inspect ARGS --format html` to `out`.
fn report(args: &[&str], out: &Path) {
    let tool = orcrun().with_file_name("orc-inspect");
    let mut all = vec!["--format", "html", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = run_in(&workspace(), &tool, &all, b"");
    assert!(run.status.success(), "orc-inspect {all:?}: {}", String::from_utf8_lossy(&run.stderr));
}

/// Runs headless Chromium on `page` with `args` (its own profile directory in `dir`),
/// the page's scripts given time to run.
fn chromium(browser: &Path, dir: &Path, page: &Path, args: &[&str]) -> Output {
    let profile = format!("--user-data-dir={}", dir.join("profile").display());
    let url = format!("file://{}", page.display());
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"])
        .arg(profile)
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// What the page wrote to the console (errors, refused loads, logs).
fn console(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect()
}

#[test]
fn the_nbody_report_opens_with_nothing_on_the_console() {
    let Some(browser) = need_browser() else { return };
    let dir = scratch("console");
    let page = dir.join("nbody.html");
    let nbody = shared().join("bench/public/nbody.lua");
    report(&[nbody.to_str().unwrap(), "--profile-run", "100"], &page);
    let out = chromium(&browser, &dir, &page, &["--dump-dom"]);
    assert_eq!(console(&out), Vec::<String>::new(), "the page wrote to the console");
    let dom = String::from_utf8_lossy(&out.stdout);
    for name in ["main", "energy", "step"] {
        assert!(dom.contains(&format!("data-name=\"{name}\"")), "no {name} in the function list");
    }
    assert!(dom.contains("<details class=\"pass\""), "no pass diff in the page");
    assert!(dom.contains("<summary>LLVM IR after LLVM's optimizer</summary>"), "no LLVM IR in the page");
    assert!(dom.contains("<summary>assembly</summary>"), "no assembly in the page");
    assert!(dom.contains("class=\"note\""), "no profile note in the page");

    // The check sees what it looks for: a page with a script error and a load its
    // policy refuses writes both to the console.
    let html = std::fs::read_to_string(&page).unwrap();
    let broken = html.replacen("</main>", "</main><img src=\"https://example.invalid/x.png\"><script>no_such_function();</script>", 1);
    let bad = dir.join("broken.html");
    std::fs::write(&bad, broken).unwrap();
    let messages = console(&chromium(&browser, &dir, &bad, &["--dump-dom"]));
    assert!(messages.iter().any(|m| m.contains("no_such_function")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("Content Security Policy")), "{messages:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// How many pixels of the PNG at `path` have each of `colours`.
fn count_colours(path: &Path, colours: &[[u8; 3]]) -> (Vec<usize>, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let mut counts = vec![0; colours.len()];
    for px in buf[..info.buffer_size()].chunks_exact(step) {
        if let Some(i) = colours.iter().position(|c| c[..] == px[..3]) {
            counts[i] += 1;
        }
    }
    (counts, (info.width * info.height) as usize)
}

#[test]
fn a_pass_diff_is_visible_side_by_side() {
    let Some(browser) = need_browser() else { return };
    let dir = scratch("visible");
    let nbody = shared().join("bench/public/nbody.lua");
    let nbody = nbody.to_str().unwrap();
    let shot = |name: &str, args: &[&str]| {
        let page = dir.join(format!("{name}.html"));
        report(args, &page);
        let png = dir.join(format!("{name}.png"));
        let out = chromium(&browser, &dir, &page, &["--window-size=1400,1100", &format!("--screenshot={}", png.display())]);
        assert_eq!(console(&out), Vec::<String>::new(), "the page wrote to the console");
        count_colours(&png, &[ADDED, REMOVED])
    };
    // `step`'s first pass (type_spec, from a real profile) fills the first screen.
    let (counts, total) = shot("step", &["--fn", "step", "--no-llvm", nbody, "--profile-run", "100"]);
    let [added, removed] = counts[..] else { unreachable!() };
    eprintln!("step's diffs: added lines {added} px, removed lines {removed} px of {total}");
    assert!(added * 50 > total, "added lines cover {added} of {total} pixels");
    assert!(removed * 50 > total, "removed lines cover {removed} of {total} pixels");
    // Control: with no passes there is no diff, and the colours are absent.
    let (counts, _) = shot("baseline", &["--fn", "step", "--no-llvm", "--tier", "baseline", nbody]);
    assert_eq!(counts, vec![0, 0], "no diff, yet its colours are on screen");
    let _ = std::fs::remove_dir_all(&dir);
}
