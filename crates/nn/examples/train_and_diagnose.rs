//! Trains a small ReLU network with `initlab-nn` alone, on three Gaussian blobs in 20 dimensions,
//! and reads its per-layer diagnostics before and after: the spread of each layer's
//! pre-activations, its dead units, the gradient reaching it. Then the same network at
//! all-zeros, whose hidden layers get no gradient at all.
//!
//! ```text
//! cargo run -p initlab-nn --example train_and_diagnose
//! ```

use initlab_nn::init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::ndarray::Array2;
use initlab_nn::{
    Activation, LayerDiagnostics, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (x, y) = blobs(600)?;
    let config = MlpConfig::new(20, vec![64, 64], 3).with_activation(Activation::Relu);
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let mut net = config.build::<f32>(&he, &Initializer::Zeros, 0)?;
    let diagnose = |net: &initlab_nn::Net<f32>| {
        initlab_nn::diagnose(
            net,
            x.view(),
            Targets::Classes(&y),
            Loss::SoftmaxCrossEntropy,
            0,
        )
    };
    print_layers("He normal, at initialization", &diagnose(&net)?);

    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(1e-2))
        .with_batch_size(64)
        .with_epochs(10);
    let history = Trainer::new(&net, train.clone())?.train(
        &mut net,
        x.view(),
        Targets::Classes(&y),
        |_, _| {},
    )?;
    let accuracy = net.accuracy(x.view(), &y)?;
    println!(
        "trained {} steps ({:?}): loss {:.3} -> {:.3}, accuracy {accuracy:.3}",
        history.steps,
        history.status,
        history.epoch_losses.first().copied().unwrap_or(f64::NAN),
        history.epoch_losses.last().copied().unwrap_or(f64::NAN),
    );
    print_layers("He normal, after training", &diagnose(&net)?);
    if accuracy < 0.9 {
        return Err(format!("accuracy {accuracy:.3} on separable blobs").into());
    }

    // All zeros: every hidden unit computes the same thing, and no gradient reaches the
    // hidden weights (the output layer's zero weights block it).
    let zeros = config.build::<f32>(&Initializer::Zeros, &Initializer::Zeros, 0)?;
    let at_zeros = diagnose(&zeros)?;
    print_layers("all zeros, at initialization", &at_zeros);
    let hidden = &at_zeros[..at_zeros.len() - 1];
    if hidden.iter().any(|layer| layer.weight_grad_norm != 0.0) {
        return Err("a hidden layer of the all-zeros network got a gradient".into());
    }
    Ok(())
}

/// 3 classes of `rows / 3` samples each, N(0, 1) in 20 dimensions with class `c`'s mean
/// moved by +3 along axis `c` and -2 along axis `c + 3`.
fn blobs(rows: usize) -> Result<(Array2<f32>, Vec<usize>), initlab_nn::init::InitError> {
    let mut x: Array2<f32> = Initializer::normal(0.0, 1.0).sample((rows, 20), RngKey::new(1))?;
    let y: Vec<usize> = (0..rows).map(|i| i % 3).collect();
    for (mut row, &class) in x.rows_mut().into_iter().zip(&y) {
        row[class] += 3.0;
        row[class + 3] -= 2.0;
    }
    Ok((x, y))
}

fn print_layers(title: &str, layers: &[LayerDiagnostics]) {
    println!("\n{title}\n| layer | pre-activation std | dead units | gradient std | ‖dW‖ |");
    println!("|---:|---:|---:|---:|---:|");
    for (l, d) in layers.iter().enumerate() {
        println!(
            "| {} | {:.3} | {:.0}% | {:.2e} | {:.2e} |",
            l + 1,
            d.pre_std,
            100.0 * d.dead_fraction,
            d.backprop_grad_std,
            d.weight_grad_norm
        );
    }
    println!();
}
