//! PNG figures: loss and accuracy curves per initializer, and per-layer signal at init.
//! Text uses DejaVu Sans compiled into the binary, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::BenchError;
use crate::experiment::RunResult;
use crate::report::groups;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 620);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let registered =
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        assert!(
            registered.is_ok(),
            "the bundled DejaVu Sans is a valid font"
        );
    });
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// A line with a dot on every point.
    LineAndPoints,
    /// A line only (predictions).
    Line,
    /// Dots only (measurements).
    Points,
}

/// A series: label, `(x, y)` points, how to draw them and the palette index.
type Series = (String, Vec<(f64, f64)>, Mark, usize);

/// Draws lines (and points) with a logarithmic or linear y axis into a PNG.
fn draw(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_y: bool,
    series: &[Series],
) -> Result<(), BenchError> {
    // Rising curves (accuracy) end top right, so their legend goes below them.
    let legend = if log_y {
        SeriesLabelPosition::UpperRight
    } else {
        SeriesLabelPosition::LowerRight
    };
    register_font();
    let failed = |e: &dyn std::fmt::Display| BenchError::Plot {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let points = || {
        series
            .iter()
            .flat_map(|(_, p, _, _)| p.iter())
            .filter(|(_, y)| y.is_finite() && (!log_y || *y > 0.0))
    };
    let (x_max, mut y_min, mut y_max) = points().fold(
        (1.0_f64, f64::INFINITY, f64::NEG_INFINITY),
        |(xm, lo, hi), &(x, y)| (xm.max(x), lo.min(y), hi.max(y)),
    );
    if !y_min.is_finite() {
        (y_min, y_max) = (1e-3, 1.0);
    }
    if y_max <= y_min {
        y_max = y_min * 2.0 + 1e-12;
    }
    let temporary = path.with_extension("partial.png");
    {
        let root = BitMapBackend::new(&temporary, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root);
        chart
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80);
        let palette = |i: usize| Palette99::pick(i).to_rgba();
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x_label)
                    .y_desc(y_label)
                    .label_style((FONT, 16))
                    .x_label_formatter(&|x| {
                        if (x - x.round()).abs() < 1e-9 {
                            format!("{x:.0}")
                        } else {
                            String::new()
                        }
                    })
                    .y_label_formatter(&|y| {
                        if log_y {
                            format!("{y:.0e}")
                        } else {
                            format!("{y:.2}")
                        }
                    })
                    .draw()
                    .map_err(|e| failed(&e))?;
                for (label, data, mark, color_index) in series {
                    let color = palette(*color_index);
                    let data: Vec<(f64, f64)> = data
                        .iter()
                        .copied()
                        .filter(|(_, y)| y.is_finite() && (!log_y || *y > 0.0))
                        .collect();
                    if *mark != Mark::Points {
                        chart
                            .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))
                            .map_err(|e| failed(&e))?
                            .label(label.as_str())
                            .legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                            });
                    }
                    if *mark != Mark::Line {
                        let dots = chart
                            .draw_series(data.iter().map(|&p| Circle::new(p, 4, color.filled())))
                            .map_err(|e| failed(&e))?;
                        if *mark == Mark::Points {
                            dots.label(label.as_str())
                                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
                        }
                    }
                }
                chart
                    .configure_series_labels()
                    .label_font((FONT, 15))
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(legend)
                    .draw()
                    .map_err(|e| failed(&e))?;
            }};
        }
        if log_y {
            body!(
                chart
                    .build_cartesian_2d(0.0..x_max, (y_min * 0.5..y_max * 2.0).log_scale())
                    .map_err(|e| failed(&e))?
            );
        } else {
            let pad = 0.05 * (y_max - y_min);
            body!(
                chart
                    .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))
                    .map_err(|e| failed(&e))?
            );
        }
        root.present().map_err(|e| failed(&e))?;
    }
    std::fs::rename(&temporary, path).map_err(BenchError::io(path))
}

/// File-name-safe form of a label.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Writes, for every architecture in `results`, `loss_<arch>.png` (training loss per epoch,
/// seed 0 of each initializer), `accuracy_<arch>.png` and `signal_<arch>.png`
/// (per-layer activation and gradient variance at init). Returns the files written.
///
/// # Errors
/// A file that cannot be written or a drawing failure.
pub fn write_plots(
    dir: &Path,
    results: &[RunResult],
) -> Result<Vec<std::path::PathBuf>, BenchError> {
    std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    let mut written = Vec::new();
    let groups = groups(results);
    let mut archs: Vec<_> = groups.iter().map(|g| g.runs[0].spec.arch).collect();
    archs.dedup();
    for arch in archs {
        let label = arch.label();
        let of_arch: Vec<_> = groups
            .iter()
            .filter(|g| g.runs[0].spec.arch == arch)
            .map(|g| g.runs[0])
            .collect();
        let curve = |f: &dyn Fn(&crate::experiment::EpochMetrics) -> Option<f64>| -> Vec<Series> {
            of_arch
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let points = r
                        .epochs
                        .iter()
                        .enumerate()
                        .filter_map(|(e, m)| f(m).map(|v| ((e + 1) as f64, v)))
                        .collect();
                    (r.spec.init.clone(), points, Mark::LineAndPoints, i)
                })
                .collect()
        };
        let path = dir.join(format!("loss_{}.png", slug(&label)));
        draw(
            &path,
            &format!("Training loss, {label} (seed 0)"),
            "epoch",
            "mean training loss (log)",
            true,
            &curve(&|m| Some(m.train_loss)),
        )?;
        written.push(path);
        let path = dir.join(format!("accuracy_{}.png", slug(&label)));
        draw(
            &path,
            &format!("Test accuracy, {label} (seed 0)"),
            "epoch",
            "test accuracy",
            false,
            &curve(&|m| m.test_accuracy),
        )?;
        written.push(path);
        let layers = |f: &dyn Fn(&nn::LayerDiagnostics) -> f64| -> Vec<Series> {
            of_arch
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let hidden = &r.at_init[..r.at_init.len() - 1];
                    let points = hidden
                        .iter()
                        .enumerate()
                        .map(|(l, d)| ((l + 1) as f64, f(d)))
                        .collect();
                    (r.spec.init.clone(), points, Mark::LineAndPoints, i)
                })
                .collect()
        };
        let path = dir.join(format!("activation_variance_{}.png", slug(&label)));
        let title = format!("Pre-activation variance by layer at init, {label}");
        draw(
            &path,
            &title,
            "hidden layer",
            "variance of x W^T + b (log)",
            true,
            &layers(&|d| d.pre_std * d.pre_std),
        )?;
        written.push(path);
        let path = dir.join(format!("gradient_variance_{}.png", slug(&label)));
        let title = format!("Backpropagated gradient variance by layer at init, {label}");
        draw(
            &path,
            &title,
            "hidden layer",
            "variance of dL/dz (log)",
            true,
            &layers(&|d| d.backprop_grad_std * d.backprop_grad_std),
        )?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `signal_<activation>.png`: pre-activation variance against depth on a log axis,
/// predicted as lines and measured as dots, one color per initializer; and
/// `signal_gradient_<activation>.png` the same for the backpropagated gradient.
///
/// # Errors
/// A file that cannot be written or a drawing failure.
pub fn write_signal_plots(
    dir: &Path,
    report: &crate::signal::SignalReport,
) -> Result<Vec<std::path::PathBuf>, BenchError> {
    std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    let mut written = Vec::new();
    type Pick = fn(&crate::signal::LayerSignal) -> (f64, f64);
    let quantities: [(&str, &str, Pick); 2] = [
        ("signal", "pre-activation variance (log)", |l| {
            (l.predicted_variance, l.measured_variance)
        }),
        ("signal_gradient", "variance of dL/dz (log)", |l| {
            (l.predicted_gradient, l.measured_gradient)
        }),
    ];
    for (stem, y_label, pick) in quantities {
        let mut series = Vec::new();
        for (i, init) in report.inits.iter().enumerate() {
            let at = |measured: bool| -> Vec<(f64, f64)> {
                init.layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| {
                        let (p, m) = pick(layer);
                        ((l + 1) as f64, if measured { m } else { p })
                    })
                    .collect()
            };
            series.push((format!("{} predicted", init.init), at(false), Mark::Line, i));
            series.push((format!("{} measured", init.init), at(true), Mark::Points, i));
        }
        let path = dir.join(format!("{stem}_{}.png", slug(&report.activation)));
        let title = format!(
            "{} x {} {} at init: mean-field prediction (lines) and measurement (dots)",
            report.depth, report.width, report.activation
        );
        draw(&path, &title, "hidden layer", y_label, true, &series)?;
        written.push(path);
    }
    Ok(written)
}
