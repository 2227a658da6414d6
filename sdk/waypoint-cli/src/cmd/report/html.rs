//! The self-contained HTML page: inline CSS, inline SVG charts, no scripts, no external files.

use std::fmt::Write as _;

use waypoint::Category;
use waypoint::telemetry::{ResponseLevel, Rollup};

use super::ReportError;
use super::charts::{self, format_time, thousands};
use super::summary::{Figure, Summary};

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #f4f5f7; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin: 36px 0 6px; border-bottom: 2px solid #e3e6ea; padding-bottom: 4px; }
p.lead { color: #555; margin: 0 0 18px; }
p.explain { color: #444; margin: 6px 0 4px; font-size: 15px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; }
.card { flex: 1 1 150px; background: #f0f4fa; border-radius: 8px; padding: 12px 14px; }
.card .value { font-size: 24px; font-weight: bold; color: #1f4e8c; }
.card .label { font-size: 13px; color: #555; }
figure { margin: 8px 0; }
figure svg { width: 100%; height: auto; border: 1px solid #e3e6ea; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin: 10px 0; font-size: 14px; }
th, td { border: 1px solid #d8dce2; padding: 6px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef1f5; }
tfoot td { font-weight: bold; background: #f7f8fa; }
td.hidden { background: #f1e9f6; color: #5b3a75; }
.note { font-size: 13px; color: #555; background: #fafafa; border-left: 4px solid #7b4f9a; padding: 8px 12px; margin: 16px 0; }
"#;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A figure for people: `1,234`, `at least 1,234 ‡`, or `hidden (fewer than 10)`.
fn show(f: &Figure, k: u64) -> String {
    match (f.count, f.suppressed_cells) {
        (n, 0) => thousands(n),
        (0, 1) => format!("hidden (fewer than {k})"),
        (0, _) => format!("hidden (at most {})", thousands(f.upper())),
        (n, _) => format!("{}–{} ‡", thousands(n), thousands(f.upper())),
    }
}

fn cell(f: &Figure, k: u64) -> String {
    let class = if f.is_partial() {
        " class=\"hidden\""
    } else {
        ""
    };
    format!("<td{class}>{}</td>", escape(&show(f, k)))
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "–".to_owned(), |p| format!("{:.0}%", p * 100.0))
}

fn sum(figures: &[Figure]) -> Figure {
    let mut total = Figure {
        count: 0,
        suppressed_cells: 0,
        at_most: None,
    };
    let mut upper = 0u64;
    for f in figures {
        total.count = total.count.saturating_add(f.count);
        total.suppressed_cells = total.suppressed_cells.saturating_add(f.suppressed_cells);
        upper = upper.saturating_add(f.upper());
    }
    if total.suppressed_cells > 0 {
        total.at_most = Some(upper);
    }
    total
}

/// Renders the page.
pub fn render(title: &str, rollup: &Rollup, s: &Summary) -> Result<String, ReportError> {
    let k = s.sources.k;
    let volume = charts::volume(rollup, s)?;
    let ladder = charts::ladder(s)?;
    let funnel = charts::funnel(s)?;
    let precision = charts::precision(s)?;
    let latency = charts::latency(s)?;
    let mut h = String::new();
    let title = escape(title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body><main>\n"
    );
    let _ = write!(
        h,
        "<h1>{title}</h1>\n<p class=\"lead\">{} to {} (UTC) · {} servers · {} windows · built from {} records in {} files.</p>\n",
        format_time(s.sources.from),
        format_time(s.sources.to),
        s.sources.servers.len(),
        s.sources.windows,
        thousands(s.sources.records),
        s.sources.files
    );
    let _ = writeln!(
        h,
        "<p class=\"explain\">Waypoint looks at chat on game servers and, when a message looks harmful, answers with a gentle \
         reminder (a <b>nudge</b>), a <b>help link</b> to a support service, or a <b>referral</b> to a human reviewer. It never \
         punishes anyone by itself. This report shows how often that happened and what it cost, using only counts: it contains no chat \
         messages and no player identities.</p>"
    );
    let funnel_total = &s.help_funnel;
    let all_reviews: Vec<Figure> = s.reviews.values().map(|r| r.upheld).collect();
    let all_dismissed: Vec<Figure> = s.reviews.values().map(|r| r.dismissed).collect();
    let (upheld, dismissed) = (sum(&all_reviews), sum(&all_dismissed));
    let decided = upheld.count.saturating_add(dismissed.count);
    let overall_precision = (decided > 0).then(|| upheld.count as f64 / decided as f64);
    let responses: Vec<Figure> = s.responses_total.values().copied().collect();
    let cards = [
        (show(&s.messages, k), "messages checked"),
        (show(&sum(&responses), k), "responses given"),
        (percent(funnel_total.open_rate), "of help links were opened"),
        (
            percent(overall_precision),
            "of referrals upheld by reviewers",
        ),
        (
            s.latency
                .p50_ms
                .map_or("–".to_owned(), |v| format!("{v:.2} ms")),
            "median time to check a message",
        ),
    ];
    h.push_str("<div class=\"cards\">");
    for (value, label) in cards {
        let _ = write!(
            h,
            "<div class=\"card\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
            escape(&value),
            label
        );
    }
    h.push_str("</div>\n");

    section(
        &mut h,
        "How much chat was checked",
        &volume,
        "Each band is one language; the height is the number of chat messages checked in that hour across all servers. \
         Purple triangles mark hours where some small counts were hidden to protect privacy, so the true total is a little higher.",
    );
    section(
        &mut h,
        "The response ladder",
        &ladder,
        "For each kind of harm, how many times Waypoint nudged, showed a help link, or referred the case to a human reviewer. \
         Most cases should stop at the first step; a pale purple extension shows how much higher a bar could be because of hidden small counts (‡).",
    );
    section(
        &mut h,
        "The help funnel",
        &funnel,
        &format!(
            "How many help links were shown and how many players opened them. Overall {} of {} shown links were opened ({}).",
            show(&funnel_total.opened, k),
            show(&funnel_total.shown, k),
            percent(funnel_total.open_rate)
        ),
    );
    section(
        &mut h,
        "Were referrals right? Review precision",
        &precision,
        "Of the referrals a human reviewer decided on, the share they upheld. A high bar means referrals were mostly warranted; \
         a purple line shows the range the true value could lie in because of hidden small counts.",
    );
    section(
        &mut h,
        "How fast is it? Scoring latency",
        &latency,
        &format!(
            "How long checking one message took, per hour: half of all messages were faster than the median line, 99 in 100 faster \
             than the p99 line. Over the whole period: median {}, p90 {}, p99 {}, p99.9 {}.",
            ms(s.latency.p50_ms),
            ms(s.latency.p90_ms),
            ms(s.latency.p99_ms),
            ms(s.latency.p999_ms)
        ),
    );

    h.push_str("<h2>Transparency table: responses by category</h2>\n");
    h.push_str(
        "<p class=\"explain\">Counts in the style of a Digital Services Act transparency report: every response Waypoint gave, \
         by kind of harm and type of response, with the human review decisions that followed.</p>\n",
    );
    h.push_str(
        "<table><thead><tr><th>Category</th><th>Nudges</th><th>Help links shown</th><th>Help links opened</th>\
         <th>Referred to review</th><th>Upheld</th><th>Dismissed</th><th>Precision</th></tr></thead><tbody>\n",
    );
    let mut columns: Vec<Vec<Figure>> = vec![Vec::new(); 6];
    for category in Category::ALL {
        let name = category.as_str();
        let get = |level: ResponseLevel| {
            s.responses
                .get(name)
                .and_then(|r| r.get(level.as_str()))
                .copied()
        };
        let zero = Figure {
            count: 0,
            suppressed_cells: 0,
            at_most: None,
        };
        let reviews = s.reviews.get(name);
        let row = [
            get(ResponseLevel::Nudge).unwrap_or(zero),
            get(ResponseLevel::Help).unwrap_or(zero),
            s.help_funnel_by_category
                .get(name)
                .map_or(zero, |f| f.opened),
            s.referrals.get(name).copied().unwrap_or(zero),
            reviews.map_or(zero, |r| r.upheld),
            reviews.map_or(zero, |r| r.dismissed),
        ];
        let _ = write!(h, "<tr><td>{}</td>", capitalise(name));
        for (i, f) in row.iter().enumerate() {
            h.push_str(&cell(f, k));
            columns[i].push(*f);
        }
        let _ = writeln!(
            h,
            "<td>{}</td></tr>",
            percent(reviews.and_then(|r| r.precision))
        );
    }
    h.push_str("</tbody><tfoot><tr><td>All categories</td>");
    for column in &columns {
        h.push_str(&cell(&sum(column), k));
    }
    let _ = writeln!(
        h,
        "<td>{}</td></tr></tfoot></table>",
        percent(overall_precision)
    );

    h.push_str("<h2>Languages and operations</h2>\n<table><thead><tr><th>Language</th><th>Messages checked</th></tr></thead><tbody>\n");
    let mut languages: Vec<(&String, &Figure)> = s.messages_by_language.iter().collect();
    languages.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    for (lang, f) in languages {
        let _ = writeln!(h, "<tr><td>{}</td>{}</tr>", escape(lang), cell(f, k));
    }
    h.push_str("</tbody></table>\n");
    let _ = writeln!(
        h,
        "<table><tbody><tr><td>Time scoring ran in reduced (degraded) mode</td><td>{}</td></tr>\
         <tr><td>Signals dropped because the system was overloaded</td>{}</tr>\
         <tr><td>Telemetry records lost on the way to this report</td><td>{}</td></tr></tbody></table>",
        duration(s.degraded_seconds),
        cell(&s.queue_drops, k),
        thousands(s.export_drops)
    );

    let noise = if s.sources.epsilons.is_empty() {
        String::from("No random noise was added.")
    } else {
        format!(
            "Some counts include random noise (privacy budget ε = {} per hour), so small differences are not meaningful.",
            s.sources
                .epsilons
                .iter()
                .map(|e| format!("{e}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let _ = writeln!(
        h,
        "<p class=\"note\"><b>‡ Privacy.</b> Any count below {k} in one server's hour is hidden before it leaves the game server, so that \
         no individual can be singled out (small counts are usually held back and added to a later hour instead, so they still appear in \
         the totals; what is left at the end stays hidden). Hidden counts are marked with ‡, shaded purple in tables, and drawn in pale purple in charts; \
         where a figure shows a range, the true value lies within it. {} cells were hidden in total. {}</p>",
        thousands(s.suppressed_cells),
        noise
    );
    let _ = writeln!(
        h,
        "<p class=\"explain\">Servers: {}.</p>",
        escape(&s.sources.servers.join(", "))
    );
    h.push_str("</main></body></html>\n");
    Ok(h)
}

fn section(h: &mut String, heading: &str, svg: &str, explanation: &str) {
    let _ = write!(
        h,
        "<h2>{}</h2>\n<p class=\"explain\">{}</p>\n<figure>{svg}</figure>\n",
        escape(heading),
        escape(explanation)
    );
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2} ms"))
}

fn duration(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
