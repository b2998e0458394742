//! The dense layer's products: the fused forward `x * w^T + b` and its backward pass.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Zip};

use crate::{Kernel, Op, Scalar, ShapeError};

/// `out <- x * w^T + b`: a dense layer's forward pass, in exactly one GEMM call.
///
/// The bias is broadcast into `out` first and GEMM then adds the product with `beta = 1`,
/// so the bias costs one write pass instead of a second read-modify-write pass. Where
/// initlab-gemm's packed kernel runs (feature `packed-gemm`, or [`Kernel::affine`]), it adds
/// the bias as it stores the product instead, with the same bits, and `out` is written once.
///
/// # Shapes
/// - `x`: `[batch, in]`
/// - `w`: `[out, in]` (PyTorch's layout)
/// - `b`: `[out]`
/// - `out`: `[batch, out]`, overwritten (its old contents are never read)
///
/// # Errors
/// [`ShapeError`] naming the two operands that disagree.
///
/// # Examples
/// ```
/// use initlab_gemm::affine;
/// use initlab_gemm::ndarray::{array, Array2};
///
/// let x = array![[1.0_f64, 2.0]];
/// let w = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let b = array![0.5, -0.5, 0.0];
/// let mut out = Array2::zeros((1, 3));
/// affine(x.view(), w.view(), b.view(), out.view_mut())?;
/// assert_eq!(out, array![[1.5, 1.5, 3.0]]);
/// # Ok::<(), initlab_gemm::ShapeError>(())
/// ```
pub fn affine<T: Scalar>(
    x: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    b: ArrayView1<'_, T>,
    out: ArrayViewMut2<'_, T>,
) -> Result<(), ShapeError> {
    affine_on(crate::packed::build_default(), x, w, b, out)
}

/// [`affine`] on `kernel`.
pub(crate) fn affine_on<T: Scalar>(
    kernel: Kernel,
    x: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    b: ArrayView1<'_, T>,
    mut out: ArrayViewMut2<'_, T>,
) -> Result<(), ShapeError> {
    let (batch, fan_in) = x.dim();
    let fan_out = w.nrows();
    require(
        "affine",
        ("x", x.shape()),
        ("w", w.shape()),
        w.ncols() == fan_in,
        IN_RULE,
    )?;
    require(
        "affine",
        ("b", b.shape()),
        ("w", w.shape()),
        b.len() == fan_out,
        BIAS_RULE,
    )?;
    require(
        "affine",
        ("out", out.shape()),
        ("x * w^T", &[batch, fan_out]),
        out.dim() == (batch, fan_out),
        "out must be [batch, out]",
    )?;
    if let Some(bias) = b.as_slice()
        && batch > 0
        && fan_in > 0
        && fan_out > 0
        && let Some(isa) = kernel.packed_isa_for::<T>()
        && T::packed_affine(isa, &x, &w.t(), bias, &mut out)
    {
        return Ok(());
    }
    for mut row in out.rows_mut() {
        row.assign(&b);
    }
    kernel.gemm(T::one(), x, Op::Identity, w, Op::Transpose, T::one(), out)
}

/// Where [`affine_backward`] writes the gradients; every buffer is overwritten.
#[derive(Debug)]
pub struct AffineGrads<'a, T> {
    /// `dL/dW = dY^T * X`, shape `[out, in]`.
    pub dw: ArrayViewMut2<'a, T>,
    /// `dL/db` = column sums of `dY`, shape `[out]`.
    pub db: ArrayViewMut1<'a, T>,
    /// `dL/dX = dY * W`, shape `[batch, in]`; `None` skips it (a network's first layer
    /// has no use for the gradient of its input).
    pub dx: Option<ArrayViewMut2<'a, T>>,
}

/// The backward pass of [`affine`]: given `dy = dL/d(out)`, writes `dW`, `db` and
/// optionally `dX` into caller-provided buffers, allocating nothing.
///
/// # Shapes
/// - `dy`: `[batch, out]`, `x`: `[batch, in]`, `w`: `[out, in]`
/// - `grads.dw`: `[out, in]`, `grads.db`: `[out]`, `grads.dx`: `[batch, in]`
///
/// # Errors
/// [`ShapeError`] naming the two operands that disagree.
///
/// # Examples
/// ```
/// use initlab_gemm::{affine_backward, AffineGrads};
/// use initlab_gemm::ndarray::{array, Array1, Array2};
///
/// let x = array![[1.0_f64, 2.0], [3.0, 4.0]];
/// let w = array![[1.0, -1.0]];
/// let dy = array![[1.0], [0.5]];
/// let (mut dw, mut db, mut dx) = (Array2::zeros((1, 2)), Array1::zeros(1), Array2::zeros((2, 2)));
/// let grads = AffineGrads { dw: dw.view_mut(), db: db.view_mut(), dx: Some(dx.view_mut()) };
/// affine_backward(dy.view(), x.view(), w.view(), grads)?;
/// assert_eq!(dw, array![[2.5, 4.0]]);
/// assert_eq!(db, array![1.5]);
/// assert_eq!(dx, array![[1.0, -1.0], [0.5, -0.5]]);
/// # Ok::<(), initlab_gemm::ShapeError>(())
/// ```
pub fn affine_backward<T: Scalar>(
    dy: ArrayView2<'_, T>,
    x: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    grads: AffineGrads<'_, T>,
) -> Result<(), ShapeError> {
    affine_backward_on(crate::packed::build_default(), dy, x, w, grads)
}

/// [`affine_backward`] on `kernel`.
pub(crate) fn affine_backward_on<T: Scalar>(
    kernel: Kernel,
    dy: ArrayView2<'_, T>,
    x: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    grads: AffineGrads<'_, T>,
) -> Result<(), ShapeError> {
    let AffineGrads { dw, mut db, dx } = grads;
    let op = "affine_backward";
    require(
        op,
        ("x", x.shape()),
        ("w", w.shape()),
        x.ncols() == w.ncols(),
        IN_RULE,
    )?;
    require(
        op,
        ("dy", dy.shape()),
        ("x", x.shape()),
        dy.nrows() == x.nrows(),
        BATCH_RULE,
    )?;
    require(
        op,
        ("dy", dy.shape()),
        ("w", w.shape()),
        dy.ncols() == w.nrows(),
        OUT_RULE,
    )?;
    require(
        op,
        ("dw", dw.shape()),
        ("w", w.shape()),
        dw.dim() == w.dim(),
        SAME_RULE,
    )?;
    require(
        op,
        ("db", db.shape()),
        ("w", w.shape()),
        db.len() == w.nrows(),
        BIAS_RULE,
    )?;
    if let Some(dx) = &dx {
        require(
            op,
            ("dx", dx.shape()),
            ("x", x.shape()),
            dx.dim() == x.dim(),
            SAME_RULE,
        )?;
    }

    kernel.gemm(T::one(), dy, Op::Transpose, x, Op::Identity, T::zero(), dw)?;
    column_sums(dy, db.view_mut());
    if let Some(dx) = dx {
        kernel.gemm(T::one(), dy, Op::Identity, w, Op::Identity, T::zero(), dx)?;
    }
    Ok(())
}

const IN_RULE: &str = "x and w must agree on the input width";
const BIAS_RULE: &str = "b must have one entry per row of w";
const BATCH_RULE: &str = "dy and x must have the same batch size";
const OUT_RULE: &str = "dy must have one column per row of w";
const SAME_RULE: &str = "a gradient has the shape of its parameter";

fn require(
    op: &'static str,
    left: (&'static str, &[usize]),
    right: (&'static str, &[usize]),
    holds: bool,
    rule: &'static str,
) -> Result<(), ShapeError> {
    if holds {
        Ok(())
    } else {
        Err(ShapeError::mismatch(op, left, right, rule))
    }
}

/// `sums[j] <- sum_i m[i, j]`, walking `m` row by row so a C-order matrix streams once.
fn column_sums<T: Scalar>(m: ArrayView2<'_, T>, mut sums: ArrayViewMut1<'_, T>) {
    sums.fill(T::zero());
    for row in m.rows() {
        Zip::from(&mut sums).and(&row).for_each(|s, &v| *s = *s + v);
    }
}
