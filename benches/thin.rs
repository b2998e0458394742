//! The output layer's thin products (10 units) through `cblas_sgemm` against hand-written
//! kernels for a few output units, on one thread: does a kernel of our own beat BLAS
//! where BLAS runs far below its peak? Both at the two reference networks' output layers
//! (512 -> 10 and 256 -> 10, batch 128). The kernels are safe Rust over fixed-size lane
//! arrays, which the compiler turns into FMA vector code for the host (`target-cpu=native`);
//! each output is one FMA chain in order along the summed dimension. That is how OpenBLAS's
//! SkylakeX kernels round at these sizes too (every dW and dX value bitwise equal), but not
//! its Haswell kernels, so the run prints how many values match the BLAS in use. Throughput
//! is in FLOP (2mnk), so "Gelem/s" reads as GFLOP/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use initlab_gemm::BlasThreads;

mod common;
use common::{Operand, agree, cblas, values};

/// Output units of the reference networks.
const UNITS: usize = 10;
const BATCH: usize = 128;
/// Lanes of the padded transposed weights in [`forward`]: one AVX-512 register.
const LANES: usize = 16;
/// Rows of `x` per block in [`forward`] and of `dx` in [`input_gradient`].
const ROWS: usize = 4;
/// Columns per block in [`weight_gradient`] and [`input_gradient`].
const COLUMNS: usize = 32;

/// `out[m, N] = x[m, k] * w[N, k]^T`, with `wt` as scratch for `w^T` padded to 16 lanes.
fn forward<const N: usize>(
    x: &[f32],
    w: &[f32],
    k: usize,
    wt: &mut [[f32; LANES]],
    out: &mut [f32],
) {
    for (kk, lanes) in wt.iter_mut().enumerate() {
        for (j, lane) in lanes.iter_mut().enumerate().take(N) {
            *lane = w[j * k + kk];
        }
    }
    for (xs, outs) in x.chunks_exact(ROWS * k).zip(out.chunks_exact_mut(ROWS * N)) {
        let mut acc = [[0.0_f32; LANES]; ROWS];
        for (kk, wv) in wt.iter().enumerate() {
            for (r, acc) in acc.iter_mut().enumerate() {
                let a = xs[r * k + kk];
                for (c, &b) in acc.iter_mut().zip(wv) {
                    *c = a.mul_add(b, *c);
                }
            }
        }
        for (acc, row) in acc.iter().zip(outs.chunks_exact_mut(N)) {
            row.copy_from_slice(&acc[..N]);
        }
    }
}

/// `dw[N, k] = delta[m, N]^T * x[m, k]`.
fn weight_gradient<const N: usize>(delta: &[f32], x: &[f32], k: usize, dw: &mut [f32]) {
    for c0 in (0..k).step_by(COLUMNS) {
        let mut acc = [[0.0_f32; COLUMNS]; N];
        for (d, xs) in delta.chunks_exact(N).zip(x.chunks_exact(k)) {
            let xv = &xs[c0..c0 + COLUMNS];
            for (acc, &dj) in acc.iter_mut().zip(d) {
                for (c, &b) in acc.iter_mut().zip(xv) {
                    *c = dj.mul_add(b, *c);
                }
            }
        }
        for (j, acc) in acc.iter().enumerate() {
            dw[j * k + c0..j * k + c0 + COLUMNS].copy_from_slice(acc);
        }
    }
}

/// `dx[m, k] = delta[m, N] * w[N, k]`.
fn input_gradient<const N: usize>(delta: &[f32], w: &[f32], k: usize, dx: &mut [f32]) {
    for (ds, outs) in delta
        .chunks_exact(ROWS * N)
        .zip(dx.chunks_exact_mut(ROWS * k))
    {
        for c0 in (0..k).step_by(COLUMNS) {
            let mut acc = [[0.0_f32; COLUMNS]; ROWS];
            for j in 0..N {
                let wv = &w[j * k + c0..j * k + c0 + COLUMNS];
                for (r, acc) in acc.iter_mut().enumerate() {
                    let a = ds[r * N + j];
                    for (c, &b) in acc.iter_mut().zip(wv) {
                        *c = a.mul_add(b, *c);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                outs[r * k + c0..r * k + c0 + COLUMNS].copy_from_slice(acc);
            }
        }
    }
}

/// One product computed into the buffer it is given.
type Product<'a> = Box<dyn FnMut(&mut [f32]) + 'a>;

fn thin(c: &mut Criterion) {
    let _threads = BlasThreads::set(1);
    let mut group = c.benchmark_group("thin/1t");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500));
    for k in [512, 256] {
        let x = values(BATCH * k, 1);
        let w = values(UNITS * k, 2);
        let delta = values(BATCH * UNITS, 3);
        let mut wt = vec![[0.0_f32; LANES]; k];
        // Name, output length, through cblas, hand-written.
        let products: [(&str, usize, Product<'_>, Product<'_>); 3] = [
            (
                "fwd",
                BATCH * UNITS,
                Box::new(|out| {
                    cblas(
                        (BATCH, UNITS, k),
                        Operand::new(&x, k, false),
                        Operand::new(&w, k, true),
                        out,
                    )
                }),
                Box::new(|out| forward::<UNITS>(&x, &w, k, &mut wt, out)),
            ),
            (
                "dW",
                UNITS * k,
                Box::new(|out| {
                    cblas(
                        (UNITS, k, BATCH),
                        Operand::new(&delta, UNITS, true),
                        Operand::new(&x, k, false),
                        out,
                    )
                }),
                Box::new(|out| weight_gradient::<UNITS>(&delta, &x, k, out)),
            ),
            (
                "dX",
                BATCH * k,
                Box::new(|out| {
                    cblas(
                        (BATCH, k, UNITS),
                        Operand::new(&delta, UNITS, false),
                        Operand::new(&w, k, false),
                        out,
                    )
                }),
                Box::new(|out| input_gradient::<UNITS>(&delta, &w, k, out)),
            ),
        ];
        group.throughput(Throughput::Elements(2 * (BATCH * UNITS * k) as u64));
        for (name, len, mut blas, mut ours) in products {
            let (mut theirs_out, mut ours_out) = (vec![0.0; len], vec![0.0; len]);
            blas(&mut theirs_out);
            ours(&mut ours_out);
            // The same product, up to rounding in another order.
            agree(&format!("{name} at k = {k}"), &ours_out, &theirs_out);

            let id = format!("{name}/{BATCH}x{k}->{UNITS}");
            group.bench_function(BenchmarkId::new("cblas", &id), |b| {
                b.iter(|| blas(black_box(&mut theirs_out)))
            });
            group.bench_function(BenchmarkId::new("thin", &id), |b| {
                b.iter(|| ours(black_box(&mut ours_out)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, thin);
initlab_bench::criterion_main!(benches);
