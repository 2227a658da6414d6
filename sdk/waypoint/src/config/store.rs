//! The `[store]` section of the policy: where shared player state lives.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Shared player-state store settings, embedded in the policy as `[store]` (or given to the
/// engine builder). Without the section each engine keeps player state in its own memory.
///
/// ```toml
/// [store]
/// url_env = "WAYPOINT_STORE_URL"   # or url = "redis://127.0.0.1:6379/0"
/// key_prefix = "mygame"
/// connect_timeout_ms = 250
/// io_timeout_ms = 250
/// retry_ms = 1000
/// cache_players = 100000
/// ```
///
/// The URL may carry a password (`redis://:secret@host:6379/0`); it is never logged or shown
/// (see [`StoreConfig::endpoint`]), and keeping it in an environment variable named by
/// `url_env` keeps it out of the policy file too.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The store's URL, `redis://[user][:password@]host[:port][/db]` (Valkey speaks the same).
    pub url: Option<String>,
    /// The environment variable holding the URL, read when the engine starts.
    pub url_env: Option<String>,
    /// Prefix of every key, so several games can share one store (`<prefix>:player:<pseudonym>`).
    pub key_prefix: String,
    /// Longest wait for a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Longest wait for one answer, in milliseconds.
    pub io_timeout_ms: u64,
    /// After a failure, how long the engine runs on local state before trying the store again.
    pub retry_ms: u64,
    /// Players whose state is kept in the engine's memory between signals (least recently seen
    /// ones are forgotten first; changes not yet in the store are always kept).
    pub cache_players: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: None,
            url_env: None,
            key_prefix: "waypoint".to_owned(),
            connect_timeout_ms: 250,
            io_timeout_ms: 250,
            retry_ms: 1000,
            cache_players: 100_000,
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_deref().map(redacted))
            .field("url_env", &self.url_env)
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("io_timeout_ms", &self.io_timeout_ms)
            .field("retry_ms", &self.retry_ms)
            .field("cache_players", &self.cache_players)
            .finish()
    }
}

/// An invalid `[store]` section or an unusable URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreConfigError {
    /// Neither or both of `url` and `url_env` are set.
    #[error("store: set exactly one of store.url and store.url_env")]
    UrlSource,
    /// The URL is not a `redis://` URL.
    #[error("store.url = {0:?} must start with redis:// (Valkey and Redis both speak it)")]
    Scheme(String),
    /// The URL cannot be used (the password, if any, is not shown).
    #[error("store URL {0} cannot be used: {1}")]
    InvalidUrl(String, String),
    /// The store needs the cargo feature `redis-store`, which this build does not have.
    #[error("the [store] section needs Waypoint built with the cargo feature `redis-store`")]
    FeatureMissing,
    /// The variable named by `url_env` is not set.
    #[error("store.url_env names {0}, which is not set")]
    MissingEnv(String),
    /// A value is out of range.
    #[error("store.{field} = {value} is out of range: {allowed}")]
    OutOfRange {
        /// The key.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
}

impl StoreConfig {
    /// A configuration for `url` with every other setting at its default.
    pub fn with_url(url: impl Into<String>) -> StoreConfig {
        StoreConfig {
            url: Some(url.into()),
            ..StoreConfig::default()
        }
    }

    /// Checks the settings (not the environment variable, which is read at start).
    pub fn validate(&self) -> Result<(), StoreConfigError> {
        match (&self.url, &self.url_env) {
            (Some(url), None) => check_scheme(url)?,
            (None, Some(_)) => {}
            _ => return Err(StoreConfigError::UrlSource),
        }
        let prefix_ok = !self.key_prefix.is_empty()
            && self.key_prefix.len() <= 64
            && self
                .key_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !prefix_ok {
            return Err(StoreConfigError::OutOfRange {
                field: "key_prefix",
                value: format!("{:?}", self.key_prefix),
                allowed: "1 to 64 of a-z, A-Z, 0-9, '-', '_', '.', ':'",
            });
        }
        for (field, value) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("io_timeout_ms", self.io_timeout_ms),
        ] {
            if !(1..=60_000).contains(&value) {
                return Err(out_of_range(field, value, "it must be in [1, 60000]"));
            }
        }
        if !(10..=3_600_000).contains(&self.retry_ms) {
            return Err(out_of_range(
                "retry_ms",
                self.retry_ms,
                "it must be in [10, 3600000]",
            ));
        }
        if self.cache_players == 0 {
            return Err(out_of_range("cache_players", 0, "it must be at least 1"));
        }
        Ok(())
    }

    /// The URL, from `url` or the variable `url_env` names.
    pub fn resolve_url(&self) -> Result<String, StoreConfigError> {
        let url = match (&self.url, &self.url_env) {
            (Some(url), None) => url.clone(),
            (None, Some(var)) => {
                std::env::var(var).map_err(|_| StoreConfigError::MissingEnv(var.clone()))?
            }
            _ => return Err(StoreConfigError::UrlSource),
        };
        check_scheme(&url)?;
        Ok(url)
    }

    /// Where the store is, without any password: for logs, errors and health.
    pub fn endpoint(&self) -> String {
        match (&self.url, &self.url_env) {
            (Some(url), _) => redacted(url),
            (None, Some(var)) => match std::env::var(var) {
                Ok(url) => redacted(&url),
                Err(_) => format!("${var}"),
            },
            (None, None) => "<no url>".to_owned(),
        }
    }

    /// [`StoreConfig::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`StoreConfig::io_timeout_ms`] as a duration.
    pub fn io_timeout(&self) -> Duration {
        Duration::from_millis(self.io_timeout_ms)
    }

    /// [`StoreConfig::retry_ms`] as a duration.
    pub fn retry_interval(&self) -> Duration {
        Duration::from_millis(self.retry_ms)
    }
}

fn out_of_range(field: &'static str, value: u64, allowed: &'static str) -> StoreConfigError {
    StoreConfigError::OutOfRange {
        field,
        value: value.to_string(),
        allowed,
    }
}

fn check_scheme(url: &str) -> Result<(), StoreConfigError> {
    if url.starts_with("redis://") && url.len() > "redis://".len() {
        Ok(())
    } else {
        Err(StoreConfigError::Scheme(redacted(url)))
    }
}

/// `url` with the password in its user information replaced by `***`.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        let config = StoreConfig::with_url("redis://game:hunter2@10.0.0.5:6380/2");
        assert_eq!(config.endpoint(), "redis://game:***@10.0.0.5:6380/2");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(redacted("redis://:s3cret@host"), "redis://:***@host");
        assert_eq!(redacted("redis://host:6379"), "redis://host:6379");
        let bad = StoreConfig::with_url("http://:s3cret@host");
        let e = bad.validate().expect_err("not redis");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn settings_are_validated() {
        assert!(
            StoreConfig::with_url("redis://127.0.0.1:6379")
                .validate()
                .is_ok()
        );
        assert_eq!(
            StoreConfig::default().validate(),
            Err(StoreConfigError::UrlSource)
        );
        let zero_cache = StoreConfig {
            cache_players: 0,
            ..StoreConfig::with_url("redis://h")
        };
        assert!(matches!(
            zero_cache.validate(),
            Err(StoreConfigError::OutOfRange {
                field: "cache_players",
                ..
            })
        ));
        let prefix = StoreConfig {
            key_prefix: "has space".into(),
            ..StoreConfig::with_url("redis://h")
        };
        assert!(prefix.validate().is_err());
    }
}
