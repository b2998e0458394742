//! A small grid of runs, and the checks that a sharded, resumed or scheduled run of it
//! gives the single run's results.

use std::path::Path;

use super::{TIMING, initlab, results_csv_without_timing, stdout_of_success};

/// Twelve runs of a few tenths of a second each on one thread: long enough to kill a shard
/// between two of its runs.
pub const GRID: &str = r#"
[dataset]
kind = "spirals"
samples = 1000
classes = 2
seed = 0

[[arch]]
depth = 6
width = 32
activation = "tanh"

[[arch]]
depth = 2
width = 16
activation = "relu"

[train]
inits = ["small_normal", "glorot_uniform", "he_normal"]
optimizer = "adam"
lr = 0.003
epochs = 150
batch_size = 64
seeds = [0, 1]
target_accuracy = 0.95
"#;

/// Runs `initlab run CONFIG --quiet --out DIR/OUT EXTRA…` and returns its output.
pub fn run(dir: &Path, config: &Path, out: &str, extra: &[&str]) -> String {
    let out = dir.join(out).display().to_string();
    let config = config.display().to_string();
    stdout_of_success(initlab(
        &[&["run", &config, "--quiet", "--out", &out][..], extra].concat(),
    ))
}

/// The bytes of `path`, or a panic naming it.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `results.json` without the lines of its timing fields.
pub fn results_json_without_timing(dir: &Path) -> String {
    String::from_utf8(read(&dir.join("results.json")))
        .unwrap()
        .lines()
        .filter(|line| !TIMING.iter().any(|t| line.contains(&format!("\"{t}\""))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything an unsharded run writes that does not depend on time or on the command
/// line: results without timing, the loss curves and every figure.
pub fn assert_same_results(single: &Path, merged: &Path) {
    assert_eq!(
        results_json_without_timing(single),
        results_json_without_timing(merged)
    );
    assert_eq!(
        results_csv_without_timing(single),
        results_csv_without_timing(merged)
    );
    let mut figures = 0;
    for entry in std::fs::read_dir(single).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name == "curves.csv" || name.ends_with(".png") {
            assert!(
                read(&single.join(&name)) == read(&merged.join(&name)),
                "{name} differs"
            );
            figures += 1;
        }
    }
    assert!(figures > 4, "{figures} files compared");
}

/// How many runs are recorded in a shard folder's `runs/` so far.
pub fn records(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("runs")).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count()
    })
}
