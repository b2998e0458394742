//! Training-step throughput for 784-512-512-10 and 784 -> 20 x 256 -> 10 (ReLU, batch 128,
//! SGD, f32) on 1 and 2 threads, for a residual network of 10 pre-activation blocks of
//! 2 x 256 with BatchNorm and with LayerNorm, and for the CNN of `docs/experiments/cnn.toml`
//! (1x28x28, 3x3 convolutions of 16, 32 and 32 channels, the first two of stride 2, the
//! channels' means, 10), each beside its GEMM ceiling: the same GEMM calls alone on one
//! thread, through raw cblas or the packed kernel (whichever trains), measured in the same
//! run. criterion's "elem/s" are samples/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use initlab_bench::experiment::{Arch, Convolutions, Residual, conv_network, network_of};
use initlab_bench::network::Network;
use initlab_bench::throughput::{ThroughputConfig, compare};
use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::net::{Image, NetInit, Norm, Ordering};
use initlab_nn::{Activation, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};
use ndarray::Array2;

fn configs() -> [(&'static str, MlpConfig); 2] {
    [
        ("wide", MlpConfig::new(784, vec![512, 512], 10)),
        ("deep", MlpConfig::deep(784, 20, 256, 10, Activation::Relu)),
    ]
}

/// 784 -> 256, 10 pre-activation blocks of 2 x 256 with `norm`, -> 10.
fn residual(norm: Norm) -> Network {
    let arch = Arch {
        hidden: vec![256],
        activation: Activation::Relu,
        output: Default::default(),
        norm: Some(norm),
        residual: Some(Residual {
            blocks: 10,
            layers: 2,
            ordering: Ordering::PreActivation,
        }),
        layer_inits: Vec::new(),
        conv: None,
    };
    network_of(&arch, 784, 10).unwrap()
}

/// The CNN of `docs/experiments/cnn.toml` (and `initlab throughput --kernel 3`), ReLU.
fn cnn() -> Network {
    let conv = Convolutions {
        kernel: 3,
        strides: vec![2, 2],
        flatten: false,
    };
    let arch = Arch::convolutional(vec![16, 32, 32], Activation::Relu, conv);
    conv_network(&arch, Image::new(1, 28, 28), 10).unwrap()
}

/// The networks beyond plain stacks.
fn nets() -> [(&'static str, Network); 3] {
    [
        ("residual_batchnorm", residual(Norm::Batch)),
        ("residual_layernorm", residual(Norm::Layer)),
        ("cnn", cnn()),
    ]
}

/// The kernel `INITLAB_GEMM` names (OpenBLAS without it), for every network here.
fn kernel() -> initlab_gemm::Kernel {
    initlab_bench::kernel::chosen(None).unwrap_or_else(|error| panic!("{error}"))
}

fn train_step(c: &mut Criterion) {
    let batch = 128;
    let kernel = kernel();
    for (name, arch) in configs() {
        let mut group = c.benchmark_group(format!("train_step/{name}"));
        group
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .throughput(Throughput::Elements(batch as u64));
        let x: Array2<f32> = Initializer::normal(0.0, 1.0)
            .sample((batch, 784), RngKey::new(1))
            .unwrap();
        let y: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        for threads in [1, 2] {
            let pool = initlab_bench::throughput::pinned_pool(threads);
            let mut mlp = arch
                .build::<f32>(
                    &Initializer::he_normal(Nonlinearity::Relu),
                    &Initializer::Zeros,
                    0,
                )
                .unwrap();
            mlp.set_kernel(kernel);
            let config = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.001))
                .with_batch_size(batch);
            let mut trainer = Trainer::new(&mlp, config).unwrap();
            group.bench_function(BenchmarkId::new("trainer", format!("{threads}t")), |b| {
                // Timed on a worker of the pool, as steps run inside `Trainer::train`.
                pool.install(|| {
                    b.iter(|| {
                        black_box(
                            trainer
                                .train_batch(&mut mlp, x.view(), Targets::Classes(&y))
                                .unwrap(),
                        )
                    })
                })
            });
        }
        group.finish();
    }
    for (name, network) in nets() {
        let config = network.config;
        let mut group = c.benchmark_group(format!("train_step/{name}"));
        group
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .throughput(Throughput::Elements(batch as u64));
        let x: Array2<f32> = Initializer::normal(0.0, 1.0)
            .sample((batch, 784), RngKey::new(1))
            .unwrap();
        let y: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        for threads in [1, 2] {
            let pool = initlab_bench::throughput::pinned_pool(threads);
            let he = NetInit::new(
                Initializer::he_normal(Nonlinearity::Relu),
                Initializer::Zeros,
            );
            let mut net = config.build::<f32>(&he, 0).unwrap();
            net.set_kernel(kernel);
            let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.001))
                .with_batch_size(batch);
            let mut trainer = initlab_nn::Trainer::new(&net, train).unwrap();
            group.bench_function(BenchmarkId::new("trainer", format!("{threads}t")), |b| {
                pool.install(|| {
                    b.iter(|| {
                        black_box(
                            trainer
                                .train_batch(&mut net, x.view(), Targets::Classes(&y))
                                .unwrap(),
                        )
                    })
                })
            });
        }
        group.finish();
    }
}

/// The acceptance numbers: trainer at 1 and 2 threads and the ceiling, timed round-robin
/// in one run, medians. Skipped under `--profile-time`, whose runs are for a profiler
/// (`docs/perf/phases.sh`) and would see the summary's other networks too.
fn summary(_: &mut Criterion) {
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    println!(
        "\nconfig              threads  samples/s  GFLOP/s  ceiling samples/s  ratio  speedup"
    );
    let kernel = kernel();
    let networks = configs()
        .into_iter()
        .map(|(name, arch)| (name, Network::mlp(&arch)))
        .chain(nets());
    for (name, arch) in networks {
        let config = ThroughputConfig {
            arch,
            batch: 128,
            steps: 20,
            repeats: 15,
            kernel,
        };
        let result = compare(&config, &[1, 2]);
        for &(threads, rate) in &result.training {
            println!(
                "{name:18}  {threads:7}  {:9.0}  {:7.1}  {:17.0}  {:5.3}  {:6.2}x",
                rate.samples_per_second,
                rate.gflops,
                result.ceiling.samples_per_second,
                result.ratio(threads).unwrap_or(f64::NAN),
                result.speedup(threads).unwrap_or(f64::NAN),
            );
        }
    }
}

criterion_group!(benches, train_step, summary);
initlab_bench::criterion_main!(benches);
