//! `initlab-init` on its own, filling plain `Vec`s the way candle and burn take a tensor's values:
//! a PyTorch-layout `[out, in]` linear weight with He normal, and a Keras-layout
//! `[in, out]` kernel with Glorot uniform. Each is checked against the variance its
//! strategy states, within five standard errors of a sample variance.
//!
//! ```text
//! cargo run -p initlab-init --example fill_vec
//! ```

use initlab_init::{Fans, Initializer, Nonlinearity, RngKey, WeightLayout};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One key per model; one tensor id per tensor, so no two tensors share a stream.
    let key = RngKey::new(42);

    // PyTorch's nn.Linear(784, 256).weight is [out, in] = [256, 784].
    let mut weight = vec![0.0_f32; 256 * 784];
    let he = Initializer::he_normal(Nonlinearity::Relu);
    he.fill_slice(
        &mut weight,
        &[256, 784],
        WeightLayout::PyTorch,
        key.tensor(0),
    )?;
    check(
        "He normal, [256, 784], PyTorch layout",
        &weight,
        &he,
        Fans::new(784, 256),
    )?;
    // candle: Tensor::from_vec(weight, (256, 784), &device)?
    // burn:   Tensor::<B, 2>::from_data(TensorData::new(weight, [256, 784]), &device)

    // Keras's Dense(256) kernel on 784 inputs is [in, out] = [784, 256].
    let mut kernel = vec![0.0_f32; 784 * 256];
    let glorot = Initializer::glorot_uniform();
    glorot.fill_slice(&mut kernel, &[784, 256], WeightLayout::Keras, key.tensor(1))?;
    check(
        "Glorot uniform, [784, 256], Keras layout",
        &kernel,
        &glorot,
        Fans::new(784, 256),
    )?;

    // The same key and tensor id give the same values, on any number of threads.
    let mut again = vec![0.0_f32; 256 * 784];
    he.fill_slice(
        &mut again,
        &[256, 784],
        WeightLayout::PyTorch,
        key.tensor(0),
    )?;
    assert_eq!(weight, again);
    println!(
        "refilled with the same key: the same {} values",
        again.len()
    );
    Ok(())
}

/// Prints the values' variance beside the strategy's, and fails if they are more than five
/// standard errors apart.
fn check(
    name: &str,
    values: &[f32],
    strategy: &Initializer,
    fans: Fans,
) -> Result<(), Box<dyn std::error::Error>> {
    let expected = strategy
        .variance(fans)?
        .ok_or_else(|| format!("{name}: the strategy states no variance"))?;
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let variance = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    // A sample variance's standard error is at most sqrt(2 / n) of it for these
    // distributions (a normal's; a uniform's is smaller).
    let standard_error = expected * (2.0 / n).sqrt();
    println!(
        "{name}: variance {variance:.6e}, stated {expected:.6e} ({:+.2} standard errors)",
        (variance - expected) / standard_error
    );
    if (variance - expected).abs() > 5.0 * standard_error {
        return Err(
            format!("{name}: the variance is off by more than five standard errors").into(),
        );
    }
    Ok(())
}
