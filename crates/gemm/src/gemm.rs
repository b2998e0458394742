//! `C <- alpha * op(A) * op(B) + beta * C` on ndarray views, through CBLAS.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::layout::Layout;
use crate::{Kernel, Scalar, ShapeError};

/// What [`gemm`] does to an operand before multiplying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Use the operand as it is.
    Identity,
    /// Use the operand's transpose.
    Transpose,
}

impl Op {
    /// The `(rows, cols)` of `op(X)` for an `X` of the given shape.
    pub fn apply(self, (rows, cols): (usize, usize)) -> (usize, usize) {
        match self {
            Op::Identity => (rows, cols),
            Op::Transpose => (cols, rows),
        }
    }

    fn flipped(self) -> Self {
        match self {
            Op::Identity => Op::Transpose,
            Op::Transpose => Op::Identity,
        }
    }
}

/// The largest dimension CBLAS's 32-bit integers can carry.
const BLAS_MAX: usize = i32::MAX as usize;

/// General matrix product `C <- alpha * op(A) * op(B) + beta * C`.
///
/// `op(A)` is `m x k`, `op(B)` is `k x n` and `C` is `m x n`. Views in C order, F order
/// (e.g. `.t()` of a C-order array) and row- or column-slices with a unit inner stride are
/// handed to BLAS in place; any other strided view is copied first, so the result is
/// always right. With `beta == 0`, `C` is only written, never read: it may hold NaN.
///
/// With the `packed-gemm` feature, on a CPU with AVX-512F or AVX2 and FMA, f32 products run
/// initlab-gemm's own kernel instead of BLAS ([`packed_gemm_in_use`](crate::packed_gemm_in_use)):
/// each output is one FMA chain in `k` order, single-threaded, the same bits on either
/// instruction set. [`Kernel::gemm`] takes the kernel as an argument instead.
///
/// # Errors
/// [`ShapeError::Mismatch`] when the inner dimensions or `C`'s shape disagree, naming both
/// shapes; [`ShapeError::TooLarge`] when a dimension exceeds BLAS's 32-bit range.
///
/// # Examples
/// ```
/// use initlab_gemm::{gemm, Op};
/// use initlab_gemm::ndarray::array;
///
/// let a = array![[1.0_f32, 2.0], [3.0, 4.0]];
/// let b = array![[5.0_f32, 6.0], [7.0, 8.0]];
/// let mut c = ndarray::Array2::from_elem((2, 2), f32::NAN);
/// gemm(1.0, a.view(), Op::Identity, b.view(), Op::Transpose, 0.0, c.view_mut())?;
/// assert_eq!(c, array![[17.0, 23.0], [39.0, 53.0]]);
/// # Ok::<(), initlab_gemm::ShapeError>(())
/// ```
pub fn gemm<T: Scalar>(
    alpha: T,
    a: ArrayView2<'_, T>,
    op_a: Op,
    b: ArrayView2<'_, T>,
    op_b: Op,
    beta: T,
    c: ArrayViewMut2<'_, T>,
) -> Result<(), ShapeError> {
    gemm_on(
        crate::packed::build_default(),
        alpha,
        a,
        op_a,
        b,
        op_b,
        beta,
        c,
    )
}

/// [`gemm`] on `kernel`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_on<T: Scalar>(
    kernel: Kernel,
    alpha: T,
    a: ArrayView2<'_, T>,
    op_a: Op,
    b: ArrayView2<'_, T>,
    op_b: Op,
    beta: T,
    mut c: ArrayViewMut2<'_, T>,
) -> Result<(), ShapeError> {
    let (m, k) = op_a.apply(a.dim());
    let (k_b, n) = op_b.apply(b.dim());
    if k != k_b {
        return Err(ShapeError::mismatch(
            "gemm",
            ("op(A)", &[m, k]),
            ("op(B)", &[k_b, n]),
            "op(A)'s columns must equal op(B)'s rows",
        ));
    }
    if c.dim() != (m, n) {
        return Err(ShapeError::mismatch(
            "gemm",
            ("C", c.shape()),
            ("op(A)*op(B)", &[m, n]),
            "C must have the product's shape",
        ));
    }
    if let Some(&dim) = [m, n, k].iter().find(|&&d| d > BLAS_MAX) {
        return Err(ShapeError::TooLarge {
            op: "gemm",
            dim,
            max: BLAS_MAX,
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        scale(beta, c);
        return Ok(());
    }

    if let Some(isa) = kernel.packed_isa_for::<T>()
        && T::packed_gemm(
            isa,
            alpha,
            &op_view(a, op_a),
            &op_view(b, op_b),
            beta,
            &mut c,
        )
    {
        return Ok(());
    }
    let (a_copy, b_copy) = (blas_copy(&a), blas_copy(&b));
    let a = a_copy.as_ref().map_or(a, |copy| copy.view());
    let b = b_copy.as_ref().map_or(b, |copy| copy.view());
    let c_layout = Layout::of_view(&c.view());
    match c_layout {
        Some(c_layout) => {
            // SAFETY: shapes were checked above, every layout was validated, and `c` is a
            // unique borrow that cannot alias `a` or `b`.
            unsafe { gemm_in_place(alpha, &a, op_a, &b, op_b, beta, c.as_mut_ptr(), c_layout) }
        }
        None => {
            let mut scratch = if beta == T::zero() {
                Array2::zeros((m, n))
            } else {
                c.as_standard_layout().into_owned()
            };
            let scratch_layout = Layout::of_view(&scratch.view()).expect("C-order is BLAS-ready");
            // SAFETY: as above, with `scratch` a fresh C-order array of the product's shape.
            unsafe {
                gemm_in_place(
                    alpha,
                    &a,
                    op_a,
                    &b,
                    op_b,
                    beta,
                    scratch.as_mut_ptr(),
                    scratch_layout,
                )
            }
            c.assign(&scratch);
        }
    }
    Ok(())
}

/// `op(x)` as a view.
fn op_view<'a, T>(x: ArrayView2<'a, T>, op: Op) -> ArrayView2<'a, T> {
    match op {
        Op::Identity => x,
        Op::Transpose => x.reversed_axes(),
    }
}

/// A C-order copy of `x` if BLAS cannot read it in place, `None` if it can.
fn blas_copy<T: Scalar>(x: &ArrayView2<'_, T>) -> Option<Array2<T>> {
    match Layout::of_view(x) {
        Some(_) => None,
        None => Some(x.as_standard_layout().into_owned()),
    }
}

/// `C <- beta * C` for an empty inner dimension, without reading `C` when `beta == 0`.
fn scale<T: Scalar>(beta: T, mut c: ArrayViewMut2<'_, T>) {
    if beta == T::zero() {
        c.fill(T::zero());
    } else if beta != T::one() {
        c.map_inplace(|v| *v = *v * beta);
    }
}

/// An operand BLAS reads in place: its memory, how that memory is laid out, and its op.
struct Operand<T> {
    ptr: *const T,
    layout: Layout,
    op: Op,
}

impl<T> Operand<T> {
    fn new(view: &ArrayView2<'_, T>, op: Op) -> Self {
        Self {
            ptr: view.as_ptr(),
            layout: Layout::of_view(view).expect("caller passes BLAS-ready operands"),
            op,
        }
    }

    /// The same memory read as the transpose of what it was.
    fn flipped(self) -> Self {
        Self {
            op: self.op.flipped(),
            ..self
        }
    }

    /// Whether CBLAS must transpose the stored row-major matrix to get `op(X)`.
    fn blas_trans(&self) -> bool {
        self.layout.transposed ^ (self.op == Op::Transpose)
    }
}

/// One CBLAS call on operands whose layouts BLAS can read in place.
///
/// # Safety
/// `a` and `b` must have BLAS layouts, shapes must agree (`op(A)` is m x k, `op(B)` k x n,
/// all non-zero and within i32), and `c` must point to an m x n matrix stored with
/// `c_layout` that does not alias `a` or `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_in_place<T: Scalar>(
    alpha: T,
    a: &ArrayView2<'_, T>,
    op_a: Op,
    b: &ArrayView2<'_, T>,
    op_b: Op,
    beta: T,
    c: *mut T,
    c_layout: Layout,
) {
    let (m, k) = op_a.apply(a.dim());
    let (_, n) = op_b.apply(b.dim());
    let (a, b) = (Operand::new(a, op_a), Operand::new(b, op_b));
    // A column-major C is the row-major matrix C^T = op(B)^T * op(A)^T.
    let (left, right, rows, cols) = if c_layout.transposed {
        (b.flipped(), a.flipped(), n, m)
    } else {
        (a, b, m, n)
    };
    // SAFETY: delegated to this function's contract; Layout guarantees every leading
    // dimension fits in an i32 and covers its stored row.
    unsafe {
        T::cblas_gemm(
            left.blas_trans(),
            right.blas_trans(),
            rows as i32,
            cols as i32,
            k as i32,
            alpha,
            left.ptr,
            left.layout.ld as i32,
            right.ptr,
            right.layout.ld as i32,
            beta,
            c,
            c_layout.ld as i32,
        );
    }
}
