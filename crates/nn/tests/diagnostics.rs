//! Diagnostics make initialization visible; LSUV reaches unit variance; weights survive a
//! save/load round trip bit for bit and a bad file names what is wrong.

use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::{Activation, Loss, LsuvConfig, MlpConfig, Net, Targets, diagnose, lsuv};
use ndarray::Array2;

fn batch(rows: usize, width: usize) -> (Array2<f64>, Vec<usize>) {
    let x = Initializer::normal(0.0, 1.0)
        .sample((rows, width), RngKey::new(5))
        .unwrap();
    (x, (0..rows).map(|i| i % 4).collect())
}

/// Diagnostics of one cross-entropy pass over the batch.
fn layer_report(
    mlp: &Net<f64>,
    x: &Array2<f64>,
    y: &[usize],
    jacobian_samples: usize,
) -> Vec<initlab_nn::LayerDiagnostics> {
    diagnose(
        mlp,
        x.view(),
        Targets::Classes(y),
        Loss::SoftmaxCrossEntropy,
        jacobian_samples,
    )
    .unwrap()
}

#[test]
fn all_zeros_gives_identical_units_and_no_hidden_gradient() {
    let (x, y) = batch(64, 10);
    let mlp = MlpConfig::deep(10, 3, 16, 4, Activation::Tanh)
        .build::<f64>(&Initializer::Zeros, &Initializer::Zeros, 0)
        .unwrap();
    let report = layer_report(&mlp, &x, &y, 0);
    for (l, layer) in report.iter().enumerate() {
        let units = mlp.dense_parameters()[l].1.len();
        assert_eq!(
            layer.duplicate_units,
            units - 1,
            "layer {l}: every unit is a copy of the first"
        );
        if l < report.len() - 1 {
            assert_eq!(
                layer.weight_grad_norm, 0.0,
                "layer {l}: a hidden weight got a gradient"
            );
        }
    }
    // Only the output layer's bias learns (toward the class frequencies).
    assert!(
        report.last().unwrap().weight_grad_norm == 0.0,
        "output weights see zero activations"
    );
}

#[test]
fn constant_init_keeps_units_identical_but_gradients_flow() {
    let (x, y) = batch(64, 10);
    let mlp = MlpConfig::deep(10, 2, 8, 4, Activation::Tanh)
        .build::<f64>(
            &Initializer::Constant { value: 0.1 },
            &Initializer::Zeros,
            0,
        )
        .unwrap();
    let report = layer_report(&mlp, &x, &y, 0);
    assert_eq!(report[0].duplicate_units, 7);
    assert!(report[0].weight_grad_norm > 0.0);
}

#[test]
fn he_init_keeps_relu_activations_alive_and_jacobian_at_its_marchenko_pastur_mean() {
    let (x, y) = batch(256, 256);
    let mlp = MlpConfig::deep(256, 6, 256, 4, Activation::Relu)
        .build::<f64>(
            &Initializer::he_normal(Nonlinearity::Relu),
            &Initializer::Zeros,
            1,
        )
        .unwrap();
    let report = layer_report(&mlp, &x, &y, 2);
    for layer in &report[..6] {
        assert!(
            (0.6..1.6).contains(&layer.pre_std),
            "pre-activation std {}",
            layer.pre_std
        );
        // Depth correlates a ReLU net's representations, so some units go quiet on a whole
        // batch even at He init (9% measured at layer 6); N(0, 1) or tiny weights differ
        // in the std above, not here.
        assert!(
            layer.dead_fraction < 0.25,
            "dead fraction {}",
            layer.dead_fraction
        );
        assert_eq!(layer.duplicate_units, 0);
        // diag(f'(z)) W keeps about half of W's 256 rows, entries N(0, 2/256): its nonzero
        // singular values are sqrt(2 mu), mu Marchenko-Pastur with ratio 1/2, and half of
        // all 256 are zero, so the mean is sqrt(2) E[sqrt(mu)] / 2 = 0.6596. The active
        // fraction varies by 0.5 / sqrt(256) per sample, 2.2% over the 2 samples: 4 of
        // those make the tolerance.
        let expected = 0.5 * 2.0_f64.sqrt() * marchenko_pastur_mean_sqrt(0.5);
        assert!((expected - 0.6596).abs() < 1e-3, "{expected}");
        let sv = layer.jacobian_mean_singular_value.unwrap();
        assert!(
            (sv - expected).abs() < 4.0 * 0.022 * expected,
            "mean singular value {sv}, expected {expected}"
        );
    }
}

/// `E[sqrt(mu)]` under the Marchenko-Pastur law of ratio `c` (variance 1), by the midpoint
/// rule on its support `[(1 - sqrt c)^2, (1 + sqrt c)^2]`.
fn marchenko_pastur_mean_sqrt(c: f64) -> f64 {
    let (a, b) = ((1.0 - c.sqrt()).powi(2), (1.0 + c.sqrt()).powi(2));
    let n = 100_000;
    let h = (b - a) / n as f64;
    (0..n)
        .map(|i| {
            let mu = a + (i as f64 + 0.5) * h;
            let density = ((b - mu) * (mu - a)).sqrt() / (2.0 * std::f64::consts::PI * c * mu);
            mu.sqrt() * density * h
        })
        .sum()
}

#[test]
fn tanh_saturates_with_large_weights() {
    let (x, y) = batch(128, 64);
    let mlp = MlpConfig::deep(64, 3, 64, 4, Activation::Tanh)
        .build::<f64>(&Initializer::normal(0.0, 1.0), &Initializer::Zeros, 2)
        .unwrap();
    let report = layer_report(&mlp, &x, &y, 0);
    // Pre-activations have std ~ sqrt(64 * E[tanh^2]) ~ 7, so P(|tanh| > 0.99) ~ 0.7.
    assert!(
        report[1].saturated_fraction > 0.6,
        "{}",
        report[1].saturated_fraction
    );
    let glorot = MlpConfig::deep(64, 3, 64, 4, Activation::Tanh)
        .build::<f64>(
            &Initializer::GlorotNormal { gain: 1.0 },
            &Initializer::Zeros,
            2,
        )
        .unwrap();
    let calm = layer_report(&glorot, &x, &y, 0);
    assert!(
        calm[1].saturated_fraction < 0.01,
        "{}",
        calm[1].saturated_fraction
    );
}

#[test]
fn lsuv_brings_every_layer_to_unit_variance() {
    let (x, _) = batch(512, 32);
    let mut mlp: Net<f64> = MlpConfig::deep(32, 10, 64, 4, Activation::Relu)
        .build(&Initializer::normal(0.0, 1.0), &Initializer::Zeros, 3)
        .unwrap();
    let report = lsuv(
        &mut mlp,
        x.view(),
        LsuvConfig {
            tolerance: 0.01,
            ..LsuvConfig::default()
        },
    )
    .unwrap();
    assert_eq!(report.len(), 11);
    for layer in &report {
        assert!((layer.final_variance - 1.0).abs() < 0.01, "{layer:?}");
        assert!(layer.iterations <= 10);
    }
    let bad = lsuv(
        &mut mlp,
        x.view(),
        LsuvConfig {
            max_iterations: 0,
            ..LsuvConfig::default()
        },
    )
    .unwrap_err();
    assert!(bad.to_string().contains("max_iterations"));
}

#[test]
fn save_and_load_round_trip_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("initlab-nn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let config = MlpConfig::new(12, vec![9, 7], 3)
        .with_activations(vec![Activation::Tanh, Activation::LeakyRelu { slope: 0.2 }]);
    let mlp: Net<f32> = config
        .build(
            &Initializer::GlorotUniform { gain: 1.0 },
            &Initializer::uniform(-0.1, 0.1),
            4,
        )
        .unwrap();
    mlp.save(&path).unwrap();
    let loaded = Net::<f32>::load(&path).unwrap();
    assert_eq!(loaded.config(), mlp.config());
    assert!(
        loaded
            .parameters()
            .iter()
            .zip(mlp.parameters())
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
    assert_eq!(loaded, mlp);

    // A model of another precision or shape is rejected, naming the tensor.
    let err = Net::<f64>::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("layers.0.weight") && err.contains("F32"),
        "{err}"
    );
    std::fs::write(&path, b"not safetensors").unwrap();
    let err = Net::<f32>::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("not a safetensors file"),
        "{err}"
    );
    let err = Net::<f32>::load(&dir.join("missing.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
