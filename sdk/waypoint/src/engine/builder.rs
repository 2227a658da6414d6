//! [`EngineBuilder`]: models, policy, hooks, pseudonym key, queue sizes, clock.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

use super::outbox::{self, OutboxSender};
use super::process::State;
use super::sync::StoreSync;
use super::worker::Worker;
use super::{Engine, Shared, stats, watch};
use crate::clock::{Clock, SystemClock};
use crate::hooks::{BeforeReferral, ClosureHooks, Hooks};
use crate::http::HttpRuntime;
use crate::player::Pseudonymizer;
use crate::policy::{Policy, PolicyError};
use crate::referral::{ReferralSender, StartError, now_unix_ms};
use crate::response::{HelpLink, Nudge, Referral};
use crate::scorer::{Scorer, ScorerBuildError};
use crate::store::{PlayerStateStore, StoreConfig};
use crate::telemetry::{Telemetry, TelemetryBuildError};

/// Environment variable holding the pseudonym key when the builder is not given one.
const PSEUDONYM_KEY_ENV: &str = "WAYPOINT_PSEUDONYM_KEY";
/// Default capacity of the signal queue.
const DEFAULT_QUEUE_CAPACITY: usize = 16_384;
/// Default capacity of the response outbox read by `drain_responses`.
const DEFAULT_OUTBOX_CAPACITY: usize = 4_096;

/// Errors building an [`Engine`].
#[derive(Debug, thiserror::Error)]
pub enum EngineBuildError {
    /// The scorer could not be built (no models directory, malformed lexicon).
    #[error(transparent)]
    Scorer(#[from] ScorerBuildError),
    /// The policy file is unreadable or invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A queue capacity of zero was asked for.
    #[error("the {0} capacity must be at least 1")]
    ZeroCapacity(&'static str),
    /// The worker thread could not be started.
    #[error("cannot start the waypoint-scorer thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The policy configures a referral webhook that cannot be started (missing secret,
    /// unusable spool folder, …).
    #[error("cannot start referral delivery: {0}")]
    Referral(#[from] StartError),
    /// The shared player store is misconfigured (the error never shows a password).
    #[error("cannot set up the player store: {0}")]
    Store(#[from] crate::store::StoreConfigError),
    /// The policy's `[telemetry]` section cannot be started.
    #[error("cannot start telemetry: {0}")]
    Telemetry(#[from] TelemetryBuildError),
}

/// Builder for [`Engine`]. Every setting has a default.
#[derive(Default)]
pub struct EngineBuilder {
    models_dir: Option<PathBuf>,
    runtime_library: Option<PathBuf>,
    scorer: Option<Arc<Scorer>>,
    policy: Option<Policy>,
    policy_path: Option<PathBuf>,
    watch_interval: Option<Duration>,
    hooks: Vec<Arc<dyn Hooks>>,
    closures: ClosureHooks,
    before_referral: Option<BeforeReferral>,
    pseudonym_key: Option<Vec<u8>>,
    queue_capacity: Option<usize>,
    outbox_capacity: Option<usize>,
    clock: Option<Arc<dyn Clock>>,
    referral_spool_dir: Option<PathBuf>,
    webhook_secret: Option<Vec<u8>>,
    player_store: Option<Box<dyn PlayerStateStore>>,
    store_config: Option<StoreConfig>,
    clock_epoch_unix_ms: Option<u64>,
    http_runtime: Option<HttpRuntime>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("models_dir", &self.models_dir)
            .field("policy_path", &self.policy_path)
            .field("watch_interval", &self.watch_interval)
            .field("hooks", &self.hooks.len())
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The models directory (default: `$WAYPOINT_MODELS_DIR`, else `models/` found upwards).
    pub fn models_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.models_dir = Some(dir.into());
        self
    }

    /// The ONNX Runtime shared library to load.
    pub fn runtime_library(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_library = Some(path.into());
        self
    }

    /// Uses an already built scorer (its models and lexicon) instead of loading them again.
    pub fn scorer(mut self, scorer: Arc<Scorer>) -> Self {
        self.scorer = Some(scorer);
        self
    }

    /// The policy (default: [`Policy::default`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Reads the policy from a file at build time (errors carry line and column).
    pub fn policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy_path = Some(path.into());
        self
    }

    /// Watches the [`policy_file`](EngineBuilder::policy_file), checking it every `interval`
    /// and swapping in each valid new version (an invalid one is reported on stderr, counted in
    /// `Stats::policy_rejected`, and the policy in force stays). Off by default;
    /// [`Engine::reload_policy`] reloads on demand.
    pub fn watch_policy_file(mut self, interval: Duration) -> Self {
        self.watch_interval = Some(interval);
        self
    }

    /// Adds a [`Hooks`] implementation; several run in the order added.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks.push(Arc::new(hooks));
        self
    }

    /// Runs `f` for every nudge.
    pub fn on_nudge(mut self, f: impl Fn(&Nudge) + Send + Sync + 'static) -> Self {
        self.closures = self.closures.on_nudge(f);
        self
    }

    /// Runs `f` for every help link.
    pub fn on_help_link(mut self, f: impl Fn(&HelpLink) + Send + Sync + 'static) -> Self {
        self.closures = self.closures.on_help_link(f);
        self
    }

    /// Runs `f` for every referral that `before_referral` let through.
    pub fn on_referral(mut self, f: impl Fn(&Referral) + Send + Sync + 'static) -> Self {
        self.closures = self.closures.on_referral(f);
        self
    }

    /// Sees every referral first; may redact it or drop it (`None`).
    pub fn before_referral(
        mut self,
        f: impl Fn(Referral) -> Option<Referral> + Send + Sync + 'static,
    ) -> Self {
        self.before_referral = Some(Arc::new(f));
        self
    }

    /// The secret key for player pseudonyms (default: `$WAYPOINT_PSEUDONYM_KEY`, else a random
    /// key per process, so state cannot be linked across restarts).
    pub fn pseudonym_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.pseudonym_key = Some(key.into());
        self
    }

    /// Capacity of the signal queue (default `16_384`).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Capacity of the response outbox (default `4_096`); when the game does not drain it, the
    /// oldest responses are kept and later ones counted as overflow.
    pub fn outbox_capacity(mut self, capacity: usize) -> Self {
        self.outbox_capacity = Some(capacity);
        self
    }

    /// The clock (default: [`SystemClock`]); use a `SimulatedClock` to replay scenarios.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The referral spool folder, overriding the policy's `[referral.spool] dir` (used only when
    /// the policy configures a webhook).
    pub fn referral_spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.referral_spool_dir = Some(dir.into());
        self
    }

    /// The webhook signing secret, instead of reading the variable named by
    /// `[referral.webhook] secret_env`.
    pub fn webhook_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// Shares player state with other engines through `store` (for example a
    /// [`MemoryStore`](crate::store::MemoryStore) clone, or a `RedisStore`), instead of the
    /// policy's `[store]` section.
    pub fn player_store(mut self, store: impl PlayerStateStore) -> Self {
        self.player_store = Some(Box::new(store));
        self
    }

    /// The shared store's settings, instead of the policy's `[store]` section (needs the cargo
    /// feature `redis-store`).
    pub fn store_config(mut self, config: StoreConfig) -> Self {
        self.store_config = Some(config);
        self
    }

    /// Unix milliseconds at the clock's zero (default: derived from the system time at build).
    /// Engines sharing a store and one `SimulatedClock` give the same value so their times agree.
    pub fn clock_epoch_unix_ms(mut self, unix_ms: u64) -> Self {
        self.clock_epoch_unix_ms = Some(unix_ms);
        self
    }

    /// Where the referral webhook's and the telemetry exporter's HTTP requests run (default:
    /// [`HttpRuntime::current`] when `build` is called, so an engine built inside a tokio
    /// runtime posts with async reqwest on it when the `tokio` feature is on).
    pub fn http_runtime(mut self, runtime: HttpRuntime) -> Self {
        self.http_runtime = Some(runtime);
        self
    }

    /// Loads the scorer and policy and starts the `waypoint-scorer` thread, plus referral
    /// delivery when the policy has a `[referral.webhook]` and telemetry when it has a
    /// `[telemetry]` section. Both are set up once: a policy reloaded later does not change them.
    pub fn build(mut self) -> Result<Engine, EngineBuildError> {
        let queue_capacity = self.queue_capacity.unwrap_or(DEFAULT_QUEUE_CAPACITY);
        let outbox_capacity = self.outbox_capacity.unwrap_or(DEFAULT_OUTBOX_CAPACITY);
        if queue_capacity == 0 {
            return Err(EngineBuildError::ZeroCapacity("queue"));
        }
        if outbox_capacity == 0 {
            return Err(EngineBuildError::ZeroCapacity("outbox"));
        }
        let watched = self.policy_path.clone().zip(self.watch_interval);
        let policy = match (self.policy_path.take(), self.policy.take()) {
            (Some(path), _) => Policy::from_file(&path)?,
            (None, Some(policy)) => policy,
            (None, None) => Policy::default(),
        };
        let scorer = self.take_scorer()?;
        let pseudonymizer = match self.pseudonym_key.take().or_else(|| {
            std::env::var(PSEUDONYM_KEY_ENV)
                .ok()
                .map(String::into_bytes)
        }) {
            Some(key) => Pseudonymizer::new(&key),
            None => Pseudonymizer::random(),
        };
        let http_runtime = self
            .http_runtime
            .take()
            .unwrap_or_else(HttpRuntime::current);
        let referral = self.take_referral_sender(&policy, &http_runtime)?;
        let telemetry = match &policy.telemetry {
            Some(config) => Some(
                Telemetry::builder(config.clone())
                    .http_runtime(http_runtime)
                    .build()?,
            ),
            None => None,
        };
        let clock = self
            .clock
            .take()
            .unwrap_or_else(|| Arc::new(SystemClock::new()));
        let base_unix_ms = self
            .clock_epoch_unix_ms
            .unwrap_or_else(|| now_unix_ms().saturating_sub(clock.now().0));
        let store = self.take_store(&policy)?;
        let (queue_tx, queue_rx) = crossbeam_channel::bounded(queue_capacity);
        let (outbox_tx, outbox_rx) = crossbeam_channel::bounded(outbox_capacity);
        let response_waiters = Arc::new(outbox::Waiters::default());
        let shared = Arc::new(Shared {
            policy: ArcSwap::from_pointee(policy),
            scorer,
            clock,
            stats: stats::Counters::default(),
            outbox: outbox_rx,
            response_waiters: Arc::clone(&response_waiters),
            worker_alive: AtomicBool::new(true),
            referral,
            telemetry,
            base_unix_ms,
            store_endpoint: store.store.as_ref().map(|s| s.endpoint()),
        });
        let mut state = State::new(pseudonymizer);
        state.sync = store.store.map(|player_store| {
            StoreSync::new(
                player_store,
                base_unix_ms,
                store.cache_players,
                store.retry,
                Arc::clone(&shared),
            )
        });
        self.start(
            shared,
            state,
            queue_tx,
            queue_rx,
            OutboxSender::new(outbox_tx, response_waiters),
            watched,
        )
    }

    /// The scorer given, else one built from the models folder and runtime library given.
    fn take_scorer(&mut self) -> Result<Arc<Scorer>, EngineBuildError> {
        if let Some(scorer) = self.scorer.take() {
            return Ok(scorer);
        }
        let mut builder = Scorer::builder();
        if let Some(dir) = self.models_dir.take() {
            builder = builder.models_dir(dir);
        }
        if let Some(lib) = self.runtime_library.take() {
            builder = builder.runtime_library(lib);
        }
        Ok(Arc::new(builder.build()?))
    }

    /// Referral delivery, started when the policy has a `[referral.webhook]`.
    fn take_referral_sender(
        &mut self,
        policy: &Policy,
        http_runtime: &HttpRuntime,
    ) -> Result<Option<ReferralSender>, EngineBuildError> {
        if policy.referral.webhook.is_none() {
            return Ok(None);
        }
        let mut sender = ReferralSender::builder()
            .config(&policy.referral)
            .http_runtime(http_runtime.clone());
        if let Some(dir) = self.referral_spool_dir.take() {
            sender = sender.spool_dir(dir);
        }
        if let Some(secret) = self.webhook_secret.take() {
            sender = sender.secret(secret);
        }
        Ok(Some(sender.start()?))
    }

    /// The shared player store given or configured (the builder's `[store]` first, then the
    /// policy's), with its cache size and retry interval.
    fn take_store(&mut self, policy: &Policy) -> Result<StoreSetup, EngineBuildError> {
        let store_config = self.store_config.take().or_else(|| policy.store.clone());
        let cache_players = store_config
            .as_ref()
            .map_or(StoreConfig::default().cache_players, |c| c.cache_players);
        let retry = store_config.as_ref().map_or(
            StoreConfig::default().retry_interval(),
            StoreConfig::retry_interval,
        );
        let store = match (self.player_store.take(), store_config) {
            (Some(store), _) => Some(store),
            (None, Some(config)) => Some(configured_store(&config)?),
            (None, None) => None,
        };
        Ok(StoreSetup {
            store,
            cache_players,
            retry,
        })
    }

    /// Starts the worker thread (and the policy watcher when asked for) on the shared state.
    fn start(
        self,
        shared: Arc<Shared>,
        state: State,
        queue_tx: crossbeam_channel::Sender<super::Job>,
        queue_rx: crossbeam_channel::Receiver<super::Job>,
        outbox: OutboxSender,
        watched: Option<(PathBuf, Duration)>,
    ) -> Result<Engine, EngineBuildError> {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let mut hooks = self.hooks;
        hooks.push(Arc::new(self.closures));
        let worker = Worker::new(
            Arc::clone(&shared),
            queue_rx,
            outbox,
            done_tx,
            state,
            hooks,
            self.before_referral,
        );
        let handle = std::thread::Builder::new()
            .name("waypoint-scorer".to_owned())
            .spawn(move || worker.run())
            .map_err(EngineBuildError::Spawn)?;
        if let Some((path, interval)) = watched {
            watch::spawn(&shared, path, interval).map_err(EngineBuildError::Spawn)?;
        }
        Ok(Engine {
            shared,
            queue: queue_tx,
            done: done_rx,
            worker: Arc::new(Mutex::new(Some(handle))),
        })
    }
}

/// The shared player store an engine syncs with, when it has one.
struct StoreSetup {
    store: Option<Box<dyn PlayerStateStore>>,
    cache_players: usize,
    retry: Duration,
}

/// The store a `[store]` section describes.
#[cfg(feature = "redis-store")]
fn configured_store(
    config: &StoreConfig,
) -> Result<Box<dyn PlayerStateStore>, crate::store::StoreConfigError> {
    Ok(Box::new(crate::store::RedisStore::new(config)?))
}

/// The store a `[store]` section describes: this build has no store client.
#[cfg(not(feature = "redis-store"))]
fn configured_store(
    config: &StoreConfig,
) -> Result<Box<dyn PlayerStateStore>, crate::store::StoreConfigError> {
    config.validate()?;
    Err(crate::store::StoreConfigError::FeatureMissing)
}
