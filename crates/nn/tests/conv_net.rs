//! Convolutional networks in the one network model: every image layer's backward pass
//! against central differences in f64 (stride, padding, groups and depthwise, max and
//! average pooling, global average pooling, flatten, BatchNorm over channels, LayerNorm
//! on images, residual conv blocks), training bitwise identical on 1, 2 and 4 threads,
//! delta-orthogonal kernels preserving each sample's norm through depth, and shapes that
//! do not fit refused with the layer's path.

use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::net::{Alpha, Image, LayerSpec, Net, NetConfig, NetInit, Norm};
use initlab_nn::{Activation, Loss, NnError, Optimizer, Status, Targets, TrainConfig, Trainer};
use ndarray::{Array2, Axis};

const RELATIVE_TOLERANCE: f64 = 1e-6;

fn inputs(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    Initializer::normal(0.0, 1.0)
        .sample((rows, cols), RngKey::new(seed))
        .unwrap()
}

/// Every parameter's backprop gradient against `(L(p + h) - L(p - h)) / 2h`.
fn check(mut net: Net<f64>, x: &Array2<f64>, labels: &[usize], label: &str) {
    let targets = Targets::Classes(labels);
    let loss = Loss::SoftmaxCrossEntropy;
    let (_, grads) = net.loss_and_gradients(x.view(), targets, loss).unwrap();
    let h = 1e-5;
    let mut checked = 0;
    for tensor in net.tensors().to_vec() {
        let range = tensor.offset..tensor.offset + tensor.len();
        for (k, &analytic) in range.clone().zip(&grads[range]) {
            net.parameters_mut()[k] += h;
            let plus = net.loss_and_gradients(x.view(), targets, loss).unwrap().0;
            net.parameters_mut()[k] -= 2.0 * h;
            let minus = net.loss_and_gradients(x.view(), targets, loss).unwrap().0;
            net.parameters_mut()[k] += h;
            let numeric = (plus - minus) / (2.0 * h);
            let error = (numeric - analytic).abs() / (numeric.abs() + analytic.abs()).max(1e-8);
            assert!(
                error < RELATIVE_TOLERANCE || (numeric - analytic).abs() < 1e-10,
                "{label}: {} [{}]: backprop {analytic:e} vs numeric {numeric:e} (relative error {error:e})",
                tensor.name,
                k - tensor.offset
            );
            checked += usize::from(analytic != 0.0);
        }
    }
    assert!(checked > 0, "{label}: some gradient is not zero");
}

/// Non-zero biases, and gains away from one: the gradients of every parameter matter.
fn init() -> NetInit {
    NetInit::new(
        Initializer::normal(0.0, 0.5),
        Initializer::uniform(-0.5, 0.5),
    )
}

const LABELS: [usize; 5] = [0, 1, 2, 1, 0];

/// `layers` on 5 images of 2x6x5 (rows and columns differ, so a transposed index shows),
/// then flatten and a dense layer to 3 logits.
fn net_with(layers: Vec<LayerSpec>, seed: u64) -> (Net<f64>, Array2<f64>) {
    let mut config = NetConfig::image(2, 6, 5);
    config.layers.extend(layers);
    let net = config.flatten().dense(3).build(&init(), seed).unwrap();
    (net, inputs(5, 60, seed + 100))
}

fn conv(channels: usize, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> LayerSpec {
    LayerSpec::Conv2d {
        channels,
        kernel,
        stride,
        padding,
        groups: 1,
    }
}

fn tanh() -> LayerSpec {
    LayerSpec::Activation {
        activation: Activation::Tanh,
    }
}

#[test]
fn convolutions_of_every_geometry_backpropagate_their_gradients() {
    let grouped = LayerSpec::Conv2d {
        channels: 4,
        kernel: [3, 2],
        stride: [1, 2],
        padding: [1, 0],
        groups: 2,
    };
    let depthwise = LayerSpec::Conv2d {
        channels: 2,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        groups: 2,
    };
    let cases = [
        (
            "3x3, no padding",
            vec![conv(3, [3, 3], [1, 1], [0, 0]), tanh()],
        ),
        (
            "stride 2, padding 1",
            vec![conv(3, [3, 3], [2, 2], [1, 1]), tanh()],
        ),
        (
            "2x3 kernel, stride 2x1",
            vec![conv(2, [2, 3], [2, 1], [0, 1])],
        ),
        ("two groups", vec![grouped, tanh()]),
        ("depthwise", vec![depthwise, tanh()]),
        ("1x1", vec![conv(4, [1, 1], [1, 1], [0, 0])]),
        (
            "two convolutions",
            vec![
                conv(3, [3, 3], [1, 1], [1, 1]),
                tanh(),
                conv(2, [3, 3], [2, 2], [1, 1]),
            ],
        ),
    ];
    for (seed, (label, layers)) in (1..).zip(cases) {
        let (net, x) = net_with(layers, seed);
        check(net, &x, &LABELS, label);
    }
}

#[test]
fn pooling_and_flatten_backpropagate_their_gradients() {
    let cases = [
        (
            "max 2x2 stride 2",
            vec![LayerSpec::MaxPool {
                kernel: [2, 2],
                stride: [2, 2],
            }],
        ),
        (
            "max 3x2 stride 1 (overlapping windows)",
            vec![LayerSpec::MaxPool {
                kernel: [3, 2],
                stride: [1, 1],
            }],
        ),
        (
            "average 2x3 stride 2x1",
            vec![LayerSpec::AveragePool {
                kernel: [2, 3],
                stride: [2, 1],
            }],
        ),
        (
            "convolution, global average",
            vec![
                conv(4, [3, 3], [1, 1], [1, 1]),
                tanh(),
                LayerSpec::GlobalAveragePool,
            ],
        ),
    ];
    for (seed, (label, layers)) in (20..).zip(cases) {
        let (net, x) = net_with(layers, seed);
        check(net, &x, &LABELS, label);
    }
}

/// Gains and biases moved off 1 and 0 (normalization layers start there).
fn perturb_vectors(net: &mut Net<f64>, seed: u64) {
    let noise = inputs(1, net.parameter_count(), seed);
    for tensor in net.tensors().to_vec() {
        if tensor.shape.len() == 1 {
            for k in tensor.offset..tensor.offset + tensor.len() {
                net.parameters_mut()[k] += 0.3 * noise[[0, k]];
            }
        }
    }
}

#[test]
fn normalization_of_images_and_residual_conv_blocks_backpropagate_their_gradients() {
    let batch = Norm::Batch.spec();
    let layer = Norm::Layer.spec();
    let block = |alpha| LayerSpec::Residual {
        branch: vec![
            batch.clone(),
            tanh(),
            conv(3, [3, 3], [1, 1], [1, 1]),
            layer.clone(),
            tanh(),
            conv(3, [3, 3], [1, 1], [1, 1]),
        ],
        alpha,
    };
    let cases = [
        (
            "BatchNorm over channels",
            vec![conv(3, [3, 3], [1, 1], [1, 1]), batch.clone(), tanh()],
        ),
        (
            "LayerNorm over an image",
            vec![conv(3, [3, 3], [1, 1], [1, 1]), layer.clone(), tanh()],
        ),
        (
            "a residual conv block, alpha fixed",
            vec![conv(3, [3, 3], [1, 1], [1, 1]), block(Alpha::fixed(0.7))],
        ),
        (
            "a residual conv block, alpha learnable",
            vec![
                conv(3, [3, 3], [1, 1], [1, 1]),
                block(Alpha::learnable(0.6)),
            ],
        ),
    ];
    for (seed, (label, layers)) in (40..).zip(cases) {
        let (mut net, x) = net_with(layers, seed);
        perturb_vectors(&mut net, seed);
        check(net, &x, &LABELS, label);
    }
}

/// Dirac kernels and zero biases, the dense head Glorot.
fn passing_through() -> NetInit {
    let head = initlab_nn::LayerInit {
        weight: Initializer::glorot_normal(),
        bias: Initializer::Zeros,
    };
    NetInit::new(Initializer::dirac(1), Initializer::Zeros).with_override("layers.3", head)
}

#[test]
fn batch_norm_of_an_image_normalizes_each_channel_over_samples_and_pixels() {
    // A 1x1 Dirac convolution passes the image through: the stage is conv + BatchNorm.
    let config = NetConfig::image(3, 4, 4)
        .conv(3, 1, 1, 0)
        .norm(Norm::Batch)
        .flatten()
        .dense(2);
    let net: Net<f64> = config.build(&passing_through(), 1).unwrap();
    assert_eq!(
        net.named_parameters()[2].1.shape(),
        &[3],
        "one gain per channel"
    );
    assert_eq!(
        net.named_buffers()[0].1.shape(),
        &[3],
        "one running mean per channel"
    );
    let mut x = inputs(6, 48, 2);
    // Channels of their own means and scales.
    for (c, (shift, scale)) in [(5.0, 2.0), (-1.0, 0.5), (0.0, 3.0)]
        .into_iter()
        .enumerate()
    {
        x.slice_mut(ndarray::s![.., c * 16..(c + 1) * 16])
            .mapv_inplace(|v| shift + scale * v);
    }
    let normalized = &net.activations(x.view()).unwrap()[0];
    for c in 0..3 {
        let channel = normalized.slice(ndarray::s![.., c * 16..(c + 1) * 16]);
        let n = channel.len() as f64;
        let mean = channel.sum() / n;
        let var = channel.mapv(|v| (v - mean) * (v - mean)).sum() / n;
        assert!(mean.abs() < 1e-12, "channel {c}: mean {mean}");
        // eps = 1e-5 against a variance of 0.25 or more: 1 - var < 1e-4.
        assert!((var - 1.0).abs() < 1e-4, "channel {c}: variance {var}");
    }
}

#[test]
fn delta_orthogonal_kernels_keep_every_samples_norm_through_fifty_convolutions() {
    // Only the centre tap is non-zero: each pixel's channels are turned by an orthogonal
    // matrix, with no mixing of pixels, so a linear network keeps each sample's norm
    // exactly, where Gaussian kernels of the same variance change it.
    let mut config = NetConfig::image(8, 6, 6);
    for _ in 0..50 {
        config = config.conv(8, 3, 1, 1);
    }
    let config = config.flatten().dense(2);
    let x = inputs(4, 288, 3);
    let head = initlab_nn::LayerInit {
        weight: Initializer::glorot_normal(),
        bias: Initializer::Zeros,
    };
    let norms_after = |weight: Initializer| {
        let init =
            NetInit::new(weight, Initializer::Zeros).with_override("layers.51", head.clone());
        let net: Net<f64> = config.build(&init, 5).unwrap();
        let stages = net.activations(x.view()).unwrap();
        let last = &stages[49];
        last.axis_iter(Axis(0))
            .zip(x.axis_iter(Axis(0)))
            .map(|(y, x)| y.dot(&y).sqrt() / x.dot(&x).sqrt())
            .collect::<Vec<_>>()
    };
    for ratio in norms_after(Initializer::delta_orthogonal(1.0)) {
        assert!(
            (ratio - 1.0).abs() < 1e-12,
            "delta-orthogonal: norm ratio {ratio}"
        );
    }
    // The same variance, 1 / (8 * 9) per entry, drawn Gaussian.
    let gaussian = norms_after(Initializer::normal(0.0, (1.0f64 / 72.0).sqrt()));
    assert!(
        gaussian.iter().any(|r| (r - 1.0).abs() > 0.1),
        "Gaussian kernels change the norm: {gaussian:?}"
    );
}

/// 4 classes of 1x8x8 images: a bright square in one quadrant, on noise.
fn quadrants(rows: usize) -> (Array2<f32>, Vec<usize>) {
    let mut x: Array2<f32> = Initializer::normal(0.0, 0.5)
        .sample((rows, 64), RngKey::new(7))
        .unwrap();
    let labels: Vec<usize> = (0..rows).map(|i| i % 4).collect();
    for (mut row, &y) in x.rows_mut().into_iter().zip(&labels) {
        let (top, left) = (4 * (y / 2), 4 * (y % 2));
        for i in top..top + 4 {
            for j in left..left + 4 {
                row[i * 8 + j] += 1.5;
            }
        }
    }
    (x, labels)
}

/// Every kind of image layer at once.
fn cnn() -> NetConfig {
    let block = LayerSpec::Residual {
        branch: vec![
            conv(8, [3, 3], [1, 1], [1, 1]),
            Norm::Batch.spec(),
            LayerSpec::Activation {
                activation: Activation::Relu,
            },
            conv(8, [3, 3], [1, 1], [1, 1]),
        ],
        alpha: Alpha::learnable(0.5),
    };
    NetConfig::image(1, 8, 8)
        .conv(8, 3, 1, 1)
        .norm(Norm::Batch)
        .activation(Activation::Relu)
        .push(block)
        .push(LayerSpec::MaxPool {
            kernel: [2, 2],
            stride: [2, 2],
        })
        .push(LayerSpec::Conv2d {
            channels: 8,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            groups: 8,
        })
        .activation(Activation::Tanh)
        .global_average_pool()
        .flatten()
        .dense(4)
}

fn trained_on_threads(threads: usize) -> Net<f32> {
    let (x, y) = quadrants(200);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let init = NetInit::new(
            Initializer::he_normal(Nonlinearity::Relu),
            Initializer::Zeros,
        );
        let mut net = cnn().build(&init, 3).unwrap();
        // Batch 64: a partial last batch, and more samples than a gradient chunk.
        let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01))
            .with_batch_size(64)
            .with_epochs(4);
        let history = Trainer::new(&net, config)
            .unwrap()
            .train(&mut net, x.view(), Targets::Classes(&y), |_, _| {})
            .unwrap();
        assert_eq!(history.status, Status::Completed);
        net
    })
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

#[test]
fn a_cnn_trains_bitwise_identically_on_one_two_and_four_threads() {
    let one = trained_on_threads(1);
    for threads in [2, 4] {
        let many = trained_on_threads(threads);
        assert!(
            same_bits(one.parameters(), many.parameters()),
            "parameters, 1 vs {threads} threads"
        );
        assert!(
            same_bits(one.buffers(), many.buffers()),
            "running averages, 1 vs {threads} threads"
        );
    }
    // And it learned the quadrants, on images it has not seen.
    let (x, y) = quadrants(400);
    let unseen = x.slice(ndarray::s![200.., ..]);
    let accuracy = one.accuracy(unseen, &y[200..]).unwrap();
    assert!(accuracy > 0.9, "accuracy on unseen images {accuracy}");
}

#[test]
fn a_cnn_saves_and_loads_with_its_image_shape() {
    let net = trained_on_threads(2);
    let dir = std::env::temp_dir().join(format!("initlab-conv-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn.safetensors");
    net.save(&path).unwrap();
    let loaded = Net::<f32>::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(loaded.config(), net.config());
    assert_eq!(loaded.config().image, Some(Image::new(1, 8, 8)));
    assert!(same_bits(loaded.parameters(), net.parameters()));
    assert!(same_bits(loaded.buffers(), net.buffers()));
    let conv = &net.named_parameters()[0];
    assert_eq!(
        (conv.0.as_str(), conv.1.shape()),
        ("layers.0.weight", &[8, 1, 3, 3][..])
    );
}

fn refused(config: NetConfig) -> (String, String) {
    match config.output() {
        Err(NnError::Layer { path, problem }) => (path, problem),
        other => panic!("expected a layer error, got {other:?}"),
    }
}

#[test]
fn shapes_that_do_not_fit_are_refused_naming_the_layer() {
    let (path, problem) = refused(NetConfig::image(1, 8, 8).conv(4, 3, 1, 1).dense(10));
    assert_eq!(path, "layers.1");
    assert!(
        problem.contains("put a flatten layer before it"),
        "{problem}"
    );

    let (path, problem) = refused(NetConfig::new(64).conv(4, 3, 1, 1));
    assert_eq!(path, "layers.0");
    assert!(problem.contains("takes an image"), "{problem}");

    let (path, problem) = refused(NetConfig::image(1, 8, 8).conv(4, 11, 1, 1));
    assert_eq!(path, "layers.0");
    assert!(problem.contains("larger than the input"), "{problem}");

    let grouped = LayerSpec::Conv2d {
        channels: 4,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        groups: 3,
    };
    let (path, problem) = refused(NetConfig::image(2, 8, 8).push(grouped));
    assert_eq!(path, "layers.0");
    assert!(problem.contains("3 groups do not divide"), "{problem}");

    // A branch that halves the image cannot be added to its input.
    let branch = LayerSpec::Residual {
        branch: vec![conv(4, [3, 3], [2, 2], [1, 1])],
        alpha: Alpha::fixed(1.0),
    };
    let (path, problem) = refused(NetConfig::image(4, 8, 8).push(branch));
    assert_eq!(path, "layers.0");
    assert!(
        problem.contains("ends at image 4x4x4; expected its input's image 4x8x8"),
        "{problem}"
    );

    let pool = LayerSpec::MaxPool {
        kernel: [9, 2],
        stride: [1, 1],
    };
    let (path, _) = refused(NetConfig::image(1, 8, 8).conv(2, 3, 1, 1).push(pool));
    assert_eq!(path, "layers.1");

    let mut mismatched = NetConfig::image(1, 8, 8).flatten().dense(2);
    mismatched.input = 63;
    assert!(matches!(
        mismatched.output(),
        Err(NnError::Config { field: "image", .. })
    ));
}

#[test]
fn delta_orthogonal_needs_as_many_outputs_as_inputs_per_group() {
    let config = NetConfig::image(8, 6, 6)
        .conv(4, 3, 1, 1)
        .flatten()
        .dense(2);
    let init = NetInit::new(Initializer::delta_orthogonal(1.0), Initializer::Zeros).with_override(
        "layers.2",
        initlab_nn::LayerInit {
            weight: Initializer::glorot_normal(),
            bias: Initializer::Zeros,
        },
    );
    match config.build::<f32>(&init, 0) {
        Err(NnError::Init { tensor, source }) => {
            assert_eq!(tensor, "layers.0.weight");
            assert!(source.to_string().contains("out"), "{source}");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    // Depthwise: one channel in and out per group, which delta-orthogonal takes.
    let depthwise = LayerSpec::Conv2d {
        channels: 8,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        groups: 8,
    };
    let config = NetConfig::image(8, 6, 6).push(depthwise).flatten().dense(2);
    let net: Net<f64> = config.build(&init, 0).unwrap();
    let kernel = &net.named_parameters()[0].1;
    for c in 0..8 {
        assert_eq!(
            kernel[[c, 0, 1, 1]].abs(),
            1.0,
            "a 1x1 orthogonal matrix is ±1"
        );
        assert_eq!(kernel[[c, 0, 0, 0]], 0.0, "off the centre, zero");
    }
}

#[test]
fn the_input_jacobian_matches_finite_differences() {
    let block = LayerSpec::Residual {
        branch: vec![tanh(), conv(3, [3, 3], [1, 1], [1, 1]), Norm::Layer.spec()],
        alpha: Alpha::fixed(0.5),
    };
    let layers = vec![
        conv(3, [3, 3], [2, 1], [1, 1]),
        tanh(),
        block,
        LayerSpec::MaxPool {
            kernel: [2, 2],
            stride: [1, 1],
        },
    ];
    let (net, x) = net_with(layers, 60);
    let x = x.row(0);
    let j = net.input_jacobian(x).unwrap();
    assert_eq!(j.dim(), (3, 60));
    let h = 1e-6;
    for k in 0..60 {
        let mut plus = x.to_owned();
        plus[k] += h;
        let mut minus = x.to_owned();
        minus[k] -= h;
        let at = |v: &ndarray::Array1<f64>| {
            net.predict(v.view().insert_axis(Axis(0)))
                .unwrap()
                .row(0)
                .to_owned()
        };
        let numeric = (at(&plus) - at(&minus)) / (2.0 * h);
        for (i, (&n, &a)) in numeric.iter().zip(j.column(k)).enumerate() {
            assert!(
                (n - a).abs() < 1e-7,
                "d logit {i} / d x{k}: numeric {n:e}, jacobian {a:e}"
            );
        }
    }
}

#[test]
fn the_input_jacobian_refuses_batch_norm_which_couples_the_copies() {
    let (net, x) = net_with(
        vec![conv(3, [3, 3], [1, 1], [1, 1]), Norm::Batch.spec()],
        61,
    );
    assert!(matches!(
        net.input_jacobian(x.row(0)),
        Err(NnError::Config {
            field: "network",
            ..
        })
    ));
}

#[test]
fn delta_orthogonal_keeps_the_jacobians_singular_values_at_one_where_gaussian_spreads_them() {
    // 20 linear 3x3 convolutions of 8 channels on 8x8 images: a 512 x 512 Jacobian.
    let mut config = NetConfig::image(8, 8, 8);
    for _ in 0..20 {
        config = config.conv(8, 3, 1, 1);
    }
    let config = config.flatten();
    let x = inputs(1, 512, 4);
    let spectrum = |weight: Initializer| {
        let net: Net<f64> = config
            .build(&NetInit::new(weight, Initializer::Zeros), 6)
            .unwrap();
        initlab_nn::singular_values(net.input_jacobian(x.row(0)).unwrap().view())
    };
    let delta = spectrum(Initializer::delta_orthogonal(1.0));
    assert_eq!(delta.len(), 512);
    assert!(
        delta.iter().all(|s| (s - 1.0).abs() < 1e-10),
        "delta-orthogonal: {:?}",
        &delta[..4]
    );
    // The same weight variance, 1 / (8 * 9), drawn Gaussian.
    let gaussian = spectrum(Initializer::normal(0.0, (1.0f64 / 72.0).sqrt()));
    // Spread over orders of magnitude (measured: the largest 2.1, the median 1e-4, 444
    // of 512 below 0.1): most directions of the input die out, a few grow.
    let below_a_tenth = gaussian.iter().filter(|&&s| s < 0.1).count();
    assert!(
        gaussian[0] > 1.0 && below_a_tenth > 256,
        "Gaussian: largest {}, {below_a_tenth} of 512 below 0.1",
        gaussian[0]
    );
}

#[test]
fn deep_networks_evaluate_in_smaller_chunks() {
    let shallow = NetConfig::image(1, 8, 8)
        .push(conv(8, [3, 3], [1, 1], [1, 1]))
        .activation(Activation::Tanh)
        .flatten()
        .dense(10);
    assert_eq!(shallow.evaluation_rows(), 512);
    // 300 convolutions of 16 channels on 28x28, each with its activation: 2 x 12,544
    // values a row per layer.
    let deep = (0..300).fold(NetConfig::image(1, 28, 28), |config, _| {
        config
            .push(conv(16, [3, 3], [1, 1], [1, 1]))
            .activation(Activation::Tanh)
    });
    let per_row = 784 + 300 * 2 * 16 * 28 * 28;
    assert_eq!(
        deep.evaluation_rows(),
        initlab_nn::net::EVALUATION_VALUES / per_row
    );
    assert_eq!(deep.evaluation_rows(), 8);
    let huge = (0..3000).fold(NetConfig::image(1, 28, 28), |config, _| {
        config.push(conv(64, [3, 3], [1, 1], [1, 1]))
    });
    assert_eq!(huge.evaluation_rows(), 1);
}

#[test]
fn gemm_shapes_count_every_products_rows() {
    let config = NetConfig::image(4, 8, 8)
        .push(LayerSpec::Conv2d {
            channels: 6,
            kernel: [3, 3],
            stride: [2, 2],
            padding: [1, 1],
            groups: 2,
        })
        .activation(Activation::Relu)
        .flatten()
        .dense(10);
    let shapes = config.gemm_shapes();
    assert_eq!(shapes.len(), 2);
    // Two groups, each 2 input channels · 3x3 taps to 3 output channels, on 4x4 pixels.
    let conv = shapes[0];
    assert_eq!(
        (conv.rows, conv.inner, conv.outer, conv.count),
        (16, 18, 3, 2)
    );
    let dense = shapes[1];
    assert_eq!(
        (dense.rows, dense.inner, dense.outer, dense.count),
        (1, 96, 10, 1)
    );
}
