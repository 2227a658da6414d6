//! The message scorer: normalise → lexicon → fast-tier model → (cascade: deep tier) → combined
//! scores → message-level decision.
//!
//! [`Scorer::score`] / [`Scorer::score_with`] are the inline path: fast tier only, microseconds.
//! [`Scorer::score_batch`] / [`Scorer::score_batch_with`] / [`Scorer::score_batch_routed`] run
//! the cascade: the policy's `[cascade]` section picks the messages the deep tier (multilingual
//! encoder + head) also scores and how the tiers combine (see [`crate::cascade`]).
//!
//! Building a [`Scorer`] never fails because a model is missing or corrupt: the scorer then runs
//! in a declared degraded mode (without the deep tier or the stance model, or lexicon only) and
//! says so through [`Scorer::health`], so a game keeps running. Configuration errors a person
//! made (a malformed policy or lexicon) are errors.

mod inline;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde::Serialize;

pub use inline::InlineScore;

use crate::cascade::{MessageTraits, RouteHints, combine_tiers, guess_language, wants_deep};
use crate::model::exemplars::{
    self, ExemplarFile, ExemplarFileError, ExemplarIndex, ExemplarMatch,
};
use crate::model::{
    DeepTier, DeepTierError, FastModel, ModelError, Runtime, RuntimeError, StanceModel,
};
use crate::policy::{CascadePolicy, ExemplarPolicy, MessageDecision, Policy, TierScores};
use crate::text::{
    Kind, Lexicon, LexiconError, LexiconHit, NormalizeOptions, Normalized, normalize,
};
use crate::{Category, Scores};

/// Environment variable naming the models directory when the builder is not given one.
pub const MODELS_DIR_ENV: &str = "WAYPOINT_MODELS_DIR";

/// Errors building a [`Scorer`]: only mistakes a person must fix. Missing models are not errors
/// (see [`Health::Degraded`]).
#[derive(Debug, thiserror::Error)]
pub enum ScorerBuildError {
    /// No models directory was given and none was found.
    #[error(
        "no models directory: pass one explicitly, set {MODELS_DIR_ENV}, or run from inside the \
         Waypoint repository (which ships `models/`)"
    )]
    NoModelsDir,
    /// The lexicon files exist but are malformed.
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    /// The policy's exemplar file exists but is malformed.
    #[error(transparent)]
    Exemplars(#[from] ExemplarFileError),
}

/// Errors (re)loading the exemplar file named by a policy.
#[derive(Debug, thiserror::Error)]
pub enum ExemplarLoadError {
    /// The file does not exist.
    #[error("exemplar file {0} is missing")]
    Missing(PathBuf),
    /// The file is unreadable or malformed.
    #[error(transparent)]
    File(#[from] ExemplarFileError),
    /// The deep tier is not loaded, so there is nothing to embed the exemplars with.
    #[error("the deep tier is not loaded; exemplars need its encoder")]
    NoDeepTier,
    /// Embedding the exemplars failed.
    #[error("embedding the exemplars failed: {0}")]
    Embed(#[from] DeepTierError),
    /// The embeddings did not match the file.
    #[error(transparent)]
    Index(#[from] exemplars::ExemplarIndexError),
}

/// Whether the scorer runs with everything it was meant to have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Health {
    /// Every component loaded.
    Ready,
    /// Running without some components; scores come from what remains.
    Degraded {
        /// What is missing and why, one line each.
        reasons: Vec<String>,
    },
}

/// Builder for [`Scorer`].
#[derive(Debug, Clone, Default)]
pub struct ScorerBuilder {
    models_dir: Option<PathBuf>,
    runtime_library: Option<PathBuf>,
    policy: Option<Policy>,
    normalize: NormalizeOptions,
    without_deep_tier: bool,
    encoder_dir: Option<PathBuf>,
}

impl ScorerBuilder {
    /// The directory holding `fast/`, `lexicon/` and the other model artifacts.
    pub fn models_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.models_dir = Some(dir.into());
        self
    }

    /// The ONNX Runtime shared library to load (overrides `ORT_DYLIB_PATH` and the cache).
    pub fn runtime_library(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_library = Some(path.into());
        self
    }

    /// The policy to decide responses with (default: [`Policy::default`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Normaliser options, such as the message length limit.
    pub fn normalize_options(mut self, options: NormalizeOptions) -> Self {
        self.normalize = options;
        self
    }

    /// Whether to load the deep tier (default: yes, when it is available). Without it the batch
    /// path scores with the fast tier only and health stays ready.
    pub fn deep_tier(mut self, enabled: bool) -> Self {
        self.without_deep_tier = !enabled;
        self
    }

    /// The deep tier's encoder directory (holding `encoder.onnx`, `sentencepiece.model` and
    /// their manifest `encoder.json`), instead of looking in the set-up cache.
    pub fn encoder_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.encoder_dir = Some(dir.into());
        self
    }

    /// Loads everything. A missing or corrupt model or runtime gives a degraded scorer, not an error.
    pub fn build(self) -> Result<Scorer, ScorerBuildError> {
        let models_dir = match self.models_dir {
            Some(dir) => dir,
            None => default_models_dir().ok_or(ScorerBuildError::NoModelsDir)?,
        };
        let mut degraded = Vec::new();

        let lexicon_dir = models_dir.join("lexicon");
        let lexicon = if lexicon_dir.is_dir() {
            Lexicon::load_dir(&lexicon_dir)?
        } else {
            degraded.push(format!(
                "lexicon directory {} is missing",
                lexicon_dir.display()
            ));
            Lexicon::default()
        };

        let fast = match load_fast(self.runtime_library.as_deref(), &models_dir) {
            Ok(model) => Some(model),
            Err(reason) => {
                degraded.push(format!("fast-tier model unavailable: {reason}"));
                None
            }
        };

        let stance = match StanceModel::load(&models_dir) {
            Ok(model) => Some(model),
            Err(reason) => {
                degraded.push(format!(
                    "stance model unavailable (counter-speech is recognised by the lexicon \
                     only): {reason}"
                ));
                None
            }
        };

        let deep = if self.without_deep_tier {
            None
        } else {
            match load_deep(
                self.runtime_library.as_deref(),
                self.encoder_dir.as_deref(),
                &models_dir,
            ) {
                Ok(tier) => Some(tier),
                Err(reason) => {
                    degraded.push(format!("deep tier unavailable: {reason}"));
                    None
                }
            }
        };

        let mut scorer = Scorer {
            normalize: self.normalize,
            lexicon,
            fast,
            stance,
            deep,
            exemplars: ArcSwapOption::empty(),
            models_dir,
            policy: self.policy.unwrap_or_default(),
            health: Health::Ready,
        };
        if scorer.deep.is_some() && scorer.policy.exemplars.enabled {
            match scorer.reload_exemplars(&scorer.policy.exemplars) {
                Ok(()) => {}
                Err(ExemplarLoadError::File(e)) => return Err(e.into()),
                Err(reason) => degraded.push(format!("exemplars unavailable: {reason}")),
            }
        }
        scorer.health = if degraded.is_empty() {
            Health::Ready
        } else {
            Health::Degraded { reasons: degraded }
        };
        Ok(scorer)
    }
}

/// The fast tier needs ONNX Runtime only when its graph cannot be evaluated natively.
fn load_fast(library: Option<&Path>, models_dir: &Path) -> Result<FastModel, ModelError> {
    FastModel::load_with(models_dir, || {
        Runtime::init(library).map_err(|e| e.to_string())
    })
}

#[derive(Debug, thiserror::Error)]
enum DeepLoadError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Tier(#[from] DeepTierError),
}

fn load_deep(
    library: Option<&Path>,
    encoder_dir: Option<&Path>,
    models_dir: &Path,
) -> Result<DeepTier, DeepLoadError> {
    let runtime = Runtime::init(library)?;
    Ok(match encoder_dir {
        Some(dir) => DeepTier::load(&runtime, dir, models_dir)?,
        None => DeepTier::load_default(&runtime, models_dir)?,
    })
}

/// The models directory when none is given: `$WAYPOINT_MODELS_DIR`, else a `models/` directory
/// holding `fast/manifest.json` in the current directory or one of its ancestors.
pub fn default_models_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join("models"))
        .find(|dir| dir.join(crate::model::fast::FAST_MANIFEST_FILE).is_file())
}

/// Everything known about one scored message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageScore {
    /// The normaliser's output (original text, normalised text, changes).
    pub normalized: Normalized,
    /// Fast-tier model probabilities; `None` when the model is unavailable.
    pub model: Option<Scores>,
    /// Deep-tier probabilities; `None` when the deep tier did not run for this message (inline
    /// path, not selected by `[cascade]`, or unavailable).
    pub deep: Option<Scores>,
    /// Exemplar evidence (per category: similarities, evidence, whether the message condemns what
    /// it names, nearest exemplar); `None` when the deep tier did not embed this message or no
    /// exemplars are loaded.
    pub exemplars: Option<ExemplarMatch>,
    /// Lexicon entries found in the message.
    pub lexicon: Vec<LexiconHit>,
    /// The stance model's probability that the message endorses the hate, violence or extremism
    /// it speaks of; `None` when it was not read (no hate or extremism score of 0.1 or more that a
    /// counter-speech phrase had not already scaled, or the model is unavailable).
    pub endorsement: Option<f32>,
    /// Model evidence (the tiers combined by `[cascade]`) and lexicon evidence combined, per category.
    pub scores: Scores,
    /// The deep tier's probabilities, exemplar and lexicon evidence combined, per category, when the deep
    /// tier scored the message: what the policy's `message.<category>.deep` thresholds compare.
    pub deep_scores: Option<Scores>,
    /// The message-level response and its reasons.
    pub decision: MessageDecision,
}

/// Scores messages. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct Scorer {
    normalize: NormalizeOptions,
    lexicon: Lexicon,
    fast: Option<FastModel>,
    stance: Option<StanceModel>,
    deep: Option<DeepTier>,
    /// The embedded exemplars; swapped whole on policy reload.
    exemplars: ArcSwapOption<ExemplarIndex>,
    models_dir: PathBuf,
    policy: Policy,
    health: Health,
}

impl Scorer {
    /// A builder with defaults.
    pub fn builder() -> ScorerBuilder {
        ScorerBuilder::default()
    }

    /// Whether every component loaded.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The policy in use.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The lexicon in use.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The fast-tier model version, when loaded.
    pub fn model_version(&self) -> Option<&str> {
        self.fast.as_ref().map(FastModel::version)
    }

    /// The deep tier's version (its head's), when loaded.
    pub fn deep_version(&self) -> Option<&str> {
        self.deep.as_ref().map(DeepTier::version)
    }

    /// The stance model's version, when loaded.
    pub fn stance_version(&self) -> Option<&str> {
        self.stance.as_ref().map(StanceModel::version)
    }

    /// Whether the deep tier is loaded.
    pub fn has_deep_tier(&self) -> bool {
        self.deep.is_some()
    }

    /// The exemplars in use, when loaded.
    pub fn exemplars(&self) -> Option<Arc<ExemplarIndex>> {
        self.exemplars.load_full()
    }

    /// Reads the exemplar file `policy` names (relative to the models directory), embeds every
    /// exemplar with the deep tier's encoder and swaps the new set in. On error the current set
    /// stays. Slow (one encoder run per exemplar): call it off the game thread. A disabled
    /// policy section unloads the exemplars.
    pub fn reload_exemplars(&self, policy: &ExemplarPolicy) -> Result<(), ExemplarLoadError> {
        if !policy.enabled {
            self.exemplars.store(None);
            return Ok(());
        }
        let deep = self.deep.as_ref().ok_or(ExemplarLoadError::NoDeepTier)?;
        let path = self.models_dir.join(&policy.file);
        if !path.is_file() {
            return Err(ExemplarLoadError::Missing(path));
        }
        let file = ExemplarFile::from_file(&path)?;
        let normalized: Vec<Normalized> = ExemplarIndex::texts(&file)
            .into_iter()
            .map(|t| normalize(t, &self.normalize))
            .collect();
        let texts: Vec<&str> = normalized.iter().map(|n| n.text.as_str()).collect();
        let embeddings = deep.embed(&texts)?;
        let index = ExemplarIndex::from_embeddings(file, &embeddings)?;
        log::info!(
            "exemplars {} loaded: {} examples from {}",
            index.version(),
            index.len(),
            path.display()
        );
        self.exemplars.store(Some(Arc::new(index)));
        Ok(())
    }

    /// Scores one message inline with the scorer's own policy: fast tier and lexicon only.
    pub fn score(&self, text: &str) -> MessageScore {
        self.score_with(&self.policy, text)
    }

    /// Scores one message inline (fast tier and lexicon only), deciding with `policy` (the
    /// engine passes its current policy).
    pub fn score_with(&self, policy: &Policy, text: &str) -> MessageScore {
        let normalized = normalize(text, &self.normalize);
        let fast = self.fast_inline(&normalized.text);
        self.assemble(policy, normalized, fast, None, None, None)
    }

    /// Scores a batch of messages with the scorer's own policy, running the cascade; one result
    /// per input, in order.
    pub fn score_batch<S: AsRef<str>>(&self, texts: &[S]) -> Vec<MessageScore> {
        self.score_batch_with(&self.policy, texts)
    }

    /// Scores a batch of messages, running the cascade and deciding with `policy`. No locale or
    /// player risk is known here; see [`Scorer::score_batch_routed`].
    pub fn score_batch_with<S: AsRef<str>>(
        &self,
        policy: &Policy,
        texts: &[S],
    ) -> Vec<MessageScore> {
        self.score_batch_routed(policy, texts, &[])
    }

    /// Scores a batch of messages, running the cascade with what the caller knows about each
    /// message (`hints[i]` for `texts[i]`; missing hints count as none).
    pub fn score_batch_routed<S: AsRef<str>>(
        &self,
        policy: &Policy,
        texts: &[S],
        hints: &[RouteHints<'_>],
    ) -> Vec<MessageScore> {
        let normalized: Vec<Normalized> = texts
            .iter()
            .map(|t| normalize(t.as_ref(), &self.normalize))
            .collect();
        let fast_scores = self.fast.as_ref().and_then(|model| {
            let inputs: Vec<&str> = normalized.iter().map(|n| n.text.as_str()).collect();
            // An inference failure on one batch degrades that batch to lexicon-only scores.
            model.score_batch(&inputs).ok()
        });
        let fast_of = |i: usize| fast_scores.as_ref().and_then(|all| all.get(i).copied());
        let mut deep_scores: Vec<Option<Scores>> = vec![None; normalized.len()];
        let mut exemplar_matches: Vec<Option<ExemplarMatch>> = vec![None; normalized.len()];
        if let Some(deep) = &self.deep {
            let chosen: Vec<usize> = (0..normalized.len())
                .filter(|&i| {
                    let hint = hints.get(i).copied().unwrap_or_default();
                    let fast = fast_of(i);
                    wants_deep(&policy.cascade, fast.as_ref(), &normalized[i].text, hint)
                        != crate::cascade::Route::FastOnly
                })
                .collect();
            let inputs: Vec<&str> = chosen
                .iter()
                .map(|&i| normalized[i].text.as_str())
                .collect();
            // A deep-tier failure leaves those messages with fast-tier evidence only.
            if let Ok(embeddings) = deep.embed(&inputs)
                && let Ok(scores) = deep.head().score(&embeddings)
            {
                let matches = self.match_exemplars(policy, &embeddings);
                for (n, (i, s)) in chosen.into_iter().zip(scores).enumerate() {
                    deep_scores[i] = Some(s);
                    exemplar_matches[i] = matches.as_ref().and_then(|m| m.get(n).cloned());
                }
            }
        }
        normalized
            .into_iter()
            .zip(deep_scores.into_iter().zip(exemplar_matches))
            .enumerate()
            .map(|(i, (n, (deep, exemplars)))| {
                let locale = hints.get(i).and_then(|hint| hint.locale);
                self.assemble(policy, n, fast_of(i), deep, locale, exemplars)
            })
            .collect()
    }

    fn match_exemplars(
        &self,
        policy: &Policy,
        embeddings: &[crate::model::Embedding],
    ) -> Option<Vec<ExemplarMatch>> {
        if !policy.exemplars.enabled {
            return None;
        }
        let index = self.exemplars.load();
        let index = index.as_ref()?;
        Some(index.score(embeddings, &policy.exemplars))
    }

    fn assemble(
        &self,
        policy: &Policy,
        normalized: Normalized,
        model: Option<Scores>,
        deep: Option<Scores>,
        locale: Option<&str>,
        exemplars: Option<ExemplarMatch>,
    ) -> MessageScore {
        let mut lexicon = self.lexicon_inline(&normalized);
        let exemplars = exemplars.map(|mut m| {
            for e in &mut m.categories {
                e.condemned = only_condemned(&lexicon, e.category);
            }
            m
        });
        // Only matters when the deep tier ran; the inline path skips the language guess.
        let language = deep.map(|_| guess_language(&normalized.text, locale));
        let traits = MessageTraits {
            english: language.is_none_or(|l| l.english),
            condemns_what_it_names: condemns_what_it_names(&lexicon),
        };
        let hate_factor = hate_factor(&policy.cascade, traits.condemns_what_it_names, &lexicon);
        // Model evidence: a tier's probabilities folded with the exemplar evidence computed on
        // the same embeddings, hate scaled as above.
        let model_evidence = |scores: Scores| {
            let scores = match &exemplars {
                Some(m) => with_exemplars(scores, m, &policy.exemplars),
                None => scores,
            };
            with_hate_scaled(scores, hate_factor)
        };
        // The deep head reads a message's hate without asking whom it is aimed at.
        let deep_evidence = deep.map(|d| {
            let factor = self.untargeted_deep_hate_factor(
                &policy.cascade,
                &lexicon,
                &normalized,
                language.is_some_and(|l| l.english_or_dutch),
            );
            with_hate_scaled(d, factor)
        });
        let evidence = combine_tiers(&policy.cascade, model, deep_evidence, traits)
            .or_else(|| exemplars.as_ref().map(|_| Scores::default()))
            .map(model_evidence);
        // Read at most once, and only when a score asks for it.
        let stance = OnceCell::new();
        let endorsement = || *stance.get_or_init(|| self.stance_inline(&normalized.text));
        let scores = with_lexicon(evidence, &lexicon, policy, endorsement);
        // The deep tier's own evidence: its model evidence and the lexicon.
        let deep_scores = deep_evidence
            .map(|d| with_lexicon(Some(model_evidence(d)), &lexicon, policy, endorsement));
        drop_stance_only(&mut lexicon);
        let decision = policy.message_decision(&TierScores {
            combined: scores,
            deep: deep_scores,
        });
        MessageScore {
            endorsement: stance.get().copied().flatten(),
            normalized,
            model,
            deep,
            exemplars,
            lexicon,
            scores,
            deep_scores,
            decision,
        }
    }

    /// The factor on the deep tier's hate probability of a message with these lexicon hits
    /// (mentions included): `cascade.untargeted_deep_hate_factor` when the message is in a
    /// language whose group names the lexicon holds (`english_or_dutch`) and names no group of
    /// people ([`names_hate_target`], nor [`Lexicon::names_group_loosely`]); 1 otherwise.
    fn untargeted_deep_hate_factor(
        &self,
        policy: &CascadePolicy,
        hits: &[LexiconHit],
        normalized: &Normalized,
        english_or_dutch: bool,
    ) -> f32 {
        if names_hate_target(hits)
            || !english_or_dutch
            || self.lexicon.names_group_loosely(normalized)
        {
            1.0
        } else {
            policy.untargeted_deep_hate_factor
        }
    }
}

/// Folds each category's exemplar evidence into the model probability (see
/// [`exemplars::combine`]). A category whose evidence is marked condemned
/// ([`CategoryEvidence::condemned`](crate::model::CategoryEvidence::condemned), set from the
/// message's lexicon hits) has its exemplar weight multiplied by the policy's
/// `condemned_factor`.
pub fn with_exemplars(model: Scores, m: &ExemplarMatch, policy: &ExemplarPolicy) -> Scores {
    let mut out = model;
    for e in &m.categories {
        let weight = policy.category(e.category).weight
            * if e.condemned {
                policy.condemned_factor
            } else {
                1.0
            };
        out.set(
            e.category,
            exemplars::combine(model.get(e.category), e.evidence, weight),
        );
    }
    out
}

/// Whether the message names an attacker or a violent group only to condemn it: a mention is
/// condemned, and so is every other hit (mentions of protected groups, never condemned, aside).
pub(crate) fn condemns_what_it_names(hits: &[LexiconHit]) -> bool {
    hits.iter().any(|h| h.is_mention() && h.condemned)
        && hits
            .iter()
            .all(|h| h.condemned || h.names_protected_group())
}

/// Whether `category` has lexicon hits (mentions included, mentions of protected groups aside)
/// and every one of them is condemned.
fn only_condemned(hits: &[LexiconHit], category: Category) -> bool {
    let mut of_category = hits
        .iter()
        .filter(|h| h.category == category && !h.names_protected_group())
        .peekable();
    of_category.peek().is_some() && of_category.all(|h| h.condemned)
}

/// The factor on the models' hate probability for a message with these lexicon hits (mentions
/// included) that does or does not condemn what it names ([`condemns_what_it_names`], computed
/// once by the caller): condemning a violent group or an attacker without naming a protected
/// group is no hate speech, whatever the models read into the name
/// (`cascade.untargeted_condemnation_hate_factor`); 1 otherwise.
pub(crate) fn hate_factor(
    policy: &CascadePolicy,
    condemns_what_it_names: bool,
    hits: &[LexiconHit],
) -> f32 {
    if condemns_what_it_names && !hits.iter().any(LexiconHit::names_protected_group) {
        policy.untargeted_condemnation_hate_factor
    } else {
        1.0
    }
}

/// Whether a hate-category hit (mentions included) names a target hate speech could have: a
/// protected group or a reference to a group of people, a slur, a hate code. Hate speech attacks
/// people for a protected characteristic; the deep head also reads Dutch everyday talk ("wie
/// rijdt er mee in de volgende race") as hate, from the words its hate training rows share with
/// it, so a message without a target has its deep hate probability scaled by
/// `cascade.untargeted_deep_hate_factor`.
fn names_hate_target(hits: &[LexiconHit]) -> bool {
    hits.iter()
        .any(|h| h.category == Category::Hate && !h.is_counter_speech())
}

/// A message's scores from its model evidence (`None` when no model ran) and its lexicon hits:
/// the two [combined](combine) with the policy's lexicon weight, then
/// [scaled for counter-speech](with_counter_speech_scaled), the stance model's reading of the
/// message (`endorsement`, `None` without the model) read only if needed. Every scoring path
/// ends here.
pub(crate) fn with_lexicon(
    evidence: Option<Scores>,
    hits: &[LexiconHit],
    policy: &Policy,
    endorsement: impl FnMut() -> Option<f32>,
) -> Scores {
    with_counter_speech_scaled(
        combine(
            evidence.unwrap_or_default(),
            hits,
            policy.lexicon.weight_scale,
        ),
        hits,
        &policy.cascade,
        endorsement,
    )
}

/// The smallest hate or extremism score for which the stance model is read: the default policy
/// acts on none below 0.25, and ordinary chat keeps its inline check as cheap as without the
/// model.
const STANCE_READ_FLOOR: f32 = 0.1;

/// Drops the hits that only told the scorer the stance (mentions, counter-speech phrases): they
/// are no evidence to report.
pub(crate) fn drop_stance_only(hits: &mut Vec<LexiconHit>) {
    hits.retain(|hit| !hit.kind.is_stance_only());
}

/// `scores` (models and lexicon combined) of a message with these lexicon hits, with hate and
/// extremism multiplied by `cascade.counter_speech_factor` when a counter-speech phrase is in
/// it (`is a conspiracy myth`, `i reported him`, `deel dat manifest niet`): the models and the
/// exemplars read a message's topic, not which side the speaker is on. A category with plain
/// lexicon evidence (a hit neither softened nor condemned where it stands) keeps its score: a
/// phrase elsewhere in the message does not outweigh a code read as such ("dont share this, but
/// the day of the rope is coming"). A category whose every hit is discussed where it stands
/// (explained or reported as someone else's use: "88 staat voor heil hitler", "the guy typing
/// 1488 again") is scaled too, with or without a phrase.
///
/// A message the stance model reads as not endorsing what it speaks of (`endorsement` below
/// `cascade.stance_threshold`, read only for a score of at least [`STANCE_READ_FLOOR`]) has
/// both scaled too, plain lexicon evidence or not: the model weighs every word of the message,
/// where a phrase is one hit next to others ("can a mod ban the guy spamming 1488", "1488 in ur
/// name is gross bro"). Threat and insult are left as they are: a threat stays a threat
/// whatever else the message says.
fn with_counter_speech_scaled(
    mut scores: Scores,
    hits: &[LexiconHit],
    policy: &CascadePolicy,
    mut endorsement: impl FnMut() -> Option<f32>,
) -> Scores {
    let phrase = hits.iter().any(LexiconHit::is_counter_speech);
    let threshold = policy.stance_threshold;
    // Read at most once here, whichever categories ask.
    let mut reading = None;
    let mut not_endorsing = || {
        threshold > 0.0
            && reading
                .get_or_insert_with(&mut endorsement)
                .is_some_and(|p| p < threshold)
    };
    for category in Kind::COUNTERED {
        let evidence = || {
            hits.iter()
                .filter(move |h| h.category == category && !h.kind.is_stance_only())
        };
        let score = scores.get(category);
        let plain_evidence = evidence().any(|h| !h.softened);
        let discussed = evidence().next().is_some() && evidence().all(|h| h.discussed);
        if (phrase || discussed) && !plain_evidence {
            scores.set(category, score * policy.counter_speech_factor);
        } else if score >= STANCE_READ_FLOOR && not_endorsing() {
            scores.set(category, score * policy.stance_factor);
        }
    }
    scores
}

/// `scores` with the hate probability multiplied by `factor`.
pub(crate) fn with_hate_scaled(mut scores: Scores, factor: f32) -> Scores {
    scores.set(Category::Hate, scores.get(Category::Hate) * factor);
    scores
}

impl MessageScore {
    /// The scores the policy's message-level thresholds compare (combined, and deep tier alone).
    pub fn tier_scores(&self) -> TierScores {
        TierScores {
            combined: self.scores,
            deep: self.deep_scores,
        }
    }
}

/// Combines model probabilities with lexicon hits as independent evidence (noisy-OR):
/// `1 - (1 - p) * Π (1 - scale * weight)` per category.
pub fn combine(model: Scores, hits: &[LexiconHit], weight_scale: f32) -> Scores {
    let mut combined = model;
    for category in Category::ALL {
        let keep = hits
            .iter()
            .filter(|hit| hit.category == category)
            .fold(1.0 - model.get(category), |acc, hit| {
                acc * (1.0 - weight_scale * hit.weight.clamp(0.0, 1.0))
            });
        combined.set(category, 1.0 - keep);
    }
    combined
}
