//! `Engine::check_chat` allocates nothing on the game thread for a line that earns no response,
//! once its buffers have grown: counted with a counting global allocator, which is why this
//! test has a binary of its own.
//!
//! Lines that do earn a response allocate only what the verdict hands back (its reasons and
//! lexicon hits), which the second test bounds.
#![expect(
    clippy::expect_used,
    reason = "test set-up fails loudly when the models cannot load"
)]
#![expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one only forwards to System and counts"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use waypoint::{ChatMessage, Engine, Health, Policy, Scorer};

/// Forwards to the system allocator and counts allocations made by the current thread.
struct Counting;

thread_local! {
    // Const-initialised with no destructor, so reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards unchanged to `System`, which upholds the `GlobalAlloc` contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's layout is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Lines that exercise every normaliser step, several scripts and emoji.
fn built_in_lines() -> Vec<String> {
    [
        "gg wp",
        "kill the healer first",
        "camp B and push mid",
        "noooooo way lol",
        "k i l l the boss, s.t.u.p.i.d bot",
        "gr8 1v1 at 10k hp, ak47 only",
        "ｆｕｌｌｗｉｄｔｈ text and ᴄᴀᴘꜱ",
        "привет всем, хорошая игра",
        "日本語のチャット 🙂",
        "café naïve résumé",
        "e\u{301}te\u{301} ok",
        "zero\u{200b}width and bidi\u{202e} marks",
        "👨\u{200d}👩\u{200d}👧 family emoji ❤️",
        "",
        "   ",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Game chat: the built-in lines, then the CONDA validation utterances when present (held out
/// from training).
fn chat_lines() -> Vec<String> {
    let mut lines = built_in_lines();
    let conda = root().join("../shared/data/conda_dota2/CONDA_valid.csv");
    if let Ok(text) = std::fs::read_to_string(conda) {
        // The utterance is the fourth column; quoted fields are rare enough to skip here.
        lines.extend(
            text.lines()
                .skip(1)
                .filter(|row| !row.contains('"'))
                .filter_map(|row| row.split(',').nth(3).map(str::to_owned))
                .take(3000),
        );
    }
    lines
}

fn engine() -> Engine {
    let scorer = Scorer::builder()
        .models_dir(root().join("models"))
        .deep_tier(false)
        .build()
        .expect("scorer builds");
    assert_eq!(
        scorer.health(),
        &Health::Ready,
        "the fast-tier model and lexicon must load"
    );
    Engine::builder()
        .scorer(Arc::new(scorer))
        .policy(Policy::default())
        .pseudonym_key(b"allocation test".to_vec())
        .build()
        .expect("engine builds")
}

#[test]
fn check_chat_does_not_allocate_for_lines_without_a_response() {
    let engine = engine();
    // The built-in lines alone first: buffers grown by short lines only are where a buffer that
    // changes its use between lines shows (the corpus's long lines would hide it).
    assert_quiet_lines_do_not_allocate(&engine, built_in_lines(), 10);
    assert_quiet_lines_do_not_allocate(&engine, chat_lines(), 10);
}

/// Checks every line once to let the thread's buffers grow, then asserts that none of the lines
/// that earn no response allocates when checked again, and that at least `min_quiet` earn none.
fn assert_quiet_lines_do_not_allocate(engine: &Engine, lines: Vec<String>, min_quiet: usize) {
    let messages: Vec<ChatMessage> = lines
        .into_iter()
        .map(|line| ChatMessage::new("steam:1", line).locale("en"))
        .collect();
    // Warm up: the thread's buffers grow to the longest line once.
    for message in &messages {
        let _ = engine.check_chat(message);
    }
    let mut quiet = 0;
    let mut allocating = Vec::new();
    for message in &messages {
        let mut verdict = None;
        let n = allocations_during(|| verdict = Some(engine.check_chat(message)));
        let Some(verdict) = verdict else { continue };
        if verdict.reasons.is_empty() && verdict.lexicon.is_empty() {
            quiet += 1;
            if n > 0 {
                allocating.push((message.text.clone(), n));
            }
        }
    }
    assert!(quiet >= min_quiet, "only {quiet} lines earned no response");
    assert!(
        allocating.is_empty(),
        "{} of {quiet} lines without a response allocated, e.g. {:?}",
        allocating.len(),
        &allocating[..allocating.len().min(5)]
    );
}

#[test]
fn check_chat_allocates_only_the_verdict_for_flagged_lines() {
    let engine = engine();
    let lines = [
        "y0u r a w0rthl3ss 1d10t",
        "go kill yourself",
        "1488 heil",
        "kill all of them, they are vermin",
    ];
    let messages: Vec<ChatMessage> = lines
        .iter()
        .map(|line| ChatMessage::new("steam:1", *line).locale("en"))
        .collect();
    for message in &messages {
        let _ = engine.check_chat(message);
    }
    let mut flagged = 0;
    for message in &messages {
        let mut verdict = None;
        let n = allocations_during(|| verdict = Some(engine.check_chat(message)));
        let Some(verdict) = verdict else { continue };
        if verdict.reasons.is_empty() && verdict.lexicon.is_empty() {
            continue;
        }
        flagged += 1;
        // The policy's decision builds its reason list twice (with and without levels) and
        // formats each rule name (which may grow once); the lexicon builds its hit list, each
        // hit's four strings and a few resolution vectors when it found candidates.
        let reasons = verdict.reasons.len() as u64;
        let hits = verdict.lexicon.len() as u64;
        let bound = (2 + 2 * reasons) + if hits > 0 { 1 + 4 * hits + 8 } else { 0 };
        assert!(
            n <= bound,
            "{:?} allocated {n} times for {reasons} reasons and {hits} hits (at most {bound})",
            message.text
        );
    }
    assert!(
        flagged >= 2,
        "only {flagged} of the test lines were flagged"
    );
}
