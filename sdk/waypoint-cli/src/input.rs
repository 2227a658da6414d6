//! Reading messages one per line from a file or standard input, in constant memory.
//!
//! Lines are capped at [`MAX_LINE_BYTES`] (the rest of an over-long line is skipped; the
//! normaliser truncates far earlier anyway). Lines that are not valid UTF-8 are reported with
//! their line number and skipped by the caller, never fatal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::cmd::CliError;

/// Longest line kept, in bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One input line.
#[derive(Debug)]
pub enum Line {
    /// A valid UTF-8 line, without its line ending.
    Text(String),
    /// A line that is not valid UTF-8.
    InvalidUtf8,
}

/// A line source with its size, when known (for progress bars).
pub struct Input {
    reader: Box<dyn BufRead>,
    /// Total bytes, for regular files.
    pub len: Option<u64>,
    /// Name used in messages (`-` for standard input).
    pub name: String,
    line_number: u64,
    buffer: Vec<u8>,
}

impl Input {
    /// Opens `path`, or standard input for `None` or `-`.
    pub fn open(path: Option<&Path>) -> Result<Input, CliError> {
        match path {
            None => Ok(Input::from_reader(
                Box::new(BufReader::new(io::stdin())),
                None,
                "-",
            )),
            Some(p) if p.as_os_str() == "-" => Ok(Input::from_reader(
                Box::new(BufReader::new(io::stdin())),
                None,
                "-",
            )),
            Some(p) => {
                let name = p.display().to_string();
                let file = File::open(p).map_err(|source| CliError::Input {
                    path: name.clone(),
                    source,
                })?;
                let len = file
                    .metadata()
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len());
                if file.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(CliError::Input {
                        path: name,
                        source: io::Error::new(io::ErrorKind::InvalidInput, "is a directory"),
                    });
                }
                Ok(Input::from_reader(
                    Box::new(BufReader::with_capacity(1 << 16, file)),
                    len,
                    &name,
                ))
            }
        }
    }

    fn from_reader(reader: Box<dyn BufRead>, len: Option<u64>, name: &str) -> Input {
        Input {
            reader,
            len,
            name: name.to_owned(),
            line_number: 0,
            buffer: Vec::new(),
        }
    }

    /// The next line with its 1-based number and the bytes it took, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, Line, usize)>, CliError> {
        self.buffer.clear();
        let read_err = |source| CliError::Input {
            path: self.name.clone(),
            source,
        };
        let mut consumed = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut self.buffer)
            .map_err(read_err)?;
        if consumed == 0 {
            return Ok(None);
        }
        if self.buffer.last() != Some(&b'\n') && consumed == MAX_LINE_BYTES {
            consumed += self.skip_rest_of_line().map_err(|source| CliError::Input {
                path: self.name.clone(),
                source,
            })?;
            // Cut back to a character boundary so a valid line does not look invalid.
            let valid_up_to = match std::str::from_utf8(&self.buffer) {
                Ok(_) => self.buffer.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => self.buffer.len(),
            };
            self.buffer.truncate(valid_up_to);
        }
        self.line_number += 1;
        while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
            self.buffer.pop();
        }
        let line = match String::from_utf8(std::mem::take(&mut self.buffer)) {
            Ok(text) => Line::Text(text),
            Err(_) => Line::InvalidUtf8,
        };
        Ok(Some((self.line_number, line, consumed)))
    }

    fn skip_rest_of_line(&mut self) -> io::Result<usize> {
        let mut skipped = 0;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(skipped);
            }
            if let Some(pos) = available.iter().position(|&b| b == b'\n') {
                self.reader.consume(pos + 1);
                return Ok(skipped + pos + 1);
            }
            let n = available.len();
            self.reader.consume(n);
            skipped += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<(u64, Option<String>)> {
        let mut input = Input::from_reader(Box::new(io::Cursor::new(bytes.to_vec())), None, "t");
        let mut out = Vec::new();
        while let Some((n, line, _)) = input.next_line().expect("read") {
            out.push((
                n,
                match line {
                    Line::Text(t) => Some(t),
                    Line::InvalidUtf8 => None,
                },
            ));
        }
        out
    }

    #[test]
    fn splits_lines_and_flags_invalid_utf8() {
        let got = lines(b"hello\r\n\xff\xfe bad\nlast");
        assert_eq!(
            got,
            vec![
                (1, Some("hello".into())),
                (2, None),
                (3, Some("last".into()))
            ]
        );
    }

    #[test]
    fn overlong_lines_are_capped_and_the_next_line_survives() {
        let mut bytes = "é".repeat(MAX_LINE_BYTES).into_bytes();
        bytes.extend_from_slice(b"\nnext\n");
        let got = lines(&bytes);
        assert_eq!(got.len(), 2);
        let first = got[0]
            .1
            .as_ref()
            .expect("valid utf-8 after cutting at a boundary");
        assert!(first.len() <= MAX_LINE_BYTES);
        assert_eq!(got[1], (2, Some("next".into())));
    }
}
