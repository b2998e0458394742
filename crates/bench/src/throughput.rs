//! Training throughput beside its ceiling: the same GEMM calls alone on one thread, through
//! the kernel that trains (raw CBLAS, or initlab-gemm's packed kernel where it runs), timed in
//! the same run, so the ratio survives a noisy machine.

use std::time::Instant;

use initlab_gemm::{Kernel, SingleThreadedBlas};
use initlab_init::{Initializer, RngKey};
use initlab_nn::net::{GemmShape, Net, NetInit};
use initlab_nn::{Loss, Optimizer, Targets, TrainConfig, Trainer};
use ndarray::Array2;

use crate::network::Network;

/// GEMM floating-point operations per training sample of dense layers of these
/// `(fan_in, fan_out)` shapes, first to last: forward `x W^T`,
/// weight gradient `dY^T X`, and input gradient `dY W` for every layer but the first
/// (2 flops per multiply-add), the count the numpy and JAX peers use.
pub fn gemm_flops_per_sample(shapes: &[(usize, usize)]) -> f64 {
    let dense: Vec<GemmShape> = shapes
        .iter()
        .map(|&(inner, outer)| GemmShape {
            rows: 1,
            inner,
            outer,
            count: 1,
        })
        .collect();
    flops_per_sample(&dense)
}

/// [`gemm_flops_per_sample`] of any layers' products (convolutions' included): three
/// products of each shape, two in the first layer.
pub fn flops_per_sample(shapes: &[GemmShape]) -> f64 {
    shapes
        .iter()
        .enumerate()
        .map(|(l, s)| {
            let products = if l == 0 { 2.0 } else { 3.0 };
            products * 2.0 * (s.rows * s.inner * s.outer * s.count) as f64
        })
        .sum()
}

/// A throughput measured as the median of several timed repeats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Training samples per second (median).
    pub samples_per_second: f64,
    /// Achieved GEMM GFLOP/s at that rate.
    pub gflops: f64,
}

impl Rate {
    fn from_seconds(samples: usize, seconds: f64, flops_per_sample: f64) -> Self {
        let samples_per_second = samples as f64 / seconds;
        Self {
            samples_per_second,
            gflops: samples_per_second * flops_per_sample / 1e9,
        }
    }
}

/// What to time: architecture, batch size, steps per timed repeat, and repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct ThroughputConfig {
    /// The network.
    pub arch: Network,
    /// Samples per mini-batch.
    pub batch: usize,
    /// Optimizer steps in one timed repeat.
    pub steps: usize,
    /// Timed repeats; the median is reported.
    pub repeats: usize,
    /// What runs the f32 products, training's and the ceiling's.
    pub kernel: Kernel,
}

/// Synthetic `N(0, 1)` inputs with uniform labels, `steps` batches of `batch` rows.
fn synthetic(config: &ThroughputConfig) -> (Array2<f32>, Vec<usize>) {
    let rows = config.batch * config.steps;
    let x = Initializer::normal(0.0, 1.0)
        .sample((rows, config.arch.input()), RngKey::new(7))
        .expect("valid normal");
    let y = (0..rows)
        .map(|i| (i * 7 + 3) % config.arch.output())
        .collect();
    (x, y)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Training at several thread counts and its GEMM ceiling, each the median of repeats
/// timed round-robin so that all of them see the same machine noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `(threads, rate)` for each thread count asked for, in order.
    pub training: Vec<(usize, Rate)>,
    /// The same GEMM calls alone on one thread, through the kernel that trains.
    pub ceiling: Rate,
}

impl Comparison {
    /// Training throughput at `threads` as a fraction of the ceiling.
    pub fn ratio(&self, threads: usize) -> Option<f64> {
        self.rate(threads)
            .map(|r| r.samples_per_second / self.ceiling.samples_per_second)
    }

    /// Throughput at `threads` over throughput at one thread.
    pub fn speedup(&self, threads: usize) -> Option<f64> {
        Some(self.rate(threads)?.samples_per_second / self.rate(1)?.samples_per_second)
    }

    /// The rate measured at `threads`.
    pub fn rate(&self, threads: usize) -> Option<Rate> {
        self.training
            .iter()
            .find(|(t, _)| *t == threads)
            .map(|(_, r)| *r)
    }
}

/// Times SGD training steps at each of `threads` (rayon threads, BLAS single-threaded)
/// and the GEMM ceiling, round-robin.
///
/// # Panics
/// If the configuration is invalid (callers build it in code or validate it first).
pub fn compare(config: &ThroughputConfig, threads: &[usize]) -> Comparison {
    // Measured here before pools were pinned (see `pinned_pool`): a pool timed right after
    // a smaller pool's run lost ~25% (2 threads after 1 on this 2-core machine), the other
    // orders nothing. So each round runs the thread counts from most to fewest, then the
    // ceiling.
    let mut threads = threads.to_vec();
    threads.sort_unstable_by(|a, b| b.cmp(a));
    let mut runners: Vec<Box<dyn FnMut()>> = threads
        .iter()
        .map(|&t| training_runner(config, t))
        .collect();
    runners.push(Box::new(ceiling_runner(config)));
    for run in &mut runners {
        run();
    }
    let mut seconds = vec![Vec::new(); runners.len()];
    for _ in 0..config.repeats {
        for (run, times) in runners.iter_mut().zip(&mut seconds) {
            // Rayon workers spin for a while after their work runs out; a pause lets the
            // previous runner's pool fall asleep instead of competing with this one.
            std::thread::sleep(std::time::Duration::from_millis(20));
            times.push(timed(run));
        }
    }
    let samples = config.batch * config.steps;
    let flops = flops_per_sample(&config.arch.config.gemm_shapes());
    let mut rates: Vec<Rate> = seconds
        .into_iter()
        .map(|s| Rate::from_seconds(samples, median(s), flops))
        .collect();
    let ceiling = rates.pop().expect("the ceiling was timed");
    let mut training: Vec<(usize, Rate)> = threads.iter().copied().zip(rates).collect();
    training.sort_unstable_by_key(|&(t, _)| t);
    Comparison { training, ceiling }
}

fn timed(run: &mut impl FnMut()) -> f64 {
    let start = Instant::now();
    run();
    start.elapsed().as_secs_f64()
}

/// A rayon pool of `threads` workers, worker `i` pinned to the `i`-th CPU this process may
/// use (on Linux; elsewhere unpinned).
///
/// Timing pools round-robin, the scheduler often left the 2-thread pool's two workers
/// sharing one core for milliseconds after another pool had run: measured here,
/// 784-512-512-10 at 2 threads ran at 34-38k samples/s unpinned and 44-49k pinned, with
/// the 1-thread rate unchanged. A single long training run does not see this (its workers
/// settle on separate cores), so pinning measures the trainer rather than the scheduler.
///
/// # Panics
/// If the operating system refuses to start threads.
pub fn pinned_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(pin_to_nth_cpu)
        .build()
        .expect("a thread pool")
}

#[cfg(target_os = "linux")]
fn pin_to_nth_cpu(n: usize) {
    // SAFETY: `cpu_set_t` is plain data, zero is a valid (empty) set, and both calls get
    // its true size; a failure leaves the thread unpinned, which is only slower.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return;
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &allowed))
            .collect();
        if cpus.is_empty() {
            return;
        }
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpus[n % cpus.len()], &mut one);
        libc::sched_setaffinity(0, size, &one);
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_nth_cpu(_: usize) {}

/// A closure that runs `config.steps` training steps.
fn training_runner(config: &ThroughputConfig, threads: usize) -> Box<dyn FnMut()> {
    let (x, y) = synthetic(config);
    let pool = pinned_pool(threads);
    let relu = Initializer::he_normal(initlab_init::Nonlinearity::Relu);
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.01))
        .with_batch_size(config.batch);
    let (batch, steps) = (config.batch, config.steps);
    let rows = move |step: usize| step * batch..(step + 1) * batch;
    // The steps run back to back on a worker, as in `Trainer::train` called from one.
    let mut net: Net<f32> = config
        .arch
        .config
        .build(&NetInit::new(relu, Initializer::Zeros), 0)
        .expect("valid architecture");
    net.set_kernel(config.kernel);
    let mut trainer = Trainer::new(&net, train).expect("valid training configuration");
    Box::new(move || {
        pool.install(|| {
            for step in 0..steps {
                let rows = rows(step);
                let inputs = x.slice(ndarray::s![rows.clone(), ..]);
                trainer
                    .train_batch(&mut net, inputs, Targets::Classes(&y[rows]))
                    .expect("valid batch");
            }
        });
    })
}

/// One layer's `x`, `W`, `y` (also the output gradient), `dW` and `dX`.
type CeilingBuffers = (
    Array2<f32>,
    Array2<f32>,
    Array2<f32>,
    Array2<f32>,
    Array2<f32>,
);

/// A closure that runs the GEMM calls of `config.steps` training steps at full batch, back
/// to back on one thread, with nothing else: through raw `cblas_sgemm` where BLAS trains,
/// through initlab-gemm's packed kernel where that trains instead. A dense layer's
/// products take the whole batch at once; a convolution's run per sample and group, one
/// row per output pixel, as its im2col does.
fn ceiling_runner(config: &ThroughputConfig) -> impl FnMut() {
    let batch = config.batch;
    let shapes = config.arch.config.gemm_shapes();
    let fill = |r, c| Array2::<f32>::from_elem((r, c), 0.01);
    let mut buffers: Vec<(CeilingBuffers, usize)> = shapes
        .iter()
        .map(|s| {
            let (rows, repeats) = if s.rows == 1 && s.count == 1 {
                (batch, 1)
            } else {
                (s.rows, batch * s.count)
            };
            let (i, o) = (s.inner, s.outer);
            let buffers = (
                fill(rows, i),
                fill(o, i),
                fill(rows, o),
                fill(o, i),
                fill(rows, i),
            );
            (buffers, repeats)
        })
        .collect();
    let steps = config.steps;
    let kernel = config.kernel;
    let layer = move |first: bool, buffers: &mut CeilingBuffers| match kernel.isa() {
        Some(_) => packed_layer(kernel, first, buffers),
        None => cblas_layer(first, buffers),
    };
    // On the CPU the 1-thread trainer is pinned to: the two cores of a shared machine
    // need not run at the same speed, and the 1-thread ratio should not measure that.
    let pool = pinned_pool(1);
    move || {
        pool.install(|| {
            let _one = SingleThreadedBlas::new();
            for _ in 0..steps {
                for (l, (buffers, repeats)) in buffers.iter_mut().enumerate() {
                    for _ in 0..*repeats {
                        layer(l == 0, buffers);
                    }
                }
            }
        });
    }
}

/// One layer's GEMM calls, forward, `dW` and (unless `first`) `dX`, through raw CBLAS.
fn cblas_layer(first: bool, (x, w, y, dw, dx): &mut CeilingBuffers) {
    let (b, i) = x.dim();
    let o = w.nrows();
    let (b, i, o) = (b as i32, i as i32, o as i32);
    // SAFETY: every buffer is a C-order array of exactly the sizes passed.
    unsafe {
        crate::raw_blas::sgemm(
            false,
            true,
            b,
            o,
            i,
            1.0,
            x.as_ptr(),
            i,
            w.as_ptr(),
            i,
            0.0,
            y.as_mut_ptr(),
            o,
        );
        crate::raw_blas::sgemm(
            true,
            false,
            o,
            i,
            b,
            1.0,
            y.as_ptr(),
            o,
            x.as_ptr(),
            i,
            0.0,
            dw.as_mut_ptr(),
            i,
        );
        if !first {
            crate::raw_blas::sgemm(
                false,
                false,
                b,
                i,
                o,
                1.0,
                y.as_ptr(),
                o,
                w.as_ptr(),
                i,
                0.0,
                dx.as_mut_ptr(),
                i,
            );
        }
    }
}

/// The same calls as [`cblas_layer`] through [`Kernel::gemm`] on the packed `kernel`: that
/// kernel has no raw entry point, and what stands in front of it is a few shape
/// comparisons per call.
fn packed_layer(kernel: Kernel, first: bool, (x, w, y, dw, dx): &mut CeilingBuffers) {
    use initlab_gemm::Op::{Identity, Transpose};
    let fits = "the ceiling's buffers have its products' shapes";
    kernel
        .gemm(
            1.0,
            x.view(),
            Identity,
            w.view(),
            Transpose,
            0.0,
            y.view_mut(),
        )
        .expect(fits);
    kernel
        .gemm(
            1.0,
            y.view(),
            Transpose,
            x.view(),
            Identity,
            0.0,
            dw.view_mut(),
        )
        .expect(fits);
    if !first {
        kernel
            .gemm(
                1.0,
                y.view(),
                Identity,
                w.view(),
                Identity,
                0.0,
                dx.view_mut(),
            )
            .expect(fits);
    }
}

/// One line of a throughput report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThroughputRow {
    /// The network, e.g. `784-512-512-10`.
    pub network: String,
    /// Rayon threads (BLAS single-threaded).
    pub threads: usize,
    /// Training samples per second (median).
    pub samples_per_second: f64,
    /// Achieved GEMM GFLOP/s.
    pub gflops: f64,
    /// The ceiling: the same GEMM calls alone on one thread through the kernel that trains,
    /// samples per second.
    pub ceiling_samples_per_second: f64,
    /// Training over ceiling.
    pub ratio: f64,
    /// Over one thread.
    pub speedup: f64,
}

/// A throughput run: every network at every thread count, with provenance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThroughputReport {
    /// OpenBLAS's kernel family.
    pub blas_core: String,
    /// OpenBLAS's build configuration.
    pub blas_config: String,
    /// Whether the trainer's f32 GEMMs ran initlab-gemm's packed kernel (`--gemm packed`)
    /// rather than OpenBLAS; the ceiling then runs it too.
    pub packed_gemm: bool,
    /// What ran the products, as [`Kernel::describe`] names it.
    pub gemm_kernel: String,
    /// Batch size.
    pub batch: usize,
    /// The measurements.
    pub rows: Vec<ThroughputRow>,
    /// Load from other processes during the whole run, where `/proc/stat` exists.
    pub other_load: Option<crate::load::OtherLoad>,
}

/// Measures every network at 1..=`max_threads` threads beside its ceiling, advancing
/// `progress` by one per network.
#[allow(clippy::too_many_arguments)]
pub fn report(
    networks: &[Network],
    batch: usize,
    steps: usize,
    repeats: usize,
    max_threads: usize,
    kernel: Kernel,
    progress: &indicatif::ProgressBar,
) -> ThroughputReport {
    let info = initlab_gemm::blas_info();
    let start = crate::load::CpuSnapshot::now();
    let threads: Vec<usize> = (1..=max_threads.max(1)).collect();
    let mut rows = Vec::new();
    for arch in networks {
        let config = ThroughputConfig {
            arch: arch.clone(),
            batch,
            steps,
            repeats,
            kernel,
        };
        let result = compare(&config, &threads);
        progress.inc(1);
        for &(t, rate) in &result.training {
            rows.push(ThroughputRow {
                network: arch.name.clone(),
                threads: t,
                samples_per_second: rate.samples_per_second,
                gflops: rate.gflops,
                ceiling_samples_per_second: result.ceiling.samples_per_second,
                ratio: result.ratio(t).unwrap_or(f64::NAN),
                speedup: result.speedup(t).unwrap_or(f64::NAN),
            });
        }
    }
    let other_load = start
        .zip(crate::load::CpuSnapshot::now())
        .map(|(a, b)| a.other_load_until(&b));
    ThroughputReport {
        blas_core: info.core,
        blas_config: info.config,
        packed_gemm: kernel.isa().is_some(),
        gemm_kernel: kernel.describe(),
        batch,
        rows,
        other_load,
    }
}

impl ThroughputReport {
    /// One CSV row per network and thread count.
    pub fn csv(&self) -> String {
        let mut csv = String::from(
            "network,threads,samples_per_second,gflops,ceiling_samples_per_second,ratio,speedup\n",
        );
        for r in &self.rows {
            csv.push_str(&format!(
                "{},{},{:.1},{:.2},{:.1},{:.4},{:.3}\n",
                r.network,
                r.threads,
                r.samples_per_second,
                r.gflops,
                r.ceiling_samples_per_second,
                r.ratio,
                r.speedup
            ));
        }
        csv
    }

    /// The report as a Markdown table with its provenance and a noise label.
    pub fn markdown(&self) -> String {
        let gemm = if self.packed_gemm {
            format!(
                "{} (`--gemm packed`; the ceiling's too), OpenBLAS built as {}",
                self.gemm_kernel, self.blas_config
            )
        } else {
            format!("OpenBLAS {} ({})", self.blas_core, self.blas_config)
        };
        let mut out = format!(
            "{gemm}; batch {}, SGD, f32, BLAS single-threaded inside rayon workers pinned one per core\n\n| network | threads | samples/s | GFLOP/s | ceiling samples/s (the GEMM calls alone, 1 thread) | of ceiling | speedup |\n|---|---:|---:|---:|---:|---:|---:|\n",
            self.batch
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.1} | {:.0} | {:.3} | {:.2}x |\n",
                r.network,
                r.threads,
                r.samples_per_second,
                r.gflops,
                r.ceiling_samples_per_second,
                r.ratio,
                r.speedup
            ));
        }
        match self.other_load {
            Some(load) => out.push_str(&format!(
                "\nOther processes used {:.2} cores on average during the run (steal {:.1}%): {}\n",
                load.cores,
                100.0 * load.steal,
                if load.is_quiet() {
                    "a clean measurement."
                } else {
                    "NOISY, the numbers above are lower bounds."
                }
            )),
            None => out.push_str("\nLoad from other processes unknown (no /proc/stat).\n"),
        }
        // On the packed kernel, OpenBLAS runs none of the f32 products timed here.
        let note = (!self.packed_gemm)
            .then(|| kernel_note(&self.blas_core, VectorIsa::of_this_cpu()))
            .flatten();
        if let Some(note) = note {
            out.push_str(&format!("\n{note}\n"));
        }
        out
    }
}

/// OpenBLAS's kernel families that use AVX-512.
const AVX512_KERNELS: [&str; 3] = ["SkylakeX", "Cooperlake", "SapphireRapids"];

/// OpenBLAS's kernel families for CPUs before AVX2 (with SSE or AVX at most), the ones it
/// falls back to on a CPU it does not know.
const PRE_AVX2_KERNELS: [&str; 20] = [
    "Katmai",
    "Coppermine",
    "Northwood",
    "Prescott",
    "Banias",
    "Atom",
    "Core2",
    "Penryn",
    "Dunnington",
    "Nehalem",
    "Sandybridge",
    "Athlon",
    "Opteron",
    "Opteron_SSE3",
    "Barcelona",
    "Nano",
    "Bobcat",
    "Bulldozer",
    "Piledriver",
    "Steamroller",
];

/// The widest vector instructions a CPU offers OpenBLAS's kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorIsa {
    /// AVX-512F.
    Avx512,
    /// AVX2 and FMA, without AVX-512F.
    Avx2,
    /// Neither, or not an x86-64 CPU.
    Older,
}

impl VectorIsa {
    /// What this CPU has.
    pub fn of_this_cpu() -> VectorIsa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return VectorIsa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return VectorIsa::Avx2;
            }
        }
        VectorIsa::Older
    }
}

/// A note when OpenBLAS runs the kernel family `core` below what a CPU with `cpu` could
/// run: kernels without AVX2, which OpenBLAS falls back to on CPUs newer than it knows
/// (0.3.21 on a Xeon of CPU family 6, model 207), or AVX2 ones on an AVX-512 CPU, which
/// `OPENBLAS_CORETYPE` (which one of this project's machines set to Haswell) can ask for.
pub fn kernel_note(core: &str, cpu: VectorIsa) -> Option<String> {
    fallback_note(core, cpu).or_else(|| {
        (cpu == VectorIsa::Avx512 && !AVX512_KERNELS.contains(&core)).then(|| {
            format!(
                "This CPU has AVX-512, but OpenBLAS runs its {core} kernels{}. Whether that costs speed depends on the CPU: OPENBLAS_CORETYPE=SkylakeX trained both networks 1.5-1.8x as fast on a Zen 5 EPYC, and about as fast on a Zen 4 one, whose AVX-512 units are 256 bits wide; `--gemm packed` runs initlab-gemm's own kernel instead (docs/guide/performance.md). {ROUNDING}",
                coretype_set()
            )
        })
    })
}

/// Said of any other kernel family.
const ROUNDING: &str = "Other kernels round differently, so results differ in their last bits.";

/// ` (OPENBLAS_CORETYPE=...)` when the environment chose the kernels.
fn coretype_set() -> String {
    std::env::var("OPENBLAS_CORETYPE")
        .map(|v| format!(" (OPENBLAS_CORETYPE={v})"))
        .unwrap_or_default()
}

/// The part of [`kernel_note`] every training command prints: OpenBLAS runs `core`, a
/// family without AVX2, on a CPU with AVX2 or AVX-512, several times slower than it could.
pub fn fallback_note(core: &str, cpu: VectorIsa) -> Option<String> {
    let (has, better) = match cpu {
        _ if !PRE_AVX2_KERNELS.contains(&core) => return None,
        VectorIsa::Older => return None,
        VectorIsa::Avx512 => ("AVX-512", "SkylakeX (or Cooperlake, or AVX2's Haswell)"),
        VectorIsa::Avx2 => ("AVX2 and FMA", "Haswell"),
    };
    let set = coretype_set();
    let why = if set.is_empty() {
        ": this OpenBLAS does not know the CPU and fell back to them"
    } else {
        ""
    };
    Some(format!(
        "OpenBLAS runs its {core} kernels{set}, which use no AVX2, on a CPU with {has}{why}. OPENBLAS_CORETYPE={better} picks faster ones: on a Xeon of CPU family 6, model 207, where OpenBLAS 0.3.21 fell back to Prescott, SkylakeX trained `initlab throughput`'s two networks 3.0-3.6x as fast and Haswell 2.1-2.3x, and `--gemm packed`, which runs initlab-gemm's own kernel, 3.3-4.0x (docs/guide/performance.md). {ROUNDING}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_avx2_kernel_on_an_avx512_cpu_points_to_the_avx512_ones() {
        let note = kernel_note("Haswell", VectorIsa::Avx512).expect("a note");
        assert!(note.contains("Haswell kernels") && note.contains("OPENBLAS_CORETYPE=SkylakeX"));
        assert_eq!(kernel_note("Cooperlake", VectorIsa::Avx512), None);
        assert_eq!(kernel_note("Haswell", VectorIsa::Avx2), None);
        assert_eq!(kernel_note("Zen", VectorIsa::Avx2), None);
    }

    #[test]
    fn a_fallback_kernel_without_avx2_is_named_on_any_avx2_cpu() {
        for (cpu, better) in [
            (VectorIsa::Avx512, "OPENBLAS_CORETYPE=SkylakeX"),
            (VectorIsa::Avx2, "OPENBLAS_CORETYPE=Haswell"),
        ] {
            let note = kernel_note("Prescott", cpu).expect("a note");
            assert!(
                note.contains("Prescott kernels") && note.contains("use no AVX2"),
                "{note}"
            );
            assert!(note.contains(better), "{note}");
        }
        assert_eq!(kernel_note("Prescott", VectorIsa::Older), None);
    }
}
