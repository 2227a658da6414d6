//! The human-readable summary `waypoint eval` prints on standard output.

use std::fmt::Write as _;

use super::EvalReport;
use super::metrics::Interval;
use super::tally::{ANY, FLAGGED_DEFINITION};

fn num(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// A 95 % interval in percent: `4.0–12.1%`.
fn interval(value: Option<Interval>) -> String {
    value.map_or_else(
        || "–".to_owned(),
        |i| format!("{:.1}–{:.1}%", i.low * 100.0, i.high * 100.0),
    )
}

/// Renders the report as plain-text tables.
pub fn render(report: &EvalReport) -> String {
    let mut s = String::new();
    let r = &report.rows;
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        s,
        "data: {}  ({} rows read: {} scored = {} positive + {} benign, {} skipped by --map, {} bad)",
        report.data, r.read, r.scored, r.positive, r.benign, r.skipped, r.bad
    );
    let _ = writeln!(
        s,
        "policy: {} ({})   model: {}   health: {}",
        report.policy.version,
        report.policy.origin,
        report.model_version.as_deref().unwrap_or("none"),
        report.health_summary()
    );
    let _ = writeln!(s, "flagged: {FLAGGED_DEFINITION}");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<10} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "category", "policy≥", "pos", "benign", "prec", "recall", "F1", "FPR", "AUC", "flagTP"
    );
    for c in &report.categories {
        let _ = writeln!(
            s,
            "{:<10} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
            c.category,
            c.policy_threshold
                .map_or_else(|| "any resp".to_owned(), |t| format!("{t:.2}")),
            c.positives,
            c.negatives,
            num(c.precision),
            num(c.recall),
            num(c.f1),
            pct(c.fpr),
            num(c.roc_auc),
            c.flagged_positives
        );
    }
    let _ = writeln!(
        s,
        "\n95% intervals (Wilson; the true rates these lines are consistent with):"
    );
    let _ = writeln!(s, "{:<10} {:>14} {:>14}", "category", "recall", "FPR");
    for c in &report.categories {
        let _ = writeln!(
            s,
            "{:<10} {:>14} {:>14}",
            c.category,
            interval(c.recall_interval_95),
            interval(c.fpr_interval_95)
        );
    }
    let b = &report.levels.benign;
    let _ = writeln!(
        s,
        "\nbenign lines flagged (any response): {} of {} = {} (95%: {})   (nudge {}, help {}, review {})",
        b.nudge + b.help + b.review,
        r.benign,
        pct(report.benign_flagged_rate),
        interval(report.benign_flagged_interval_95),
        b.nudge,
        b.help,
        b.review
    );
    for c in report
        .categories
        .iter()
        .filter(|c| c.positives > 0 || (c.category == ANY && c.negatives > 0))
    {
        let _ = writeln!(
            s,
            "\nsweep: {} ({} positive, {} benign lines; flagged = score ≥ threshold)",
            c.category, c.positives, c.negatives
        );
        let _ = writeln!(
            s,
            "{:>9} {:>10} {:>10} {:>7} {:>7} {:>7} {:>7}",
            "threshold", "flag pos", "flag ben", "prec", "recall", "F1", "FPR"
        );
        for row in &c.sweep {
            let _ = writeln!(
                s,
                "{:>9.2} {:>10} {:>10} {:>7} {:>7} {:>7} {:>7}",
                row.threshold,
                row.flagged_positives,
                row.flagged_benign,
                num(row.precision),
                num(row.recall),
                num(row.f1),
                pct(row.fpr)
            );
        }
    }
    render_groups(&mut s, report);
    if !report.labels.is_empty() {
        let _ = writeln!(s, "\nby label:");
        for l in &report.labels {
            let _ = writeln!(
                s,
                "  {:<24} → {:<22} {:>8} rows, {:>7} any response (95%: {})",
                l.label,
                l.target,
                l.rows,
                pct(l.flagged_any_rate),
                interval(l.flagged_any_interval_95)
            );
        }
    }
    s
}

/// The per-group table of `--group-field`: recall for the line's own category and the share of
/// lines given any response.
fn render_groups(s: &mut String, report: &EvalReport) {
    let Some(field) = &report.group_field else {
        return;
    };
    let _ = writeln!(
        s,
        "\nby {field} (own = flagged for the line's own category; any = any response; review = \
         referred to human review):"
    );
    let _ = writeln!(
        s,
        "  {:<32} {:>6} {:>6} {:>7} {:>7} {:>10} {:>12} {:>7} {:>12} {:>7}",
        "group",
        "rows",
        "pos",
        "benign",
        "skipped",
        "own recall",
        "own 95%",
        "any",
        "any 95%",
        "review"
    );
    for g in &report.groups {
        let _ = writeln!(
            s,
            "  {:<32} {:>6} {:>6} {:>7} {:>7} {:>10} {:>12} {:>7} {:>12} {:>7}",
            g.group,
            g.rows,
            g.positive,
            g.benign,
            g.skipped,
            pct(g.own_category_recall),
            interval(g.own_category_recall_interval_95),
            pct(g.flagged_any_rate),
            interval(g.flagged_any_interval_95),
            pct(g.referred_rate)
        );
    }
}
