//! Neural networks on [`initlab_gemm`], built to make weight initialization visible: one
//! network model, [`Net`], for every network initlab trains.
//!
//! - [`NetConfig`] and [`Net`]: a list of layers (dense, activation, LayerNorm, BatchNorm,
//!   residual blocks), initialized by [`NetInit`] from any [`initlab_init::Initializer`], with
//!   parameters named like PyTorch's (`layers.0.weight`). [`MlpConfig`] is the shorthand
//!   for a plain stack, `input -> hidden... -> output`, which builds the same [`Net`].
//! - [`Loss`]: softmax cross-entropy (fused with its gradient, stable for any logits),
//!   mean squared error, binary cross-entropy with logits.
//! - [`Optimizer`] (SGD, momentum, Nesterov, Adam/AdamW) and [`Schedule`].
//! - [`Trainer`]: the one trainer, data-parallel over rayon with single-threaded BLAS: a
//!   plain stack in row chunks, any other net a whole batch at a time, picked when the
//!   trainer is built; bitwise-identical results for any thread count, no allocation per
//!   step, per-layer learning rates ([`LrScale`]) for any network, and
//!   [`Status::Diverged`] instead of training on NaN.
//! - [`diagnose`]: per-stage activation and gradient statistics, dead and saturated units,
//!   duplicate units, and the Jacobian's mean singular value.
//! - [`lsuv`]: layer-sequential unit-variance initialization on real data.
//! - [`Net::save`] / [`Net::load`]: `.safetensors` weights with the configuration inside.
//! - [`mup`]: μP, per-layer initialization and learning rates from a base width.
//! - [`net`]: the model's module: residual blocks (pre- or post-activation, fixed or
//!   learnable multiplier), LayerNorm and BatchNorm, Fixup, SkipInit, ReZero, GPT-2's
//!   residual scaling and zero γ.
//! - [`conv`]: the 2-D convolution (stride, zero padding, groups, depthwise) over NCHW
//!   batches through GEMM, forward and backward, bitwise the same on any thread count;
//!   not yet a layer of [`NetConfig`]; [`pool`]: average, max and global average pooling.
//!
//! # Examples
//! ```
//! use initlab_nn::init::{Initializer, Nonlinearity};
//! use initlab_nn::ndarray::Array2;
//! use initlab_nn::{Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};
//!
//! // XOR: four points, two classes.
//! let x = Array2::from_shape_vec((4, 2), vec![0.0_f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
//! let y = [0, 1, 1, 0];
//! let config = MlpConfig::new(2, vec![16], 2);
//! let mut net = config.build::<f32>(&Initializer::he_normal(Nonlinearity::Relu), &Initializer::Zeros, 1)?;
//! let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.05)).with_batch_size(4).with_epochs(300);
//! Trainer::new(&net, train)?.train(&mut net, x.view(), Targets::Classes(&y), |_, _| {})?;
//! assert_eq!(net.accuracy(x.view(), &y)?, 1.0);
//! # Ok::<(), initlab_nn::NnError>(())
//! ```

// On docs.rs: a badge on every item a feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod activation;
pub mod conv;
mod data;
mod dense;
mod diagnostics;
mod error;
mod finite;
mod loss;
mod lsuv;
mod mlp;
pub mod mup;
pub mod net;
mod optim;
mod persist;
pub mod pool;
mod real;
mod stack;
mod train;
mod workspace;

pub mod nonfinite;
pub use activation::Activation;
pub use diagnostics::{LayerDiagnostics, singular_values};
pub use error::NnError;
/// The `initlab-gemm` crate `initlab-nn` runs on, as `initlab_nn::gemm`.
pub use initlab_gemm as gemm;
/// The `initlab-init` crate whose [`Initializer`](initlab_init::Initializer)s `initlab-nn`
/// takes, as `initlab_nn::init`: a project that depends on `initlab-nn` alone needs no other
/// name for it.
pub use initlab_init as init;
pub use loss::{Loss, Targets};
pub use lsuv::{LsuvConfig, LsuvLayer};
pub use mlp::{LayerInit, MlpConfig};
/// The ndarray version `initlab-nn`'s API takes and returns (0.17), as `initlab_nn::ndarray`.
pub use ndarray;
pub use net::{Net, NetConfig, NetInit, diagnose, lsuv};
pub use optim::{Optimizer, Schedule};
pub use real::Real;
/// The trainer's block sizes, for `initlab-nn`'s own tests to build layers that span several
/// blocks: tuning, not API, and free to change.
#[doc(hidden)]
pub use train::{CHUNK_ROWS, GRAD_ROWS, UNIT_BLOCK};
pub use train::{Event, History, LrScale, Parallelism, Status, TrainConfig, Trainer};
