//! Style enforced by a machine (after TigerBeetle's `tidy.zig`): no fixed
//! sleeps in tests, no stubs or debug macros in library code, the clock read
//! in one place, no `unwrap()` in the server library, files under 600 lines.

use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;
const CRATES: [&str; 8] = [
    "proto",
    "core-server",
    "cli",
    "client",
    "recipes",
    "testkit",
    "benches",
    "examples",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's lines before its `#[cfg(test)]` module (library code only).
fn library_part(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

fn is_test_file(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "tests")
        || path.file_name().is_some_and(|n| n == "tests.rs")
}

#[test]
fn repository_follows_the_conventions() {
    let root = repo_root();
    let mut problems = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root.join(krate), &mut files);
        for path in files {
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let lines = text.lines().count();
            if lines > MAX_LINES {
                problems.push(format!("{shown}: {lines} lines (limit {MAX_LINES})"));
            }
            let banned_sleep = ["thread", "time"].map(|m| format!("{m}::{}", "sleep"));
            if is_test_file(&path)
                && !shown.contains("tidy.rs")
                && banned_sleep.iter().any(|b| text.contains(b.as_str()))
            {
                problems.push(format!(
                    "{shown}: fixed sleep in a test; wait on a condition instead"
                ));
            }
            if is_test_file(&path) {
                continue;
            }
            let lib = library_part(&text);
            for banned in ["todo", "unimplemented", "dbg"].map(|m| format!("{m}!(")) {
                if lib.contains(banned.as_str()) {
                    problems.push(format!("{shown}: {banned} in library code"));
                }
            }
            if krate == "core-server" {
                if lib.contains(".unwrap()") {
                    problems.push(format!("{shown}: .unwrap() in the server library"));
                }
                if !shown.ends_with("clock.rs")
                    && (lib.contains("Instant::now()") || lib.contains("SystemTime::now()"))
                {
                    problems.push(format!("{shown}: reads the clock outside clock.rs"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "tidy found:\n{}", problems.join("\n"));
}
