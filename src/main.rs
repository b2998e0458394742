//! `initlab`: the demo binary. For now it reports which BLAS it runs on and how fast one
//! MLP-shaped product is; later it grows into the initializer comparison.

use std::time::Instant;

use core_math::{Op, blas_info, gemm};
use ndarray::Array2;

fn main() {
    let info = blas_info();
    println!(
        "OpenBLAS core: {} ({}, {} threads)",
        info.core, info.threading, info.threads
    );
    println!("OpenBLAS config: {}", info.config);

    let (m, k, n) = (128, 784, 512);
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
    let w = Array2::from_shape_fn((n, k), |(i, j)| ((i * 5 + j) % 13) as f32 - 6.0);
    let mut c = Array2::zeros((m, n));
    let reps = 200;
    let start = Instant::now();
    for _ in 0..reps {
        gemm(
            1.0,
            a.view(),
            Op::Identity,
            w.view(),
            Op::Transpose,
            0.0,
            c.view_mut(),
        )
        .expect("shapes are consistent by construction");
    }
    let seconds = start.elapsed().as_secs_f64() / reps as f64;
    let gflops = 2.0 * (m * n * k) as f64 / seconds / 1e9;
    println!(
        "sgemm {m}x{k} * ({n}x{k})^T: {:.3} ms per call, {gflops:.1} GFLOP/s",
        seconds * 1e3
    );
}
