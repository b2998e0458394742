//! The seed blog's own example, as shipped in `docs/experiments/circles.toml`: two
//! concentric circles, 2 -> 10 -> 5 -> 1 ReLU with a sigmoid output. All-zeros keeps every
//! unit identical, no weight gets a gradient, and the loss stays at ln 2 with accuracy one
//! half; Xavier and He learn the circles.

mod common;

use common::{run_experiment, scratch, stdout_of_success};
use initlab_bench::experiment::RunResult;

#[test]
fn the_blogs_circles_pin_zeros_at_ln_2_and_he_learns_them() {
    let dir = scratch("circles");
    // The shipped file, with the per-layer diagnostics after every epoch asked for.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/experiments/circles.toml");
    let text = std::fs::read_to_string(shipped).unwrap();
    assert!(text.contains("[train]\n"));
    let config = dir.join("circles.toml");
    std::fs::write(
        &config,
        text.replace("[train]\n", "[train]\ndiagnose_epochs = true\n"),
    )
    .unwrap();
    let out = dir.join("out");
    stdout_of_success(run_experiment(&config, &out));
    let results: Vec<RunResult> =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let of = |init: &str| -> Vec<&RunResult> {
        results.iter().filter(|r| r.spec.init == init).collect()
    };
    assert_eq!(of("zeros").len(), 3);
    for zeros in of("zeros") {
        let seed = zeros.spec.seed;
        assert_eq!(zeros.spec.arch.hidden, [10, 5]);
        // The class balance holds on both sides of the split, so the output bias has no
        // gradient either: the loss is ln 2 at every recorded step.
        for point in &zeros.loss_curve.points {
            assert!(
                (point.train_loss - std::f64::consts::LN_2).abs() <= 1e-3,
                "seed {seed}, step {}: loss {}",
                point.step,
                point.train_loss
            );
        }
        // Not even the output bias moves: every step's loss is the first one, bit for bit.
        let first = zeros.loss_curve.points[0].train_loss;
        assert!(
            zeros
                .loss_curve
                .points
                .iter()
                .all(|p| p.train_loss == first)
        );
        assert_eq!(zeros.initial_accuracy, 0.5);
        assert_eq!(zeros.final_accuracy, 0.5);
        assert!(zeros.epochs.iter().all(|e| e.test_accuracy == Some(0.5)));
        let hidden = zeros.spec.arch.hidden.clone();
        assert_eq!(
            zeros.during_training.len(),
            zeros
                .spec
                .epochs
                .min(initlab_bench::experiment::PROBED_EPOCHS)
        );
        for probe in
            std::iter::once(&zeros.at_init).chain(zeros.during_training.iter().map(|d| &d.layers))
        {
            for (layer, &width) in probe.iter().zip(&hidden) {
                assert_eq!(
                    layer.duplicate_units + 1,
                    width,
                    "every unit of a layer identical"
                );
            }
            assert!(
                probe.iter().all(|l| l.weight_grad_norm == 0.0),
                "no weight gets a gradient: {probe:?}"
            );
        }
        assert!(
            zeros.verdict.starts_with("symmetric and frozen"),
            "{}",
            zeros.verdict
        );
    }
    for run in of("he_normal").into_iter().chain(of("glorot_uniform")) {
        let (init, seed) = (&run.spec.init, run.spec.seed);
        assert_eq!(run.final_accuracy, 1.0, "{init} seed {seed}");
        let last = run.loss_curve.points.last().unwrap().train_loss;
        assert!(last < 0.02, "{init} seed {seed}: final loss {last}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
