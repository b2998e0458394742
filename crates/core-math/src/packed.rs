//! core-math's own single-precision GEMM, behind the `packed-gemm` feature: A and B packed
//! into panels of 8 rows and 32 columns, and an 8 x 32 AVX-512 microkernel (`std::arch`).
//! `k` is never blocked, so each output is one FMA chain in `k` order, `fma(a[k-1],
//! b[k-1], ... fma(a[0], b[0], 0))`, then `alpha * chain + beta * c`. Its bits therefore do
//! not depend on how a product is cut into blocks, unlike OpenBLAS's. It runs where the CPU
//! has AVX-512F, single-threaded; elsewhere, and for f64, BLAS runs.

use ndarray::{ArrayView2, ArrayViewMut2};

/// Whether [`gemm`](crate::gemm) sends f32 products to the packed kernel: the feature is
/// built in and this CPU runs AVX-512F.
pub fn packed_gemm_in_use() -> bool {
    cfg!(all(feature = "packed-gemm", target_arch = "x86_64")) && avx512()
}

/// What runs the products, for records of how a result was made: OpenBLAS's kernel family
/// (as [`blas_info`](crate::blas_info)), or core-math's packed kernel for f32 beside it.
pub fn gemm_kernel() -> String {
    let core = crate::blas_info().core;
    if packed_gemm_in_use() {
        format!("core-math packed AVX-512 for f32, OpenBLAS {core} for f64")
    } else {
        core
    }
}

#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx512() -> bool {
    false
}

/// The f64 product, and f32 without the feature or the CPU: `false`, BLAS runs.
pub(crate) fn unavailable<T>(
    _: T,
    _: &ArrayView2<'_, T>,
    _: &ArrayView2<'_, T>,
    _: T,
    _: &mut ArrayViewMut2<'_, T>,
) -> bool {
    false
}

#[cfg(not(all(feature = "packed-gemm", target_arch = "x86_64")))]
pub(crate) use unavailable as gemm_f32;

#[cfg(all(feature = "packed-gemm", target_arch = "x86_64"))]
pub(crate) use kernel::gemm_f32;

#[cfg(all(feature = "packed-gemm", target_arch = "x86_64"))]
mod kernel {
    use std::cell::RefCell;

    use ndarray::{ArrayView2, ArrayViewMut2, s};

    /// Rows of C per tile.
    const MR: usize = 8;
    /// Columns of C per tile: two 16-float registers.
    const NR: usize = 32;

    /// Packed panels, kept per thread so that steady-state products allocate nothing.
    #[derive(Default)]
    struct Panels {
        a: Vec<[f32; MR]>,
        b: Vec<[f32; NR]>,
    }

    thread_local! {
        static PANELS: RefCell<Panels> = RefCell::new(Panels::default());
    }

    /// `c <- alpha * a * b + beta * c` for `a` m x k, `b` k x n (views of any strides,
    /// `k >= 1`, shapes checked by the caller); `false` without AVX-512F.
    pub(crate) fn gemm_f32(
        alpha: f32,
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        beta: f32,
        c: &mut ArrayViewMut2<'_, f32>,
    ) -> bool {
        if !super::avx512() {
            return false;
        }
        let ((m, k), n) = (a.dim(), b.ncols());
        PANELS.with_borrow_mut(|panels| {
            fit(&mut panels.a, m.div_ceil(MR) * k);
            fit(&mut panels.b, n.div_ceil(NR) * k);
            // Lanes past the edge keep whatever they held: they only reach tile rows and
            // columns that are never written to C.
            for (p, panel) in panels.a.chunks_exact_mut(k).enumerate() {
                pack(a.slice(s![p * MR..(m).min(p * MR + MR), ..]), panel);
            }
            let bt = b.t();
            for (q, panel) in panels.b.chunks_exact_mut(k).enumerate() {
                pack(bt.slice(s![q * NR..n.min(q * NR + NR), ..]), panel);
            }
            for (q, b_panel) in panels.b.chunks_exact(k).enumerate() {
                let columns = q * NR..n.min(q * NR + NR);
                for (p, a_panel) in panels.a.chunks_exact(k).enumerate() {
                    // SAFETY: AVX-512F was detected above.
                    let tile = unsafe { tile_avx512(a_panel, b_panel) };
                    let rows = p * MR..m.min(p * MR + MR);
                    let mut out = c.slice_mut(s![rows, columns.clone()]);
                    for (mut out, tile) in out.rows_mut().into_iter().zip(&tile) {
                        let store = |o: &mut f32, v: f32| {
                            *o = if beta == 0.0 {
                                alpha * v
                            } else {
                                alpha.mul_add(v, beta * *o)
                            }
                        };
                        if let Some(out) = out.as_slice_mut() {
                            out.iter_mut().zip(tile).for_each(|(o, &v)| store(o, v));
                            continue;
                        }
                        out.iter_mut().zip(tile).for_each(|(o, &v)| store(o, v));
                    }
                }
            }
        });
        true
    }

    /// Bytes a thread's panel buffer starts with: every product of a batch-128 training step
    /// on layers up to 512 wide fits, so such steps stop allocating after a thread's first
    /// product (wider ones after the first product of each larger size).
    const FLOOR_BYTES: usize = 256 * 1024;

    /// Resizes `panel` to `len` slots, growing its capacity at least twofold, and to at
    /// least [`FLOOR_BYTES`]: a thread allocates a few times in its life, not per product.
    fn fit<const L: usize>(panel: &mut Vec<[f32; L]>, len: usize) {
        if panel.capacity() < len {
            let floor = FLOOR_BYTES / std::mem::size_of::<[f32; L]>();
            let target = len.max(floor).max(2 * panel.capacity());
            panel.reserve_exact(target - panel.len());
        }
        panel.resize(len, [0.0; L]);
    }

    /// Copies `x` (lanes x k, at most `L` lanes) into `panel[kk][lane]`: one copy per `k`
    /// where the lanes are contiguous, else one pass along each lane.
    fn pack<const L: usize>(x: ArrayView2<'_, f32>, panel: &mut [[f32; L]]) {
        let (lanes, k) = x.dim();
        assert!(lanes <= L && panel.len() == k);
        let (lane_stride, k_stride) = (x.strides()[0], x.strides()[1]);
        let base = x.as_ptr();
        // Raw reads, not ndarray indexing: this runs once per value of every product, and
        // a view per slot costs more than the copy.
        if lanes == L && lane_stride == 1 {
            for (kk, slot) in panel.iter_mut().enumerate() {
                // SAFETY: the L values at kk * k_stride + 0..L are x's elements (kk, 0..L),
                // read through x's shared borrow.
                let lane_values =
                    unsafe { std::slice::from_raw_parts(base.offset(kk as isize * k_stride), L) };
                slot.copy_from_slice(lane_values);
            }
        } else {
            for lane in 0..lanes {
                // SAFETY: lane < lanes, so this is the start of x's row `lane`.
                let row = unsafe { base.offset(lane as isize * lane_stride) };
                for (kk, slot) in panel.iter_mut().enumerate() {
                    // SAFETY: kk < k: the element (lane, kk) of x.
                    slot[lane] = unsafe { *row.offset(kk as isize * k_stride) };
                }
            }
        }
    }

    /// One 8 x 32 tile: the FMA chains of an A panel and a B panel of the same length.
    #[target_feature(enable = "avx512f")]
    fn tile_avx512(a: &[[f32; MR]], b: &[[f32; NR]]) -> [[f32; NR]; MR] {
        use std::arch::x86_64::{
            _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
        };
        let mut tile = [[0.0; NR]; MR];
        // SAFETY: each load reads 16 floats at offset 0 or 16 of a [f32; 32], each store
        // writes 16 floats at offset 0 or 16 of one.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 2]; MR];
            for (a, b) in a.iter().zip(b) {
                let low = _mm512_loadu_ps(b.as_ptr());
                let high = _mm512_loadu_ps(b.as_ptr().add(16));
                for (acc, &x) in acc.iter_mut().zip(a) {
                    let x = _mm512_set1_ps(x);
                    acc[0] = _mm512_fmadd_ps(x, low, acc[0]);
                    acc[1] = _mm512_fmadd_ps(x, high, acc[1]);
                }
            }
            for (row, acc) in tile.iter_mut().zip(&acc) {
                _mm512_storeu_ps(row.as_mut_ptr(), acc[0]);
                _mm512_storeu_ps(row.as_mut_ptr().add(16), acc[1]);
            }
        }
        tile
    }
}
