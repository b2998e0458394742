//! The committed outputs stay small enough to clone: every file under `docs/` together
//! within 15 MB (what `du -sh docs` shows, give or take its block rounding). Reports draw
//! every figure inline as SVG, so a set keeps as PNG files only the ones a page shows
//! (`--png`), and `results.json` keeps per-epoch diagnostics only when an experiment asks
//! (`diagnose_epochs`).

use std::path::Path;

/// Bytes of every file under `dir`, subfolders included, with the largest few named.
fn sizes(dir: &Path, found: &mut Vec<(u64, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            sizes(&path, found);
        } else {
            found.push((entry.metadata().unwrap().len(), path.display().to_string()));
        }
    }
}

#[test]
fn the_committed_outputs_fit_in_15_megabytes() {
    let mut files = Vec::new();
    sizes(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"),
        &mut files,
    );
    let total: u64 = files.iter().map(|(bytes, _)| bytes).sum();
    files.sort_unstable_by(|a, b| b.cmp(a));
    let largest: Vec<String> = files
        .iter()
        .take(5)
        .map(|(bytes, path)| format!("{path} ({:.1} MB)", *bytes as f64 / 1e6))
        .collect();
    // Under 15 MiB with room for du's rounding of each file up to a 4 KiB block.
    let budget = 15 * 1024 * 1024 - 4096 * files.len() as u64;
    assert!(
        total <= budget,
        "docs/ holds {:.1} MB in {} files, over its budget of {:.1} MB; the largest: {}",
        total as f64 / 1e6,
        files.len(),
        budget as f64 / 1e6,
        largest.join(", ")
    );
}
