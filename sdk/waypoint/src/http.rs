//! The SDK's one HTTP client, shared by referral webhook delivery and the telemetry HTTP
//! exporter.
//!
//! Both transports run on their own threads and call `HttpClient::post`, which returns when
//! the exchange has ended. Where the request itself runs is an [`HttpRuntime`]:
//!
//! - [`HttpRuntime::Blocking`]: reqwest's blocking client (the default, and always the choice
//!   without the `tokio` feature).
//! - `HttpRuntime::Tokio` (with the `tokio` feature): the request runs as a task with async
//!   reqwest on the game server's own tokio runtime, and the transport thread waits for its
//!   answer on a channel. No runtime worker ever waits, and no second runtime is started (the
//!   blocking client keeps a runtime of its own on a hidden thread per client).
//!
//! Transports pick [`HttpRuntime::current`] when they are started unless told otherwise: the
//! tokio runtime they are started in, else blocking.
//!
//! TLS is rustls with the `ring` provider and the platform's certificate verifier. For plain
//! HTTP URLs a verifier that cannot be set up is not an error (an empty root store is used).

use std::sync::Arc;
use std::time::Duration;

/// The first bytes of an error answer's body kept for diagnostics.
const BODY_START_LIMIT: usize = 512;

/// How long the transport thread waits for a tokio task beyond the request's own timeout
/// before it gives up on a runtime that does not run it.
#[cfg(feature = "tokio")]
const TASK_GRACE: Duration = Duration::from_secs(1);

/// Where HTTP requests run.
#[derive(Debug, Clone, Default)]
pub enum HttpRuntime {
    /// reqwest's blocking client on the transport's own thread.
    #[default]
    Blocking,
    /// async reqwest, as tasks on this tokio runtime.
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
}

impl HttpRuntime {
    /// The tokio runtime the caller runs in (with the `tokio` feature), else
    /// [`HttpRuntime::Blocking`].
    pub fn current() -> HttpRuntime {
        #[cfg(feature = "tokio")]
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            return HttpRuntime::Tokio(handle);
        }
        HttpRuntime::Blocking
    }

    /// Whether requests run on a tokio runtime.
    pub fn is_tokio(&self) -> bool {
        match self {
            HttpRuntime::Blocking => false,
            #[cfg(feature = "tokio")]
            HttpRuntime::Tokio(_) => true,
        }
    }
}

/// Why an HTTP client could not be set up or a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// TLS could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] rustls::Error),
    /// The client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The request failed: connection, timeout, TLS handshake.
    #[error(transparent)]
    Request(reqwest::Error),
    /// The tokio runtime the request was given to has shut down.
    #[error("the tokio runtime for HTTP requests has shut down")]
    RuntimeGone,
    /// The tokio runtime did not finish the request in time (it may be starved).
    #[error("the tokio runtime did not finish the request within {0:?}")]
    RuntimeTimeout(Duration),
}

/// How a client behaves.
#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    /// Bound of one request, connection included.
    pub timeout: Duration,
    /// Bound of establishing the connection.
    pub connect_timeout: Duration,
    /// Whether redirects are followed (reqwest's default policy) or returned as answers.
    pub follow_redirects: bool,
    /// The `User-Agent` header, when one is sent.
    pub user_agent: Option<&'static str>,
}

/// One POST.
#[derive(Debug, Clone)]
pub(crate) struct Post<'a> {
    /// Where to.
    pub url: &'a str,
    /// Header names and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Retry-After` header, when present and readable.
    pub retry_after: Option<String>,
    /// The first bytes of the body of an answer that is not a success (empty otherwise).
    pub body_start: Vec<u8>,
}

impl Reply {
    /// Whether the status is `2xx`.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A client for one destination, on one [`HttpRuntime`].
pub(crate) struct HttpClient {
    transport: Transport,
}

enum Transport {
    Blocking(reqwest::blocking::Client),
    #[cfg(feature = "tokio")]
    Tokio {
        client: reqwest::Client,
        runtime: tokio::runtime::Handle,
        /// The longest wait for a task's answer.
        wait: Duration,
    },
}

impl HttpClient {
    /// Builds a client for `url` (only its scheme matters: TLS must work for `https://`).
    /// Call it on the transport's thread: a blocking client must not be built or dropped on a
    /// runtime worker.
    pub fn new(
        url: &str,
        options: &HttpOptions,
        runtime: &HttpRuntime,
    ) -> Result<HttpClient, HttpError> {
        let tls = tls_config(url.starts_with("https://"))?;
        let redirect = if options.follow_redirects {
            reqwest::redirect::Policy::default()
        } else {
            reqwest::redirect::Policy::none()
        };
        let transport = match runtime {
            HttpRuntime::Blocking => {
                let mut builder = reqwest::blocking::Client::builder()
                    .tls_backend_preconfigured(tls)
                    .timeout(options.timeout)
                    .connect_timeout(options.connect_timeout)
                    .redirect(redirect);
                if let Some(agent) = options.user_agent {
                    builder = builder.user_agent(agent);
                }
                Transport::Blocking(builder.build().map_err(HttpError::Client)?)
            }
            #[cfg(feature = "tokio")]
            HttpRuntime::Tokio(handle) => {
                let mut builder = reqwest::Client::builder()
                    .tls_backend_preconfigured(tls)
                    .timeout(options.timeout)
                    .connect_timeout(options.connect_timeout)
                    .redirect(redirect);
                if let Some(agent) = options.user_agent {
                    builder = builder.user_agent(agent);
                }
                let client = {
                    let _context = handle.enter();
                    builder.build().map_err(HttpError::Client)?
                };
                Transport::Tokio {
                    client,
                    runtime: handle.clone(),
                    wait: options.timeout.saturating_add(TASK_GRACE),
                }
            }
        };
        Ok(HttpClient { transport })
    }

    /// Sends `post` and waits for the answer (at most the request timeout, plus a grace period
    /// on a tokio runtime).
    pub fn post(&self, post: Post<'_>) -> Result<Reply, HttpError> {
        match &self.transport {
            Transport::Blocking(client) => post_blocking(client, post),
            #[cfg(feature = "tokio")]
            Transport::Tokio {
                client,
                runtime,
                wait,
            } => post_on_runtime(client, runtime, *wait, post),
        }
    }
}

fn post_blocking(client: &reqwest::blocking::Client, post: Post<'_>) -> Result<Reply, HttpError> {
    use std::io::Read as _;
    let mut request = client.post(post.url);
    for (name, value) in post.headers {
        request = request.header(name, value);
    }
    let response = request.body(post.body).send().map_err(HttpError::Request)?;
    let mut reply = Reply {
        status: response.status().as_u16(),
        retry_after: retry_after(response.headers()),
        body_start: Vec::new(),
    };
    if !reply.is_success() {
        let _ = response
            .take(BODY_START_LIMIT as u64)
            .read_to_end(&mut reply.body_start);
    }
    Ok(reply)
}

/// Runs the request as a task on `runtime` and waits for its answer on this (non-runtime)
/// thread.
#[cfg(feature = "tokio")]
fn post_on_runtime(
    client: &reqwest::Client,
    runtime: &tokio::runtime::Handle,
    wait: Duration,
    post: Post<'_>,
) -> Result<Reply, HttpError> {
    let mut request = client.post(post.url);
    for (name, value) in post.headers {
        request = request.header(name, value);
    }
    let request = request.body(post.body);
    let (answer, answered) = crossbeam_channel::bounded(1);
    let task = runtime.spawn(async move {
        let _ = answer.send(post_async(request).await);
    });
    match answered.recv_timeout(wait) {
        Ok(reply) => reply,
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
            task.abort();
            Err(HttpError::RuntimeTimeout(wait))
        }
        // The task was dropped without running to the end: the runtime is shutting down.
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(HttpError::RuntimeGone),
    }
}

#[cfg(feature = "tokio")]
async fn post_async(request: reqwest::RequestBuilder) -> Result<Reply, HttpError> {
    let mut response = request.send().await.map_err(HttpError::Request)?;
    let mut reply = Reply {
        status: response.status().as_u16(),
        retry_after: retry_after(response.headers()),
        body_start: Vec::new(),
    };
    if !reply.is_success() {
        while reply.body_start.len() < BODY_START_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => reply.body_start.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        reply.body_start.truncate(BODY_START_LIMIT);
    }
    Ok(reply)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// rustls with the `ring` provider and the platform's certificate verifier. For plain-HTTP URLs
/// a verifier that cannot be set up is not an error (an empty root store is used instead).
fn tls_config(https: bool) -> Result<rustls::ClientConfig, HttpError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(HttpError::Tls)?;
    match builder.clone().with_platform_verifier() {
        Ok(builder) => Ok(builder.with_no_client_auth()),
        Err(error) if https => Err(HttpError::Tls(error)),
        Err(_) => Ok(builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()),
    }
}
