//! Source locations (file, line, column) for errors in configuration and data files.

use std::fmt;
use std::ops::Range;

/// A position in a text file, for error messages a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file (or other origin, such as `<default policy>`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl SourceLocation {
    /// The location of byte `offset` in `source`; offsets past the end point after the last character.
    pub fn at(file: &str, source: &str, offset: usize) -> SourceLocation {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        SourceLocation {
            file: file.to_owned(),
            line,
            column,
        }
    }

    /// The location of the start of `span`, or of the file's start when there is none.
    pub fn of_span(file: &str, source: &str, span: Option<Range<usize>>) -> SourceLocation {
        SourceLocation::at(file, source, span.map_or(0, |s| s.start))
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::SourceLocation;

    #[test]
    fn lines_and_columns_are_one_based() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(SourceLocation::at("f", src, 0).to_string(), "f:1:1");
        assert_eq!(SourceLocation::at("f", src, 6).to_string(), "f:2:1");
        // Column counts characters, not bytes: '=' follows a two-byte 'é'.
        assert_eq!(SourceLocation::at("f", src, 10).to_string(), "f:2:4");
        assert_eq!(SourceLocation::at("f", src, 999).line, 3);
        // Inside a multi-byte character: rounds down instead of panicking.
        assert_eq!(SourceLocation::at("f", src, 8).column, 2);
    }
}
