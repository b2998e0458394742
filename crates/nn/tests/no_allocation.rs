//! After the first step, a training step allocates nothing: counted by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use init::{Initializer, Nonlinearity, RngKey};
use ndarray::Array2;
use nn::{Event, Loss, MlpConfig, Optimizer, Targets, TrainConfig, Trainer};

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

#[test]
fn steps_after_the_first_do_not_allocate() {
    let rows = 1000;
    let x: Array2<f32> = Initializer::normal(0.0, 1.0)
        .sample((rows, 20), RngKey::new(1))
        .unwrap();
    let y: Vec<usize> = (0..rows).map(|i| i % 4).collect();
    for optimizer in [Optimizer::sgd(0.01), Optimizer::adam(0.001)] {
        // Wider than a unit block and a gradient block: the step's parallel pieces are many.
        let config = MlpConfig::new(20, vec![nn::GRAD_ROWS + 8, nn::UNIT_BLOCK + 8], 4);
        let mut mlp = config
            .build::<f32>(
                &Initializer::he_normal(Nonlinearity::Relu),
                &Initializer::Zeros,
                0,
            )
            .unwrap();
        let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, optimizer)
            .with_batch_size(128)
            .with_epochs(1);
        let mut trainer = Trainer::new(&mlp, train).unwrap();
        let mut counts = Vec::with_capacity(16);
        trainer
            .train(&mut mlp, x.view(), Targets::Classes(&y), |event, _| {
                if let Event::Step { .. } = event {
                    counts.push(ALLOCATIONS.load(Ordering::Relaxed));
                }
            })
            .unwrap();
        // 1000 rows / 128 = 8 steps (the last one partial, 104 rows).
        assert_eq!(counts.len(), 8);
        let after_first = counts[counts.len() - 1] - counts[0];
        assert_eq!(
            after_first, 0,
            "{optimizer:?}: steps 2..8 allocated {after_first} times"
        );
    }
}
