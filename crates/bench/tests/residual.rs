//! Residual and normalized architectures in experiment files and runs: their keys are
//! checked, schemes refuse networks they do not apply to, and the runs tell the story.

use indicatif::ProgressBar;
use initlab_bench::config;
use initlab_bench::data::{Synthetic, generate};
use initlab_bench::experiment::{Arch, Outcome, Residual, RunSpec, build, run};
use initlab_gemm::Kernel;
use initlab_nn::net::{Norm, Ordering};
use initlab_nn::{Activation, Optimizer};

const GOOD: &str = r#"
    [dataset]
    kind = "blobs"
    samples = 300
    dims = 4
    [[arch]]
    blocks = 6
    width = 16
    activation = "relu"
    [train]
    inits = ["he_normal", "fixup", "skipinit", "zero_last"]
    optimizer = "sgd"
    lr = 0.01
    epochs = 1
    batch_size = 32
    seeds = [0]
"#;

fn check(text: &str) -> Result<Vec<RunSpec>, initlab_bench::BenchError> {
    // One folder per test thread: the tests run in parallel.
    let dir = std::env::temp_dir().join(format!(
        "initlab-residual-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    config::parse(&path).and_then(|file| file.specs())
}

#[test]
fn residual_and_normalized_architectures_are_read_and_checked_key_by_key() {
    let specs = check(GOOD).unwrap();
    assert_eq!(specs.len(), 4);
    let arch = &specs[0].arch;
    assert_eq!(arch.hidden, [16]);
    let residual = Residual {
        blocks: 6,
        layers: 2,
        ordering: Ordering::PreActivation,
    };
    assert_eq!(arch.residual, Some(residual));
    assert_eq!(arch.label(), "relu 6 blocks of 2x16 pre");
    let post = GOOD.replace(
        "blocks = 6",
        "blocks = 6\n    branch = 3\n    ordering = \"post\"\n    norm = \"batch\"",
    );
    let specs = check(&post.replace("\"zero_last\"", "\"zero_gamma\"")).unwrap();
    assert_eq!(
        specs[0].arch.label(),
        "relu 6 blocks of 3x16 post batchnorm"
    );
    assert_eq!(specs[0].arch.norm, Some(Norm::Batch));

    let plain = GOOD.replace("blocks = 6\n", "depth = 3\n");
    let cases = [
        (
            GOOD.replace("blocks = 6", "blocks = 6\n    depth = 2"),
            "arch[0].blocks",
            "depth or widths",
        ),
        (
            GOOD.replace("blocks = 6", "blocks = 0"),
            "arch[0].blocks",
            "at least 1",
        ),
        (
            GOOD.replace("blocks = 6", "blocks = 6\n    branch = 4"),
            "arch[0].branch",
            "1, 2 or 3",
        ),
        (
            GOOD.replace("blocks = 6", "blocks = 6\n    ordering = \"middle\""),
            "arch[0].ordering",
            "pre or post",
        ),
        (
            GOOD.replace("blocks = 6", "blocks = 6\n    norm = \"group\""),
            "arch[0].norm",
            "batch or layer",
        ),
        (GOOD.replace("width = 16\n", ""), "arch[0].width", "stream"),
        (
            plain.replace("depth = 3", "depth = 3\n    branch = 2"),
            "arch[0].branch",
            "blocks",
        ),
        (plain.clone(), "train.inits", "no residual blocks"),
        (
            GOOD.replace("\"zero_last\"", "\"zero_gamma\""),
            "train.inits",
            "post-activation",
        ),
    ];
    for (text, field, expected) in cases {
        let message = check(&text).unwrap_err().to_string();
        assert!(
            message.contains(field) && message.contains(expected),
            "{field}: {message}"
        );
    }
}

fn residual_spec(init: &str, blocks: usize) -> RunSpec {
    RunSpec {
        arch: Arch {
            hidden: vec![32],
            activation: Activation::Relu,
            output: Default::default(),
            norm: None,
            residual: Some(Residual {
                blocks,
                layers: 2,
                ordering: Ordering::PreActivation,
            }),
            layer_inits: Vec::new(),
            conv: None,
        },
        init: init.to_owned(),
        optimizer: Optimizer::sgd(0.02),
        epochs: 10,
        batch_size: 32,
        seed: 0,
        target_accuracy: 0.9,
        mup_base: None,
        diagnose_epochs: true,
    }
}

#[test]
fn he_explodes_a_deep_residual_net_and_skipinit_and_fixup_train_it() {
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
    let he = run(
        &data,
        &residual_spec("he_normal", 40),
        Kernel::OPENBLAS,
        &hidden,
    )
    .unwrap();
    assert!(
        matches!(he.outcome, Outcome::Diverged { epoch: 0, .. }),
        "{:?}",
        he.outcome
    );
    assert!(he.verdict.starts_with("exploding"), "{}", he.verdict);
    for init in ["skipinit", "fixup", "zero_last"] {
        let result = run(&data, &residual_spec(init, 40), Kernel::OPENBLAS, &hidden).unwrap();
        assert_eq!(
            result.outcome,
            Outcome::Converged,
            "{init}: {}",
            result.verdict
        );
        assert_eq!(result.at_init.len(), 42, "stem, 40 blocks, output");
    }
    // LSUV gives each branch's last layer unit variance: the stream grows linearly, and
    // the net trains.
    let lsuv = run(&data, &residual_spec("lsuv", 40), Kernel::OPENBLAS, &hidden).unwrap();
    assert_eq!(lsuv.outcome, Outcome::Converged, "lsuv: {}", lsuv.verdict);
    let fixup = run(
        &data,
        &residual_spec("fixup", 40),
        Kernel::OPENBLAS,
        &hidden,
    )
    .unwrap();
    assert!(
        fixup
            .verdict
            .starts_with("no gradient below the output layer"),
        "{}",
        fixup.verdict
    );
    let net = build(&data, &residual_spec("skipinit", 3), Kernel::OPENBLAS)
        .unwrap()
        .net;
    assert_eq!(
        net.tensors()
            .iter()
            .filter(|t| t.name.ends_with("alpha"))
            .count(),
        3
    );
}

#[test]
fn every_shipped_experiment_file_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/experiments");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = config::parse(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let specs = file
            .specs()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!specs.is_empty());
        checked += 1;
    }
    assert!(checked >= 6, "{checked} experiment files");
}

#[test]
fn single_layers_take_their_own_initializer_by_path() {
    let text = GOOD.replace(
        "activation = \"relu\"",
        "activation = \"relu\"\n    layer_inits = { \"layers.0\" = \"zeros\", \"layers.1.branch.3\" = \"lecun_normal\" }",
    );
    let specs = check(&text).unwrap();
    assert_eq!(
        specs[0].arch.label(),
        "relu 6 blocks of 2x16 pre layers.0=zeros layers.1.branch.3=lecun_normal"
    );
    let data = generate(
        Synthetic::Blobs {
            classes: 3,
            dims: 4,
        },
        300,
        1,
    )
    .unwrap();
    let net = build(&data, &specs[0], Kernel::OPENBLAS).unwrap().net;
    let named = net.named_parameters();
    let tensor = |name: &str| named.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert!(tensor("layers.0.weight").iter().all(|&w| w == 0.0));
    let lecun = tensor("layers.1.branch.3.weight");
    let he = tensor("layers.2.branch.3.weight");
    let second = |t: &ndarray::ArrayViewD<'_, f32>| {
        t.iter().map(|w| f64::from(w * w)).sum::<f64>() / t.len() as f64
    };
    // LeCun's variance is half He's (1/16 against 2/16 here); 256 weights each.
    let se = (2.0_f64 / 255.0).sqrt();
    assert!(
        (second(&lecun) * 16.0 - 1.0).abs() < 4.0 * se,
        "{}",
        second(&lecun) * 16.0
    );
    assert!(
        (second(&he) * 16.0 - 2.0).abs() < 4.0 * 2.0 * se,
        "{}",
        second(&he) * 16.0
    );

    let bad_name = text.replace("\"lecun_normal\"", "\"lsuv\"");
    let message = check(&bad_name).unwrap_err().to_string();
    assert!(
        message.contains("arch[0].layer_inits.\"layers.1.branch.3\"")
            && message.contains("a weight initializer"),
        "{message}"
    );
    let bad_path = text.replace("layers.1.branch.3", "layers.1.branch.9");
    let specs = check(&bad_path).unwrap();
    let err =
        initlab_bench::experiment::run_all(&data, &specs, Kernel::OPENBLAS, &ProgressBar::hidden())
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("layers.1.branch.9") && err.contains("layers.1.branch.1, layers.1.branch.3"),
        "{err}"
    );
}
