//! Shards that do not depend on world size: pieces of a tensor filled alone, put together,
//! are the single full fill bit for bit, on any number of threads; and plain slices fill
//! as arrays do.

use initlab_init::{
    FanMode, InitError, Initializer, Nonlinearity, RngKey, ScalingDistribution, WeightLayout,
};
use ndarray::{Array2, s};

const SHAPE: [usize; 2] = [4096, 1024];
const SHARDS: usize = 8;

fn elementwise() -> Vec<Initializer> {
    vec![
        Initializer::zeros(),
        Initializer::constant(0.5),
        Initializer::uniform(-0.1, 0.3),
        Initializer::normal(0.1, 0.02),
        Initializer::truncated_normal(0.0, 0.02),
        Initializer::trunc_normal(0.0, 1.0, -0.5, 2.0),
        Initializer::glorot_uniform(),
        Initializer::glorot_normal(),
        Initializer::he_normal(Nonlinearity::Relu),
        Initializer::lecun_uniform(),
        Initializer::variance_scaling(2.0, FanMode::FanAvg, ScalingDistribution::TruncatedNormal),
    ]
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn eight_shards_by_rows_or_columns_are_the_full_fill() {
    let (height, width) = (SHAPE[0], SHAPE[1]);
    for (i, strategy) in elementwise().into_iter().enumerate() {
        let key = RngKey::new(11).tensor(i as u64);
        let full: Array2<f32> = strategy.sample((height, width), key).unwrap();
        for threads in [1, 2] {
            let mut by_rows = Array2::<f32>::zeros((height, width));
            let mut by_cols = Array2::<f32>::zeros((height, width));
            in_pool(threads, || {
                let (h, w) = (height / SHARDS, width / SHARDS);
                for shard in 0..SHARDS {
                    let rows = shard * h..(shard + 1) * h;
                    let mut piece = vec![0.0f32; h * width];
                    strategy
                        .fill_shard(&mut piece, &SHAPE, rows.clone(), 0..width, key)
                        .unwrap();
                    by_rows
                        .slice_mut(s![rows, ..])
                        .assign(&Array2::from_shape_vec((h, width), piece).unwrap());
                    let cols = shard * w..(shard + 1) * w;
                    let mut piece = vec![0.0f32; height * w];
                    strategy
                        .fill_shard(&mut piece, &SHAPE, 0..height, cols.clone(), key)
                        .unwrap();
                    by_cols
                        .slice_mut(s![.., cols])
                        .assign(&Array2::from_shape_vec((height, w), piece).unwrap());
                }
            });
            let name = strategy.name();
            assert!(
                by_rows == full,
                "{name}: row shards on {threads} threads differ"
            );
            assert!(
                by_cols == full,
                "{name}: column shards on {threads} threads differ"
            );
        }
    }
}

/// Shards that start and end inside a stream block, in f64, and a 3-D tensor whose rows
/// are its first axis.
#[test]
fn shards_at_any_offset_match() {
    let strategy = Initializer::he_normal(Nonlinearity::Relu);
    let shape = [37, 3, 101];
    let key = RngKey::new(3);
    let full = strategy.sample::<f64, _>((37, 3, 101), key).unwrap();
    let full = full.as_slice().unwrap();
    let width = 3 * 101;
    for (rows, cols) in [
        (0..37, 0..width),
        (5..29, 0..width),
        (1..2, 7..300),
        (36..37, 0..1),
        (3..3, 0..width),
    ] {
        let mut piece = vec![0.0f64; rows.len() * cols.len()];
        strategy
            .fill_shard(&mut piece, &shape, rows.clone(), cols.clone(), key)
            .unwrap();
        let expected: Vec<f64> = rows
            .clone()
            .flat_map(|r| full[r * width + cols.start..r * width + cols.end].to_vec())
            .collect();
        assert_eq!(piece, expected, "rows {rows:?}, cols {cols:?}");
    }
}

#[test]
fn shards_say_what_does_not_fit() {
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let key = RngKey::new(0);
    let mut values = vec![0.0f32; 10];
    let outside = he
        .fill_shard(&mut values, &[4, 10], 3..5, 0..10, key)
        .unwrap_err();
    assert!(matches!(outside, InitError::Shard { .. }), "{outside}");
    assert!(outside.to_string().contains("3..5"), "{outside}");
    let wrong_length = he
        .fill_shard(&mut values, &[4, 10], 0..2, 0..10, key)
        .unwrap_err();
    assert!(
        wrong_length
            .to_string()
            .contains("10 values given for a 2 x 10 shard"),
        "{wrong_length}"
    );
    let orthogonal = Initializer::orthogonal(1.0)
        .fill_shard(&mut values, &[4, 10], 0..1, 0..10, key)
        .unwrap_err();
    assert!(
        orthogonal.to_string().contains("fill the whole tensor"),
        "{orthogonal}"
    );
}

#[test]
fn a_slice_fills_as_the_array_of_its_shape() {
    let key = RngKey::new(5).tensor(2);
    for layout in [WeightLayout::PyTorch, WeightLayout::Keras] {
        for strategy in [Initializer::glorot_uniform(), Initializer::orthogonal(1.0)] {
            let mut array = Array2::<f32>::zeros((300, 100));
            strategy.fill_in_layout(&mut array, layout, key).unwrap();
            let mut values = vec![0.0f32; 300 * 100];
            strategy
                .fill_slice(&mut values, &[300, 100], layout, key)
                .unwrap();
            assert_eq!(
                values,
                array.as_slice().unwrap(),
                "{} {layout:?}",
                strategy.name()
            );
        }
    }
    let mut short = vec![0.0f32; 5];
    let error = Initializer::zeros()
        .fill_slice(&mut short, &[2, 3], WeightLayout::PyTorch, key)
        .unwrap_err();
    assert!(
        matches!(error, InitError::Length { values: 5, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("expected 6 values"), "{error}");
}
