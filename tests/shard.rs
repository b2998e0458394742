//! Sharded and resumed grids give the results of one uninterrupted run: three shard
//! processes, one of them killed midway and resumed, merged, against the single run, byte
//! for byte apart from the timing columns; and merge refuses sets that are not one grid.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::grid::{GRID, assert_same_results, read, records, run};
use common::{initlab, scratch, stderr_of_failure, stdout_of_success};

#[test]
fn three_shards_one_killed_and_resumed_merge_to_the_single_run() {
    let dir = scratch("shards");
    let config = dir.join("grid.toml");
    std::fs::write(&config, GRID).unwrap();
    run(&dir, &config, "single", &[]);
    for shard in ["0/3", "2/3"] {
        let stdout = run(
            &dir,
            &config,
            &shard.replace('/', "of"),
            &["--shard", shard],
        );
        assert!(
            stdout.contains(&format!("shard {shard} holds 4")),
            "{stdout}"
        );
    }
    // Shard 1 on one thread, killed once its first run is recorded.
    let killed = dir.join("1of3");
    let mut child = Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args(["run", &config.display().to_string(), "--shard", "1/3"])
        .args(["--quiet", "--out", &killed.display().to_string()])
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while records(&killed) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no run recorded"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let recorded = records(&killed);
    assert!(
        (1..4).contains(&recorded) && !killed.join("shard.json").exists(),
        "killed after {recorded} of 4 runs"
    );
    // Unfinished, the shard is refused by merge, naming what to do.
    let shards: Vec<String> = ["0of3", "1of3", "2of3"]
        .iter()
        .map(|s| dir.join(s).display().to_string())
        .collect();
    let merged = dir.join("merged").display().to_string();
    let refused = stderr_of_failure(initlab(
        &[
            &["merge", &merged][..],
            &shards.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    ));
    assert!(refused.contains("never finished"), "{refused}");
    let resumed = run(&dir, &config, "1of3", &["--shard", "1/3"]);
    assert!(
        resumed.contains(&format!("{recorded} already done")),
        "{resumed}"
    );
    assert!(
        !killed.join("runs").exists(),
        "records left after publishing"
    );
    // A rerun of a finished shard runs nothing.
    let again = run(&dir, &config, "1of3", &["--shard", "1/3"]);
    assert!(
        again.contains("4 already done") && again.contains("0 to run"),
        "{again}"
    );
    let stdout = stdout_of_success(initlab(
        &[
            &["merge", &merged, "--quiet"][..],
            &shards.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    ));
    assert!(stdout.contains("12 runs"), "{stdout}");
    assert_same_results(&dir.join("single"), &dir.join("merged"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Copies the shard folder `from` to `to`, with `edit` applied to its `shard.json`.
fn copy_shard(from: &Path, to: &Path, edit: impl Fn(&mut serde_json::Value)) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    let path = to.join("shard.json");
    let mut shard: serde_json::Value = serde_json::from_slice(&read(&path)).unwrap();
    edit(&mut shard);
    std::fs::write(&path, serde_json::to_vec_pretty(&shard).unwrap()).unwrap();
}

#[test]
fn merge_refuses_sets_that_are_not_one_grid_and_names_the_runs() {
    let dir = scratch("merge-refusals");
    let config = dir.join("grid.toml");
    let quick = GRID.replace("epochs = 150", "epochs = 2");
    std::fs::write(&config, &quick).unwrap();
    for shard in ["0/2", "1/2"] {
        run(
            &dir,
            &config,
            &shard.replace('/', "of"),
            &["--shard", shard],
        );
    }
    let other = dir.join("other.toml");
    std::fs::write(&other, quick.replace("seed = 0", "seed = 1")).unwrap();
    run(&dir, &other, "other0of2", &["--shard", "0/2"]);
    run(&dir, &config, "0of3", &["--shard", "0/3"]);
    let path = |name: &str| -> PathBuf { dir.join(name) };
    copy_shard(&path("1of2"), &path("rebuilt"), |s| {
        s["identity"]["build"] = "initlab 0.1.0 0123456789ab".into();
    });
    copy_shard(&path("1of2"), &path("zen"), |s| {
        s["identity"]["blas_core"] = "Zen".into();
    });
    let merge = |shards: &[&str]| {
        let out = path("merged").display().to_string();
        let shards: Vec<String> = shards
            .iter()
            .map(|s| path(s).display().to_string())
            .collect();
        let args: Vec<&str> = ["merge", out.as_str()]
            .into_iter()
            .chain(shards.iter().map(String::as_str))
            .collect();
        stderr_of_failure(initlab(&args))
    };
    for (shards, expected) in [
        (
            &["0of2"][..],
            "the shards hold 6 of the grid's 12 runs; missing runs 1 (",
        ),
        (&["0of2", "0of2"][..], "is given twice"),
        (&["0of2", "other0of2"][..], "experiment file"),
        (&["0of2", "rebuilt"][..], "build"),
        (&["0of2", "zen"][..], "BLAS core"),
        (&["0of2", "0of3"][..], "of a 3-way split"),
        (&["0of2", "grid.toml"][..], "has no shard.json"),
    ] {
        let error = merge(shards);
        assert!(error.contains(expected), "{shards:?}: {error}");
        assert!(!path("merged").exists(), "{shards:?} wrote a merge");
    }
    let error = stderr_of_failure(initlab(&[
        "merge",
        "--out",
        &path("elsewhere").display().to_string(),
        &path("merged").display().to_string(),
        &path("0of2").display().to_string(),
        &path("1of2").display().to_string(),
    ]));
    assert!(
        error.contains("`--out`") && error.contains("first argument"),
        "{error}"
    );
    // Another grid's published set is replaced, as any set of its kind is; another grid's
    // unfinished records are refused until --fresh discards them.
    let replaced = run(&dir, &other, "0of2", &["--shard", "0/2"]);
    assert!(!replaced.contains("already done"), "{replaced}");
    let shard: serde_json::Value = serde_json::from_slice(&read(&path("1of2/shard.json"))).unwrap();
    let results: serde_json::Value =
        serde_json::from_slice(&read(&path("1of2/results.json"))).unwrap();
    let record = serde_json::json!({
        "identity": shard["identity"],
        "index": shard["runs"][0],
        "result": results[0],
    });
    std::fs::create_dir_all(path("0of2/runs")).unwrap();
    std::fs::write(
        path("0of2/runs/000001.json"),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    let error = stderr_of_failure(initlab(&[
        "run",
        &other.display().to_string(),
        "--shard",
        "0/2",
        "--quiet",
        "--out",
        &path("0of2").display().to_string(),
    ]));
    assert!(
        error.contains("another, unfinished grid") && error.contains("--fresh"),
        "{error}"
    );
    let fresh = run(&dir, &other, "0of2", &["--shard", "0/2", "--fresh"]);
    assert!(!fresh.contains("already done"), "{fresh}");
    assert!(!path("0of2/runs").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shard_from_env_reads_slurm_and_kubernetes_variables() {
    let dir = scratch("shard-env");
    let config = dir.join("grid.toml");
    std::fs::write(&config, GRID.replace("epochs = 150", "epochs = 1")).unwrap();
    for (vars, expected) in [
        (
            &[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ][..],
            "shard 2/3 holds",
        ),
        (
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
            ][..],
            "shard 0/4 holds",
        ),
        (
            &[("JOB_COMPLETION_INDEX", "1"), ("JOB_COMPLETIONS", "2")][..],
            "shard 1/2 holds",
        ),
    ] {
        let out = dir.join(expected.replace(['/', ' '], "_"));
        let output = Command::new(env!("CARGO_BIN_EXE_initlab"))
            .args(["run", &config.display().to_string(), "--shard-from-env"])
            .args(["--quiet", "--out", &out.display().to_string()])
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        let stdout = stdout_of_success(output);
        assert!(stdout.contains(expected), "{vars:?}: {stdout}");
    }
    let error = stderr_of_failure(
        Command::new(env!("CARGO_BIN_EXE_initlab"))
            .args(["run", &config.display().to_string(), "--shard-from-env"])
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .output()
            .unwrap(),
    );
    assert!(error.contains("SLURM_ARRAY_TASK_ID"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The lines under `args:` in a Kubernetes manifest: one shell command per Job.
fn k8s_commands(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim() == "args:")
        .map(|w| w[1].trim().trim_start_matches("- ").to_owned())
        .collect()
}

/// The value of the environment variable `name` set in a Kubernetes manifest.
fn k8s_env(yaml: &str, name: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("- name: {name}"))
        .unwrap_or_else(|| panic!("{name} is not set"));
    lines[at + 1]
        .trim()
        .trim_start_matches("value:")
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// Kubernetes runs here only as a stand-in (no cluster): each Job's command is run with its
/// completion index and the manifest's environment. `scripts/check-cluster.sh` validates
/// the manifest against the API schema, and runs the Slurm and GNU parallel recipes for
/// real (`tests/cluster.rs`).
#[test]
fn the_kubernetes_recipe_runs_a_grid_end_to_end() {
    let dir = scratch("recipes");
    let config = dir.join("experiment.toml");
    std::fs::write(&config, GRID.replace("epochs = 150", "epochs = 2")).unwrap();
    run(&dir, &config, "single", &[]);
    let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cluster");

    // Kubernetes: each completion index of the Indexed Job, then the merge Job, with the
    // shared volume at a scratch folder.
    let yaml = String::from_utf8(read(&recipes.join("k8s-job.yaml"))).unwrap();
    let completions = k8s_env(&yaml, "JOB_COMPLETIONS");
    assert!(
        yaml.contains(&format!("completions: {completions}\n"))
            && yaml.contains(&format!("-eq {completions} ]")),
        "JOB_COMPLETIONS, completions and the merge's count must agree"
    );
    let grid = dir.join("grid");
    std::fs::create_dir_all(&grid).unwrap();
    std::fs::copy(&config, grid.join("experiment.toml")).unwrap();
    let local = |command: &str| {
        command
            .replace("/grid", &grid.display().to_string())
            .replace("initlab ", &format!("{} ", env!("CARGO_BIN_EXE_initlab")))
    };
    let commands = k8s_commands(&yaml);
    assert_eq!(commands.len(), 2, "{commands:?}");
    for index in 0..completions.parse::<usize>().unwrap() {
        let output = Command::new("sh")
            .args(["-c", &local(&commands[0])])
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("JOB_COMPLETIONS", &completions)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap();
        stdout_of_success(output);
    }
    stdout_of_success(
        Command::new("sh")
            .args(["-c", &local(&commands[1])])
            .output()
            .unwrap(),
    );
    assert_same_results(&dir.join("single"), &grid.join("out/merged"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A grid of two short runs, for the kernel tests.
const SMALL_GRID: &str = r#"
[dataset]
kind = "spirals"
samples = 200
classes = 2
seed = 0

[[arch]]
depth = 2
width = 16
activation = "relu"

[train]
inits = ["he_normal"]
optimizer = "adam"
lr = 0.003
epochs = 3
batch_size = 64
seeds = [0, 1]
"#;

#[test]
fn shards_keep_their_gemm_kernel_through_rerun_and_merge() {
    let cpu = initlab_gemm::CpuFeatures::detect();
    let Ok(packed) = initlab_gemm::Kernel::parse("packed", cpu) else {
        eprintln!("this CPU cannot run the packed kernel: not checked");
        return;
    };
    let dir = scratch("shard-kernel");
    let config = dir.join("grid.toml");
    std::fs::write(&config, SMALL_GRID).unwrap();
    for shard in ["0/2", "1/2"] {
        run(
            &dir,
            &config,
            &shard.replace('/', "of"),
            &["--shard", shard, "--gemm", "packed"],
        );
    }
    // Rerun into a shard's folder on another kernel: its runs are trained again, not taken
    // from the packed kernel's set, which the new set replaces whole.
    let shard_kernel = |name: &str| -> String {
        let file: serde_json::Value =
            serde_json::from_slice(&read(&dir.join(name).join("shard.json"))).unwrap();
        file["identity"]["blas_core"].as_str().unwrap().to_owned()
    };
    run(&dir, &config, "0of2", &["--shard", "0/2"]);
    assert!(!shard_kernel("0of2").starts_with("initlab-gemm packed"));
    // Shards of two kernels are not one grid.
    let merged = dir.join("merged").display().to_string();
    let shards = ["0of2", "1of2"].map(|s| dir.join(s).display().to_string());
    let stderr = stderr_of_failure(initlab(&["merge", &merged, &shards[0], &shards[1]]));
    assert!(stderr.contains("initlab-gemm packed"), "{stderr}");
    run(
        &dir,
        &config,
        "0of2",
        &["--shard", "0/2", "--gemm", "packed"],
    );
    // Merged without --gemm, the set still names the kernel its runs ran on.
    stdout_of_success(initlab(&[
        "merge", &merged, &shards[0], &shards[1], "--quiet",
    ]));
    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("merged/manifest.json"))).unwrap();
    let named = manifest["sets"][0]["machine"]["blas_core"]
        .as_str()
        .unwrap();
    let isa = packed.isa().unwrap().name();
    assert!(
        named.starts_with(&format!("initlab-gemm packed {isa} for f32")),
        "{named}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
