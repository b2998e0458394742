//! Each optimizer and schedule against values worked out by hand from its published
//! formula, one and two steps deep: "the loss went down" cannot tell Nesterov from heavy
//! ball, or Adam with its bias correction from Adam without.
//!
//! The network is one weight and one bias, `z = w x + b`, with `x = 1`, target 0 and the
//! squared error, so both gradients are `2 (w + b)`.

use initlab_nn::init::Initializer;
use initlab_nn::{Loss, MlpConfig, Optimizer, Schedule, Targets, TrainConfig, Trainer};
use ndarray::array;

/// `(w, b)` after each of `steps` steps from `w = 1, b = 0`.
fn trajectory(optimizer: Optimizer, schedule: Schedule, steps: usize) -> Vec<(f64, f64)> {
    let mut mlp = MlpConfig::new(1, vec![], 1)
        .build::<f64>(&Initializer::Ones, &Initializer::Zeros, 0)
        .unwrap();
    let config = TrainConfig::new(Loss::MeanSquaredError, optimizer)
        .with_batch_size(1)
        .with_schedule(schedule);
    let mut trainer = Trainer::new(&mlp, config).unwrap();
    let (x, t) = (array![[1.0]], array![[0.0]]);
    (0..steps)
        .map(|_| {
            trainer
                .train_batch(&mut mlp, x.view(), Targets::Values(t.view()))
                .unwrap()
                .unwrap();
            let (weight, bias) = &mlp.dense_parameters()[0];
            (weight[[0, 0]], bias[0])
        })
        .collect()
}

fn assert_close(found: &[(f64, f64)], expected: &[(f64, f64)]) {
    for (step, (f, e)) in found.iter().zip(expected).enumerate() {
        assert!(
            (f.0 - e.0).abs() < 1e-12 && (f.1 - e.1).abs() < 1e-12,
            "step {}: found {f:?}, expected {e:?}",
            step + 1
        );
    }
}

fn momentum(nesterov: bool, weight_decay: f64) -> Optimizer {
    Optimizer::Momentum {
        lr: 0.1,
        momentum: 0.9,
        nesterov,
        weight_decay,
    }
}

#[test]
fn heavy_ball_momentum() {
    // g = 2: v = 2, w = 1 - 0.2, b = -0.2. Then g = 2 (0.8 - 0.2) = 1.2: v = 1.8 + 1.2 = 3.
    assert_close(
        &trajectory(momentum(false, 0.0), Schedule::Constant, 2),
        &[(0.8, -0.2), (0.5, -0.5)],
    );
}

#[test]
fn nesterov_momentum_as_pytorch() {
    // Step g + 0.9 v: 2 + 1.8 = 3.8. Then g = 2 (0.62 - 0.38) = 0.48, v = 1.8 + 0.48 = 2.28,
    // step 0.48 + 2.052 = 2.532.
    assert_close(
        &trajectory(momentum(true, 0.0), Schedule::Constant, 2),
        &[(0.62, -0.38), (0.62 - 0.2532, -0.38 - 0.2532)],
    );
}

#[test]
fn sgd_with_weight_decay_adds_it_to_the_gradient() {
    // w: g = 2 + 0.5 * 1 = 2.5 -> 0.75; b: g = 2 + 0.5 * 0 = 2 -> -0.2.
    let sgd = Optimizer::Sgd {
        lr: 0.1,
        weight_decay: 0.5,
    };
    assert_close(&trajectory(sgd, Schedule::Constant, 1), &[(0.75, -0.2)]);
}

/// Adam's two steps as Kingma & Ba write them, with AdamW's decoupled decay
/// `w <- w - lr wd w` taken before the step (Loshchilov & Hutter; PyTorch's AdamW).
fn adam_by_hand(weight_decay: f64) -> Vec<(f64, f64)> {
    let (lr, b1, b2, eps) = (0.1, 0.9, 0.999, 1e-8);
    let (mut w, mut b) = (1.0_f64, 0.0_f64);
    let (mut m, mut v) = ([0.0_f64; 2], [0.0_f64; 2]);
    let mut out = Vec::new();
    for t in 1..=2 {
        let g = 2.0 * (w + b);
        let params = [&mut w, &mut b];
        for (i, p) in params.into_iter().enumerate() {
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let m_hat = m[i] / (1.0 - b1.powi(t));
            let v_hat = v[i] / (1.0 - b2.powi(t));
            *p -= lr * weight_decay * *p;
            *p -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        out.push((w, b));
    }
    out
}

#[test]
fn adam_with_bias_correction() {
    let adam = Optimizer::adam(0.1);
    let found = trajectory(adam, Schedule::Constant, 2);
    // With bias correction the first step moves each parameter by lr (sign of g).
    assert!((found[0].0 - 0.9).abs() < 1e-8 && (found[0].1 + 0.1).abs() < 1e-8);
    assert_close(&found, &adam_by_hand(0.0));
}

#[test]
fn adamw_decays_decoupled_from_the_gradient() {
    let adamw = Optimizer::Adam {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.2,
    };
    let found = trajectory(adamw, Schedule::Constant, 2);
    // First step: w = 1 (1 - 0.02) - 0.1, not 1 (1 + 0.02) - 0.1.
    assert!((found[0].0 - 0.88).abs() < 1e-8, "{found:?}");
    assert_close(&found, &adam_by_hand(0.2));
}

#[test]
fn schedules_scale_the_learning_rate_as_documented() {
    let step = Schedule::Step {
        every: 2,
        gamma: 0.5,
    };
    let factors: Vec<f64> = (0..5).map(|t| step.factor(t)).collect();
    assert_eq!(factors, [1.0, 1.0, 0.5, 0.5, 0.25]);
    let cosine = Schedule::Cosine {
        total: 10,
        min_factor: 0.1,
    };
    assert_eq!(cosine.factor(0), 1.0);
    assert!((cosine.factor(5) - 0.55).abs() < 1e-15);
    assert!((cosine.factor(10) - 0.1).abs() < 1e-15);
    // Past the end it stays at the floor instead of rising again with the cosine.
    assert!((cosine.factor(20) - 0.1).abs() < 1e-15);
    // Through the trainer: SGD at lr 0.1 x 0.5 from the third step on.
    let sgd = Optimizer::sgd(0.1);
    let found = trajectory(sgd, step, 3);
    // g = 2: (0.8, -0.2); g = 1.2: (0.68, -0.32); g = 0.72 at half rate: -0.036 each.
    assert_close(&found, &[(0.8, -0.2), (0.68, -0.32), (0.644, -0.356)]);
}
