//! Table tests of the normaliser (`tests/fixtures/normalize/cases.tsv`) and checks over the
//! rustrict test sets in `shared/data/rustrict_testsets` (skipped with a notice when absent).

use std::path::{Path, PathBuf};

use waypoint::text::{Change, NormalizeOptions, normalize};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/normalize")
        .join(name)
}

/// Replaces `\u{…}` and `\t` escapes; `None` for a malformed `\u{…}`.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("\\t") {
            out.push('\t');
            rest = t;
        } else if let Some(hex_and_rest) = tail.strip_prefix("\\u{") {
            let end = hex_and_rest.find('}')?;
            let code = u32::from_str_radix(&hex_and_rest[..end], 16).ok()?;
            out.push(char::from_u32(code)?);
            rest = &hex_and_rest[end + 1..];
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Some(out)
}

#[test]
fn fixture_cases() {
    let table = std::fs::read_to_string(fixture("cases.tsv")).expect("read cases.tsv");
    let options = NormalizeOptions::default();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (lineno, line) in table.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            cols.len(),
            3,
            "line {}: expected 3 tab-separated columns",
            lineno + 1
        );
        let unescaped: Vec<String> = cols
            .iter()
            .map(|c| {
                unescape(c).unwrap_or_else(|| panic!("line {}: bad escape in {c:?}", lineno + 1))
            })
            .collect();
        let (input, folded) = (&unescaped[0], &unescaped[1]);
        let text = if cols[2] == "-" {
            folded
        } else {
            &unescaped[2]
        };
        let n = normalize(input, &options);
        cases += 1;
        if &n.folded != folded || &n.text != text {
            failures.push(format!(
                "line {}: {input:?}\n   folded {:?} (expected {folded:?})\n   text   {:?} (expected {text:?})",
                lineno + 1,
                n.folded,
                n.text
            ));
        }
    }
    assert!(cases > 50, "only {cases} cases read");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn changes_explain_what_happened() {
    let n = normalize("y0u r a w0rthl3ss 1d10t", &NormalizeOptions::default());
    assert_eq!(n.changes, vec![Change::LeetMapped { count: 6 }]);

    let n = normalize(
        "і\u{200B}dі\u{301}оt  k i l l loooool",
        &NormalizeOptions::default(),
    );
    assert_eq!(
        n.changes,
        vec![
            Change::InvisibleRemoved { count: 1 },
            Change::ConfusablesFolded { count: 3 },
            Change::MarksStripped { count: 1 },
            Change::LettersJoined { count: 1 },
            Change::RepeatsSqueezed { count: 3 },
        ]
    );
    assert_eq!(n.text, "idiot kill lool");

    let n = normalize("ｇｇ", &NormalizeOptions::default());
    assert_eq!(n.changes, vec![Change::CompatibilityFolded { count: 2 }]);

    let n = normalize("abcdef", &NormalizeOptions { max_chars: 3 });
    assert_eq!(n.folded, "abc");
    assert_eq!(
        n.changes,
        vec![Change::Truncated {
            original_chars: 6,
            kept_chars: 3
        }]
    );
    assert!(n.truncated());

    // U+FDFA expands to 18 characters (three spaces among them): capped at a word boundary.
    let n = normalize("ﷺ ﷺ", &NormalizeOptions { max_chars: 30 });
    assert!(!n.truncated());
    assert_eq!(n.folded.chars().count(), 27);
    assert!(n.changes.contains(&Change::ExpansionCapped {
        expanded_chars: 37,
        kept_chars: 27
    }));
}

#[test]
fn changes_serialize_with_a_kind_tag() {
    let n = normalize("k i l l", &NormalizeOptions::default());
    let json = serde_json::to_string(&n.changes).expect("serialize");
    assert_eq!(json, r#"[{"kind":"letters_joined","count":1}]"#);
    let json = serde_json::to_value(Change::Truncated {
        original_chars: 2000,
        kept_chars: 1024,
    })
    .expect("serialize");
    assert_eq!(json["kind"], "truncated");
}

/// The shared rustrict test sets, or `None` (with a notice) when they are not there.
fn rustrict_set(name: &str) -> Option<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/rustrict_testsets")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Err(err) => {
            eprintln!("skipping: cannot read {} ({err})", path.display());
            None
        }
    }
}

/// Obfuscated profanities written with non-ASCII characters should mostly come out as plain
/// ASCII. What stays non-ASCII is by design: Russian and Chinese words, emoji (`🖕`, `🍆`),
/// swastikas and runes, regional-indicator letters (they may be flags).
#[test]
fn rustrict_positives_fold_to_ascii() {
    let Some(lines) = rustrict_set("test_positive.txt") else {
        return;
    };
    let options = NormalizeOptions::default();
    let obfuscated: Vec<&String> = lines.iter().filter(|l| !l.is_ascii()).collect();
    let ascii = obfuscated
        .iter()
        .filter(|l| normalize(l, &options).text.is_ascii())
        .count();
    let share = ascii as f64 / obfuscated.len() as f64;
    eprintln!(
        "{ascii} of {} non-ASCII positives normalise to ASCII ({:.1}%)",
        obfuscated.len(),
        share * 100.0
    );
    // Measured: 118 of 163 (72%).
    assert!(obfuscated.len() > 100, "test set looks truncated");
    assert!(
        share >= 0.70,
        "only {:.1}% of obfuscated positives fold to ASCII",
        share * 100.0
    );

    // And the whole set, ASCII-obfuscated lines included, is idempotent.
    for line in &lines {
        let n = normalize(line, &options);
        assert_eq!(
            normalize(&n.text, &options).text,
            n.text,
            "not idempotent: {line:?}"
        );
    }
}

/// Clean words that merely contain a profanity (rustrict's false positives) and safe phrases
/// keep their meaning: `text` rarely differs from `folded` on them.
#[test]
fn rustrict_negatives_stay_as_written() {
    let options = NormalizeOptions::default();
    for (name, floor) in [
        ("false_positives.txt", 0.995),
        ("test_negative.txt", 0.97),
        ("safe.txt", 0.95),
    ] {
        let Some(lines) = rustrict_set(name) else {
            return;
        };
        let unchanged = lines
            .iter()
            .filter(|l| {
                let n = normalize(l, &options);
                n.text == n.folded
            })
            .count();
        let share = unchanged as f64 / lines.len() as f64;
        eprintln!(
            "{name}: {unchanged} of {} unchanged by leet/joining/squeezing ({:.2}%)",
            lines.len(),
            share * 100.0
        );
        assert!(
            share >= floor,
            "{name}: only {:.2}% unchanged",
            share * 100.0
        );
    }
}
