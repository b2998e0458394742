//! The element types initlab-gemm multiplies: `f32` through sgemm, `f64` through dgemm.

use std::fmt::{Debug, Display};
use std::iter::Sum;

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};

use crate::ffi;

/// Out of reach outside the crate: [`Scalar`] cannot be implemented elsewhere, and the raw
/// CBLAS call is not part of the public API.
pub(crate) mod sealed {
    pub trait Sealed: Sized {
        /// The raw row-major CBLAS call (`cblas_sgemm` / `cblas_dgemm`), with no checks,
        /// under [`gemm`](crate::gemm).
        ///
        /// `trans_a` / `trans_b` select `CblasTrans`; the rest are CBLAS's own arguments.
        ///
        /// # Safety
        /// The pointers and leading dimensions must describe valid row-major matrices of the
        /// sizes CBLAS expects for `trans_a`, `trans_b`, `m`, `n`, `k`, and `c` must not alias
        /// `a` or `b`.
        #[allow(clippy::too_many_arguments)]
        unsafe fn cblas_gemm(
            trans_a: bool,
            trans_b: bool,
            m: i32,
            n: i32,
            k: i32,
            alpha: Self,
            a: *const Self,
            lda: i32,
            b: *const Self,
            ldb: i32,
            beta: Self,
            c: *mut Self,
            ldc: i32,
        );

        /// Whether initlab-gemm's packed kernel runs this type's products (f32).
        const PACKED: bool;

        /// `c <- alpha * a * b + beta * c` through initlab-gemm's packed kernel on `isa`,
        /// which the caller checked this CPU runs, with `a` and `b` the views of `op(A)`
        /// and `op(B)`, shapes checked and `k >= 1`; `false` when it does not run this type
        /// or architecture (then BLAS does).
        fn packed_gemm(
            isa: crate::Isa,
            alpha: Self,
            a: &ndarray::ArrayView2<'_, Self>,
            b: &ndarray::ArrayView2<'_, Self>,
            beta: Self,
            c: &mut ndarray::ArrayViewMut2<'_, Self>,
        ) -> bool;

        /// `c <- a * b + bias` (`bias[j]` added under column `j`, in the pass that stores
        /// the product) through the packed kernel, with `a` and `b` as for
        /// [`packed_gemm`](Self::packed_gemm) and `bias` `b.ncols()` long; `false` when it
        /// does not run here.
        fn packed_affine(
            isa: crate::Isa,
            a: &ndarray::ArrayView2<'_, Self>,
            b: &ndarray::ArrayView2<'_, Self>,
            bias: &[Self],
            c: &mut ndarray::ArrayViewMut2<'_, Self>,
        ) -> bool;
    }
}

/// A floating-point type with a BLAS GEMM: implemented for `f32` (sgemm) and `f64` (dgemm).
///
/// Three sealed numeric traits cover related types, on purpose: `initlab-init`'s `Element` is what
/// a strategy can fill (also `f16` and `bf16`, and without any BLAS, so `initlab-init` does not
/// depend on this crate); `Scalar` is what BLAS can multiply; `initlab-nn`'s `Real` is both, plus
/// what training needs (`erf`, conversions).
///
/// Training runs in `f32`; gradient checks run in `f64`, where central differences are
/// accurate enough to tell a wrong derivative from rounding.
pub trait Scalar:
    LinalgScalar
    + ScalarOperand
    + Float
    + FromPrimitive
    + Sum
    + Send
    + Sync
    + Debug
    + Display
    + Default
    + sealed::Sealed
{
    /// The type's name as BLAS users know it, for reports (`"f32"`, `"f64"`).
    const NAME: &'static str;

    /// Whether [`gemm`](crate::gemm) gives every output the same bits however a product's
    /// columns are cut into separate calls: [`Kernel::ignores_blocking`](crate::Kernel::ignores_blocking)
    /// of the kernel the free functions run.
    fn gemm_ignores_blocking() -> bool {
        crate::packed::build_default().ignores_blocking::<Self>()
    }
}

fn trans_flag(transposed: bool) -> i32 {
    if transposed {
        ffi::TRANS
    } else {
        ffi::NO_TRANS
    }
}

macro_rules! impl_scalar {
    ($t:ty, $name:literal, $gemm:ident, $packed:path, $packed_affine:path, $runs:expr) => {
        impl Scalar for $t {
            const NAME: &'static str = $name;
        }

        impl sealed::Sealed for $t {
            const PACKED: bool = $runs;

            unsafe fn cblas_gemm(
                trans_a: bool,
                trans_b: bool,
                m: i32,
                n: i32,
                k: i32,
                alpha: Self,
                a: *const Self,
                lda: i32,
                b: *const Self,
                ldb: i32,
                beta: Self,
                c: *mut Self,
                ldc: i32,
            ) {
                // SAFETY: the caller upholds the CBLAS contract stated on the trait method.
                unsafe {
                    ffi::$gemm(
                        ffi::ROW_MAJOR,
                        trans_flag(trans_a),
                        trans_flag(trans_b),
                        m,
                        n,
                        k,
                        alpha,
                        a,
                        lda,
                        b,
                        ldb,
                        beta,
                        c,
                        ldc,
                    )
                }
            }

            fn packed_gemm(
                isa: crate::Isa,
                alpha: Self,
                a: &ndarray::ArrayView2<'_, Self>,
                b: &ndarray::ArrayView2<'_, Self>,
                beta: Self,
                c: &mut ndarray::ArrayViewMut2<'_, Self>,
            ) -> bool {
                $packed(isa, alpha, a, b, beta, c)
            }

            fn packed_affine(
                isa: crate::Isa,
                a: &ndarray::ArrayView2<'_, Self>,
                b: &ndarray::ArrayView2<'_, Self>,
                bias: &[Self],
                c: &mut ndarray::ArrayViewMut2<'_, Self>,
            ) -> bool {
                $packed_affine(isa, a, b, bias, c)
            }
        }
    };
}

impl_scalar!(
    f32,
    "f32",
    cblas_sgemm,
    crate::packed::gemm_f32,
    crate::packed::affine_f32,
    cfg!(target_arch = "x86_64")
);
impl_scalar!(
    f64,
    "f64",
    cblas_dgemm,
    crate::packed::unavailable,
    crate::packed::affine_unavailable,
    false
);
