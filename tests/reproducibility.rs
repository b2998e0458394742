//! The same command gives the same numbers on 1 and 2 threads, end to end: results.csv is
//! byte-identical apart from its timing columns.

mod common;

use std::process::Command;

use common::scratch;

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = scratch("threads");
    let config = dir.join("grid.toml");
    std::fs::write(
        &config,
        "[dataset]\nkind = \"spirals\"\nsamples = 600\n[[arch]]\ndepth = 4\nwidth = 160\nactivation = \"relu\"\n[[arch]]\ndepth = 3\nwidth = 32\nactivation = \"tanh\"\n[train]\ninits = [\"he_normal\", \"orthogonal\", \"lsuv\"]\noptimizer = \"momentum\"\nlr = 0.05\nepochs = 3\nbatch_size = 300\nseeds = [0, 1]\n",
    )
    .unwrap();
    let csv_on = |threads: &str| {
        let out = dir.join(format!("out{threads}"));
        let run = Command::new(env!("CARGO_BIN_EXE_initlab"))
            .args(["run", &config.display().to_string(), "--quiet", "--out"])
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        common::results_csv_without_timing(&out)
    };
    let (one, two) = (csv_on("1"), csv_on("2"));
    assert!(one.lines().count() > 30, "{one}");
    assert_eq!(one, two);
    std::fs::remove_dir_all(dir).unwrap();
}
