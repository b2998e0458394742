//! Delta-orthogonal (Xiao et al. 2018) against JAX's definition, `jax.nn.initializers.
//! delta_orthogonal`: on a kernel in JAX's layout `[k..., in, out]` (HWIO), zeros but at
//! the centre `(k - 1) // 2` of every spatial axis, which holds JAX's `orthogonal` of the
//! `[in, out]` matrix (orthonormal rows, since `in <= out`). PyTorch's layout `[out, in,
//! k...]` (OIHW) holds the transpose.

use initlab_init::ndarray::{Array2, ArrayD, IxDyn, s};
use initlab_init::{Fans, InitError, Initializer, RngKey, WeightLayout};

fn kernel(init: &Initializer, shape: &[usize], layout: WeightLayout, seed: u64) -> ArrayD<f64> {
    let mut w = ArrayD::<f64>::zeros(IxDyn(shape));
    init.fill_in_layout(&mut w, layout, RngKey::new(seed).tensor(3))
        .unwrap();
    w
}

/// `max |M^T M - I|` for a matrix whose columns should be orthonormal.
fn off_orthonormal(m: &Array2<f64>) -> f64 {
    let gram = m.t().dot(m);
    gram.indexed_iter()
        .map(|((i, j), &g)| (g - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_keras_kernel_is_jaxs_orthogonal_at_the_centre_and_pytorchs_is_its_transpose() {
    let gain = 1.5;
    let delta = Initializer::delta_orthogonal(gain);
    // Odd and even kernels: JAX's centre is (k - 1) // 2, so (1, 1) and (1, 0).
    for (kh, kw) in [(3, 3), (4, 2)] {
        let (cin, cout) = (16, 32);
        let hwio = kernel(&delta, &[kh, kw, cin, cout], WeightLayout::Keras, 7);
        let (ch, cw) = ((kh - 1) / 2, (kw - 1) / 2);
        let centre = hwio.slice(s![ch, cw, .., ..]).to_owned();
        // JAX: orthogonal(scale, column_axis=-1)(key, shape[-2:]).
        let mut jax_orthogonal = Array2::<f64>::zeros((cin, cout));
        Initializer::orthogonal(gain)
            .fill_in_layout(
                &mut jax_orthogonal,
                WeightLayout::Keras,
                RngKey::new(7).tensor(3),
            )
            .unwrap();
        assert_eq!(centre, jax_orthogonal, "{kh}x{kw}: the centre tap");
        for ((h, w, _, _), &v) in hwio
            .view()
            .into_dimensionality::<initlab_init::ndarray::Ix4>()
            .unwrap()
            .indexed_iter()
        {
            if (h, w) != (ch, cw) {
                assert_eq!(v, 0.0, "{kh}x{kw}: tap ({h}, {w})");
            }
        }
        // OIHW holds the transpose, bit for bit.
        let oihw = kernel(&delta, &[cout, cin, kh, kw], WeightLayout::PyTorch, 7);
        let as_hwio = oihw.view().permuted_axes(IxDyn(&[2, 3, 1, 0]));
        assert_eq!(as_hwio, hwio.view(), "{kh}x{kw}: OIHW is HWIO transposed");
        // The centre, out x in, has orthonormal columns (times the gain), exactly up to
        // rounding.
        let m = oihw.slice(s![.., .., ch, cw]).mapv(|v| v / gain);
        assert!(off_orthonormal(&m) < 1e-12, "{}", off_orthonormal(&m));
    }
}

#[test]
fn a_kernel_of_one_to_three_spatial_axes_has_an_orthogonal_centre() {
    let delta = Initializer::delta_orthogonal(1.0);
    for shape in [vec![8, 8, 5], vec![8, 8, 3, 3], vec![12, 8, 3, 3, 3]] {
        let w = kernel(&delta, &shape, WeightLayout::PyTorch, 1);
        let centre: Vec<usize> = shape[2..].iter().map(|k| (k - 1) / 2).collect();
        let m = Array2::from_shape_fn((shape[0], shape[1]), |(o, i)| {
            let index: Vec<usize> = [o, i].iter().chain(&centre).copied().collect();
            w[IxDyn(&index)]
        });
        assert!(off_orthonormal(&m) < 1e-12, "{shape:?}");
        let nonzero = w.iter().filter(|&&v| v != 0.0).count();
        assert!(
            nonzero <= shape[0] * shape[1],
            "{shape:?}: {nonzero} non-zeros"
        );
    }
}

#[test]
fn each_group_gets_its_own_orthogonal_block_and_the_first_is_the_ungrouped_draw() {
    let (groups, per_group, inputs) = (4, 16, 8);
    let grouped = Initializer::DeltaOrthogonal { gain: 1.0, groups };
    let w = kernel(
        &grouped,
        &[groups * per_group, inputs, 3, 3],
        WeightLayout::PyTorch,
        2,
    );
    let block = |g: usize| {
        w.slice(s![g * per_group..(g + 1) * per_group, .., 1, 1])
            .to_owned()
    };
    for g in 0..groups {
        assert!(off_orthonormal(&block(g)) < 1e-12, "group {g}");
    }
    assert_ne!(block(0), block(1));
    let single = kernel(
        &Initializer::delta_orthogonal(1.0),
        &[per_group, inputs, 3, 3],
        WeightLayout::PyTorch,
        2,
    );
    assert_eq!(block(0), single.slice(s![.., .., 1, 1]));
}

#[test]
fn fewer_outputs_than_inputs_per_group_and_bad_shapes_are_refused() {
    let delta = Initializer::delta_orthogonal(1.0);
    let fill = |init: &Initializer, shape: &[usize], layout| {
        let mut w = ArrayD::<f32>::zeros(IxDyn(shape));
        init.fill_in_layout(&mut w, layout, RngKey::new(0))
    };
    let error = fill(&delta, &[16, 32, 3, 3], WeightLayout::PyTorch).unwrap_err();
    assert!(matches!(error, InitError::Shape { .. }), "{error}");
    assert!(error.to_string().contains("16 < 32"), "{error}");
    // JAX's check, `shape[-1] < shape[-2]`, in its own layout.
    let error = fill(&delta, &[3, 3, 32, 16], WeightLayout::Keras).unwrap_err();
    assert!(error.to_string().contains("16 < 32"), "{error}");
    let grouped = |groups| Initializer::DeltaOrthogonal { gain: 1.0, groups };
    let error = fill(&grouped(4), &[32, 16, 3, 3], WeightLayout::PyTorch).unwrap_err();
    assert!(error.to_string().contains("8 < 16"), "{error}");
    let error = fill(&grouped(3), &[32, 8, 3, 3], WeightLayout::PyTorch).unwrap_err();
    assert!(error.to_string().contains("groups"), "{error}");
    let error = fill(&grouped(0), &[32, 8, 3, 3], WeightLayout::PyTorch).unwrap_err();
    assert!(error.to_string().contains("groups"), "{error}");
    for shape in [&[8, 8][..], &[8, 8, 1, 1, 1, 1]] {
        let error = fill(&delta, shape, WeightLayout::PyTorch).unwrap_err();
        assert!(matches!(error, InitError::Rank { .. }), "{error}");
    }
    let error = fill(
        &Initializer::delta_orthogonal(-1.0),
        &[8, 8, 3],
        WeightLayout::PyTorch,
    )
    .unwrap_err();
    assert!(error.to_string().contains("gain"), "{error}");
}

#[test]
fn its_stated_moments_are_the_kernels_own() {
    // Orthonormal columns make the centre's sum of squares gain^2 * in exactly, so the
    // kernel's mean square is the stated variance up to rounding, draw after draw.
    for (shape, groups) in [([64, 32, 3, 3], 1), ([64, 8, 5, 5], 4), ([32, 32, 3, 3], 1)] {
        let gain = 1.3;
        let init = Initializer::DeltaOrthogonal { gain, groups };
        let fans = Fans::from_shape(&shape).unwrap();
        let moments = init.moments(fans).unwrap().unwrap();
        assert_eq!(moments.mean, 0.0);
        let w = kernel(&init, &shape, WeightLayout::PyTorch, 4);
        let mean_square = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!(
            (mean_square / moments.variance - 1.0).abs() < 1e-12,
            "{shape:?}: {mean_square} against {}",
            moments.variance
        );
        // The signal's fixed point: fan_in * Var(w) = gain^2 * in / out.
        let inputs = shape[1] * groups;
        let expected = gain * gain * inputs as f64 / shape[0] as f64;
        assert!((fans.fan_in as f64 * moments.variance - expected).abs() < 1e-12);
    }
}

#[test]
fn an_entry_of_a_three_by_three_centre_is_uniform_on_minus_one_to_one_not_normal() {
    // An entry of a Haar-random n x n orthogonal matrix has density proportional to
    // (1 - x^2)^((n - 3) / 2): for n = 3, uniform on [-1, 1] (a scaled Beta(1, 1)), where a
    // Gaussian kernel's entry would be normal. The Kolmogorov-Smirnov distance of 8,000
    // draws from the uniform must be below the 0.1% critical value 1.95 / sqrt(n), and from
    // the normal of the same variance (1/3) well above it.
    let draws = 8000;
    let delta = Initializer::delta_orthogonal(1.0);
    let mut entries: Vec<f64> = (0..draws)
        .map(|seed| kernel(&delta, &[3, 3, 3, 3], WeightLayout::PyTorch, seed)[[0, 0, 1, 1]])
        .collect();
    entries.sort_by(f64::total_cmp);
    let ks = |cdf: &dyn Fn(f64) -> f64| {
        entries
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(x);
                (f - i as f64 / draws as f64)
                    .abs()
                    .max(((i + 1) as f64 / draws as f64 - f).abs())
            })
            .fold(0.0, f64::max)
    };
    let critical = 1.95 / (draws as f64).sqrt();
    let uniform = ks(&|x| (x + 1.0) / 2.0);
    assert!(
        uniform < critical,
        "uniform: D = {uniform}, critical {critical}"
    );
    let sigma = (1.0_f64 / 3.0).sqrt();
    let normal = ks(&|x| 0.5 * libm::erfc(-x / (sigma * std::f64::consts::SQRT_2)));
    assert!(
        normal > 2.0 * critical,
        "normal: D = {normal}, critical {critical}"
    );
}
