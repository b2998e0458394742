//! The `--out` folder holds one complete set of files per kind of output, whatever happens
//! to the runs writing it: killed at any moment, run twice at once, or pointed at a place
//! that cannot hold output.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{initlab, run_experiment, scratch, stderr_of_failure, stdout_of_success};

/// An experiment file training on circles with seed `seed`; `archs` architectures make as
/// many groups of four plots, so that the write phase is a good part of the run.
fn experiment(dir: &Path, seed: u64, archs: usize, epochs: usize) -> PathBuf {
    let arch: String = (0..archs)
        .map(|i| {
            format!(
                "[[arch]]\ndepth = 2\nwidth = {}\nactivation = \"relu\"\n",
                8 + i
            )
        })
        .collect();
    let path = dir.join(format!("seed{seed}.toml"));
    std::fs::write(
        &path,
        format!(
            "[dataset]\nkind = \"circles\"\nsamples = 400\n{arch}[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = {epochs}\nbatch_size = 32\nseeds = [{seed}]\n"
        ),
    )
    .unwrap();
    path
}

/// `initlab run CONFIG --fresh`: each run of these tests is of another grid, and a killed
/// one leaves its finished runs' records, which another grid's run refuses to discard
/// without `--fresh`.
fn spawn_run(config: &Path, out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args([
            "run",
            &config.display().to_string(),
            "--fresh",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Whether `bytes` is a whole PNG file: its signature first and its end chunk last.
fn is_whole_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.ends_with(b"IEND\xae\x42\x60\x82")
}

/// Checks that `out` is empty or holds exactly one complete set of results, and returns the
/// seed of the run that wrote it.
fn seed_of_complete_set(out: &Path) -> Option<u64> {
    let present: BTreeSet<String> = match std::fs::read_dir(out) {
        // A killed run's records of its finished runs stay beside the set, for a rerun.
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "runs")
            .collect(),
        Err(_) => return None,
    };
    if present.is_empty() {
        return None;
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
            .unwrap_or_else(|e| panic!("manifest of {present:?}: {e}"));
    let sets = manifest["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{manifest}");
    let listed: BTreeSet<String> = sets[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .chain(["manifest.json".to_owned()])
        .collect();
    assert_eq!(present, listed, "files present against the manifest");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let mut seeds: BTreeSet<u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spec"]["seed"].as_u64().unwrap())
        .collect();
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let seed_column = header.iter().position(|h| *h == "seed").unwrap();
    for line in csv.lines().skip(1) {
        seeds.insert(line.split(',').nth(seed_column).unwrap().parse().unwrap());
    }
    assert_eq!(
        seeds.len(),
        1,
        "results.csv and results.json disagree: {seeds:?}"
    );
    let seed = seeds.into_iter().next().unwrap();
    let command = sets[0]["command"].as_str().unwrap();
    assert!(command.contains(&format!("seed{seed}.toml")), "{command}");
    for name in present.iter().filter(|n| n.ends_with(".png")) {
        assert!(
            is_whole_png(&std::fs::read(out.join(name)).unwrap()),
            "{name} is not a whole PNG"
        );
    }
    Some(seed)
}

/// Leftover staging folders of `out` beside it.
fn staging_litter(out: &Path) -> Vec<String> {
    let prefix = format!(".{}.staging-", out.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_old_set_or_the_new_one() {
    const ARCHS: usize = 4;
    let dir = scratch("kill");
    let out = dir.join("out");
    stdout_of_success(run_experiment(&experiment(&dir, 100, ARCHS, 1), &out));
    assert_eq!(seed_of_complete_set(&out), Some(100));
    // A run writes 4 plots per architecture and 2 tables into its staging folder, then
    // commits them with the manifest. Each kill waits until `written` files are staged.
    let staged = 4 * ARCHS + 2;
    let mut seen = BTreeSet::from([100]);
    let mut killed_while_writing = 0;
    for written in (0..=staged).chain([staged + 1]) {
        let seed = written as u64;
        let mut child = spawn_run(&experiment(&dir, seed, ARCHS, 1), &out);
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            let ours = format!("staging-{}-", child.id());
            let count = staging_litter(&out)
                .iter()
                .filter(|s| s.contains(&ours))
                .filter_map(|s| std::fs::read_dir(dir.join(s)).ok())
                .map(Iterator::count)
                .max();
            // Past the last file: kill a moment later, in or after the commit.
            if count.is_some_and(|c| c >= written.min(staged)) {
                if written > staged {
                    std::thread::sleep(Duration::from_millis(2));
                }
                break None;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let _ = child.kill();
        let status = finished.unwrap_or_else(|| child.wait().unwrap());
        let found = seed_of_complete_set(&out).expect("a set survives every kill");
        assert!(
            seen.contains(&found) || found == seed,
            "kill at {written} files: the set of seed {found} appeared from nowhere"
        );
        if status.success() {
            assert_eq!(found, seed, "a finished run published its own set");
        } else {
            let ours = format!("staging-{}-", child.id());
            let left: usize = staging_litter(&out)
                .iter()
                .filter(|s| s.contains(&ours))
                .filter_map(|s| std::fs::read_dir(dir.join(s)).ok())
                .map(Iterator::count)
                .sum();
            killed_while_writing += usize::from(0 < left && left < staged);
        }
        seen.insert(found);
    }
    // Not every kill lands where it aimed, but most do: the write phase was really hit.
    assert!(
        killed_while_writing >= 3,
        "{killed_while_writing} kills while writing"
    );
    // The next complete run publishes its set and sweeps the killed runs' staging folders
    // and records.
    let next = spawn_run(&experiment(&dir, 200, ARCHS, 1), &out);
    assert!(next.wait_with_output().unwrap().status.success());
    assert_eq!(seed_of_complete_set(&out), Some(200));
    assert_eq!(staging_litter(&out), Vec::<String>::new());
    assert!(!out.join("runs").exists(), "records left after publishing");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_second_run_into_a_busy_folder_is_refused_at_once() {
    let dir = scratch("busy");
    let out = dir.join("out");
    stdout_of_success(run_experiment(&experiment(&dir, 7, 1, 1), &out));
    // Long enough never to finish on its own.
    let mut first = spawn_run(&experiment(&dir, 8, 1, 1_000_000), &out);
    let deadline = Instant::now() + Duration::from_secs(120);
    while staging_litter(&out).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first run never claimed the folder"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for second in [
        vec![
            "run".to_owned(),
            experiment(&dir, 9, 1, 1).display().to_string(),
        ],
        vec!["signal".to_owned(), "--depth".into(), "2".into()],
    ] {
        let mut args: Vec<&str> = second.iter().map(String::as_str).collect();
        let out_arg = out.display().to_string();
        args.extend(["--quiet", "--out", &out_arg]);
        let stderr = stderr_of_failure(initlab(&args));
        assert!(
            stderr.contains("being written by another initlab run") && stderr.contains("out"),
            "{stderr}"
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(seed_of_complete_set(&out), Some(7));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn each_kind_of_output_replaces_only_its_own_set() {
    let dir = scratch("kinds");
    let out = dir.join("out");
    let out_arg = out.display().to_string();
    let config = experiment(&dir, 3, 1, 1).display().to_string();
    stdout_of_success(initlab(&["run", &config, "--quiet", "--out", &out_arg]));
    let signal = [
        "signal", "--input", "gaussian", "--depth", "2", "--width", "8", "--batch", "16",
    ];
    stdout_of_success(initlab(
        &[&signal[..], &["--quiet", "--out", &out_arg]].concat(),
    ));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = manifest["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["results", "signal"]);
    for file in [
        "results.csv",
        "loss_relu_2x8.png",
        "signal.csv",
        "signal_relu.png",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    // A later run with another architecture leaves no stale plot of the old one.
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("width = 8", "width = 5"),
    )
    .unwrap();
    stdout_of_success(run_experiment(&other, &out));
    assert!(out.join("loss_relu_2x5.png").exists());
    assert!(!out.join("loss_relu_2x8.png").exists());
    assert!(out.join("signal.csv").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unusable_out_folder_is_refused_before_any_work() {
    let dir = scratch("unusable");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let foreign = dir.join("someone-elses");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    // The dataset file does not exist: an error about it would mean data was loaded
    // before the output folder was checked.
    let config = dir.join("missing-data.toml");
    std::fs::write(
        &config,
        "[dataset]\nkind = \"csv\"\npath = \"absent.csv\"\n[[arch]]\ndepth = 1\nwidth = 4\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 1\nbatch_size = 8\nseeds = [0]\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let cases = [
        (file.clone(), "exists and is not a folder"),
        (file.join("below"), "a-file"),
        (foreign.clone(), "notes.txt"),
    ];
    for (out, expected) in cases {
        let out_arg = out.display().to_string();
        for command in [
            vec!["run", config.as_str()],
            vec!["demo", "--epochs", "1"],
            vec!["signal", "--depth", "2"],
            vec!["throughput", "--layers", "4,4,2", "--steps", "1"],
        ] {
            let args = [&command[..], &["--quiet", "--out", &out_arg]].concat();
            let stderr = stderr_of_failure(initlab(&args));
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
            assert!(!stderr.contains("absent.csv"), "{args:?}: {stderr}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_write_to_standard_output_fails_the_run_but_keeps_its_files() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // Not a Linux-like system.
    };
    let dir = scratch("full");
    let out = dir.join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args(["run", &experiment(&dir, 5, 1, 1).display().to_string()])
        .args(["--quiet", "--out"])
        .arg(&out)
        .stdout(full)
        .output()
        .unwrap();
    let stderr = stderr_of_failure(run);
    assert!(
        stderr.contains("standard output") && stderr.contains("No space left"),
        "{stderr}"
    );
    assert_eq!(seed_of_complete_set(&out), Some(5));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_deleted_from_another_set_does_not_lose_the_next_run() {
    let dir = scratch("deleted");
    let out = dir.join("out");
    let signal = [
        "signal", "--input", "gaussian", "--depth", "2", "--width", "8", "--batch", "16",
        "--quiet", "--out",
    ];
    stdout_of_success(initlab(
        &[&signal[..], &[&out.display().to_string()]].concat(),
    ));
    std::fs::remove_file(out.join("signal.csv")).unwrap();
    stdout_of_success(run_experiment(&experiment(&dir, 4, 1, 1), &out));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let signal_files = &manifest["sets"][0]["files"];
    assert!(
        !signal_files.to_string().contains("signal.csv") && out.join("signal.json").exists(),
        "{manifest}"
    );
    assert!(out.join("results.csv").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn png_writes_only_the_named_figures_and_the_manifest_lists_them_all() {
    let dir = scratch("png");
    let out = dir.join("out");
    let out_arg = out.display().to_string();
    let config = experiment(&dir, 3, 1, 1).display().to_string();
    let run = |png: &str| {
        initlab(&[
            "run", &config, "--quiet", "--fresh", "--out", &out_arg, "--png", png,
        ])
    };
    let pngs = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".png"))
            .collect();
        names.sort();
        names
    };
    let output = run("loss_relu_2x8,no_such_figure");
    assert!(output.status.success());
    assert_eq!(pngs(), ["loss_relu_2x8.png"]);
    // A name no figure has is reported with the figures there are; the set is kept.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no figure named no_such_figure") && stderr.contains("accuracy_relu_2x8"),
        "{stderr}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let figures = manifest["sets"][0]["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 4, "{figures:?}");
    assert!(figures.iter().any(|f| f == "accuracy_relu_2x8"));

    stdout_of_success(run("none"));
    assert!(pngs().is_empty());
    stdout_of_success(run("all"));
    assert_eq!(pngs().len(), 4);
    let error = stderr_of_failure(run("../elsewhere"));
    assert!(error.contains("--png"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_curves_csv_leaves_the_table_out_and_results_json_keeps_the_curves() {
    let dir = scratch("no-curves-csv");
    let out = dir.join("out");
    let out_arg = out.display().to_string();
    let config = experiment(&dir, 3, 1, 1).display().to_string();
    stdout_of_success(initlab(&[
        "run",
        &config,
        "--quiet",
        "--out",
        &out_arg,
        "--png",
        "none",
        "--no-curves-csv",
    ]));
    assert!(!out.join("curves.csv").exists());
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!manifest.contains("curves.csv"), "{manifest}");
    assert!(
        manifest.contains("--no-curves-csv"),
        "the command says so: {manifest}"
    );
    let runs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert!(
        runs.iter()
            .all(|r| !r["loss_curve"]["points"].as_array().unwrap().is_empty())
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn results_keep_per_epoch_diagnostics_only_when_asked() {
    let dir = scratch("diagnose-epochs");
    let lean = experiment(&dir, 4, 1, 2);
    let text = std::fs::read_to_string(&lean).unwrap();
    let asked = dir.join("asked.toml");
    std::fs::write(
        &asked,
        text.replace("[train]\n", "[train]\ndiagnose_epochs = true\n"),
    )
    .unwrap();
    for (config, epochs_probed) in [(&lean, 0), (&asked, 2)] {
        let out = dir.join(format!("out{epochs_probed}"));
        stdout_of_success(run_experiment(config, &out));
        let text = std::fs::read_to_string(out.join("results.json")).unwrap();
        let runs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        // One run per line.
        assert_eq!(text.lines().count(), runs.len() + 2, "{text}");
        for run in &runs {
            let probes = run.get("during_training").and_then(|d| d.as_array());
            assert_eq!(probes.map_or(0, Vec::len), epochs_probed, "{run}");
            assert!(!run["at_init"].as_array().unwrap().is_empty());
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_csv_rows_of_a_learning_rate_sweep_say_their_learning_rate() {
    let dir = scratch("lr-columns");
    let path = dir.join("sweep.toml");
    std::fs::write(
        &path,
        "[dataset]\nkind = \"circles\"\nsamples = 200\n[[arch]]\ndepth = 1\nwidth = 4\nactivation = \"relu\"\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlrs = [0.1, 0.2]\nparametrizations = [\"standard\", \"mup\"]\nbase_width = 2\nepochs = 1\nbatch_size = 16\nseeds = [0]\n",
    )
    .unwrap();
    let out = dir.join("out");
    stdout_of_success(run_experiment(&path, &out));
    for (file, header) in [
        ("results.csv", "network,init,lr,parametrization,seed,epoch,"),
        (
            "curves.csv",
            "network,init,lr,parametrization,seed,step,train_loss",
        ),
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(text.starts_with(header), "{file}: {text}");
        // Four runs, one seed: the run columns tell every one apart.
        let runs: BTreeSet<String> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect();
        let expected: BTreeSet<String> = [
            "relu 1x4,he_normal,0.1,standard,0",
            "relu 1x4,he_normal,0.2,standard,0",
            "relu 1x4,he_normal,0.1,mup (base 2),0",
            "relu 1x4,he_normal,0.2,mup (base 2),0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(runs, expected, "{file}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
