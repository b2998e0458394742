//! The numbers of the README and the guide (`docs/guide/`) come from the files committed
//! beside them: the demo table is exactly what `docs/demo/results.json` renders to, and
//! those results say which machine and BLAS kernel produced them.

use initlab_bench::experiment::RunResult;

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The README and every page of the guide (`docs/guide/*.md`), one after the other: where
/// the tables and numbers below may be quoted.
fn pages() -> String {
    let guide = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide");
    let mut paths: Vec<_> = std::fs::read_dir(guide)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    let mut text = read("README.md");
    for path in paths {
        text.push_str("\n\n");
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    text
}

#[test]
fn the_readmes_tables_are_generated_from_the_committed_results() {
    let readme = pages();
    for (folder, command) in [
        ("docs/demo", "cargo run --release -- --out docs/demo"),
        (
            "docs/circles",
            "cargo run --release -- run docs/experiments/circles.toml --out docs/circles",
        ),
        (
            "docs/residual",
            "cargo run --release -- run docs/experiments/residual.toml --out docs/residual",
        ),
        (
            "docs/normalization",
            "cargo run --release -- run docs/experiments/normalization.toml --out docs/normalization",
        ),
        (
            "docs/normalization_adam",
            "cargo run --release -- run docs/experiments/normalization_adam.toml --out docs/normalization_adam",
        ),
        (
            "docs/layernorm_lr",
            "cargo run --release -- run docs/experiments/layernorm_lr.toml --out docs/layernorm_lr",
        ),
        (
            "docs/cnn",
            "cargo run --release -- run docs/experiments/cnn.toml --out docs/cnn",
        ),
        (
            "docs/cnn_residual",
            "cargo run --release -- run docs/experiments/cnn_residual.toml --out docs/cnn_residual",
        ),
        (
            "docs/cnn_depth",
            "cargo run --release -- run docs/experiments/cnn_depth.toml --out docs/cnn_depth",
        ),
    ] {
        let results: Vec<RunResult> =
            serde_json::from_str(&read(&format!("{folder}/results.json"))).unwrap();
        let table = initlab_bench::report::markdown(&results);
        assert!(
            readme.contains(&table),
            "README.md's table differs from {folder}/results.json; regenerate with `{command}` and paste:\n{table}"
        );
    }
}

#[test]
fn the_demo_results_record_their_machine() {
    let manifest: serde_json::Value =
        serde_json::from_str(&read("docs/demo/manifest.json")).unwrap();
    let machine = &manifest["sets"][0]["machine"];
    for key in ["cpu", "blas_core", "blas_config"] {
        assert!(
            machine[key].as_str().is_some_and(|v| !v.is_empty()),
            "docs/demo/manifest.json lacks machine.{key}: {manifest}"
        );
    }
    let readme = read("README.md");
    let core = machine["blas_core"].as_str().unwrap();
    assert!(
        readme.contains(&format!("OPENBLAS_CORETYPE={core}"))
            || readme.contains(&format!("{core} kernels")),
        "the README does not name the BLAS kernel ({core}) of its demo table"
    );
}

#[test]
fn the_demo_prose_quotes_the_committed_first_epoch() {
    let results: Vec<RunResult> = serde_json::from_str(&read("docs/demo/results.json")).unwrap();
    let first_epoch = |init: &str| {
        let run = results
            .iter()
            .find(|r| {
                r.spec.seed == 0
                    && r.spec.init == init
                    && r.spec.arch.activation == initlab_nn::Activation::Relu
            })
            .unwrap_or_else(|| panic!("no relu {init} run with seed 0"));
        100.0 * run.epochs[0].test_accuracy.expect("a classification run")
    };
    let quoted = format!(
        "({:.0}% vs {:.0}% test accuracy for He with seed 0",
        first_epoch("glorot_uniform"),
        first_epoch("he_normal")
    );
    assert!(
        readme_prose().contains(&quoted),
        "README.md should quote {quoted:?} from docs/demo/results.json"
    );
}

/// The README and the guide with every run of whitespace as one space, so prose can wrap
/// anywhere.
fn readme_prose() -> String {
    pages().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_demo_prose_quotes_the_committed_curves() {
    let results: Vec<RunResult> = serde_json::from_str(&read("docs/demo/results.json")).unwrap();
    let relu = |init: &str| -> Vec<&RunResult> {
        results
            .iter()
            .filter(|r| {
                r.spec.init == init && r.spec.arch.activation == initlab_nn::Activation::Relu
            })
            .collect()
    };
    let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len() as f64;
    let loss_at = |init: &str, step: u64| {
        mean(
            relu(init)
                .iter()
                .map(|r| {
                    r.loss_curve
                        .points
                        .iter()
                        .find(|p| p.step == step)
                        .unwrap_or_else(|| panic!("{init} has no point at step {step}"))
                        .train_loss
                })
                .collect(),
        )
    };
    let first_epoch = |init: &str| {
        100.0
            * mean(
                relu(init)
                    .iter()
                    .map(|r| r.epochs[0].test_accuracy.unwrap())
                    .collect(),
            )
    };
    let at_init: Vec<f64> = ["he_normal", "orthogonal", "lsuv"]
        .iter()
        .flat_map(|init| {
            relu(init)
                .into_iter()
                .map(|r| r.loss_curve.points[0].train_loss)
        })
        .collect();
    let (low, high) = at_init
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(l, h), &v| (l.min(v), h.max(v)));
    let quotes = [
        format!("LSUV fall from {low:.1}–{high:.1} at step 0"),
        format!(
            "({:.2}, {:.2} and {:.2}, means over seeds)",
            loss_at("he_normal", 20),
            loss_at("orthogonal", 20),
            loss_at("lsuv", 20)
        ),
        format!(
            "still at {:.2} and {:.2} at step 20",
            loss_at("glorot_uniform", 20),
            loss_at("lecun_normal", 20)
        ),
        format!(
            "reach {:.1}% and {:.1}% test accuracy against {:.1}% for He",
            first_epoch("glorot_uniform"),
            first_epoch("lecun_normal"),
            first_epoch("he_normal")
        ),
        format!(
            "large_normal's loss at step 0 is about 1e{:.0}",
            relu("large_normal")[0].loss_curve.points[0]
                .train_loss
                .log10()
                .floor()
        ),
    ];
    let prose = readme_prose();
    for quote in quotes {
        assert!(
            prose.contains(&quote),
            "README.md should say {quote:?}, from docs/demo/results.json"
        );
    }
}

fn results(folder: &str) -> Vec<RunResult> {
    serde_json::from_str(&read(&format!("{folder}/results.json"))).unwrap()
}

/// `(min, max)` of `f` over the seed-`*` runs of `init` on the architecture whose
/// normalization is `norm`.
fn range_over_seeds(
    runs: &[RunResult],
    inits: &[&str],
    norm: Option<initlab_nn::net::Norm>,
    f: impl Fn(&RunResult) -> f64,
) -> (f64, f64) {
    runs.iter()
        .filter(|r| inits.contains(&r.spec.init.as_str()) && r.spec.arch.norm == norm)
        .map(f)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

#[test]
fn the_residual_and_normalization_prose_quotes_the_committed_results() {
    let prose = readme_prose();
    let second = |l: &initlab_nn::LayerDiagnostics| l.pre_std.powi(2) + l.pre_mean.powi(2);
    let residual = results("docs/residual");
    // Stage 0 is the stem, stage 50 the last block.
    let (lo, hi) = range_over_seeds(&residual, &["he_normal"], None, |r| {
        (second(&r.at_init[50]) / second(&r.at_init[0])).log2()
    });
    let quoted = format!("measured 2^{lo:.1} to 2^{hi:.1}");
    assert!(prose.contains(&quoted), "README.md should say {quoted:?}");
    let batch = Some(initlab_nn::net::Norm::Batch);
    let (lo, hi) = range_over_seeds(&residual, &["he_normal"], batch, |r| {
        (second(&r.at_init[50]) - second(&r.at_init[0])) / 50.0
    });
    let quoted = format!("measured {lo:.2} to {hi:.2} per block");
    assert!(prose.contains(&quoted), "README.md should say {quoted:?}");
    let (lo, hi) = range_over_seeds(&residual, &["he_normal"], batch, |r| {
        second(&r.at_init[50]) / second(&r.at_init[0])
    });
    assert!(
        prose.contains(&format!("({:.0}× over 50 blocks", lo))
            && format!("{lo:.0}") == format!("{hi:.0}"),
        "README.md's growth over 50 blocks should be {lo:.1} to {hi:.1}"
    );
    // A least-squares line through ln(gradient variance) against the layer.
    let rate = |r: &RunResult| {
        let g: Vec<f64> = r.at_init[..r.at_init.len() - 1]
            .iter()
            .map(|l| l.backprop_grad_std.powi(2).ln())
            .collect();
        let n = g.len() as f64;
        let mean_x = (n - 1.0) / 2.0;
        let mean_y = g.iter().sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (i, y) in g.iter().enumerate() {
            sxy += (i as f64 - mean_x) * (y - mean_y);
            sxx += (i as f64 - mean_x).powi(2);
        }
        (-sxy / sxx).exp()
    };
    let normalization = results("docs/normalization");
    let (lo, hi) = range_over_seeds(
        &normalization,
        &["he_normal", "glorot_uniform"],
        batch,
        rate,
    );
    let quoted = format!("toward the input by {lo:.2} to {hi:.2} per layer");
    assert!(prose.contains(&quoted), "README.md should say {quoted:?}");
}

#[test]
fn the_learning_rate_transfer_table_is_generated_from_the_committed_results() {
    let results = results("docs/lr_transfer");
    let table = initlab_bench::report::best_learning_rates(&results);
    assert!(
        pages().contains(&table),
        "README.md's best-lr table differs from docs/lr_transfer/results.json; regenerate with `cargo run --release -- run docs/experiments/lr_transfer.toml --out docs/lr_transfer` and paste:\n{table}"
    );
}

#[test]
fn the_convolution_spectrum_table_is_the_committed_report() {
    let report: serde_json::Value =
        serde_json::from_str(&read("docs/signal_cnn/signal.json")).unwrap();
    let probe: initlab_bench::signal::Probe =
        serde_json::from_value(report["probe"].clone()).unwrap();
    let spectra: Vec<initlab_bench::signal::Spectrum> =
        serde_json::from_value(report["spectra"].clone()).unwrap();
    assert_eq!(spectra.len(), 9, "three initializers at three depths");
    let table = initlab_bench::signal::spectrum_table(
        &probe,
        report["activation"].as_str().unwrap(),
        &spectra,
    );
    let rows = &table[table.find("| init |").unwrap()..];
    assert!(
        pages().contains(rows),
        "the guide's spectrum table differs from docs/signal_cnn/signal.json; regenerate with the command of docs/signal_cnn/manifest.json and paste:\n{rows}"
    );
}

#[test]
fn the_width_tables_are_the_committed_reports() {
    let reports = [
        (
            "docs/coord_check/coord_check.md",
            "cargo run --release -- coord-check --out docs/coord_check",
        ),
        (
            "docs/coord_check_residual/coord_check.md",
            "cargo run --release -- coord-check --blocks 3 --norm layer --out docs/coord_check_residual",
        ),
        (
            "docs/signal_width/signal_width.md",
            "cargo run --release -- signal --widths 64,128,256,512,1024,2048,4096 --out docs/signal_width",
        ),
    ];
    let committed: Vec<String> = reports.iter().map(|(path, _)| read(path)).collect();
    let readme = pages();
    let tables: Vec<&str> = readme
        .split("```\n")
        .filter(|block| {
            block.starts_with("| layer | standard |") || block.starts_with("| stage | standard |")
        })
        .collect();
    assert_eq!(tables.len(), 5, "the μP section's five width tables");
    for table in tables {
        assert!(
            committed.iter().any(|report| report.contains(table)),
            "README.md's table is in neither committed report; regenerate with {:?} and paste:\n{table}",
            reports.map(|(_, command)| command)
        );
    }
}

/// The targets of a Markdown text's inline links that point into the repository (not to
/// the web, not to an anchor of the same page), without their `#anchor`.
fn local_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or("").to_owned())
        .filter(|target| !target.is_empty() && !target.contains("://"))
        .collect()
}

#[test]
fn every_page_the_readme_and_the_guide_link_to_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs/guide")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for target in local_links(&text) {
            let path = page.parent().unwrap().join(&target);
            assert!(
                path.exists(),
                "{} links to {target}, which does not exist",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked > 5,
        "only {checked} links found: the pattern no longer matches"
    );
    assert!(local_links("see [x](docs/a.md#b), [y](https://e.org), [z](#top)") == ["docs/a.md"]);
}

/// The table of fuzzing so far that `fuzz/campaign.sh` prints: per target, the hours,
/// executions and findings of every campaign in `fuzz/campaigns.tsv`, and their total.
fn fuzzing_totals(log: &str) -> String {
    let mut targets: std::collections::BTreeMap<&str, [u64; 3]> = Default::default();
    for line in log.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(cells.len(), 7, "fuzz/campaigns.tsv: {line}");
        let sums = targets.entry(cells[2]).or_default();
        for (sum, cell) in sums.iter_mut().zip([cells[3], cells[4], cells[6]]) {
            *sum += cell.parse::<u64>().unwrap();
        }
    }
    let all = targets
        .values()
        .fold([0; 3], |a, t| [0, 1, 2].map(|i| a[i] + t[i]));
    let mut table =
        String::from("| target | hours | executions | findings |\n|---|---:|---:|---:|\n");
    for (name, [seconds, runs, findings]) in targets.into_iter().chain([("all", all)]) {
        let hours = seconds as f64 / 3600.0;
        table.push_str(&format!("| {name} | {hours:.2} | {runs} | {findings} |\n"));
    }
    table
}

#[test]
fn the_fuzzing_table_sums_the_committed_campaign_log() {
    let table = fuzzing_totals(&read("fuzz/campaigns.tsv"));
    assert!(
        pages().contains(&table),
        "the guide's fuzzing table differs from fuzz/campaigns.tsv (`fuzz/campaign.sh` prints it); paste:\n{table}"
    );
}
