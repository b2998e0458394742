//! The packed kernel, in every build through [`Kernel`], on each instruction set this CPU
//! runs: each f32 output is exactly the FMA chain in `k` order, so a product cut into
//! column blocks gives the bits of the whole one (OpenBLAS's kernels do not). With the
//! feature `packed-gemm` (`scripts/check-features.sh`) the free functions run it too, and
//! the exact-integer tests of `gemm.rs` cover every op and memory layout through it.

mod common;

use common::uniform;
use initlab_gemm::{CpuFeatures, Isa, Kernel, Op, packed_gemm_in_use};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

/// The packed kernel on each instruction set this CPU runs (none off x86-64).
fn packed_kernels() -> Vec<Kernel> {
    [Isa::Avx512, Isa::Avx2]
        .into_iter()
        .filter_map(|isa| Kernel::packed_on(isa, CpuFeatures::detect()).ok())
        .collect()
}

/// `out += x w^T`: a dense layer's product, added to the bias already in `out`.
fn add_layer_product(
    kernel: Kernel,
    x: ArrayView2<f32>,
    w: ArrayView2<f32>,
    out: ArrayViewMut2<f32>,
) {
    kernel
        .gemm(1.0, x, Op::Identity, w, Op::Transpose, 1.0, out)
        .unwrap();
}

#[test]
fn the_kernel_runs_exactly_where_the_cpu_has_avx512_or_avx2_with_fma() {
    #[cfg(target_arch = "x86_64")]
    let capable = std::arch::is_x86_feature_detected!("avx512f")
        || (std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"));
    #[cfg(not(target_arch = "x86_64"))]
    let capable = false;
    assert_eq!(Kernel::packed(CpuFeatures::detect()).is_ok(), capable);
    assert_eq!(!packed_kernels().is_empty(), capable);
    // The free functions run it with the feature only.
    let free = cfg!(feature = "packed-gemm") && capable;
    assert_eq!(packed_gemm_in_use(), free);
    let kernel = initlab_gemm::gemm_kernel();
    assert_eq!(kernel.starts_with("initlab-gemm packed"), free, "{kernel}");
}

#[cfg(feature = "packed-gemm")]
#[test]
fn the_environment_picks_an_instruction_set_this_cpu_has() {
    #[cfg(target_arch = "x86_64")]
    let avx2 =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    // scripts/check-features.sh runs these tests once more with `avx2` asked for.
    let asked = std::env::var(initlab_gemm::PACKED_ISA_VAR).map(|v| v.to_ascii_lowercase());
    if asked.as_deref() == Ok("avx2") && avx2 {
        let kernel = initlab_gemm::gemm_kernel();
        assert!(kernel.starts_with("initlab-gemm packed AVX2 "), "{kernel}");
    }
}

/// `alpha * chain + beta * c` for one output, in scalar arithmetic.
fn chain(
    a: &Array2<f32>,
    b: &Array2<f32>,
    (i, j): (usize, usize),
    alpha: f32,
    beta: f32,
    c: f32,
) -> f32 {
    let sum = (0..a.ncols()).fold(0.0_f32, |acc, kk| a[[i, kk]].mul_add(b[[kk, j]], acc));
    if beta == 0.0 {
        alpha * sum
    } else {
        alpha.mul_add(sum, beta * c)
    }
}

#[test]
fn every_output_is_the_fma_chain_in_k_order() {
    for kernel in packed_kernels() {
        every_output_is_the_fma_chain_on(kernel);
    }
}

fn every_output_is_the_fma_chain_on(kernel: Kernel) {
    // Edges in every dimension (6- and 8-row, 16- and 32-column tiles), k past any BLAS
    // blocking.
    for (seed, (m, k, n)) in [(1, 2000, 1), (13, 7, 45), (72, 784, 259), (128, 256, 256)]
        .into_iter()
        .enumerate()
    {
        let seed = 10 * seed as u64;
        let a = uniform::<f32>((m, k), seed);
        let b = uniform::<f32>((k, n), seed + 1);
        let c0 = uniform::<f32>((m, n), seed + 2);
        for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.5, -2.0)] {
            let mut c = c0.clone();
            kernel
                .gemm(
                    alpha,
                    a.view(),
                    Op::Identity,
                    b.view(),
                    Op::Identity,
                    beta,
                    c.view_mut(),
                )
                .unwrap();
            for ((i, j), &got) in c.indexed_iter() {
                let want = chain(&a, &b, (i, j), alpha, beta, c0[[i, j]]);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{kernel}: {m}x{k}x{n} at ({i}, {j}), alpha {alpha}, beta {beta}"
                );
            }
        }
    }
}

#[test]
fn column_blocks_give_the_bits_of_the_whole_product() {
    for kernel in packed_kernels() {
        column_blocks_give_the_bits_of_the_whole_product_on(kernel);
    }
}

fn column_blocks_give_the_bits_of_the_whole_product_on(kernel: Kernel) {
    // A trainer's layer: x w^T + bias (beta = 1), whole or in 128-unit blocks.
    for (m, k, n) in [(72, 8, 256), (1, 2000, 512), (128, 784, 300)] {
        let x = uniform::<f32>((m, k), 3);
        let w = uniform::<f32>((n, k), 4);
        let bias = uniform::<f32>((1, n), 5)
            .broadcast((m, n))
            .unwrap()
            .to_owned();
        let mut whole = bias.clone();
        add_layer_product(kernel, x.view(), w.view(), whole.view_mut());
        let mut blocked = bias;
        for start in (0..n).step_by(128) {
            let end = (start + 128).min(n);
            add_layer_product(
                kernel,
                x.view(),
                w.slice(s![start..end, ..]),
                blocked.slice_mut(s![.., start..end]),
            );
        }
        let same = whole
            .iter()
            .zip(&blocked)
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(
            same,
            "{kernel}: {m}x{k}x{n}: blocks differ from the whole product"
        );
    }
}

#[test]
fn affine_adds_the_bias_with_the_bits_of_broadcasting_it_and_adding_c() {
    for kernel in packed_kernels() {
        affine_adds_the_bias_on(kernel);
    }
}

fn affine_adds_the_bias_on(kernel: Kernel) {
    // The kernel adds the bias as it stores; BLAS's path (and the packed one before)
    // broadcasts it into `out` and adds the product with beta = 1. A strided bias takes
    // that path still.
    for (m, k, n) in [(1, 1, 1), (13, 7, 45), (72, 784, 259), (128, 256, 256)] {
        let x = uniform::<f32>((m, k), 6);
        let w = uniform::<f32>((n, k), 7);
        let every_other = uniform::<f32>((1, 2 * n), 8);
        let strided = every_other.slice(s![0, ..;2]);
        let contiguous = strided.to_owned();
        let mut broadcast = contiguous.broadcast((m, n)).unwrap().to_owned();
        add_layer_product(kernel, x.view(), w.view(), broadcast.view_mut());
        for bias in [contiguous.view(), strided] {
            let mut out = Array2::from_elem((m, n), f32::NAN);
            kernel
                .affine(x.view(), w.view(), bias, out.view_mut())
                .unwrap();
            let same = out
                .iter()
                .zip(&broadcast)
                .all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(
                same,
                "{kernel}: {m}x{k}x{n}, bias strides {:?}",
                bias.strides()
            );
        }
    }
}
