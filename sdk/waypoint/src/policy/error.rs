//! [`PolicyError`], and the context the section parsers share to report a value's
//! file:line:column.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::location::SourceLocation;

/// Longest duration accepted anywhere: ten years.
const MAX_SECS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// An optional number in a policy file, with its place.
pub(super) type Num = Option<Spanned<f64>>;

/// Errors reading or validating a policy file.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown field, or a value of the wrong type.
    #[error("{location}: {message}")]
    Syntax {
        /// Where the problem is.
        location: SourceLocation,
        /// What is wrong.
        message: String,
    },
    /// A value parsed but is out of range or inconsistent with another.
    #[error("{location}: {message}")]
    Invalid {
        /// Where the offending value is.
        location: SourceLocation,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl PolicyError {
    /// Where the problem is, when it is inside the file.
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            PolicyError::Read { .. } => None,
            PolicyError::Syntax { location, .. } | PolicyError::Invalid { location, .. } => {
                Some(location)
            }
        }
    }
}

/// Where a policy section came from, for errors with file:line:column; shared by the section
/// parsers.
pub(super) struct Ctx<'a> {
    pub source: &'a str,
    pub origin: &'a str,
}

impl Ctx<'_> {
    pub(super) fn invalid(&self, span: Range<usize>, message: String) -> PolicyError {
        PolicyError::Invalid {
            location: SourceLocation::at(self.origin, self.source, span.start),
            message,
        }
    }

    /// The value of an optional number, `default` when absent, checked to lie in `range`
    /// (`allowed` describes it in the error).
    pub(super) fn number(
        &self,
        value: &Num,
        name: &str,
        default: f64,
        ok: impl Fn(f64) -> bool,
        allowed: &str,
    ) -> Result<f64, PolicyError> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        if v.is_nan() || !ok(v) {
            return Err(self.invalid(
                value.span(),
                format!("{name} = {v} is out of range: {allowed}"),
            ));
        }
        Ok(v)
    }

    /// The value of an optional number, `default` when absent, checked to lie in `[lo, hi]`.
    pub(super) fn in_range(
        &self,
        value: &Num,
        name: &str,
        default: f32,
        (lo, hi): (f64, f64),
    ) -> Result<f32, PolicyError> {
        let allowed = format!("it must be in [{lo}, {hi}]");
        let v = self.number(
            value,
            name,
            f64::from(default),
            |v| (lo..=hi).contains(&v),
            &allowed,
        )?;
        Ok(v as f32)
    }

    /// The variant an optional string names, `None` when absent. `options` pairs each accepted
    /// name with its variant, in the order the error lists them (`what` says what the value is:
    /// "a mode", "a rule").
    pub(super) fn choice<T: Copy>(
        &self,
        value: Option<&Spanned<String>>,
        name: &str,
        what: &str,
        options: &[(&str, T)],
    ) -> Result<Option<T>, PolicyError> {
        let Some(value) = value else { return Ok(None) };
        let given = value.get_ref().as_str();
        if let Some((_, variant)) = options.iter().find(|(option, _)| *option == given) {
            return Ok(Some(*variant));
        }
        let quoted: Vec<String> = options.iter().map(|(o, _)| format!("\"{o}\"")).collect();
        let allowed = match quoted.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        Err(self.invalid(
            value.span(),
            format!("{name} = \"{given}\" is not {what}: use {allowed}"),
        ))
    }

    pub(super) fn secs(
        &self,
        value: &Num,
        name: &str,
        default: Duration,
        positive: bool,
    ) -> Result<Duration, PolicyError> {
        let (ok, allowed): (fn(f64) -> bool, &str) = if positive {
            (
                |v| v > 0.0 && v <= MAX_SECS,
                "a duration in seconds must be above 0 and at most ten years",
            )
        } else {
            (
                |v| (0.0..=MAX_SECS).contains(&v),
                "a duration in seconds must be in [0, ten years]",
            )
        };
        let v = self.number(value, name, default.as_secs_f64(), ok, allowed)?;
        Ok(Duration::try_from_secs_f64(v).unwrap_or(default))
    }
}
