//! Numbers that parse but no machine could honour are refused with the flag or key that
//! asked for them, before anything is allocated; and a batch larger than the data costs
//! what the data does.

mod common;

use std::path::Path;

use common::{
    initlab, results_csv_without_timing, run_experiment, scratch, stderr_of_failure,
    stdout_of_success,
};

#[test]
fn huge_counts_are_refused_naming_the_flag() {
    let dir = scratch("huge");
    let out = dir.join("out").display().to_string();
    let cases: [(&[&str], &str); 9] = [
        (&["demo", "--seeds", "18446744073709551615"], "`--seeds`"),
        (&["demo", "--depth", "2000000000000"], "`--depth`"),
        (
            &["demo", "--width", "1000000", "--depth", "2"],
            "relu 2x1000000",
        ),
        (
            &["signal", "--width", "1000000"],
            "`depth, width and batch`",
        ),
        (
            &["signal", "--input", "gaussian", "--batch", "100000000000"],
            "`--batch x --input-width`",
        ),
        (
            &[
                "throughput",
                "--batch",
                "4294967296",
                "--steps",
                "4294967296",
            ],
            "`--batch x --steps`",
        ),
        (
            &[
                "throughput",
                "--layers",
                "4,1000000,2",
                "--batch",
                "1000000",
            ],
            "`--layers, --batch and --steps`",
        ),
        (&["throughput", "--layers", "3000000000,2,2"], "`--layers`"),
        (
            &[
                "throughput",
                "--layers",
                "4,4,2",
                "--repeats",
                "1000000000",
                "--steps",
                "0",
            ],
            "`--steps`",
        ),
    ];
    for (args, field) in cases {
        let stderr = stderr_of_failure(initlab(&[args, &["--quiet", "--out", &out]].concat()));
        assert!(stderr.contains(field), "{args:?}: {stderr}");
        if !field.contains("depth") && !field.contains("seeds") && !field.contains("--layers`") {
            assert!(
                stderr.contains("memory available")
                    || stderr.contains("fits in 64 bits")
                    || stderr.contains("at least 1"),
                "{args:?}: {stderr}"
            );
        }
    }
    assert!(!Path::new(&out).join("manifest.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn huge_sizes_in_an_experiment_file_are_refused_naming_the_key() {
    let dir = scratch("huge-file");
    let out = dir.join("out").display().to_string();
    for (dataset, arch, expected) in [
        (
            "kind = \"circles\"\nsamples = 1000000000000",
            "depth = 1\nwidth = 4",
            "dataset.samples",
        ),
        (
            "kind = \"blobs\"\ndims = 100000000\nsamples = 100000",
            "depth = 1\nwidth = 4",
            "dataset.dims",
        ),
        (
            "kind = \"blobs\"\nclasses = 100000000",
            "depth = 1\nwidth = 4",
            "`classes`",
        ),
        (
            "kind = \"circles\"",
            "depth = 2\nwidth = 1000000",
            "relu 2x1000000",
        ),
        // A kernel this large unrolls each image into 4e8 x 784 values per thread.
        (
            "kind = \"mnist\"\nsamples = 100",
            "depth = 1\nwidth = 2\nkernel = 20001",
            "relu 1x2 conv20001x20001",
        ),
    ] {
        let path = dir.join("huge.toml");
        std::fs::write(
            &path,
            format!("[dataset]\n{dataset}\n[[arch]]\n{arch}\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 1\nbatch_size = 8\nseeds = [0]\n"),
        )
        .unwrap();
        let stderr = stderr_of_failure(run_experiment(&path, std::path::Path::new(&out)));
        assert!(stderr.contains(expected), "{dataset}: {stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The peak memory a successful `initlab run` reports for `batch_size`, in bytes.
fn peak_memory(dir: &Path, batch_size: usize) -> u64 {
    let path = dir.join(format!("batch{batch_size}.toml"));
    // 2,000 circles: 1,600 training rows.
    std::fs::write(
        &path,
        format!("[dataset]\nkind = \"circles\"\nsamples = 2000\n[[arch]]\ndepth = 3\nwidth = 256\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"adam\"\nlr = 0.001\nepochs = 2\nbatch_size = {batch_size}\nseeds = [0]\n"),
    )
    .unwrap();
    let out = dir.join(format!("out{batch_size}")).display().to_string();
    let stdout = stdout_of_success(run_experiment(&path, std::path::Path::new(&out)));
    let bytes = stdout
        .split("peak memory ")
        .nth(1)
        .and_then(|s| s.split('(').nth(1))
        .and_then(|s| s.split(' ').next())
        .unwrap_or_else(|| panic!("no peak memory in {stdout}"));
    bytes.parse().unwrap()
}

#[test]
fn a_batch_past_the_data_costs_what_the_data_does() {
    let dir = scratch("batch-memory");
    let whole = peak_memory(&dir, 1600);
    let huge = peak_memory(&dir, 100_000);
    assert!(
        huge.abs_diff(whole) * 10 <= whole,
        "peak {huge} bytes at batch 100000 against {whole} at batch 1600"
    );
    // The same training, too: only the timing columns may differ.
    let trained = |b: usize| results_csv_without_timing(&dir.join(format!("out{b}")));
    assert_eq!(trained(1600), trained(100_000));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_largest_batch_size_a_file_can_hold_trains() {
    let dir = scratch("max-batch");
    let path = dir.join("max.toml");
    std::fs::write(
        &path,
        format!("[dataset]\nkind = \"circles\"\n[[arch]]\ndepth = 2\nwidth = 8\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 2\nbatch_size = {}\nseeds = [0]\n", i64::MAX),
    )
    .unwrap();
    let out = dir.join("out").display().to_string();
    let stdout = stdout_of_success(run_experiment(&path, std::path::Path::new(&out)));
    assert!(stdout.contains("| relu 2x8 | he_normal |"), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_network_without_inputs_is_refused_not_a_panic() {
    let dir = scratch("zero-widths");
    let out = dir.join("out").display().to_string();
    for layers in [
        &["--layers", "0,5,2"][..],
        &["--layers", "0,256,10", "--blocks", "2"],
    ] {
        let args = [&["throughput"][..], layers, &["--quiet", "--out", &out]].concat();
        let stderr = stderr_of_failure(initlab(&args));
        assert!(
            stderr.contains("`--layers`") && stderr.contains("an input width of at least 1"),
            "{layers:?}: {stderr}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn more_shards_than_runs_cost_nothing_for_the_empty_ones() {
    // 2^64 - 1 shards (a capacity overflow once) and 2^32 (34 GB once): a shard past the
    // grid's runs has none, and one inside it has its run.
    let dir = scratch("many-shards");
    let config = dir.join("two.toml");
    std::fs::write(
        &config,
        "[dataset]\nkind = \"circles\"\nsamples = 100\n[[arch]]\ndepth = 1\nwidth = 4\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 1\nbatch_size = 16\nseeds = [0, 1]\n",
    )
    .unwrap();
    let config = config.display().to_string();
    for (shard, runs) in [
        ("1/18446744073709551615", 1),
        ("0/4294967296", 1),
        ("4294967295/4294967296", 0),
    ] {
        let out = dir.join(shard.replace('/', "-")).display().to_string();
        let stdout = stdout_of_success(initlab(&[
            "run", &config, "--shard", shard, "--quiet", "--out", &out,
        ]));
        let shard_file: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(Path::new(&out).join("shard.json")).unwrap(),
        )
        .unwrap();
        let mine = shard_file["runs"].as_array().map_or(0, Vec::len);
        assert_eq!(mine, runs, "{shard}: {stdout}\n{shard_file}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_epoch_count_no_history_could_hold_is_refused_before_training() {
    let dir = scratch("huge-epochs");
    let path = dir.join("epochs.toml");
    std::fs::write(
        &path,
        "[dataset]\nkind = \"circles\"\nsamples = 100\n[[arch]]\ndepth = 1\nwidth = 4\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 9223372036854775807\nbatch_size = 16\nseeds = [0]\n",
    )
    .unwrap();
    let stderr = stderr_of_failure(run_experiment(&path, &dir.join("out")));
    assert!(stderr.contains("memory available"), "{stderr}");
    let stderr = stderr_of_failure(initlab(&[
        "demo",
        "--epochs",
        "9223372036854775807",
        "--quiet",
        "--out",
        &dir.join("demo").display().to_string(),
    ]));
    assert!(stderr.contains("memory available"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_address_space_limit_lowers_the_memory_available() {
    // Under `ulimit -v` of 4 GiB, a network estimated at about 14 GiB is refused by the
    // estimate; reading only MemAvailable, it used to start and die in the allocator.
    let dir = scratch("ulimit");
    let out = dir.join("out").display().to_string();
    let script = format!(
        "ulimit -v 4194304 && exec '{}' demo --width 20000 --depth 2 --quiet --out '{out}'",
        env!("CARGO_BIN_EXE_initlab")
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stderr = stderr_of_failure(output);
    assert!(
        stderr.contains("relu 2x20000") && stderr.contains("memory available"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
