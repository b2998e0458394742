//! A strategy of your own: Rademacher weights, ±1/sqrt(fan_in) with equal probability.
//! It fills with `fill_parallel` (so it is reproducible on any number of threads, as the
//! built-in strategies are), states its moments, and then works wherever an `Initializer`
//! does: sampled, filled in place, or scaled like a built-in strategy.
//!
//! ```text
//! cargo run -p initlab-init --example custom_initializer
//! ```

use initlab_init::rand::Rng;
use initlab_init::{CustomInit, Fans, InitError, Initializer, Moments, RngKey, fill_parallel};

/// ±1/sqrt(fan_in), each sign with probability one half.
#[derive(Debug)]
struct Rademacher;

impl CustomInit for Rademacher {
    fn name(&self) -> &str {
        "rademacher"
    }

    fn fill(
        &self,
        values: &mut [f64],
        _shape: &[usize],
        fans: Option<Fans>,
        key: RngKey,
    ) -> Result<(), InitError> {
        let Some(fans) = fans.filter(|f| f.fan_in > 0) else {
            return Err(InitError::Custom {
                strategy: "rademacher".to_owned(),
                message: "needs a fan_in of at least 1 (a tensor of rank 2 or more)".to_owned(),
            });
        };
        let scale = 1.0 / (fans.fan_in as f64).sqrt();
        fill_parallel(values, key, |rng, block| {
            for v in block {
                *v = if rng.next_u32() & 1 == 0 {
                    scale
                } else {
                    -scale
                };
            }
        });
        Ok(())
    }

    fn moments(&self, fans: Fans) -> Option<Moments> {
        Some(Moments {
            mean: 0.0,
            variance: 1.0 / fans.fan_in as f64,
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rademacher = Initializer::custom(Rademacher);
    let w = rademacher.sample::<f32, _>((128, 64), RngKey::new(7).tensor(0))?;
    let stated = rademacher
        .variance(Fans::new(64, 128))?
        .ok_or("no variance")?;
    let measured = w.iter().map(|&v| f64::from(v * v)).sum::<f64>() / w.len() as f64;
    println!(
        "rademacher [128, 64]: every |w| = {}, E[w²] {measured:.6}, stated {stated:.6}",
        w[[0, 0]].abs()
    );
    // Every value is ±1/8, so the second moment is exact.
    if (measured - stated).abs() > 1e-9 || w.iter().any(|&v| v.abs() != 0.125) {
        return Err("rademacher weights are not ±1/sqrt(fan_in)".into());
    }
    let positive = w.iter().filter(|&&v| v > 0.0).count() as f64 / w.len() as f64;
    // A fair coin over 8192 draws: the share of heads within 5 standard errors of 1/2.
    let standard_error = (0.25 / w.len() as f64).sqrt();
    println!("share of positive weights {positive:.4} (1/2 ± {standard_error:.4})");
    if (positive - 0.5).abs() > 5.0 * standard_error {
        return Err("the signs are not balanced".into());
    }

    // Scaled like any strategy (Fixup's and GPT-2's residual scalings are built this way).
    let half = rademacher.clone().scaled(0.5);
    let w_half = half.sample::<f32, _>((128, 64), RngKey::new(7).tensor(0))?;
    assert!(w.iter().zip(&w_half).all(|(a, b)| *b == 0.5 * a));
    println!(
        "scaled by 0.5: the same draws, halved; stated variance {:.6}",
        half.variance(Fans::new(64, 128))?.ok_or("no variance")?
    );

    // A tensor it cannot fill is an error, not a panic.
    let err = rademacher.sample::<f32, _>(16, RngKey::new(7)).unwrap_err();
    println!("a vector: {err}");
    Ok(())
}
