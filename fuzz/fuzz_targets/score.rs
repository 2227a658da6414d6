//! Fuzzes the whole message scorer (normaliser, lexicon, featuriser, fast-tier model, policy):
//! arbitrary bytes, read as lossy UTF-8, must never panic and must give probabilities in [0, 1].
//! Uses the real models in `../models` and the ONNX Runtime fetched by `python3 models/fetch.py`;
//! without them the scorer runs degraded (lexicon only), which is fuzzed just the same.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use waypoint::{ResponseLevel, Scorer};

fn scorer() -> Option<&'static Scorer> {
    static SCORER: OnceLock<Option<Scorer>> = OnceLock::new();
    SCORER
        .get_or_init(|| {
            Scorer::builder()
                .models_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"))
                .build()
                .ok()
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(scorer) = scorer() else { return };
    let text = String::from_utf8_lossy(data);
    // Score the message alone (fast tier, the inline path) and in a batch with its halves (the
    // worker's path, which may add the deep tier): the fast tier's own probabilities must not
    // depend on padding or batch-mates, and every score stays a probability.
    let half = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let (left, right) = text.split_at(half);
    let single = scorer.score(&text);
    let batch = scorer.score_batch(&[text.as_ref(), left, right]);
    assert_eq!(batch.len(), 3);
    for scored in std::iter::once(&single).chain(&batch) {
        let tiers = [Some(scored.scores), scored.model, scored.deep];
        for (_, p) in tiers.iter().flatten().flat_map(|s| s.iter()) {
            assert!(
                (0.0..=1.0).contains(&p),
                "score {p} out of range for {text:?}"
            );
        }
    }
    if let (Some(alone), Some(batched)) = (single.model, batch[0].model) {
        for ((_, a), (_, b)) in alone.iter().zip(batched.iter()) {
            assert!(
                (a - b).abs() < 1e-4,
                "fast tier: batch and single disagree for {text:?}"
            );
        }
    }
    assert_eq!(
        single.decision.level == ResponseLevel::None,
        single.decision.reasons.is_empty()
    );
});
