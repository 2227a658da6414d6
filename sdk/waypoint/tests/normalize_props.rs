//! Properties of the normaliser, hunted with proptest: it never panics, both outputs are
//! idempotent, outputs are bounded, truncation is flagged exactly when it happens, and the
//! outputs are clean (no invisibles, no stray spaces, no ASCII capitals).

use proptest::prelude::*;
use waypoint::text::{Change, NormalizeOptions, Normalized, normalize};

/// Characters chosen to collide with the normaliser's rules.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        // ASCII: letters (some capital), digits, leet symbols, separators, spaces, controls.
        prop::sample::select(
            "abcdefgiklnorstuvxyzKILT0123456789@$!|.-_*'~+#,;:?/ \t\n\r\x00\x07"
                .chars()
                .collect::<Vec<_>>()
        ),
        // Combining marks (accents, zalgo, enclosing, keycap).
        (0x300u32..=0x36F).prop_filter_map("mark", char::from_u32),
        (0x483u32..=0x489).prop_filter_map("mark", char::from_u32),
        (0x20D0u32..=0x20F0).prop_filter_map("mark", char::from_u32),
        // Invisibles: zero-width, bidi, joiners, variation selectors, soft hyphen, BOM, tags.
        prop::sample::select(vec![
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{034F}',
            '\u{FE0E}',
            '\u{FE0F}',
            '\u{E0067}',
            '\u{E007F}',
            '\u{180E}',
            '\u{3164}',
            '\u{2800}',
            '\u{00A0}',
            '\u{3000}',
            '\u{2028}',
        ]),
        // Emoji, skin tones, flags, keycap bases.
        prop::sample::select(vec![
            '🐸', '⚡', '🔪', '👨', '👩', '👧', '❤', '🏴', '🏻', '🇳', '🇱', '💀', '©', '™', 'ℹ'
        ]),
        // Look-alikes: Cyrillic, Greek, Armenian, Cherokee, Latin extensions, symbols.
        (0x430u32..=0x45F).prop_filter_map("cyrillic", char::from_u32),
        (0x3B1u32..=0x3C9).prop_filter_map("greek", char::from_u32),
        (0x531u32..=0x586).prop_filter_map("armenian", char::from_u32),
        (0x13A0u32..=0x13F5).prop_filter_map("cherokee", char::from_u32),
        (0x250u32..=0x2AF).prop_filter_map("ipa", char::from_u32),
        prop::sample::select(vec![
            'ł', 'ø', 'ß', 'ẞ', 'İ', 'ı', 'æ', 'ς', 'Σ', 'µ', '¢', '€', '⊂', '∩', '×', 'ǅ', 'ѹ',
            '¡'
        ]),
        // Compatibility forms: fullwidth, math alphanumerics, ligatures, expanders.
        (0xFF01u32..=0xFF5E).prop_filter_map("fullwidth", char::from_u32),
        (0x1D400u32..=0x1D7FF).prop_filter_map("math", char::from_u32),
        prop::sample::select(vec!['ﷺ', '½', '㎏', 'ﬀ', 'ｍ', '①', '²', 'Ⓐ', '㈱', '…']),
        // Scripts that keep their marks, and composition: Devanagari, Thai, kana, Hangul.
        prop::sample::select(vec![
            'क', '\u{94D}', '\u{93F}', '\u{93C}', 'ก', '\u{E48}', '\u{E31}', 'か', '\u{3099}',
            'が', '가', '\u{1100}', '\u{1161}', '\u{11A8}', 'ה', '\u{5B8}', 'ه', '١', '丫',
        ]),
        any::<char>(),
    ]
}

/// Chat-like fragments: spelled-out letters, leetspeak, numbers, repeats, separators.
fn chat_string() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        prop::sample::select(vec![
            "a",
            "b",
            "i",
            "k",
            "l",
            "u",
            "r",
            "x",
            "s",
            "1",
            "2",
            "4",
            "8",
            "@",
            "$",
            "!",
            "|",
            ".",
            "-",
            "*",
            "_",
            "'",
            "ll",
            "lll",
            "ooo",
            "aaaa",
            "11",
            "111",
            "1488",
            "88",
            "2v2",
            "1st",
            "10k",
            "ak47",
            "w0rthl3ss",
            "1d10t",
            "@ss",
            "sh!t",
            "k1ll",
            "ki11",
            "noob",
            "gg",
            "ez",
            "@bob",
            "a55",
            "5hit",
            "і",
            "о",
            "ѕ",
            "α",
            "ß",
            "é",
            "\u{301}",
            "\u{200B}",
            "\u{200D}",
            "\u{FE0F}",
            "🐸",
            "⚡",
            "ｋ",
            "К",
        ])
        .prop_map(str::to_owned),
        "[a-z0-9@$!|.\\-]{1,4}",
    ];
    let separator = prop::sample::select(vec![" ", " ", " ", "", ".", "  ", "\t", " - "]);
    prop::collection::vec((fragment, separator), 0..16).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(f, s)| [f, s.to_owned()])
            .collect()
    })
}

fn tricky_string(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..max_len).prop_map(String::from_iter)
}

fn arbitrary_string(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max_len).prop_map(String::from_iter)
}

fn options() -> impl Strategy<Value = NormalizeOptions> {
    prop_oneof![
        3 => Just(NormalizeOptions::default()),
        1 => (0usize..40).prop_map(|max_chars| NormalizeOptions { max_chars }),
    ]
}

/// Everything the properties below check for one input.
fn check(input: &str, opts: &NormalizeOptions) -> Result<(), TestCaseError> {
    let n = normalize(input, opts);
    let input_chars = input.chars().count();
    let kept = input_chars.min(opts.max_chars);
    let folded_chars = n.folded.chars().count();
    let text_chars = n.text.chars().count();

    prop_assert_eq!(&n.original, input);

    // Idempotence of both forms, and folded is enough to rebuild text.
    let again = normalize(&n.text, opts);
    prop_assert_eq!(&again.text, &n.text, "text not idempotent for {:?}", input);
    prop_assert_eq!(
        &again.folded,
        &n.text,
        "folding text changed it for {:?}",
        input
    );
    let again = normalize(&n.folded, opts);
    prop_assert_eq!(
        &again.folded,
        &n.folded,
        "folded not idempotent for {:?}",
        input
    );
    prop_assert_eq!(
        &again.text,
        &n.text,
        "text differs when rebuilt from folded for {:?}",
        input
    );

    // Bounds.
    prop_assert!(
        folded_chars <= opts.max_chars,
        "{folded_chars} > max {}",
        opts.max_chars
    );
    prop_assert!(folded_chars <= 18 * kept, "{folded_chars} > 18 * {kept}");
    prop_assert!(text_chars <= folded_chars);
    if input.is_ascii() {
        prop_assert!(folded_chars <= kept);
    }

    // Truncation is flagged exactly when the input is over the limit.
    prop_assert_eq!(n.truncated(), input_chars > opts.max_chars);
    let truncations: Vec<&Change> = n
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Truncated { .. }))
        .collect();
    if input_chars > opts.max_chars {
        let expected = Change::Truncated {
            original_chars: input_chars,
            kept_chars: opts.max_chars,
        };
        prop_assert_eq!(truncations, vec![&expected]);
    } else {
        prop_assert!(truncations.is_empty());
    }

    // Clean output.
    for s in [&n.folded, &n.text] {
        check_clean(s)?;
    }
    Ok(())
}

fn check_clean(s: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  "),
        "spacing in {:?}",
        s
    );
    prop_assert!(
        !s.bytes().any(|b| b.is_ascii_uppercase()),
        "capital in {:?}",
        s
    );
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        prop_assert!(
            c == ' ' || !c.is_whitespace(),
            "whitespace {:?} in {:?}",
            c,
            s
        );
        prop_assert!(!c.is_control(), "control {:?} in {:?}", c, s);
        let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}' | '\u{00AD}' | '\u{FE00}'..='\u{FE0F}');
        if invisible {
            // Only ZWJ and presentation selectors inside emoji sequences survive.
            prop_assert!(
                matches!(c, '\u{200D}' | '\u{FE0E}' | '\u{FE0F}'),
                "invisible {:?} in {:?}",
                c,
                s
            );
            prop_assert!(i > 0, "leading {:?} in {:?}", c, s);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn tricky_inputs_hold_every_property(input in tricky_string(60), opts in options()) {
        check(&input, &opts)?;
    }

    #[test]
    fn chat_like_inputs_hold_every_property(input in chat_string(), opts in options()) {
        check(&input, &opts)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_inputs_hold_every_property(input in arbitrary_string(80), opts in options()) {
        check(&input, &opts)?;
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        let _ = normalize(&input, &NormalizeOptions::default());
    }

    #[test]
    fn ascii_inputs_hold_every_property(input in "[ -~\t\n]{0,80}", opts in options()) {
        check(&input, &opts)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn long_inputs_are_truncated_and_hold(input in tricky_string(3000)) {
        check(&input, &NormalizeOptions::default())?;
        check(&input, &NormalizeOptions { max_chars: 100 })?;
    }

    #[test]
    fn expanding_inputs_are_capped(n in 1usize..300, sep in prop::sample::select(vec!["", " ", "a"])) {
        let input: String = std::iter::repeat_n(format!("ﷺ{sep}"), n).collect();
        check(&input, &NormalizeOptions::default())?;
        check(&input, &NormalizeOptions { max_chars: 50 })?;
    }
}

#[test]
fn very_long_input_is_cut() {
    let input = "k i l l ".repeat(100_000);
    let n: Normalized = normalize(&input, &NormalizeOptions::default());
    assert!(n.truncated());
    assert!(n.folded.chars().count() <= 1024);
}

#[test]
fn zero_limit_keeps_nothing() {
    let n = normalize("hello", &NormalizeOptions { max_chars: 0 });
    assert_eq!(n.text, "");
    assert!(n.truncated());
    let n = normalize("", &NormalizeOptions { max_chars: 0 });
    assert!(!n.truncated());
}
