//! What a game server tells Waypoint: chat lines and behaviour events.
//!
//! A [`Signal`] names players by the platform's own [`PlayerId`]. The engine turns that id into a
//! keyed pseudonym as soon as it reaches the worker and never stores it in clear; only the
//! responses handed back to the platform carry the id of the signal that triggered them, so the
//! platform can deliver them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Category;

/// The platform's identifier for a player (account id, Steam id, …).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlayerId(String);

impl PlayerId {
    /// Wraps a platform id.
    pub fn new(id: impl Into<String>) -> PlayerId {
        PlayerId(id.into())
    }

    /// The platform id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlayerId({:?})", self.0)
    }
}

impl fmt::Display for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for PlayerId {
    fn from(id: &str) -> Self {
        PlayerId::new(id)
    }
}

impl From<String> for PlayerId {
    fn from(id: String) -> Self {
        PlayerId(id)
    }
}

/// A player's age band, as far as the platform knows it. Minors get more protective settings
/// (see the policy's `[age_band.minor]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeBand {
    /// Under 18 (or the platform's own age of majority).
    Minor,
    /// An adult.
    Adult,
    /// The platform does not know or does not say.
    #[default]
    Unknown,
}

impl AgeBand {
    /// Every band, in a fixed order (the order of per-band arrays).
    pub const ALL: [AgeBand; 3] = [AgeBand::Minor, AgeBand::Adult, AgeBand::Unknown];

    /// Position in [`AgeBand::ALL`].
    pub const fn index(self) -> usize {
        match self {
            AgeBand::Minor => 0,
            AgeBand::Adult => 1,
            AgeBand::Unknown => 2,
        }
    }

    /// The lowercase name used in policy files and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            AgeBand::Minor => "minor",
            AgeBand::Adult => "adult",
            AgeBand::Unknown => "unknown",
        }
    }

    /// Parses a lowercase band name.
    pub fn parse(name: &str) -> Option<AgeBand> {
        AgeBand::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One chat line.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// Who sent it.
    pub player: PlayerId,
    /// The channel (`all`, `team`, `whisper`, a clan channel, …); reported in reasons.
    pub channel: String,
    /// The text as typed.
    pub text: String,
    /// The sender's locale (`en`, `nl-BE`, …), used to pick a help directory entry.
    pub locale: Option<String>,
    /// The sender's age band, when the platform knows it. Remembered with the player's state.
    pub age_band: Option<AgeBand>,
}

impl ChatMessage {
    /// A chat line on the `all` channel with no locale or age band.
    pub fn new(player: impl Into<PlayerId>, text: impl Into<String>) -> ChatMessage {
        ChatMessage {
            player: player.into(),
            channel: "all".to_owned(),
            text: text.into(),
            locale: None,
            age_band: None,
        }
    }

    /// Sets the channel.
    pub fn channel(mut self, channel: impl Into<String>) -> ChatMessage {
        self.channel = channel.into();
        self
    }

    /// Sets the locale.
    pub fn locale(mut self, locale: impl Into<String>) -> ChatMessage {
        self.locale = Some(locale.into());
        self
    }

    /// Sets the age band.
    pub fn age_band(mut self, band: AgeBand) -> ChatMessage {
        self.age_band = Some(band);
        self
    }
}

/// Something a game server reports about a player.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// A chat line, scored by the models and the lexicon.
    Chat(ChatMessage),
    /// One player reported another.
    Report {
        /// Who reported.
        reporter: PlayerId,
        /// Who was reported.
        target: PlayerId,
        /// The reason the platform's report form gave (`hate`, `cheating`, free text, …). A
        /// category name (`insult`, `hate`, `threat`, `extremism`) is recognised.
        reason: String,
    },
    /// One player blocked or muted another.
    Block {
        /// Who blocked.
        by: PlayerId,
        /// Who was blocked.
        target: PlayerId,
    },
    /// A player chose a new name or clan tag. Scored like chat (`xX1488Xx` matters).
    NameChange {
        /// The player.
        player: PlayerId,
        /// The new name or tag.
        name: String,
    },
    /// A player joined a group (clan, guild, party, server).
    GroupJoin {
        /// The player.
        player: PlayerId,
        /// The platform's group id.
        group: String,
        /// Whether the platform has flagged this group (for example, for extremist content).
        flagged: bool,
    },
    /// A platform-defined signal.
    Custom {
        /// The player it is about.
        player: PlayerId,
        /// The platform's name for the signal, reported in reasons.
        kind: String,
        /// The category it is evidence for; without one it only amplifies other evidence, like a report.
        category: Option<Category>,
        /// Evidence weight in `[0, 1]` (clamped).
        weight: f32,
    },
}

impl Signal {
    /// The player this signal is about (the target of a report or block).
    pub fn subject(&self) -> &PlayerId {
        match self {
            Signal::Chat(chat) => &chat.player,
            Signal::Report { target, .. } | Signal::Block { target, .. } => target,
            Signal::NameChange { player, .. }
            | Signal::GroupJoin { player, .. }
            | Signal::Custom { player, .. } => player,
        }
    }

    /// The text to score, for signals that carry one (chat lines and names).
    pub fn text(&self) -> Option<&str> {
        match self {
            Signal::Chat(chat) => Some(&chat.text),
            Signal::NameChange { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The kind of signal, as reasons, trajectories and telemetry name it.
    pub fn kind(&self) -> SignalKind {
        match self {
            Signal::Chat(_) => SignalKind::Chat,
            Signal::Report { .. } => SignalKind::Report,
            Signal::Block { .. } => SignalKind::Block,
            Signal::NameChange { .. } => SignalKind::NameChange,
            Signal::GroupJoin { .. } => SignalKind::GroupJoin,
            Signal::Custom { .. } => SignalKind::Custom,
        }
    }
}

/// The kind of a [`Signal`], one per variant.
///
/// A kind has two names. [`SignalKind::as_str`] is the short name used in reasons, trajectory
/// points, case packets and JSON output (`chat`, `report`, `block`, `name`, `group_join`,
/// `custom`); serde uses it. [`SignalKind::telemetry_name`] is the name in telemetry records and
/// reports, which differs only for [`SignalKind::NameChange`] (`name_change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A chat line ([`Signal::Chat`]).
    Chat,
    /// A player report ([`Signal::Report`]).
    Report,
    /// A block or mute ([`Signal::Block`]).
    Block,
    /// A name or clan-tag change ([`Signal::NameChange`]); `name` in reasons.
    #[serde(rename = "name")]
    NameChange,
    /// A group join ([`Signal::GroupJoin`]).
    GroupJoin,
    /// A platform-defined signal ([`Signal::Custom`]).
    Custom,
}

impl SignalKind {
    /// Every kind, in a fixed order (the order of per-kind arrays).
    pub const ALL: [SignalKind; 6] = [
        SignalKind::Chat,
        SignalKind::Report,
        SignalKind::Block,
        SignalKind::NameChange,
        SignalKind::GroupJoin,
        SignalKind::Custom,
    ];

    /// Position in [`SignalKind::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The short name used in reasons, trajectory points and JSON output (`chat`, `report`,
    /// `block`, `name`, `group_join`, `custom`).
    pub const fn as_str(self) -> &'static str {
        match self {
            SignalKind::Chat => "chat",
            SignalKind::Report => "report",
            SignalKind::Block => "block",
            SignalKind::NameChange => "name",
            SignalKind::GroupJoin => "group_join",
            SignalKind::Custom => "custom",
        }
    }

    /// The name used in telemetry records and reports: [`SignalKind::as_str`], except
    /// `name_change` for [`SignalKind::NameChange`].
    pub const fn telemetry_name(self) -> &'static str {
        match self {
            SignalKind::NameChange => "name_change",
            kind => kind.as_str(),
        }
    }

    /// Parses a short name ([`SignalKind::as_str`]).
    pub fn parse(name: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Parses a telemetry name ([`SignalKind::telemetry_name`]).
    pub fn parse_telemetry_name(name: &str) -> Option<SignalKind> {
        SignalKind::ALL
            .into_iter()
            .find(|k| k.telemetry_name() == name)
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ChatMessage> for Signal {
    fn from(chat: ChatMessage) -> Self {
        Signal::Chat(chat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_of_report_is_the_target() {
        let s = Signal::Report {
            reporter: "a".into(),
            target: "b".into(),
            reason: "hate".into(),
        };
        assert_eq!(s.subject().as_str(), "b");
        assert_eq!(s.kind(), SignalKind::Report);
        assert_eq!(s.text(), None);
    }

    #[test]
    fn names_are_scored_text() {
        let s = Signal::NameChange {
            player: "a".into(),
            name: "xX1488Xx".into(),
        };
        assert_eq!(s.text(), Some("xX1488Xx"));
    }

    #[test]
    fn signal_kinds_round_trip_under_both_names() {
        for (i, kind) in SignalKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(SignalKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                SignalKind::parse_telemetry_name(kind.telemetry_name()),
                Some(kind)
            );
            let json = serde_json::to_string(&kind).expect("serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(SignalKind::NameChange.as_str(), "name");
        assert_eq!(SignalKind::NameChange.telemetry_name(), "name_change");
        assert_eq!(SignalKind::parse("name_change"), None);
    }

    #[test]
    fn age_bands_round_trip() {
        for band in AgeBand::ALL {
            assert_eq!(AgeBand::parse(band.as_str()), Some(band));
        }
    }
}
