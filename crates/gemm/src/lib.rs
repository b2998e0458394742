//! BLAS-accelerated linear algebra for initlab, on [`ndarray`] views.
//!
//! - [`gemm`]: `C <- alpha * op(A) * op(B) + beta * C` through OpenBLAS's sgemm/dgemm,
//!   in place for C-order, F-order and row-sliced views, copying only views BLAS cannot
//!   read.
//! - [`affine`]: a dense layer's `x * w^T + b` in a single GEMM call, the hot path of
//!   every forward pass; [`affine_backward`] gives `dW`, `db` and `dX` into caller buffers.
//! - [`Kernel`]: which code runs them, chosen at run time and passed as an argument:
//!   OpenBLAS (the default) or initlab-gemm's own packed kernel, compiled into every x86-64
//!   build, on AVX-512F or AVX2 with FMA as [`CpuFeatures`] says the CPU has.
//! - [`BlasThreads`], [`SingleThreadedBlas`], [`blas_threads`], [`set_blas_threads`] and
//!   [`blas_info`]: control and report OpenBLAS's threads and kernels.
//!
//! Generic over [`Scalar`] (`f32` and `f64`), so the same code trains in `f32` and checks
//! gradients in `f64`.
//!
//! # BLAS provider
//! The default feature `openblas-system` links the system OpenBLAS found by pkg-config
//! (`sudo apt-get install libopenblas-dev pkg-config`); `openblas-static` builds it from
//! source instead. With neither, the final binary must link a library that exports CBLAS
//! and OpenBLAS's `openblas_*` thread functions, with 32-bit integers: by any means, or by
//! name through the build-time variable `INITLAB_GEMM_BLAS_LIB` (what `-l` takes, `openblas`
//! for an OpenBLAS built by hand), with `INITLAB_GEMM_BLAS_DIR` as a folder to search.
//!
//! # Examples
//! ```
//! use initlab_gemm::affine;
//! use initlab_gemm::ndarray::{array, Array2};
//!
//! let x = array![[1.0_f32, 1.0]];             // one sample, two inputs
//! let w = array![[2.0_f32, 3.0]];             // one output unit
//! let mut y = Array2::zeros((1, 1));
//! affine(x.view(), w.view(), array![0.5_f32].view(), y.view_mut())?;
//! assert_eq!(y[[0, 0]], 5.5);
//! # Ok::<(), initlab_gemm::ShapeError>(())
//! ```

// On docs.rs: a badge on every item a feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

// OpenBLAS built from source links through these crates; the system one through build.rs.
#[cfg(feature = "openblas-static")]
extern crate blas_src as _;
#[cfg(feature = "openblas-static")]
extern crate openblas_src as _;

mod affine;
mod error;
mod ffi;
mod gemm;
mod kernel;
mod layout;
mod packed;
mod scalar;
mod threads;

pub use affine::{AffineGrads, affine, affine_backward};
pub use error::ShapeError;
pub use gemm::{Op, gemm};
pub use kernel::{CpuFeatures, Isa, Kernel, KernelError};
/// The ndarray version `initlab-gemm`'s views are (0.17), as `initlab_gemm::ndarray`.
pub use ndarray;
pub use packed::{PACKED_ISA_VAR, gemm_kernel, packed_gemm_in_use};
pub use scalar::Scalar;
pub use threads::{
    BlasInfo, BlasThreads, SingleThreadedBlas, blas_info, blas_threads, set_blas_threads,
};
