//! The `Waypoint-Signature` header: signing (sender side) and verification (receiver side).
//!
//! Format: `Waypoint-Signature: t=<unix seconds>,kid=<key id>,v1=<hex>[,v1=<hex>…]` where each
//! `<hex>` is the lowercase hex HMAC-SHA256, under one secret, of the bytes `<t>.<raw body>`.
//! Several `v1=` entries are allowed while keys rotate; a request is accepted if any of them
//! matches any secret the receiver holds. Unknown entries (e.g. a future `v2=`) are ignored.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{from_hex, now_unix_secs, to_hex};
use crate::config::referral::validate_key_id;

type HmacSha256 = Hmac<Sha256>;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "Waypoint-Signature";
/// Name of the idempotency header; its value is the packet's case id.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// A sensible replay window for [`verify_signature`]: five minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The key id is empty or contains `,`, `=`, `;` or whitespace.
    #[error("key id {0:?} cannot appear in the signature header")]
    InvalidKeyId(String),
    /// No secret was given.
    #[error("no signing secret")]
    NoSecret,
}

/// Why a request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// There is no `Waypoint-Signature` header.
    #[error("missing {SIGNATURE_HEADER} header")]
    MissingHeader,
    /// The header is present more than once, is not text, or lacks a valid `t=`.
    #[error("malformed {SIGNATURE_HEADER} header: {0}")]
    Malformed(&'static str),
    /// The timestamp is outside the tolerance window (an old, replayed or future-dated request).
    #[error("signature timestamp {timestamp} is more than {tolerance_secs}s away from now ({now})")]
    OutsideTolerance {
        /// The header's `t=`.
        timestamp: u64,
        /// The receiver's clock.
        now: u64,
        /// The allowed distance in seconds.
        tolerance_secs: u64,
    },
    /// No `v1=` entry matches the body under any of the given secrets (tampered body, wrong
    /// secret, or forged signature).
    #[error("no signature matches the body")]
    NoMatchingSignature,
    /// The receiver passed no secret.
    #[error("no verification secret")]
    NoSecret,
}

/// What a valid signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The header's `t=` (Unix seconds).
    pub timestamp: u64,
    /// The header's `kid=`, if present.
    pub key_id: Option<String>,
    /// Index into the given secrets of the one that matched.
    pub secret_index: usize,
}

/// Makes the `Waypoint-Signature` header value for `body` at time `unix_secs`.
pub fn sign(body: &[u8], secret: &[u8], key_id: &str, unix_secs: u64) -> Result<String, SignError> {
    sign_with_keys(body, &[secret], key_id, unix_secs)
}

/// Like [`sign`], with one `v1=` entry per secret (for key rotation).
pub fn sign_with_keys(
    body: &[u8],
    secrets: &[&[u8]],
    key_id: &str,
    unix_secs: u64,
) -> Result<String, SignError> {
    if validate_key_id(key_id).is_err() {
        return Err(SignError::InvalidKeyId(key_id.to_owned()));
    }
    if secrets.is_empty() {
        return Err(SignError::NoSecret);
    }
    let mut header = format!("t={unix_secs},kid={key_id}");
    for secret in secrets {
        let tag = mac(secret, unix_secs, body).finalize().into_bytes();
        header.push_str(",v1=");
        header.push_str(&to_hex(&tag));
    }
    Ok(header)
}

fn mac(secret: &[u8], unix_secs: u64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail; the fallback keeps the API panic-free.
    let mut mac =
        HmacSha256::new_from_slice(secret).unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Verifies a request on the receiving side against the current clock.
///
/// `headers` is any list of `(name, value)` pairs — `&http::HeaderMap` works as is, so does a
/// `Vec<(String, String)>`; names are compared case-insensitively. `body` must be the raw bytes
/// as received, before any JSON parsing. Rejects requests whose `t=` is more than `tolerance`
/// away from now (replays) and requests whose signatures do not match (tampering).
///
/// Replays *inside* the window carry the same `Idempotency-Key` (the case id, also in the
/// body): deduplicate on it.
pub fn verify_signature<I, K, V>(
    headers: I,
    body: &[u8],
    secret: &[u8],
    tolerance: Duration,
) -> Result<VerifiedSignature, VerifyError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    verify_signature_at(headers, body, &[secret], tolerance, now_unix_secs())
}

/// Like [`verify_signature`], with several secrets (key rotation) and an explicit clock.
pub fn verify_signature_at<I, K, V>(
    headers: I,
    body: &[u8],
    secrets: &[&[u8]],
    tolerance: Duration,
    now_unix_secs: u64,
) -> Result<VerifiedSignature, VerifyError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let mut found: Option<String> = None;
    for (name, value) in headers {
        if name.as_ref().eq_ignore_ascii_case(SIGNATURE_HEADER) {
            if found.is_some() {
                return Err(VerifyError::Malformed("header appears more than once"));
            }
            let text = std::str::from_utf8(value.as_ref())
                .map_err(|_| VerifyError::Malformed("not text"))?;
            found = Some(text.to_owned());
        }
    }
    let header = found.ok_or(VerifyError::MissingHeader)?;

    let mut timestamp = None;
    let mut key_id = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(VerifyError::Malformed("entry without '='"));
        };
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(VerifyError::Malformed("more than one t="));
                }
                timestamp = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| VerifyError::Malformed("t= is not a number"))?,
                );
            }
            "kid" => key_id = Some(value.trim().to_owned()),
            "v1" => {
                if let Some(bytes) = from_hex(value.trim()).filter(|b| b.len() == 32) {
                    candidates.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed("missing t="))?;
    let tolerance_secs = tolerance.as_secs();
    if timestamp.abs_diff(now_unix_secs) > tolerance_secs {
        return Err(VerifyError::OutsideTolerance {
            timestamp,
            now: now_unix_secs,
            tolerance_secs,
        });
    }
    for (secret_index, secret) in secrets.iter().enumerate() {
        for candidate in &candidates {
            // `verify_slice` compares in constant time.
            if mac(secret, timestamp, body).verify_slice(candidate).is_ok() {
                return Ok(VerifiedSignature {
                    timestamp,
                    key_id,
                    secret_index,
                });
            }
        }
    }
    Err(VerifyError::NoMatchingSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // HMAC-SHA256(key = "secret", "1700000000.{}") computed independently.
        let header = sign(b"{}", b"secret", "k1", 1_700_000_000).unwrap();
        assert_eq!(
            header,
            "t=1700000000,kid=k1,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn round_trip_and_rotation() {
        let header = sign_with_keys(b"body", &[b"new", b"old"], "k2", 100).unwrap();
        let headers = [("waypoint-signature", header.as_str())];
        let ok = verify_signature_at(headers, b"body", &[b"old"], DEFAULT_TOLERANCE, 100).unwrap();
        assert_eq!(ok.key_id.as_deref(), Some("k2"));
        assert_eq!(ok.timestamp, 100);
        let ok = verify_signature_at(
            headers,
            b"body",
            &[b"other", b"new"],
            DEFAULT_TOLERANCE,
            100,
        )
        .unwrap();
        assert_eq!(ok.secret_index, 1);
    }

    #[test]
    fn rejections() {
        let header = sign(b"body", b"s", "k", 1000).unwrap();
        let headers = [(SIGNATURE_HEADER, header.as_str())];
        let tol = Duration::from_secs(60);
        assert_eq!(
            verify_signature_at(headers, b"bodY", &[b"s"], tol, 1000),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify_signature_at(headers, b"body", &[b"x"], tol, 1000),
            Err(VerifyError::NoMatchingSignature)
        );
        assert!(matches!(
            verify_signature_at(headers, b"body", &[b"s"], tol, 1061),
            Err(VerifyError::OutsideTolerance { .. })
        ));
        assert!(matches!(
            verify_signature_at(headers, b"body", &[b"s"], tol, 939),
            Err(VerifyError::OutsideTolerance { .. })
        ));
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            verify_signature_at(none, b"body", &[b"s"], tol, 1000),
            Err(VerifyError::MissingHeader)
        );
        let twice = [
            (SIGNATURE_HEADER, header.as_str()),
            ("WAYPOINT-SIGNATURE", header.as_str()),
        ];
        assert!(matches!(
            verify_signature_at(twice, b"body", &[b"s"], tol, 1000),
            Err(VerifyError::Malformed(_))
        ));
        let no_t = [(SIGNATURE_HEADER, "kid=k,v1=00")];
        assert!(matches!(
            verify_signature_at(no_t, b"body", &[b"s"], tol, 1000),
            Err(VerifyError::Malformed(_))
        ));
        assert_eq!(
            sign(b"", b"s", "a b", 1),
            Err(SignError::InvalidKeyId("a b".into()))
        );
    }
}
