//! The trainer: learns, is bitwise deterministic across thread counts, stops on
//! divergence, and rejects bad input with a clear error.

use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::gemm::{CpuFeatures, Kernel};
use initlab_nn::{
    Activation, History, Loss, MlpConfig, Net, NnError, Optimizer, Status, Targets, TrainConfig,
    Trainer,
};
use ndarray::{Array1, Array2, ArrayView2};

/// Two Gaussian blobs per class around different centers, 3 classes, 8 features.
fn blobs(rows: usize) -> (Array2<f32>, Vec<usize>) {
    let noise: Array2<f32> = Initializer::normal(0.0, 1.0)
        .sample((rows, 8), RngKey::new(99))
        .unwrap();
    let labels: Vec<usize> = (0..rows).map(|i| i % 3).collect();
    let mut x = noise;
    for (mut row, &y) in x.rows_mut().into_iter().zip(&labels) {
        row[y] += 3.0;
        row[y + 3] -= 2.0;
    }
    (x, labels)
}

fn network(seed: u64) -> Net<f32> {
    MlpConfig::new(8, vec![32, 32], 3)
        .build(
            &Initializer::he_normal(Nonlinearity::Relu),
            &Initializer::Zeros,
            seed,
        )
        .unwrap()
}

fn train(mlp: &mut Net<f32>, x: ArrayView2<'_, f32>, y: &[usize], config: TrainConfig) -> History {
    Trainer::new(mlp, config)
        .unwrap()
        .train(mlp, x, Targets::Classes(y), |_, _| {})
        .unwrap()
}

#[test]
fn learns_separable_blobs() {
    let (x, y) = blobs(600);
    let mut mlp = network(1);
    let before = mlp.accuracy(x.view(), &y).unwrap();
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.05))
        .with_batch_size(32)
        .with_epochs(10);
    let history = train(&mut mlp, x.view(), &y, config);
    assert_eq!(history.status, Status::Completed);
    assert_eq!(
        history.steps,
        10 * 600_u64.div_ceil(32),
        "the last partial batch is a step too"
    );
    assert!(
        history.epoch_losses.last().unwrap() < &(0.5 * history.epoch_losses[0]),
        "{:?}",
        history.epoch_losses
    );
    let after = mlp.accuracy(x.view(), &y).unwrap();
    assert!(
        after > 0.95 && after > before,
        "accuracy {before} -> {after}"
    );
}

/// Hidden layers wider than `UNIT_BLOCK` and `GRAD_ROWS`, so that every layer's forward
/// product, input gradient and weight gradient is cut into several blocks (one partial).
fn wide_network(seed: u64) -> Net<f32> {
    let hidden = vec![initlab_nn::GRAD_ROWS + 44, initlab_nn::UNIT_BLOCK + 32];
    MlpConfig::new(8, hidden, 3)
        .build(
            &Initializer::he_normal(Nonlinearity::Relu),
            &Initializer::Zeros,
            seed,
        )
        .unwrap()
}

/// OpenBLAS, and the packed kernel where this CPU has it.
fn kernels() -> Vec<Kernel> {
    std::iter::once(Kernel::OPENBLAS)
        .chain(Kernel::parse("packed", CpuFeatures::detect()).ok())
        .collect()
}

fn trained_on_threads(threads: usize, kernel: Kernel) -> Net<f32> {
    let (x, y) = blobs(500);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut mlp = wide_network(2);
        mlp.set_kernel(kernel);
        // Batch 200 = 2 row chunks (the second one partial); 500 rows = a partial last batch.
        let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01))
            .with_batch_size(200)
            .with_epochs(3);
        train(&mut mlp, x.view(), &y, config);
        mlp
    })
}

#[test]
fn weights_are_bitwise_identical_on_one_two_and_four_threads() {
    for kernel in kernels() {
        let one = trained_on_threads(1, kernel);
        for threads in [2, 4] {
            let many = trained_on_threads(threads, kernel);
            let same = one
                .parameters()
                .iter()
                .zip(many.parameters())
                .all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(
                same,
                "{kernel}: weights differ between 1 and {threads} threads"
            );
        }
        assert_ne!(one, wide_network(2), "training changed the weights");
    }
}

#[test]
fn a_trainer_runs_on_the_pool_its_parallelism_names_with_the_same_bits() {
    use initlab_nn::Parallelism;
    use std::num::NonZeroUsize;

    let (x, y) = blobs(500);
    let reference = trained_on_threads(1, Kernel::OPENBLAS);
    for threads in [1, 3] {
        let mut mlp = wide_network(2);
        let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01))
            .with_batch_size(200)
            .with_epochs(3)
            .with_parallelism(Parallelism::Threads(NonZeroUsize::new(threads).unwrap()));
        let mut trainer = Trainer::new(&mlp, config).unwrap();
        let mut pool_sizes = Vec::new();
        trainer
            .train(&mut mlp, x.view(), Targets::Classes(&y), |_, _| {
                pool_sizes.push(rayon::current_num_threads());
            })
            .unwrap();
        assert!(pool_sizes.iter().all(|&n| n == threads), "{pool_sizes:?}");
        assert_eq!(mlp, reference, "{threads} owned threads");
    }
}

/// One SGD step of the trainer (row chunks, unit blocks, weight-gradient blocks) moves every
/// parameter by `-lr` times the gradient of plain whole-batch backprop, in f64.
#[test]
fn a_trainer_step_follows_the_whole_batch_gradient() {
    let rows = initlab_nn::CHUNK_ROWS + 72;
    let x: Array2<f64> = Initializer::normal(0.0, 1.0)
        .sample((rows, 8), RngKey::new(5))
        .unwrap();
    let y: Vec<usize> = (0..rows).map(|i| (i * 7) % 3).collect();
    let hidden = vec![initlab_nn::GRAD_ROWS + 44, initlab_nn::UNIT_BLOCK + 32];
    let before: Net<f64> = MlpConfig::new(8, hidden, 3)
        .with_activation(Activation::Tanh)
        .build(
            &Initializer::GlorotNormal { gain: 1.0 },
            &Initializer::normal(0.0, 0.1),
            3,
        )
        .unwrap();
    let loss = Loss::SoftmaxCrossEntropy;
    let (_, grads) = before
        .loss_and_gradients(x.view(), Targets::Classes(&y), loss)
        .unwrap();
    let lr = 0.5;
    let mut after = before.clone();
    let config = TrainConfig::new(loss, Optimizer::sgd(lr)).with_batch_size(rows);
    let mut trainer = Trainer::new(&after, config).unwrap();
    trainer
        .train_batch(&mut after, x.view(), Targets::Classes(&y))
        .unwrap()
        .expect("a finite step");
    // Tensor by tensor: each layer's weight, then its bias.
    for (l, tensor) in before.tensors().iter().enumerate() {
        let range = tensor.offset..tensor.offset + tensor.len();
        let step: Array1<f64> = before.parameters()[range.clone()]
            .iter()
            .zip(&after.parameters()[range.clone()])
            .map(|(b, a)| b - a)
            .collect();
        let expected: Array1<f64> = grads[range].iter().map(|g| g * lr).collect();
        {
            let scale = expected.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let worst = (&step - &expected)
                .iter()
                .fold(0.0_f64, |m, v| m.max(v.abs()));
            // Sums of up to 200 products in another order: rounding ~1e-14 of the scale;
            // the update `w - lr * g` adds one rounding of the weight itself (<= ~1e-16).
            assert!(
                worst <= 1e-12 * scale.max(1.0),
                "layer {l}: {worst} vs scale {scale}"
            );
        }
    }
}

#[test]
fn divergence_stops_training_with_the_step() {
    let (x, y) = blobs(300);
    let mut mlp = MlpConfig::deep(8, 6, 64, 3, Activation::Relu)
        .build(&Initializer::normal(0.0, 1.0), &Initializer::Zeros, 3)
        .unwrap();
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(10.0))
        .with_batch_size(30)
        .with_epochs(5);
    let history = train(&mut mlp, x.view(), &y, config);
    let Status::Diverged { epoch, step } = history.status else {
        panic!("expected divergence, got {history:?}")
    };
    assert_eq!(history.epoch_losses.len(), epoch);
    assert!(step < 50, "diverged at step {step}");
    assert!(
        mlp.parameters().iter().all(|w| w.is_finite()),
        "no NaN update was applied"
    );
}

#[test]
fn every_optimizer_and_schedule_reduces_the_loss() {
    use initlab_nn::Schedule;
    let (x, y) = blobs(300);
    let optimizers = [
        Optimizer::sgd(0.05),
        Optimizer::Sgd {
            lr: 0.05,
            weight_decay: 1e-3,
        },
        Optimizer::Momentum {
            lr: 0.02,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        Optimizer::Momentum {
            lr: 0.02,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        },
        Optimizer::adam(0.005),
        Optimizer::Adam {
            lr: 0.005,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        },
    ];
    for (i, optimizer) in optimizers.into_iter().enumerate() {
        for schedule in [
            Schedule::Constant,
            Schedule::Step {
                every: 20,
                gamma: 0.5,
            },
            Schedule::Cosine {
                total: 50,
                min_factor: 0.0,
            },
        ] {
            let mut mlp = network(10 + i as u64);
            let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, optimizer)
                .with_batch_size(30)
                .with_epochs(5)
                .with_schedule(schedule);
            let history = train(&mut mlp, x.view(), &y, config);
            let losses = &history.epoch_losses;
            assert!(
                losses[4] < 0.7 * losses[0],
                "{optimizer:?} {schedule:?}: {losses:?}"
            );
        }
    }
}

#[test]
fn bad_input_is_an_error_naming_the_value() {
    let (x, y) = blobs(30);
    let mlp = network(4);
    let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1));
    let run = |x: ArrayView2<'_, f32>, targets: Targets<'_, f32>| {
        let mut mlp = mlp.clone();
        Trainer::new(&mlp, config.clone())
            .unwrap()
            .train(&mut mlp, x, targets, |_, _| {})
            .unwrap_err()
            .to_string()
    };
    let wide = Array2::<f32>::zeros((30, 9));
    assert_eq!(
        run(wide.view(), Targets::Classes(&y)),
        "inputs have 9 columns but the network expects 8"
    );
    let mut bad_labels = y.clone();
    bad_labels[7] = 3;
    assert!(
        run(x.view(), Targets::Classes(&bad_labels))
            .contains("label 3 of sample 7 is out of range")
    );
    assert!(run(x.view(), Targets::Classes(&y[..10])).contains("10 labels for 30 input rows"));
    let empty = Array2::<f32>::zeros((0, 8));
    assert!(run(empty.view(), Targets::Classes(&[])).contains("empty"));
    let mut nan = x.clone();
    nan[[4, 2]] = f32::NAN;
    assert!(run(nan.view(), Targets::Classes(&y)).contains("row 4, column 2 is NaN"));

    let err = Trainer::new(&mlp, config.clone().with_batch_size(0)).unwrap_err();
    assert!(err.to_string().contains("`batch_size` = 0"), "{err}");
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = Trainer::new(
            &mlp,
            TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(lr)),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("`lr` ="), "{err}");
    }
    let err = MlpConfig::new(8, vec![16, 0], 3)
        .build::<f32>(&Initializer::Zeros, &Initializer::Zeros, 0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NnError::Config {
                field: "hidden",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        "swish"
            .parse::<Activation>()
            .unwrap_err()
            .to_string()
            .contains("unknown activation `swish`")
    );
}
