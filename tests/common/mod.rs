//! Running the `initlab` binary from the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod grid;

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `initlab` with `args` to completion.
pub fn initlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The standard output of a run that must have succeeded (else its standard error).
pub fn stdout_of_success(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The standard error of a run that must have failed cleanly: non-zero exit, one
/// `initlab: ` message, no panic.
pub fn stderr_of_failure(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded; stderr: {stderr}");
    assert!(stderr.starts_with("initlab: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A fresh folder for one test, unique to this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("initlab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `initlab run CONFIG --quiet --out OUT` to completion.
pub fn run_experiment(config: &std::path::Path, out: &std::path::Path) -> Output {
    initlab(&[
        "run",
        &config.display().to_string(),
        "--quiet",
        "--out",
        &out.display().to_string(),
    ])
}

/// The fields and columns of a run's results that hold time, which no two runs share.
pub const TIMING: [&str; 3] = ["wall_seconds", "samples_per_second", "gflops"];

/// `results.csv` in `dir` without its timing columns.
pub fn results_csv_without_timing(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !TIMING.contains(&header[i]))
        .collect();
    assert_eq!(keep.len(), header.len() - TIMING.len(), "{header:?}");
    text.lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            keep.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
