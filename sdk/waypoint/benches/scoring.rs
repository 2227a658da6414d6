//! Scoring throughput: normaliser, featuriser, fast tier at batch 1 and 64, and the `rustrict`
//! crate's `is_inappropriate` as the baseline, on the same corpus in the same run.
//!
//! Run with `cargo bench -p waypoint --bench scoring`. Criterion measures each stage; a summary
//! table then prints messages per second, the ratio to rustrict, and per-message latency
//! percentiles of the full fast-tier path at batch 1 as `Engine::check_chat` runs it on the game
//! thread (normalise + lexicon + featurise + model + decision). The same model through ONNX
//! Runtime is measured alongside, for comparison with the native evaluation, and the lexicon
//! matcher alone on a few typical lines.

use std::hint::black_box;
#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use rustrict::CensorStr;
use support::{best_pass, corpus, each, workspace_root};
use waypoint::internals::{FeatureCounts, featurize, for_each_feature};
use waypoint::model::{FastModel, Runtime};
use waypoint::text::{NormalizeOptions, NormalizeScratch, Normalized, normalize, normalize_into};
use waypoint::{ChatMessage, Engine, Health, Policy, Scorer};

const CORPUS_LINES: usize = 2_000;

struct Figure {
    name: &'static str,
    per_second: f64,
}

/// Messages per second of `run` over `lines` messages, best of a few passes.
fn throughput(lines: usize, run: impl FnMut()) -> f64 {
    lines as f64 / best_pass(run).as_secs_f64()
}

fn main() {
    let (corpus_name, lines) = corpus(CORPUS_LINES);
    let options = NormalizeOptions::default();
    let normalized: Vec<String> = lines.iter().map(|l| normalize(l, &options).text).collect();
    // Fast tier only: the batch path would otherwise send some lines on to the deep tier,
    // which `cargo bench --bench deep` measures.
    let scorer = Scorer::builder()
        .models_dir(workspace_root().join("models"))
        .deep_tier(false)
        .build();
    let scorer = match scorer {
        Ok(s) if *s.health() == Health::Ready => Some(Arc::new(s)),
        Ok(s) => {
            eprintln!(
                "scoring bench: fast tier skipped, scorer degraded: {:?}",
                s.health()
            );
            None
        }
        Err(e) => {
            eprintln!("scoring bench: fast tier skipped: {e}");
            None
        }
    };

    // `check_chat` on a real engine: the inline pre-send path.
    let engine = scorer
        .as_ref()
        .and_then(|scorer| bench_engine(scorer, Policy::default(), "no engine"));
    // The same engine with the stance model turned off: what reading it costs, in the same run.
    let engine_without_stance = scorer.as_ref().and_then(|scorer| {
        let mut policy = Policy::default();
        policy.cascade.stance_threshold = 0.0;
        bench_engine(scorer, policy, "no engine without stance")
    });
    let chats: Vec<ChatMessage> = lines
        .iter()
        .map(|l| ChatMessage::new("steam:1", l.as_str()).locale("en"))
        .collect();

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("scoring");
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function("rustrict_is_inappropriate", |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter(|l| black_box(l.as_str()).is_inappropriate())
                    .count()
            })
        });
        group.bench_function("normalize", |b| {
            b.iter(|| each(&lines, |l| normalize(black_box(l), &options)))
        });
        group.bench_function("featurize", |b| {
            b.iter(|| each(&normalized, |t| featurize(black_box(t))))
        });
        if let Some(engine) = &engine {
            group.bench_function("fast_tier_batch_1_check_chat", |b| {
                b.iter(|| each(&chats, |c| engine.check_chat(black_box(c))))
            });
        }
        if let Some(scorer) = &scorer {
            group.bench_function("fast_tier_batch_1", |b| {
                b.iter(|| each(&lines, |l| scorer.score(black_box(l))))
            });
            group.bench_function("fast_tier_batch_64", |b| {
                b.iter_batched(
                    || lines.clone(),
                    |ls| {
                        ls.chunks(64)
                            .map(|c| scorer.score_batch(c).len())
                            .sum::<usize>()
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        group.finish();
    }
    criterion.final_summary();

    // Summary table in one run, so the ratios compare like with like on a noisy machine.
    let n = lines.len();
    let mut figures = vec![
        Figure {
            name: "rustrict is_inappropriate (baseline)",
            per_second: throughput(n, || {
                black_box(
                    lines
                        .iter()
                        .filter(|l| l.as_str().is_inappropriate())
                        .count(),
                );
            }),
        },
        Figure {
            name: "normalize",
            per_second: throughput(n, || {
                each(&lines, |l| normalize(l, &options));
            }),
        },
        Figure {
            name: "normalize, reused buffers",
            per_second: {
                let (mut out, mut scratch) = (Normalized::default(), NormalizeScratch::default());
                throughput(n, || {
                    each(&lines, |l| {
                        normalize_into(l, &options, &mut out, &mut scratch);
                        out.text.len()
                    });
                })
            },
        },
        Figure {
            name: "featurize (sorted vector)",
            per_second: throughput(n, || {
                each(&normalized, |t| featurize(t));
            }),
        },
        Figure {
            name: "featurize (counting table)",
            per_second: {
                let mut counts = FeatureCounts::default();
                throughput(n, || {
                    each(&normalized, |t| {
                        let mut sum = 0.0_f32;
                        for_each_feature(t, &mut counts, |_, v| sum += v);
                        sum
                    });
                })
            },
        },
    ];
    if let Some(scorer) = &scorer {
        let normalized_full: Vec<_> = lines.iter().map(|l| normalize(l, &options)).collect();
        figures.push(Figure {
            name: "lexicon find (stage alone)",
            per_second: throughput(n, || {
                black_box(
                    normalized_full
                        .iter()
                        .map(|t| scorer.lexicon().find(t).len())
                        .sum::<usize>(),
                );
            }),
        });
        let models = workspace_root().join("models");
        let loaded = [
            (
                "featurize + model native, batch 64 (stage)",
                FastModel::load_native(&models).map_err(|e| e.to_string()),
            ),
            (
                "featurize + model ONNX Runtime, batch 64",
                Runtime::init(None)
                    .map_err(|e| e.to_string())
                    .and_then(|runtime| {
                        FastModel::load_onnx_runtime(&runtime, &models).map_err(|e| e.to_string())
                    }),
            ),
        ];
        for (name, model) in loaded {
            match model {
                Ok(model) => figures.push(Figure {
                    name,
                    per_second: throughput(n, || {
                        black_box(
                            normalized
                                .chunks(64)
                                .map(|c| model.score_batch(c).map_or(0, |s| s.len()))
                                .sum::<usize>(),
                        );
                    }),
                }),
                Err(e) => eprintln!("scoring bench: {name} skipped: {e}"),
            }
        }
        if let Some(engine) = &engine {
            figures.push(Figure {
                name: "fast tier, batch 1 (check_chat)",
                per_second: throughput(n, || {
                    each(&chats, |c| engine.check_chat(c));
                }),
            });
        }
        figures.push(Figure {
            name: "fast tier, batch 1 (Scorer::score)",
            per_second: throughput(n, || {
                each(&lines, |l| scorer.score(l));
            }),
        });
        figures.push(Figure {
            name: "fast tier, batch 64",
            per_second: throughput(n, || {
                black_box(
                    lines
                        .chunks(64)
                        .map(|c| scorer.score_batch(c).len())
                        .sum::<usize>(),
                );
            }),
        });
    }
    let baseline = figures[0].per_second;
    println!("\nScoring throughput on {corpus_name} (one thread)");
    println!("{:<40} {:>14} {:>12}", "stage", "messages/s", "vs rustrict");
    for f in &figures {
        println!(
            "{:<40} {:>14.0} {:>11.2}x",
            f.name,
            f.per_second,
            f.per_second / baseline
        );
    }
    if let Some(scorer) = &scorer {
        lexicon_on_typical_messages(scorer, &options);
    }
    if let (Some(engine), Some(without_stance), Some(scorer)) =
        (&engine, &engine_without_stance, &scorer)
    {
        interleaved_rounds(&lines, &chats, [engine, without_stance], scorer);
    }
    if let Some(engine) = &engine {
        per_message_latency(engine, &chats);
    }
}

/// Latency percentiles of `check_chat`, one call timed at a time, over five passes of the
/// corpus: first over every call, then over each message's median of its five calls. The
/// second keeps what a message costs and drops what the machine did meanwhile (a preemption
/// or a cache flushed by a neighbour lands on one call, not on all five).
fn per_message_latency(engine: &Engine, chats: &[ChatMessage]) {
    const PASSES: usize = 5;
    let mut per_message: Vec<[Duration; PASSES]> = vec![[Duration::ZERO; PASSES]; chats.len()];
    for pass in 0..PASSES {
        for (chat, times) in chats.iter().zip(&mut per_message) {
            let start = Instant::now();
            black_box(engine.check_chat(chat));
            times[pass] = start.elapsed();
        }
    }
    let mut every_call: Vec<Duration> = per_message.iter().flatten().copied().collect();
    let mut medians: Vec<Duration> = per_message
        .iter_mut()
        .map(|times| {
            times.sort();
            times[PASSES / 2]
        })
        .collect();
    for (what, latencies) in [
        ("every call", &mut every_call),
        ("median of each message's 5 calls", &mut medians),
    ] {
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
        println!(
            "fast tier per message (batch 1, check_chat), {what}: p50 {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, max {:.1} µs",
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(1.0)
        );
    }
}

/// Lexicon matching alone on a few typical lines (plain chat, number codes, Dutch, emoji), per
/// message: the matcher's cost on the lines its context rules look at most.
fn lexicon_on_typical_messages(scorer: &Scorer, options: &NormalizeOptions) {
    let messages: Vec<Normalized> = [
        "nice shot man, rush b next round and watch the flank",
        "gg wp",
        "88 kills this round lol",
        "kill the healer first then push mid",
        "ik heb 88 punten, goed gespeeld",
        "who wants to duo queue? i'm level 14",
        "xX1488Xx joined the lobby",
        "sieg heil 🐸",
    ]
    .iter()
    .map(|m| normalize(m, options))
    .collect();
    let rounds = 1_000;
    let pass = best_pass(|| {
        for _ in 0..rounds {
            black_box(
                messages
                    .iter()
                    .map(|n| scorer.lexicon().find(n).len())
                    .sum::<usize>(),
            );
        }
    });
    let per_message = pass.as_secs_f64() * 1e6 / (rounds * messages.len()) as f64;
    println!(
        "\nlexicon find on {} typical messages: {per_message:.2} µs per message ({} entries)",
        messages.len(),
        scorer.lexicon().len()
    );
}

/// An engine on `scorer` with `policy`, or `None` after saying why (`what`) on stderr.
fn bench_engine(scorer: &Arc<Scorer>, policy: Policy, what: &str) -> Option<Engine> {
    Engine::builder()
        .scorer(Arc::clone(scorer))
        .policy(policy)
        .pseudonym_key(b"bench".to_vec())
        .build()
        .map_err(|e| eprintln!("scoring bench: {what}: {e}"))
        .ok()
}

/// Baseline and fast tier measured back to back, several times: on a shared machine the load
/// changes between stages, so each round's ratio compares neighbours in time. Each round runs
/// rustrict, `check_chat` with and without the stance model, and `score_batch`, each given as a
/// ratio to that round's rustrict.
fn interleaved_rounds(
    lines: &[String],
    chats: &[ChatMessage],
    [engine, without_stance]: [&Engine; 2],
    scorer: &Scorer,
) {
    let n = lines.len();
    println!("\nInterleaved rounds (rustrict, then the fast tier, back to back)");
    println!(
        "{:<6} {:>14} {:>22} {:>22} {:>22}",
        "round", "rustrict/s", "check_chat (batch 1)", "  without stance model", "score_batch (64)"
    );
    for round in 1..=5 {
        let baseline = throughput(n, || {
            black_box(
                lines
                    .iter()
                    .filter(|l| l.as_str().is_inappropriate())
                    .count(),
            );
        });
        // The two `check_chat` runs take turns going first: the second of two runs over the
        // same lines is faster for it.
        let run = |engine: &Engine| {
            throughput(n, || {
                each(chats, |c| engine.check_chat(c));
            })
        };
        let (single, single_without_stance) = if round % 2 == 1 {
            let with = run(engine);
            (with, run(without_stance))
        } else {
            let without = run(without_stance);
            (run(engine), without)
        };
        let batched = throughput(n, || {
            black_box(
                lines
                    .chunks(64)
                    .map(|c| scorer.score_batch(c).len())
                    .sum::<usize>(),
            );
        });
        println!(
            "{round:<6} {baseline:>14.0} {:>13.0} {:>6.2}x {:>13.0} {:>6.2}x {:>13.0} {:>6.2}x",
            single,
            single / baseline,
            single_without_stance,
            single_without_stance / baseline,
            batched,
            batched / baseline
        );
    }
}
