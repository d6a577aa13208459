//! The report as one self-contained HTML page: no network (a content security policy
//! forbids every load), styles and the one small script inline.
//!
//! The page has a function list (with a filter), and for each function its pass list,
//! each changing pass's before/after side by side with the changed lines and the
//! changed words within them highlighted, and the MIR, LLVM IR and assembly in
//! collapsible sections. The MIR before the pipeline carries what the profile saw at
//! each site.

use std::fmt::Write;

use similar::{DiffOp, DiffTag, TextDiff};

use super::{FunctionReport, PassStep, Report};

/// Lines of unchanged context kept around each change in a side-by-side diff.
const CONTEXT: usize = 3;

const STYLE: &str = r#"
:root { --add: #d7f5dd; --add-word: #8fe0a2; --del: #fbdcdc; --del-word: #f29b9b; --note: #7a3e9d; --rule: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1f2328; display: flex; }
nav { position: sticky; top: 0; height: 100vh; overflow-y: auto; width: 17rem; flex: none; padding: 1rem; border-right: 1px solid var(--rule); background: #f6f8fa; }
nav h2 { font-size: 1rem; margin: 0 0 .5rem; }
nav input { width: 100%; margin-bottom: .5rem; padding: .25rem; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li { margin: .15rem 0; }
nav .meta, .meta { color: #656d76; font-size: .85em; }
main { flex: 1; min-width: 0; padding: 1rem 1.5rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
section.function { border-top: 2px solid var(--rule); margin-top: 1.5rem; padding-top: .5rem; }
section.function h2 { font-size: 1.15rem; margin: .25rem 0; }
ol.passes { margin: .25rem 0 .75rem; padding-left: 1.5rem; }
ol.passes li.unchanged { color: #8c959f; }
details { margin: .4rem 0; border: 1px solid var(--rule); border-radius: 6px; }
details > summary { cursor: pointer; padding: .3rem .6rem; background: #f6f8fa; border-radius: 6px; }
details[open] > summary { border-bottom: 1px solid var(--rule); border-radius: 6px 6px 0 0; }
pre, table.sbs { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { margin: 0; padding: .5rem .75rem; overflow-x: auto; }
.note { color: var(--note); }
table.sbs { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.sbs td { padding: 0 .4rem; white-space: pre-wrap; word-break: break-all; vertical-align: top; }
table.sbs td.n { width: 3.2rem; text-align: right; color: #8c959f; user-select: none; }
table.sbs th { text-align: left; padding: .2rem .4rem; background: #f6f8fa; font-weight: 600; }
table.sbs td.del { background: var(--del); }
table.sbs td.add { background: var(--add); }
table.sbs td.del mark { background: var(--del-word); }
table.sbs td.add mark { background: var(--add-word); }
table.sbs tr.gap td { background: #eef1f4; color: #656d76; text-align: center; font-family: system-ui, sans-serif; }
.error { color: #b3261e; font-weight: 600; }
"#;

/// Filters the function list (and the sections shown) by name as one types.
const SCRIPT: &str = r#"
"use strict";
(function () {
  const input = document.getElementById("filter");
  input.addEventListener("input", function () {
    const needle = input.value.toLowerCase();
    for (const item of document.querySelectorAll("nav li[data-name]")) {
      const shown = item.dataset.name.toLowerCase().includes(needle);
      item.hidden = !shown;
      document.getElementById(item.dataset.target).hidden = !shown;
    }
  });
})();
"#;

/// Text escaped for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report as an HTML page.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let title = format!("orc-inspect: {}", r.file);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    out.push_str("<nav>\n<h2>Functions</h2>\n<input id=\"filter\" type=\"search\" placeholder=\"filter by name\" aria-label=\"filter functions by name\">\n<ul>\n");
    for (i, f) in r.functions.iter().enumerate() {
        let changed = f.passes.iter().filter(|p| p.changed).count();
        let _ = writeln!(
            out,
            "<li data-name=\"{name}\" data-target=\"f{i}\"><a href=\"#f{i}\">{name}</a> <span class=\"meta\">line {}, {changed} of {} passes changed it</span></li>",
            f.line,
            f.passes.len(),
            name = esc(&f.name)
        );
    }
    out.push_str("</ul>\n</nav>\n<main>\n");
    let pipeline = if r.pipeline.is_empty() { "(none)".to_string() } else { r.pipeline.join(", ") };
    let profile = if r.profiled { "with the type profile of a run (shown after each site of the MIR before the pipeline)" } else { "without a profile (<code>--profile-run</code> gathers one)" };
    let _ = write!(out, "<header>\n<h1>{}</h1>\n<p class=\"meta\">passes {} at LLVM {}, {profile}</p>\n</header>\n", esc(&title), esc(&pipeline), esc(&r.opt_level));
    for (i, f) in r.functions.iter().enumerate() {
        function(&mut out, i, f);
    }
    let _ = write!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// One function's section.
fn function(out: &mut String, i: usize, f: &FunctionReport) {
    let _ = write!(out, "<section class=\"function\" id=\"f{i}\">\n<h2>{} <span class=\"meta\">line {}</span></h2>\n<ol class=\"passes\">\n", esc(&f.name), f.line);
    for (k, p) in f.passes.iter().enumerate() {
        if p.changed {
            let _ = writeln!(out, "<li><a href=\"#f{i}-p{k}\">{}</a> <span class=\"meta\">{} ({:.2} ms)</span></li>", esc(&p.pass), esc(&counts(p)), p.ms);
        } else {
            let _ = writeln!(out, "<li class=\"unchanged\">{} <span class=\"meta\">changed nothing ({:.2} ms)</span></li>", esc(&p.pass), p.ms);
        }
    }
    out.push_str("</ol>\n");
    let mut notes = 0;
    let mut before = String::new();
    for line in f.before.lines() {
        before.push_str(&esc(line));
        if let Some(n) = f.note_for(line) {
            notes += 1;
            let _ = write!(before, "<span class=\"note\">  ;; {}</span>", esc(&n));
        }
        before.push('\n');
    }
    let summary = format!("MIR before the pipeline ({} lines, {notes} with a profile note)", f.before.lines().count());
    collapsible(out, &summary, &before);
    let mut text = f.before.as_str();
    for (k, p) in f.passes.iter().enumerate().filter(|(_, p)| p.changed) {
        let _ = write!(
            out,
            "<details class=\"pass\" id=\"f{i}-p{k}\" open>\n<summary>{}. {} <span class=\"meta\">{} ({:.2} ms)</span></summary>\n",
            k + 1,
            esc(&p.pass),
            esc(&counts(p)),
            p.ms
        );
        side_by_side(out, text, &p.text, &p.pass);
        out.push_str("</details>\n");
        text = &p.text;
    }
    collapsible(out, "MIR after the pipeline", &esc(&f.after));
    if let Some(ir) = &f.llvm {
        collapsible(out, "LLVM IR before LLVM's optimizer", &esc(ir));
    }
    if let Some(ir) = &f.llvm_optimized {
        collapsible(out, "LLVM IR after LLVM's optimizer", &esc(ir));
    }
    if let Some(asm) = &f.asm {
        collapsible(out, "assembly", &esc(asm));
    }
    if let Some(e) = &f.error {
        let _ = writeln!(out, "<p class=\"error\">stopped: {}</p>", esc(e));
    }
    out.push_str("</section>\n");
}

/// What a pass counted, as `name n, name n`.
fn counts(p: &PassStep) -> String {
    p.counts.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
}

/// A `<details>` section holding `html` (already escaped) as preformatted text.
fn collapsible(out: &mut String, summary: &str, html: &str) {
    let _ = write!(out, "<details>\n<summary>{}</summary>\n<pre>{html}</pre>\n</details>\n", esc(summary));
}

/// The changed hunks of `old` → `new` as a two-column table: removed lines on the left,
/// added on the right, replaced lines paired with their changed words marked.
fn side_by_side(out: &mut String, old: &str, new: &str, pass: &str) {
    let diff = TextDiff::from_lines(old, new);
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let _ = write!(out, "<table class=\"sbs\">\n<colgroup><col style=\"width:3.2rem\"><col><col style=\"width:3.2rem\"><col></colgroup>\n<thead><tr><th colspan=\"2\">before</th><th colspan=\"2\">after {}</th></tr></thead>\n<tbody>\n", esc(pass));
    let groups = diff.grouped_ops(CONTEXT);
    let mut shown_to = 0; // Old lines up to here are shown or announced.
    for group in &groups {
        let first = group.first().map_or(0, |op| op.old_range().start);
        if first > shown_to {
            let _ = writeln!(out, "<tr class=\"gap\"><td colspan=\"4\">{} unchanged lines</td></tr>", first - shown_to);
        }
        for op in group {
            let (o, n) = (op.old_range(), op.new_range());
            match op.tag() {
                DiffTag::Equal => {
                    for (a, b) in o.zip(n) {
                        row(out, Some((a, esc(old_lines[a]), "")), Some((b, esc(new_lines[b]), "")));
                    }
                }
                DiffTag::Delete => {
                    for a in o {
                        row(out, Some((a, esc(old_lines[a]), "del")), None);
                    }
                }
                DiffTag::Insert => {
                    for b in n {
                        row(out, None, Some((b, esc(new_lines[b]), "add")));
                    }
                }
                DiffTag::Replace => {
                    for (a, b) in align(&old_lines[o.clone()], &new_lines[n.clone()]) {
                        match (a.map(|a| a + o.start), b.map(|b| b + n.start)) {
                            (Some(a), Some(b)) => {
                                let (l, r) = word_marks(old_lines[a], new_lines[b]);
                                row(out, Some((a, l, "del")), Some((b, r, "add")));
                            }
                            (Some(a), None) => row(out, Some((a, esc(old_lines[a]), "del")), None),
                            (None, Some(b)) => row(out, None, Some((b, esc(new_lines[b]), "add"))),
                            (None, None) => {}
                        }
                    }
                }
            }
        }
        shown_to = group.last().map_or(shown_to, |op: &DiffOp| op.old_range().end);
    }
    if old_lines.len() > shown_to {
        let _ = writeln!(out, "<tr class=\"gap\"><td colspan=\"4\">{} unchanged lines</td></tr>", old_lines.len() - shown_to);
    }
    out.push_str("</tbody>\n</table>\n");
}

/// How much two lines must have in common (by words) to be shown as one line changed.
const SIMILAR: f32 = 0.6;

/// Rows for a block of `old` lines replaced by `new` ones: a line is paired with the
/// next new line similar to it and of the same profile site (the new lines skipped
/// before it shown as added), else shown as removed. Large blocks are paired in order without comparing.
fn align(old: &[&str], new: &[&str]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut rows = Vec::with_capacity(old.len().max(new.len()));
    if old.len() * new.len() > 20_000 {
        for k in 0..old.len().max(new.len()) {
            rows.push(((k < old.len()).then_some(k), (k < new.len()).then_some(k)));
        }
        return rows;
    }
    let mut next = 0;
    for (a, line) in old.iter().enumerate() {
        let similar = (next..new.len()).find(|&b| super::site_of(line) == super::site_of(new[b]) && TextDiff::from_words(code(line), code(new[b])).ratio() >= SIMILAR);
        match similar {
            Some(b) => {
                rows.extend((next..b).map(|skipped| (None, Some(skipped))));
                rows.push((Some(a), Some(b)));
                next = b + 1;
            }
            None => rows.push((Some(a), None)),
        }
    }
    rows.extend((next..new.len()).map(|b| (None, Some(b))));
    rows
}

/// A line of MIR without its comment (lines are paired by what they do, not by their
/// source line).
fn code(line: &str) -> &str {
    line.split("  ;").next().unwrap_or(line)
}

/// One table row: each side is (line index, escaped html, class) or empty.
fn row(out: &mut String, left: Option<(usize, String, &str)>, right: Option<(usize, String, &str)>) {
    out.push_str("<tr>");
    for side in [left, right] {
        match side {
            Some((i, html, "")) => {
                let _ = write!(out, "<td class=\"n\">{}</td><td>{html}</td>", i + 1);
            }
            Some((i, html, class)) => {
                let _ = write!(out, "<td class=\"n\">{}</td><td class=\"{class}\">{html}</td>", i + 1);
            }
            None => out.push_str("<td class=\"n\"></td><td></td>"),
        }
    }
    out.push_str("</tr>\n");
}

/// Two versions of a line, escaped, with the words that differ wrapped in `<mark>`.
fn word_marks(old: &str, new: &str) -> (String, String) {
    let diff = TextDiff::from_words(old, new);
    let (mut l, mut r) = (String::new(), String::new());
    for change in diff.iter_all_changes() {
        let text = esc(change.value());
        match change.tag() {
            similar::ChangeTag::Equal => {
                l.push_str(&text);
                r.push_str(&text);
            }
            similar::ChangeTag::Delete => {
                let _ = write!(l, "<mark>{text}</mark>");
            }
            similar::ChangeTag::Insert => {
                let _ = write!(r, "<mark>{text}</mark>");
            }
        }
    }
    (l, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b> & \"c\" 'd'"), "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
    }

    #[test]
    fn replaced_lines_pair_up_with_their_changed_words_marked() {
        let mut out = String::new();
        side_by_side(&mut out, "a\nv1 = add v0, v0\nb\n", "a\nv1 = iadd v0, v0\nb\nc\n", "p");
        assert!(out.contains("<td class=\"del\">v1 = <mark>add</mark> v0, v0</td>"), "{out}");
        assert!(out.contains("<td class=\"add\">v1 = <mark>iadd</mark> v0, v0</td>"), "{out}");
        assert!(out.contains("<td class=\"n\"></td><td></td><td class=\"n\">4</td><td class=\"add\">c</td>"), "{out}");
    }

    #[test]
    fn replaced_blocks_pair_only_similar_lines() {
        let old = ["v1 = rtcall @lua.add(v0, v0), site1", "jump block2(v1)"];
        let new = ["guard.tag v0, int, snap0", "v2 = unbox.int v0", "v1 = rtcall @lua.add(v2, v0), site1", "jump block2(v1)", "v9 = iconst 1"];
        let rows = align(&old, &new);
        assert_eq!(rows, vec![(None, Some(0)), (None, Some(1)), (Some(0), Some(2)), (Some(1), Some(3)), (None, Some(4))]);
        assert_eq!(align(&["a b c"], &["x y z"]), vec![(Some(0), None), (None, Some(0))]);
        let old = ["v28 = rtcall @lua.index(v27, v26) -> val, site2", "v29 = rtcall @lua.index(v28, v6) -> val, site3"];
        let new = ["guard.tag v27, table, snap0", "v37 = rtcall @lua.index(v33, v6) -> val, site3"];
        assert_eq!(align(&old, &new), vec![(Some(0), None), (None, Some(0)), (Some(1), Some(1))]);
    }

    #[test]
    fn long_unchanged_runs_are_folded() {
        let old: String = (0..20).map(|i| format!("line{i}\n")).collect();
        let new = old.replace("line10\n", "line10 changed\n");
        let mut out = String::new();
        side_by_side(&mut out, &old, &new, "p");
        assert!(out.contains("7 unchanged lines"), "{out}");
        assert!(out.contains("6 unchanged lines"), "{out}");
        // Three lines of context each side; the changed line, too unlike its new form
        // to be paired, as a row removed and a row added.
        assert_eq!(out.matches("<tr><td class=\"n\">").count(), 8, "{out}");
        assert!(out.contains("<td class=\"n\">10</td><td>line9</td>"), "{out}");
    }
}
