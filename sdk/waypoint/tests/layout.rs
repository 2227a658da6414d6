//! Rules of the source layout, checked by reading `sdk/waypoint/src` itself:
//!
//! - no function is longer than [`MAX_FN_LINES`] lines;
//! - a top-level module uses only modules in lower [`LAYERS`] (the data flow's order), never
//!   one in its own layer or above;
//! - no two files use each other, directly or round a longer cycle.
//!
//! A file "uses" another when a `use` line or a `crate::…`/`super::…` path in its code (not
//! its `#[cfg(test)]` modules) names an item defined there, following `pub use` re-exports to
//! the defining file. A module's own submodules do not count: a root re-exporting its children
//! points down.
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
/// only shrinks (it is empty now; keep it so).
const LONG_FN_ALLOWED: &[(&str, &str, usize)] = &[];

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

// ---------------------------------------------------------------------------------------------
// Imports: which file uses which.

/// A file's module path: `engine/process.rs` → `["engine", "process"]`, `engine/mod.rs` →
/// `["engine"]`, `lib.rs` → `[]`.
fn module_path(rel: &str) -> Vec<String> {
    let stem = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// One path a `use` names: its segments and the name it brings into scope.
#[derive(Debug, Clone)]
struct UsePath {
    path: Vec<String>,
    name: String,
}

/// Reads the use tree starting at `tokens[i]`; pushes each path to `out` and returns the index
/// after the tree. `*` is not a token, so a glob names its module.
fn use_tree(tokens: &[Token], mut i: usize, prefix: &[String], out: &mut Vec<UsePath>) -> usize {
    let mut path = prefix.to_vec();
    let done = |path: Vec<String>, name: Option<&str>, out: &mut Vec<UsePath>| {
        let name = name
            .map(str::to_owned)
            .or_else(|| path.last().cloned())
            .unwrap_or_default();
        out.push(UsePath { path, name });
    };
    loop {
        let Some(t) = tokens.get(i) else { return i };
        match t.text.as_str() {
            "{" => {
                i += 1;
                loop {
                    match tokens.get(i).map(|t| t.text.as_str()) {
                        None => return i,
                        Some("}") => return i + 1,
                        Some(",") => i += 1,
                        Some(_) => i = use_tree(tokens, i, &path, out),
                    }
                }
            }
            "self" if !path.is_empty() => {
                done(path, None, out);
                return i + 1;
            }
            "::" => i += 1,
            "as" => {
                let alias = tokens.get(i + 1).map(|t| t.text.as_str());
                done(path, alias, out);
                return i + 2;
            }
            "," | "}" | ";" => {
                done(path, None, out);
                return i;
            }
            word => {
                path.push(word.to_owned());
                i += 1;
            }
        }
    }
}

/// Whether the attributes right before `tokens[k]` include `#[cfg(test)]` (the `#` is not a
/// token, so an attribute reads `[ … ]`).
fn cfg_test_before(tokens: &[Token], k: usize) -> bool {
    let mut end = k;
    while end > 0 && tokens[end - 1].text == "]" {
        let Some(open) = tokens[..end].iter().rposition(|t| t.text == "[") else {
            return false;
        };
        let inner: Vec<&str> = tokens[open + 1..end - 1]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        if inner == ["cfg", "(", "test", ")"] {
            return true;
        }
        end = open;
    }
    false
}

/// What one file uses, and what it re-exports.
#[derive(Debug, Default)]
struct FileUses {
    /// `(module of the code, path)` for each path outside `#[cfg(test)]` code.
    paths: Vec<(Vec<String>, Vec<String>)>,
    /// Names its top-level `pub use` brings in, with their paths (relative to the file).
    reexports: Vec<UsePath>,
    /// Submodules declared `#[cfg(test)] mod name;`.
    test_modules: Vec<String>,
}

/// Every `use` path and every `crate::…` or `super::…` path in code, outside `#[cfg(test)]`
/// modules.
fn file_uses(rel: &str) -> FileUses {
    let tokens = tokens(&read(rel));
    let module = module_path(rel);
    let mut uses = FileUses::default();
    // Inline modules open at some brace depth: (name, depth, test-only).
    let mut inline: Vec<(String, i32, bool)> = Vec::new();
    let mut depth = 0_i32;
    let mut k = 0;
    while k < tokens.len() {
        let text = tokens[k].text.as_str();
        let in_test = inline.iter().any(|m| m.2);
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|m| m.0.clone()))
            .collect();
        match text {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|m| m.1 == depth) {
                    inline.pop();
                }
            }
            "mod"
                if tokens.get(k + 2).is_some_and(|t| t.text == ";")
                    && cfg_test_before(&tokens, k) =>
            {
                uses.test_modules.push(tokens[k + 1].text.clone());
            }
            "mod" if tokens.get(k + 2).is_some_and(|t| t.text == "{") => {
                let name = tokens[k + 1].text.clone();
                inline.push((name, depth, in_test || cfg_test_before(&tokens, k)));
                depth += 1;
                k += 3;
                continue;
            }
            "use" => {
                let public = k > 0
                    && (tokens[k - 1].text == "pub"
                        || (tokens[k - 1].text == ")"
                            && tokens
                                .get(k.wrapping_sub(4))
                                .is_some_and(|t| t.text == "pub")));
                let mut found = Vec::new();
                k = use_tree(&tokens, k + 1, &[], &mut found);
                if !in_test {
                    if public && inline.is_empty() && depth == 0 {
                        uses.reexports.extend(found.iter().cloned());
                    }
                    uses.paths
                        .extend(found.into_iter().map(|u| (here.clone(), u.path)));
                }
                continue;
            }
            "crate" | "super" if tokens.get(k + 1).is_some_and(|t| t.text == "::") => {
                let mut path = vec![text.to_owned()];
                let mut j = k + 1;
                while tokens.get(j).is_some_and(|t| t.text == "::")
                    && let Some(next) = tokens.get(j + 1)
                    && next
                        .text
                        .starts_with(|c: char| c.is_alphabetic() || c == '_')
                {
                    path.push(next.text.clone());
                    j += 2;
                }
                if !in_test {
                    uses.paths.push((here.clone(), path));
                }
                k = j;
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    uses
}

/// The crate's files and what each uses.
struct Sources {
    files: Vec<String>,
    uses: Vec<FileUses>,
}

impl Sources {
    fn read() -> Sources {
        let files = rust_files(&src_dir());
        let uses = files.iter().map(|f| file_uses(f)).collect();
        Sources { files, uses }
    }

    fn uses_of(&self, rel: &str) -> Option<&FileUses> {
        let i = self.files.iter().position(|f| f == rel)?;
        self.uses.get(i)
    }

    /// The file of a module path, if it has one.
    fn module_file(&self, path: &[String]) -> Option<String> {
        if path.is_empty() {
            return Some("lib.rs".to_owned());
        }
        let joined = path.join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|c| self.files.contains(c))
    }

    /// Test code: files declared `#[cfg(test)] mod name;`, and `*_tests.rs` files (declared
    /// with a `#[path]` the tokens do not show).
    fn is_test_file(&self, rel: &str) -> bool {
        if rel.ends_with("_tests.rs") {
            return true;
        }
        self.files.iter().zip(&self.uses).any(|(parent, uses)| {
            uses.test_modules.iter().any(|name| {
                let mut path = module_path(parent);
                path.push(name.clone());
                self.module_file(&path).as_deref() == Some(rel)
            })
        })
    }

    /// The file that defines what an absolute path names: the file of its longest module
    /// prefix, following that module's `pub use` re-exports of the next segment.
    fn locate(&self, path: &[String], hops: usize) -> String {
        let Some((len, file)) = (0..=path.len())
            .rev()
            .find_map(|len| self.module_file(&path[..len]).map(|f| (len, f)))
        else {
            return "lib.rs".to_owned();
        };
        if hops < 8
            && let Some(item) = path.get(len)
            && let Some(uses) = self.uses_of(&file)
            && let Some(reexport) = uses.reexports.iter().find(|u| &u.name == item)
            && let Some(mut target) = self.resolve(&path[..len], &reexport.path)
        {
            target.extend(path[len + 1..].iter().cloned());
            return self.locate(&target, hops + 1);
        }
        file
    }

    /// The absolute module path of `path` used in module `here`, or `None` for another crate.
    fn resolve(&self, here: &[String], path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        let mut rest = &path[1..];
        let mut base: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => here.to_vec(),
            "super" => {
                let mut base = here.to_vec();
                base.pop();
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base
            }
            _ => {
                // A path relative to this module names one of its submodules.
                let mut candidate = here.to_vec();
                candidate.push(first.clone());
                self.module_file(&candidate)?;
                rest = path;
                here.to_vec()
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The files `rel` uses, each once, sorted. A module's uses of its own submodules (a root
    /// re-exporting a child) do not count: they point down.
    fn deps(&self, rel: &str) -> Vec<String> {
        let module = module_path(rel);
        let Some(uses) = self.uses_of(rel) else {
            return Vec::new();
        };
        let mut deps = Vec::new();
        for (here, path) in &uses.paths {
            let Some(absolute) = self.resolve(here, path) else {
                continue;
            };
            if absolute.starts_with(&module) && absolute.len() > module.len() {
                // Into its own submodules, unless it names an item of this file.
                let own = self.module_file(&absolute[..=module.len()]).is_some();
                if own {
                    continue;
                }
            }
            let target = self.locate(&absolute, 0);
            if target != rel && !deps.contains(&target) && !self.is_test_file(&target) {
                deps.push(target);
            }
        }
        deps.sort();
        deps
    }

    /// The files that are part of the library (not test code).
    fn code_files(&self) -> Vec<String> {
        self.files
            .iter()
            .filter(|f| !self.is_test_file(f))
            .cloned()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The layers and the cycle check.

/// The crate's top-level modules, lowest layer first. A module may use modules of lower layers
/// only. `lib.rs`, `error.rs` and `prelude.rs` re-export from every layer and are not listed.
const LAYERS: &[&[&str]] = &[
    // Foundations: no dependencies inside the crate.
    &["category", "clock", "digest", "http", "location", "config"],
    // Signals in, text handling, accumulated risk.
    &["signal", "text", "risk"],
    // The policy file: thresholds, sections, the message-level decision and the ladder.
    &["policy"],
    // Scoring parts and the per-player drift statistic.
    &["model", "cascade", "trajectory"],
    // Scoring one message; a player's state.
    &["scorer", "player"],
    // Responses; the shared player store.
    &["response", "store"],
    // What happens with a response: hooks, referral packets and delivery, telemetry.
    &["hooks", "referral", "telemetry"],
    // The engine that runs it all.
    &["engine"],
];

/// File cycles left in code another line of work is changing: (file, file it uses).
const CYCLES_ALLOWED: &[(&str, &str)] = &[(
    "text/normalize/confusables_table.rs",
    "text/normalize/confusables.rs",
)];

/// The layer of a file's top-level module; `None` for the facades (`lib.rs`, `error.rs`).
fn layer_of(rel: &str) -> Option<usize> {
    let top = module_path(rel).into_iter().next()?;
    if top == "error" || top == "prelude" {
        return None;
    }
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top.as_str()))
}

#[test]
fn every_module_has_a_layer() {
    let sources = Sources::read();
    let missing: Vec<String> = sources
        .code_files()
        .into_iter()
        .filter(|f| {
            !["lib.rs", "error.rs", "prelude.rs"].contains(&f.as_str()) && layer_of(f).is_none()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files whose top-level module is in no layer of LAYERS: {missing:?}"
    );
}

#[test]
fn modules_use_only_lower_layers() {
    let sources = Sources::read();
    let mut failures = Vec::new();
    for rel in sources.code_files() {
        let Some(layer) = layer_of(&rel) else {
            continue;
        };
        let top = module_path(&rel).into_iter().next().unwrap_or_default();
        for dep in sources.deps(&rel) {
            let dep_top = module_path(&dep).into_iter().next().unwrap_or_default();
            if dep_top == top {
                continue;
            }
            match layer_of(&dep) {
                Some(l) if l < layer => {}
                _ => failures.push(format!(
                    "{rel} ({top}, layer {layer}) uses {dep} ({dep_top}, layer {})",
                    layer_of(&dep).map_or_else(|| "none".to_owned(), |l| l.to_string())
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} import(s) against the layer order:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_file_cycles() {
    let sources = Sources::read();
    let files = sources.code_files();
    let edges: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|f| {
            let deps = sources
                .deps(f)
                .into_iter()
                .filter(|d| !CYCLES_ALLOWED.contains(&(f.as_str(), d.as_str())))
                .collect();
            (f.clone(), deps)
        })
        .collect();
    let deps_of = |f: &str| {
        edges
            .iter()
            .find(|(file, _)| file == f)
            .map(|(_, deps)| deps.clone())
            .unwrap_or_default()
    };
    // Depth-first search; a file met again while still on the path closes a cycle.
    let mut cycles = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for start in &files {
        let mut path: Vec<(String, Vec<String>)> = vec![(start.clone(), deps_of(start))];
        while let Some((file, pending)) = path.last_mut() {
            let Some(next) = pending.pop() else {
                done.push(file.clone());
                path.pop();
                continue;
            };
            if done.contains(&next) {
                continue;
            }
            if let Some(at) = path.iter().position(|(f, _)| *f == next) {
                let cycle: Vec<&str> = path[at..].iter().map(|(f, _)| f.as_str()).collect();
                cycles.push(format!("{} -> {next}", cycle.join(" -> ")));
                continue;
            }
            let deps = deps_of(&next);
            path.push((next, deps));
        }
    }
    assert!(
        cycles.is_empty(),
        "{} file cycle(s):\n{}",
        cycles.len(),
        cycles.join("\n")
    );
}

#[test]
fn imports_are_read_as_written() {
    let src = "use crate::a::{b::{self, C}, d as e};\nuse super::f::*;\n\
               fn g() { crate::h::i(); }\n#[cfg(test)]\nmod tests { use crate::j::K; }\n";
    let toks = tokens(src);
    let mut found = Vec::new();
    use_tree(&toks, 1, &[], &mut found);
    let paths: Vec<String> = found.iter().map(|u| u.path.join("::")).collect();
    assert_eq!(paths, ["crate::a::b", "crate::a::b::C", "crate::a::d"]);
    assert_eq!(found[2].name, "e");
    let mut inline = FileUses::default();
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate() {
        depth += i32::from(t.text == "{") - i32::from(t.text == "}");
        if t.text == "mod" {
            assert!(cfg_test_before(&toks, k), "at depth {depth}");
            inline.test_modules.push(toks[k + 1].text.clone());
        }
    }
    assert_eq!(inline.test_modules, ["tests"]);
}

// ---------------------------------------------------------------------------------------------
// `error.rs` holds every public error.

#[test]
fn error_rs_reexports_every_public_error() {
    let sources = Sources::read();
    let error_rs = tokens(&read("error.rs"));
    let mut missing = Vec::new();
    for rel in sources.code_files() {
        let toks = tokens(&read(&rel));
        for w in toks.windows(3) {
            let is_type = w[0].text == "pub" && (w[1].text == "enum" || w[1].text == "struct");
            if is_type
                && w[2].text.ends_with("Error")
                && !error_rs.iter().any(|t| t.text == w[2].text)
            {
                missing.push(format!("{rel}:{}: {}", w[2].line, w[2].text));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "public errors not re-exported by error.rs:\n{}",
        missing.join("\n")
    );
}
