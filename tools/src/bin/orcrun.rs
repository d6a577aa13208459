//! `orcrun`: runs a Lua program.
//!
//! ```text
//! orcrun [OPTIONS] FILE.lua [ARGS...]   run a file (ARGS become `...` and `arg`)
//! orcrun [OPTIONS] -e CODE [ARGS...]    run a string
//! orcrun [OPTIONS] - [ARGS...]          run standard input
//! OPTIONS: --tier interp    run in the interpreter (the only tier so far)
//!          --emit mir       print the generic MIR instead of running
//! ```

use std::io::Read;
use std::process::ExitCode;

use lazyjit_lua::driver::{self, RunError};

const USAGE: &str = "usage: orcrun [--tier interp] [--emit mir] (FILE.lua | -e CODE | -) [ARGS...]";

struct Options {
    emit_mir: bool,
    source: Source,
    args: Vec<String>,
}

enum Source {
    File(String),
    Code(String),
    Stdin,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut emit_mir = false;
    let source = loop {
        let Some(arg) = argv.next() else { return Err(USAGE.to_string()) };
        match arg.as_str() {
            "--tier" => match argv.next().as_deref() {
                Some("interp") => {}
                Some(other) => return Err(format!("unknown tier '{other}' (available: interp)")),
                None => return Err("--tier needs a value".to_string()),
            },
            "--emit" => match argv.next().as_deref() {
                Some("mir") => emit_mir = true,
                Some(other) => return Err(format!("cannot emit '{other}' (available: mir)")),
                None => return Err("--emit needs a value".to_string()),
            },
            "-e" => break Source::Code(argv.next().ok_or("-e needs a chunk of code")?),
            "-" => break Source::Stdin,
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unrecognized option '{s}'\n{USAGE}")),
            _ => break Source::File(arg),
        }
    };
    Ok(Options { emit_mir, source, args: argv.collect() })
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("orcrun: {msg}");
            return ExitCode::from(1);
        }
    };
    let (source, chunkname, script) = match &opts.source {
        Source::File(path) => match std::fs::read(path) {
            Ok(bytes) => (bytes, path.clone(), path.clone()),
            Err(e) => {
                eprintln!("orcrun: cannot open {path}: {e}");
                return ExitCode::from(1);
            }
        },
        Source::Code(code) => (code.clone().into_bytes(), "(command line)".to_string(), "-e".to_string()),
        Source::Stdin => {
            let mut buf = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
                eprintln!("orcrun: cannot read stdin: {e}");
                return ExitCode::from(1);
            }
            (buf, "stdin".to_string(), "-".to_string())
        }
    };
    if opts.emit_mir {
        return match lazyjit_lua::compile(&source, &chunkname) {
            Ok(module) => {
                print!("{}", lazyjit_ir::print_module(&module));
                ExitCode::SUCCESS
            }
            Err(diag) => {
                eprintln!("orcrun: {diag}");
                ExitCode::from(1)
            }
        };
    }
    std::panic::set_hook(Box::new(|info| eprintln!("orcrun: internal error: {info}")));
    let args = opts.args;
    let outcome = driver::on_vm_thread(move || driver::run_source(&source, &chunkname, &script, &args));
    match outcome {
        Ok(Ok(code)) => ExitCode::from(code.clamp(0, 255) as u8),
        Ok(Err(RunError::Uncaught { message, traceback })) => {
            eprintln!("orcrun: {message}");
            if let Some(tb) = traceback {
                eprintln!("{tb}");
            }
            ExitCode::from(1)
        }
        Ok(Err(e)) => {
            eprintln!("orcrun: {e}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}
