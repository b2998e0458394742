//! Every doc example of the library crates compiles in a project that depends on that
//! crate alone: its `use` lines name only the crate itself (and its re-exports: `initlab_init::ndarray`,
//! `initlab_nn::init`, ...) or `std`. rustdoc compiles the examples with the crate's
//! dev-dependencies in reach, so it cannot see an example that names another crate.

use std::path::Path;

/// The root of every `use` line in the doc examples under `crate_dir/src`, subfolders
/// included, with its file.
fn doc_uses(crate_dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(crate_dir)
        .join("src");
    let mut found = Vec::new();
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for path in files {
        let mut in_example = false;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let doc = line.trim_start();
            let Some(text) = doc.strip_prefix("///").or_else(|| doc.strip_prefix("//!")) else {
                in_example = false;
                continue;
            };
            let text = text.trim_start();
            if text.starts_with("```") {
                // A fence opens an example unless it names another language.
                let language = text.trim_start_matches('`');
                in_example = !in_example
                    && (matches!(language, "" | "rust") || language.starts_with("rust,"));
                continue;
            }
            let code = text.trim_start_matches("# ");
            if !in_example {
                continue;
            }
            if let Some(used) = code.strip_prefix("use ") {
                let root = used
                    .split([':', ';', ' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_owned();
                found.push((path.display().to_string(), root));
            }
        }
    }
    found
}

#[test]
fn doc_examples_name_only_their_own_crate() {
    for (dir, own) in [
        ("crates/init", "initlab_init"),
        ("crates/nn", "initlab_nn"),
        ("crates/gemm", "initlab_gemm"),
    ] {
        let uses = doc_uses(dir);
        assert!(!uses.is_empty(), "{dir}: no doc example found");
        for (file, root) in uses {
            assert!(
                root == own || root == "std",
                "{file}: a doc example uses `{root}`; go through `{own}`'s re-exports so it compiles with `{own}` alone"
            );
        }
    }
}
