//! Rules of the source layout, checked by reading `sdk/waypoint/src` itself:
//!
//! - no function is longer than [`MAX_FN_LINES`] lines.
//!
//! Run with `cargo test -p waypoint --test layout`.
#![expect(
    clippy::panic,
    reason = "a failing test panics with the collected failures"
)]

use std::path::{Path, PathBuf};

/// The longest a function in `sdk/waypoint/src` may be, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 80;

/// Functions allowed to be longer for now, with their length: they live in code another line of
/// work is changing. Each must still be over the limit and no longer than listed, so the list
/// only shrinks.
const LONG_FN_ALLOWED: &[(&str, &str, usize)] = &[
    ("text/lexicon/format.rs", "parse_file", 133),
    ("text/lexicon/matcher.rs", "compile", 106),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as paths relative to it with `/` separators, sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn read(rel: &str) -> String {
    match std::fs::read_to_string(src_dir().join(rel)) {
        Ok(text) => text,
        Err(e) => panic!("{rel}: {e}"),
    }
}

/// One token of Rust source: an identifier or keyword, or one of the punctuation marks the
/// checks need (`{ } ( ) [ ] ; ,` and `::`). Comments, strings and characters are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    line: usize,
}

/// Splits Rust source into [`Token`]s, skipping comments and literals.
fn tokens(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let ident_char = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1, &mut line);
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), else a lifetime or label.
            if at(i + 1) == '\\' {
                let mut j = i + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if ident_char(c) {
            let start = i;
            while i < chars.len() && ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Raw and byte strings: r"…", r#"…"#, b"…", br"…".
            let raw = matches!(word.as_str(), "r" | "br") && matches!(at(i), '"' | '#');
            if raw {
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                if at(i) == '"' {
                    i = skip_raw_string(&chars, i + 1, hashes, &mut line);
                    continue;
                }
            } else if word == "b" && at(i) == '"' {
                i = skip_string(&chars, i + 1, &mut line);
                continue;
            } else if word == "b" && at(i) == '\'' {
                while i + 1 < chars.len() && chars[i + 1] != '\'' {
                    i += usize::from(chars[i + 1] == '\\') + 1;
                }
                i += 2;
                continue;
            }
            out.push(Token { text: word, line });
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token {
                text: "::".to_owned(),
                line,
            });
            i += 2;
        } else {
            if "{}()[];,".contains(c) {
                out.push(Token {
                    text: c.to_string(),
                    line,
                });
            }
            i += 1;
        }
    }
    out
}

/// Skips a string body from just after its opening quote; returns the index after the closing one.
fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\\' {
            i += 1;
        }
        if chars.get(i) == Some(&'\n') {
            *line += 1;
        }
        i += 1;
    }
    i + 1
}

/// Skips a raw string body closed by `"` and `hashes` `#`s.
fn skip_raw_string(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        *line += usize::from(chars[i] == '\n');
        i += 1;
    }
    i
}

/// A function with a body: its name, first line and length in lines.
#[derive(Debug)]
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// Every function with a body in `tokens` (nested ones too).
fn functions(tokens: &[Token]) -> Vec<Function> {
    let mut out = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        if token.text != "fn" {
            continue;
        }
        let Some(name) = tokens.get(k + 1) else {
            continue;
        };
        if !name
            .text
            .starts_with(|c: char| c.is_alphabetic() || c == '_')
        {
            continue; // a `fn(…)` pointer type
        }
        // The body starts at the first `{` outside the signature's brackets; a `;` first means
        // there is none (a trait method's declaration).
        let mut depth = 0_i32;
        let mut body = None;
        for (m, t) in tokens.iter().enumerate().skip(k + 2) {
            match t.text.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                ";" if depth == 0 => break,
                "{" if depth == 0 => {
                    body = Some(m);
                    break;
                }
                _ => {}
            }
        }
        let Some(body) = body else { continue };
        let mut braces = 0_i32;
        for t in &tokens[body..] {
            match t.text.as_str() {
                "{" => braces += 1,
                "}" => {
                    braces -= 1;
                    if braces == 0 {
                        out.push(Function {
                            name: name.text.clone(),
                            line: token.line,
                            lines: t.line - token.line + 1,
                        });
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn tokens_skip_comments_and_literals() {
    let src = "fn a() { let s = \"{ fn x() {\"; // fn y() {\n let c = '{'; let r = r#\"}\"#; }\n\
               /* fn z() { /* nested */ } */ fn b<'a>(x: &'a str) -> fn(u8) { let _ = b'}'; }";
    let names: Vec<_> = functions(&tokens(src))
        .into_iter()
        .map(|f| (f.name, f.line, f.lines))
        .collect();
    assert_eq!(
        names,
        [("a".to_owned(), 1, 2), ("b".to_owned(), 3, 1)],
        "{:?}",
        tokens(src)
    );
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let mut failures = Vec::new();
    let mut allowed_seen = Vec::new();
    for rel in rust_files(&src_dir()) {
        for f in functions(&tokens(&read(&rel))) {
            if f.lines <= MAX_FN_LINES {
                continue;
            }
            match LONG_FN_ALLOWED
                .iter()
                .find(|(file, name, _)| *file == rel && *name == f.name)
            {
                Some(&(_, _, max)) if f.lines <= max => allowed_seen.push((rel.clone(), f.name)),
                _ => failures.push(format!(
                    "{rel}:{}: fn {} is {} lines (at most {MAX_FN_LINES})",
                    f.line, f.name, f.lines
                )),
            }
        }
    }
    for (file, name, _) in LONG_FN_ALLOWED {
        if !allowed_seen.iter().any(|(f, n)| f == file && n == name) {
            failures.push(format!(
                "{file}: fn {name} is within the limit now (or gone): remove it from LONG_FN_ALLOWED"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} function(s) too long:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
