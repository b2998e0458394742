//! initlab-gemm's own single-precision GEMM, compiled into every x86-64 build and run where
//! a [`Kernel`] asks for it (the free functions run it with the feature `packed-gemm`): A
//! and B packed into panels, and a register-tile microkernel in `std::arch` intrinsics, 8 x 32 with
//! AVX-512F or 6 x 16 with AVX2 and FMA. `k` is never blocked, so each output is one FMA
//! chain in `k` order, `fma(a[k-1], b[k-1], ... fma(a[0], b[0], 0))`, then
//! `alpha * chain + beta * c`, on either instruction set. Its bits therefore depend neither
//! on how a product is cut into blocks, unlike OpenBLAS's, nor on which of the two ran. It
//! runs single-threaded; on CPUs with neither, and for f64, BLAS runs.

use std::sync::OnceLock;

use crate::{CpuFeatures, Isa, Kernel};

use ndarray::{ArrayView2, ArrayViewMut2};

/// The environment variable that picks the packed kernel's instruction set, as
/// `OPENBLAS_CORETYPE` picks OpenBLAS's kernels: `avx2` or `avx512`, in any case. A value
/// this CPU cannot run, or any other value, leaves the best one it has;
/// [`gemm_kernel`] says which ran.
pub const PACKED_ISA_VAR: &str = "INITLAB_GEMM_PACKED_ISA";

/// The kernel the free functions ([`gemm`](crate::gemm), [`affine`](crate::affine),
/// [`affine_backward`](crate::affine_backward)) run: with the feature `packed-gemm`, the
/// packed kernel on the instruction set [`PACKED_ISA_VAR`] asks for if this CPU runs it,
/// else on the best one it runs; OpenBLAS without the feature or on a CPU with neither.
/// Chosen once per process.
pub(crate) fn build_default() -> Kernel {
    static CHOSEN: OnceLock<Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        if !cfg!(feature = "packed-gemm") {
            return Kernel::OPENBLAS;
        }
        let cpu = CpuFeatures::detect();
        let asked = std::env::var(PACKED_ISA_VAR).map(|v| v.to_ascii_lowercase());
        let asked = match asked.as_deref() {
            Ok("avx512") => Some(Isa::Avx512),
            Ok("avx2") => Some(Isa::Avx2),
            _ => None,
        };
        asked
            .and_then(|isa| Kernel::packed_on(isa, cpu).ok())
            .or_else(|| Kernel::packed(cpu).ok())
            .unwrap_or(Kernel::OPENBLAS)
    })
}

/// Whether [`gemm`](crate::gemm) sends f32 products to the packed kernel: the feature is
/// built in and this CPU runs AVX-512F, or AVX2 with FMA. [`Kernel`] chooses per call.
pub fn packed_gemm_in_use() -> bool {
    build_default().isa().is_some()
}

/// What runs the free functions' products, for records of how a result was made:
/// [`Kernel::describe`] of the kernel they run.
pub fn gemm_kernel() -> String {
    build_default().describe()
}

/// The f64 product, and f32 off x86-64: `false`, BLAS runs.
pub(crate) fn unavailable<T>(
    _: Isa,
    _: T,
    _: &ArrayView2<'_, T>,
    _: &ArrayView2<'_, T>,
    _: T,
    _: &mut ArrayViewMut2<'_, T>,
) -> bool {
    false
}

/// The f64 affine map, and f32 off x86-64: `false`, BLAS runs.
pub(crate) fn affine_unavailable<T>(
    _: Isa,
    _: &ArrayView2<'_, T>,
    _: &ArrayView2<'_, T>,
    _: &[T],
    _: &mut ArrayViewMut2<'_, T>,
) -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) use {affine_unavailable as affine_f32, unavailable as gemm_f32};

/// What the product's `alpha * chain` is added to as it is stored.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Addend<'a> {
    /// `beta * c`, C's old value (with `beta == 0`, nothing: C is never read).
    ScaledC(f32),
    /// The row `bias[j]` under every row of C's column `j`: the affine map's bias, added
    /// as `fma(alpha, chain, bias[j])`, the bits of broadcasting it into C and adding C
    /// with `beta = 1`.
    Row(&'a [f32]),
}

/// `c <- alpha * a * b + beta * c` for `a` m x k, `b` k x n (views of any strides, `k >= 1`,
/// shapes checked by the caller) through the packed kernel on `isa`, which the caller
/// checked this CPU runs; `true`, it ran.
#[cfg(target_arch = "x86_64")]
pub(crate) fn gemm_f32(
    isa: Isa,
    alpha: f32,
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    beta: f32,
    c: &mut ArrayViewMut2<'_, f32>,
) -> bool {
    kernel::gemm_on(isa, alpha, a, b, Addend::ScaledC(beta), c);
    true
}

/// `c <- a * b + bias` (`bias[j]` under every row of column `j`) for `a` m x k, `b` k x n,
/// `bias` n long (`k >= 1`, shapes checked by the caller) through the packed kernel on
/// `isa`, in one pass over C; `true`, it ran.
#[cfg(target_arch = "x86_64")]
pub(crate) fn affine_f32(
    isa: Isa,
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    bias: &[f32],
    c: &mut ArrayViewMut2<'_, f32>,
) -> bool {
    kernel::gemm_on(isa, 1.0, a, b, Addend::Row(bias), c);
    true
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod kernel {
    use std::arch::x86_64::{
        _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_permute2f128_ps, _mm256_set1_ps,
        _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps,
        _mm256_unpacklo_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps,
        _mm512_setzero_ps, _mm512_storeu_ps,
    };
    use std::cell::RefCell;

    use ndarray::{ArrayView2, ArrayViewMut2, s};

    use super::{Addend, Isa};

    /// Packed panels, kept per thread so that steady-state products allocate nothing.
    #[derive(Default)]
    struct Panels {
        a: Vec<CacheLine>,
        b: Vec<CacheLine>,
    }

    /// 64 bytes on a 64-byte boundary, so that a thread's panel buffer starts on a cache line
    /// (glibc's large allocations are only 16-byte aligned). With 32-column B panels
    /// (AVX-512) every vector load of B is then line-aligned, and with 16-column ones (AVX2)
    /// every row of B is one line. Its effect on speed was within this machine's noise.
    #[derive(Clone, Copy)]
    #[repr(C, align(64))]
    struct CacheLine([f32; 16]);

    thread_local! {
        static PANELS: RefCell<Panels> = RefCell::new(Panels::default());
    }

    /// A microkernel: every `MR x NR` tile of FMA chains of the A panels (each as long as
    /// the B panel) with one B panel, stored into C. Unsafe to call where the CPU lacks its
    /// instruction set.
    type Microkernel<const MR: usize, const NR: usize> =
        unsafe fn(&[[f32; MR]], &[[f32; NR]], &ColumnPanel<'_>);

    /// Where a B panel's tiles go: C's columns `j..j + cols`, all `m` rows of them.
    struct ColumnPanel<'a> {
        /// C's element (0, j).
        start: *mut f32,
        row_stride: isize,
        col_stride: isize,
        m: usize,
        cols: usize,
        alpha: f32,
        /// What `alpha * tile` is added to; a bias row holds the panel's `cols` columns.
        addend: Addend<'a>,
    }

    impl ColumnPanel<'_> {
        /// `c <- alpha * tile + addend` on the first `rows` rows from `row` and the
        /// panel's columns, one value at a time: the tiles at C's edges, or of a C whose
        /// rows are not contiguous.
        ///
        /// # Safety
        /// `self` describes columns of a C that is uniquely borrowed for the call, and
        /// `row + rows <= self.m`.
        unsafe fn put<const MR: usize, const NR: usize>(
            &self,
            row: usize,
            rows: usize,
            tile: &[[f32; NR]; MR],
        ) {
            for (r, values) in tile.iter().enumerate().take(rows) {
                for (jj, &v) in values[..self.cols].iter().enumerate() {
                    let at = (row + r) as isize * self.row_stride + jj as isize * self.col_stride;
                    // SAFETY: (row + r, jj) is inside the panel, by the caller's contract.
                    let o = unsafe { &mut *self.start.offset(at) };
                    *o = match self.addend {
                        Addend::ScaledC(0.0) => self.alpha * v,
                        Addend::ScaledC(beta) => self.alpha.mul_add(v, beta * *o),
                        Addend::Row(bias) => self.alpha.mul_add(v, bias[jj]),
                    };
                }
            }
        }
    }

    /// The product through `isa`'s microkernel.
    ///
    /// # Panics
    /// If this CPU cannot run `isa`.
    pub(crate) fn gemm_on(
        isa: Isa,
        alpha: f32,
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        addend: Addend<'_>,
        c: &mut ArrayViewMut2<'_, f32>,
    ) {
        assert!(
            crate::CpuFeatures::detect().runs(isa),
            "this CPU cannot run {isa:?}"
        );
        if let Addend::Row(bias) = addend {
            assert_eq!(bias.len(), b.ncols(), "one bias per column of C");
        }
        match isa {
            Isa::Avx512 => tiled::<8, 32>(panel_avx512, alpha, a, b, addend, c),
            Isa::Avx2 => tiled::<6, 16>(panel_avx2, alpha, a, b, addend, c),
        }
    }

    /// Packs A into `MR`-row panels and B into `NR`-column panels, then runs `kernel` on
    /// each B panel. The caller has checked that the CPU runs `kernel`'s instructions, and
    /// AVX with them, which the packing uses.
    fn tiled<const MR: usize, const NR: usize>(
        kernel: Microkernel<MR, NR>,
        alpha: f32,
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        addend: Addend<'_>,
        c: &mut ArrayViewMut2<'_, f32>,
    ) {
        let ((m, k), n) = (a.dim(), b.ncols());
        PANELS.with_borrow_mut(|panels| {
            let a_panels = fit::<MR>(&mut panels.a, m.div_ceil(MR) * k);
            let b_panels = fit::<NR>(&mut panels.b, n.div_ceil(NR) * k);
            // Lanes past the edge keep whatever they held: they only reach tile rows and
            // columns that are never written to C.
            for (p, panel) in a_panels.chunks_exact_mut(k).enumerate() {
                pack(a.slice(s![p * MR..m.min(p * MR + MR), ..]), panel);
            }
            let bt = b.t();
            for (q, panel) in b_panels.chunks_exact_mut(k).enumerate() {
                pack(bt.slice(s![q * NR..n.min(q * NR + NR), ..]), panel);
            }
            let (row_stride, col_stride) = (c.strides()[0], c.strides()[1]);
            for (q, b_panel) in b_panels.chunks_exact(k).enumerate() {
                let columns = q * NR..n.min(q * NR + NR);
                let out = ColumnPanel {
                    // SAFETY: column q * NR < n of c.
                    start: unsafe { c.as_mut_ptr().offset((q * NR) as isize * col_stride) },
                    row_stride,
                    col_stride,
                    m,
                    cols: columns.len(),
                    alpha,
                    addend: match addend {
                        Addend::Row(bias) => Addend::Row(&bias[columns]),
                        scaled => scaled,
                    },
                };
                // SAFETY: the caller checked that this CPU runs the kernel's instructions;
                // `out` is columns of c, borrowed uniquely here.
                unsafe { kernel(a_panels, b_panel, &out) };
            }
        });
    }

    /// Bytes a thread's panel buffer starts with: every product of a batch-128 training step
    /// on layers up to 512 wide fits, so such steps stop allocating after a thread's first
    /// product (wider ones after the first product of each larger size).
    const FLOOR_BYTES: usize = 256 * 1024;

    /// Resizes `panel` to `slots` slots of `L` floats, growing its capacity at least
    /// twofold, and to at least [`FLOOR_BYTES`]: a thread allocates a few times in its life,
    /// not per product.
    fn fit<const L: usize>(panel: &mut Vec<CacheLine>, slots: usize) -> &mut [[f32; L]] {
        let lines = (slots * L).div_ceil(16);
        if panel.capacity() < lines {
            let floor = FLOOR_BYTES / std::mem::size_of::<CacheLine>();
            let target = lines.max(floor).max(2 * panel.capacity());
            panel.reserve_exact(target - panel.len());
        }
        panel.resize(lines, CacheLine([0.0; 16]));
        // SAFETY: the lines are `lines * 16 >= slots * L` initialized floats, contiguous
        // (`repr(C)`, no padding at 64 bytes), and [f32; L] needs only f32's alignment.
        unsafe { std::slice::from_raw_parts_mut(panel.as_mut_ptr().cast::<[f32; L]>(), slots) }
    }

    /// Copies `x` (lanes x k, at most `L` lanes) into `panel[kk][lane]`: one copy per `k`
    /// where the lanes are contiguous, 8 x 8 register transposes where each lane is, else
    /// one pass along each lane.
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
            return;
        }
        // Lanes below `transposed` and k below `k8` go through the transposes.
        let (transposed, k8) = if k_stride == 1 && L.is_multiple_of(8) {
            (lanes / 8 * 8, k / 8 * 8)
        } else {
            (0, 0)
        };
        for group in (0..transposed).step_by(8) {
            // SAFETY: group + 7 < lanes: the starts of x's rows group..group + 8.
            let rows =
                std::array::from_fn(|i| unsafe { base.offset((group + i) as isize * lane_stride) });
            for kk in (0..k8).step_by(8) {
                // SAFETY: every CPU the packed kernel runs on has AVX (it is part of both
                // AVX2 and AVX-512F); kk + 8 <= k, so each row has 8 values from kk, and
                // kk + 8 <= panel.len(), group + 8 <= L.
                unsafe { transpose_8x8(rows, kk, panel, group) };
            }
        }
        for lane in 0..lanes {
            let from = if lane < transposed { k8 } else { 0 };
            // SAFETY: lane < lanes, so this is the start of x's row `lane`.
            let row = unsafe { base.offset(lane as isize * lane_stride) };
            for (kk, slot) in panel.iter_mut().enumerate().skip(from) {
                // SAFETY: kk < k: the element (lane, kk) of x.
                slot[lane] = unsafe { *row.offset(kk as isize * k_stride) };
            }
        }
    }

    /// `panel[kk + j][group + i] = rows[i][kk + j]` for i, j < 8.
    ///
    /// # Safety
    /// The CPU runs AVX; each `rows[i]` has 8 readable floats from `kk`;
    /// `kk + 8 <= panel.len()` and `group + 8 <= L`.
    #[target_feature(enable = "avx")]
    unsafe fn transpose_8x8<const L: usize>(
        rows: [*const f32; 8],
        kk: usize,
        panel: &mut [[f32; L]],
        group: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            let r = rows.map(|row| _mm256_loadu_ps(row.add(kk)));
            // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves: the
            // usual 24-shuffle transpose.
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let columns = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            for (j, column) in columns.into_iter().enumerate() {
                _mm256_storeu_ps(panel[kk + j][group..group + 8].as_mut_ptr(), column);
            }
        }
    }

    /// A microkernel over one B panel, [`Microkernel`], from one instruction set's vector
    /// intrinsics: `$w` floats per register, two registers per tile row.
    macro_rules! microkernel {
        ($(#[$doc:meta])* $name:ident, $features:literal, $mr:literal x $nr:literal,
         $w:literal, $zero:ident, $load:ident, $splat:ident, $fmadd:ident, $mul:ident,
         $store:ident) => {
            $(#[$doc])*
            #[target_feature(enable = $features)]
            unsafe fn $name(a_panels: &[[f32; $mr]], b: &[[f32; $nr]], out: &ColumnPanel) {
                /// Registers per tile row.
                const V: usize = $nr / $w;
                // SAFETY: loads read and stores write `$w` floats at a multiple of `$w`
                // below `$nr` in a [f32; $nr], or in a C row or bias row with `$nr`
                // columns from `out.start` (full tiles of a C with contiguous rows only);
                // `put` gets the rows inside C.
                unsafe {
                    let alpha = $splat(out.alpha);
                    let beta = match out.addend {
                        Addend::ScaledC(beta) => $splat(beta),
                        Addend::Row(_) => $zero(),
                    };
                    for (p, a) in a_panels.chunks_exact(b.len()).enumerate() {
                        let mut acc = [[$zero(); V]; $mr];
                        for (a, b) in a.iter().zip(b) {
                            let b: [_; V] = std::array::from_fn(|v| $load(b.as_ptr().add(v * $w)));
                            for (acc, &x) in acc.iter_mut().zip(a) {
                                let x = $splat(x);
                                for (acc, &b) in acc.iter_mut().zip(&b) {
                                    *acc = $fmadd(x, b, *acc);
                                }
                            }
                        }
                        let rows = (out.m - p * $mr).min($mr);
                        if rows == $mr && out.cols == $nr && out.col_stride == 1 {
                            for (r, acc) in acc.iter().enumerate() {
                                let row = (p * $mr + r) as isize * out.row_stride;
                                let row = out.start.offset(row);
                                for (v, &acc) in acc.iter().enumerate() {
                                    let to = row.add(v * $w);
                                    let value = match out.addend {
                                        Addend::ScaledC(0.0) => {
                                            $mul(alpha, acc)
                                        }
                                        Addend::ScaledC(_) => {
                                            $fmadd(alpha, acc, $mul(beta, $load(to)))
                                        }
                                        Addend::Row(bias) => {
                                            $fmadd(alpha, acc, $load(bias.as_ptr().add(v * $w)))
                                        }
                                    };
                                    $store(to, value);
                                }
                            }
                            continue;
                        }
                        let mut tile = [[0.0; $nr]; $mr];
                        for (row, acc) in tile.iter_mut().zip(&acc) {
                            for (v, &acc) in acc.iter().enumerate() {
                                $store(row.as_mut_ptr().add(v * $w), acc);
                            }
                        }
                        out.put(p * $mr, rows, &tile);
                    }
                }
            }
        };
    }

    microkernel!(
        /// 8 x 32 tiles with AVX-512F: 16 accumulators of the 32 registers.
        panel_avx512, "avx512f", 8 x 32, 16, _mm512_setzero_ps, _mm512_loadu_ps,
        _mm512_set1_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_storeu_ps
    );

    microkernel!(
        /// 6 x 16 tiles with AVX2 and FMA: 12 accumulators, 2 B registers and a broadcast,
        /// 15 of the 16 registers of an AVX2 CPU. In `target-cpu=znver3` builds (16
        /// registers, as on a Zen 3), 4 x 24 and 6 x 16 ran at 0.93-1.00x of OpenBLAS's
        /// Haswell kernels alone (on a Zen 4), and 3 x 32 (one register short) at 0.5x. In
        /// training on a Zen 5 they tie on one thread, but on two, 6 x 16 was 1.5-4.4%
        /// faster: a layer's 128-unit halves are 8 of its panels, where they were 5 1/3 of
        /// 24-column ones, whose last panel left a third of its lanes idle.
        panel_avx2, "avx2,fma", 6 x 16, 8, _mm256_setzero_ps, _mm256_loadu_ps,
        _mm256_set1_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_storeu_ps
    );
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use ndarray::{Array2, ArrayView2};

    use super::{Addend, Isa, kernel};
    use crate::CpuFeatures;

    /// Values in [-0.5, 0.5) with 23 distinct steps, different per seed.
    fn values((rows, cols): (usize, usize), seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * 31 + j * 7 + seed * 17) % 23) as f32 / 23.0 - 0.5
        })
    }

    /// `alpha * chain + beta * c` for one output, in scalar arithmetic.
    fn chain(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, (i, j): (usize, usize)) -> f32 {
        (0..a.ncols()).fold(0.0_f32, |acc, kk| a[[i, kk]].mul_add(b[[kk, j]], acc))
    }

    #[test]
    fn both_instruction_sets_compute_the_fma_chain_from_any_layout_plus_any_addend() {
        let isas: Vec<Isa> = Isa::ALL
            .into_iter()
            .filter(|&isa| CpuFeatures::detect().runs(isa))
            .collect();
        // Edges of 6-, 8-, 16- and 32-wide tiles, k with and without a remainder of 8, and
        // operands stored as given and transposed (the layer's x w^T, whose packing
        // transposes 8 x 8 blocks).
        for (m, k, n) in [
            (1, 1, 1),
            (7, 9, 17),
            (13, 784, 45),
            (72, 19, 259),
            (8, 16, 48),
        ] {
            for (a_t, b_t) in [(false, false), (false, true), (true, false), (true, true)] {
                let a_store = if a_t {
                    values((k, m), 1)
                } else {
                    values((m, k), 1)
                };
                let b_store = if b_t {
                    values((n, k), 2)
                } else {
                    values((k, n), 2)
                };
                let a = if a_t { a_store.t() } else { a_store.view() };
                let b = if b_t { b_store.t() } else { b_store.view() };
                let bias: Vec<f32> = values((1, n), 4).into_iter().collect();
                for &isa in &isas {
                    let c0 = values((m, n), 3);
                    for (alpha, addend) in [
                        (1.0, Addend::ScaledC(0.0)),
                        (0.5, Addend::ScaledC(-2.0)),
                        (1.0, Addend::Row(&bias)),
                        (0.5, Addend::Row(&bias)),
                    ] {
                        let mut c = c0.clone();
                        kernel::gemm_on(isa, alpha, &a, &b, addend, &mut c.view_mut());
                        // And into a C whose columns are contiguous, not its rows.
                        let mut c_t = Array2::zeros((n, m));
                        c_t.assign(&c0.t());
                        let mut c_t = c_t.reversed_axes();
                        assert_eq!(c_t.strides(), [1, m as isize]);
                        kernel::gemm_on(isa, alpha, &a, &b, addend, &mut c_t.view_mut());
                        assert_eq!(c_t, c, "{isa:?} {m}x{k}x{n} into a transposed C");
                        for ((i, j), &got) in c.indexed_iter() {
                            let sum = chain(&a, &b, (i, j));
                            let want = match addend {
                                Addend::ScaledC(0.0) => alpha * sum,
                                Addend::ScaledC(beta) => alpha.mul_add(sum, beta * c0[[i, j]]),
                                Addend::Row(bias) => alpha.mul_add(sum, bias[j]),
                            };
                            assert_eq!(
                                got.to_bits(),
                                want.to_bits(),
                                "{isa:?} {m}x{k}x{n} (a_t {a_t}, b_t {b_t}, {addend:?}) at ({i}, {j})"
                            );
                        }
                    }
                }
            }
        }
    }
}
