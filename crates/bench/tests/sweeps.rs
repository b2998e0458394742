//! Learning-rate and parametrization sweeps in experiment files: how they expand, what
//! they refuse, and the best learning rate per network they report.

use indicatif::ProgressBar;
use initlab_bench::config;
use initlab_bench::data::{Synthetic, generate};
use initlab_bench::experiment::run_all;
use initlab_gemm::Kernel;

const SWEEP: &str = r#"
    [dataset]
    kind = "blobs"
    samples = 300
    dims = 4
    [[arch]]
    depth = 2
    width = 16
    activation = "relu"
    [[arch]]
    depth = 2
    width = 64
    activation = "relu"
    [train]
    inits = ["he_normal"]
    optimizer = "adam"
    lrs = [0.001, 0.01, 0.1]
    parametrizations = ["standard", "mup"]
    base_width = 16
    epochs = 2
    batch_size = 32
    seeds = [0, 1]
"#;

/// The sweep's data: 300 samples of three blobs in 4 dimensions.
fn blobs() -> initlab_bench::data::Dataset {
    generate(
        Synthetic::Blobs {
            classes: 3,
            dims: 4,
        },
        300,
        1,
    )
    .unwrap()
}

fn check(text: &str) -> Result<Vec<initlab_bench::experiment::RunSpec>, initlab_bench::BenchError> {
    // One folder per test thread: the tests run in parallel.
    let dir = std::env::temp_dir().join(format!(
        "initlab-sweeps-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    config::parse(&path).and_then(|file| file.specs())
}

#[test]
fn a_sweep_expands_over_parametrizations_learning_rates_archs_and_seeds() {
    let specs = check(SWEEP).unwrap();
    assert_eq!(specs.len(), 2 * 3 * 2 * 2);
    assert_eq!(specs.iter().filter(|s| s.mup_base == Some(16)).count(), 12);
    let lrs: Vec<f64> = specs.iter().map(|s| s.optimizer.lr()).collect();
    for lr in [0.001, 0.01, 0.1] {
        assert_eq!(lrs.iter().filter(|&&l| l == lr).count(), 8);
    }
    let cases = [
        (
            SWEEP.replace(
                "lrs = [0.001, 0.01, 0.1]",
                "lrs = [0.001, 0.01, 0.1]\n    lr = 0.1",
            ),
            "either lr or lrs",
        ),
        (
            SWEEP.replace("lrs = [0.001, 0.01, 0.1]", "lrs = []"),
            "at least one learning rate",
        ),
        (
            SWEEP.replace("lrs = [0.001, 0.01, 0.1]", "lrs = [0.001, 0.001]"),
            "each learning rate once",
        ),
        (
            SWEEP.replace("lrs = [0.001, 0.01, 0.1]\n", ""),
            "lr = ... or lrs",
        ),
        (
            SWEEP.replace("    base_width = 16\n", ""),
            "train.base_width",
        ),
        (SWEEP.replace("\"mup\"]", "\"ntk\"]"), "standard or mup"),
        (
            SWEEP.replace("[\"he_normal\"]", "[\"lsuv\"]"),
            "that μP can scale",
        ),
        (
            SWEEP.replace("[\"standard\", \"mup\"]", "[\"standard\"]"),
            "train.base_width",
        ),
    ];
    for (text, expected) in cases {
        let message = check(&text).unwrap_err().to_string();
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn a_sweep_reports_each_runs_rate_and_parametrization_and_the_best_rate() {
    let data = blobs();
    let specs = check(SWEEP).unwrap();
    let results = run_all(&data, &specs, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    let table = initlab_bench::report::markdown(&results);
    assert!(
        table.contains("| relu 2x64 | he_normal, lr 0.01, mup (base 16) |"),
        "{table}"
    );
    assert!(
        table.contains(
            "| parametrization | network | init | best lr | log2 | final training loss |"
        ),
        "{table}"
    );
    assert_eq!(
        table.matches("| mup (base 16) | relu 2x").count(),
        2,
        "{table}"
    );
    // At the base width, μP is the standard network: the same runs, the same losses.
    let at_base = |mup: Option<usize>| -> Vec<f64> {
        results
            .iter()
            .filter(|r| r.spec.mup_base == mup && r.spec.arch.hidden == [16, 16])
            .map(|r| r.epochs.last().unwrap().train_loss)
            .collect()
    };
    assert_eq!(at_base(None), at_base(Some(16)));
    assert_ne!(
        results
            .iter()
            .filter(|r| r.spec.mup_base.is_none() && r.spec.arch.hidden == [64, 64])
            .map(|r| r.epochs.last().unwrap().train_loss)
            .collect::<Vec<_>>(),
        results
            .iter()
            .filter(|r| r.spec.mup_base.is_some() && r.spec.arch.hidden == [64, 64])
            .map(|r| r.epochs.last().unwrap().train_loss)
            .collect::<Vec<_>>(),
        "wider than the base, μP differs"
    );
    let figures = initlab_bench::plot::result_figures(&results);
    let stems: Vec<&str> = figures.iter().map(|f| f.stem.as_str()).collect();
    assert!(
        stems.contains(&"lr_transfer_standard_he_normal"),
        "{stems:?}"
    );
    let mut unique = stems.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), stems.len(), "each figure once: {stems:?}");
}

/// μP in an experiment file for residual nets with LayerNorm: one learning-rate multiplier
/// per dense layer (stem, branches, output), and at the base width the standard runs.
#[test]
fn mup_sweeps_residual_nets_with_layernorm() {
    let data = blobs();
    let text = SWEEP
        .replace("depth = 2\n", "blocks = 2\n    norm = \"layer\"\n")
        .replace("lrs = [0.001, 0.01, 0.1]", "lrs = [0.01]");
    let specs = check(&text).unwrap();
    assert!(specs.iter().all(|s| s.arch.residual.is_some()));
    let wide = specs
        .iter()
        .find(|s| s.mup_base == Some(16) && s.arch.hidden == [64])
        .unwrap();
    let built =
        initlab_bench::experiment::build(&data, wide, initlab_gemm::Kernel::OPENBLAS).unwrap();
    // Adam: the stem from the input at 1, the four branch layers and the output at 1/4.
    let lr: Vec<f64> = built.lr_scales.iter().map(|s| s.weight).collect();
    assert_eq!(lr, [1.0, 0.25, 0.25, 0.25, 0.25, 0.25]);
    let results = run_all(&data, &specs, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    let losses = |mup: Option<usize>, width: usize| -> Vec<f64> {
        results
            .iter()
            .filter(|r| r.spec.mup_base == mup && r.spec.arch.hidden == [width])
            .map(|r| r.epochs.last().unwrap().train_loss)
            .collect()
    };
    assert_eq!(
        losses(None, 16),
        losses(Some(16), 16),
        "μP at its base is standard"
    );
    assert_ne!(losses(None, 64), losses(Some(16), 64), "wider, it is not");
    assert!(results.iter().all(|r| r.final_accuracy.is_finite()));
}
