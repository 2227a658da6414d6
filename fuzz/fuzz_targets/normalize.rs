//! Fuzzes the normaliser: arbitrary bytes, read as lossy UTF-8, must never panic and both
//! normalised forms must be fixed points.

#![no_main]

use libfuzzer_sys::fuzz_target;
use waypoint::text::{NormalizeOptions, normalize};

fuzz_target!(|data: &[u8]| {
    // The first byte picks a small limit now and then, to exercise truncation and capping.
    let options = match data.first() {
        Some(&b) if b < 32 => NormalizeOptions {
            max_chars: usize::from(b) * 2,
        },
        _ => NormalizeOptions::default(),
    };
    let input = String::from_utf8_lossy(data);
    let n = normalize(&input, &options);
    assert_eq!(
        normalize(&n.text, &options).text,
        n.text,
        "text is not idempotent for {input:?}"
    );
    assert_eq!(
        normalize(&n.folded, &options).folded,
        n.folded,
        "folded is not idempotent for {input:?}"
    );
    assert!(n.text.chars().count() <= n.folded.chars().count());
    assert!(n.folded.chars().count() <= options.max_chars);
    assert_eq!(n.truncated(), input.chars().count() > options.max_chars);
});
