//! Golden outputs, recorded at `cd40921` (before the network model was unified) with
//! initlab-gemm's packed kernel, compared bit for bit: what a redesign of `initlab-nn` and `initlab-bench`
//! must not change.
//!
//! The packed kernel computes each output as one FMA chain in k order, so its bits are the
//! same on every AVX2 or AVX-512 CPU: these files hold on any such machine, which OpenBLAS's
//! kernels (whose rounding depends on the CPU they pick) would not allow. Only values that
//! never pass through LAPACK (which runs on OpenBLAS whatever the GEMM kernel) are kept:
//! losses, accuracies, diagnostics without the Jacobian's singular values, and a digest of
//! the final weights.
//!
//! Every build runs them, on the packed kernel chosen as an argument ([`Kernel`]); on a CPU
//! without AVX2 and FMA they say so and check nothing.
//! `INITLAB_WRITE_GOLDEN=1 cargo test -p initlab-bench --test golden` rewrites the files; a
//! change to them is a change to the numbers, to be explained.

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use initlab_bench::config;
use initlab_bench::experiment::{RunResult, RunSpec, run};
use initlab_gemm::{CpuFeatures, Kernel};
use initlab_nn::init::{Initializer, Nonlinearity};
use initlab_nn::ndarray::Array2;
use initlab_nn::net::{Net, NetConfig, NetInit, Norm, Ordering, ResidualBlock};
use initlab_nn::{Activation, Event, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};
use serde_json::{Value, json};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn bundled_mnist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-10k")
}

/// The packed kernel, whose bits the golden files hold; `None`, said on stderr, on a CPU
/// that cannot run it.
fn packed() -> Option<Kernel> {
    let kernel = Kernel::packed(CpuFeatures::detect());
    if let Err(error) = &kernel {
        eprintln!("golden: not compared: {error}");
    }
    kernel.ok()
}

/// Compares `observed` with the golden file `name`, or writes it under
/// `INITLAB_WRITE_GOLDEN`.
fn check(name: &str, observed: &Value) {
    let path = golden_dir().join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(observed).unwrap() + "\n";
    if std::env::var_os("INITLAB_WRITE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    if golden != *observed {
        let out = std::env::temp_dir().join(format!("initlab-golden-{name}.json"));
        std::fs::write(&out, text).unwrap();
        panic!(
            "{name}: the numbers differ from {} (this run's are in {})",
            path.display(),
            out.display()
        );
    }
}

/// FNV-1a over the bits of every value, tensor after tensor.
fn digest<'a>(
    tensors: impl IntoIterator<Item = initlab_nn::ndarray::ArrayViewD<'a, f32>>,
) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for tensor in tensors {
        for value in tensor.iter() {
            for byte in value.to_bits().to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{hash:016x}")
}

/// A run's numbers that do not pass through LAPACK; of the diagnostics, those at
/// initialization and after the last probed epoch.
fn observed_run(result: &RunResult) -> Value {
    let mut diagnostics = json!({
        "at_init": result.at_init,
        "last_probe": result.during_training.last(),
    });
    strip_jacobian(&mut diagnostics);
    json!({
        "run": format!("{} / {} / {} / seed {}", result.spec.arch.label(), result.spec.init,
            result.spec.parametrization_name(), result.spec.seed),
        "epochs": result.epochs,
        "loss_curve": result.loss_curve,
        "outcome": result.outcome,
        "steps_to_target": result.steps_to_target,
        "initial_accuracy": result.initial_accuracy,
        "final_accuracy": result.final_accuracy,
        "diagnostics": diagnostics,
        "verdict": result.verdict,
    })
}

fn strip_jacobian(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("jacobian_mean_singular_value");
            map.values_mut().for_each(strip_jacobian);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_jacobian),
        _ => {}
    }
}

/// Every run of an experiment file's text on `kernel`, in the order of its specs.
fn experiment(text: &str, kernel: Kernel) -> Value {
    let path = Path::new("golden.toml");
    let file = config::parse_text(text, path).unwrap();
    let dataset = file.dataset(&bundled_mnist()).unwrap();
    let runs: Vec<Value> = file
        .specs()
        .unwrap()
        .iter()
        .map(|spec| {
            // The golden files hold the last probed epoch's diagnostics too.
            let spec = RunSpec {
                diagnose_epochs: true,
                ..spec.clone()
            };
            observed_run(&run(&dataset, &spec, kernel, &ProgressBar::hidden()).unwrap())
        })
        .collect();
    Value::Array(runs)
}

#[test]
fn the_circles_experiment_is_unchanged() {
    let Some(kernel) = packed() else { return };
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/experiments/circles.toml"),
    )
    .unwrap();
    // The shipped file at a tenth of its epochs, every initializer and seed.
    let text = text.replace("epochs = 300", "epochs = 30");
    assert!(text.contains("epochs = 30 "));
    check("circles", &experiment(&text, kernel));
}

#[test]
fn plain_residual_normalized_and_mup_experiments_are_unchanged() {
    let Some(kernel) = packed() else { return };
    let plain = r#"
        [dataset]
        kind = "mnist"
        samples = 1024
        [[arch]]
        depth = 3
        width = 300
        activation = "relu"
        [train]
        inits = ["he_normal", "small_normal"]
        optimizer = "adam"
        lr = 0.001
        epochs = 2
        batch_size = 256
        seeds = [0]
    "#;
    let residual = r#"
        [dataset]
        kind = "mnist"
        samples = 512
        [[arch]]
        blocks = 3
        width = 64
        activation = "relu"
        [[arch]]
        blocks = 3
        width = 64
        activation = "relu"
        norm = "layer"
        [[arch]]
        blocks = 2
        width = 64
        branch = 3
        ordering = "post"
        activation = "relu"
        norm = "batch"
        [[arch]]
        depth = 3
        width = 64
        activation = "tanh"
        norm = "batch"
        [train]
        inits = ["he_normal"]
        optimizer = "momentum"
        lr = 0.01
        epochs = 2
        batch_size = 200
        seeds = [0]
    "#;
    let residual_schemes = r#"
        [dataset]
        kind = "blobs"
        samples = 300
        dims = 4
        [[arch]]
        blocks = 4
        width = 16
        activation = "relu"
        [train]
        inits = ["fixup", "skipinit", "zero_last", "gpt2"]
        optimizer = "sgd"
        lr = 0.05
        epochs = 3
        batch_size = 32
        seeds = [1]
    "#;
    let mup = r#"
        [dataset]
        kind = "mnist"
        samples = 512
        [[arch]]
        depth = 2
        width = 256
        activation = "relu"
        [train]
        inits = ["he_normal"]
        optimizer = "adam"
        lr = 0.002
        parametrizations = ["standard", "mup"]
        base_width = 64
        epochs = 2
        batch_size = 128
        seeds = [0]
    "#;
    let observed = json!({
        "plain": experiment(plain, kernel),
        "residual": experiment(residual, kernel),
        "residual_schemes": experiment(residual_schemes, kernel),
        "mup": experiment(mup, kernel),
    });
    check("experiments", &observed);
}

/// Training inputs and labels, test inputs and labels.
type Digits = (Array2<f32>, Vec<usize>, Array2<f32>, Vec<usize>);

/// The first `n` training images of the bundled digits, standardized, and their labels.
fn digits(n: usize) -> Digits {
    let mut data = initlab_bench::data::Dataset::idx_dir(&bundled_mnist()).unwrap();
    data.standardize();
    let data = data.truncate_train(n);
    let labels = |l: &initlab_bench::data::Labels| match l {
        initlab_bench::data::Labels::Classes(c) => c.clone(),
        other => panic!("digits have classes, not {other:?}"),
    };
    let (train_labels, test_labels) = (labels(&data.train_y), labels(&data.test_y));
    let test = data
        .test_x
        .slice(initlab_nn::ndarray::s![..1000, ..])
        .to_owned();
    (
        data.train_x,
        train_labels,
        test,
        test_labels[..1000].to_vec(),
    )
}

/// A step's loss, from the trainer's events.
fn step_loss(event: &Event) -> Option<f64> {
    match event {
        Event::Step { loss, .. } => Some(*loss),
        Event::EpochEnd { .. } => None,
    }
}

/// Trains `net` on the digits and observes it: every step's loss, the test accuracy and a
/// digest of its parameters and running averages.
fn trained(mut net: Net<f32>, kernel: Kernel, train: TrainConfig, digits: &Digits) -> Value {
    net.set_kernel(kernel);
    let (x, y, test_x, test_y) = digits;
    let mut steps = Vec::new();
    Trainer::new(&net, train)
        .unwrap()
        .train(&mut net, x.view(), Targets::Classes(y), |e, _| {
            steps.extend(step_loss(e))
        })
        .unwrap();
    let tensors = net
        .named_parameters()
        .into_iter()
        .chain(net.named_buffers())
        .map(|(_, t)| t);
    json!({
        "step_losses": steps,
        "test_accuracy": net.accuracy(test_x.view(), test_y).unwrap(),
        "weights": digest(tensors),
    })
}

#[test]
fn networks_trained_through_nn_are_unchanged() {
    let Some(kernel) = packed() else { return };
    let digits = digits(600);
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let mut cases = serde_json::Map::new();

    // A plain ReLU MLP, three row chunks a batch, layers wider than a unit block.
    let net = MlpConfig::new(784, vec![300, 200], 10)
        .build::<f32>(&he, &Initializer::Zeros, 3)
        .unwrap();
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(1e-3))
        .with_batch_size(300)
        .with_epochs(2)
        .with_seed(5);
    cases.insert("mlp".into(), trained(net, kernel, train, &digits));

    // μP at four times its base width, Adam.
    let target = MlpConfig::new(784, vec![256, 256], 10).to_net_config();
    let base = MlpConfig::new(784, vec![64, 64], 10).to_net_config();
    let optimizer = Optimizer::adam(2e-3);
    let he_net = NetInit::new(he.clone(), Initializer::Zeros);
    let (init, lr_scales) =
        initlab_nn::mup::parametrize(&target, &base, &optimizer, &he_net).unwrap();
    let net = target.build::<f32>(&init, 7).unwrap();
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, optimizer)
        .with_epochs(2)
        .with_lr_scales(lr_scales);
    cases.insert("mup".into(), trained(net, kernel, train, &digits));

    // Residual nets: no norm, LayerNorm and BatchNorm, pre- and post-activation.
    let nets = [
        ("residual", None, Ordering::PreActivation),
        (
            "residual_layernorm",
            Some(Norm::Layer),
            Ordering::PreActivation,
        ),
        (
            "residual_batchnorm",
            Some(Norm::Batch),
            Ordering::PostActivation,
        ),
    ];
    for (name, norm, ordering) in nets {
        let mut block = ResidualBlock::new(96, 2, Activation::Relu, ordering);
        if let Some(norm) = norm {
            block = block.with_norm(norm);
        }
        let net = NetConfig::new(784)
            .dense(96)
            .activation(Activation::Relu)
            .blocks(block, 3)
            .dense(10)
            .build::<f32>(&NetInit::new(he.clone(), Initializer::Zeros), 11)
            .unwrap();
        let momentum = Optimizer::Momentum {
            lr: 0.02,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        };
        let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, momentum)
            .with_batch_size(150)
            .with_epochs(2);
        cases.insert(name.into(), trained(net, kernel, train, &digits));
    }
    check("nn", &Value::Object(cases));
}
