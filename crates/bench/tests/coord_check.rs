//! The coordinate check on the bundled digits at test size: under μP every layer's
//! activation size is flat in width, under the standard parametrization with Adam the
//! logits grow; each layer's own first update and its variance at init have the slopes in
//! width that the scaling argument predicts, under both parametrizations.

use initlab_bench::coord_check::{CoordCheckConfig, CoordCheckReport, FLAT, Shape, Slope, run};
use initlab_bench::data::{Dataset, Labels};
use initlab_nn::net::Norm;
use initlab_nn::{Activation, Optimizer};

/// The check at test size: widths 32 to 1024 (slopes over 256–1024), three Adam steps at
/// lr 0.01 on batches of 32 digits, three seeds.
fn check(shape: Shape) -> CoordCheckReport {
    let mut data = Dataset::idx_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-10k"),
    )
    .unwrap();
    data.standardize();
    let Labels::Classes(labels) = &data.train_y else {
        unreachable!("MNIST has classes")
    };
    let config = CoordCheckConfig {
        widths: vec![32, 64, 128, 256, 512, 1024],
        shape,
        activation: Activation::Relu,
        optimizer: Optimizer::adam(0.01),
        steps: 3,
        batch: 32,
        seeds: vec![0, 1, 2],
        kernel: initlab_gemm::Kernel::OPENBLAS,
    };
    run(
        data.train_x.view(),
        labels,
        data.outputs,
        &config,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap()
}

#[test]
fn mup_is_flat_in_width_and_standard_grows() {
    let report = check(Shape::Plain {
        depth: 2,
        norm: None,
    });
    assert_eq!(report.coords.len(), 2 * 6 * 3 * 3 * 3);
    for slope in &report.slopes {
        // Flat within the band and four standard errors of the seeds' spread.
        let tolerance = FLAT + 4.0 * slope.standard_error;
        if slope.parametrization == "mup" {
            assert!(
                slope.slope.abs() < tolerance,
                "μP layer {} step {}: slope {:.3} ± {:.3}",
                slope.layer,
                slope.step,
                slope.slope,
                slope.standard_error
            );
            assert_eq!(slope.predicted, Some(0.0));
        }
    }
    let logits = report
        .slopes
        .iter()
        .find(|s| s.parametrization == "standard" && s.step == 1 && s.layer == 3)
        .unwrap();
    assert!(
        logits.slope > FLAT + 4.0 * logits.standard_error,
        "standard logits after one Adam step: slope {:.3} ± {:.3}",
        logits.slope,
        logits.standard_error
    );
    // The first step's relative update: flat under μP for the hidden layers, growing as
    // sqrt(width) for its logits (they start at 1/sqrt(width)); growing under the standard
    // parametrization from the second layer on.
    for slope in &report.update_slopes {
        let tolerance = FLAT + 4.0 * slope.standard_error;
        let predicted = slope.predicted.unwrap_or(f64::NAN);
        match slope.parametrization {
            "mup" => assert!(
                (slope.slope - predicted).abs() < tolerance,
                "μP update, layer {}: {:.3} ± {:.3} vs {predicted}",
                slope.layer,
                slope.slope,
                slope.standard_error
            ),
            _ if slope.layer >= 2 => assert!(
                slope.slope > tolerance,
                "standard update, layer {}: {:.3} ± {:.3}",
                slope.layer,
                slope.slope,
                slope.standard_error
            ),
            _ => {}
        }
    }
    // Each layer's own first update and its second moment at init follow the scaling
    // argument under both parametrizations.
    for slope in report
        .weight_update_slopes
        .iter()
        .chain(&report.second_moment_slopes)
    {
        let predicted = slope
            .predicted
            .expect("predicted for both parametrizations");
        assert!(
            (slope.slope - predicted).abs() < FLAT + 4.0 * slope.standard_error,
            "{} layer {} step {}: {:.3} ± {:.3} vs {predicted}",
            slope.parametrization,
            slope.layer,
            slope.step,
            slope.slope,
            slope.standard_error
        );
    }
    assert_eq!(report.weight_updates.len(), 2 * 6 * 3 * 3);
    let text = report.markdown();
    assert!(
        text.contains("| logits |") && text.contains("over widths [256, 512, 1024]"),
        "{text}"
    );
}

/// `slope` within the flat band and four of its standard errors of `expected`.
fn near(slope: &Slope, expected: f64) -> bool {
    (slope.slope - expected).abs() < FLAT + 4.0 * slope.standard_error
}

#[test]
fn mup_keeps_a_residual_layernorm_net_flat_in_width() {
    let report = check(Shape::Residual {
        blocks: 3,
        norm: Some(Norm::Layer),
    });
    assert_eq!(
        report.stage_names(),
        [
            "stem",
            "block 1",
            "block 2",
            "block 3, normalized",
            "logits"
        ]
    );
    assert_eq!(report.dense_names().len(), 1 + 3 * 2 + 1);
    assert_eq!(report.coords.len(), 2 * 6 * 3 * 3 * 5);
    // Under μP every stage, the residual stream and the logits, is flat at every step.
    for slope in report.slopes.iter().filter(|s| s.parametrization == "mup") {
        assert_eq!(slope.predicted, Some(0.0));
        assert!(
            near(slope, 0.0),
            "μP stage {} step {}: slope {:.3} ± {:.3}",
            slope.layer,
            slope.step,
            slope.slope,
            slope.standard_error
        );
    }
    // Under the standard parametrization Adam's steps make the stream grow with width
    // from the first block on.
    for block in [2, 3] {
        let slope = report
            .slopes
            .iter()
            .find(|s| s.parametrization == "standard" && s.step == 3 && s.layer == block)
            .unwrap();
        assert!(
            slope.slope > FLAT + 4.0 * slope.standard_error,
            "standard stage {block} after three Adam steps: slope {:.3} ± {:.3}",
            slope.slope,
            slope.standard_error
        );
    }
    // μP's first step moves each stage by a width-independent fraction (the logits, which
    // start at 1/sqrt(width), as sqrt(width)); every dense layer's own update and its
    // second moment at init follow the scaling argument, under both parametrizations.
    let mup_updates = report
        .update_slopes
        .iter()
        .filter(|s| s.parametrization == "mup");
    for slope in mup_updates
        .chain(&report.weight_update_slopes)
        .chain(&report.second_moment_slopes)
    {
        let predicted = slope.predicted.expect("predicted under Adam");
        assert!(
            near(slope, predicted),
            "{} layer {}: {:.3} ± {:.3} vs {predicted}",
            slope.parametrization,
            slope.layer,
            slope.slope,
            slope.standard_error
        );
    }
    let text = report.markdown();
    assert!(
        text.contains("| stage | standard |") && text.contains("| block 2.2 |"),
        "{text}"
    );
}
