//! One training run and grids of them: an architecture, an initializer, an optimizer and a
//! seed, trained on a dataset, with the metrics that show what the initializer did.

use initlab_gemm::Kernel;
use std::time::Instant;

use indicatif::ProgressBar;
use initlab_nn::net::Net;
use initlab_nn::{Event, LayerDiagnostics, Loss, Status, TrainConfig, Trainer};
use ndarray::s;
use rayon::prelude::*;

use crate::BenchError;
use crate::data::{Dataset, Labels};
use crate::registry::lookup;
use crate::throughput::flops_per_sample;
use build::PROBE_ROWS;
use result::Window;
use verdict::verdict;

mod build;
mod result;
pub(crate) mod spec;
mod verdict;

pub use build::{Built, MAX_DEPTH, MAX_RUNS, build, conv_network, network_of};
pub(crate) use build::{check_applies, check_depth, layer_init, net_init, network};
pub use result::{
    CURVE_POINTS, CurvePoint, EpochDiagnostics, EpochMetrics, LossCurve, Outcome, PROBED_EPOCHS,
    RunResult,
};
pub use spec::{Arch, Convolutions, Head, Residual, RunSpec};

/// What a run trains against: the loss its output head reads, and the training labels in
/// the form that loss compares with.
struct Objective {
    loss: Loss,
    /// Class labels as 0.0 / 1.0, one column, for a sigmoid head.
    binary_labels: Option<ndarray::Array2<f32>>,
}

impl Objective {
    fn new(dataset: &Dataset, arch: &Arch) -> Self {
        match (arch.output, &dataset.train_y) {
            (Head::Sigmoid, Labels::Classes(classes)) => Self {
                loss: Loss::BinaryCrossEntropyWithLogits,
                binary_labels: Some(ndarray::Array2::from_shape_fn(
                    (classes.len(), 1),
                    |(i, _)| classes[i] as f32,
                )),
            },
            (_, Labels::Classes(_)) => Self {
                loss: Loss::SoftmaxCrossEntropy,
                binary_labels: None,
            },
            (_, Labels::Values(_)) => Self {
                loss: Loss::MeanSquaredError,
                binary_labels: None,
            },
        }
    }

    /// The first `rows` training targets.
    fn targets<'a>(&'a self, dataset: &'a Dataset, rows: usize) -> initlab_nn::Targets<'a, f32> {
        match (&self.binary_labels, &dataset.train_y) {
            (Some(values), _) => initlab_nn::Targets::Values(values.slice(s![..rows, ..])),
            (None, Labels::Classes(c)) => initlab_nn::Targets::Classes(&c[..rows]),
            (None, Labels::Values(v)) => initlab_nn::Targets::Values(v.slice(s![..rows, ..])),
        }
    }

    /// Per-layer diagnostics on the first training rows.
    fn probe(
        &self,
        model: &Net<f32>,
        dataset: &Dataset,
    ) -> Result<Vec<LayerDiagnostics>, BenchError> {
        let rows = PROBE_ROWS.min(dataset.train_x.nrows());
        let x = dataset.train_x.slice(s![..rows, ..]);
        Ok(initlab_nn::net::diagnose(
            model,
            x,
            self.targets(dataset, rows),
            self.loss,
            0,
        )?)
    }

    /// Test accuracy, or the negated mean test loss for regression.
    fn score(&self, model: &Net<f32>, dataset: &Dataset) -> Result<f64, BenchError> {
        Ok(match &dataset.test_y {
            Labels::Classes(c) => model.accuracy(dataset.test_x.view(), c)?,
            Labels::Values(_) => {
                -model.loss(dataset.test_x.view(), dataset.test_y.targets(), self.loss)?
            }
        })
    }
}

/// Trains one run, its products on `kernel`, advancing `progress` by one per epoch.
///
/// # Errors
/// An invalid spec or data the network cannot use.
pub fn run(
    dataset: &Dataset,
    spec: &RunSpec,
    kernel: Kernel,
    progress: &ProgressBar,
) -> Result<RunResult, BenchError> {
    let Built { mut net, lr_scales } = build(dataset, spec, kernel)?;
    let objective = Objective::new(dataset, &spec.arch);
    let at_init = objective.probe(&net, dataset)?;
    let initial_accuracy = objective.score(&net, dataset)?;
    let rows = dataset.train_x.nrows();
    let steps_per_epoch = rows.div_ceil(spec.batch_size.clamp(1, rows.max(1))) as u64;
    let total_steps = steps_per_epoch.saturating_mul(spec.epochs as u64);
    let every = LossCurve::every_for(total_steps);
    // Room for every point, so recording a step never reallocates.
    let capacity = total_steps.div_ceil(every).min(CURVE_POINTS) as usize + 2;
    let mut loss_curve = LossCurve {
        every,
        points: Vec::with_capacity(capacity),
    };
    let mut window = Window::default();
    let config = TrainConfig::new(objective.loss, spec.optimizer)
        .with_batch_size(spec.batch_size)
        .with_epochs(spec.epochs)
        .with_seed(spec.seed)
        .with_lr_scales(lr_scales);
    let mut epochs = Vec::new();
    let mut steps_to_target = None;
    let mut steps = 0;
    let mut evaluation_error = None;
    let mut during_training = Vec::new();
    let start = Instant::now();
    let history = Trainer::new(&net, config)?.train(
        &mut net,
        dataset.train_x.view(),
        objective.targets(dataset, rows),
        |event, net| match *event {
            Event::Step { step, loss, .. } => {
                steps += 1;
                window.add(&mut loss_curve, step, loss);
            }
            Event::EpochEnd { epoch, mean_loss } => {
                let probe_every = spec.epochs.div_ceil(PROBED_EPOCHS).max(1);
                let probed = (epoch + 1).is_multiple_of(probe_every) || epoch + 1 == spec.epochs;
                if spec.diagnose_epochs && probed {
                    match objective.probe(net, dataset) {
                        Ok(layers) => during_training.push(EpochDiagnostics { epoch, layers }),
                        Err(e) => {
                            evaluation_error.get_or_insert(e);
                        }
                    }
                }
                let accuracy = match objective.score(net, dataset) {
                    Ok(a) => a,
                    Err(e) => {
                        evaluation_error.get_or_insert(e);
                        f64::NAN
                    }
                };
                if steps_to_target.is_none() && accuracy >= spec.target_accuracy {
                    steps_to_target = Some(steps);
                }
                epochs.push(EpochMetrics {
                    step: steps,
                    train_loss: mean_loss,
                    test_accuracy: dataset.is_classification().then_some(accuracy),
                });
                progress.inc(1);
            }
        },
    )?;
    let wall_seconds = start.elapsed().as_secs_f64();
    window.flush(&mut loss_curve);
    if let Some(error) = evaluation_error {
        return Err(error);
    }
    progress.inc((spec.epochs - epochs.len()) as u64);
    let final_accuracy = objective.score(&net, dataset)?;
    let outcome = match history.status {
        Status::Diverged { epoch, step } => Outcome::Diverged { epoch, step },
        Status::Completed if final_accuracy >= spec.target_accuracy => Outcome::Converged,
        Status::Completed => match best_epoch(&epochs, final_accuracy, dataset.is_classification())
        {
            Some(best_epoch) => Outcome::Collapsed { best_epoch },
            None => Outcome::Stalled,
        },
    };
    let samples_per_second = (history.steps as usize)
        .saturating_mul(spec.batch_size)
        .min(dataset.train_x.nrows().saturating_mul(spec.epochs))
        as f64
        / wall_seconds;
    let gflops = samples_per_second * flops_per_sample(&net.config().gemm_shapes()) / 1e9;
    let verdict = verdict(
        &spec.arch,
        &at_init,
        outcome,
        initial_accuracy,
        final_accuracy,
        dataset.is_classification(),
    );
    Ok(RunResult {
        spec: spec.clone(),
        epochs,
        loss_curve,
        outcome,
        steps_to_target,
        final_accuracy,
        initial_accuracy,
        at_init,
        during_training,
        verdict,
        wall_seconds,
        samples_per_second,
        gflops,
    })
}

/// The epoch of a run's best score if it fell from there to `final_score` by enough to
/// call the run collapsed (see [`Outcome::Collapsed`]).
fn best_epoch(epochs: &[EpochMetrics], final_score: f64, classification: bool) -> Option<usize> {
    if classification {
        let (epoch, best) = epochs
            .iter()
            .enumerate()
            .filter_map(|(e, m)| m.test_accuracy.map(|a| (e, a)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        (best - final_score >= 0.2).then_some(epoch)
    } else {
        // The training loss stands in for the test loss, which is measured only at the end.
        let (epoch, best) = epochs
            .iter()
            .enumerate()
            .map(|(e, m)| (e, m.train_loss))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        let last = epochs.last()?.train_loss;
        (last >= 2.0 * best && best.is_finite() && epoch + 1 < epochs.len()).then_some(epoch)
    }
}

/// Runs every spec on `dataset`, its products on `kernel`, several at once on the rayon
/// pool (each run's trainer shares the same pool, so cores are never oversubscribed, and
/// BLAS stays single-threaded). Results come back in the order of `specs`.
///
/// # Errors
/// The first run that failed.
pub fn run_all(
    dataset: &Dataset,
    specs: &[RunSpec],
    kernel: Kernel,
    progress: &ProgressBar,
) -> Result<Vec<RunResult>, BenchError> {
    run_all_recorded(dataset, specs, kernel, progress, |_, _| Ok(()))
}

/// [`run_all`], calling `finished` with each run's position in `specs` and its result as
/// soon as it finishes (to record it), and failing with the first error either returns.
///
/// # Errors
/// The first run, or the first call of `finished`, that failed.
pub fn run_all_recorded(
    dataset: &Dataset,
    specs: &[RunSpec],
    kernel: Kernel,
    progress: &ProgressBar,
    finished: impl Fn(usize, &RunResult) -> Result<(), BenchError> + Sync,
) -> Result<Vec<RunResult>, BenchError> {
    check_memory(dataset, specs)?;
    check_layer_paths(dataset, specs)?;
    // Evaluation and diagnostics run outside the trainer too: keep BLAS single-threaded
    // for the whole grid so concurrent runs never share OpenBLAS threads.
    let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
    specs
        .par_iter()
        .enumerate()
        .map(|(i, spec)| {
            let result = run(dataset, spec, kernel, progress)?;
            finished(i, &result)?;
            Ok(result)
        })
        .collect()
}

/// A run's estimated cost, for balancing shards: epochs times the samples it trains on
/// and evaluates times its GEMM flops per sample, plus the elementwise work of each unit.
///
/// # Errors
/// A spec whose network cannot be built on `dataset`.
pub fn estimated_cost(dataset: &Dataset, spec: &RunSpec) -> Result<f64, BenchError> {
    let shapes = network(dataset, &spec.arch)?.config.gemm_shapes();
    let elementwise: f64 = shapes
        .iter()
        .map(|s| 16.0 * (s.rows * s.outer * s.count) as f64)
        .sum();
    let per_sample = flops_per_sample(&shapes) + elementwise;
    let samples = dataset.train_x.nrows() as f64 + dataset.test_x.nrows() as f64 / 3.0;
    Ok(spec.epochs as f64 * samples * per_sample)
}

/// Refuses per-layer initializers whose paths name no dense layer of their network, before
/// any run trains.
///
/// # Errors
/// [`BenchError::Invalid`] naming the path and listing the network's.
fn check_layer_paths(dataset: &Dataset, specs: &[RunSpec]) -> Result<(), BenchError> {
    for spec in specs.iter().filter(|s| !s.arch.layer_inits.is_empty()) {
        let config = network(dataset, &spec.arch)?.config;
        let he = lookup("he_normal", spec.arch.activation)?;
        net_init(&spec.arch, config, he)?;
    }
    Ok(())
}

/// What a run keeps per epoch (its metrics and the trainer's history, with the room their
/// vectors grow into): about 245 bytes measured at `cd40921`, rounded up.
const EPOCH_BYTES: u64 = 256;

/// Refuses a grid whose runs, as many at once as the pool has threads, need more memory
/// than the machine has, their per-epoch history included: checked before any network is
/// built.
///
/// # Errors
/// [`BenchError::Memory`] naming the largest run's network and batch.
pub fn check_memory(dataset: &Dataset, specs: &[RunSpec]) -> Result<(), BenchError> {
    let at_once = rayon::current_num_threads().min(specs.len()) as u64;
    let (train, test) = (dataset.train_x.nrows(), dataset.test_x.nrows());
    // The run that needs the most; `None` bytes (past a u64) count as the most of all.
    let mut largest: Option<(Option<u64>, &RunSpec)> = None;
    for spec in specs {
        let network = network(dataset, &spec.arch)?;
        // A batch past the data trains as one the size of the data; evaluation runs
        // over the test split in chunks and diagnostics over PROBE_ROWS.
        let evaluation = network.evaluation_rows(test);
        let rows = spec.batch_size.min(train).max(evaluation).max(PROBE_ROWS);
        // The history grows with the epochs: a run of 2^63 of them would never fit.
        let history = (spec.epochs as u64).checked_mul(EPOCH_BYTES);
        let bytes = network
            .training_bytes(rows)
            .zip(history)
            .and_then(|(b, h)| b.checked_add(h))
            .and_then(|b| b.checked_mul(at_once));
        let size = |b: Option<u64>| b.unwrap_or(u64::MAX);
        if largest.is_none_or(|(most, _)| size(bytes) > size(most)) {
            largest = Some((bytes, spec));
        }
    }
    match largest {
        None => Ok(()),
        Some((bytes, spec)) => crate::memory::check(
            &format!("{} at batch_size {}", spec.arch.label(), spec.batch_size),
            bytes,
        ),
    }
}

/// The cross product of architectures, initializers and seeds with shared settings.
///
/// # Errors
/// [`BenchError::Invalid`] past [`MAX_RUNS`] runs.
pub fn grid(
    archs: &[Arch],
    inits: &[&str],
    seeds: &[u64],
    template: &RunSpec,
) -> Result<Vec<RunSpec>, BenchError> {
    let runs = archs
        .len()
        .checked_mul(inits.len())
        .and_then(|n| n.checked_mul(seeds.len()))
        .filter(|&n| n <= MAX_RUNS)
        .ok_or_else(|| {
            BenchError::invalid(
                "architectures x initializers x seeds",
                format!("{} x {} x {}", archs.len(), inits.len(), seeds.len()),
                format!("at most {MAX_RUNS} runs"),
            )
        })?;
    let mut specs = Vec::with_capacity(runs);
    for arch in archs {
        for &init in inits {
            for &seed in seeds {
                specs.push(RunSpec {
                    arch: arch.clone(),
                    init: init.to_owned(),
                    seed,
                    ..template.clone()
                });
            }
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epochs(accuracies: &[f64]) -> Vec<EpochMetrics> {
        accuracies
            .iter()
            .map(|&a| EpochMetrics {
                step: 0,
                train_loss: 1.0 - a,
                test_accuracy: Some(a),
            })
            .collect()
    }

    #[test]
    fn a_fall_of_twenty_points_from_the_best_epoch_is_a_collapse() {
        // Reached 89%, ended at 17%: not "stalled".
        assert_eq!(best_epoch(&epochs(&[0.5, 0.89, 0.17]), 0.17, true), Some(1));
        assert_eq!(best_epoch(&epochs(&[0.5, 0.6, 0.45]), 0.45, true), None);
        assert_eq!(best_epoch(&epochs(&[0.1, 0.1]), 0.1, true), None);
        let regression = |losses: &[f64]| -> Vec<EpochMetrics> {
            losses
                .iter()
                .map(|&l| EpochMetrics {
                    step: 0,
                    train_loss: l,
                    test_accuracy: None,
                })
                .collect()
        };
        assert_eq!(
            best_epoch(&regression(&[1.0, 0.1, 0.3]), -0.3, false),
            Some(1)
        );
        assert_eq!(
            best_epoch(&regression(&[1.0, 0.1, 0.15]), -0.15, false),
            None
        );
    }
}
