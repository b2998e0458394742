//! μP: the per-layer multipliers of Tensor Programs V's table, the standard network at the
//! base width, and per-layer learning rates applied by the trainer.

use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::mup::{parametrize, scalings};
use initlab_nn::net::NetConfig;
use initlab_nn::{
    Loss, LrScale, MlpConfig, NetInit, NnError, Optimizer, Targets, TrainConfig, Trainer,
};
use ndarray::Array2;

/// A plain ReLU stack from 20 features to 10 classes.
fn plain(hidden: &[usize]) -> NetConfig {
    MlpConfig::new(20, hidden.to_vec(), 10).to_net_config()
}

#[test]
fn multipliers_follow_the_table_for_sgd_momentum_and_adam() {
    // Hidden widths 4x and 2x the base: m = 4 into layer 1, 4 -> 2 through layer 2.
    let (target, base) = (plain(&[512, 128]), plain(&[128, 64]));
    let sgd = scalings(&target, &base, &Optimizer::sgd(0.1)).unwrap();
    // Input weights: fan_out; hidden: fan_out / fan_in; output: 1 / fan_in. Biases: fan_out.
    let expected_sgd = [(4.0, 4.0), (2.0 / 4.0, 2.0), (1.0 / 2.0, 1.0)];
    for (layer, &(weight, bias)) in sgd.iter().zip(&expected_sgd) {
        assert_eq!(layer.lr, LrScale { weight, bias });
    }
    let momentum = Optimizer::Momentum {
        lr: 0.1,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
    };
    assert_eq!(
        scalings(&target, &base, &momentum).unwrap(),
        sgd,
        "momentum is SGD's column"
    );
    let adam = scalings(&target, &base, &Optimizer::adam(1e-3)).unwrap();
    // Input weights and biases: 1; hidden and output weights: 1 / fan_in.
    let expected_adam = [(1.0, 1.0), (1.0 / 4.0, 1.0), (1.0 / 2.0, 1.0)];
    for (layer, &(weight, bias)) in adam.iter().zip(&expected_adam) {
        assert_eq!(layer.lr, LrScale { weight, bias });
    }
    // Initialization: 1/fan_in² for the output weights, relative to the initializer's
    // 1/fan_in: std / sqrt(m_in); the others as the initializer says.
    let stds: Vec<f64> = adam.iter().map(|l| l.init_std).collect();
    assert_eq!(stds, [1.0, 1.0, 1.0 / 2f64.sqrt()]);
    assert_eq!(sgd.iter().map(|l| l.init_std).collect::<Vec<_>>(), stds);
}

#[test]
fn the_output_layers_variance_is_one_over_fan_in_squared() {
    let (target, base) = (plain(&[1024, 1024]), plain(&[64, 64]));
    let lecun = NetInit::new(Initializer::LeCunNormal, Initializer::Zeros);
    let (init, _) = parametrize(&target, &base, &Optimizer::adam(1e-3), &lecun).unwrap();
    let mlp = target.build::<f64>(&init, 3).unwrap();
    let w = mlp.dense_parameters()[2].0;
    let variance = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    // LeCun's 1/fan_in times base_fan_in / fan_in: 64 / 1024².
    let expected = 64.0 / (1024.0 * 1024.0);
    let se = expected * (2.0 / (w.len() as f64 - 1.0)).sqrt();
    assert!(
        (variance - expected).abs() < 4.0 * se,
        "{variance} vs {expected} ± {se}"
    );
}

fn data() -> (Array2<f32>, Vec<usize>) {
    let x = Initializer::normal(0.0, 1.0)
        .sample((96, 20), RngKey::new(5))
        .unwrap();
    (x, (0..96).map(|i| i % 10).collect())
}

#[test]
fn at_the_base_width_mup_is_the_standard_network_bit_for_bit() {
    let target = plain(&[64, 48]);
    let he = NetInit::new(
        Initializer::he_normal(Nonlinearity::Relu),
        Initializer::Zeros,
    );
    let (x, y) = data();
    for optimizer in [Optimizer::sgd(0.05), Optimizer::adam(1e-3)] {
        let (init, lr_scales) = parametrize(&target, &target, &optimizer, &he).unwrap();
        let mut a = target.build::<f32>(&init, 7).unwrap();
        let mut b = target.build::<f32>(&he, 7).unwrap();
        assert_eq!(a, b, "the same draws");
        let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, optimizer)
            .with_batch_size(32)
            .with_epochs(2);
        assert!(lr_scales.iter().all(|s| *s == LrScale::ONE));
        let mup_config = config.clone().with_lr_scales(lr_scales);
        Trainer::new(&a, mup_config)
            .unwrap()
            .train(&mut a, x.view(), Targets::Classes(&y), |_, _| {})
            .unwrap();
        Trainer::new(&b, config)
            .unwrap()
            .train(&mut b, x.view(), Targets::Classes(&y), |_, _| {})
            .unwrap();
        assert_eq!(a, b, "{optimizer:?}: the same training");
    }
}

#[test]
fn each_layer_steps_at_its_own_learning_rate() {
    let config = MlpConfig::new(20, vec![16], 10);
    let mut mlp = config
        .build::<f64>(
            &Initializer::normal(0.0, 0.3),
            &Initializer::uniform(-0.1, 0.1),
            1,
        )
        .unwrap();
    let x: Array2<f64> = Initializer::normal(0.0, 1.0)
        .sample((8, 20), RngKey::new(2))
        .unwrap();
    let y: Vec<usize> = (0..8).collect();
    let (_, grads) = mlp
        .loss_and_gradients(x.view(), Targets::Classes(&y), Loss::SoftmaxCrossEntropy)
        .unwrap();
    let before = mlp.clone();
    let scales = vec![
        LrScale {
            weight: 3.0,
            bias: 0.5,
        },
        LrScale {
            weight: 0.25,
            bias: 0.0,
        },
    ];
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1))
        .with_batch_size(8)
        .with_lr_scales(scales.clone());
    Trainer::new(&mlp, train)
        .unwrap()
        .train_batch(&mut mlp, x.view(), Targets::Classes(&y))
        .unwrap()
        .unwrap();
    // Tensor by tensor: layer l's weight is tensor 2l, its bias 2l + 1.
    for (k, tensor) in mlp.tensors().iter().enumerate() {
        let scale = scales[k / 2];
        let multiplier = if k % 2 == 0 { scale.weight } else { scale.bias };
        let range = tensor.offset..tensor.offset + tensor.len();
        let expected = before.parameters()[range.clone()]
            .iter()
            .zip(&grads[range.clone()])
            .map(|(w, g)| w - g * (0.1 * multiplier));
        let close = expected
            .zip(&mlp.parameters()[range])
            .all(|(p, q)| (p - q).abs() < 1e-12);
        assert!(close, "{}", tensor.name);
    }
}

#[test]
fn mismatched_bases_and_multipliers_are_errors() {
    let target = plain(&[64, 64]);
    for base in [plain(&[16]), plain(&[16, 16, 16])] {
        let err = scalings(&target, &base, &Optimizer::sgd(0.1)).unwrap_err();
        assert!(
            matches!(err, NnError::Config { field: "base", .. }),
            "{err}"
        );
    }
    let other_output = MlpConfig::new(20, vec![16, 16], 3).to_net_config();
    assert!(scalings(&target, &other_output, &Optimizer::sgd(0.1)).is_err());
    // Convolutions have no μP scalings here: refused, not zipped against the dense ones.
    let cnn = |channels| {
        initlab_nn::net::NetConfig::image(1, 8, 8)
            .conv(channels, 3, 1, 1)
            .flatten()
            .dense(10)
    };
    let err = scalings(&cnn(32), &cnn(8), &Optimizer::sgd(0.1)).unwrap_err();
    assert!(
        matches!(
            err,
            NnError::Config {
                field: "target",
                ..
            }
        ),
        "{err}"
    );
    let mlp = target
        .build::<f32>(&NetInit::new(Initializer::Zeros, Initializer::Zeros), 0)
        .unwrap();
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1));
    let err = Trainer::new(&mlp, train.clone().with_lr_scales(vec![LrScale::ONE; 2])).unwrap_err();
    assert!(
        err.to_string().contains("2 multipliers for 3 layers"),
        "{err}"
    );
    let negative = vec![
        LrScale {
            weight: -1.0,
            bias: 1.0
        };
        3
    ];
    let err = Trainer::new(&mlp, train.clone().with_lr_scales(negative)).unwrap_err();
    assert!(err.to_string().contains("`lr_scales` = -1"), "{err}");
    let net =
        initlab_nn::net::NetConfig::plain(20, &[64, 64], initlab_nn::Activation::Relu, None, 10)
            .build::<f32>(
                &initlab_nn::net::NetInit::new(Initializer::Zeros, Initializer::Zeros),
                0,
            )
            .unwrap();
    let err = Trainer::new(&net, train.with_lr_scales(vec![LrScale::ONE; 2])).unwrap_err();
    assert!(
        err.to_string().contains("2 multipliers for 3 layers"),
        "{err}"
    );
}

/// A pre-activation residual net with LayerNorm, `width` wide.
fn residual(width: usize) -> initlab_nn::NetConfig {
    use initlab_nn::net::{Norm, Ordering, ResidualBlock};
    let block = ResidualBlock::new(
        width,
        2,
        initlab_nn::Activation::Relu,
        Ordering::PreActivation,
    )
    .with_norm(Norm::Layer);
    initlab_nn::NetConfig::new(20)
        .dense(width)
        .blocks(block, 2)
        .norm(Norm::Layer)
        .dense(10)
}

#[test]
fn mup_for_a_residual_net_with_layernorm_follows_the_table_and_is_standard_at_its_base() {
    let he = initlab_nn::NetInit::new(
        Initializer::he_normal(Nonlinearity::Relu),
        Initializer::Zeros,
    );
    // At the base widths every factor is 1: the same network, drawn alike.
    let (init, lr) =
        parametrize(&residual(64), &residual(64), &Optimizer::adam(1e-3), &he).unwrap();
    assert!(lr.iter().all(|&s| s == LrScale::ONE));
    let standard = residual(64).build::<f32>(&he, 5).unwrap();
    assert_eq!(residual(64).build::<f32>(&init, 5).unwrap(), standard);
    // Four times as wide, under SGD: the stem (input layer) m_out = 4, the branch layers
    // m_in = m_out = 4, the output layer m_in = 4.
    let sgd = scalings(&residual(256), &residual(64), &Optimizer::sgd(0.1)).unwrap();
    let lr: Vec<(f64, f64)> = sgd.iter().map(|s| (s.lr.weight, s.lr.bias)).collect();
    assert_eq!(
        lr,
        [
            (4.0, 4.0),
            (1.0, 4.0),
            (1.0, 4.0),
            (1.0, 4.0),
            (1.0, 4.0),
            (0.25, 1.0)
        ]
    );
    let stds: Vec<f64> = sgd.iter().map(|s| s.init_std).collect();
    assert_eq!(stds, [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]);
    // The output layer's weights at 1 / sqrt(m_in) of He's, the others He's.
    let (init, lr) =
        parametrize(&residual(256), &residual(64), &Optimizer::adam(1e-3), &he).unwrap();
    let net = residual(256).build::<f64>(&init, 5).unwrap();
    let dense = net.dense_parameters();
    let second_moment =
        |w: &ndarray::ArrayView2<'_, f64>| w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    let (output, hidden) = (second_moment(&dense[5].0), second_moment(&dense[3].0));
    // He: 2 / 256 for both fans of 256; the output layer a quarter of it. Standard error of a
    // second moment of n normal draws: sqrt(2 / n) of it.
    let expected = 2.0 / 256.0 / 4.0;
    let se = expected * (2.0 / dense[5].0.len() as f64).sqrt();
    assert!(
        (output - expected).abs() < 4.0 * se,
        "{output} vs {expected} ± {se}"
    );
    let se = 2.0 / 256.0 * (2.0 / dense[3].0.len() as f64).sqrt();
    assert!((hidden - 2.0 / 256.0).abs() < 4.0 * se, "{hidden}");
    // And it trains, with one multiplier per dense layer.
    let x: Array2<f64> = Initializer::normal(0.0, 1.0)
        .sample((64, 20), RngKey::new(3))
        .unwrap();
    let y: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(1e-3))
        .with_batch_size(32)
        .with_lr_scales(lr);
    let mut net = net;
    let history = Trainer::new(&net, train)
        .unwrap()
        .train(&mut net, x.view(), Targets::Classes(&y), |_, _| {})
        .unwrap();
    assert_eq!(history.status, initlab_nn::Status::Completed);
    // A base of another structure is refused.
    let err = scalings(
        &residual(256),
        &residual(64).dense(10),
        &Optimizer::sgd(0.1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`base`"), "{err}");
}
