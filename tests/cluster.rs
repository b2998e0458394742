//! The cluster recipes against real schedulers: `docs/cluster/slurm.sh` submitted to a
//! running Slurm, one array task requeued midway, and the GNU parallel one-liners of the
//! guide run with Debian's `parallel`. Each merged result must equal the single-process run.
//!
//! These need the schedulers installed and Slurm's daemons running, so they are ignored in
//! `cargo test`; `scripts/check-cluster.sh` (part of `.ci/run`) installs what is missing,
//! starts a one-node Slurm on loopback, runs them with `--ignored`, and stops the daemons.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::grid::{GRID, assert_same_results, read, records, run};
use common::{scratch, stdout_of_success};

/// `program args…`, which must exist and succeed; its standard output.
fn succeed(program: &str, args: &[&str]) -> String {
    let output: Output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/check-cluster.sh installs it)"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `field` of a Slurm job as `scontrol show job` prints it (`JobState`, `Restarts`…).
fn job_field(job: &str, field: &str) -> String {
    let shown = succeed("scontrol", &["show", "job", job]);
    shown
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{field}=")))
        .unwrap_or_else(|| panic!("no {field} in: {shown}"))
        .to_owned()
}

/// Waits until `done` holds, checking every 2 ms, or panics after `limit` saying `what`.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
#[ignore = "needs a running Slurm: scripts/check-cluster.sh starts one and runs this"]
fn slurm_runs_the_recipe_requeues_a_task_and_merges_after_ok() {
    assert!(
        std::env::var_os("SLURM_CONF").is_some(),
        "SLURM_CONF is not set: run scripts/check-cluster.sh, which starts a Slurm for this"
    );
    let dir = scratch("slurm");
    let config = dir.join("grid.toml");
    // Longer runs than the shard tests': a requeue must land between two of a task's runs.
    std::fs::write(&config, GRID.replace("epochs = 150", "epochs = 400")).unwrap();
    run(&dir, &config, "single", &[]);

    let out = dir.join("slurm");
    let submitted = stdout_of_success(
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cluster/slurm.sh"))
            .args([config.display().to_string(), out.display().to_string()])
            .arg("3")
            .env("INITLAB", env!("CARGO_BIN_EXE_initlab"))
            .output()
            .unwrap(),
    );
    // "submitted shards as job array 12, the merge as job 13: results in …"
    let ids: Vec<&str> = submitted
        .split([' ', ':', ','])
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let [array, merge] = ids[..] else {
        panic!("no job ids in: {submitted}")
    };

    // Task 1 is requeued, as a preempting scheduler would, once its first run is recorded.
    let task = format!("{array}_1");
    let shard = out.join("shard-1");
    wait_for("task 1's first record", Duration::from_secs(300), || {
        records(&shard) > 0
    });
    succeed("scontrol", &["requeue", &task]);
    // Slurm holds a requeued job back for two minutes; a user in a hurry releases it so.
    wait_for("the requeue", Duration::from_secs(60), || {
        job_field(&task, "Restarts") == "1" && job_field(&task, "JobState") == "PENDING"
    });
    succeed(
        "scontrol",
        &["update", &format!("JobId={task}"), "StartTime=now"],
    );

    wait_for("the merge job", Duration::from_secs(600), || {
        let state = job_field(merge, "JobState");
        assert!(
            ["PENDING", "RUNNING", "COMPLETING", "COMPLETED"].contains(&state.as_str()),
            "merge job {merge} is {state}: {}",
            String::from_utf8_lossy(&read(&out.join("logs/merge.log")))
        );
        state == "COMPLETED"
    });
    for index in 0..3 {
        assert_eq!(
            job_field(&format!("{array}_{index}"), "JobState"),
            "COMPLETED"
        );
    }
    let log = String::from_utf8(read(&out.join("logs/shard-1.log"))).unwrap();
    let resumed = log
        .split(" already done")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("the requeued task did not resume: {log}"));
    assert!(
        (1..4).contains(&resumed),
        "requeued after {resumed} of its 4 runs: {log}"
    );
    assert_same_results(&dir.join("single"), &out.join("merged"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The GNU parallel commands of the cluster guide, with `initlab` at this build's binary.
fn parallel_commands() -> Vec<String> {
    let guide = String::from_utf8(read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide/clusters.md"),
    ))
    .unwrap();
    guide
        .split("```")
        .skip(1)
        .step_by(2)
        .filter(|block| block.contains("parallel "))
        .map(|block| {
            block
                .trim_start_matches("sh\n")
                .replace("\\\n", " ")
                .replace("initlab ", &format!("{} ", env!("CARGO_BIN_EXE_initlab")))
        })
        .collect()
}

#[test]
#[ignore = "needs GNU parallel: scripts/check-cluster.sh installs it and runs this"]
fn gnu_parallel_runs_the_guides_one_liners() {
    let commands = parallel_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    let dir = scratch("parallel");
    let config = dir.join("experiment.toml");
    std::fs::write(&config, GRID.replace("epochs = 150", "epochs = 2")).unwrap();
    run(&dir, &config, "single", &[]);
    for (i, command) in commands.iter().enumerate() {
        // The ssh one-liner runs in the shared folder on the hosts it names; here the
        // folder is this test's and every host is the local one (`:`).
        let (_, rest) = command
            .split_once("parallel -S ")
            .unwrap_or_else(|| panic!("no `parallel -S` in {command}"));
        let (logins, rest) = rest.split_once(' ').unwrap();
        let local = format!("parallel -S 2/: {rest}");
        assert!(
            logins == "2/:" || logins.contains(','),
            "unexpected logins {logins}"
        );
        let grid = dir.join(format!("grid-{i}"));
        std::fs::create_dir_all(&grid).unwrap();
        std::fs::copy(&config, grid.join("experiment.toml")).unwrap();
        let output = Command::new("bash")
            .args(["-c", &local])
            .current_dir(&grid)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{local}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_same_results(&dir.join("single"), &grid.join("merged"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
