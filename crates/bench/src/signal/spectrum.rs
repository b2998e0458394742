//! Dynamical isometry, measured: the singular values of a stack of convolutions' whole
//! input-output Jacobian at initialization, on a probe image small enough to hold it (8
//! channels at 8x8 make it 512 x 512; 16 channels at 28x28 would make it 12,544², 1.3 GB).

use initlab_nn::Activation;
use initlab_nn::net::{NetConfig, NetInit};
use serde::{Deserialize, Serialize};

use crate::BenchError;

/// The probe: `depth` convolutions of `channels` channels with `kernel x kernel` kernels,
/// stride 1 and zero padding `kernel / 2`, each followed by the activation, on one
/// `channels x size x size` image of `N(0, input_std²)` values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Channels of the image and of every convolution.
    pub channels: usize,
    /// Height and width of the image.
    pub size: usize,
    /// Kernel height and width, odd.
    pub kernel: usize,
    /// Standard deviation of the image's values.
    pub input_std: f64,
    /// Seed of the weights and of the image.
    pub seed: u64,
}

/// The singular values of one initializer's probe Jacobian at one depth, summarized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// The initializer's name.
    pub init: String,
    /// Convolutions in the stack.
    pub depth: usize,
    /// Singular values: the Jacobian is this many values square.
    pub count: usize,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation: 0 for an isometry.
    pub std: f64,
    /// The largest.
    pub max: f64,
    /// The smallest.
    pub min: f64,
    /// The median.
    pub median: f64,
    /// The fraction below a tenth of the mean: directions of the input the stack all but
    /// loses.
    pub below_tenth_of_mean: f64,
}

impl Probe {
    /// Values of the image: the Jacobian is this many values square (saturating, so that a
    /// probe past any memory is refused by the memory check rather than wrapping).
    pub fn values(&self) -> usize {
        self.channels
            .saturating_mul(self.size)
            .saturating_mul(self.size)
    }

    /// The singular values of the Jacobian of `depth` convolutions drawn with `init`.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] for an even kernel or a probe past the memory available;
    /// an initializer that cannot draw the kernels.
    pub fn spectrum(
        &self,
        name: &str,
        init: &NetInit,
        activation: Activation,
        depth: usize,
    ) -> Result<Spectrum, BenchError> {
        crate::experiment::Convolutions::check_kernel(self.kernel, "--kernel")?;
        let n = self.values() as u64;
        // The Jacobian and its Gram matrix in f64, and one buffer per layer for each of
        // the n copies of the image that its backward pass runs.
        let bytes = n
            .checked_mul(n)
            .and_then(|v| v.checked_mul(2 * 8))
            .zip(n.checked_mul(n).and_then(|v| v.checked_mul(4 * 8)))
            .and_then(|(a, b)| b.checked_mul(depth as u64).and_then(|b| b.checked_add(a)));
        crate::memory::check("--probe-channels, --probe-size and --depth", bytes)?;
        let config = (0..depth).fold(
            NetConfig::image(self.channels, self.size, self.size),
            |config, _| {
                config
                    .conv(self.channels, self.kernel, 1, self.kernel / 2)
                    .activation(activation)
            },
        );
        let net = config.build::<f64>(init, self.seed)?;
        let image: ndarray::Array1<f64> = initlab_init::Initializer::normal(0.0, self.input_std)
            .sample(
                self.values(),
                initlab_init::RngKey::new(self.seed).tensor(2_000_000),
            )
            .map_err(|e| BenchError::invalid("--input-scale", self.input_std, e.to_string()))?;
        let jacobian = net.input_jacobian(image.view())?;
        Ok(summarize(
            name,
            depth,
            &initlab_nn::singular_values(jacobian.view()),
        ))
    }
}

/// The summary of `values`, sorted largest first.
fn summarize(name: &str, depth: usize, values: &[f64]) -> Spectrum {
    let count = values.len();
    let n = count.max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let median = match count {
        0 => f64::NAN,
        _ if count % 2 == 1 => values[count / 2],
        _ => 0.5 * (values[count / 2 - 1] + values[count / 2]),
    };
    Spectrum {
        init: name.to_owned(),
        depth,
        count,
        mean,
        std: variance.sqrt(),
        max: values.first().copied().unwrap_or(f64::NAN),
        min: values.last().copied().unwrap_or(f64::NAN),
        median,
        below_tenth_of_mean: values.iter().filter(|&&v| v < 0.1 * mean).count() as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_of_known_values() {
        let s = summarize("x", 3, &[4.0, 2.0, 2.0, 0.1]);
        assert_eq!((s.count, s.max, s.min, s.median), (4, 4.0, 0.1, 2.0));
        assert!((s.mean - 2.025).abs() < 1e-12);
        let variance = (1.975f64.powi(2) + 2.0 * 0.025f64.powi(2) + 1.925f64.powi(2)) / 4.0;
        assert!((s.std - variance.sqrt()).abs() < 1e-12);
        assert_eq!(s.below_tenth_of_mean, 0.25);
    }

    #[test]
    fn delta_orthogonal_linear_convolutions_are_an_isometry_and_gaussian_ones_are_not() {
        let probe = Probe {
            channels: 4,
            size: 6,
            kernel: 3,
            input_std: 1.0,
            seed: 0,
        };
        let zero_bias = initlab_init::Initializer::Zeros;
        let delta = NetInit::new(
            initlab_init::Initializer::delta_orthogonal(1.0),
            zero_bias.clone(),
        );
        let s = probe
            .spectrum("delta", &delta, Activation::Identity, 10)
            .unwrap();
        assert_eq!(s.count, 144);
        assert!(
            (s.max - 1.0).abs() < 1e-10 && (s.min - 1.0).abs() < 1e-10,
            "{s:?}"
        );
        let gaussian = NetInit::new(initlab_init::Initializer::LeCunNormal, zero_bias);
        let s = probe
            .spectrum("gaussian", &gaussian, Activation::Identity, 10)
            .unwrap();
        assert!(s.max / s.min > 100.0, "{s:?}");
        let even = Probe { kernel: 2, ..probe };
        assert!(even.spectrum("x", &delta, Activation::Identity, 1).is_err());
    }
}
