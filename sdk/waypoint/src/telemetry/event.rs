//! What the engine tells telemetry. No event type can hold chat text, a player id or a
//! pseudonym, so nothing a player typed or who they are can reach an exported record.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::policy::ResponseLevel;
use crate::signal::{AgeBand, SignalKind};
use crate::{Category, Scores};

/// One thing that happened, as telemetry counts it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A text (chat line or name) was scored.
    Scored {
        /// The detected language of the text.
        language: Language,
        /// The calibrated probability per category.
        scores: Scores,
        /// How long scoring took, from the signal's arrival to its final score.
        latency: Duration,
    },
    /// A signal was processed. Only the kinds in [`SIGNAL_KINDS`] are counted: a chat line's
    /// event is ignored, since the line is counted as [`Event::Scored`].
    Signal {
        /// Which kind of signal.
        kind: SignalKind,
    },
    /// A response was handed to the platform.
    Response {
        /// Which rung of the ladder ([`ResponseLevel::LADDER`]; an event with
        /// [`ResponseLevel::None`] is ignored).
        level: ResponseLevel,
        /// The category the response is about.
        category: Category,
        /// The age band of the player it was given to.
        age_band: AgeBand,
    },
    /// A player opened a help link that a [`ResponseLevel::Help`] response showed.
    HelpOpened {
        /// The category of the response that showed the link.
        category: Category,
        /// The age band of the player.
        age_band: AgeBand,
    },
    /// A case was referred to human review.
    Referral {
        /// The category of the referral.
        category: Category,
    },
    /// A human reviewer decided on a referral.
    Outcome {
        /// The category of the referral.
        category: Category,
        /// `true` if the reviewer upheld it, `false` if they dismissed it.
        upheld: bool,
    },
    /// A signal was dropped because a queue was full.
    Drop,
    /// Scoring ran degraded (for example fast tier only) for this long.
    Degraded {
        /// How long.
        duration: Duration,
    },
}

/// The signal kinds telemetry counts as [`Event::Signal`], in record order: every kind but
/// [`SignalKind::Chat`] (chat lines are counted as scored texts, [`Event::Scored`]). Records name
/// them by [`SignalKind::telemetry_name`].
pub const SIGNAL_KINDS: [SignalKind; 5] = [
    SignalKind::Report,
    SignalKind::Block,
    SignalKind::NameChange,
    SignalKind::GroupJoin,
    SignalKind::Custom,
];

impl Event {
    /// Whether telemetry counts this event: all but an [`Event::Signal`] whose kind is not in
    /// [`SIGNAL_KINDS`] (a chat line's) and an [`Event::Response`] that is no rung of the ladder.
    pub(crate) fn is_counted(&self) -> bool {
        match self {
            Event::Signal { kind } => SIGNAL_KINDS.contains(kind),
            Event::Response { level, .. } => level.ladder_index().is_some(),
            _ => true,
        }
    }
}

/// A review decision, as counted in records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The reviewer agreed the referral was warranted.
    Upheld,
    /// The reviewer found nothing to act on.
    Dismissed,
}

impl Decision {
    /// Both decisions.
    pub const ALL: [Decision; 2] = [Decision::Upheld, Decision::Dismissed];

    /// Position in [`Decision::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The decision for `upheld`.
    pub const fn from_upheld(upheld: bool) -> Decision {
        if upheld {
            Decision::Upheld
        } else {
            Decision::Dismissed
        }
    }
}

/// A language code: the primary subtag of a BCP 47 tag (two or three lowercase ASCII letters),
/// or `und` (undetermined).
///
/// Anything else given to [`Language::new`] becomes `und`, so a free-form string (such as text
/// passed by mistake) cannot travel through this field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language {
    code: [u8; 3],
    len: u8,
}

impl Language {
    /// `und`: the language could not be determined.
    pub const UNDETERMINED: Language = Language {
        code: *b"und",
        len: 3,
    };

    /// Reads a language tag such as `en`, `nl-BE`, `pt_BR` or `FIL`; returns
    /// [`Language::UNDETERMINED`] for anything that is not one.
    pub fn new(tag: &str) -> Language {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        let bytes = primary.as_bytes();
        if !(2..=3).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Language::UNDETERMINED;
        }
        let mut code = [0u8; 3];
        for (slot, b) in code.iter_mut().zip(bytes) {
            *slot = b.to_ascii_lowercase();
        }
        Language {
            code,
            len: bytes.len() as u8,
        }
    }

    /// The code, e.g. `en`.
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.len).min(3);
        std::str::from_utf8(&self.code[..len]).unwrap_or("und")
    }
}

impl Default for Language {
    fn default() -> Self {
        Language::UNDETERMINED
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.as_str())
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(deserializer)?;
        let lang = Language::new(&tag);
        if lang.as_str() != tag {
            return Err(serde::de::Error::custom(format!(
                "{tag:?} is not a lowercase language code"
            )));
        }
        Ok(lang)
    }
}
