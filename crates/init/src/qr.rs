//! The thin QR factorization in pure Rust, for orthogonal initialization without LAPACK:
//! blocked Householder as in LAPACK's `dgeqrf` and `dorgqr` (Golub & Van Loan, "Matrix
//! Computations", 4th ed., §5.1–5.2), with the compact WY form of Schreiber & Van Loan
//! (1989) so that most of the work is matrix products (ndarray's, through
//! `matrixmultiply`, single-threaded: the bits do not depend on any thread count).
//!
//! Matrices are stored transposed (`at[c, r] = a[r, c]`): the algorithm walks columns, and
//! row-major storage of the transpose makes each column contiguous.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};

/// Columns per block: the panel is factored column by column (matrix-vector work), the
/// rest of the matrix updated once per block (matrix products).
const BLOCK: usize = 32;

/// For a tall `m x n` matrix `a` (`m >= n`) given as its transpose `at` (`n x m`), the
/// transpose of the thin `Q` (`n x m`, orthonormal rows) of `a = Q R` with `R`'s diagonal
/// made non-negative: the unique such factor, which for a Gaussian `a` is Haar-distributed
/// (Mezzadri 2007).
pub(crate) fn q_transposed(mut at: Array2<f64>) -> Array2<f64> {
    let (n, m) = at.dim();
    debug_assert!(m >= n, "a tall matrix");
    let mut blocks = Vec::with_capacity(n.div_ceil(BLOCK));
    let mut diagonal = vec![0.0; n];
    for j in (0..n).step_by(BLOCK) {
        let nb = BLOCK.min(n - j);
        let taus = factor_panel(at.slice_mut(s![j..j + nb, j..]), &mut diagonal[j..j + nb]);
        let vt = reflectors(at.slice(s![j..j + nb, j..]));
        let t = triangular_factor(vt.view(), &taus);
        if j + nb < n {
            // A2 <- (I - V T V^T)^T A2, transposed: A2t -= (A2t V) T V^T.
            let mut rest = at.slice_mut(s![j + nb.., j..]);
            let w = rest.dot(&vt.t()).dot(&t);
            rest -= &w.dot(&vt);
        }
        blocks.push((j, vt, t));
    }
    // Q = H_1 ... H_n [I; 0], one block at a time from the last; rows and columns of Q
    // before a block's first are still those of the identity there.
    let mut qt = Array2::<f64>::zeros((n, m));
    for i in 0..n {
        qt[[i, i]] = 1.0;
    }
    for (j, vt, t) in blocks.into_iter().rev() {
        // Q_sub <- (I - V T V^T) Q_sub, transposed: Qt_sub -= (Qt_sub V) T^T V^T.
        let mut sub = qt.slice_mut(s![j.., j..]);
        let w = sub.dot(&vt.t()).dot(&t.t());
        sub -= &w.dot(&vt);
    }
    for (mut row, &d) in qt.axis_iter_mut(Axis(0)).zip(&diagonal) {
        if d < 0.0 {
            row.mapv_inplace(|v| -v);
        }
    }
    qt
}

/// Householder QR of a panel (`nb` columns, stored as rows of `panel`, each from the
/// diagonal down): leaves `R`'s diagonal in `diagonal`, each reflector's vector below it
/// in the panel (its leading 1 implied), and returns the reflectors' `tau`s.
fn factor_panel(mut panel: ArrayViewMut2<'_, f64>, diagonal: &mut [f64]) -> Vec<f64> {
    let nb = panel.nrows();
    let mut taus = Vec::with_capacity(nb);
    for (k, diagonal) in diagonal.iter_mut().enumerate().take(nb) {
        let (mut head, mut tail) = panel.view_mut().split_at(Axis(0), k + 1);
        let mut x = head.row_mut(k);
        let mut x = x.slice_mut(s![k..]);
        let alpha = x[0];
        let norm_below = x.slice(s![1..]).dot(&x.slice(s![1..])).sqrt();
        let tau = if norm_below == 0.0 {
            // Already zero below the diagonal: H = I, and R's entry is alpha itself.
            *diagonal = alpha;
            0.0
        } else {
            let beta = -alpha.signum() * alpha.hypot(norm_below);
            let scale = 1.0 / (alpha - beta);
            x.slice_mut(s![1..]).mapv_inplace(|v| v * scale);
            *diagonal = beta;
            (beta - alpha) / beta
        };
        x[0] = 1.0;
        if tau != 0.0 {
            for mut column in tail.rows_mut() {
                let mut column = column.slice_mut(s![k..]);
                let w = tau * x.dot(&column);
                column.scaled_add(-w, &x);
            }
        }
        taus.push(tau);
    }
    taus
}

/// The panel's reflector vectors as rows, `nb x (m - j)`: zero before each one's start, 1
/// at it, then the stored entries.
fn reflectors(panel: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut vt = panel.to_owned();
    for (k, mut row) in vt.axis_iter_mut(Axis(0)).enumerate() {
        row.slice_mut(s![..k]).fill(0.0);
        row[k] = 1.0;
    }
    vt
}

/// The upper triangular `T` of `H_1 ... H_nb = I - V T V^T` (LAPACK's `dlarft`, forward,
/// columnwise).
fn triangular_factor(vt: ArrayView2<'_, f64>, taus: &[f64]) -> Array2<f64> {
    let nb = taus.len();
    let mut t = Array2::<f64>::zeros((nb, nb));
    for i in 0..nb {
        t[[i, i]] = taus[i];
        if i == 0 || taus[i] == 0.0 {
            continue;
        }
        // z = V[:, ..i]^T v_i, then T[..i, i] = -tau_i T[..i, ..i] z.
        let vi = vt.row(i);
        let z: Vec<f64> = (0..i)
            .map(|p| vt.row(p).slice(s![i..]).dot(&vi.slice(s![i..])))
            .collect();
        for r in 0..i {
            let sum: f64 = (r..i).map(|c| t[[r, c]] * z[c]).sum();
            t[[r, i]] = -taus[i] * sum;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic, well-conditioned test matrix.
    fn matrix(m: usize, n: usize) -> Array2<f64> {
        Array2::from_shape_fn((m, n), |(r, c)| {
            let x = ((r * 7919 + c * 104_729) % 1009) as f64 / 1009.0 - 0.5;
            x + if r == c { 2.0 } else { 0.0 }
        })
    }

    /// `Q^T Q = I`, `R = Q^T A` upper triangular with a non-negative diagonal, and
    /// `Q R = A`, for shapes around and across block boundaries.
    #[test]
    fn q_is_orthonormal_and_reproduces_the_matrix() {
        for (m, n) in [(1, 1), (5, 3), (33, 33), (64, 31), (100, 65), (200, 97)] {
            let a = matrix(m, n);
            let qt = q_transposed(a.t().to_owned());
            let q = qt.t();
            let gram = qt.dot(&q);
            let r = qt.dot(&a);
            let rebuilt = q.dot(&r);
            let tolerance = 1e-12 * (m as f64);
            for i in 0..n {
                for j in 0..n {
                    let identity = if i == j { 1.0 } else { 0.0 };
                    assert!((gram[[i, j]] - identity).abs() < tolerance, "{m}x{n} Q^T Q");
                    if i > j {
                        assert!(r[[i, j]].abs() < tolerance, "{m}x{n}: R below the diagonal");
                    }
                }
                assert!(r[[i, i]] >= 0.0, "{m}x{n}: R's diagonal");
            }
            let error = (&rebuilt - &a).iter().fold(0.0_f64, |e, v| e.max(v.abs()));
            assert!(error < tolerance * 10.0, "{m}x{n}: |QR - A| = {error}");
        }
    }

    /// A column already zero below the diagonal needs no reflection; a zero column gives a
    /// zero diagonal entry and still an orthonormal Q.
    #[test]
    fn degenerate_columns_keep_q_orthonormal() {
        let mut a = Array2::<f64>::eye(4);
        a[[0, 1]] = 3.0;
        a[[2, 2]] = 0.0;
        let qt = q_transposed(a.t().to_owned());
        let gram = qt.dot(&qt.t());
        assert!(
            (&gram - &Array2::<f64>::eye(4))
                .iter()
                .all(|v| v.abs() < 1e-14)
        );
    }
}
