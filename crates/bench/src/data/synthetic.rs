//! Seeded synthetic tasks for fast, self-contained experiments and tests.

use std::f64::consts::PI;

use initlab_init::{Initializer, RngKey};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Dataset, Labels};
use crate::BenchError;

/// A synthetic task and its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Synthetic {
    /// Interleaved spirals in 2-D, one per class.
    Spirals {
        /// Number of spirals (classes), >= 2.
        classes: usize,
    },
    /// Two concentric noisy circles in 2-D.
    Circles,
    /// Gaussian blobs around random centers.
    Blobs {
        /// Number of blobs (classes), >= 2.
        classes: usize,
        /// Input dimension, >= 1.
        dims: usize,
    },
    /// A checkerboard of `cells x cells` squares in [-1, 1]^2, colored by parity
    /// (`cells = 2` is XOR).
    Checkerboard {
        /// Squares per side, >= 2.
        cells: usize,
    },
    /// Regression: Gaussian inputs labeled by a random tanh teacher network.
    TeacherStudent {
        /// Input dimension, >= 1.
        inputs: usize,
        /// Teacher hidden width, >= 1.
        hidden: usize,
        /// Output dimension, >= 1.
        outputs: usize,
    },
}

/// Generates `samples` samples of `task` with `seed`, 20% held out for testing.
///
/// # Errors
/// [`BenchError::Invalid`] for fewer than 10 samples or a size parameter out of range.
pub fn generate(task: Synthetic, samples: usize, seed: u64) -> Result<Dataset, BenchError> {
    if samples < 10 {
        return Err(BenchError::invalid("samples", samples, "at least 10"));
    }
    let dims = match task {
        Synthetic::Blobs { dims, .. } => dims,
        Synthetic::TeacherStudent { inputs, .. } => inputs,
        _ => 2,
    };
    // Features as f32 twice (generated, then split), and a label or target per sample.
    crate::memory::check(
        "dataset.samples and dataset.dims",
        (dims as u64)
            .checked_add(2)
            .and_then(|d| d.checked_mul(8))
            .and_then(|d| d.checked_mul(samples as u64)),
    )?;
    if let Synthetic::Spirals { classes } | Synthetic::Blobs { classes, .. } = task
        && classes > crate::data::MAX_CLASSES
    {
        return Err(BenchError::invalid(
            "classes",
            classes,
            format!("at most {}", crate::data::MAX_CLASSES),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut noise = |scale: f64| -> f64 {
        scale * (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() - 1.5)
    };
    let at_least = |field: &str, value: usize, min: usize| {
        if value >= min {
            Ok(())
        } else {
            Err(BenchError::invalid(field, value, format!("at least {min}")))
        }
    };
    let (name, x, y, outputs) = match task {
        Synthetic::Spirals { classes } => {
            at_least("classes", classes, 2)?;
            let mut x = Array2::zeros((samples, 2));
            let mut y = Vec::with_capacity(samples);
            for i in 0..samples {
                let class = i % classes;
                let t = (i / classes) as f64 / (samples / classes).max(1) as f64;
                let angle = 3.0 * PI * t + 2.0 * PI * class as f64 / classes as f64;
                let radius = 0.1 + t;
                x[[i, 0]] = (radius * angle.cos() + noise(0.05)) as f32;
                x[[i, 1]] = (radius * angle.sin() + noise(0.05)) as f32;
                y.push(class);
            }
            ("spirals", x, Labels::Classes(y), classes)
        }
        Synthetic::Circles => {
            let mut x = Array2::zeros((samples, 2));
            let mut y = Vec::with_capacity(samples);
            for i in 0..samples {
                let class = i % 2;
                let angle = 2.0 * PI * (i as f64 * 0.618_033_988_749_895).fract();
                let radius = if class == 0 { 1.0 } else { 0.5 };
                x[[i, 0]] = (radius * angle.cos() + noise(0.1)) as f32;
                x[[i, 1]] = (radius * angle.sin() + noise(0.1)) as f32;
                y.push(class);
            }
            ("circles", x, Labels::Classes(y), 2)
        }
        Synthetic::Blobs { classes, dims } => {
            at_least("classes", classes, 2)?;
            at_least("dims", dims, 1)?;
            let centers: Array2<f32> = Initializer::normal(0.0, 3.0)
                .sample((classes, dims), RngKey::new(seed).tensor(1))
                .expect("valid normal");
            let spread: Array2<f32> = Initializer::normal(0.0, 1.0)
                .sample((samples, dims), RngKey::new(seed).tensor(2))
                .expect("valid normal");
            let y: Vec<usize> = (0..samples).map(|i| i % classes).collect();
            let mut x = spread;
            for (mut row, &class) in x.rows_mut().into_iter().zip(&y) {
                row += &centers.row(class);
            }
            ("blobs", x, Labels::Classes(y), classes)
        }
        Synthetic::Checkerboard { cells } => {
            at_least("cells", cells, 2)?;
            let mut x = Array2::zeros((samples, 2));
            let mut y = Vec::with_capacity(samples);
            for i in 0..samples {
                let (u, v): (f64, f64) = (rng.random(), rng.random());
                x[[i, 0]] = (2.0 * u - 1.0) as f32;
                x[[i, 1]] = (2.0 * v - 1.0) as f32;
                let cell = |t: f64| ((t * cells as f64) as usize).min(cells - 1);
                y.push((cell(u) + cell(v)) % 2);
            }
            ("checkerboard", x, Labels::Classes(y), 2)
        }
        Synthetic::TeacherStudent {
            inputs,
            hidden,
            outputs,
        } => {
            at_least("inputs", inputs, 1)?;
            at_least("hidden", hidden, 1)?;
            at_least("outputs", outputs, 1)?;
            let teacher = initlab_nn::MlpConfig::new(inputs, vec![hidden], outputs)
                .with_activation(initlab_nn::Activation::Tanh)
                .build::<f32>(
                    &Initializer::GlorotNormal { gain: 5.0 / 3.0 },
                    &Initializer::normal(0.0, 0.1),
                    seed,
                )?;
            let x: Array2<f32> = Initializer::normal(0.0, 1.0)
                .sample((samples, inputs), RngKey::new(seed).tensor(99))
                .expect("valid normal");
            let y = teacher.predict(x.view())?;
            ("teacher-student", x, Labels::Values(y), outputs)
        }
    };
    Ok(Dataset::split(name.to_owned(), x, y, outputs, 0.2, seed))
}
