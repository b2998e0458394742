//! The coordinate check on the bundled digits at test size: under μP every layer's
//! activation size is flat in width, under the standard parametrization with Adam the
//! logits grow; each layer's own first update and its variance at init have the slopes in
//! width that the scaling argument predicts, under both parametrizations.

use bench::coord_check::{CoordCheckConfig, FLAT, run};
use bench::data::{Dataset, Labels};
use nn::{Activation, Optimizer};

#[test]
fn mup_is_flat_in_width_and_standard_grows() {
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
        depth: 2,
        activation: Activation::Relu,
        optimizer: Optimizer::adam(0.01),
        steps: 3,
        batch: 32,
        seeds: vec![0, 1, 2],
    };
    let report = run(
        data.train_x.view(),
        labels,
        data.outputs,
        &config,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
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
