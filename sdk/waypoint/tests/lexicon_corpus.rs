//! Corpus-driven tests for the extremist-code lexicon: the shipped data in `models/lexicon`
//! (and that its README's tables describe it), positive, softened and negative chat lines in
//! English and Dutch, obfuscations that depend on the normaliser, the context rules, load errors
//! with file:line:column, and speed.
#![expect(
    clippy::panic,
    reason = "a failing test panics with the collected failures"
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use waypoint::Category;
use waypoint::text::{
    Field, Kind, Lexicon, LexiconBuilder, LexiconError, LexiconHit, MatchRule, NormalizeOptions,
    normalize,
};

const POSITIVE_EN: &str = include_str!("fixtures/lexicon/positive_en.txt");
const POSITIVE_NL: &str = include_str!("fixtures/lexicon/positive_nl.txt");
const NEGATIVE_EN: &str = include_str!("fixtures/lexicon/negative_en.txt");
const NEGATIVE_NL: &str = include_str!("fixtures/lexicon/negative_nl.txt");
const SOFTENED_EN: &str = include_str!("fixtures/lexicon/softened_en.txt");
const SOFTENED_NL: &str = include_str!("fixtures/lexicon/softened_nl.txt");
const CONDEMNED_EN: &str = include_str!("fixtures/lexicon/condemned_en.txt");
const CONDEMNED_NL: &str = include_str!("fixtures/lexicon/condemned_nl.txt");
const DISCUSSED_EN: &str = include_str!("fixtures/lexicon/discussed_en.txt");
const DISCUSSED_NL: &str = include_str!("fixtures/lexicon/discussed_nl.txt");

/// Obfuscated positives the normaliser does not bring back to a pattern yet (leetspeak at the
/// start of a word, letters glued to digits): known gaps. Each must still miss; when one starts
/// to hit, the test fails so that it moves into the positive fixtures.
const NEEDS_NORMALIZER: &[(&str, &str, &str)] = &[
    ("extremism", "en.slogan.day_of_the_rope", "d4y 0f th3 r0p3"),
    ("extremism", "en.slogan.14_words", "14w0rds"),
    ("extremism", "nl.slogan.14_woorden", "14w00rden"),
];

fn lexicon_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/lexicon")
}

fn shipped() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| match Lexicon::load_dir(&lexicon_dir()) {
        Ok(lexicon) => lexicon,
        Err(e) => panic!("shipped lexicon does not load: {e}"),
    })
}

fn find(lexicon: &Lexicon, message: &str) -> Vec<LexiconHit> {
    lexicon.find(&normalize(message, &NormalizeOptions::default()))
}

fn describe(hits: &[LexiconHit]) -> String {
    hits.iter()
        .map(|h| {
            let soft = match (h.condemned, h.softened) {
                (true, _) => " condemned",
                (false, true) => " softened",
                (false, false) => "",
            };
            format!("{}({:?} {:?} {}{soft})", h.id, h.matched, h.rule, h.weight)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fixture lines without comments and blank lines.
fn lines(corpus: &str) -> impl Iterator<Item = &str> {
    corpus
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Parses `category | id | message`.
fn positive(line: &str) -> (Category, &str, &str) {
    let mut parts = line.splitn(3, " | ");
    let (Some(cat), Some(id), Some(message)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("malformed positive fixture line: {line:?}");
    };
    let Some(category) = Category::parse(cat.trim()) else {
        panic!("unknown category in {line:?}")
    };
    (category, id.trim(), message)
}

/// How a fixture line's expected hit must look.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// The entry hits at its full weight.
    Full,
    /// The entry hits softened but neither condemned nor discussed (news, negation, critical
    /// discussion), and nothing in the line hits unsoftened.
    Softened,
    /// The entry hits condemned (and so softened), and nothing in the line hits unsoftened.
    Condemned,
    /// The entry hits discussed (explained, or someone else's use reported) and so softened, not
    /// condemned, and nothing in the line hits unsoftened.
    Discussed,
}

/// Checks `category | id | message` lines; returns how many there were.
fn check_expected(corpus: &str, expect: Expect) -> usize {
    let lexicon = shipped();
    let mut failures = Vec::new();
    let mut n = 0;
    for line in lines(corpus) {
        let (category, id, message) = positive(line);
        if lexicon.entries().iter().all(|e| e.id != id) {
            failures.push(format!("{message:?}: fixture names unknown id {id}"));
            continue;
        }
        // Mentions and counter-speech weigh nothing: a line is judged by its other hits unless
        // it is about one.
        let hits: Vec<LexiconHit> = find(lexicon, message)
            .into_iter()
            .filter(|h| !h.kind.is_stance_only() || h.id == id)
            .collect();
        let softened = expect != Expect::Full;
        let condemned = expect == Expect::Condemned;
        let discussed = expect == Expect::Discussed;
        let found = hits.iter().any(|h| {
            h.id == id
                && h.category == category
                && h.softened == softened
                && h.condemned == condemned
                && (condemned || h.discussed == discussed)
        });
        let unsoftened_other = softened && hits.iter().any(|h| !h.softened);
        if !found || unsoftened_other {
            failures.push(format!(
                "{message:?}: expected {id} ({category}, {expect:?}), got [{}]",
                describe(&hits)
            ));
        }
        n += 1;
    }
    assert!(
        failures.is_empty(),
        "{} {expect:?} line(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}

fn check_positives(corpus: &str) -> usize {
    check_expected(corpus, Expect::Full)
}

fn check_negatives(corpus: &str) -> usize {
    let lexicon = shipped();
    let mut failures = Vec::new();
    let mut n = 0;
    for message in lines(corpus) {
        // A negative must draw no evidence; mentions and counter-speech weigh nothing.
        let hits: Vec<LexiconHit> = find(lexicon, message)
            .into_iter()
            .filter(|h| !h.kind.is_stance_only())
            .collect();
        if !hits.is_empty() {
            failures.push(format!("{message:?}: [{}]", describe(&hits)));
        }
        n += 1;
    }
    assert!(
        failures.is_empty(),
        "{} negative(s) hit:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}

/// The shipped `*.toml` files in load order: (file name, text).
fn shipped_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = match std::fs::read_dir(lexicon_dir()) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| {
                let name = p
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                match std::fs::read_to_string(&p) {
                    Ok(text) => (name, text),
                    Err(e) => panic!("{}: {e}", p.display()),
                }
            })
            .collect(),
        Err(e) => panic!("{e}"),
    };
    files.sort();
    files
}

/// The `version = "…"` line of a lexicon file.
fn file_version(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

#[test]
fn shipped_lexicon_loads() {
    let lexicon = shipped();
    assert!(lexicon.len() >= 80, "only {} entries", lexicon.len());
    let files = shipped_files();
    let versions: Vec<(String, &str)> = files
        .iter()
        .map(|(name, text)| {
            (
                name.trim_end_matches(".toml").to_owned(),
                file_version(text),
            )
        })
        .collect();
    let expected = if versions.iter().all(|(_, v)| *v == versions[0].1) {
        versions[0].1.to_owned()
    } else {
        versions
            .iter()
            .map(|(stem, v)| format!("{stem}={v}"))
            .collect::<Vec<_>>()
            .join(";")
    };
    assert_eq!(lexicon.version(), expected);
    for lang in ["en", "nl", "any"] {
        assert!(
            lexicon.entries().iter().any(|e| e.lang == lang),
            "no {lang} entries"
        );
    }
    for kind in [
        Kind::NumberCode,
        Kind::Slogan,
        Kind::Euphemism,
        Kind::Recruitment,
        Kind::Glorification,
        Kind::Incitement,
        Kind::Emoji,
        Kind::Symbol,
        Kind::Dehumanisation,
        Kind::Slur,
        Kind::Threat,
        Kind::AttackAnnouncement,
        Kind::Mention,
    ] {
        assert!(
            lexicon.entries().iter().any(|e| e.kind == kind),
            "no {kind:?} entries"
        );
    }
    for e in lexicon.entries() {
        assert!(
            !e.description.is_empty() && (0.0..=1.0).contains(&e.weight),
            "{}",
            e.id
        );
        // Emoji are nearly always innocent: they must stay weak evidence.
        if e.kind == Kind::Emoji {
            assert!(e.weight <= 0.4, "emoji entry {} weighs {}", e.id, e.weight);
        }
    }
}

/// The cells of a Markdown table row (`| a | b |` → `["a", "b"]`), or `None` for other lines.
fn table_row(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// A count cell: `–` is zero.
fn count_cell(cell: &str) -> usize {
    if cell == "–" {
        return 0;
    }
    match cell.parse() {
        Ok(n) => n,
        Err(_) => panic!("README count cell {cell:?} is not a number"),
    }
}

#[test]
fn readme_tables_match_the_data() {
    let readme = match std::fs::read_to_string(lexicon_dir().join("README.md")) {
        Ok(text) => text,
        Err(e) => panic!("{e}"),
    };
    let lexicon = shipped();

    // The file table: entries per file.
    let files = shipped_files();
    for (name, text) in &files {
        let entries = text.lines().filter(|l| l.trim() == "[[entry]]").count();
        let cell = format!("`{name}`");
        let Some(row) = readme
            .lines()
            .filter_map(table_row)
            .find(|r| r.first() == Some(&cell.as_str()))
        else {
            panic!("README file table has no row for {name}");
        };
        let listed = row.last().map_or(0, |c| count_cell(c));
        assert_eq!(listed, entries, "README says {name} holds {listed} entries");
    }

    // "N entries in all."
    let total = format!("{} entries in all.", lexicon.len());
    assert!(readme.contains(&total), "README does not say {total:?}");

    // The table by language and kind.
    let mut rows = readme
        .lines()
        .filter_map(table_row)
        .skip_while(|r| r.first() != Some(&"lang"));
    let Some(header) = rows.next() else {
        panic!("README has no `| lang | … |` table")
    };
    let kinds: Vec<&str> = header[1..header.len() - 1].to_vec();
    let mut langs = Vec::new();
    for row in rows
        .skip(1)
        .take_while(|r| r.first().is_some_and(|c| c.starts_with('`')))
    {
        let lang = row[0].trim_matches('`');
        langs.push(lang.to_owned());
        let of_lang: Vec<_> = lexicon
            .entries()
            .iter()
            .filter(|e| e.lang == lang)
            .collect();
        for (kind, cell) in kinds.iter().zip(&row[1..]) {
            let actual = of_lang
                .iter()
                .filter(|e| {
                    serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .as_deref()
                        == Some(*kind)
                })
                .count();
            assert_eq!(
                count_cell(cell),
                actual,
                "README count for ({lang}, {kind})"
            );
        }
        assert_eq!(
            count_cell(row[row.len() - 1]),
            of_lang.len(),
            "README total for {lang}"
        );
    }
    for e in lexicon.entries() {
        assert!(
            langs.contains(&e.lang),
            "README table has no row for lang {}",
            e.lang
        );
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        assert!(
            kind.as_deref().is_some_and(|k| kinds.contains(&k)),
            "README table has no column for kind {kind:?}"
        );
    }
}

#[test]
fn positives_en() {
    let n = check_positives(POSITIVE_EN);
    assert!(n >= 100, "{n}");
}

#[test]
fn positives_nl() {
    let n = check_positives(POSITIVE_NL);
    assert!(n >= 35, "{n}");
}

#[test]
fn negatives_en() {
    let n = check_negatives(NEGATIVE_EN);
    assert!(n >= 100, "{n}");
}

#[test]
fn negatives_nl() {
    let n = check_negatives(NEGATIVE_NL);
    assert!(n >= 50, "{n}");
}

#[test]
fn condemnation_and_reporting_soften_en() {
    let n = check_expected(SOFTENED_EN, Expect::Softened);
    assert!(n >= 20, "{n}");
}

#[test]
fn condemnation_and_reporting_soften_nl() {
    let n = check_expected(SOFTENED_NL, Expect::Softened);
    assert!(n >= 20, "{n}");
}

#[test]
fn condemnation_proper_marks_the_hit_condemned_en() {
    let n = check_expected(CONDEMNED_EN, Expect::Condemned);
    assert!(n >= 10, "{n}");
}

#[test]
fn condemnation_proper_marks_the_hit_condemned_nl() {
    let n = check_expected(CONDEMNED_NL, Expect::Condemned);
    assert!(n >= 10, "{n}");
}

#[test]
fn explaining_or_reporting_use_marks_the_hit_discussed_en() {
    let n = check_expected(DISCUSSED_EN, Expect::Discussed);
    assert!(n >= 10, "{n}");
}

#[test]
fn explaining_or_reporting_use_marks_the_hit_discussed_nl() {
    let n = check_expected(DISCUSSED_NL, Expect::Discussed);
    assert!(n >= 10, "{n}");
}

#[test]
fn protected_group_mentions_are_never_condemned_and_skip_violent_groups_names() {
    let lexicon = shipped();
    let names = |message: &str| {
        find(lexicon, message)
            .into_iter()
            .filter(LexiconHit::names_protected_group)
            .collect::<Vec<_>>()
    };
    let hateful = names("isis are criminals, like all muslims");
    assert_eq!(hateful.len(), 1, "{}", describe(&hateful));
    assert!(!hateful[0].condemned && hateful[0].weight == 0.0);
    assert!(
        names("moslims zijn criminelen, report them")
            .iter()
            .all(|h| !h.condemned)
    );
    // A word inside a violent group's name is not the group it claims.
    assert!(names("islamic state are criminals").is_empty());
    assert!(names("de islamitische staat is een sekte").is_empty());
}

#[test]
fn obfuscations_needing_the_normalizer_still_miss() {
    let lexicon = shipped();
    let mut now_hit = Vec::new();
    for &(cat, id, message) in NEEDS_NORMALIZER {
        assert!(
            lexicon.entries().iter().any(|e| e.id == id),
            "known gap names unknown id {id}"
        );
        let hits = find(lexicon, message);
        if hits
            .iter()
            .any(|h| h.id == id && h.category.as_str() == cat)
        {
            now_hit.push(format!("{cat} | {id} | {message}"));
        }
    }
    assert!(
        now_hit.is_empty(),
        "known gaps now hit; move them into the positive fixtures:\n{}",
        now_hit.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Context rules, on small lexicons written inline.

fn lexicon(src: &str) -> Lexicon {
    let src = format!("version = \"t1\"\n{src}");
    match Lexicon::from_toml_str(&src, "inline.toml") {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

fn ids(lexicon: &Lexicon, message: &str) -> Vec<String> {
    find(lexicon, message).into_iter().map(|h| h.id).collect()
}

const ENTRY: &str =
    "category = \"extremism\"\nweight = 0.5\nlang = \"any\"\ndescription = \"test\"\n";

#[test]
fn ungated_entries_match_whole_tokens_only() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"a\"\nkind = \"slogan\"\n{ENTRY}patterns = [\"heil hitler\"]\n"
    ));
    assert_eq!(ids(&l, "heil hitler"), ["a"]);
    assert_eq!(ids(&l, "HEIL-HITLER!"), ["a"]);
    assert_eq!(ids(&l, "#heilhitler"), ["a"], "compact form");
    assert!(ids(&l, "heilig hitlers").is_empty());
    assert!(
        ids(&l, "heil. hitler").is_empty(),
        "multi-word patterns do not cross sentence breaks"
    );
}

#[test]
fn number_codes_are_whole_numbers() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"n\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"1488\"]\n"
    ));
    assert_eq!(ids(&l, "xx1488xx"), ["n"]);
    assert!(ids(&l, "114888").is_empty());
    assert!(ids(&l, "14.88").is_empty());
    assert!(ids(&l, "1.488").is_empty());
    let hits = find(&l, "ok xX1488Xx");
    assert_eq!(hits[0].field, Field::Folded);
    assert_eq!(hits[0].matched, "1488");
    assert_eq!(hits[0].span, 5..9);
    assert_eq!(hits[0].rule, MatchRule::Pattern);
}

#[test]
fn forbid_near_vetoes_within_window() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"n\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"88\"]\ncontext = {{ window = 2, forbid_near = [\"kills\", \"lvl*\"] }}\n"
    ));
    assert_eq!(ids(&l, "88"), ["n"]);
    assert!(ids(&l, "88 kills").is_empty());
    assert!(ids(&l, "got 88 more kills").is_empty());
    assert_eq!(
        ids(&l, "88 and then some kills"),
        ["n"],
        "outside the window"
    );
    assert!(ids(&l, "lvls 88").is_empty(), "prefix word");
    let l = lexicon(&format!(
        "[[entry]]\nid = \"n\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"88\"]\n\
         context = {{ window = 2, forbid_near = [\"ww2\", \"k/d\"] }}\n"
    ));
    assert!(ids(&l, "ww2 88").is_empty(), "multi-token context word");
    assert!(ids(&l, "88 k/d").is_empty());
    assert_eq!(ids(&l, "ww 88"), ["n"]);
    assert_eq!(ids(&l, "2 88"), ["n"]);
}

#[test]
fn stance_window_reaches_further_than_the_veto_window() {
    let entry = |stance: &str| {
        lexicon(&format!(
            "[[entry]]\nid = \"n\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"1488\"]\n\
             context = {{ window = 1, {stance}forbid_near = [\"points\"], \
             soften_near = [\"mean\"], condemn_near = [\"ban\"] }}\n"
        ))
    };
    let hit = |l: &Lexicon, message: &str| {
        let hits = find(l, message);
        assert_eq!(hits.len(), 1, "{message}: {}", describe(&hits));
        (hits[0].softened, hits[0].condemned)
    };
    let far = "please ban the guy with 1488";
    let asked = "what does the 1488 in his name mean";
    // Without it, stance words are read within `window` tokens, like the veto.
    let plain = entry("");
    assert_eq!(hit(&plain, far), (false, false));
    assert_eq!(hit(&plain, asked), (false, false));
    assert_eq!(hit(&plain, "ban 1488"), (true, true));
    // With it, further; the veto keeps its own window.
    let wide = entry("stance_window = 4, ");
    assert_eq!(hit(&wide, far), (true, true));
    assert_eq!(hit(&wide, asked), (true, false));
    assert!(ids(&wide, "1488 points").is_empty());
    assert_eq!(ids(&wide, "1488 and many more points"), ["n"]);
}

#[test]
fn gates_standalone_embedded_cue() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"s\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"88\"]\ncontext = {{ standalone = true }}\n\
         [[entry]]\nid = \"e\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"14\"]\ncontext = {{ embedded = true }}\n\
         [[entry]]\nid = \"c\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"28\"]\ncontext = {{ require_any = [\"white\"], cue_window = 2 }}\n"
    ));
    assert_eq!(ids(&l, "88 👋"), ["s"]);
    assert!(ids(&l, "88 kills").is_empty());
    assert_eq!(ids(&l, "xx14xx"), ["e"]);
    assert!(ids(&l, "i am 14").is_empty());
    assert_eq!(ids(&l, "white 28"), ["c"]);
    assert!(
        ids(&l, "white team gets 28").is_empty(),
        "cue outside cue_window"
    );
    let hits = find(&l, "xx14xx");
    assert_eq!(hits[0].rule, MatchRule::Embedded);
}

#[test]
fn other_hit_gate_needs_an_independent_hit() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"frog\"\nkind = \"emoji\"\n{ENTRY}patterns = [\"🐸\"]\ncontext = {{ with_other_hit = true }}\n\
         [[entry]]\nid = \"ok\"\nkind = \"emoji\"\n{ENTRY}patterns = [\"👌\"]\ncontext = {{ with_other_hit = true }}\n\
         [[entry]]\nid = \"code\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"1488\"]\n"
    ));
    assert!(ids(&l, "🐸").is_empty());
    assert!(
        ids(&l, "🐸👌").is_empty(),
        "gated entries do not support each other"
    );
    let hits = find(&l, "🐸 1488");
    assert_eq!(hits.len(), 2);
    assert!(
        hits.iter()
            .any(|h| h.id == "frog" && h.rule == MatchRule::OtherHit)
    );
}

#[test]
fn longer_matches_swallow_contained_ones() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"long\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"14 88\"]\n\
         [[entry]]\nid = \"short\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"88\"]\n"
    ));
    assert_eq!(ids(&l, "14/88"), ["long"]);
    assert_eq!(ids(&l, "88"), ["short"]);
}

#[test]
fn soften_lowers_weight_and_says_so() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"o\"\nkind = \"euphemism\"\n{ENTRY}patterns = [\"omvolking\"]\n\
         context = {{ window = 4, soften_near = [\"complot*\"], soften_factor = 0.4 }}\n"
    ));
    let hit = &find(&l, "omvolking")[0];
    assert!(!hit.softened && (hit.weight - 0.5).abs() < 1e-6);
    let hit = &find(&l, "omvolking is een complottheorie")[0];
    assert!(hit.softened && (hit.weight - 0.2).abs() < 1e-6, "{hit:?}");
}

#[test]
fn require_all_needs_every_item_near() {
    let l = lexicon(&format!(
        "[lists]\nharm = [\"stab\", \"kill\", \"in elkaar\"]\nyou = [\"you\", \"je\"]\n\
         [[entry]]\nid = \"t\"\nkind = \"threat\"\n{ENTRY}patterns = [\"irl\"]\n\
         context = {{ window = 0, forbid_near = [\"spawn\"], require_all = [\"@harm\", \"@you\"], cue_window = 4 }}\n"
    ));
    let hits = find(&l, "i will stab you irl");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!((hits[0].rule, hits[0].kind), (MatchRule::Cue, Kind::Threat));
    assert!(ids(&l, "stab irl").is_empty(), "the second item is missing");
    assert!(ids(&l, "you irl").is_empty(), "the first item is missing");
    assert_eq!(ids(&l, "ik sla je irl in elkaar"), ["t"], "multi-word item");
    assert!(
        ids(&l, "you irl and then a long way further on we stab").is_empty(),
        "an item outside cue_window"
    );
    assert!(
        ids(&l, "i will stab you irl at spawn").is_empty(),
        "veto first"
    );
}

#[test]
fn require_all_holds_in_addition_to_the_gates() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"a\"\nkind = \"attack_announcement\"\n{ENTRY}patterns = [\"livestream\"]\n\
         context = {{ require_any = [\"mosque\"], require_all = [\"attack\"] }}\n"
    ));
    assert_eq!(ids(&l, "livestream the attack on the mosque"), ["a"]);
    assert!(ids(&l, "livestream at the mosque").is_empty());
    assert!(ids(&l, "livestream the attack").is_empty());
    let hit = &find(&l, "livestream the attack on the mosque")[0];
    assert_eq!(
        (hit.rule, hit.kind),
        (MatchRule::Cue, Kind::AttackAnnouncement)
    );
}

#[test]
fn glued_patterns_require_glue_and_wildcards_extend_words() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"g\"\nkind = \"number_code\"\n{ENTRY}patterns = [\"combat18\"]\n\
         [[entry]]\nid = \"w\"\nkind = \"euphemism\"\n{ENTRY}patterns = [\"volksverrad*\"]\n"
    ));
    assert_eq!(ids(&l, "combat18"), ["g"]);
    assert!(ids(&l, "combat 18").is_empty());
    assert_eq!(ids(&l, "volksverraders"), ["w"]);
    let hit = &find(&l, "jullie volksverraders")[0];
    assert_eq!(hit.matched, "volksverraders");
}

#[test]
fn hits_serialize_with_reasons() {
    let hits = find(shipped(), "xX1488Xx");
    let json = match serde_json::to_value(&hits) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let hit = &json[0];
    assert_eq!(hit["id"], "any.num.1488");
    assert_eq!(hit["category"], "extremism");
    assert_eq!(hit["kind"], "number_code");
    assert_eq!(hit["lang"], "any");
    assert_eq!(hit["field"], "folded");
    assert_eq!(hit["rule"], "pattern");
    assert_eq!(hit["matched"], "1488");
    assert!(
        hit["description"]
            .as_str()
            .is_some_and(|d| d.contains("14"))
    );
}

// ---------------------------------------------------------------------------------------------
// Load errors.

fn load_error(src: &str) -> (String, usize, usize, String) {
    match Lexicon::from_toml_str(src, "bad.toml") {
        Err(LexiconError::Invalid {
            origin,
            line,
            column,
            message,
        }) => (origin, line, column, message),
        Err(other) => panic!("expected an Invalid error, got {other}"),
        Ok(_) => panic!("expected an error for:\n{src}"),
    }
}

const GOOD_ENTRY: &str = "[[entry]]\nid = \"x\"\ncategory = \"hate\"\nweight = 0.5\nlang = \"en\"\nkind = \"slogan\"\ndescription = \"d\"\npatterns = [\"abc\"]\n";

#[test]
fn malformed_toml_reports_file_line_column() {
    let src = "version = \"1\"\n[[entry]]\nid = \"x\"\nweight = = 0.5\n";
    let (origin, line, column, _) = load_error(src);
    assert_eq!((origin.as_str(), line), ("bad.toml", 4));
    assert!((8..=10).contains(&column), "column {column}");
    let Err(e) = Lexicon::from_toml_str(src, "bad.toml") else {
        panic!("no error")
    };
    assert!(
        e.to_string().starts_with(&format!("bad.toml:4:{column}: ")),
        "{e}"
    );
}

#[test]
fn unknown_field_is_rejected_with_position() {
    let src = format!("version = \"1\"\n{GOOD_ENTRY}colour = \"red\"\n");
    let (_, line, column, message) = load_error(&src);
    assert_eq!((line, column), (10, 1), "{message}");
    assert!(message.contains("colour"), "{message}");
    let src = format!("version = \"1\"\n{GOOD_ENTRY}[entry.context]\nwindw = 3\n");
    let (_, line, _, message) = load_error(&src);
    assert_eq!(line, 11, "{message}");
}

#[test]
fn weight_out_of_range_is_rejected() {
    let src = format!(
        "version = \"1\"\n{}",
        GOOD_ENTRY.replace("weight = 0.5", "weight = 1.5")
    );
    let (_, line, column, message) = load_error(&src);
    assert_eq!((line, column), (5, 10), "{message}");
    assert!(message.contains("1.5"), "{message}");
    let src = format!(
        "version = \"1\"\n{}",
        GOOD_ENTRY.replace("weight = 0.5", "weight = -0.1")
    );
    assert_eq!(load_error(&src).1, 5);
    let src = format!("version = \"1\"\n{GOOD_ENTRY}context = {{ window = 99 }}\n");
    assert_eq!(load_error(&src).1, 10);
}

#[test]
fn invalid_entries_are_rejected() {
    let bad = [
        (GOOD_ENTRY.replace("[\"abc\"]", "[\"a*c\"]"), 9, "'*'"),
        (
            GOOD_ENTRY.replace("[\"abc\"]", "[\"!!!\"]"),
            9,
            "empty after normalisation",
        ),
        (GOOD_ENTRY.replace("[\"abc\"]", "[]"), 9, "no patterns"),
        (
            GOOD_ENTRY.replace("id = \"x\"", "id = \"Bad Id\""),
            3,
            "invalid id",
        ),
        (
            GOOD_ENTRY.replace("lang = \"en\"", "lang = \"english\""),
            6,
            "invalid lang",
        ),
        (
            GOOD_ENTRY.replace("kind = \"slogan\"", "kind = \"meme\""),
            7,
            "meme",
        ),
        (
            GOOD_ENTRY.replace("category = \"hate\"", "category = \"spam\""),
            4,
            "spam",
        ),
        (
            format!("{GOOD_ENTRY}context = {{ forbid_near = [\"@nope\"] }}\n"),
            10,
            "unknown word list",
        ),
        (
            format!("{GOOD_ENTRY}context = {{ forbid_near = [\"two words*\"] }}\n"),
            10,
            "single word",
        ),
        (format!("{GOOD_ENTRY}{GOOD_ENTRY}"), 11, "duplicate id"),
        (
            GOOD_ENTRY.replace("[\"abc\"]", "[\"kkk\"]"),
            9,
            "single letter",
        ),
        (
            format!("{GOOD_ENTRY}context = {{ require_all = [\"ok\", \"@nope\"] }}\n"),
            10,
            "unknown word list",
        ),
        (
            format!("{GOOD_ENTRY}context = {{ require_all = [\"!!!\"] }}\n"),
            10,
            "could never hold",
        ),
        (
            format!("{GOOD_ENTRY}context = {{ require_all = \"harm\" }}\n"),
            10,
            "sequence",
        ),
    ];
    for (body, want_line, want_text) in bad {
        let (_, line, _, message) = load_error(&format!("version = \"1\"\n{body}"));
        assert!(
            message.contains(want_text),
            "{message} (wanted {want_text:?})"
        );
        assert_eq!(line, want_line, "{message}");
    }
    let (_, line, _, message) = load_error("version = \"\"\n");
    assert!(line == 1 && message.contains("version"), "{message}");
    let (_, line, _, message) = load_error("about = \"no version\"\n");
    assert!(line >= 1 && message.contains("version"), "{message}");
}

#[test]
fn ids_and_lists_are_checked_across_files() {
    let mut b = LexiconBuilder::new();
    let lists = "version = \"1\"\n[lists]\ngame = [\"kills\", \"ms\"]\n";
    let uses = format!("version = \"1\"\n{GOOD_ENTRY}context = {{ forbid_near = [\"@game\"] }}\n");
    let built = b
        .add_toml_str(lists, "lists.toml")
        .and_then(|b| b.add_toml_str(&uses, "a.toml"))
        .and_then(|b| b.build());
    let l = match built {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(ids(&l, "abc"), ["x"]);
    assert!(ids(&l, "abc kills").is_empty());
    let Err(e) = l.merge(&l) else {
        panic!("duplicate lists across files must fail")
    };
    let text = e.to_string();
    assert!(
        text.starts_with("lists.toml:3:1: word list \"game\" is already defined in lists.toml"),
        "{text}"
    );
    let a = lexicon(GOOD_ENTRY);
    let Err(e) = a.merge(&a) else {
        panic!("duplicate ids across files must fail")
    };
    let text = e.to_string();
    assert!(
        text.contains("duplicate id \"x\" (first defined at inline.toml:3:6)"),
        "{text}"
    );
    // A self-contained file cannot use a list from another file.
    assert!(Lexicon::from_toml_str(&uses, "a.toml").is_err());
}

#[test]
fn a_list_named_by_many_entries_means_the_same_in_each() {
    // Context words are normalised once per word and field and shared by every entry that
    // names them; a word written with and without a trailing `*` keeps both meanings.
    let src = format!(
        "[lists]\nnear = [\"camp*\", \"b site\"]\n\
         [[entry]]\nid = \"a\"\nkind = \"slogan\"\npatterns = [\"abc\"]\n{ENTRY}context = {{ forbid_near = [\"@near\"] }}\n\
         [[entry]]\nid = \"b\"\nkind = \"slogan\"\npatterns = [\"xyz\"]\nmatch_on = \"folded\"\n{ENTRY}context = {{ forbid_near = [\"@near\"] }}\n\
         [[entry]]\nid = \"c\"\nkind = \"slogan\"\npatterns = [\"pqr\"]\n{ENTRY}context = {{ forbid_near = [\"camp\"] }}\n"
    );
    let l = lexicon(&src);
    let mut all = ids(&l, "abc xyz pqr");
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);
    for message in [
        "abc campers",
        "abc at b site",
        "xyz campers",
        "xyz at b site",
    ] {
        assert!(ids(&l, message).is_empty(), "{message}");
    }
    // "camp" without '*' forbids the word itself only.
    assert!(ids(&l, "pqr camp").is_empty());
    assert_eq!(ids(&l, "pqr campers"), ["c"]);
}

#[test]
fn versions_combine() {
    let a = lexicon(&GOOD_ENTRY.replace("id = \"x\"", "id = \"a\""));
    let b = lexicon(&GOOD_ENTRY.replace("id = \"x\"", "id = \"b\""));
    let merged = match a.merge(&b) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert_eq!((merged.len(), merged.version()), (2, "t1"));
    let c = match Lexicon::from_toml_str(&format!("version = \"t2\"\n{GOOD_ENTRY}"), "c.toml") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let merged = match a.merge(&c) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(merged.version(), "inline=t1;c=t2");
    assert!(
        Lexicon::default().is_empty()
            && Lexicon::default()
                .find(&normalize("1488", &NormalizeOptions::default()))
                .is_empty()
    );
}

#[test]
fn load_dir_errors() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-lexicon-dir");
    assert!(matches!(
        Lexicon::load_dir(&missing),
        Err(LexiconError::ReadDir { .. })
    ));

    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert!(matches!(
        Lexicon::load_dir(dir.path()),
        Err(LexiconError::NoFiles { .. })
    ));
    let write = |name: &str, text: &str| {
        if let Err(e) = std::fs::write(dir.path().join(name), text) {
            panic!("{e}");
        }
    };
    write("README.md", "not toml, ignored");
    write("a.toml", &format!("version = \"1\"\n{GOOD_ENTRY}"));
    match Lexicon::load_dir(dir.path()) {
        Ok(l) => assert_eq!(l.len(), 1),
        Err(e) => panic!("{e}"),
    }
    write(
        "b.toml",
        "version = \"1\"\n\n[[entry]]\nid = \"y\"\nweight = 2\n",
    );
    match Lexicon::load_dir(dir.path()) {
        Err(e @ LexiconError::Invalid { .. }) => {
            let text = e.to_string();
            assert!(text.contains("b.toml:5:10"), "{text}");
        }
        other => panic!("expected b.toml:5:10, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness (speed is measured by `cargo bench -p waypoint --bench scoring`).

proptest! {
    #[test]
    fn find_never_panics_and_spans_are_valid(input in "\\PC{0,80}") {
        let n = normalize(&input, &NormalizeOptions::default());
        for hit in shipped().find(&n) {
            let field = match hit.field { Field::Text => &n.text, Field::Folded => &n.folded };
            prop_assert_eq!(field.get(hit.span.clone()), Some(hit.matched.as_str()));
            prop_assert!((0.0..=1.0).contains(&hit.weight));
        }
    }

    /// Input made of code material (digits, separators, emoji, runes, invisible characters):
    /// every hit names a shipped entry with its category and kind, points at the text it
    /// matched, weighs no more than its entry (less only when softened), and the same message
    /// gives the same hits again.
    #[test]
    fn hits_on_code_soup_are_consistent(input in "[a-z0-9 /._\\-⚡🐸卐ᛋ👌🏽\u{FE0F}\u{200B}]{0,60}") {
        let n = normalize(&input, &NormalizeOptions::default());
        let lexicon = shipped();
        let hits = lexicon.find(&n);
        for hit in &hits {
            let entry = lexicon.entries().iter().find(|e| e.id == hit.id);
            prop_assert!(entry.is_some(), "hit names unknown id {}", hit.id);
            let Some(entry) = entry else { continue };
            prop_assert_eq!(hit.category, entry.category);
            prop_assert_eq!(hit.kind, entry.kind);
            let field = match hit.field { Field::Text => &n.text, Field::Folded => &n.folded };
            prop_assert_eq!(field.get(hit.span.clone()), Some(hit.matched.as_str()));
            prop_assert!(hit.weight <= entry.weight + 1e-6, "{} weighs {}", hit.id, hit.weight);
            prop_assert!(hit.softened || (hit.weight - entry.weight).abs() < 1e-6, "{}", hit.id);
        }
        prop_assert_eq!(describe(&lexicon.find(&n)), describe(&hits));
    }
}

#[test]
fn one_search_finds_the_hits_of_both_fields_when_they_agree() {
    let l = lexicon(&format!(
        "[[entry]]\nid = \"e\"\nkind = \"emoji\"\n{ENTRY}patterns = [\"🐸\"]\n\
         [[entry]]\nid = \"w\"\nkind = \"euphemism\"\n{ENTRY}patterns = [\"omvolking\"]\n"
    ));
    let agree = normalize("🐸 omvolking", &NormalizeOptions::default());
    assert_eq!(
        agree.text, agree.folded,
        "the fixture must normalise to one string"
    );
    // The emoji entry matches on `folded` only; the word entry on both, reported in `text`.
    let fields = |message: &str| {
        find(&l, message)
            .into_iter()
            .map(|h| (h.id, h.field))
            .collect::<Vec<_>>()
    };
    let both = [
        ("w".to_owned(), Field::Text),
        ("e".to_owned(), Field::Folded),
    ];
    assert_eq!(fields("🐸 omvolking"), both);
    // Fields that differ (a collapsed letter run) are searched one by one, with the same hits.
    let differ = normalize("🐸 omvolkinggg", &NormalizeOptions::default());
    assert_ne!(differ.text, differ.folded);
    assert_eq!(fields("🐸 omvolkinggg"), both);
}

#[test]
fn mentions_weigh_nothing_and_gate_nothing() {
    let src = format!(
        "[[entry]]\nid = \"m\"\nkind = \"mention\"\npatterns = [\"tarrant\"]\n{}\
         context = {{ condemn_near = [\"loser\"] }}\n\
         [[entry]]\nid = \"g\"\nkind = \"slogan\"\npatterns = [\"day x\"]\n{ENTRY}\
         context = {{ with_other_hit = true }}\n",
        ENTRY.replace("weight = 0.5", "weight = 0.0")
    );
    let l = lexicon(&src);
    let hits = find(&l, "tarrant was a loser");
    assert!(
        hits.len() == 1 && hits[0].is_mention() && hits[0].condemned && hits[0].weight == 0.0,
        "{}",
        describe(&hits)
    );
    assert!(!find(&l, "tarrant was in the news")[0].condemned);
    // A mention is no other hit: the gated slogan stays unmatched.
    assert_eq!(ids(&l, "tarrant day x"), ["m"]);
    // A mention must weigh 0.
    let (_, line, _, message) = load_error(&format!(
        "version = \"1\"\n{}",
        src.replace("weight = 0.0", "weight = 0.3",)
    ));
    assert!(
        message.contains("mention") && message.contains("weight must be 0"),
        "{message}"
    );
    assert_eq!(line, 7, "{message}");
}

#[test]
fn counter_speech_weighs_nothing_and_condemns_nothing() {
    let src = format!(
        "[[entry]]\nid = \"c\"\nkind = \"counter_speech\"\npatterns = [\"i reported him\"]\n{}\
         [[entry]]\nid = \"x\"\nkind = \"slogan\"\npatterns = [\"day x\"]\n{ENTRY}\
         [[entry]]\nid = \"g\"\nkind = \"slogan\"\npatterns = [\"day y\"]\n{ENTRY}\
         context = {{ with_other_hit = true }}\n",
        ENTRY.replace("weight = 0.5", "weight = 0.0"),
    );
    let l = lexicon(&src);
    let hits = find(&l, "day x. i reported him");
    assert!(
        hits.len() == 2
            && hits
                .iter()
                .any(|h| h.id == "c" && h.is_counter_speech() && h.weight == 0.0)
            && hits.iter().all(|h| !h.condemned && !h.softened),
        "{}",
        describe(&hits)
    );
    // Counter-speech is no other hit: the gated slogan stays unmatched.
    assert_eq!(ids(&l, "day y, i reported him"), ["c"]);
    // Counter-speech must weigh 0 and answer hate or extremism.
    let (_, line, _, message) = load_error(&format!(
        "version = \"1\"\n{}",
        src.replacen("weight = 0.0", "weight = 0.3", 1)
    ));
    assert!(
        message.contains("counter-speech") && message.contains("weight must be 0"),
        "{message}"
    );
    assert_eq!(line, 7, "{message}");
    let (_, line, _, message) = load_error(&format!(
        "version = \"1\"\n{}",
        src.replacen(
            "category = \"extremism\"\nweight = 0.0",
            "category = \"threat\"\nweight = 0.0",
            1
        )
    ));
    assert!(
        message.contains("category must be one of them"),
        "{message}"
    );
    assert_eq!(line, 3, "{message}");
}

/// Phrases in the shipped counter-speech entries, not single words: deniers, calls and threats
/// use "lie", "stop", "not", "help" and "ban" too, and hate cheers a group's expulsion.
#[test]
fn shipped_counter_speech_needs_a_phrase() {
    let lines = [
        "the holocaust is a lie",
        "het is een leugen dat de holocaust gebeurd is",
        "stop posting and start shooting",
        "its not a joke, saturday the mall",
        "the brothers need help, come to sham",
        "de broeders hebben hulp nodig, kom naar sham",
        "islam is vile",
        "ban me idc, friday i beat his score",
        "ban me maar, vrijdag verbreek ik zijn score",
        "the great replacement is not a conspiracy theory",
        "omvolking is geen complottheorie maar feit",
        "stop calling them refugees, they are invaders",
        "no place for them in our country",
        "the jews got kicked out of 109 countries",
        "deported them all, good riddance",
        "alle moslims het land uit, opgeruimd staat netjes",
        "jihad is not just the inner struggle, it is fighting the kuffar",
        "jihad is niet alleen innerlijke strijd, broeders, het is de wapens opnemen",
        "heading to the mosque for jummah, dont forget me",
        "going to the mosque friday after prayers with my rifle",
        "vrijdag naar de moskee, daarna weet iedereen mijn naam",
        "brb going to the synagogue, time to do what bowers did",
        "vrijdag naar de moskee voor het gebed, het wordt een verrassing voor iedereen",
    ];
    let lexicon = shipped();
    let failures: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let hits = find(lexicon, line);
            hits.iter()
                .any(LexiconHit::is_counter_speech)
                .then(|| format!("{line:?}: [{}]", describe(&hits)))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
