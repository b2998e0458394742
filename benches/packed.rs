//! A prototype GEMM of our own against `cblas_sgemm` at the MLP shapes, on one thread: a
//! packed 8 x 32 AVX-512 microkernel (stable `std::arch` intrinsics since Rust 1.89), with
//! each output one FMA chain in order along `k`, no blocking of `k` (checked bit for bit
//! against that chain in scalar `mul_add`, so any tiling, thread count or instruction set
//! that keeps the chain gives the same bits). It measures what a
//! kernel of our own would give where OpenBLAS is held to AVX2 (`OPENBLAS_CORETYPE=Haswell`),
//! and prints how many values it shares bit for bit with the BLAS in use. Nothing in the
//! library uses it. Needs AVX-512F; elsewhere it says so and measures nothing. Throughput
//! is in FLOP (2mnk), so "Gelem/s" reads as GFLOP/s.

use std::hint::black_box;
use std::time::Duration;

use core_math::BlasThreads;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Rows of C per microkernel tile.
const MR: usize = 8;
/// Columns of C per microkernel tile: two 16-float registers.
const NR: usize = 32;

/// Operand `x` of a product, row-major, with `x[i, j]` at `i * cols + j`, or transposed.
#[derive(Clone, Copy)]
struct Operand<'a> {
    values: &'a [f32],
    /// Columns of the stored matrix.
    cols: usize,
    transposed: bool,
}

/// Copies `lanes` rows (of A, `rows_of_a`) or columns (of B) of `x` from `first` on into
/// `panel`, one slot per `k`: a contiguous copy per slot where those run along memory,
/// else one pass along each row or column.
fn pack<const L: usize>(
    x: Operand<'_>,
    first: usize,
    lanes: usize,
    panel: &mut [[f32; L]],
    rows_of_a: bool,
) {
    // A's rows of op(A) and B's columns of op(B) are contiguous along k unless transposed
    // (for A) or not (for B): then each slot is a slice of memory.
    if x.transposed == rows_of_a {
        for (kk, slot) in panel.iter_mut().enumerate() {
            let start = kk * x.cols + first;
            slot[..lanes].copy_from_slice(&x.values[start..start + lanes]);
        }
    } else {
        let k = panel.len();
        for lane in 0..lanes {
            let start = (first + lane) * x.cols;
            for (slot, &v) in panel.iter_mut().zip(&x.values[start..start + k]) {
                slot[lane] = v;
            }
        }
    }
}

/// The packed panels of one product, reused from call to call.
#[derive(Default)]
struct Panels {
    a: Vec<[f32; MR]>,
    b: Vec<[f32; NR]>,
}

/// `c[m, n] = a[m, k] * b[k, n]`: A packed in panels of 8 rows and B in panels of 32 columns
/// (zero-padded at the edges), then one tile of C per pair of panels.
fn packed_gemm(
    (m, n, k): (usize, usize, usize),
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
    panels: &mut Panels,
) {
    let (row_panels, col_panels) = (m.div_ceil(MR), n.div_ceil(NR));
    panels.a.resize(row_panels * k, [0.0; MR]);
    panels.b.resize(col_panels * k, [0.0; NR]);
    // Padding lanes are never read into C, so what they hold does not matter.
    for (p, panel) in panels.a.chunks_exact_mut(k).enumerate() {
        pack(a, p * MR, MR.min(m - p * MR), panel, true);
    }
    for (p, panel) in panels.b.chunks_exact_mut(k).enumerate() {
        pack(b, p * NR, NR.min(n - p * NR), panel, false);
    }
    for (q, b_panel) in panels.b.chunks_exact(k).enumerate() {
        for (p, a_panel) in panels.a.chunks_exact(k).enumerate() {
            // SAFETY: the bench runs this only where AVX-512F was detected.
            let tile = unsafe { tile_avx512(a_panel, b_panel) };
            for (r, row) in tile.iter().enumerate().take(m - p * MR) {
                let start = (p * MR + r) * n + q * NR;
                let width = NR.min(n - q * NR);
                c[start..start + width].copy_from_slice(&row[..width]);
            }
        }
    }
}

/// One 8 x 32 tile of C from an A panel and a B panel of the same length.
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

/// `c[m, n] = op(a) * op(b)` through raw CBLAS, row-major, beta = 0.
fn cblas((m, n, k): (usize, usize, usize), a: Operand<'_>, b: Operand<'_>, c: &mut [f32]) {
    assert!(a.values.len() == m * k && b.values.len() == k * n && c.len() == m * n);
    // SAFETY: row-major buffers of exactly the sizes passed, checked above; c aliases
    // neither input.
    unsafe {
        bench::raw_blas::sgemm(
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

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 31 + seed * 17) % 23) as f32 / 23.0 - 0.5)
        .collect()
}

fn packed(c: &mut Criterion) {
    if !std::arch::is_x86_feature_detected!("avx512f") {
        eprintln!("packed: this CPU has no AVX-512F; nothing measured");
        return;
    }
    let _threads = BlasThreads::set(1);
    let mut group = c.benchmark_group("packed/1t");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500));
    // (name, m, n, k, A transposed, B transposed): forward x W^T, dW = dY^T X, dX = dY W.
    let products = [
        ("fwd", 128, 512, 784, false, true),
        ("fwd", 128, 512, 512, false, true),
        ("dW", 512, 784, 128, true, false),
        ("dX", 128, 512, 512, false, false),
        ("fwd", 128, 256, 256, false, true),
        ("dW", 256, 256, 128, true, false),
        ("dX", 128, 256, 256, false, false),
    ];
    for (name, m, n, k, ta, tb) in products {
        let (a_values, b_values) = (values(m * k, 1), values(k * n, 2));
        let a = Operand {
            values: &a_values,
            cols: if ta { m } else { k },
            transposed: ta,
        };
        let b = Operand {
            values: &b_values,
            cols: if tb { k } else { n },
            transposed: tb,
        };
        let (mut theirs, mut ours) = (vec![0.0; m * n], vec![0.0; m * n]);
        let mut panels = Panels::default();
        cblas((m, n, k), a, b, &mut theirs);
        packed_gemm((m, n, k), a, b, &mut ours, &mut panels);
        // Each value is exactly the scalar FMA chain in k order, whichever tile it sits in.
        let chain = |i: usize, j: usize| {
            (0..k).fold(0.0_f32, |acc, kk| {
                let x = if ta {
                    a_values[kk * m + i]
                } else {
                    a_values[i * k + kk]
                };
                let y = if tb {
                    b_values[j * k + kk]
                } else {
                    b_values[kk * n + j]
                };
                x.mul_add(y, acc)
            })
        };
        let exact = (0..m * n).all(|ij| ours[ij].to_bits() == chain(ij / n, ij % n).to_bits());
        assert!(exact, "{name} {m}x{k}x{n}: not the FMA chain in k order");
        let scale = theirs.iter().fold(0.0_f32, |s, v| s.max(v.abs()));
        let gap = ours
            .iter()
            .zip(&theirs)
            .fold(0.0_f32, |g, (x, y)| g.max((x - y).abs()));
        assert!(gap <= 1e-5 * scale, "{name} {m}x{k}x{n}: off by {gap}");
        let same = ours
            .iter()
            .zip(&theirs)
            .filter(|(x, y)| x.to_bits() == y.to_bits())
            .count();
        eprintln!(
            "{name} {m}x{k}x{n}: {same} of {} values bitwise equal to cblas",
            m * n
        );

        let id = format!("{name}/{m}x{k}x{n}");
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        group.bench_function(BenchmarkId::new("cblas", &id), |bencher| {
            bencher.iter(|| cblas((m, n, k), a, b, black_box(&mut theirs)))
        });
        group.bench_function(BenchmarkId::new("packed", &id), |bencher| {
            bencher.iter(|| packed_gemm((m, n, k), a, b, black_box(&mut ours), &mut panels))
        });
    }
    group.finish();
}

criterion_group!(benches, packed);
criterion_main!(benches);
