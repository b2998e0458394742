//! Weight initialization for neural networks, on any [`ndarray`] array.
//!
//! Every strategy of PyTorch, Keras 3, JAX/Flax, burn and candle, with their exact
//! formulas, reproducible bit for bit for any thread count, and each able to state the
//! variance it produces ([`Initializer::moments`]).
//!
//! | strategy | distribution | variance | source |
//! |---|---|---|---|
//! | [`Zeros`](Initializer::Zeros), [`Ones`](Initializer::Ones), [`Constant`](Initializer::Constant) | `c` | 0 | |
//! | [`Uniform`](Initializer::Uniform) | `U(low, high)` | `(high - low)^2 / 12` | |
//! | [`Normal`](Initializer::Normal) | `N(mean, std^2)` | `std^2` | |
//! | [`TruncatedNormal`](Initializer::TruncatedNormal) | `mean + std Z`, `Z ~ N(0,1)` on `[a, b]` (default ±2) | `std^2 Var[Z]` (parent std) or `std^2` (sample std) | |
//! | [`GlorotUniform`](Initializer::GlorotUniform) | `U(±gain sqrt(6 / (fan_in + fan_out)))` | `2 gain^2 / (fan_in + fan_out)` | Glorot & Bengio 2010 |
//! | [`GlorotNormal`](Initializer::GlorotNormal) | `N(0, 2 gain^2 / (fan_in + fan_out))` | `2 gain^2 / (fan_in + fan_out)` | Glorot & Bengio 2010 |
//! | [`GlorotStandard`](Initializer::GlorotStandard) | `U(±1 / sqrt(fan_in))` | `1 / (3 fan_in)` | Glorot & Bengio 2010, eq. 1 |
//! | [`HeUniform`](Initializer::HeUniform) | `U(±gain sqrt(3 / fan))` | `gain^2 / fan` | He et al. 2015 |
//! | [`HeNormal`](Initializer::HeNormal) | `N(0, gain^2 / fan)` | `gain^2 / fan` | He et al. 2015 |
//! | [`LeCunUniform`](Initializer::LeCunUniform) | `U(±sqrt(3 / fan_in))` | `1 / fan_in` | LeCun et al. 1998 |
//! | [`LeCunNormal`](Initializer::LeCunNormal) | `N(0, 1 / fan_in)` | `1 / fan_in` | LeCun et al. 1998 |
//! | [`VarianceScaling`](Initializer::VarianceScaling) | normal, ±2-std truncated normal or uniform | `scale / fan` (`fan` = in, out or avg) | Keras |
//! | [`Orthogonal`](Initializer::Orthogonal) | `gain Q`, `Q` Haar-orthogonal (QR + sign fix) | `gain^2 / max(rows, cols)` | Saxe et al. 2014; Mezzadri 2007 |
//! | [`Identity`](Initializer::Identity) | `gain I` | — | |
//! | [`Dirac`](Initializer::Dirac) | identity convolution, per group | — | |
//! | [`DeltaOrthogonal`](Initializer::DeltaOrthogonal) | `gain Q` at the kernel's centre, `Q` Haar `out x in` per group, zeros elsewhere | `gain^2 groups / fan_out` | Xiao et al. 2018; JAX's `delta_orthogonal` |
//! | [`Sparse`](Initializer::Sparse) | `N(0, std^2)`, `ceil(s rows)` zeros per column | `std^2 (1 - ceil(s rows) / rows)` | Martens 2010 |
//! | [`Scaled`](Initializer::Scaled) | `factor` times another strategy (same draws) | `factor^2` times its variance | [`presets::residual`]: Fixup (Zhang et al. 2019), GPT-2 (Radford et al. 2019) |
//! | [`Custom`](Initializer::Custom) | your [`CustomInit`] | yours | |
//!
//! Gains follow PyTorch's `calculate_gain` ([`Nonlinearity::gain`]): 1 for linear,
//! convolution and sigmoid, 5/3 for tanh, sqrt(2) for ReLU, sqrt(2 / (1 + slope^2)) for
//! leaky ReLU, 3/4 for SELU. Fans follow PyTorch's layout ([`Fans::from_shape`]), with
//! [`Fans::from_keras_shape`] for Keras/Flax kernels. [`presets`] reproduces PyTorch's,
//! Keras's and Flax's dense-layer defaults.
//!
//! # Reproducibility
//! A tensor is filled in blocks of [`BLOCK_LEN`] values, each block from its own ChaCha8
//! stream keyed by `(seed, tensor id, block index)` ([`RngKey`]): the same key gives the
//! same bits on 1 thread or 64, and tensors with different ids never share a stream.
//!
//! # Examples
//! ```
//! use initlab_init::{Fans, Initializer, Nonlinearity, RngKey};
//! use initlab_init::ndarray::Array2;
//!
//! let mut w = Array2::<f32>::zeros((512, 784));
//! let he = Initializer::he_normal(Nonlinearity::Relu);
//! he.fill(&mut w, RngKey::new(0).tensor(0))?;
//! let expected = he.variance(Fans::from_shape(w.shape())?)?.unwrap();
//! let measured = w.mapv(|v| f64::from(v * v)).mean().unwrap();
//! assert!((measured / expected - 1.0).abs() < 0.01);
//!
//! // Bad parameters are errors that say what was expected, never panics:
//! let err = Initializer::normal(0.0, -1.0).fill(&mut w, RngKey::new(0)).unwrap_err();
//! assert_eq!(err.to_string(), "normal: `std` = -1 is not allowed; expected a finite number >= 0");
//! # Ok::<(), initlab_init::InitError>(())
//! ```

// On docs.rs: a badge on every item a feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

// `openblas-system`: initlab-gemm's build script links the system OpenBLAS, whose LAPACK
// ndarray-linalg calls; a crate nothing names would not be linked.
#[cfg(feature = "openblas-system")]
extern crate initlab_gemm as _;

mod custom;
mod element;
mod error;
mod fans;
mod fill;
mod gain;
mod initializer;
mod key;
mod orthogonal;
pub mod presets;
#[cfg(any(not(feature = "lapack"), test))]
mod qr;
mod row_major;
mod sampler;
mod sparse;
mod structured;
mod truncated;
mod ziggurat;

pub use custom::CustomInit;
pub use element::Element;
pub use error::InitError;
pub use fans::{FanMode, Fans};
pub use gain::Nonlinearity;
/// The `half` crate (2.7) whose `f16` and `bf16` the `half` feature fills.
#[cfg(feature = "half")]
pub use half;
pub use initializer::{Initializer, Moments, ScalingDistribution, TruncatedStd, WeightLayout};
pub use key::{BLOCK_LEN, BlockRng, RngKey, fill_parallel, fill_parallel_at};
/// The ndarray version init's API takes and returns (0.17): use it as `initlab_init::ndarray` to
/// get exactly that one.
pub use ndarray;
/// The rand version behind [`BlockRng`] and [`CustomInit`] (0.10), for its `Rng` and
/// `RngCore` traits.
pub use rand;
