//! Backprop against central differences in f64, for every activation and loss and for a
//! 3-hidden-layer network; the fused softmax cross-entropy against its decomposition.

use initlab_init::{Initializer, RngKey};
use initlab_nn::{Activation, Loss, MlpConfig, Net, Targets};
use ndarray::{Array1, Array2, Axis};

const RELATIVE_TOLERANCE: f64 = 1e-6;

fn inputs(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    Initializer::normal(0.0, 1.0)
        .sample((rows, cols), RngKey::new(seed))
        .unwrap()
}

/// Compares every parameter's backprop gradient with `(L(p + h) - L(p - h)) / 2h`.
fn check(mut mlp: Net<f64>, x: &Array2<f64>, targets: Targets<'_, f64>, loss: Loss, label: &str) {
    let (_, grads) = mlp.loss_and_gradients(x.view(), targets, loss).unwrap();
    let h = 1e-5;
    let mut worst: f64 = 0.0;
    for tensor in mlp.tensors().to_vec() {
        let range = tensor.offset..tensor.offset + tensor.len();
        for (k, &analytic) in range.clone().zip(&grads[range]) {
            mlp.parameters_mut()[k] += h;
            let plus = mlp.loss_and_gradients(x.view(), targets, loss).unwrap().0;
            mlp.parameters_mut()[k] -= 2.0 * h;
            let minus = mlp.loss_and_gradients(x.view(), targets, loss).unwrap().0;
            mlp.parameters_mut()[k] += h;
            let numeric = (plus - minus) / (2.0 * h);
            let error = (numeric - analytic).abs() / (numeric.abs() + analytic.abs()).max(1e-8);
            worst = worst.max(error);
            let name = &tensor.name;
            assert!(
                error < RELATIVE_TOLERANCE || (numeric - analytic).abs() < 1e-10,
                "{label}: {name}[{}]: backprop {analytic:e} vs numeric {numeric:e} (relative error {error:e})",
                k - tensor.offset
            );
        }
    }
    assert!(worst.is_finite());
}

fn small_net(activation: Activation, outputs: usize, seed: u64) -> Net<f64> {
    // Biases non-zero so that ReLU-family kinks are not hit at exactly zero.
    MlpConfig::new(4, vec![5], outputs)
        .with_activation(activation)
        .build(
            &Initializer::normal(0.0, 0.7),
            &Initializer::uniform(-0.5, 0.5),
            seed,
        )
        .unwrap()
}

#[test]
fn every_activation_with_cross_entropy() {
    let x = inputs(6, 4, 1);
    let labels = [0, 1, 2, 1, 0, 2];
    for (seed, activation) in Activation::ALL.into_iter().enumerate() {
        let net = small_net(activation, 3, seed as u64 + 10);
        check(
            net,
            &x,
            Targets::Classes(&labels),
            Loss::SoftmaxCrossEntropy,
            activation.name(),
        );
    }
}

#[test]
fn every_loss() {
    let x = inputs(5, 4, 2);
    let values = inputs(5, 3, 3);
    let probabilities = values.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    let labels = [2, 0, 1, 1, 2];
    let net = || small_net(Activation::Tanh, 3, 4);
    check(
        net(),
        &x,
        Targets::Classes(&labels),
        Loss::SoftmaxCrossEntropy,
        "softmax_cross_entropy",
    );
    check(
        net(),
        &x,
        Targets::Values(values.view()),
        Loss::MeanSquaredError,
        "mse",
    );
    check(
        net(),
        &x,
        Targets::Values(probabilities.view()),
        Loss::BinaryCrossEntropyWithLogits,
        "bce_with_logits",
    );
}

#[test]
fn three_hidden_layers() {
    let x = inputs(7, 6, 5);
    let labels = [0, 1, 2, 3, 0, 1, 2];
    let config = MlpConfig::new(6, vec![8, 7, 5], 4).with_activations(vec![
        Activation::Tanh,
        Activation::Gelu,
        Activation::Selu,
    ]);
    let net = config
        .build(
            &Initializer::GlorotNormal { gain: 1.2 },
            &Initializer::uniform(-0.2, 0.2),
            6,
        )
        .unwrap();
    check(
        net,
        &x,
        Targets::Classes(&labels),
        Loss::SoftmaxCrossEntropy,
        "3 hidden layers",
    );
}

#[test]
fn fused_softmax_cross_entropy_equals_its_decomposition() {
    let logits = inputs(9, 5, 7) * 3.0;
    let labels = [0, 4, 2, 2, 1, 3, 0, 4, 1];
    let (loss, grad) =
        Loss::SoftmaxCrossEntropy.value_and_gradient(logits.view(), Targets::Classes(&labels));
    // Decomposed: softmax, then -log p[y], then (p - onehot) / rows.
    let exp = logits.mapv(f64::exp);
    let p = &exp / &exp.sum_axis(Axis(1)).insert_axis(Axis(1));
    let expected_loss = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| -p[[i, y]].ln())
        .sum::<f64>()
        / 9.0;
    let mut expected_grad = p.clone();
    for (i, &y) in labels.iter().enumerate() {
        expected_grad[[i, y]] -= 1.0;
    }
    expected_grad /= 9.0;
    assert!(
        (loss - expected_loss).abs() < 1e-13,
        "{loss} vs {expected_loss}"
    );
    let worst = (&grad - &expected_grad)
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    assert!(worst < 1e-15, "{worst:e}");
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let logits =
        Array2::from_shape_vec((2, 3), vec![1e4_f32, -1e4, 0.0, -3e4, -3e4, -3e4]).unwrap();
    let (loss, grad) =
        Loss::SoftmaxCrossEntropy.value_and_gradient(logits.view(), Targets::Classes(&[1, 0]));
    assert!(loss.is_finite() && grad.iter().all(|g| g.is_finite()));
    // Sample 0 puts all mass on class 0 but the label is 1: loss 2e4 / 2 rows.
    assert!(
        (loss - (2e4 + 3f64.ln()) / 2.0).abs() / loss < 1e-6,
        "{loss}"
    );
    let (bce, _) = Loss::BinaryCrossEntropyWithLogits.value_and_gradient(
        Array2::from_elem((1, 2), 500.0_f32).view(),
        Targets::Values(Array2::zeros((1, 2)).view()),
    );
    assert!((bce - 500.0).abs() < 1e-3, "{bce}");
}

#[test]
fn activation_derivatives_match_central_differences() {
    let xs = Array1::linspace(-3.0, 3.0, 61);
    for activation in Activation::ALL {
        for &x in xs.iter().filter(|x: &&f64| x.abs() > 1e-3) {
            let h = 1e-6;
            let numeric = (activation.apply(x + h) - activation.apply(x - h)) / (2.0 * h);
            let analytic = activation.derivative(x, activation.apply(x));
            assert!(
                (numeric - analytic).abs() < 1e-7 * (1.0 + analytic.abs()),
                "{activation} at {x}: {analytic} vs {numeric}"
            );
        }
    }
}
