//! Loopback HTTP receivers for the referral tests: a verifying, deduplicating receiver (a real
//! `tiny_http` server that runs `verify_signature` like a platform would) and a hanging server
//! that accepts connections and never answers.

#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test-only helpers shared by several test crates, each using a different subset"
)]

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use waypoint::referral::{
    CaseInput, CasePacket, CategoryScore, IDEMPOTENCY_HEADER, InputMessage, ReferralConfig,
    ReferralSender, ReferralSenderBuilder, RetryConfig, verify_signature,
};

pub const SECRET: &[u8] = b"test-secret-0123456789";
pub const KEY_ID: &str = "test-key-1";

/// Retry settings that keep tests in seconds.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        initial_backoff_ms: 50,
        max_backoff_ms: 400,
        max_retry_after_secs: 5,
        request_timeout_ms: 2_000,
        connect_timeout_ms: 500,
    }
}

/// A sender to `url` with the test key, spooling into `spool`, retrying on [`fast_retry`]
/// (callers may override any setting, e.g. `.retry(..)`).
pub fn sender_builder(url: &str, spool: &std::path::Path) -> ReferralSenderBuilder {
    ReferralSender::builder()
        .url(url)
        .key_id(KEY_ID)
        .secret(SECRET)
        .spool_dir(spool)
        .retry(fast_retry())
}

/// A small referral packet.
pub fn packet(i: usize) -> CasePacket {
    CasePacket::new(
        CaseInput {
            player_pseudonym: format!("{:064x}", i + 1),
            age_band: Some("16-17".into()),
            rule: "hate.review".into(),
            categories: vec![CategoryScore::new("hate", 0.91)],
            messages: vec![InputMessage {
                sent_at_unix_ms: 1_700_000_000_000 + i as u64,
                text: format!("flagged message number {i}"),
                flagged: true,
                ..InputMessage::default()
            }],
            ..CaseInput::default()
        },
        &ReferralConfig::default(),
    )
}

/// An unused loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the receiver answers to a correctly signed request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200`, deduplicating by idempotency key.
    Accept,
    /// This status, with an optional `Retry-After` value.
    Status(u16, Option<String>),
}

#[derive(Debug, Clone)]
pub struct Captured {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    /// Idempotency key → requests accepted as new (must be 1 after dedupe).
    accepted: HashMap<String, usize>,
    /// Idempotency key → signed requests seen (retries included).
    raw: HashMap<String, usize>,
    /// Requests refused by `verify_signature`.
    rejected: usize,
    /// One-off replies used before falling back to `default_reply`.
    script: VecDeque<Reply>,
    default_reply: Option<Reply>,
    captured: Vec<Captured>,
}

/// A verifying receiver on loopback.
pub struct TestReceiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestReceiver {
    pub fn start(port: u16, tolerance: Duration) -> TestReceiver {
        let server = tiny_http::Server::http(("127.0.0.1", port)).unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let state = Arc::new(Mutex::new(State {
            default_reply: Some(Reply::Accept),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop) = (Arc::clone(&state), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("test-webhook-receiver".into())
            .spawn(move || {
                while !thread_stop.load(Ordering::SeqCst) {
                    let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(20))
                    else {
                        continue;
                    };
                    let mut body = Vec::new();
                    request.as_reader().read_to_end(&mut body).unwrap();
                    let headers: Vec<(String, String)> = request
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_owned(),
                                h.value.as_str().to_owned(),
                            )
                        })
                        .collect();
                    let response = handle(&thread_state, headers, body, tolerance);
                    let _ = request.respond(response);
                }
            })
            .unwrap();
        TestReceiver {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/referrals", self.addr)
    }

    pub fn set_default_reply(&self, reply: Reply) {
        self.state.lock().unwrap().default_reply = Some(reply);
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn accepted(&self) -> HashMap<String, usize> {
        self.state.lock().unwrap().accepted.clone()
    }

    pub fn raw(&self) -> HashMap<String, usize> {
        self.state.lock().unwrap().raw.clone()
    }

    pub fn rejected(&self) -> usize {
        self.state.lock().unwrap().rejected
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.state.lock().unwrap().captured.clone()
    }

    /// Waits until `n` distinct ids were accepted.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.accepted().len() >= n {
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle(
    state: &Mutex<State>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    tolerance: Duration,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut state = state.lock().unwrap();
    state.captured.push(Captured {
        headers: headers.clone(),
        body: body.clone(),
        at: Instant::now(),
    });
    if let Err(error) = verify_signature(
        headers.iter().map(|(k, v)| (k, v)),
        &body,
        SECRET,
        tolerance,
    ) {
        state.rejected += 1;
        return tiny_http::Response::from_string(error.to_string()).with_status_code(401);
    }
    let key = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(IDEMPOTENCY_HEADER))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let content_type_ok = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json");
    if key.is_empty() || !content_type_ok {
        return tiny_http::Response::from_string("missing idempotency key or content type")
            .with_status_code(400);
    }
    *state.raw.entry(key.clone()).or_default() += 1;
    let reply = match state.script.pop_front() {
        Some(reply) => reply,
        None => state.default_reply.clone().unwrap_or(Reply::Accept),
    };
    match reply {
        Reply::Accept => {
            // Deduplicate: a repeated key is acknowledged but not counted again.
            let entry = state.accepted.entry(key).or_default();
            if *entry == 0 {
                *entry = 1;
            }
            tiny_http::Response::from_string("ok").with_status_code(200)
        }
        Reply::Status(code, retry_after) => {
            let mut response = tiny_http::Response::from_string("no").with_status_code(code);
            if let Some(value) = retry_after {
                response = response
                    .with_header(tiny_http::Header::from_bytes("Retry-After", value).unwrap());
            }
            response
        }
    }
}

/// Accepts connections, reads what arrives and never answers.
pub struct HangingServer {
    pub addr: SocketAddr,
    /// Number of connections accepted so far.
    accepted: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl HangingServer {
    pub fn start() -> HangingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (held, thread_stop) = (Arc::clone(&accepted), Arc::clone(&stop));
        thread::Builder::new()
            .name("test-hanging-server".into())
            .spawn(move || {
                while !thread_stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => held.lock().unwrap().push(stream),
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
            .unwrap();
        HangingServer {
            addr,
            accepted,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/referrals", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    pub fn wait_for_connection(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.connections() > 0 {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

impl Drop for HangingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
