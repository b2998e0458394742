//! After the first step, a training step allocates nothing, whichever thread calls
//! `train`: counted by a global allocator over 500 steps from the test's own thread (not a
//! rayon worker), long enough to cross the pool's injection-queue blocks of 63 hand-offs
//! if steps were handed over one by one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use initlab_init::{Initializer, Nonlinearity, RngKey};
use initlab_nn::gemm::{CpuFeatures, Kernel};
use initlab_nn::{Event, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};
use ndarray::Array2;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is process-wide: one test counts at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn steps_after_the_first_do_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rows = 1000;
    let x: Array2<f32> = Initializer::normal(0.0, 1.0)
        .sample((rows, 20), RngKey::new(1))
        .unwrap();
    let y: Vec<usize> = (0..rows).map(|i| i % 4).collect();
    let kernels = std::iter::once(Kernel::OPENBLAS)
        .chain(Kernel::parse("packed", CpuFeatures::detect()).ok());
    for (kernel, optimizer) in kernels.flat_map(|kernel| {
        [Optimizer::sgd(0.01), Optimizer::adam(0.001)].map(|optimizer| (kernel, optimizer))
    }) {
        // Wider than a unit block and a gradient block: the step's parallel pieces are many.
        let config = MlpConfig::new(
            20,
            vec![initlab_nn::GRAD_ROWS + 8, initlab_nn::UNIT_BLOCK + 8],
            4,
        );
        let mut mlp = config
            .build::<f32>(
                &Initializer::he_normal(Nonlinearity::Relu),
                &Initializer::Zeros,
                0,
            )
            .unwrap();
        mlp.set_kernel(kernel);
        // 1000 rows / 128 = 8 steps an epoch (the last one partial, 104 rows): 63 epochs
        // make 504 steps.
        let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, optimizer)
            .with_batch_size(128)
            .with_epochs(63);
        let mut trainer = Trainer::new(&mlp, train).unwrap();
        assert!(
            rayon::current_thread_index().is_none(),
            "a plain thread calls"
        );
        let mut counts: Vec<(usize, usize)> = Vec::with_capacity(1024);
        trainer
            .train(&mut mlp, x.view(), Targets::Classes(&y), |event, _| {
                if let Event::Step { epoch, .. } = event {
                    counts.push((*epoch, ALLOCATIONS.load(Ordering::Relaxed)));
                }
            })
            .unwrap();
        assert_eq!(counts.len(), 504);
        // Between two steps of one epoch; an epoch's end records its loss, which may grow a
        // vector, and is not a step.
        let allocating: Vec<(usize, usize)> = counts
            .windows(2)
            .enumerate()
            .skip(1)
            .filter(|(_, w)| w[0].0 == w[1].0 && w[1].1 > w[0].1)
            .map(|(step, w)| (step + 1, w[1].1 - w[0].1))
            .collect();
        // A pool thread's first steal registers it with crossbeam's epoch collector, once,
        // in one burst of allocations (6 measured); on a loaded machine that can fall after
        // the first step. Anything per step, such as handing each step to the pool (the
        // injection queue allocates every 63), would recur: at most one allocating step per
        // thread, and none in the second half.
        assert!(
            allocating.len() <= rayon::current_num_threads()
                && allocating.iter().all(|&(step, _)| step < 250),
            "{kernel}, {optimizer:?}: steps after the first allocated, at (step, count) {allocating:?}"
        );
    }
}

/// `train_batch` in a loop run inside the pool, as its docs advise: 500 calls, one
/// hand-off.
#[test]
fn train_batch_inside_the_pool_does_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rows = 128;
    let x: Array2<f32> = Initializer::normal(0.0, 1.0)
        .sample((rows, 20), RngKey::new(3))
        .unwrap();
    let y: Vec<usize> = (0..rows).map(|i| i % 4).collect();
    let config = MlpConfig::new(
        20,
        vec![initlab_nn::GRAD_ROWS + 8, initlab_nn::UNIT_BLOCK + 8],
        4,
    );
    let mut mlp = config
        .build::<f32>(
            &Initializer::he_normal(Nonlinearity::Relu),
            &Initializer::Zeros,
            0,
        )
        .unwrap();
    let train =
        TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(0.001)).with_batch_size(rows);
    let mut trainer = Trainer::new(&mlp, train).unwrap();
    assert!(rayon::current_thread_index().is_none());
    let mut counts: Vec<usize> = Vec::with_capacity(500);
    rayon::scope(|_| {
        for _ in 0..500 {
            let loss = trainer
                .train_batch(&mut mlp, x.view(), Targets::Classes(&y))
                .unwrap();
            assert!(loss.is_some());
            counts.push(ALLOCATIONS.load(Ordering::Relaxed));
        }
    });
    let allocating: Vec<(usize, usize)> = counts
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] > w[0])
        .map(|(i, w)| (i + 1, w[1] - w[0]))
        .collect();
    // A pool worker that first joins in a later call sets up its thread-local state then,
    // in one burst (measured here: 6 allocations in one call, at call 6 or 12, when other
    // processes kept a worker asleep): at most one allocating call per worker, and none
    // in the second half.
    assert!(
        allocating.len() <= rayon::current_num_threads()
            && allocating.iter().all(|&(call, _)| call < 250),
        "train_batch allocated after the first call, at (call, count) {allocating:?}"
    );
}
