//! `waypoint normalize`: the normalised text of each input line, one per line.
//!
//! Used by the training pipeline so that models are trained on exactly what the SDK's
//! normaliser produces. Output has one line per input line, always: an invalid UTF-8 line is
//! reported on stderr and printed as an empty line, so line numbers stay aligned.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use waypoint::text::{NormalizeOptions, normalize};

use super::CliError;
use crate::input::{Input, Line};

/// Arguments of `waypoint normalize`.
#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// Print the folded form (digits and spacing kept) instead of the fully normalised text.
    #[arg(long)]
    folded: bool,
    /// Input file, one message per line; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

/// Runs `waypoint normalize`.
pub fn run(args: &NormalizeArgs) -> Result<(), CliError> {
    let mut input = Input::open(args.file.as_deref())?;
    let options = NormalizeOptions::default();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    while let Some((number, line, _)) = input.next_line()? {
        let text = match line {
            Line::Text(text) => {
                let n = normalize(&text, &options);
                if args.folded { n.folded } else { n.text }
            }
            Line::InvalidUtf8 => {
                eprintln!(
                    "waypoint: {}:{number}: not valid UTF-8; printed as an empty line",
                    input.name
                );
                String::new()
            }
        };
        match writeln!(out, "{text}") {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(CliError::Output(e)),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}
