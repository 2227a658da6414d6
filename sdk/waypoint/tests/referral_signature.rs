//! The receiving side's verifier against requests the sender really made over loopback HTTP:
//! tampered bodies, tampered signatures and replays are rejected.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

mod referral_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use referral_support::{KEY_ID, SECRET, TestReceiver, packet, sender_builder};
use waypoint::referral::{
    CasePacket, SIGNATURE_HEADER, VerifyError, verify_signature, verify_signature_at,
};

/// Sends one raw HTTP/1.1 POST and returns the status code.
fn post(receiver: &TestReceiver, headers: &[(String, String)], body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(receiver.addr).unwrap();
    let mut request = String::from("POST /referrals HTTP/1.1\r\n");
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "connection" || lower == "host" {
            continue;
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Host: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        receiver.addr,
        body.len()
    ));
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

fn replace_header(
    headers: &[(String, String)],
    name: &str,
    value: String,
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case(name) {
                (k.clone(), value.clone())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

#[test]
fn tampered_and_replayed_requests_are_rejected() {
    // The receiver allows one second of clock distance so that a replay is quickly "old".
    let receiver = TestReceiver::start(0, Duration::from_secs(1));
    let spool = tempfile::tempdir().unwrap();
    let sender = sender_builder(&receiver.url(), spool.path())
        .start()
        .unwrap();
    let id = sender.send(packet(3)).unwrap();
    assert_eq!(sender.flush(Duration::from_secs(10)).pending, 0);
    sender.shutdown(Duration::from_secs(5));

    let original = receiver.captured().pop().unwrap();
    let headers = original.headers.clone();
    let body = original.body.clone();
    let sig = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(SIGNATURE_HEADER))
        .unwrap()
        .1
        .clone();
    assert!(
        sig.starts_with("t=") && sig.contains(&format!(",kid={KEY_ID},v1=")),
        "{sig}"
    );
    let parsed: CasePacket = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed.case_id, id);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("idempotency-key") && *v == id.to_string())
    );

    // The genuine request verifies.
    verify_signature(
        headers.iter().map(|(k, v)| (k, v)),
        &body,
        SECRET,
        Duration::from_secs(60),
    )
    .unwrap();

    // Tampered body: one flagged message rewritten.
    let tampered_body = String::from_utf8(body.clone())
        .unwrap()
        .replace("flagged message", "friendly message");
    assert_ne!(tampered_body.as_bytes(), &body[..]);
    assert_eq!(
        verify_signature(
            headers.iter().map(|(k, v)| (k, v)),
            tampered_body.as_bytes(),
            SECRET,
            Duration::from_secs(60)
        ),
        Err(VerifyError::NoMatchingSignature)
    );
    let rejected_before = receiver.rejected();
    assert_eq!(post(&receiver, &headers, tampered_body.as_bytes()), 401);

    // Tampered signature: last hex digit flipped.
    let mut forged = sig.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let forged_headers = replace_header(&headers, SIGNATURE_HEADER, forged);
    assert_eq!(post(&receiver, &forged_headers, &body), 401);

    // A valid signature under another secret, and a moved timestamp, do not pass either.
    let t: u64 = sig
        .trim_start_matches("t=")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let wrong_key = waypoint::referral::sign(&body, b"another-secret", KEY_ID, t).unwrap();
    assert_eq!(
        post(
            &receiver,
            &replace_header(&headers, SIGNATURE_HEADER, wrong_key),
            &body
        ),
        401
    );
    let moved = sig.replacen(&format!("t={t}"), &format!("t={}", t + 1), 1);
    assert_eq!(
        post(
            &receiver,
            &replace_header(&headers, SIGNATURE_HEADER, moved),
            &body
        ),
        401
    );

    // Replay of the untouched request once it is older than the receiver's tolerance.
    thread::sleep(Duration::from_millis(2_300));
    assert_eq!(post(&receiver, &headers, &body), 401);
    assert!(matches!(
        verify_signature(
            headers.iter().map(|(k, v)| (k, v)),
            &body,
            SECRET,
            Duration::from_secs(1)
        ),
        Err(VerifyError::OutsideTolerance { .. })
    ));
    assert_eq!(receiver.rejected(), rejected_before + 5);
    // Nothing tampered or replayed was counted as a new referral.
    assert_eq!(receiver.accepted().len(), 1);
}

#[test]
fn key_rotation_accepts_any_matching_v1() {
    let body = br#"{"schema_version":1}"#;
    let header =
        waypoint::referral::sign_with_keys(body, &[b"new-secret", b"old-secret"], "2025-02", 1_000)
            .unwrap();
    assert_eq!(header.matches("v1=").count(), 2);
    let headers = [("Waypoint-Signature", header.as_str())];
    let old_only = verify_signature_at(
        headers,
        body,
        &[b"old-secret"],
        Duration::from_secs(300),
        1_000,
    )
    .unwrap();
    assert_eq!(old_only.key_id.as_deref(), Some("2025-02"));
    verify_signature_at(
        headers,
        body,
        &[b"unrelated", b"new-secret"],
        Duration::from_secs(300),
        1_200,
    )
    .unwrap();
    assert_eq!(
        verify_signature_at(
            headers,
            body,
            &[b"unrelated"],
            Duration::from_secs(300),
            1_000
        ),
        Err(VerifyError::NoMatchingSignature)
    );
}
