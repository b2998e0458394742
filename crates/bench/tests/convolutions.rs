//! Convolutional architectures in experiment files: their keys are checked, they need a
//! dataset of images, delta-orthogonal draws their kernels (and an orthogonal dense
//! head), residual schemes reach their convolutions, and a small CNN learns the digits.

use initlab_bench::config;
use initlab_bench::data::Dataset;
use initlab_bench::experiment::{Convolutions, RunSpec, build};
use initlab_gemm::Kernel;
use initlab_nn::net::{Image, Shape};
use ndarray::Array2;

const GOOD: &str = r#"
    [dataset]
    kind = "mnist"
    samples = 600
    [[arch]]
    widths = [8, 8]
    kernel = 3
    strides = [2]
    activation = "relu"
    [train]
    inits = ["he_normal", "delta_orthogonal"]
    optimizer = "momentum"
    lr = 0.05
    epochs = 3
    batch_size = 32
    seeds = [0]
"#;

fn bundled() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-10k")
}

fn check(text: &str) -> Result<(Dataset, Vec<RunSpec>), initlab_bench::BenchError> {
    // One folder per test thread: the tests run in parallel.
    let dir = std::env::temp_dir().join(format!(
        "initlab-conv-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    let file = config::parse(&path)?;
    let specs = file.specs()?;
    Ok((file.dataset(&bundled())?, specs))
}

#[test]
fn convolutional_architectures_are_read_and_checked_key_by_key() {
    let (data, specs) = check(GOOD).unwrap();
    assert_eq!(data.image, Some(Image::new(1, 28, 28)));
    let arch = &specs[0].arch;
    assert_eq!(arch.hidden, [8, 8]);
    assert_eq!(
        arch.conv,
        Some(Convolutions {
            kernel: 3,
            strides: vec![2],
            flatten: false,
        })
    );
    assert_eq!(arch.label(), "relu 2x8 conv3x3 strides 2");
    let net = build(&data, &specs[0], Kernel::OPENBLAS).unwrap().net;
    // 1x28x28, the stride-2 convolution to 8x14x14, the second keeps 14x14, then the
    // mean of each channel and the 10 logits.
    let shapes = net.config().layer_shapes();
    assert_eq!(shapes[0], Shape::Image(Image::new(8, 14, 14)));
    assert_eq!(shapes[2], Shape::Image(Image::new(8, 14, 14)));
    assert_eq!(shapes.last(), Some(&Shape::Flat(10)));
    // Flattened instead of pooled: every one of the 8x14x14 values feeds the output layer.
    let (_, flat) =
        check(&GOOD.replace("strides = [2]", "strides = [2]\n    flatten = true")).unwrap();
    assert_eq!(flat[0].arch.label(), "relu 2x8 conv3x3 strides 2 flatten");
    let flat_net = build(&data, &flat[0], Kernel::OPENBLAS).unwrap().net;
    let shapes = flat_net.config().layer_shapes();
    assert_eq!(shapes[shapes.len() - 2], Shape::Flat(8 * 14 * 14));
    assert_eq!(
        flat_net.parameter_count(),
        net.parameter_count() + 10 * (8 * 14 * 14 - 8)
    );

    let cases = [
        (GOOD.replace("kernel = 3", "kernel = 4"), "arch[0].kernel"),
        (GOOD.replace("kernel = 3\n", ""), "arch[0].strides"),
        (
            GOOD.replace("kernel = 3\n    strides = [2]", "flatten = true"),
            "arch[0].flatten",
        ),
        (
            GOOD.replace("strides = [2]", "strides = [2, 0]"),
            "arch[0].strides",
        ),
        (
            GOOD.replace("strides = [2]", "strides = [2, 1, 1]"),
            "at most one stride per convolution",
        ),
        (
            GOOD.replace("widths = [8, 8]", "blocks = 2\n    width = 8")
                .replace("strides = [2]", "strides = [2, 2]"),
            "the stem's",
        ),
        (
            GOOD.replace(
                "seeds = [0]",
                "seeds = [0]\n    parametrizations = [\"mup\"]\n    base_width = 4",
            ),
            "train.parametrizations",
        ),
        // Delta-orthogonal is for kernels.
        (
            GOOD.replace("    kernel = 3\n    strides = [2]\n", ""),
            "delta-orthogonal",
        ),
    ];
    for (text, expected) in cases {
        let message = check(&text).and_then(|(data, specs)| {
            specs
                .iter()
                .try_for_each(|s| build(&data, s, Kernel::OPENBLAS).map(drop))
        });
        let message = message.err().map(|e| e.to_string());
        let message = message.unwrap_or_else(|| panic!("{expected}: accepted"));
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // Convolutions need images.
    let circles = GOOD.replace("kind = \"mnist\"\n    samples = 600", "kind = \"circles\"");
    let (data, specs) = check(&circles).unwrap();
    let message = build(&data, &specs[0], Kernel::OPENBLAS)
        .err()
        .map(|e| e.to_string());
    let message = message.expect("refused");
    assert!(message.contains("a dataset of images"), "{message}");
}

/// `Aᵀ A` when `A` has more rows than columns, else `A Aᵀ`.
fn gram(a: ndarray::ArrayView2<'_, f32>) -> Array2<f32> {
    if a.nrows() >= a.ncols() {
        a.t().dot(&a)
    } else {
        a.dot(&a.t())
    }
}

/// Whether `a` is `scale` times the identity.
fn is_identity(a: &Array2<f32>, scale: f32) -> bool {
    a.indexed_iter().all(|((i, j), &v)| {
        let expected = if i == j { scale } else { 0.0 };
        (v - expected).abs() < 1e-5
    })
}

#[test]
fn delta_orthogonal_draws_the_kernels_and_an_orthogonal_dense_head() {
    let (data, specs) = check(GOOD).unwrap();
    let net = build(&data, &specs[1], Kernel::OPENBLAS).unwrap().net;
    let named = net.named_parameters();
    // ReLU's gain, sqrt(2), squared.
    let gain2 = 2.0;
    for (name, tensor) in &named {
        if name.ends_with("weight") && tensor.ndim() == 4 {
            let [out, inp, kh, kw] = tensor.shape() else {
                unreachable!()
            };
            let centre = tensor.slice(ndarray::s![.., .., kh / 2, kw / 2]);
            let centre = centre
                .to_owned()
                .into_shape_with_order((*out, *inp))
                .unwrap();
            assert!(
                is_identity(&gram(centre.view()), gain2),
                "{name}: orthogonal centre"
            );
            let total: f32 = tensor.iter().map(|v| v * v).sum();
            let at_centre: f32 = centre.iter().map(|v| v * v).sum();
            assert_eq!(total, at_centre, "{name}: zero off the centre");
        }
    }
    let (name, head) = named
        .iter()
        .find(|(_, t)| t.ndim() == 2)
        .expect("a dense head");
    let head = head.to_owned().into_shape_with_order((10, 8)).unwrap();
    assert!(is_identity(&gram(head.view()), gain2), "{name}: orthogonal");
}

#[test]
fn fixup_zeroes_the_last_convolution_of_each_branch_and_the_head() {
    let residual = GOOD
        .replace("widths = [8, 8]", "blocks = 2\n    width = 8")
        .replace("\"he_normal\", \"delta_orthogonal\"", "\"fixup\"");
    let (data, specs) = check(&residual).unwrap();
    assert_eq!(
        specs[0].arch.label(),
        "relu 2 blocks of 2x8 pre conv3x3 strides 2"
    );
    let net = build(&data, &specs[0], Kernel::OPENBLAS).unwrap().net;
    let zero = |name: &str| {
        let (_, t) = net
            .named_parameters()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"));
        t.iter().all(|&v| v == 0.0)
    };
    // Pre-activation branches: relu, conv, relu, conv. Then relu, pooling, flatten, dense.
    for block in [1, 2] {
        assert!(
            !zero(&format!("layers.{block}.branch.1.weight")),
            "first conv drawn"
        );
        assert!(
            zero(&format!("layers.{block}.branch.3.weight")),
            "last conv zero"
        );
    }
    assert!(!zero("layers.0.weight"), "the stem drawn");
    assert!(zero("layers.6.weight"), "the dense head zero");
}

#[test]
fn a_small_cnn_learns_the_digits() {
    let (data, specs) = check(&GOOD.replace("samples = 600", "samples = 2500")).unwrap();
    let mut spec = specs[0].clone();
    spec.epochs = 4;
    let result = initlab_bench::experiment::run(
        &data,
        &spec,
        Kernel::OPENBLAS,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    // 2,500 training digits, 4 epochs: far above the 10% of a guess on the 2,000 test
    // digits, whose standard error there is 0.7 points (measured: 47.9%).
    assert!(
        result.final_accuracy > 0.3,
        "test accuracy {}",
        result.final_accuracy
    );
}

#[test]
fn the_depth_experiment_sits_on_the_critical_line_of_tanh() {
    use initlab_bench::registry::{InitChoice, lookup};
    use initlab_init::{FanMode, Initializer, ScalingDistribution};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/experiments/cnn_depth.toml"
    );
    let file = initlab_bench::config::parse(std::path::Path::new(path)).unwrap();
    assert!(file.specs().is_ok());
    assert_eq!(file.train.inits.len(), 2);
    for init in &file.train.inits {
        let Ok(InitChoice::Strategy(layer)) = lookup(init, initlab_nn::Activation::Tanh) else {
            panic!("{init} is a strategy");
        };
        let Initializer::Normal { mean: 0.0, std } = layer.bias else {
            panic!("{init}: biases {:?}", layer.bias);
        };
        // fan_in * Var(w) of each: gain² for both, one orthogonal and one Gaussian.
        let scale = match layer.weight {
            Initializer::DeltaOrthogonal { gain, groups: 1 } => gain * gain,
            Initializer::VarianceScaling {
                scale,
                mode: FanMode::FanIn,
                distribution: ScalingDistribution::Normal,
            } => scale,
            other => panic!("{init}: {other:?}"),
        };
        let (critical, fixed_point) =
            initlab_bench::signal::critical_point(initlab_nn::Activation::Tanh, std * std);
        assert!(
            (scale / critical - 1.0).abs() < 1e-5,
            "{init}: {scale} vs {critical}"
        );
        // The numbers the file's comment states.
        assert!((critical - 1.08603).abs() < 5e-6 && (fixed_point - 0.0457).abs() < 5e-5);
        assert_eq!(std, 0.01);
    }
}
