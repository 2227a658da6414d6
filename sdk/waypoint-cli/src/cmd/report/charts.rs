//! The report's charts, drawn with `plotters` into SVG strings.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use waypoint::Category;
use waypoint::telemetry::{ResponseLevel, Rollup};

use super::ReportError;
use super::summary::{Figure, Summary};

/// Width and height of every chart, in SVG pixels.
const SIZE: (u32, u32) = (960, 380);
/// Colour of the hidden (suppressed) part of a bar.
const HIDDEN: RGBColor = RGBColor(0xC9, 0xB0, 0xD8);
const HIDDEN_EDGE: RGBColor = RGBColor(0x7B, 0x4F, 0x9A);
const PALETTE: [RGBColor; 7] = [
    RGBColor(0x2F, 0x6D, 0xB5),
    RGBColor(0xF0, 0x8A, 0x24),
    RGBColor(0x3A, 0x9E, 0x6F),
    RGBColor(0xD6, 0x4F, 0x4F),
    RGBColor(0x8C, 0x6B, 0xB1),
    RGBColor(0x8C, 0x8C, 0x8C),
    RGBColor(0x1B, 0x9E, 0xB0),
];
const RUNG_COLOURS: [RGBColor; 3] = [
    RGBColor(0x5B, 0x9B, 0xD5),
    RGBColor(0xF0, 0xA2, 0x3B),
    RGBColor(0xC8, 0x4B, 0x4B),
];

fn fail(chart: &'static str) -> impl Fn(DrawingAreaErrorKind<std::io::Error>) -> ReportError {
    move |e| ReportError::Chart {
        chart,
        message: e.to_string(),
    }
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .color(&RGBColor(0x33, 0x33, 0x33))
}

/// Runs `draw` on a white drawing area and returns the SVG text.
fn svg(
    chart: &'static str,
    draw: impl FnOnce(
        &DrawingArea<SVGBackend<'_>, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> Result<String, ReportError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(fail(chart))?;
        draw(&root).map_err(fail(chart))?;
        root.present().map_err(fail(chart))?;
    }
    Ok(out)
}

/// The frame every time-series chart shares: time on x (hour or day labels), `y_desc` values
/// from 0 to `y_max` on y, formatted by `y_label`.
fn time_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    span: std::ops::Range<f64>,
    y_max: f64,
    y_desc: &str,
    y_label: &dyn Fn(&f64) -> String,
) -> Result<
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<impl Ranged<ValueType = f64>, RangedCoordf64>>,
    DrawingAreaErrorKind<std::io::Error>,
> {
    let step = time_step(span.end - span.start);
    let mut chart = ChartBuilder::on(root)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(span.step(step), 0.0..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(12)
        .x_label_formatter(&|x| format_time(*x as u64))
        .y_label_formatter(y_label)
        .y_desc(y_desc)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()?;
    Ok(chart)
}

/// The series legend every chart with more than one series shows, at `position`.
fn legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.2))
        .label_font(font(13))
        .draw()
}

/// `2026-01-01 13:00` (UTC) for Unix seconds.
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Messages scored per window, stacked by language; windows with hidden cells are marked.
pub fn volume(rollup: &Rollup, summary: &Summary) -> Result<String, ReportError> {
    let mut languages: Vec<(&String, u64)> = summary
        .messages_by_language
        .iter()
        .map(|(l, f)| (l, f.count))
        .collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = languages
        .iter()
        .take(6)
        .map(|(l, _)| (*l).clone())
        .collect();
    let x0 = summary.sources.from as f64;
    let x1 = (summary.sources.to as f64).max(x0 + 1.0);
    // Cumulative stacks per window.
    let mut stacks: Vec<(f64, Vec<f64>, bool)> = Vec::new();
    for (start, agg) in &rollup.windows {
        let mut acc = 0.0;
        let mut layers = Vec::new();
        let mut partial = false;
        for lang in &shown {
            let t = agg
                .messages
                .iter()
                .find(|(l, _)| l.as_str() == lang)
                .map(|(_, t)| *t)
                .unwrap_or_default();
            acc += t.count as f64;
            partial |= t.suppressed > 0;
            layers.push(acc);
        }
        let rest: u64 = agg
            .messages
            .iter()
            .filter(|(l, _)| !shown.iter().any(|s| s == l.as_str()))
            .map(|(_, t)| t.count)
            .sum();
        partial |= agg.messages.values().any(|t| t.suppressed > 0);
        acc += rest as f64;
        layers.push(acc);
        stacks.push((*start as f64, layers, partial));
    }
    let y_max = stacks
        .iter()
        .filter_map(|(_, l, _)| l.last().copied())
        .fold(1.0, f64::max)
        * 1.45;
    svg("volume", |root| {
        let mut chart = time_chart(root, x0..x1, y_max, "texts scored per window", &|y| {
            thousands(*y as u64)
        })?;
        let mut names: Vec<String> = shown.clone();
        names.push("other".to_owned());
        for (layer, name) in names.iter().enumerate().rev() {
            let colour = PALETTE[layer % PALETTE.len()];
            let points: Vec<(f64, f64)> = stacks
                .iter()
                .map(|(x, l, _)| (*x, l.get(layer).copied().unwrap_or(0.0)))
                .collect();
            chart
                .draw_series(
                    AreaSeries::new(points, 0.0, colour.mix(0.75))
                        .border_style(colour.stroke_width(1)),
                )?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled())
                });
        }
        let marks: Vec<(f64, f64)> = stacks
            .iter()
            .filter(|(_, _, p)| *p)
            .map(|(x, l, _)| (*x, l.last().copied().unwrap_or(0.0)))
            .collect();
        if !marks.is_empty() {
            chart
                .draw_series(
                    marks
                        .into_iter()
                        .map(|p| TriangleMarker::new(p, 6, HIDDEN_EDGE.filled())),
                )?
                .label("includes hidden small counts")
                .legend(|(x, y)| TriangleMarker::new((x + 7, y), 6, HIDDEN_EDGE.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// A label step for a time axis spanning `span` seconds: whole hours or days.
fn time_step(span: f64) -> f64 {
    const HOUR: f64 = 3600.0;
    match span {
        s if s <= 12.0 * HOUR => HOUR,
        s if s <= 3.0 * 24.0 * HOUR => 6.0 * HOUR,
        s if s <= 14.0 * 24.0 * HOUR => 24.0 * HOUR,
        _ => 7.0 * 24.0 * HOUR,
    }
}

/// One bar of a grouped bar chart.
struct Bar {
    group: usize,
    slot: usize,
    figure: Figure,
}

/// Draws grouped bars (known part solid, hidden part as a pale range) with labels on top.
fn grouped_bars(
    chart_name: &'static str,
    groups: &[&str],
    series: &[(&str, RGBColor)],
    bars: &[Bar],
    y_desc: &str,
) -> Result<String, ReportError> {
    let n = groups.len().max(1);
    let slots = series.len().max(1);
    let y_max = bars
        .iter()
        .map(|b| b.figure.upper() as f64)
        .fold(1.0, f64::max)
        * 1.45;
    let width = 0.8 / slots as f64;
    let any_hidden = bars.iter().any(|b| b.figure.is_partial());
    svg(chart_name, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..y_max)?;
        let label = slot_label(groups);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| thousands(*y as u64))
            .y_desc(y_desc)
            .label_style(font(14))
            .axis_desc_style(font(14))
            .draw()?;
        for (slot, (name, colour)) in series.iter().enumerate() {
            let colour = *colour;
            let rects: Vec<Rectangle<(f64, f64)>> = bars
                .iter()
                .filter(|b| b.slot == slot)
                .map(|b| {
                    let left = b.group as f64 - 0.4 + slot as f64 * width;
                    Rectangle::new(
                        [
                            (left + 0.01, 0.0),
                            (left + width - 0.01, b.figure.count as f64),
                        ],
                        colour.filled(),
                    )
                })
                .collect();
            chart
                .draw_series(rects)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled())
                });
        }
        let hidden: Vec<&Bar> = bars.iter().filter(|b| b.figure.is_partial()).collect();
        if any_hidden {
            chart
                .draw_series(hidden.iter().map(|b| {
                    let left = b.group as f64 - 0.4 + b.slot as f64 * width;
                    Rectangle::new(
                        [
                            (left + 0.01, b.figure.count as f64),
                            (left + width - 0.01, b.figure.upper() as f64),
                        ],
                        HIDDEN.mix(0.8).filled(),
                    )
                }))?
                .label("hidden for privacy (could be up to here)")
                .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], HIDDEN.filled()));
            chart.draw_series(hidden.iter().map(|b| {
                let left = b.group as f64 - 0.4 + b.slot as f64 * width;
                Rectangle::new(
                    [
                        (left + 0.01, b.figure.count as f64),
                        (left + width - 0.01, b.figure.upper() as f64),
                    ],
                    HIDDEN_EDGE.stroke_width(1),
                )
            }))?;
        }
        chart.draw_series(bars.iter().map(|b| {
            let centre = b.group as f64 - 0.4 + (b.slot as f64 + 0.5) * width;
            let text = if b.figure.is_partial() {
                format!("{}‡", compact(b.figure.count))
            } else {
                compact(b.figure.count)
            };
            EmptyElement::at((centre, b.figure.upper() as f64))
                + Text::new(text, (-14, -16), font(12))
        }))?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// 1234 → `1,234`; 1234567 → `1.23M`.
pub fn compact(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.2}M", n as f64 / 1e6)
    } else {
        thousands(n)
    }
}

/// 1234567 → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An x-axis label formatter for bar slots at 0, 1, 2, …: the slot's name on whole numbers,
/// nothing in between.
fn slot_label<'a>(names: &'a [&'a str]) -> impl Fn(&f64) -> String + 'a {
    move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            names
                .get(i as usize)
                .map(|g| (*g).to_owned())
                .unwrap_or_default()
        } else {
            String::new()
        }
    }
}

fn category_names() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).collect()
}

/// Responses per category and rung.
pub fn ladder(summary: &Summary) -> Result<String, ReportError> {
    let mut bars = Vec::new();
    for (group, category) in Category::ALL.iter().enumerate() {
        for (slot, level) in ResponseLevel::LADDER.iter().enumerate() {
            let figure = summary
                .responses
                .get(category.as_str())
                .and_then(|r| r.get(level.as_str()))
                .copied();
            if let Some(figure) = figure {
                bars.push(Bar {
                    group,
                    slot,
                    figure,
                });
            }
        }
    }
    let series = [
        ("nudge", RUNG_COLOURS[0]),
        ("help link", RUNG_COLOURS[1]),
        ("referred to review", RUNG_COLOURS[2]),
    ];
    grouped_bars(
        "response ladder",
        &category_names(),
        &series,
        &bars,
        "responses",
    )
}

/// Help links shown and opened per category.
pub fn funnel(summary: &Summary) -> Result<String, ReportError> {
    let mut bars = Vec::new();
    for (group, category) in Category::ALL.iter().enumerate() {
        if let Some(f) = summary.help_funnel_by_category.get(category.as_str()) {
            bars.push(Bar {
                group,
                slot: 0,
                figure: f.shown,
            });
            bars.push(Bar {
                group,
                slot: 1,
                figure: f.opened,
            });
        }
    }
    let series = [
        ("help link shown", RUNG_COLOURS[1]),
        ("help link opened", PALETTE[2]),
    ];
    grouped_bars(
        "help funnel",
        &category_names(),
        &series,
        &bars,
        "help links",
    )
}

/// Review precision per category, with the range the hidden cells allow.
pub fn precision(summary: &Summary) -> Result<String, ReportError> {
    let names = category_names();
    svg("review precision", |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..(names.len() as f64 - 0.5), 0.0..1.32)?;
        let label = slot_label(&names);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(names.len())
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|y| {
                if *y <= 1.0001 {
                    format!("{:.0}%", y * 100.0)
                } else {
                    String::new()
                }
            })
            .y_desc("share of referrals upheld by a reviewer")
            .label_style(font(14))
            .axis_desc_style(font(14))
            .draw()?;
        let rows: Vec<(usize, &super::summary::Reviews)> = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| summary.reviews.get(n).map(|r| (i, r)))
            .collect();
        chart
            .draw_series(rows.iter().filter_map(|(i, r)| {
                let p = r.precision?;
                Some(Rectangle::new(
                    [(*i as f64 - 0.3, 0.0), (*i as f64 + 0.3, p)],
                    PALETTE[2].filled(),
                ))
            }))?
            .label("upheld / decided")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], PALETTE[2].filled()));
        let ranged: Vec<_> = rows
            .iter()
            .filter(|(_, r)| r.upheld.is_partial() || r.dismissed.is_partial())
            .filter_map(|(i, r)| Some((*i as f64, r.precision_low?, r.precision_high?)))
            .collect();
        if !ranged.is_empty() {
            chart
                .draw_series(ranged.iter().map(|(x, lo, hi)| {
                    PathElement::new(vec![(*x, *lo), (*x, *hi)], HIDDEN_EDGE.stroke_width(3))
                }))?
                .label("range allowed by hidden small counts")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y - 6), (x, y + 6)], HIDDEN_EDGE.stroke_width(3))
                });
            chart.draw_series(ranged.iter().flat_map(|(x, lo, hi)| {
                [*lo, *hi].map(|y| {
                    PathElement::new(
                        vec![(*x - 0.06, y), (*x + 0.06, y)],
                        HIDDEN_EDGE.stroke_width(2),
                    )
                })
            }))?;
        }
        chart.draw_series(rows.iter().map(|(i, r)| {
            let decided = r.upheld.count.saturating_add(r.dismissed.count);
            let text = match r.precision {
                Some(p) => format!("{:.0}% of {}", p * 100.0, thousands(decided)),
                None => "no decisions".to_owned(),
            };
            let y = r.precision_high.or(r.precision).unwrap_or(0.0);
            EmptyElement::at((*i as f64, y)) + Text::new(text, (-36, -18), font(12))
        }))?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// Latency percentiles per window.
pub fn latency(summary: &Summary) -> Result<String, ReportError> {
    let x0 = summary.sources.from as f64;
    let x1 = (summary.sources.to as f64).max(x0 + 1.0);
    type Pick = fn(&super::summary::Latency) -> Option<f64>;
    let lines: [(&str, Pick, RGBColor); 3] = [
        ("median (p50)", |l| l.p50_ms, PALETTE[0]),
        ("p90", |l| l.p90_ms, PALETTE[1]),
        ("p99", |l| l.p99_ms, PALETTE[3]),
    ];
    let y_max = summary
        .windows
        .iter()
        .filter_map(|w| w.latency.p99_ms)
        .fold(0.1, f64::max)
        * 1.5;
    svg("latency", |root| {
        let mut chart = time_chart(root, x0..x1, y_max, "time to score one text", &|y| {
            format!("{y:.1} ms")
        })?;
        for (name, pick, colour) in lines {
            let points: Vec<(f64, f64)> = summary
                .windows
                .iter()
                .filter_map(|w| pick(&w.latency).map(|v| (w.start as f64, v)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 2, colour.filled())),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}
