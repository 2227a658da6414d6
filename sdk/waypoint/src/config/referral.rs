//! The `[referral]` section of the policy: statement-of-reasons texts, context size, webhook,
//! spool and retry settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Referral settings, meant to be embedded in the policy as `[referral]`.
///
/// Every field has a default, so an empty table is valid; unknown keys are rejected.
///
/// ```toml
/// [referral]
/// ground = "Terms of service §4.2: no hate speech or harassment"
/// redress_text = "The player can contest any action through in-game support."
/// redress_url = "https://example.invalid/appeal"
/// context_messages = 2
///
/// [referral.webhook]
/// url = "https://review.example.invalid/waypoint"
/// secret_env = "WAYPOINT_WEBHOOK_SECRET"
/// key_id = "2025-01"
///
/// [referral.spool]
/// dir = "/var/lib/game/waypoint-spool"
/// max_records = 10000
/// max_bytes = 67108864
///
/// [referral.retry]
/// initial_backoff_ms = 500
/// max_backoff_ms = 300000
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferralConfig {
    /// The ground for the referral: the terms-of-service clause the content may breach. Copied
    /// into every packet's statement of reasons.
    pub ground: String,
    /// Redress information for the statement of reasons: how the player can contest a decision.
    pub redress_text: String,
    /// Optional link for redress (an appeal form, a support page).
    pub redress_url: Option<String>,
    /// How many earlier, unflagged messages to include before each flagged message (0 by
    /// default: only the flagged lines).
    pub context_messages: usize,
    /// Optional HTTP webhook. Without it, referrals go to the platform hook only.
    pub webhook: Option<WebhookConfig>,
    /// Where the durable spool lives and how large it may grow.
    pub spool: SpoolLimits,
    /// Backoff and timeout settings for webhook delivery.
    pub retry: RetryConfig,
    /// Capacity of the in-memory queue between `send` and the spool writer.
    pub queue_capacity: usize,
}

impl Default for ReferralConfig {
    fn default() -> Self {
        ReferralConfig {
            ground: "Terms of service: rules of conduct for players".to_owned(),
            redress_text:
                "A human reviewer decides on this case. The player can contest any resulting \
                           decision through the platform's support or appeal channel."
                    .to_owned(),
            redress_url: None,
            context_messages: 0,
            webhook: None,
            spool: SpoolLimits::default(),
            retry: RetryConfig::default(),
            queue_capacity: 1024,
        }
    }
}

/// `[referral.webhook]`: where referrals are POSTed and how they are signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL of the receiver.
    pub url: String,
    /// Name of the environment variable that holds the signing secret (never the secret itself).
    pub secret_env: String,
    /// Key id sent as `kid=` in the signature header, so the receiver can pick the right secret.
    pub key_id: String,
}

/// `[referral.spool]`: the durable spool's folder and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolLimits {
    /// Folder of the spool (created if missing). Relative paths are relative to the process's
    /// working directory.
    pub dir: PathBuf,
    /// Most undelivered referrals kept at once. Beyond this, `send` refuses and reports loudly.
    pub max_records: usize,
    /// Most bytes of undelivered packets kept at once.
    pub max_bytes: u64,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        SpoolLimits {
            dir: PathBuf::from("waypoint-spool"),
            max_records: 10_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// `[referral.retry]`: delivery backoff and timeouts.
///
/// After a failed attempt the whole endpoint waits `min(max_backoff, initial_backoff · 2^(n-1))`
/// with equal jitter (half fixed, half random) where `n` counts consecutive failures; a
/// `Retry-After` from a `429` or `503` is honoured up to `max_retry_after_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First backoff after a failure, in milliseconds.
    pub initial_backoff_ms: u64,
    /// Largest backoff, in milliseconds.
    pub max_backoff_ms: u64,
    /// Largest `Retry-After` honoured, in seconds (longer values are capped).
    pub max_retry_after_secs: u64,
    /// Timeout of one request, connection included, in milliseconds.
    pub request_timeout_ms: u64,
    /// Timeout for establishing the connection, in milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff_ms: 500,
            max_backoff_ms: 300_000,
            max_retry_after_secs: 3600,
            request_timeout_ms: 10_000,
            connect_timeout_ms: 5_000,
        }
    }
}

impl RetryConfig {
    /// The backoff before the next attempt after `consecutive_failures` (≥ 1) failures, without
    /// jitter.
    pub fn backoff(&self, consecutive_failures: u32) -> Duration {
        let exponent = consecutive_failures.saturating_sub(1).min(40);
        let millis = self
            .initial_backoff_ms
            .saturating_mul(1_u64 << exponent)
            .min(self.max_backoff_ms);
        Duration::from_millis(millis)
    }
}

/// Why a [`ReferralConfig`] is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferralConfigError {
    /// `ground` is empty: a statement of reasons needs a ground.
    #[error("referral.ground must name the terms-of-service clause (it is empty)")]
    EmptyGround,
    /// `redress_text` is empty and there is no `redress_url`.
    #[error(
        "referral.redress_text or referral.redress_url must say how a decision can be contested"
    )]
    NoRedress,
    /// The webhook URL is not an absolute `http://` or `https://` URL.
    #[error("referral.webhook.url must start with http:// or https:// (got {0:?})")]
    InvalidUrl(String),
    /// The environment-variable name for the secret is empty or not a plain name.
    #[error("referral.webhook.secret_env must be an environment variable name (got {0:?})")]
    InvalidSecretEnv(String),
    /// The key id is empty or contains `,`, `=` or whitespace, which the header format forbids.
    #[error("referral.webhook.key_id must be non-empty without ',', '=' or spaces (got {0:?})")]
    InvalidKeyId(String),
    /// A limit that must be positive is zero.
    #[error("referral.{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// `max_backoff_ms` is smaller than `initial_backoff_ms`.
    #[error("referral.retry.max_backoff_ms must be at least initial_backoff_ms")]
    BackoffOrder,
}

impl ReferralConfig {
    /// Checks the values serde cannot: non-empty ground, a URL scheme, key-id syntax, positive
    /// limits.
    pub fn validate(&self) -> Result<(), ReferralConfigError> {
        if self.ground.trim().is_empty() {
            return Err(ReferralConfigError::EmptyGround);
        }
        if self.redress_text.trim().is_empty()
            && self
                .redress_url
                .as_deref()
                .is_none_or(|u| u.trim().is_empty())
        {
            return Err(ReferralConfigError::NoRedress);
        }
        if let Some(webhook) = &self.webhook {
            validate_url(&webhook.url)?;
            validate_key_id(&webhook.key_id)?;
            let env_ok = !webhook.secret_env.is_empty()
                && webhook
                    .secret_env
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !env_ok {
                return Err(ReferralConfigError::InvalidSecretEnv(
                    webhook.secret_env.clone(),
                ));
            }
        }
        validate_limits(&self.spool, &self.retry, self.queue_capacity)
    }
}

/// Spool, queue and retry limits must be positive, and the longest backoff at least the first.
pub(crate) fn validate_limits(
    spool: &SpoolLimits,
    retry: &RetryConfig,
    queue_capacity: usize,
) -> Result<(), ReferralConfigError> {
    let limits = [
        ("spool.max_records", spool.max_records as u64),
        ("spool.max_bytes", spool.max_bytes),
        ("queue_capacity", queue_capacity as u64),
        ("retry.initial_backoff_ms", retry.initial_backoff_ms),
        ("retry.request_timeout_ms", retry.request_timeout_ms),
        ("retry.connect_timeout_ms", retry.connect_timeout_ms),
    ];
    if let Some((name, _)) = limits.iter().find(|(_, v)| *v == 0) {
        return Err(ReferralConfigError::ZeroLimit(name));
    }
    if retry.max_backoff_ms < retry.initial_backoff_ms {
        return Err(ReferralConfigError::BackoffOrder);
    }
    Ok(())
}

/// Accepts absolute `http://` / `https://` URLs with a host.
pub(crate) fn validate_url(url: &str) -> Result<(), ReferralConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty() && !rest.starts_with('/') && !url.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(ReferralConfigError::InvalidUrl(url.to_owned())),
    }
}

/// Accepts key ids that fit in the signature header unescaped.
pub(crate) fn validate_key_id(key_id: &str) -> Result<(), ReferralConfigError> {
    let ok = !key_id.is_empty()
        && key_id
            .chars()
            .all(|c| c.is_ascii_graphic() && c != ',' && c != '=' && c != ';');
    if ok {
        Ok(())
    } else {
        Err(ReferralConfigError::InvalidKeyId(key_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_is_default_and_valid() {
        let config: ReferralConfig = toml::from_str("").unwrap();
        assert_eq!(config, ReferralConfig::default());
        config.validate().unwrap();
    }

    #[test]
    fn full_table_parses() {
        let config: ReferralConfig = toml::from_str(
            r#"
            ground = "ToS 4.2"
            redress_url = "https://example.invalid/appeal"
            context_messages = 2
            queue_capacity = 8
            [webhook]
            url = "http://127.0.0.1:9/hook"
            secret_env = "HOOK_SECRET"
            key_id = "k1"
            [spool]
            dir = "/tmp/x"
            max_records = 5
            [retry]
            initial_backoff_ms = 10
            max_backoff_ms = 100
            "#,
        )
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.context_messages, 2);
        assert_eq!(config.spool.max_records, 5);
        assert_eq!(config.spool.max_bytes, SpoolLimits::default().max_bytes);
        assert_eq!(config.webhook.unwrap().key_id, "k1");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<ReferralConfig>("grounds = 'x'").is_err());
        assert!(
            toml::from_str::<ReferralConfig>(
                "[webhook]\nurl='http://a'\nsecret_env='S'\nkey_id='k'\nsecret='x'"
            )
            .is_err()
        );
        assert!(toml::from_str::<ReferralConfig>("[retry]\nbackoff = 1").is_err());
    }

    #[test]
    fn validation_catches_bad_values() {
        let mut config = ReferralConfig {
            ground: " ".into(),
            ..ReferralConfig::default()
        };
        assert_eq!(config.validate(), Err(ReferralConfigError::EmptyGround));
        config.ground = "ToS".into();
        config.webhook = Some(WebhookConfig {
            url: "ftp://x".into(),
            secret_env: "S".into(),
            key_id: "k".into(),
        });
        assert!(matches!(
            config.validate(),
            Err(ReferralConfigError::InvalidUrl(_))
        ));
        config.webhook = Some(WebhookConfig {
            url: "https://x".into(),
            secret_env: "S".into(),
            key_id: "a,b".into(),
        });
        assert!(matches!(
            config.validate(),
            Err(ReferralConfigError::InvalidKeyId(_))
        ));
        config.webhook = Some(WebhookConfig {
            url: "https://x".into(),
            secret_env: "A B".into(),
            key_id: "k".into(),
        });
        assert!(matches!(
            config.validate(),
            Err(ReferralConfigError::InvalidSecretEnv(_))
        ));
        config.webhook = None;
        config.retry.max_backoff_ms = 1;
        assert_eq!(config.validate(), Err(ReferralConfigError::BackoffOrder));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let retry = RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..RetryConfig::default()
        };
        assert_eq!(retry.backoff(1), Duration::from_millis(100));
        assert_eq!(retry.backoff(2), Duration::from_millis(200));
        assert_eq!(retry.backoff(4), Duration::from_millis(800));
        assert_eq!(retry.backoff(5), Duration::from_millis(1000));
        assert_eq!(retry.backoff(500), Duration::from_millis(1000));
    }
}
