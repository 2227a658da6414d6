//! Human-review referrals: the case packet a reviewer reads, the signed webhook that carries it,
//! and the durable spool that makes sure it is never lost.
//!
//! A referral is the most serious thing Waypoint does: it asks a human to look at a player. This
//! module therefore has three jobs:
//!
//! - [`CasePacket`] — a versioned JSON document (schema in `docs/referral-packet.md`) with exactly
//!   what a reviewer needs, including the fields of a statement of reasons (DSA Art. 17): facts
//!   and circumstances, the fact that automated means were used for *detection* only, the ground
//!   (a terms-of-service clause from the policy) and redress information.
//! - [`ReferralSender`] — delivery to an HTTP webhook. `send` never blocks on disk or network: it
//!   serialises the packet, reserves room in the spool and hands it to the `waypoint-referral-spool`
//!   thread through a bounded queue. That thread writes it to the [spool](SpoolLimits) (fsynced)
//!   and passes it on to the `waypoint-referral-delivery` thread, which POSTs it with a
//!   `Waypoint-Signature` header (see [`sign`]) and an `Idempotency-Key`, retries with exponential
//!   backoff and jitter, honours `429`/`Retry-After`, and removes it from the spool only after a
//!   `2xx`. A `4xx` other than `408`/`429` is a permanent failure: the record is moved to the
//!   spool's `failed/` folder and reported. Unsent records are replayed on the next start.
//! - [`verify_signature`] — the check the platform's receiving side runs on each request.
//!
//! Nothing is dropped silently: a full queue or a full spool hands the packet back to the caller
//! in the error, bumps a counter in [`ReferralStats`], flips a flag in [`ReferralHealth`], emits a
//! [`ReferralEvent`] and prints a line on standard error.
//!
//! ```no_run
//! use waypoint::referral::{CaseInput, CasePacket, ReferralConfig, ReferralSender};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config: ReferralConfig = toml::from_str(r#"
//!     ground = "Terms of service §4.2 (no hate speech)"
//!     redress_url = "https://example.invalid/appeal"
//!     [webhook]
//!     url = "https://review.example.invalid/waypoint"
//!     secret_env = "WAYPOINT_WEBHOOK_SECRET"
//!     key_id = "2025-01"
//! "#)?;
//! let sender = ReferralSender::builder().config(&config).start()?;
//! let packet = CasePacket::new(
//!     CaseInput { player_pseudonym: "9f2c…".into(), rule: "hate.review".into(), ..CaseInput::default() },
//!     &config,
//! );
//! sender.send(packet)?; // returns at once
//! sender.shutdown(std::time::Duration::from_secs(2));
//! # Ok(())
//! # }
//! ```

mod delivery;
mod events;
mod packet;
mod sender;
mod shared;
mod signature;
mod spool;

pub use crate::config::referral::{
    ReferralConfig, ReferralConfigError, RetryConfig, SpoolLimits, WebhookConfig,
};
pub use events::{
    EventCallback, FlushStatus, ReferralEvent, ReferralHealth, ReferralStats, SendError, StartError,
};
pub use packet::{
    CASE_PACKET_SCHEMA_VERSION, CaseInput, CasePacket, CategoryScore, EarlierResponse,
    InputLexiconHit, InputMessage, MessageRole, PacketLexiconHit, PacketMessage,
    PacketTrajectoryPoint, PlayerRef, Redress, StatementOfReasons, Versions,
};
pub use sender::{ReferralSender, ReferralSenderBuilder};
pub use signature::{
    DEFAULT_TOLERANCE, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, SignError, VerifiedSignature,
    VerifyError, sign, sign_with_keys, verify_signature, verify_signature_at,
};
pub use spool::SpoolError;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_unix_secs() -> u64 {
    now_unix_ms() / 1000
}

/// Formats Unix milliseconds as an RFC 3339 UTC timestamp with millisecond precision,
/// e.g. `2025-03-01T12:00:00.000Z`.
pub(crate) fn rfc3339_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let millis = unix_ms % 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Howard Hinnant's algorithm, restricted to non-negative day counts.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Parses lowercase or uppercase hex; `None` on odd length or a non-hex character.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_utc(1_740_830_400_000), "2025-03-01T12:00:00.000Z");
    }

    #[test]
    fn days_round_trip() {
        for days in [0_u64, 59, 60, 11_016, 20_148, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00abFF"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }
}
