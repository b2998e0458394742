//! What the kernel benches (`thin`, `packed`) share: operands in plain row-major buffers,
//! the raw `cblas_sgemm` they are measured against, their inputs, and the check that a
//! kernel computes the same product.

/// An operand of a product, row-major, with `x[i, j]` at `i * cols + j`, or transposed.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub(crate) values: &'a [f32],
    /// Columns of the stored matrix.
    pub(crate) cols: usize,
    pub(crate) transposed: bool,
}

impl<'a> Operand<'a> {
    pub(crate) fn new(values: &'a [f32], cols: usize, transposed: bool) -> Self {
        Self {
            values,
            cols,
            transposed,
        }
    }
}

/// `c[m, n] = op(a) * op(b)` through raw CBLAS, row-major, beta = 0.
pub(crate) fn cblas(
    (m, n, k): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
) {
    assert!(a.values.len() == m * k && b.values.len() == k * n && c.len() == m * n);
    // SAFETY: row-major buffers of exactly the sizes passed, checked above; c aliases
    // neither input.
    unsafe {
        initlab_bench::raw_blas::sgemm(
            a.transposed,
            b.transposed,
            m as i32,
            n as i32,
            k as i32,
            1.0,
            a.values.as_ptr(),
            a.cols as i32,
            b.values.as_ptr(),
            b.cols as i32,
            0.0,
            c.as_mut_ptr(),
            n as i32,
        );
    }
}

/// Fixed inputs in [-0.5, 0.5), different for every seed.
pub(crate) fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 31 + seed * 17) % 23) as f32 / 23.0 - 0.5)
        .collect()
}

/// Demands that `ours` is `theirs` up to rounding in another order (within 1e-5 of the
/// largest magnitude), and says how many values are bitwise equal.
pub(crate) fn agree(label: &str, ours: &[f32], theirs: &[f32]) {
    let scale = theirs.iter().fold(0.0_f32, |s, v| s.max(v.abs()));
    let gap = ours
        .iter()
        .zip(theirs)
        .fold(0.0_f32, |g, (x, y)| g.max((x - y).abs()));
    assert!(
        gap <= 1e-5 * scale,
        "{label}: off by {gap} at scale {scale}"
    );
    let same = ours
        .iter()
        .zip(theirs)
        .filter(|(x, y)| x.to_bits() == y.to_bits())
        .count();
    eprintln!(
        "{label}: {same} of {} values bitwise equal to cblas",
        ours.len()
    );
}

/// Median seconds per call of `base` and `other`, called in turn 301 times each after a
/// warm-up, so that both see the same machine.
#[allow(
    dead_code,
    reason = "the packed bench's; thin includes this module too"
)]
pub(crate) fn interleaved(mut base: impl FnMut(), mut other: impl FnMut()) -> (f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    for _ in 0..20 {
        base();
        other();
    }
    let (mut base_s, mut other_s): (Vec<f64>, Vec<f64>) = (0..301)
        .map(|_| (time(&mut base), time(&mut other)))
        .unzip();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut base_s), median(&mut other_s))
}
