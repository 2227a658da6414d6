//! Scoring throughput: normaliser, featuriser, fast tier at batch 1 and 64, and the `rustrict`
//! crate's `is_inappropriate` as the baseline, on the same corpus in the same run.
//!
//! Run with `cargo bench -p waypoint --bench scoring`. Criterion measures each stage; a summary
//! table then prints messages per second, the ratio to rustrict, and per-message latency
//! percentiles of the full fast-tier path (normalise + lexicon + featurise + model).

use std::hint::black_box;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use rustrict::CensorStr;
use support::{best_pass, corpus, each, workspace_root};
use waypoint::model::{FastModel, Runtime, featurize};
use waypoint::text::{NormalizeOptions, normalize};
use waypoint::{Health, Scorer};

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
        Ok(s) if *s.health() == Health::Ready => Some(s),
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
            name: "featurize",
            per_second: throughput(n, || {
                each(&normalized, |t| featurize(t));
            }),
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
        if let Ok(runtime) = Runtime::init(None)
            && let Ok(model) = FastModel::load(&runtime, &workspace_root().join("models"))
        {
            figures.push(Figure {
                name: "featurize + model, batch 64 (stage alone)",
                per_second: throughput(n, || {
                    black_box(
                        normalized
                            .chunks(64)
                            .map(|c| model.score_batch(c).map_or(0, |s| s.len()))
                            .sum::<usize>(),
                    );
                }),
            });
        }
        figures.push(Figure {
            name: "fast tier, batch 1",
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
        let mut latencies: Vec<Duration> = Vec::with_capacity(n * 3);
        for _ in 0..3 {
            for line in &lines {
                let start = Instant::now();
                black_box(scorer.score(line));
                latencies.push(start.elapsed());
            }
        }
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
        println!(
            "fast tier per message (batch 1, full path): p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(1.0)
        );
    }
}
