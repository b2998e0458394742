//! Each framework's convention, as that framework defines it: PyTorch's `trunc_normal_`
//! cuts at absolute values, Keras/JAX's truncated normals at multiples of std; Keras 3 and
//! JAX truncate their `*_normal` initializers, PyTorch does not; and the names users type
//! (Xavier, Kaiming) are the same strategies.

mod common;

use common::{assert_ks, normal_cdf, truncated_normal_cdf};
use initlab_init::{FanMode, Fans, Initializer, Nonlinearity, RngKey, presets};

const N: usize = 200_000;

fn draw(strategy: &Initializer, shape: (usize, usize), tensor: u64) -> Vec<f64> {
    strategy
        .sample::<f64, _>(shape, RngKey::new(31).tensor(tensor))
        .unwrap()
        .into_raw_vec_and_offset()
        .0
}

#[test]
fn pytorch_trunc_normal_cuts_at_absolute_values() {
    // A ViT's trunc_normal_(w, std=.02): bounds -2 and 2 are 100 std away.
    let vit = Initializer::trunc_normal(0.0, 0.02, -2.0, 2.0);
    let variance = vit.variance(Fans::new(1, 1)).unwrap().unwrap();
    assert!((variance - 4e-4).abs() < 1e-12, "{variance}");
    let samples = draw(&vit, (N, 1), 1);
    assert_ks("ViT trunc_normal_", &samples, |x| normal_cdf(x / 0.02));
    // Keras's convention on the same numbers cuts at 2 std: |w| <= 0.04, variance 0.774x.
    let keras = Initializer::truncated_normal(0.0, 0.02);
    let variance = keras.variance(Fans::new(1, 1)).unwrap().unwrap();
    assert!(
        (variance / 4e-4 - 0.773_741_706_9).abs() < 1e-6,
        "{variance}"
    );
    assert!(draw(&keras, (N, 1), 2).iter().all(|w| w.abs() <= 0.04));
    // Bounds that do cut, off-center: PyTorch's trunc_normal_(mean=.5, std=1, a=0, b=1.5).
    let cut = Initializer::trunc_normal(0.5, 1.0, 0.0, 1.5);
    let samples = draw(&cut, (N, 1), 3);
    assert!(samples.iter().all(|w| (0.0..=1.5).contains(w)));
    assert_ks(
        "trunc_normal_(0.5, 1, 0, 1.5)",
        &samples,
        truncated_normal_cdf(0.5, 1.0, -0.5, 1.0),
    );
}

#[test]
fn keras_and_jax_normals_truncate_pytorch_normals_do_not() {
    let fans = Fans::new(400, 100);
    // (Keras name, its preset, the plain (PyTorch) strategy, variance, fan for the bound).
    let cases = [
        (
            "glorot_normal",
            presets::keras::glorot_normal(),
            Initializer::glorot_normal(),
            2.0 / 500.0,
        ),
        (
            "he_normal",
            presets::keras::he_normal(),
            Initializer::he_normal(Nonlinearity::Relu),
            2.0 / 400.0,
        ),
        (
            "lecun_normal",
            presets::keras::lecun_normal(),
            Initializer::lecun_normal(),
            1.0 / 400.0,
        ),
    ];
    for (i, (name, keras, plain, variance)) in cases.into_iter().enumerate() {
        for strategy in [&keras, &plain] {
            let stated = strategy.variance(fans).unwrap().unwrap();
            assert!(
                (stated - variance).abs() < 1e-12 * variance,
                "{name}: {stated}"
            );
        }
        // Keras: a normal of std sqrt(variance) / 0.8796 cut at 2 of those std.
        let parent = variance.sqrt() / 0.879_625_661_034_239_8;
        let mut samples = Vec::new();
        for t in 0..(N / 40_000) {
            let mut w = keras
                .sample::<f64, _>((100, 400), RngKey::new(5).tensor(10 * i as u64 + t as u64))
                .unwrap()
                .into_raw_vec_and_offset()
                .0;
            samples.append(&mut w);
        }
        assert!(
            samples.iter().all(|w| w.abs() <= 2.0 * parent + 1e-15),
            "{name}"
        );
        assert_ks(name, &samples, truncated_normal_cdf(0.0, parent, -2.0, 2.0));
        let plain_samples = plain
            .sample::<f64, _>((100, 400), RngKey::new(6).tensor(i as u64))
            .unwrap();
        assert!(
            plain_samples.iter().any(|w| w.abs() > 2.0 * parent),
            "{name}: PyTorch's is untruncated"
        );
    }
}

#[test]
fn xavier_and_kaiming_are_glorot_and_he_bit_for_bit() {
    let key = RngKey::new(9);
    let same = |a: &Initializer, b: &Initializer| {
        let (x, y) = (
            a.sample::<f32, _>((64, 48), key).unwrap(),
            b.sample::<f32, _>((64, 48), key).unwrap(),
        );
        x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits())
    };
    assert!(same(
        &Initializer::xavier_uniform(1.0),
        &Initializer::glorot_uniform()
    ));
    assert!(same(
        &Initializer::xavier_normal(1.0),
        &Initializer::glorot_normal()
    ));
    assert!(same(
        &Initializer::kaiming_normal(FanMode::FanIn, Nonlinearity::Relu),
        &Initializer::he_normal(Nonlinearity::Relu)
    ));
    assert!(same(
        &Initializer::kaiming_uniform(FanMode::FanIn, Nonlinearity::Relu),
        &Initializer::he_uniform(Nonlinearity::Relu)
    ));
    assert!(same(
        &Initializer::orthogonal(2.0),
        &Initializer::Orthogonal { gain: 2.0 }
    ));
}
