//! Training-step throughput for 784-512-512-10 and 784 -> 20 x 256 -> 10 (ReLU, batch 128,
//! SGD, f32) on 1 and 2 threads, each beside its GEMM ceiling: the same GEMM calls through
//! raw cblas on one thread, measured in the same run. criterion's "elem/s" are samples/s.

use std::hint::black_box;
use std::time::Duration;

use bench::throughput::{ThroughputConfig, compare};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use init::{Initializer, Nonlinearity, RngKey};
use ndarray::Array2;
use nn::{Activation, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};

fn configs() -> [(&'static str, MlpConfig); 2] {
    [
        ("wide", MlpConfig::new(784, vec![512, 512], 10)),
        ("deep", MlpConfig::deep(784, 20, 256, 10, Activation::Relu)),
    ]
}

fn train_step(c: &mut Criterion) {
    let batch = 128;
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
            let pool = bench::throughput::pinned_pool(threads);
            let mut mlp = arch
                .build::<f32>(
                    &Initializer::he_normal(Nonlinearity::Relu),
                    &Initializer::Zeros,
                    0,
                )
                .unwrap();
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
}

/// The acceptance numbers: trainer at 1 and 2 threads and the ceiling, timed round-robin
/// in one run, medians.
fn summary(_: &mut Criterion) {
    println!("\nconfig  threads  samples/s  GFLOP/s  ceiling samples/s  ratio  speedup");
    for (name, arch) in configs() {
        let config = ThroughputConfig {
            arch,
            batch: 128,
            steps: 20,
            repeats: 15,
        };
        let result = compare(&config, &[1, 2]);
        for &(threads, rate) in &result.training {
            println!(
                "{name:6}  {threads:7}  {:9.0}  {:7.1}  {:17.0}  {:5.3}  {:6.2}x",
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
criterion_main!(benches);
