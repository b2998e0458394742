//! Initialization throughput: values per second for every strategy on a 4096 x 4096 f32
//! tensor on 1 and 2 rayon threads (criterion's "elem/s" = values/s), and orthogonal
//! initialization at 256, 1024 and 2048.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use initlab_init::{FanMode, Initializer, Nonlinearity, RngKey, ScalingDistribution};
use ndarray::Array2;

fn strategies() -> Vec<Initializer> {
    vec![
        Initializer::Zeros,
        Initializer::Constant { value: 0.1 },
        Initializer::uniform(-0.1, 0.1),
        Initializer::normal(0.0, 0.01),
        Initializer::truncated_normal(0.0, 0.02),
        Initializer::GlorotUniform { gain: 1.0 },
        Initializer::GlorotNormal { gain: 1.0 },
        Initializer::GlorotStandard,
        Initializer::he_uniform(Nonlinearity::Relu),
        Initializer::he_normal(Nonlinearity::Relu),
        Initializer::LeCunUniform,
        Initializer::LeCunNormal,
        Initializer::VarianceScaling {
            scale: 1.0,
            mode: FanMode::FanIn,
            distribution: ScalingDistribution::TruncatedNormal,
        },
        Initializer::Identity { gain: 1.0 },
        Initializer::Sparse {
            sparsity: 0.1,
            std: 0.01,
        },
    ]
}

fn every_strategy(c: &mut Criterion) {
    let n = 4096;
    let mut tensor = Array2::<f32>::zeros((n, n));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut group = c.benchmark_group(format!("init_4096x4096/{threads}t"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300));
        group.throughput(Throughput::Elements((n * n) as u64));
        for strategy in strategies() {
            group.bench_function(BenchmarkId::from_parameter(strategy.name()), |b| {
                b.iter(|| {
                    pool.install(|| strategy.fill(&mut tensor, RngKey::new(1)).unwrap());
                    black_box(&tensor);
                })
            });
        }
        group.finish();
    }
}

fn orthogonal(c: &mut Criterion) {
    let mut group = c.benchmark_group("init_orthogonal");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300));
    for n in [256, 1024, 2048] {
        let mut tensor = Array2::<f32>::zeros((n, n));
        group.throughput(Throughput::Elements((n * n) as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                Initializer::Orthogonal { gain: 1.0 }
                    .fill(&mut tensor, RngKey::new(2))
                    .unwrap();
                black_box(&tensor);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, every_strategy, orthogonal);
initlab_bench::criterion_main!(benches);
