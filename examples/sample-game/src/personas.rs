//! The bot script: match settings and personas, read from `personas.toml`.

use std::path::Path;

use serde::Deserialize;
use waypoint::AgeBand;

/// The personas shipped with the game, compiled in so the binary runs from anywhere.
pub const DEFAULT_PERSONAS: &str = include_str!("../personas.toml");

/// The whole script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Match settings.
    #[serde(rename = "match")]
    pub game: MatchSettings,
    /// One entry per player.
    #[serde(rename = "persona")]
    pub personas: Vec<Persona>,
}

/// How long a match lasts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSettings {
    /// Rounds per match.
    pub rounds: u32,
    /// Length of one round in seconds of game time.
    pub round_secs: f64,
}

impl MatchSettings {
    /// Length of one match in seconds of game time.
    pub fn match_secs(&self) -> f64 {
        f64::from(self.rounds) * self.round_secs
    }
}

/// Which side a player is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Team {
    /// The red team.
    Red,
    /// The blue team.
    Blue,
}

impl Team {
    /// The other team.
    pub fn other(self) -> Team {
        match self {
            Team::Red => Team::Blue,
            Team::Blue => Team::Red,
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Team::Red => "red",
            Team::Blue => "blue",
        }
    }
}

/// One scripted player.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// Stable id; also the player's platform id.
    pub id: String,
    /// Display name at the start of the match.
    pub name: String,
    /// Team.
    pub team: Team,
    /// Locale (`en`, `nl-BE`, …): picks the help directory entry.
    pub locale: String,
    /// Age band as the platform knows it (`minor`, `adult`, `unknown`).
    #[serde(default)]
    pub age_band: AgeBand,
    /// Mean seconds between two chat lines.
    pub chat_every_secs: f64,
    /// Chance to report a player whose line they see as abusive.
    #[serde(default)]
    pub report_chance: f64,
    /// Chance to block such a player.
    #[serde(default)]
    pub block_chance: f64,
    /// Chance to take a line back after a pre-send nudge.
    #[serde(default)]
    pub retract_chance: f64,
    /// The responses a trust-and-safety team expects for this persona (`nudge`, `help`, `review`).
    pub expect: Vec<String>,
    /// Whether the person at the keyboard plays this player in interactive mode.
    #[serde(default)]
    pub playable: bool,
    /// What the persona says, by round.
    #[serde(default, rename = "stage")]
    pub stages: Vec<Stage>,
    /// Name changes, by round.
    #[serde(default, rename = "rename")]
    pub renames: Vec<Rename>,
}

/// Lines for a range of rounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// First round (1-based) this stage applies to.
    pub from_round: u32,
    /// When set, bystanders react to these lines with reports (this reason) and blocks.
    #[serde(default)]
    pub reported_as: Option<String>,
    /// The lines.
    pub lines: Vec<String>,
}

/// A name change at the start of a round.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// Round (1-based).
    pub round: u32,
    /// The new name.
    pub name: String,
}

/// Why a script could not be used.
#[derive(Debug)]
pub enum ScriptError {
    /// The file could not be read.
    Read(String, std::io::Error),
    /// The TOML is malformed.
    Parse(String, toml::de::Error),
    /// The script parses but makes no sense.
    Invalid(String),
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Read(path, e) => write!(f, "cannot read {path}: {e}"),
            ScriptError::Parse(origin, e) => write!(f, "{origin}: {e}"),
            ScriptError::Invalid(why) => write!(f, "invalid persona script: {why}"),
        }
    }
}

impl std::error::Error for ScriptError {}

impl Script {
    /// Reads a script from a file, or the built-in one when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Script, ScriptError> {
        let (source, origin) = match path {
            Some(path) => (
                std::fs::read_to_string(path)
                    .map_err(|e| ScriptError::Read(path.display().to_string(), e))?,
                path.display().to_string(),
            ),
            None => (DEFAULT_PERSONAS.to_owned(), "personas.toml".to_owned()),
        };
        let script: Script = toml::from_str(&source).map_err(|e| ScriptError::Parse(origin, e))?;
        script.validate()?;
        Ok(script)
    }

    fn validate(&self) -> Result<(), ScriptError> {
        let invalid = |why: String| Err(ScriptError::Invalid(why));
        if self.game.rounds == 0 || self.game.round_secs.is_nan() || self.game.round_secs < 1.0 {
            return invalid("a match needs at least one round of at least one second".into());
        }
        if self.personas.is_empty() {
            return invalid("no persona".into());
        }
        for (i, p) in self.personas.iter().enumerate() {
            if self.personas[..i].iter().any(|q| q.id == p.id) {
                return invalid(format!("persona id {:?} is used twice", p.id));
            }
            if p.chat_every_secs.is_nan() || p.chat_every_secs <= 0.0 {
                return invalid(format!("{}: chat_every_secs must be above 0", p.id));
            }
            for chance in [p.report_chance, p.block_chance, p.retract_chance] {
                if !(0.0..=1.0).contains(&chance) {
                    return invalid(format!("{}: chances must be in [0, 1]", p.id));
                }
            }
            if p.stages.iter().any(|s| s.lines.is_empty()) {
                return invalid(format!("{}: a stage has no lines", p.id));
            }
            if !p.stages.iter().any(|s| s.from_round <= 1) {
                return invalid(format!("{}: no stage starts at round 1", p.id));
            }
            for level in &p.expect {
                if !matches!(level.as_str(), "nudge" | "help" | "review") {
                    return invalid(format!("{}: unknown expected response {level:?}", p.id));
                }
            }
        }
        Ok(())
    }
}

impl Persona {
    /// The stage for a round: the one with the highest `from_round` not above it.
    pub fn stage(&self, round: u32) -> Option<&Stage> {
        self.stages
            .iter()
            .filter(|s| s.from_round <= round)
            .max_by_key(|s| s.from_round)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_script_is_valid() {
        let script = Script::load(None).expect("valid script");
        assert_eq!(script.personas.len(), 8);
        let drift = script
            .personas
            .iter()
            .find(|p| p.id == "drift-en")
            .expect("drift-en");
        assert_eq!(drift.stage(1).map(|s| s.from_round), Some(1));
        assert_eq!(drift.stage(9).map(|s| s.from_round), Some(4));
    }
}
