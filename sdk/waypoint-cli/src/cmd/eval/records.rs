//! Reading labelled rows (text + label) from CSV, TSV or JSON Lines, one row at a time.
//!
//! CSV and TSV need a header row; fields may be quoted with `"` (doubled inside), and quoted
//! fields may span lines. A row is numbered by the line it starts on. Rows that cannot be used
//! (missing field, invalid UTF-8, malformed JSON, empty text) come back as [`BadRow`]s, never as
//! errors: only an unreadable file or a header without the requested columns stops the run.

use std::path::Path;

use serde_json::Value;

use crate::cmd::CliError;
use crate::input::{Input, Line};

/// Longest record kept, in bytes; a quoted field running past it is reported as a bad row.
const MAX_RECORD_BYTES: usize = 4 << 20;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format implied by a file name (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// One usable row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line the row starts on.
    pub line: u64,
    /// The message text.
    pub text: String,
    /// The raw label, trimmed.
    pub label: String,
    /// The value of the grouping field (`--group-field`), trimmed; `None` when no grouping was
    /// asked for, [`MISSING_GROUP`] when the row lacks the field.
    pub group: Option<String>,
}

/// The group of a row that lacks the grouping field (or has it empty).
pub const MISSING_GROUP: &str = "(missing)";

/// A row that cannot be used, with why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BadRow {
    /// 1-based line the row starts on.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Errors that stop reading before the first row.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The header row is missing (empty file).
    #[error("{0}: no header row (CSV and TSV input needs one naming the columns)")]
    NoHeader(String),
    /// A requested column is not in the header.
    #[error("{file}: no column {field:?} in the header (columns: {available})")]
    MissingColumn {
        /// The input file.
        file: String,
        /// The requested column.
        field: String,
        /// The header's columns, comma-separated.
        available: String,
    },
}

/// The fields of a row that are read: text, label and, optionally, the grouping field.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// Column or JSON field holding the message text.
    pub text: &'a str,
    /// Column or JSON field holding the label.
    pub label: &'a str,
    /// Column or JSON field to group lines by, if any.
    pub group: Option<&'a str>,
}

/// Where the text, label and group are in a row.
enum Layout {
    Delimited {
        delimiter: char,
        text: usize,
        label: usize,
        group: Option<usize>,
    },
    Json {
        text: String,
        label: String,
        group: Option<String>,
    },
}

/// Reads rows from an [`Input`].
pub struct RowReader {
    input: Input,
    layout: Layout,
}

/// The outcome of reading one physical record.
enum Record {
    Fields(Vec<String>),
    Bad(String),
}

impl RowReader {
    /// Prepares reading `input` in `format`; CSV and TSV read and check the header here.
    pub fn new(mut input: Input, format: Format, fields: Fields) -> Result<RowReader, CliError> {
        let delimiter = match format {
            Format::Jsonl => {
                return Ok(RowReader {
                    input,
                    layout: Layout::Json {
                        text: fields.text.to_owned(),
                        label: fields.label.to_owned(),
                        group: fields.group.map(str::to_owned),
                    },
                });
            }
            Format::Csv => ',',
            Format::Tsv => '\t',
        };
        let header = match read_record(&mut input, delimiter)? {
            None => return Err(usage(RecordError::NoHeader(input.name.clone()))),
            Some((_, Record::Bad(reason))) => {
                return Err(CliError::Usage(format!(
                    "{}: unreadable header row: {reason}",
                    input.name
                )));
            }
            Some((_, Record::Fields(fields))) => fields,
        };
        let header: Vec<String> = header
            .into_iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let column = |field: &str| {
            header.iter().position(|h| h == field).ok_or_else(|| {
                usage(RecordError::MissingColumn {
                    file: input.name.clone(),
                    field: field.to_owned(),
                    available: header.join(", "),
                })
            })
        };
        let layout = Layout::Delimited {
            delimiter,
            text: column(fields.text)?,
            label: column(fields.label)?,
            group: fields.group.map(column).transpose()?,
        };
        Ok(RowReader { input, layout })
    }

    /// The input's name, for messages.
    pub fn name(&self) -> &str {
        &self.input.name
    }

    /// The next row, or `None` at the end of the input.
    pub fn next_row(&mut self) -> Result<Option<Result<Row, BadRow>>, CliError> {
        match &self.layout {
            Layout::Delimited {
                delimiter,
                text,
                label,
                group,
            } => {
                let (text, label, group) = (*text, *label, *group);
                let Some((line, record)) = read_record(&mut self.input, *delimiter)? else {
                    return Ok(None);
                };
                let fields = match record {
                    Record::Fields(fields) => fields,
                    Record::Bad(reason) => return Ok(Some(Err(BadRow { line, reason }))),
                };
                let width = fields.len();
                let text_value = fields.get(text).cloned();
                let label_value = fields.get(label).cloned();
                let group_value = group.map(|g| fields.get(g).cloned());
                let row = make_row(
                    line,
                    text_value,
                    label_value,
                    &format!("row has {width} field(s)"),
                );
                Ok(Some(row.map(|row| with_group(row, group_value))))
            }
            Layout::Json { text, label, group } => loop {
                let Some((line, content, _)) = self.input.next_line()? else {
                    return Ok(None);
                };
                let content = match content {
                    Line::Text(t) => t,
                    Line::InvalidUtf8 => {
                        return Ok(Some(Err(BadRow {
                            line,
                            reason: "not valid UTF-8".to_owned(),
                        })));
                    }
                };
                if content.trim().is_empty() {
                    continue;
                }
                let object = match serde_json::from_str::<Value>(&content) {
                    Ok(Value::Object(object)) => object,
                    Ok(_) => {
                        return Ok(Some(Err(BadRow {
                            line,
                            reason: "not a JSON object".to_owned(),
                        })));
                    }
                    Err(e) => {
                        return Ok(Some(Err(BadRow {
                            line,
                            reason: format!("invalid JSON: {e}"),
                        })));
                    }
                };
                let get = |field: &str| object.get(field).and_then(json_scalar);
                let group_value = group.as_deref().map(get);
                let row = make_row(line, get(text), get(label), "JSON object");
                return Ok(Some(row.map(|row| with_group(row, group_value))));
            },
        }
    }
}

fn usage(err: RecordError) -> CliError {
    CliError::Usage(err.to_string())
}

/// A JSON string, number or boolean as text; `null`, arrays and objects are not usable.
fn json_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn make_row(
    line: u64,
    text: Option<String>,
    label: Option<String>,
    context: &str,
) -> Result<Row, BadRow> {
    let bad = |reason: String| BadRow { line, reason };
    let text = text.ok_or_else(|| bad(format!("missing text field ({context})")))?;
    let label = label.ok_or_else(|| bad(format!("missing label field ({context})")))?;
    let label = label.trim().to_owned();
    if text.trim().is_empty() {
        return Err(bad("empty text".to_owned()));
    }
    if label.is_empty() {
        return Err(bad("empty label".to_owned()));
    }
    Ok(Row {
        line,
        text,
        label,
        group: None,
    })
}

/// Sets a row's group: `wanted` is `None` without grouping, `Some(None)` when the field is
/// absent from the row.
fn with_group(row: Row, wanted: Option<Option<String>>) -> Row {
    let group = wanted.map(|value| {
        value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| MISSING_GROUP.to_owned())
    });
    Row { group, ..row }
}

/// Reads one delimited record (which may span lines inside quotes), skipping blank lines.
/// Returns the line it starts on.
fn read_record(input: &mut Input, delimiter: char) -> Result<Option<(u64, Record)>, CliError> {
    let mut parser = FieldParser::new(delimiter);
    let mut start = None;
    let mut problem: Option<String> = None;
    let mut size = 0_usize;
    loop {
        let Some((number, line, bytes)) = input.next_line()? else {
            return Ok(start.map(|start| {
                let reason = problem
                    .unwrap_or_else(|| "quoted field not closed before end of file".to_owned());
                (start, Record::Bad(reason))
            }));
        };
        size += bytes;
        let text = match line {
            Line::Text(text) => text,
            Line::InvalidUtf8 => {
                problem.get_or_insert_with(|| "not valid UTF-8".to_owned());
                String::new()
            }
        };
        if start.is_none() {
            if text.trim().is_empty() && problem.is_none() {
                continue;
            }
            start = Some(number);
        }
        let first = start.unwrap_or(number);
        if !parser.feed(&text) {
            if size > MAX_RECORD_BYTES {
                return Ok(Some((
                    first,
                    Record::Bad(format!(
                        "quoted field longer than {MAX_RECORD_BYTES} bytes (unclosed quote?)"
                    )),
                )));
            }
            continue;
        }
        let fields = parser.finish();
        return Ok(Some((
            first,
            match problem {
                Some(reason) => Record::Bad(reason),
                None => Record::Fields(fields),
            },
        )));
    }
}

/// A quote-aware field splitter fed one physical line at a time.
struct FieldParser {
    delimiter: char,
    fields: Vec<String>,
    current: String,
    /// Inside a quoted field.
    quoted: bool,
    /// At the start of a field (a quote here opens a quoted field).
    at_start: bool,
}

impl FieldParser {
    fn new(delimiter: char) -> FieldParser {
        FieldParser {
            delimiter,
            fields: Vec::new(),
            current: String::new(),
            quoted: false,
            at_start: true,
        }
    }

    /// Feeds one line (without its line ending); `true` when the record is complete.
    fn feed(&mut self, line: &str) -> bool {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if self.quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        self.current.push('"');
                    } else {
                        self.quoted = false;
                    }
                } else {
                    self.current.push(c);
                }
            } else if c == self.delimiter {
                self.fields.push(std::mem::take(&mut self.current));
                self.at_start = true;
                continue;
            } else if c == '"' && self.at_start {
                self.quoted = true;
            } else {
                self.current.push(c);
            }
            self.at_start = false;
        }
        if self.quoted {
            self.current.push('\n');
            false
        } else {
            true
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.fields.push(self.current);
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(delimiter: char, lines: &[&str]) -> Vec<String> {
        let mut p = FieldParser::new(delimiter);
        let mut done = false;
        for line in lines {
            done = p.feed(line);
        }
        assert!(done, "record complete");
        p.finish()
    }

    #[test]
    fn splits_quoted_fields_across_lines() {
        assert_eq!(
            fields(',', &["1,\"a, \"\"b\"\"", "c\",x"]),
            vec!["1", "a, \"b\"\nc", "x"]
        );
        assert_eq!(fields('\t', &["a\tb c\t"]), vec!["a", "b c", ""]);
    }
}
