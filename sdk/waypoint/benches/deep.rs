//! Deep-tier throughput next to the fast tier, in the same run, on one thread: the deep tier as
//! the scorer runs it (normalise, then each message embedded alone by the multilingual encoder —
//! Rust SentencePiece + ONNX model — then the head over the batch) at batch 1 and batch 32, the
//! encoder alone with real batching (faster, but a message's embedding would then depend on its
//! batch, which is why the SDK does not do it), and the fast tier (normalise + featurise +
//! model) at the same batch sizes.
//!
//! Run with `cargo bench -p waypoint --bench deep` after `python3 models/fetch.py`. Criterion
//! measures each case; a summary table then prints messages per second, per-message time and
//! the deep/fast ratio. Without `models/fast/fast.onnx` only the deep tier is measured.
//!
//! Last, the exemplar path's cost per message (similarities against a matrix of 1,500 exemplars,
//! top-k per category, evidence) at batch 1 and 32, next to the head alone on the same
//! embeddings: the extra cost exemplars add to the deep tier; and the cost of asking whether a
//! message names a group loosely (`Lexicon::names_group_loosely`, which the scorer asks of
//! every deep-scored message with no hate-category lexicon hit), next to the deep tier.

use std::hint::black_box;
#[path = "support/mod.rs"]
#[expect(
    dead_code,
    reason = "this bench uses only part of the shared support module"
)]
mod support;

use std::time::Duration;

use criterion::{Criterion, Throughput};
use support::{best_pass, corpus, workspace_root};
use waypoint::model::{
    DeepEncoder, DeepTier, EMBEDDING_DIM, Embedding, ExemplarFile, ExemplarIndex, FastModel,
    Runtime,
};
use waypoint::policy::ExemplarPolicy;
use waypoint::text::{Lexicon, NormalizeOptions, normalize};

const CORPUS_LINES: usize = 256;

fn main() {
    let (corpus_name, lines) = corpus(CORPUS_LINES);
    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
    let runtime = match Runtime::init(None) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("deep bench: cannot start ONNX Runtime: {e}");
            std::process::exit(1);
        }
    };
    let deep = match DeepEncoder::load_default(&runtime)
        .or_else(|_| DeepEncoder::load(&runtime, &workspace_root().join(".cache/waypoint/encoder")))
    {
        Ok(deep) => deep,
        Err(e) => {
            eprintln!("deep bench: cannot load the deep-tier encoder: {e}");
            std::process::exit(1);
        }
    };
    let tier = match DeepTier::load(&runtime, deep.dir(), &workspace_root().join("models")) {
        Ok(tier) => tier,
        Err(e) => {
            eprintln!("deep bench: cannot load the deep tier (encoder + head): {e}");
            std::process::exit(1);
        }
    };
    let fast = match FastModel::load(&runtime, &workspace_root().join("models")) {
        Ok(fast) => Some(fast),
        Err(e) => {
            eprintln!("deep bench: fast tier not measured ({e}); measuring the deep tier only");
            None
        }
    };
    let options = NormalizeOptions::default();
    let fast_tier = |batch: &[&str]| {
        let normalized: Vec<String> = batch.iter().map(|t| normalize(t, &options).text).collect();
        fast.as_ref()
            .map(|f| f.score_batch(&normalized).map(|s| s.len()).unwrap_or(0))
            .unwrap_or(0)
    };
    let deep_tier = |batch: &[&str]| {
        let normalized: Vec<String> = batch.iter().map(|t| normalize(t, &options).text).collect();
        let inputs: Vec<&str> = normalized.iter().map(String::as_str).collect();
        tier.score(&inputs).map(|s| s.len()).unwrap_or(0)
    };
    let encoder_batched = |batch: &[&str]| deep.embed_batch(batch).map(|e| e.len()).unwrap_or(0);

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("deep");
        group.throughput(Throughput::Elements(texts.len() as u64));
        for batch in [1, 32] {
            group.bench_function(format!("deep_tier_batch_{batch}"), |b| {
                b.iter(|| {
                    texts
                        .chunks(batch)
                        .map(|c| deep_tier(black_box(c)))
                        .sum::<usize>()
                })
            });
            group.bench_function(format!("encoder_batched_{batch}"), |b| {
                b.iter(|| {
                    texts
                        .chunks(batch)
                        .map(|c| encoder_batched(black_box(c)))
                        .sum::<usize>()
                })
            });
            if fast.is_some() {
                group.bench_function(format!("fast_tier_batch_{batch}"), |b| {
                    b.iter(|| {
                        texts
                            .chunks(batch)
                            .map(|c| fast_tier(black_box(c)))
                            .sum::<usize>()
                    })
                });
            }
        }
        group.finish();
    }
    criterion.final_summary();

    let n = texts.len() as f64;
    println!("\nDeep vs fast tier on {corpus_name} (one thread)");
    println!(
        "{:<22} {:>14} {:>16} {:>14}",
        "case", "messages/s", "per message", "deep / fast"
    );
    for batch in [1, 32] {
        let deep_time = best_pass(|| {
            black_box(texts.chunks(batch).map(&deep_tier).sum::<usize>());
        });
        let fast_time = fast.as_ref().map(|_| {
            best_pass(|| {
                black_box(texts.chunks(batch).map(&fast_tier).sum::<usize>());
            })
        });
        let per_message = |d: Duration| d.as_secs_f64() / n;
        println!(
            "{:<22} {:>14.0} {:>13.1} µs {:>14}",
            format!("deep tier, batch {batch}"),
            n / deep_time.as_secs_f64(),
            per_message(deep_time) * 1e6,
            fast_time.map_or("-".to_owned(), |f| format!(
                "{:.1}x",
                deep_time.as_secs_f64() / f.as_secs_f64()
            ))
        );
        let encoder_time = best_pass(|| {
            black_box(texts.chunks(batch).map(&encoder_batched).sum::<usize>());
        });
        println!(
            "{:<22} {:>14.0} {:>13.1} µs {:>14}",
            format!("encoder batched, {batch}"),
            n / encoder_time.as_secs_f64(),
            per_message(encoder_time) * 1e6,
            ""
        );
        if let Some(f) = fast_time {
            println!(
                "{:<22} {:>14.0} {:>13.1} µs {:>14}",
                format!("fast tier, batch {batch}"),
                n / f.as_secs_f64(),
                per_message(f) * 1e6,
                ""
            );
        }
    }
    // Tokenisation alone, to show where the deep tier's time goes.
    let tokenizer = deep.tokenizer();
    let tokenize_time = best_pass(|| {
        black_box(
            texts
                .iter()
                .map(|t| tokenizer.encode(t).len())
                .sum::<usize>(),
        );
    });
    println!(
        "{:<22} {:>14.0} {:>13.1} µs",
        "tokenizer only",
        n / tokenize_time.as_secs_f64(),
        tokenize_time.as_secs_f64() / n * 1e6
    );
    let embeddings = tier.embed(&texts).unwrap_or_default();
    exemplar_cost(&tier, &embeddings);
    let deep_time = best_pass(|| {
        black_box(texts.chunks(32).map(&deep_tier).sum::<usize>());
    });
    loose_group_name_cost(&texts, deep_time.as_secs_f64() / n);
}

/// The cost of [`Lexicon::names_group_loosely`] per message, next to the deep tier's own cost
/// per message at batch 32 (`deep_per_message`, seconds).
fn loose_group_name_cost(texts: &[&str], deep_per_message: f64) {
    let lexicon = match Lexicon::load_dir(&workspace_root().join("models/lexicon")) {
        Ok(lexicon) => lexicon,
        Err(e) => {
            println!("loose group names not measured: {e}");
            return;
        }
    };
    let options = NormalizeOptions::default();
    let normalized: Vec<_> = texts.iter().map(|t| normalize(t, &options)).collect();
    let time = best_pass(|| {
        black_box(
            normalized
                .iter()
                .filter(|n| lexicon.names_group_loosely(n))
                .count(),
        );
    });
    let per_message = time.as_secs_f64() / texts.len() as f64;
    println!(
        "\nLoose group names (untargeted deep hate), one thread: {:.2} µs per message, {:.2} % of \
         the deep tier's {:.1} µs at batch 32",
        per_message * 1e6,
        per_message / deep_per_message * 100.0,
        deep_per_message * 1e6
    );
}

/// Exemplars in the synthetic matrix: about the size of a well-filled exemplar file.
const SYNTHETIC_EXEMPLARS: usize = 1500;

/// A synthetic exemplar file (four rare-category sets and a common set) with deterministic
/// pseudo-random embeddings: the cost depends only on the matrix size.
fn synthetic_index() -> Option<ExemplarIndex> {
    let classes = ["insult", "hate", "threat", "extremism", "common"];
    let per_set = SYNTHETIC_EXEMPLARS / classes.len();
    let mut source = String::from("version = \"bench\"\n");
    for class in classes {
        let examples: Vec<String> = (0..per_set).map(|i| format!("\"{class} {i}\"")).collect();
        source.push_str(&format!(
            "[[set]]\ncategory = \"{class}\"\nlang = \"en\"\nlabel = \"b\"\nexamples = [{}]\n",
            examples.join(", ")
        ));
    }
    let file = ExemplarFile::parse(&source, "<bench>").ok()?;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let rows: Vec<Embedding> = (0..file.len())
        .map(|_| {
            let mut e = [0.0_f32; EMBEDDING_DIM];
            for x in &mut e {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                *x = ((state >> 40) as f32 / (1_u64 << 24) as f32) - 0.5;
            }
            e
        })
        .collect();
    ExemplarIndex::from_embeddings(file, &rows).ok()
}

fn exemplar_cost(tier: &DeepTier, embeddings: &[Embedding]) {
    let Some(index) = synthetic_index() else {
        println!("exemplar path not measured: the synthetic exemplar file did not build");
        return;
    };
    if embeddings.is_empty() {
        println!("exemplar path not measured: no embeddings");
        return;
    }
    let policy = ExemplarPolicy::default();
    let n = embeddings.len() as f64;
    println!(
        "\nExemplar path, {} exemplars, on the same {} embeddings (one thread)",
        index.len(),
        embeddings.len()
    );
    println!(
        "{:<22} {:>16} {:>16} {:>16}",
        "case", "head alone", "exemplars", "exemplars / head"
    );
    for batch in [1, 32] {
        let head = best_pass(|| {
            black_box(
                embeddings
                    .chunks(batch)
                    .map(|c| tier.head().score(c).map(|s| s.len()).unwrap_or(0))
                    .sum::<usize>(),
            );
        });
        let exemplars = best_pass(|| {
            black_box(
                embeddings
                    .chunks(batch)
                    .map(|c| index.score(c, &policy).len())
                    .sum::<usize>(),
            );
        });
        println!(
            "{:<22} {:>13.1} µs {:>13.1} µs {:>15.2}x",
            format!("batch {batch}, per message"),
            head.as_secs_f64() / n * 1e6,
            exemplars.as_secs_f64() / n * 1e6,
            exemplars.as_secs_f64() / head.as_secs_f64()
        );
    }
}
