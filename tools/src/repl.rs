//! `orcrun`'s interactive mode, which behaves like `lua5.4`'s: each input is a chunk
//! run in one VM (globals persist, locals end with their input); an input that is an
//! expression (`return` put before it compiles) has its values printed; an input cut
//! short (an error at `<eof>`) continues on the next line (prompt `>>`); errors are
//! reported and the session goes on. On a terminal lines are edited and kept in a
//! history (rustyline); from a pipe each line is echoed after its prompt, so a piped
//! session reads as a transcript (as `lua5.4`'s does with readline).
//!
//! Each input is a module of its own, attached to the same engine ([`Host`]): code is
//! named by content, so a function entered again unchanged shares the code of its first
//! definition (compiled once), and a changed one is compiled alone. With `--stats`,
//! every input's main counts (compiles, shared functions, cache hits, times) are
//! printed on standard error after it runs, and the session's table at the end; with
//! `--stats-json -`, each input's and then the session's statistics as JSON objects.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use lazyjit_ir::interp::Vm;
use lazyjit_lua::driver::{ChunkEnd, RunError, Session};

use crate::cli::RunStats;

/// The chunk name of interactive input (`stdin:LINE:` in messages).
const CHUNKNAME: &str = "stdin";
const PROMPT: &str = "> ";
const PROMPT2: &str = ">> ";

/// What runs the session's chunks: an execution engine, or nothing (the interpreter).
pub trait Host {
    /// Attaches the VM's module number `module`, loaded and not yet run.
    fn attach(&mut self, vm: &mut Vm, module: usize) -> Result<(), String>;
    /// Sets the counters and compile phase times of everything run so far (waiting for
    /// background compiles first, so that they count).
    fn counters(&mut self, stats: &mut RunStats);
    /// Reports what went wrong in the engine since the last call (on standard error).
    fn report(&mut self);
    /// Ends the session: what was compiled is stored, what went wrong reported.
    fn finish(&mut self) {}
}

/// The interpreter: nothing to attach, nothing compiled.
pub struct Interp;

impl Host for Interp {
    fn attach(&mut self, _: &mut Vm, _: usize) -> Result<(), String> {
        Ok(())
    }
    fn counters(&mut self, _: &mut RunStats) {}
    fn report(&mut self) {}
}

/// How the session starts and what it reports.
pub struct Options {
    /// The tier's name, or the policy's (in the banner and the statistics).
    pub tier: String,
    /// A script run before the first prompt (`orcrun -i FILE ARGS`): its source,
    /// chunk name and arguments. An error in it ends the session before it starts.
    pub script: Option<(Vec<u8>, String, Vec<String>)>,
    /// Print each input's main counts, and the session's table at the end.
    pub stats: bool,
    /// Write the session's statistics there at the end, as one JSON object (`-`:
    /// standard error, after each input's).
    pub stats_json: Option<String>,
}

/// Where lines come from.
enum Input {
    /// A terminal: line editing and history.
    Editor(rustyline::DefaultEditor),
    /// A pipe or file: lines echoed after their prompts.
    Piped(std::io::StdinLock<'static>),
}

impl Input {
    fn new() -> Input {
        if std::io::stdin().is_terminal() {
            if let Ok(editor) = rustyline::DefaultEditor::new() {
                return Input::Editor(editor);
            }
        }
        Input::Piped(std::io::stdin().lock())
    }

    /// The next line (without its line break) after `prompt`; `None` at the end of
    /// input.
    fn line(&mut self, prompt: &str) -> Option<Vec<u8>> {
        match self {
            Input::Editor(editor) => loop {
                match editor.readline(prompt) {
                    Ok(line) => return Some(line.into_bytes()),
                    // Ctrl-C drops the line being typed.
                    Err(rustyline::error::ReadlineError::Interrupted) => continue,
                    Err(_) => return None,
                }
            },
            Input::Piped(stdin) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(prompt.as_bytes());
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => {
                        let _ = out.flush();
                        None
                    }
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        let _ = out.write_all(&line);
                        let _ = out.write_all(b"\n");
                        let _ = out.flush();
                        Some(line)
                    }
                }
            }
        }
    }

    /// Keeps a complete input in the history.
    fn remember(&mut self, input: &[u8]) {
        if let Input::Editor(editor) = self {
            let _ = editor.add_history_entry(String::from_utf8_lossy(input).into_owned());
        }
    }
}

/// An input compiled, ready to run.
struct Chunk {
    module: lazyjit_ir::Module,
    parse_ns: u64,
    lower_ns: u64,
}

/// Compiles `source` as a chunk named `chunkname`, timing the parse and the lowering.
fn compile(source: &[u8], chunkname: &str) -> Result<Chunk, lazyjit_lua::diag::Diagnostic> {
    let t = Instant::now();
    let chunk = lazyjit_lua::parser::parse(source, chunkname)?;
    let parse_ns = t.elapsed().as_nanos() as u64;
    let t = Instant::now();
    let module = lazyjit_lua::lower::lower_chunk(&chunk, chunkname);
    Ok(Chunk { module, parse_ns, lower_ns: t.elapsed().as_nanos() as u64 })
}

/// Reads one input: an expression (`return` put before it; a first line starting with
/// `=` is one too) or statements, continued over lines while the compile error is at
/// `<eof>`. `None` at the end of input; `Some(Err(message))` for input that does not
/// compile.
fn read_input(input: &mut Input) -> Option<Result<Chunk, String>> {
    let first = input.line(PROMPT)?;
    let first = match first.strip_prefix(b"=") {
        Some(rest) => [b"return ".as_slice(), rest].concat(),
        None => first,
    };
    let as_expression = [b"return ".as_slice(), &first].concat();
    if let Ok(chunk) = compile(&as_expression, CHUNKNAME) {
        input.remember(&first);
        return Some(Ok(chunk));
    }
    let mut source = first;
    loop {
        match compile(&source, CHUNKNAME) {
            Ok(chunk) => {
                input.remember(&source);
                return Some(Ok(chunk));
            }
            Err(diag) if diag.message.ends_with("<eof>") => match input.line(PROMPT2) {
                Some(more) => {
                    source.push(b'\n');
                    source.extend_from_slice(&more);
                }
                None => return Some(Err(diag.lua_message())),
            },
            Err(diag) => {
                input.remember(&source);
                return Some(Err(diag.lua_message()));
            }
        }
    }
}

/// Prints a chunk's error on standard error.
fn report_error(e: &RunError) {
    match e {
        RunError::Uncaught { message, traceback } => {
            eprintln!("{message}");
            if let Some(tb) = traceback {
                eprintln!("{tb}");
            }
        }
        other => eprintln!("orcrun: {other}"),
    }
}

/// Runs the session on this thread (one from [`lazyjit_lua::driver::on_vm_thread`])
/// until the input ends or `os.exit` is called; returns the exit status.
pub fn run(host: &mut dyn Host, options: &Options) -> i32 {
    println!("orcrun {} (lazyjit): Lua 5.4 subset, tier {}", env!("CARGO_PKG_VERSION"), options.tier);
    let script_name = options.script.as_ref().map_or("orcrun", |(_, name, _)| name.as_str());
    let script_args = options.script.as_ref().map_or(&[][..], |(_, _, args)| args.as_slice());
    let mut session = Session::new(script_name, script_args);
    let mut total = RunStats { tier: options.tier.clone(), ..RunStats::default() };
    let count = options.stats || options.stats_json.is_some();
    let mut status = None;
    if let Some((source, chunkname, args)) = &options.script {
        let outcome = match compile(source, chunkname) {
            Ok(chunk) => run_chunk(&mut session, host, chunk, args, false, count, &mut total),
            Err(diag) => Err(RunError::Syntax(diag)),
        };
        status = match outcome {
            Ok(ChunkEnd::Returned) => None,
            Ok(ChunkEnd::Exit(code)) => Some(code),
            Err(e) => {
                report_error(&e);
                Some(1)
            }
        };
        report_input(options, &total);
    }
    let mut input = Input::new();
    let status = status.unwrap_or_else(|| loop {
        let Some(read) = read_input(&mut input) else {
            println!();
            break 0;
        };
        let chunk = match read {
            Ok(chunk) => chunk,
            Err(message) => {
                eprintln!("{message}");
                continue;
            }
        };
        let before = total.clone();
        let outcome = run_chunk(&mut session, host, chunk, &[], true, count, &mut total);
        report_input(options, &total.since(&before));
        match outcome {
            Ok(ChunkEnd::Returned) => {}
            Ok(ChunkEnd::Exit(code)) => break code,
            Err(e) => report_error(&e),
        }
    });
    host.finish();
    if options.stats {
        eprint!("{}", total.to_table());
    }
    if let Some(path) = &options.stats_json {
        total.write_json(path);
    }
    // The engine's code may still be running on background threads; the VM is left
    // to the end of the process.
    std::mem::forget(session);
    status
}

/// Reports what one input cost: a line with `--stats`, a JSON object on standard error
/// with `--stats-json -`.
fn report_input(options: &Options, stats: &RunStats) {
    if options.stats {
        eprintln!("{}", stats.to_line());
    }
    if options.stats_json.as_deref() == Some("-") {
        eprintln!("{}", stats.to_json());
    }
}

/// Runs one chunk, adding what it cost to `total` (with `count`, also the engine's
/// counters, after waiting for its background compiles).
fn run_chunk(
    session: &mut Session,
    host: &mut dyn Host,
    chunk: Chunk,
    args: &[String],
    print_results: bool,
    count: bool,
    total: &mut RunStats,
) -> Result<ChunkEnd, RunError> {
    total.parse_ns += chunk.parse_ns;
    total.lower_mir_ns += chunk.lower_ns;
    total.functions_defined += chunk.module.functions.len();
    let t = Instant::now();
    let outcome = session.run_chunk(chunk.module, args, print_results, &mut |vm, module| host.attach(vm, module));
    let wall = t.elapsed().as_nanos() as u64;
    host.report();
    if count {
        let compile_before = total.compile_ns();
        host.counters(total);
        total.run_ns += wall.saturating_sub(total.compile_ns() - compile_before);
    }
    let _ = std::io::stdout().flush();
    outcome
}
