//! `[telemetry]`: how often windows close, how they are protected, and where they go.

use std::path::PathBuf;

use serde::Deserialize;

/// The `[telemetry]` section of the policy.
///
/// ```toml
/// [telemetry]
/// window_secs = 3600                   # one record per server per hour
/// k = 10                               # cells below 10 are suppressed
/// epsilon = 1.0                        # optional Laplace noise (see `privacy`)
/// carry_over = true                    # small cells wait for the next window
/// server_id = "eu-west-3"
/// file_dir = "/var/lib/game/telemetry" # rotating JSONL files
/// http_url = "https://telemetry.example/ingest"
/// ```
///
/// Every field has a default, so an empty section (or none) is valid: hourly windows, k = 10, no
/// noise, server id `default`, no exporter (aggregation only).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Length of one aggregation window in seconds. Windows are aligned to multiples of this
    /// length since the Unix epoch, so windows of different servers line up and merge.
    pub window_secs: u64,
    /// The suppression threshold: an exported count below `k` is replaced by a "suppressed" mark.
    pub k: u64,
    /// Laplace noise budget per window (see [`Privacy`](crate::telemetry::Privacy)); `None`
    /// disables noise.
    pub epsilon: Option<f64>,
    /// Carry cells below `k` into the next window instead of losing them (ignored with noise;
    /// see [`Privacy`](crate::telemetry::Privacy)).
    pub carry_over: bool,
    /// This server's name in exported records (letters, digits, `.`, `_`, `-`; at most 64).
    pub server_id: String,
    /// Directory for rotating JSONL files; `None` disables the file exporter.
    pub file_dir: Option<PathBuf>,
    /// A file is closed and a new one started once it reaches this many bytes.
    pub file_max_bytes: u64,
    /// Endpoint that receives batches of records as `application/x-ndjson` POSTs; `None`
    /// disables the HTTP exporter.
    pub http_url: Option<String>,
    /// Records each exporter holds while its destination is unavailable; older ones are dropped
    /// (and counted) beyond this.
    pub queue_capacity: usize,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            window_secs: 3600,
            k: 10,
            epsilon: None,
            carry_over: true,
            server_id: "default".to_owned(),
            file_dir: None,
            file_max_bytes: 16 * 1024 * 1024,
            http_url: None,
            queue_capacity: 1024,
        }
    }
}

/// Why a [`TelemetryConfig`] was rejected by [`TelemetryConfig::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TelemetryConfigError {
    /// `window_secs` is zero.
    #[error("telemetry.window_secs must be at least 1")]
    ZeroWindow,
    /// `k` is zero.
    #[error("telemetry.k must be at least 1 (10 is the recommended minimum)")]
    ZeroK,
    /// `epsilon` is not a positive finite number.
    #[error("telemetry.epsilon must be a positive finite number, got {0}")]
    Epsilon(f64),
    /// `server_id` is empty, too long, or has characters other than letters, digits, `.`, `_`, `-`.
    #[error("telemetry.server_id {0:?} must be 1 to 64 ASCII letters, digits, '.', '_' or '-'")]
    ServerId(String),
    /// `http_url` does not start with `http://` or `https://`.
    #[error("telemetry.http_url {0:?} must start with http:// or https://")]
    HttpUrl(String),
    /// `file_max_bytes` is zero.
    #[error("telemetry.file_max_bytes must be at least 1")]
    ZeroFileSize,
    /// `queue_capacity` is zero.
    #[error("telemetry.queue_capacity must be at least 1")]
    ZeroQueue,
}

impl TelemetryConfig {
    /// Checks the values serde cannot check on its own.
    pub fn validate(&self) -> Result<(), TelemetryConfigError> {
        if self.window_secs == 0 {
            return Err(TelemetryConfigError::ZeroWindow);
        }
        if self.k == 0 {
            return Err(TelemetryConfigError::ZeroK);
        }
        if let Some(eps) = self.epsilon
            && !(eps.is_finite() && eps > 0.0)
        {
            return Err(TelemetryConfigError::Epsilon(eps));
        }
        if !valid_server_id(&self.server_id) {
            return Err(TelemetryConfigError::ServerId(self.server_id.clone()));
        }
        if let Some(url) = &self.http_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(TelemetryConfigError::HttpUrl(url.clone()));
        }
        if self.file_max_bytes == 0 {
            return Err(TelemetryConfigError::ZeroFileSize);
        }
        if self.queue_capacity == 0 {
            return Err(TelemetryConfigError::ZeroQueue);
        }
        Ok(())
    }
}

/// Whether `id` is an acceptable server id (also used for file names).
pub(crate) fn valid_server_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
