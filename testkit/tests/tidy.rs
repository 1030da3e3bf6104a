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

/// The server library's top-level modules and which others each one's
/// library code names (`crate::other`).
fn server_module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let src = repo_root().join("core-server/src");
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(&src)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let path = entry.path();
        let name = path.file_stem().map(|n| n.to_string_lossy().into_owned());
        match name {
            Some(n)
                if n != "lib" && (path.is_dir() || path.extension().is_some_and(|e| e == "rs")) =>
            {
                modules.insert(n);
            }
            _ => {}
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let Ok(relative) = file.strip_prefix(&src) else {
            continue;
        };
        let Some(first) = relative.components().next() else {
            continue;
        };
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if !modules.contains(&module) || is_test_file(relative) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let lib = library_part(&text);
        for (at, _) in lib.match_indices("crate::") {
            let rest = &lib[at + "crate::".len()..];
            let used: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if used != module && modules.contains(&used) {
                graph.entry(module.clone()).or_default().insert(used);
            }
        }
    }
    graph
}

#[test]
fn the_server_modules_have_no_import_cycles() {
    let graph = server_module_graph();
    // Depth-first search; a module met again while on the path closes a cycle.
    fn visit(
        module: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_string());
            cycles.push(cycle.join(" -> "));
            return;
        }
        if !done.insert(module.to_string()) {
            return;
        }
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done, cycles);
        }
        path.pop();
    }
    let (mut done, mut cycles) = (Default::default(), Vec::new());
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(
        cycles.is_empty(),
        "import cycles between core-server modules:\n{}",
        cycles.join("\n")
    );
    assert!(
        graph.contains_key("service"),
        "the graph was read: {graph:?}"
    );
}
