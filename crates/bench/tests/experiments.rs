//! Experiments on small synthetic data: the initializers' story holds, grids expand,
//! config files are checked key by key, and reports are written whole.

use indicatif::ProgressBar;
use initlab_bench::config;
use initlab_bench::data::{Synthetic, generate};
use initlab_bench::experiment::{Arch, Outcome, RunSpec, grid, run, run_all};
use initlab_bench::report;
use initlab_gemm::Kernel;
use initlab_nn::{Activation, Optimizer};

fn spec(init: &str, activation: Activation) -> RunSpec {
    RunSpec {
        arch: Arch::uniform(4, 32, activation),
        init: init.to_owned(),
        optimizer: Optimizer::adam(0.01),
        epochs: 30,
        batch_size: 64,
        seed: 0,
        target_accuracy: 0.9,
        mup_base: None,
        diagnose_epochs: true,
    }
}

#[test]
fn zeros_stay_symmetric_and_he_learns_blobs() {
    let data = generate(
        Synthetic::Blobs {
            classes: 3,
            dims: 4,
        },
        600,
        1,
    )
    .unwrap();
    let hidden = ProgressBar::hidden();
    let zeros = run(
        &data,
        &spec("zeros", Activation::Relu),
        Kernel::OPENBLAS,
        &hidden,
    )
    .unwrap();
    assert!(
        zeros.verdict.starts_with("symmetric and frozen"),
        "{}",
        zeros.verdict
    );
    assert_eq!(zeros.outcome, Outcome::Stalled);
    let he = run(
        &data,
        &spec("he_normal", Activation::Relu),
        Kernel::OPENBLAS,
        &hidden,
    )
    .unwrap();
    assert_eq!(he.outcome, Outcome::Converged, "{he:?}");
    assert!(he.steps_to_target.is_some() && he.final_accuracy > 0.9);
    assert_eq!(he.epochs.len(), 30);
}

#[test]
fn large_weights_explode_a_deep_relu_net() {
    let data = generate(
        Synthetic::Blobs {
            classes: 3,
            dims: 4,
        },
        300,
        2,
    )
    .unwrap();
    let mut deep = spec("large_normal", Activation::Relu);
    deep.arch = Arch::uniform(12, 64, Activation::Relu);
    deep.optimizer = Optimizer::sgd(0.1);
    let result = run(&data, &deep, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    assert!(
        matches!(result.outcome, Outcome::Diverged { .. }),
        "{result:?}"
    );
    assert!(
        result.verdict.starts_with("exploding"),
        "{}",
        result.verdict
    );
}

#[test]
fn grid_runs_in_parallel_with_results_in_order_and_reports() {
    let data = generate(Synthetic::Spirals { classes: 2 }, 400, 3).unwrap();
    let archs = [Arch::uniform(2, 16, Activation::Tanh)];
    let mut template = spec("", Activation::Tanh);
    template.epochs = 2;
    let specs = grid(&archs, &["glorot_uniform", "lsuv"], &[0, 1], &template).unwrap();
    assert_eq!(specs.len(), 4);
    let results = run_all(&data, &specs, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    let order: Vec<(&str, u64)> = results
        .iter()
        .map(|r| (r.spec.init.as_str(), r.spec.seed))
        .collect();
    assert_eq!(
        order,
        [
            ("glorot_uniform", 0),
            ("glorot_uniform", 1),
            ("lsuv", 0),
            ("lsuv", 1)
        ]
    );
    let table = report::markdown(&results);
    assert_eq!(table.lines().count(), 2 + 2, "{table}");
    let dir = std::env::temp_dir().join(format!("initlab-report-{}", std::process::id()));
    report::write_files(&dir, &results, true).unwrap();
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 2);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    let plots =
        initlab_bench::plot::write_pngs(&dir, &initlab_bench::plot::result_figures(&results))
            .unwrap();
    assert_eq!(plots.len(), 4);
    assert!(
        plots
            .iter()
            .all(|p| std::fs::metadata(p).unwrap().len() > 10_000)
    );
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .path()
            .to_string_lossy()
            .contains("partial"))
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn experiment_files_are_checked_key_by_key() {
    let dir = std::env::temp_dir().join(format!("initlab-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = r#"
        [dataset]
        kind = "circles"
        samples = 200
        [[arch]]
        depth = 2
        width = 8
        activation = "leaky_relu(0.1)"
        [train]
        inits = ["he_normal", "zeros"]
        optimizer = "adam"
        lr = 0.01
        epochs = 1
        batch_size = 32
        seeds = [0, 1, 2]
    "#;
    let check = |text: &str| {
        let path = dir.join("experiment.toml");
        std::fs::write(&path, text).unwrap();
        config::parse(&path).and_then(|file| file.specs().map(|specs| (file, specs)))
    };
    let (file, specs) = check(good).unwrap();
    assert_eq!(specs.len(), 6);
    assert_eq!(
        file.dataset(std::path::Path::new("unused"))
            .unwrap()
            .train_x
            .nrows(),
        160
    );

    let cases = [
        (
            good.replace("depth = 2", "depth = 2\n        dropout = 0.5"),
            "dropout",
        ),
        (good.replace("\"he_normal\"", "\"xavier\""), "train.inits"),
        (
            good.replace("leaky_relu(0.1)", "swish"),
            "arch[0].activation",
        ),
        (good.replace("\"adam\"", "\"rmsprop\""), "train.optimizer"),
        (good.replace("lr = 0.01", "lr = -1.0"), "train.lr"),
        (good.replace("width = 8", "width = 0"), "arch[0].width"),
        (
            good.replace("depth = 2\n        width = 8", "widths = []"),
            "arch[0].widths",
        ),
        (
            good.replace("depth = 2\n        width = 8", "widths = [4, 0]"),
            "arch[0].widths",
        ),
        (
            good.replace("depth = 2", "depth = 2\n        widths = [4, 2]"),
            "arch[0].widths",
        ),
        (good.replace("depth = 2\n", ""), "arch[0].depth"),
        (
            good.replace("depth = 2", "depth = 1000000000000"),
            "arch[0].depth",
        ),
        (
            good.replace("width = 8", "width = 8\n        output = \"tanh\""),
            "arch[0].output",
        ),
        (good.replace("epochs = 1", "epochs = \"one\""), "epochs"),
        (good.replace("[train]", "[train"), "experiment.toml"),
    ];
    for (text, expected) in cases {
        let message = check(&text).unwrap_err().to_string();
        assert!(message.contains(expected), "{expected}: {message}");
    }

    // Per-layer widths and a sigmoid output: 2 -> 10 -> 5 -> 1.
    let blog = good.replace(
        "depth = 2\n        width = 8",
        "widths = [10, 5]\n        output = \"sigmoid\"",
    );
    let (file, specs) = check(&blog).unwrap();
    assert_eq!(specs[0].arch.hidden, [10, 5]);
    assert_eq!(specs[0].arch.label(), "leaky_relu(0.1) 10-5 sigmoid");
    let data = file.dataset(std::path::Path::new("unused")).unwrap();
    let net = initlab_bench::experiment::build(&data, &specs[0], Kernel::OPENBLAS)
        .unwrap()
        .net;
    let widths: Vec<usize> = net.config().dense_shapes().iter().map(|s| s.1).collect();
    assert_eq!((net.config().input, widths), (2, vec![10, 5, 1]));
    // A sigmoid reads two classes, not three.
    let three = blog.replace(
        "kind = \"circles\"",
        "kind = \"spirals\"\n        classes = 3",
    );
    let (file, specs) = check(&three).unwrap();
    let data = file.dataset(std::path::Path::new("unused")).unwrap();
    let message = initlab_bench::experiment::check_memory(&data, &specs)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`output`") && message.contains("3 classes"),
        "{message}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn regression_runs_report_a_loss_not_a_percentage() {
    let data = generate(
        Synthetic::TeacherStudent {
            inputs: 5,
            hidden: 8,
            outputs: 1,
        },
        400,
        4,
    )
    .unwrap();
    let mut regression = spec("he_normal", Activation::Tanh);
    regression.epochs = 20;
    let result = run(&data, &regression, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    assert!(
        result.verdict.contains("test loss") && !result.verdict.contains('%'),
        "{}",
        result.verdict
    );
    assert!(
        result.final_accuracy > result.initial_accuracy,
        "the negated loss improves: {result:?}"
    );
    assert!(result.epochs.iter().all(|e| e.test_accuracy.is_none()));
}

#[test]
fn the_shipped_example_experiment_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/experiments/spirals.toml");
    let file = config::parse(&path).unwrap();
    assert_eq!(file.specs().unwrap().len(), 2 * 6 * 2);
    assert_eq!(
        file.dataset(std::path::Path::new("unused"))
            .unwrap()
            .train_x
            .nrows(),
        1600
    );
}

#[test]
fn divergence_from_a_huge_step_is_not_blamed_on_a_healthy_init() {
    let data = generate(Synthetic::Circles, 300, 2).unwrap();
    let mut run_spec = spec("he_normal", Activation::Relu);
    run_spec.optimizer = Optimizer::sgd(1e12);
    run_spec.epochs = 3;
    let result = run(&data, &run_spec, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    assert!(
        matches!(result.outcome, Outcome::Diverged { .. }),
        "{result:?}"
    );
    assert!(
        result.verdict.starts_with("diverged in training")
            && result.verdict.contains("stable at init")
            && !result.verdict.contains("exploding"),
        "{}",
        result.verdict
    );
}

#[test]
fn results_json_round_trips_nan_and_infinities() {
    let data = generate(Synthetic::Circles, 100, 1).unwrap();
    let mut run_spec = spec("he_normal", Activation::Relu);
    run_spec.epochs = 2;
    let mut result = run(&data, &run_spec, Kernel::OPENBLAS, &ProgressBar::hidden()).unwrap();
    result.epochs[0].train_loss = f64::INFINITY;
    result.epochs[1].test_accuracy = Some(f64::NAN);
    result.gflops = f64::NEG_INFINITY;
    result.at_init[0].pre_std = f64::NAN;
    result.at_init[1].jacobian_mean_singular_value = Some(f64::INFINITY);
    let json = serde_json::to_string(&[&result]).unwrap();
    assert!(json.contains("\"inf\"") && json.contains("\"NaN\"") && json.contains("\"-inf\""));
    let back: Vec<initlab_bench::experiment::RunResult> = serde_json::from_str(&json).unwrap();
    assert_eq!(format!("{:?}", back[0]), format!("{result:?}"));
    assert!(
        serde_json::from_str::<Vec<initlab_bench::experiment::RunResult>>(
            &json.replace("\"inf\"", "\"huge\"")
        )
        .is_err()
    );
}

/// The loss is recorded from initialization on, at the promised density: step 0 is the
/// first mini-batch's loss before any update, then every `every` steps the mean of the
/// mini-batch losses since the last point, 150–300 points for a long run and every step
/// for a short one.
#[test]
fn the_loss_curve_starts_at_initialization_and_is_dense() {
    let data = generate(
        Synthetic::Blobs {
            classes: 3,
            dims: 4,
        },
        600,
        3,
    )
    .unwrap();
    let rows = data.train_x.nrows();
    let hidden = ProgressBar::hidden();
    for (batch_size, epochs) in [(8, 6), (4, 8), (64, 2), (rows, 3)] {
        let mut run_spec = spec("he_normal", Activation::Tanh);
        run_spec.batch_size = batch_size;
        run_spec.epochs = epochs;
        let result = run(&data, &run_spec, Kernel::OPENBLAS, &hidden).unwrap();
        let steps = (rows.div_ceil(batch_size) * epochs) as u64;
        let curve = &result.loss_curve;
        let every = curve.every;
        assert_eq!(
            every,
            (steps - 1).div_ceil(300).max(1),
            "batch {batch_size}"
        );
        let recorded: Vec<u64> = curve.points.iter().map(|p| p.step).collect();
        let expected: Vec<u64> = (0..=(steps - 1).div_ceil(every))
            .map(|i| (i * every).min(steps - 1))
            .collect();
        assert_eq!(recorded, expected, "batch {batch_size}");
        let after_init = recorded.len() as u64 - 1;
        assert!(
            ((steps - 1).min(150)..=300).contains(&after_init),
            "{after_init} points after step 0 for {steps} steps"
        );
        assert!(curve.points.iter().all(|p| p.train_loss.is_finite()));
        if batch_size == rows {
            // One batch of every row: step 0's loss is the training set's at init (summed in
            // the shuffled order, hence the tolerance of f32 rounding).
            let net = initlab_bench::experiment::build(&data, &run_spec, Kernel::OPENBLAS)
                .unwrap()
                .net;
            let at_init = net
                .loss(
                    data.train_x.view(),
                    data.train_y.targets(),
                    initlab_nn::Loss::SoftmaxCrossEntropy,
                )
                .unwrap();
            let first = curve.points[0].train_loss;
            assert!(
                (first - at_init).abs() <= 1e-5 * at_init,
                "{first} vs {at_init}"
            );
        }
        // With every = 1, an epoch's points average to the epoch's mean loss when its
        // batches are equal.
        if every == 1 && rows.is_multiple_of(batch_size) {
            let per_epoch = rows / batch_size;
            for (e, epoch) in result.epochs.iter().enumerate() {
                let points = &curve.points[e * per_epoch..(e + 1) * per_epoch];
                let mean = points.iter().map(|p| p.train_loss).sum::<f64>() / per_epoch as f64;
                assert!(
                    (mean - epoch.train_loss).abs() <= 1e-12 * epoch.train_loss.abs(),
                    "epoch {e}: {mean} vs {}",
                    epoch.train_loss
                );
                assert_eq!(epoch.step, ((e + 1) * per_epoch) as u64);
            }
        }
    }
}
