//! The exemplar file (`models/exemplars/exemplars.toml`): a version and `[[set]]` tables of
//! example statements per category. Parsed strictly, with file:line:column errors like the
//! policy and the lexicon.

use serde::Deserialize;
use toml::Spanned;

use crate::Category;
use crate::location::SourceLocation;

/// Errors reading or validating an exemplar file.
#[derive(Debug, thiserror::Error)]
pub enum ExemplarFileError {
    /// The file could not be read.
    #[error("cannot read exemplar file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown field, or a value of the wrong type.
    #[error("{location}: {message}")]
    Syntax {
        /// Where the problem is.
        location: SourceLocation,
        /// What is wrong.
        message: String,
    },
    /// A value parsed but is not allowed.
    #[error("{location}: {message}")]
    Invalid {
        /// Where the offending value is.
        location: SourceLocation,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// What a set's examples stand for: one of the four rare categories, or ordinary chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExemplarClass {
    /// Examples of a rare category.
    Rare(Category),
    /// Ordinary chat that must not be mistaken for a rare category.
    Common,
}

/// One `[[set]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemplarSet {
    /// What the examples stand for.
    pub class: ExemplarClass,
    /// ISO 639 code, or `any`.
    pub lang: String,
    /// Short name of what the set covers, shown to reviewers.
    pub label: String,
    /// The example statements, as written in the file.
    pub examples: Vec<String>,
}

/// A parsed, validated exemplar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemplarFile {
    /// The file's version, reported with every exemplar-based reason.
    pub version: String,
    /// The sets, in file order.
    pub sets: Vec<ExemplarSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<String>,
    #[serde(default)]
    set: Vec<RawSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    category: Spanned<String>,
    lang: Spanned<String>,
    label: Spanned<String>,
    examples: Spanned<Vec<Spanned<String>>>,
}

impl ExemplarFile {
    /// Reads and validates an exemplar file.
    pub fn from_file(path: &std::path::Path) -> Result<ExemplarFile, ExemplarFileError> {
        let source = std::fs::read_to_string(path).map_err(|source| ExemplarFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ExemplarFile::parse(&source, &path.display().to_string())
    }

    /// Parses and validates the text of an exemplar file; `origin` names it in errors.
    pub fn parse(source: &str, origin: &str) -> Result<ExemplarFile, ExemplarFileError> {
        let raw: RawFile = toml::from_str(source).map_err(|e| ExemplarFileError::Syntax {
            location: SourceLocation::of_span(origin, source, e.span()),
            message: e.message().trim_end().to_owned(),
        })?;
        let invalid = |span: std::ops::Range<usize>, message: String| ExemplarFileError::Invalid {
            location: SourceLocation::at(origin, source, span.start),
            message,
        };
        if raw.version.get_ref().trim().is_empty() {
            return Err(invalid(
                raw.version.span(),
                "version must not be empty".into(),
            ));
        }
        let sets = raw
            .set
            .into_iter()
            .map(|set| validate_set(set, &invalid))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExemplarFile {
            version: raw.version.into_inner(),
            sets,
        })
    }

    /// Number of examples over all sets.
    pub fn len(&self) -> usize {
        self.sets.iter().map(|s| s.examples.len()).sum()
    }

    /// Whether the file has no examples at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn validate_set(
    set: RawSet,
    invalid: &impl Fn(std::ops::Range<usize>, String) -> ExemplarFileError,
) -> Result<ExemplarSet, ExemplarFileError> {
    let class = match set.category.get_ref().as_str() {
        "common" => ExemplarClass::Common,
        name => match Category::ALL.into_iter().find(|c| c.as_str() == name) {
            Some(category) => ExemplarClass::Rare(category),
            None => {
                return Err(invalid(
                    set.category.span(),
                    format!(
                        "category = \"{name}\" is not a category: use insult, hate, threat, \
                         extremism or common"
                    ),
                ));
            }
        },
    };
    let lang = set.lang.get_ref();
    let is_code = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    if !(is_code || lang == "any") {
        return Err(invalid(
            set.lang.span(),
            format!(
                "lang = \"{lang}\" must be a lower-case ISO 639 code (\"en\", \"nl\") or \"any\""
            ),
        ));
    }
    if set.label.get_ref().trim().is_empty() {
        return Err(invalid(set.label.span(), "label must not be empty".into()));
    }
    if set.examples.get_ref().is_empty() {
        return Err(invalid(
            set.examples.span(),
            "examples must hold at least one statement".into(),
        ));
    }
    let mut examples = Vec::with_capacity(set.examples.get_ref().len());
    for example in set.examples.into_inner() {
        if example.get_ref().trim().is_empty() {
            return Err(invalid(
                example.span(),
                "an example must not be empty".into(),
            ));
        }
        examples.push(example.into_inner());
    }
    Ok(ExemplarSet {
        class,
        lang: set.lang.into_inner(),
        label: set.label.into_inner(),
        examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> ExemplarFileError {
        ExemplarFile::parse(src, "x.toml").expect_err("must be rejected")
    }

    fn at(e: &ExemplarFileError) -> Option<(usize, usize)> {
        match e {
            ExemplarFileError::Syntax { location, .. }
            | ExemplarFileError::Invalid { location, .. } => Some((location.line, location.column)),
            ExemplarFileError::Read { .. } => None,
        }
    }

    const SET: &str = "[[set]]\ncategory = \"extremism\"\nlang = \"en\"\nlabel = \"g\"\n";

    #[test]
    fn a_valid_file_keeps_its_sets_in_order() {
        let src = format!(
            "version = \"1\"\n{SET}examples = [\"a\", \"b\"]\n[[set]]\ncategory = \"common\"\n\
             lang = \"any\"\nlabel = \"chat\"\nexamples = [\"gg\"]\n"
        );
        let file = ExemplarFile::parse(&src, "x.toml").expect("valid");
        assert_eq!(file.version, "1");
        assert_eq!(file.len(), 3);
        assert_eq!(file.sets[0].class, ExemplarClass::Rare(Category::Extremism));
        assert_eq!(file.sets[1].class, ExemplarClass::Common);
        assert_eq!(file.sets[0].examples, ["a", "b"]);
    }

    #[test]
    fn an_unknown_category_is_rejected_at_its_value() {
        let e = err(
            "version = \"1\"\n[[set]]\ncategory = \"spam\"\nlang = \"en\"\nlabel = \"g\"\nexamples = [\"a\"]\n",
        );
        assert_eq!(at(&e), Some((3, 12)), "{e}");
        assert!(e.to_string().starts_with("x.toml:3:12: "), "{e}");
    }

    #[test]
    fn empty_examples_and_bad_lang_are_rejected_with_positions() {
        let e = err(&format!("version = \"1\"\n{SET}examples = []\n"));
        assert_eq!(at(&e), Some((6, 12)), "{e}");
        let e = err(&format!(
            "version = \"1\"\n{SET}examples = [\"a\", \"  \"]\n"
        ));
        assert_eq!(at(&e), Some((6, 18)), "{e}");
        let e = err(
            "version = \"1\"\n[[set]]\ncategory = \"hate\"\nlang = \"English\"\nlabel = \"g\"\nexamples = [\"a\"]\n",
        );
        assert_eq!(at(&e), Some((4, 8)), "{e}");
    }

    #[test]
    fn missing_version_unknown_keys_and_bad_syntax_are_errors() {
        assert!(matches!(
            err(&format!("{SET}examples = [\"a\"]\n")),
            ExemplarFileError::Syntax { .. }
        ));
        let e = err(&format!(
            "version = \"1\"\n{SET}examples = [\"a\"]\nweight = 2\n"
        ));
        assert_eq!(at(&e).map(|p| p.0), Some(7), "{e}");
        let e = err("version = \"1\"\n[[set]\n");
        assert_eq!(at(&e).map(|p| p.0), Some(2), "{e}");
    }
}
