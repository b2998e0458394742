//! Networks of residual blocks and normalization: the plain case is the MLP bit for bit,
//! BatchNorm training is bitwise identical on any thread count, the schemes compute what
//! their papers say at initialization, and bad descriptions are errors naming the layer.

use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::net::{
    Alpha, BranchInit, LayerSpec, Net, NetConfig, NetInit, Norm, Ordering, ResidualBlock,
};
use initlab_nn::{
    Activation, Loss, LrScale, MlpConfig, NnError, Optimizer, Status, Targets, TrainConfig, Trainer,
};
use ndarray::{Array2, Axis};

/// Two Gaussian blobs per class, 3 classes, 8 features (as the trainer's tests).
fn blobs(rows: usize) -> (Array2<f32>, Vec<usize>) {
    let mut x: Array2<f32> = Initializer::normal(0.0, 1.0)
        .sample((rows, 8), RngKey::new(99))
        .unwrap();
    let labels: Vec<usize> = (0..rows).map(|i| i % 3).collect();
    for (mut row, &y) in x.rows_mut().into_iter().zip(&labels) {
        row[y] += 3.0;
        row[y + 3] -= 2.0;
    }
    (x, labels)
}

fn he() -> NetInit {
    NetInit::new(
        Initializer::he_normal(Nonlinearity::Relu),
        Initializer::Zeros,
    )
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// The same function as `config`, run by the general passes: a trailing identity keeps it
/// from being a plain stack, which runs the plain-stack passes (whole layers, row chunks).
fn general(config: NetConfig) -> NetConfig {
    config.activation(Activation::Identity)
}

#[test]
fn a_plain_stack_and_the_general_passes_draw_and_train_alike() {
    // Widths past the block sizes, so blocked products are compared too.
    let hidden = [initlab_nn::GRAD_ROWS + 44, initlab_nn::UNIT_BLOCK + 32];
    let (x, y) = blobs(300);
    let plain_config = NetConfig::plain(8, &hidden, Activation::Relu, None, 3);
    assert_eq!(
        MlpConfig::new(8, hidden.to_vec(), 3).to_net_config(),
        plain_config,
        "the MLP shorthand"
    );
    let mut plain: Net<f32> = plain_config.clone().build(&he(), 2).unwrap();
    let mut net: Net<f32> = general(plain_config).build(&he(), 2).unwrap();
    assert!(
        same_bits(plain.parameters(), net.parameters()),
        "the same draws"
    );
    // One row chunk a batch (100 <= 128 rows): the same products in the same order.
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01))
        .with_batch_size(100)
        .with_epochs(2);
    let targets = Targets::Classes(&y);
    let a = Trainer::new(&plain, config.clone())
        .unwrap()
        .train(&mut plain, x.view(), targets, |_, _| {})
        .unwrap();
    let b = Trainer::new(&net, config)
        .unwrap()
        .train(&mut net, x.view(), targets, |_, _| {})
        .unwrap();
    assert_eq!(a, b);
    assert!(
        same_bits(plain.parameters(), net.parameters()),
        "the same training"
    );
    // Prediction blocks its products differently (the plain stack in one piece): f32
    // rounding.
    let (p, q) = (
        plain.predict(x.view()).unwrap(),
        net.predict(x.view()).unwrap(),
    );
    assert!(
        p.iter()
            .zip(&q)
            .all(|(a, b)| (a - b).abs() <= 1e-5 * a.abs().max(1.0)),
        "{p} vs {q}"
    );
}

/// Every kind of layer, widths past the blocks of BatchNorm (32 features), of the dense
/// products and of the weight gradients.
fn everything() -> NetConfig {
    let wide = initlab_nn::GRAD_ROWS + 44;
    let post = ResidualBlock::new(wide, 2, Activation::Relu, Ordering::PostActivation)
        .with_norm(Norm::Batch)
        .with_alpha(Alpha::learnable(0.5));
    let pre = ResidualBlock::new(wide, 2, Activation::Tanh, Ordering::PreActivation)
        .with_norm(Norm::Layer);
    NetConfig::new(8)
        .dense(wide)
        .norm(Norm::Batch)
        .activation(Activation::Relu)
        .blocks(post, 2)
        .blocks(pre, 1)
        .norm(Norm::Layer)
        .dense(3)
}

fn trained_on_threads(threads: usize) -> Net<f32> {
    let (x, y) = blobs(500);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut net = everything().build(&he(), 3).unwrap();
        // Batch 200 (more than one row chunk of the MLP trainer) and a partial last batch.
        let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01))
            .with_batch_size(200)
            .with_epochs(3);
        let history = Trainer::new(&net, config)
            .unwrap()
            .train(&mut net, x.view(), Targets::Classes(&y), |_, _| {})
            .unwrap();
        assert_eq!(history.status, Status::Completed);
        net
    })
}

#[test]
fn batch_norm_training_is_bitwise_identical_on_one_two_and_four_threads() {
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
    let fresh = everything().build::<f32>(&he(), 3).unwrap();
    assert!(
        !same_bits(one.parameters(), fresh.parameters()),
        "training changed the weights"
    );
    assert!(
        !same_bits(one.buffers(), fresh.buffers()),
        "training moved the running averages"
    );
}

#[test]
fn a_normalized_residual_net_learns() {
    let (x, y) = blobs(600);
    let mut net: Net<f32> = everything().build(&he(), 4).unwrap();
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.05))
        .with_batch_size(32)
        .with_epochs(5);
    let history = Trainer::new(&net, config)
        .unwrap()
        .train(&mut net, x.view(), Targets::Classes(&y), |_, _| {})
        .unwrap();
    let losses = &history.epoch_losses;
    assert!(losses[4] < 0.5 * losses[0], "{losses:?}");
    assert!(net.accuracy(x.view(), &y).unwrap() > 0.95);
}

/// Per-layer learning rates on a residual net with BatchNorm: one multiplier per dense layer
/// (branches included, in forward order) for its weight and bias; other tensors at 1.
#[test]
fn per_layer_learning_rates_train_a_residual_normalized_net() {
    let (x, y) = blobs(200);
    let net: Net<f32> = everything().build(&he(), 4).unwrap();
    let dense: Vec<String> = net
        .tensors()
        .iter()
        .filter(|t| t.shape.len() == 2)
        .map(|t| t.name.trim_end_matches(".weight").to_owned())
        .collect();
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01))
        .with_batch_size(50)
        .with_epochs(2);
    let train = |scales: Vec<LrScale>| {
        let mut net = net.clone();
        Trainer::new(&net, config.clone().with_lr_scales(scales))
            .unwrap()
            .train(&mut net, x.view(), Targets::Classes(&y), |_, _| {})
            .unwrap();
        net
    };
    let plain = train(Vec::new());
    let ones = train(vec![LrScale::ONE; dense.len()]);
    assert!(
        same_bits(plain.parameters(), ones.parameters()),
        "1 is the configured rate"
    );
    // The second dense layer frozen, the first one's bias too; everything else trains.
    let mut scales = vec![LrScale::ONE; dense.len()];
    scales[1] = LrScale {
        weight: 0.0,
        bias: 0.0,
    };
    scales[0].bias = 0.0;
    let frozen = train(scales);
    for ((name, before), (_, after)) in net.named_parameters().iter().zip(frozen.named_parameters())
    {
        let moved = before.iter().zip(after.iter()).any(|(a, b)| a != b);
        let kept = name.starts_with(&dense[1]) || *name == format!("{}.bias", dense[0]);
        assert_eq!(moved, !kept, "{name}");
    }
    let err = Trainer::new(&net, config.with_lr_scales(vec![LrScale::ONE; 2])).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("2 multipliers for {} dense layers", dense.len())),
        "{err}"
    );
}

#[test]
fn batch_norm_keeps_pytorchs_running_averages_and_evaluates_on_them() {
    let x = ndarray::array![[1.0, 2.0], [3.0, -2.0], [5.0, 0.5], [-1.0, 0.0]];
    let config = NetConfig::new(2).norm(Norm::Batch).dense(2);
    let mut net: Net<f64> = config.build(&he(), 5).unwrap();
    let y = [0, 1, 0, 1];
    let train =
        TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(1e-3)).with_batch_size(4);
    Trainer::new(&net, train)
        .unwrap()
        .train_batch(&mut net, x.view(), Targets::Classes(&y))
        .unwrap()
        .unwrap();
    let mean = x.mean_axis(Axis(0)).unwrap();
    let unbiased = x.var_axis(Axis(0), 1.0);
    let buffers = net.named_buffers();
    assert_eq!(buffers[0].0, "layers.0.running_mean");
    assert_eq!(buffers[1].0, "layers.0.running_var");
    for j in 0..2 {
        assert!((buffers[0].1[j] - 0.1 * mean[j]).abs() < 1e-15);
        assert!((buffers[1].1[j] - (0.9 + 0.1 * unbiased[j])).abs() < 1e-14);
    }
    // Evaluation normalizes by the running averages, whatever the batch.
    let (rm, rv) = (buffers[0].1.to_owned(), buffers[1].1.to_owned());
    let p = net.parameters();
    let (gain, bias) = (&p[0..2], &p[2..4]);
    let row = x.row(1);
    let normalized: Vec<f64> = (0..2)
        .map(|j| gain[j] * (row[j] - rm[j]) / (rv[j] + 1e-5).sqrt() + bias[j])
        .collect();
    let (w, b) = (&p[4..8], &p[8..10]);
    let expected: Vec<f64> = (0..2)
        .map(|o| w[2 * o] * normalized[0] + w[2 * o + 1] * normalized[1] + b[o])
        .collect();
    let one = net.predict(x.slice(ndarray::s![1..2, ..])).unwrap();
    for o in 0..2 {
        assert!(
            (one[[0, o]] - expected[o]).abs() < 1e-12,
            "{one} vs {expected:?}"
        );
    }
}

fn probe(rows: usize, width: usize) -> Array2<f64> {
    Initializer::normal(0.0, 1.0)
        .sample((rows, width), RngKey::new(7))
        .unwrap()
}

#[test]
fn skipinit_and_rezero_blocks_are_the_identity_at_init() {
    let x = probe(16, 24);
    for ordering in [Ordering::PreActivation, Ordering::PostActivation] {
        let block = ResidualBlock::new(24, 2, Activation::Relu, ordering);
        let net: Net<f64> = NetConfig::new(24)
            .blocks(block, 12)
            .with_alpha(Alpha::learnable(0.0))
            .build(&he(), 1)
            .unwrap();
        let expected = match ordering {
            // x + 0 · branch(x), twelve times.
            Ordering::PreActivation => x.clone(),
            // relu(x + 0 · branch(x)): relu once, then the identity on what is left.
            Ordering::PostActivation => x.mapv(|v| v.max(0.0)),
        };
        assert_eq!(net.predict(x.view()).unwrap(), expected, "{ordering:?}");
    }
}

#[test]
fn zero_last_layer_and_zero_gamma_blocks_start_as_the_identity_or_its_activation() {
    let x = probe(16, 24);
    let block = ResidualBlock::new(24, 3, Activation::Tanh, Ordering::PreActivation);
    let net: Net<f64> = NetConfig::new(24)
        .blocks(block, 6)
        .build(&he().with_branch(BranchInit::ZeroLast), 1)
        .unwrap();
    assert_eq!(net.predict(x.view()).unwrap(), x);
    let block = ResidualBlock::new(24, 2, Activation::Relu, Ordering::PostActivation)
        .with_norm(Norm::Batch);
    let net: Net<f64> = NetConfig::new(24)
        .blocks(block, 6)
        .with_zero_gamma()
        .build(&he(), 1)
        .unwrap();
    assert_eq!(net.predict(x.view()).unwrap(), x.mapv(|v| v.max(0.0)));
}

/// Sample variance of a tensor and its standard error for normal values,
/// `var · sqrt(2 / (n - 1))`.
fn variance(net: &Net<f64>, name: &str) -> (f64, f64, usize) {
    let (_, values) = net
        .named_parameters()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap();
    let n = values.len();
    let var = values.iter().map(|v| v * v).sum::<f64>() / n as f64;
    (
        var,
        var * (2.0 / (n as f64 - 1.0)).sqrt(),
        values.shape()[1],
    )
}

#[test]
fn fixup_scales_the_branches_and_zeroes_their_last_layers_and_the_output() {
    let blocks = 16;
    let block = ResidualBlock::new(64, 2, Activation::Relu, Ordering::PreActivation)
        .with_alpha(Alpha::learnable(1.0));
    let config = NetConfig::new(32).dense(64).blocks(block, blocks).dense(10);
    let net: Net<f64> = config
        .build(&he().with_branch(BranchInit::Fixup), 1)
        .unwrap();
    for b in [1, 8, 16] {
        // He's 2 / fan_in, times L^(-1/(m-1)) = 1/16.
        let (var, se, fan_in) = variance(&net, &format!("layers.{b}.branch.1.weight"));
        let expected = 2.0 / fan_in as f64 / blocks as f64;
        assert!(
            (var - expected).abs() < 4.0 * se,
            "block {b}: {var} vs {expected} ± {se}"
        );
        assert_eq!(
            variance(&net, &format!("layers.{b}.branch.3.weight")).0,
            0.0
        );
    }
    assert_eq!(
        variance(&net, "layers.17.weight").0,
        0.0,
        "the output layer"
    );
    let x = probe(8, 32);
    assert!(net.predict(x.view()).unwrap().iter().all(|&v| v == 0.0));
}

#[test]
fn gpt2_scales_each_projection_by_one_over_root_2l() {
    let blocks = 12;
    let block =
        ResidualBlock::new(96, 2, Activation::Gelu, Ordering::PreActivation).with_norm(Norm::Layer);
    let config = NetConfig::new(96).blocks(block, blocks);
    let init = NetInit::new(Initializer::normal(0.0, 0.02), Initializer::Zeros)
        .with_branch(BranchInit::Gpt2 { std: 0.02 });
    let net: Net<f64> = config.build(&init, 1).unwrap();
    let (var, se, _) = variance(&net, "layers.5.branch.5.weight");
    let expected = 0.02_f64.powi(2) / (2.0 * blocks as f64);
    assert!(
        (var - expected).abs() < 4.0 * se,
        "{var} vs {expected} ± {se}"
    );
    let (var, se, _) = variance(&net, "layers.5.branch.2.weight");
    assert!(
        (var - 0.02_f64.powi(2)).abs() < 4.0 * se,
        "the first layer keeps N(0, 0.02²)"
    );
}

#[test]
fn bad_descriptions_are_errors_naming_the_layer() {
    let message = |config: NetConfig| config.build::<f32>(&he(), 0).unwrap_err().to_string();
    let short = LayerSpec::Residual {
        branch: vec![LayerSpec::Dense { width: 3 }],
        alpha: Alpha::fixed(1.0),
    };
    let text = message(NetConfig::new(4).dense(5).push(short).dense(2));
    assert!(
        text.starts_with("layers.1:") && text.contains("width 3") && text.contains("width 5"),
        "{text}"
    );
    let text = message(NetConfig::new(4).push(LayerSpec::Residual {
        branch: vec![LayerSpec::BatchNorm {
            eps: 1e-5,
            momentum: 1.5,
            gain: 1.0,
        }],
        alpha: Alpha::fixed(1.0),
    }));
    assert!(
        text.starts_with("layers.0.branch.0:") && text.contains("momentum"),
        "{text}"
    );
    let text = message(NetConfig::new(4).dense(0));
    assert!(
        text.starts_with("layers.0:") && text.contains("width = 0"),
        "{text}"
    );
    let text = message(NetConfig::new(4).push(LayerSpec::LayerNorm {
        eps: 0.0,
        gain: 1.0,
    }));
    assert!(text.contains("eps = 0"), "{text}");
    assert!(matches!(
        NetConfig::new(4).build::<f32>(&he(), 0),
        Err(NnError::Config {
            field: "layers",
            ..
        })
    ));
    let text = message(
        NetConfig::new(4)
            .dense(4)
            .blocks(
                ResidualBlock::new(4, 1, Activation::Relu, Ordering::PreActivation),
                1,
            )
            .with_alpha(Alpha::fixed(f64::NAN)),
    );
    assert!(text.contains("alpha = NaN"), "{text}");

    let net: Net<f32> = NetConfig::plain(8, &[4], Activation::Relu, None, 3)
        .build(&he(), 0)
        .unwrap();
    let other: Net<f32> = NetConfig::plain(8, &[5], Activation::Relu, None, 3)
        .build(&he(), 0)
        .unwrap();
    let (x, y) = blobs(10);
    let mut trainer = Trainer::new(
        &net,
        TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1)),
    )
    .unwrap();
    let mut other = other;
    let err = trainer
        .train(&mut other, x.view(), Targets::Classes(&y), |_, _| {})
        .unwrap_err();
    assert!(
        err.to_string().contains("this Trainer was built for"),
        "{err}"
    );
    let err = net.predict(x.slice(ndarray::s![.., ..5])).unwrap_err();
    assert!(matches!(
        err,
        NnError::InputWidth {
            expected: 8,
            got: 5
        }
    ));
    let err = net.accuracy(x.view(), &[3; 10]).unwrap_err();
    assert!(matches!(err, NnError::LabelOutOfRange { label: 3, .. }));
}

#[test]
fn a_net_saves_and_loads_with_its_running_averages_and_multipliers() {
    let net = trained_on_threads(2);
    let dir = std::env::temp_dir().join(format!("initlab-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.safetensors");
    net.save(&path).unwrap();
    let back = Net::<f32>::load(&path).unwrap();
    assert_eq!(back, net);
    assert!(
        back.tensors()
            .iter()
            .any(|t| t.name == "layers.3.alpha" && t.shape.is_empty())
    );
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("initlab.net_config"));
    let err = Net::<f64>::load(&path).unwrap_err().to_string();
    assert!(err.contains("dtype F32; expected F64"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plain_stacks_layers_are_diagnosed_as_the_general_passes_stages() {
    let x = probe(64, 12);
    let y: Vec<usize> = (0..64).map(|i| i % 3).collect();
    let targets = Targets::Classes(&y);
    let init = NetInit::new(
        Initializer::normal(0.0, 0.4),
        Initializer::uniform(-0.1, 0.1),
    );
    let config = NetConfig::plain(12, &[20, 16], Activation::Tanh, None, 3);
    let plain: Net<f64> = config.clone().build(&init, 3).unwrap();
    let net: Net<f64> = general(config).build(&init, 3).unwrap();
    let a =
        initlab_nn::net::diagnose(&plain, x.view(), targets, Loss::SoftmaxCrossEntropy, 4).unwrap();
    let b =
        initlab_nn::net::diagnose(&net, x.view(), targets, Loss::SoftmaxCrossEntropy, 4).unwrap();
    assert_eq!(a.len(), b.len());
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-12 * p.abs().max(1.0);
    for (l, (a, b)) in a.iter().zip(&b).enumerate() {
        for (name, p, q) in [
            ("pre_std", a.pre_std, b.pre_std),
            ("post_mean", a.post_mean, b.post_mean),
            ("post_std", a.post_std, b.post_std),
            ("saturated", a.saturated_fraction, b.saturated_fraction),
            ("weight_grad_norm", a.weight_grad_norm, b.weight_grad_norm),
            (
                "backprop_grad_std",
                a.backprop_grad_std,
                b.backprop_grad_std,
            ),
            ("update_ratio", a.update_ratio, b.update_ratio),
            (
                "jacobian",
                a.jacobian_mean_singular_value.unwrap(),
                b.jacobian_mean_singular_value.unwrap(),
            ),
        ] {
            assert!(close(p, q), "layer {l} {name}: {p} vs {q}");
        }
        assert_eq!(a.duplicate_units, b.duplicate_units);
    }
}

#[test]
fn he_without_normalization_doubles_a_residual_streams_variance_per_block_and_skipinit_keeps_it() {
    // Pre-activation blocks of two He layers: each adds a branch of the stream's variance
    // (relu halves it, He doubles it back), so block l's output has about 2^l times the
    // input's second moment; with α = 0 every block passes the input through.
    let x = probe(256, 128);
    let y: Vec<usize> = (0..256).map(|i| i % 2).collect();
    let block = ResidualBlock::new(128, 2, Activation::Relu, Ordering::PreActivation);
    let config = NetConfig::new(128).blocks(block, 8).dense(2);
    let he_net: Net<f64> = config.build(&he(), 11).unwrap();
    let skip: Net<f64> = config
        .clone()
        .with_alpha(Alpha::learnable(0.0))
        .build(&he(), 11)
        .unwrap();
    let targets = Targets::Classes(&y);
    let stages = |net: &Net<f64>| {
        initlab_nn::net::diagnose(net, x.view(), targets, Loss::SoftmaxCrossEntropy, 0).unwrap()
    };
    let (a, b) = (stages(&he_net), stages(&skip));
    let input = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let second = |d: &initlab_nn::LayerDiagnostics| d.post_std.powi(2) + d.post_mean.powi(2);
    // Each block's factor is one draw of its weights: compare the mean log factor with
    // ln 2 within four standard errors of the eight draws.
    let moments: Vec<f64> = std::iter::once(input)
        .chain(a[..8].iter().map(second))
        .collect();
    let logs: Vec<f64> = moments.windows(2).map(|m| (m[1] / m[0]).ln()).collect();
    let mean = logs.iter().sum::<f64>() / 8.0;
    let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / 7.0).sqrt();
    assert!(
        (mean - 2f64.ln()).abs() < 4.0 * sd / 8f64.sqrt(),
        "mean factor per block {} ± {}, expected 2",
        mean.exp(),
        sd / 8f64.sqrt()
    );
    for d in &b[..8] {
        assert!(
            (second(d) - input).abs() < 1e-12,
            "SkipInit keeps the input"
        );
    }
}

#[test]
fn a_blocks_jacobian_singular_values_match_finite_differences() {
    use ndarray_linalg::SVD;
    let x = probe(3, 10);
    for (activation, ordering, alpha) in [
        (Activation::Tanh, Ordering::PreActivation, Alpha::fixed(0.7)),
        (
            Activation::Tanh,
            Ordering::PostActivation,
            Alpha::learnable(0.4),
        ),
        (
            Activation::Relu,
            Ordering::PreActivation,
            Alpha::learnable(0.0),
        ),
    ] {
        let block = ResidualBlock::new(10, 2, activation, ordering).with_alpha(alpha);
        let init = NetInit::new(
            Initializer::normal(0.0, 0.5),
            Initializer::uniform(-0.3, 0.3),
        );
        let net: Net<f64> = NetConfig::new(10).blocks(block, 1).build(&init, 8).unwrap();
        let y: Vec<usize> = vec![0; 3];
        let stages = initlab_nn::net::diagnose(
            &net,
            x.view(),
            Targets::Classes(&y),
            Loss::SoftmaxCrossEntropy,
            1,
        )
        .unwrap();
        let reported = stages[0].jacobian_mean_singular_value.unwrap();
        let h = 1e-6;
        let mut j = Array2::<f64>::zeros((10, 10));
        for k in 0..10 {
            let at = |delta: f64| {
                let mut row = x.slice(ndarray::s![0..1, ..]).to_owned();
                row[[0, k]] += delta;
                net.predict(row.view()).unwrap()
            };
            let column = (at(h) - at(-h)) / (2.0 * h);
            j.column_mut(k).assign(&column.row(0));
        }
        let (_, sigma, _) = j.svd(false, false).unwrap();
        let expected = sigma.mean().unwrap();
        assert!(
            (reported - expected).abs() < 1e-6,
            "{activation} {ordering:?} {alpha:?}: {reported} vs finite differences {expected}"
        );
        if alpha.value == 0.0 {
            assert!((reported - 1.0).abs() < 1e-12, "α = 0 is the identity");
        }
    }
}

#[test]
fn lsuv_on_a_plain_stack_is_the_general_passes_and_on_a_residual_net_sets_every_branch_layer() {
    let x = probe(256, 24);
    let config = initlab_nn::LsuvConfig::default();
    let zeros = NetInit::new(Initializer::Zeros, Initializer::Zeros);
    let stack = NetConfig::plain(24, &[40, 30], Activation::Relu, None, 5);
    let mut plain: Net<f64> = stack.clone().build(&zeros, 0).unwrap();
    let mut net: Net<f64> = general(stack).build(&zeros, 0).unwrap();
    let a = initlab_nn::lsuv(&mut plain, x.view(), config).unwrap();
    let b = initlab_nn::net::lsuv(&mut net, x.view(), config).unwrap();
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.iterations, b.iterations);
        assert!((a.final_variance - b.final_variance).abs() < 1e-12);
    }
    let close = plain
        .parameters()
        .iter()
        .zip(net.parameters())
        .all(|(p, q)| (p - q).abs() <= 1e-12 * p.abs().max(1.0));
    assert!(close, "the same orthogonal draws, rescaled alike");

    let block = ResidualBlock::new(128, 2, Activation::Relu, Ordering::PreActivation);
    let mut net: Net<f64> = NetConfig::new(24)
        .dense(128)
        .blocks(block, 6)
        .dense(5)
        .build(&zeros, 1)
        .unwrap();
    let report = initlab_nn::net::lsuv(&mut net, x.view(), config).unwrap();
    assert_eq!(report.len(), 1 + 2 * 6 + 1);
    for layer in &report {
        assert!(
            (layer.final_variance - 1.0).abs() < config.tolerance,
            "{layer:?}"
        );
    }
    // Each block adds a branch of unit variance: the stream grows linearly (about one
    // unit per block, give or take the batch's covariance between stream and branch),
    // not geometrically as with He.
    let y: Vec<usize> = (0..256).map(|i| i % 5).collect();
    let stages = initlab_nn::net::diagnose(
        &net,
        x.view(),
        Targets::Classes(&y),
        Loss::SoftmaxCrossEntropy,
        0,
    )
    .unwrap();
    let second = |d: &initlab_nn::LayerDiagnostics| d.pre_std.powi(2) + d.pre_mean.powi(2);
    let increments: Vec<f64> = stages[..7]
        .windows(2)
        .map(|w| second(&w[1]) - second(&w[0]))
        .collect();
    let n = increments.len() as f64;
    let mean = increments.iter().sum::<f64>() / n;
    let sd = (increments.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!((mean - 1.0).abs() < 4.0 * sd / n.sqrt(), "{increments:?}");
}

/// `x Wᵀ + b` per row.
fn affine(
    x: &Array2<f64>,
    (w, b): (ndarray::ArrayView2<'_, f64>, ndarray::ArrayView1<'_, f64>),
) -> Array2<f64> {
    x.dot(&w.t()) + b
}

/// LayerNorm at its initial gain 1 and bias 0 (biased variance, eps 1e-5), then ReLU.
fn layer_norm_relu(h: &Array2<f64>) -> Array2<f64> {
    let mut out = h.clone();
    for mut row in out.rows_mut() {
        let mean = row.mean().unwrap();
        let var = row.mapv(|v| (v - mean).powi(2)).mean().unwrap();
        row.mapv_inplace(|v| ((v - mean) / (var + 1e-5).sqrt()).max(0.0));
    }
    out
}

#[test]
fn each_dense_layers_input_is_what_the_layers_before_it_compute() {
    let block =
        ResidualBlock::new(5, 2, Activation::Relu, Ordering::PreActivation).with_norm(Norm::Layer);
    let config = NetConfig::new(6)
        .dense(5)
        .blocks(block, 1)
        .norm(Norm::Layer)
        .activation(Activation::Relu)
        .dense(3);
    let net: Net<f64> = config.build(&he(), 4).unwrap();
    let x = probe(7, 6);
    let inputs = net.dense_inputs(x.view()).unwrap();
    let dense = net.dense_parameters();
    assert_eq!(inputs.len(), 4);
    assert_eq!(inputs[0], x);
    let stem = affine(&x, dense[0]);
    let close = |a: &Array2<f64>, b: &Array2<f64>| {
        assert_eq!(a.dim(), b.dim());
        let worst = (a - b).iter().fold(0.0_f64, |m, d| m.max(d.abs()));
        assert!(worst < 1e-12, "off by {worst}");
    };
    // The branch: LayerNorm, ReLU, dense, twice; the stream adds it to the stem's output.
    close(&inputs[1], &layer_norm_relu(&stem));
    close(&inputs[2], &layer_norm_relu(&affine(&inputs[1], dense[1])));
    let stream = &stem + &affine(&inputs[2], dense[2]);
    close(&inputs[3], &layer_norm_relu(&stream));
    let logits = net.activations(x.view()).unwrap().pop().unwrap();
    close(&affine(&inputs[3], dense[3]), &logits);
    // A plain stack's are its inputs and each hidden layer's activations.
    let plain: Net<f64> = NetConfig::plain(6, &[5, 4], Activation::Tanh, None, 3)
        .build(&he(), 4)
        .unwrap();
    let inputs = plain.dense_inputs(x.view()).unwrap();
    let outputs = plain.activations(x.view()).unwrap();
    assert_eq!(inputs.len(), 3);
    assert_eq!(inputs[0], x);
    assert_eq!(inputs[1..], outputs[..2]);
}
