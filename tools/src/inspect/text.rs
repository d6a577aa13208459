//! The report as text: plain when piped, coloured (ANSI) on a terminal.

use super::Report;

/// ANSI styles, or none.
struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// A section heading.
    fn head(&self, s: &str) -> String {
        self.wrap("1;36", s)
    }

    /// A function's heading.
    fn title(&self, s: &str) -> String {
        self.wrap("1;33", s)
    }

    /// A profile note.
    fn note(&self, s: &str) -> String {
        self.wrap("35", s)
    }

    /// One line of a unified diff.
    fn diff_line(&self, line: &str) -> String {
        match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => self.wrap("32", line),
            Some(b'-') if !line.starts_with("---") => self.wrap("31", line),
            Some(b'@') => self.wrap("36", line),
            _ => line.to_string(),
        }
    }
}

/// The report as text; `colour`: with ANSI colours (for a terminal).
pub fn render(r: &Report, colour: bool) -> String {
    let paint = Paint { on: colour };
    let mut out = String::new();
    let profile = if r.profiled { "with the profile of a run" } else { "without a profile (--profile-run gathers one)" };
    let pipeline = if r.pipeline.is_empty() { "(none)".to_string() } else { r.pipeline.join(", ") };
    out.push_str(&paint.head(&format!("# {}: passes {pipeline} at LLVM {}, {profile}", r.file, r.opt_level)));
    out.push('\n');
    for f in &r.functions {
        out.push('\n');
        out.push_str(&paint.title(&format!("== {} (line {})", f.name, f.line)));
        out.push('\n');
        out.push_str(&paint.head("-- MIR before the pipeline"));
        out.push('\n');
        for line in f.before.lines() {
            out.push_str(line);
            if let Some(n) = f.note_for(line) {
                out.push_str(&paint.note(&format!("  ;; {n}")));
            }
            out.push('\n');
        }
        let mut unchanged = Vec::new();
        for p in &f.passes {
            if !p.changed {
                unchanged.push(p.pass.as_str());
                continue;
            }
            let counts: Vec<String> = p.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let counts = if counts.is_empty() { String::new() } else { format!(": {}", counts.join(", ")) };
            out.push_str(&paint.head(&format!("-- {}{counts} ({:.2} ms)", p.pass, p.ms)));
            out.push('\n');
            for line in p.diff.lines() {
                out.push_str(&paint.diff_line(line));
                out.push('\n');
            }
        }
        if !unchanged.is_empty() {
            out.push_str(&paint.head(&format!("-- changed nothing: {}", unchanged.join(", "))));
            out.push('\n');
        }
        let mut section = |title: &str, body: &str| {
            out.push_str(&paint.head(title));
            out.push('\n');
            out.push_str(body);
        };
        section("-- MIR after the pipeline", &f.after);
        if let Some(ir) = &f.llvm {
            section("-- LLVM IR before LLVM's optimizer", ir);
        }
        if let Some(ir) = &f.llvm_optimized {
            section("-- LLVM IR after LLVM's optimizer", ir);
        }
        if let Some(asm) = &f.asm {
            section("-- assembly", asm);
        }
        if let Some(e) = &f.error {
            out.push_str(&paint.head(&format!("-- stopped: {e}")));
            out.push('\n');
        }
    }
    out
}
