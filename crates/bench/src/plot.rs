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
    let axis = Axis::fit(series, log_y);
    let y_desc = match axis.dropped {
        0 => y_label.to_owned(),
        n => format!("{y_label}; {n} points not shown (zero, negative or not finite)"),
    };
    {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
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
                    .y_desc(&y_desc)
                    .label_style((FONT, 16))
                    .x_label_formatter(&|x| {
                        if (x - x.round()).abs() < 1e-9 {
                            format!("{x:.0}")
                        } else {
                            String::new()
                        }
                    })
                    .y_label_formatter(&|y| {
                        if !log_y {
                            format!("{y:.2}")
                        } else if (y - y.round()).abs() < 1e-9 {
                            format!("1e{}", y.round())
                        } else {
                            format!("{:.1e}", 10f64.powf(*y))
                        }
                    })
                    .draw()
                    .map_err(|e| failed(&e))?;
                for (label, data, mark, color_index) in series {
                    let color = palette(*color_index);
                    let data: Vec<(f64, f64)> = data
                        .iter()
                        .filter_map(|&(x, y)| axis.place(y).map(|y| (x, y)))
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
        body!(
            chart
                .build_cartesian_2d(0.0..axis.x_max, axis.y_min..axis.y_max)
                .map_err(|e| failed(&e))?
        );
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(())
}

/// The plotted range. A log axis is drawn as a linear axis over `log10(y)`, so any range
/// of finite positive values draws in bounded time: plotters' own log scale loops over
/// every decade and hangs once a range spans ~1e308 or reaches subnormals.
#[derive(Debug, Clone, Copy)]
struct Axis {
    log: bool,
    x_max: f64,
    y_min: f64,
    y_max: f64,
    /// Points that cannot be placed on the axis.
    dropped: usize,
}

/// Past this magnitude a linear axis's range would overflow.
const LINEAR_LIMIT: f64 = 1e300;

impl Axis {
    fn fit(series: &[Series], log: bool) -> Self {
        let mut axis = Axis {
            log,
            x_max: 1.0,
            y_min: f64::INFINITY,
            y_max: f64::NEG_INFINITY,
            dropped: 0,
        };
        for &(x, y) in series.iter().flat_map(|(_, p, _, _)| p.iter()) {
            match axis.place(y) {
                Some(y) if x.is_finite() => {
                    axis.x_max = axis.x_max.max(x);
                    axis.y_min = axis.y_min.min(y);
                    axis.y_max = axis.y_max.max(y);
                }
                _ => axis.dropped += 1,
            }
        }
        if axis.y_min > axis.y_max {
            (axis.y_min, axis.y_max) = if log { (-3.0, 0.0) } else { (0.0, 1.0) };
        }
        let pad = if log {
            // A factor of 2 either side, as a log axis usually has.
            2f64.log10()
        } else {
            (0.05 * (axis.y_max - axis.y_min)).max(1e-9 * axis.y_max.abs().max(1.0))
        };
        axis.y_min -= pad;
        axis.y_max += pad;
        axis
    }

    /// Where `y` goes on the axis, or `None` if it cannot be drawn.
    fn place(&self, y: f64) -> Option<f64> {
        if self.log {
            (y.is_finite() && y > 0.0).then(|| y.log10())
        } else {
            (y.abs() <= LINEAR_LIMIT).then_some(y)
        }
    }
}

/// The longest label part of a file name: with a prefix such as `activation_variance_`
/// and `.png`, it stays well below the usual 255-byte limit on a file name.
const MAX_SLUG: usize = 120;

/// File-name-safe form of a label; a long one is cut and ends in a hash of the whole, so
/// different labels keep different names.
fn slug(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if safe.len() <= MAX_SLUG {
        return safe;
    }
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}_{hash:016x}", &safe[..MAX_SLUG - 17])
}

/// Writes, for every architecture in `results`, `loss_<arch>.png` (training loss per epoch,
/// first seed of each initializer), `accuracy_<arch>.png`, and
/// `activation_variance_<arch>.png` and `gradient_variance_<arch>.png` (per layer at
/// init). Returns the files written.
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
        let seed = of_arch[0].spec.seed;
        let path = dir.join(format!("loss_{}.png", slug(&label)));
        draw(
            &path,
            &format!("Training loss, {label} (seed {seed})"),
            "epoch",
            "mean training loss (log)",
            true,
            &curve(&|m| Some(m.train_loss)),
        )?;
        written.push(path);
        let path = dir.join(format!("accuracy_{}.png", slug(&label)));
        draw(
            &path,
            &format!("Test accuracy, {label} (seed {seed})"),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Values that hung plotters' log scale (a range past 1e308, subnormals) or cannot be
    /// drawn at all (zero, negative, NaN, infinite) are placed or dropped in bounded time.
    #[test]
    fn any_data_draws() {
        let hostile = vec![
            (1.0, f64::MIN_POSITIVE / 1e10),
            (2.0, 5e-324),
            (3.0, 0.0),
            (4.0, -1.0),
            (5.0, f64::NAN),
            (6.0, f64::INFINITY),
            (7.0, f64::MAX),
            (8.0, 1.0),
        ];
        let dir = std::env::temp_dir().join(format!("initlab-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (log_y, drawable) in [(true, 4), (false, 5)] {
            let series = vec![
                (
                    "hostile".to_owned(),
                    hostile.clone(),
                    Mark::LineAndPoints,
                    0,
                ),
                ("empty".to_owned(), Vec::new(), Mark::Line, 1),
            ];
            let axis = Axis::fit(&series, log_y);
            assert_eq!(axis.dropped, hostile.len() - drawable, "log {log_y}");
            assert!(axis.y_min.is_finite() && axis.y_max.is_finite() && axis.y_min < axis.y_max);
            let path = dir.join(format!("hostile_{log_y}.png"));
            draw(&path, "hostile", "x", "y", log_y, &series).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 0);
        }
        let only_nan = vec![("nan".to_owned(), vec![(1.0, f64::NAN)], Mark::Points, 0)];
        draw(&dir.join("nan.png"), "nan", "x", "y", true, &only_nan).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn long_labels_make_file_names_within_the_limit() {
        let long = "leaky_relu(0.1)".repeat(40);
        let name = slug(&long);
        assert!(name.len() <= MAX_SLUG, "{}", name.len());
        assert_ne!(slug(&long), slug(&"leaky_relu(0.2)".repeat(40)));
        assert_eq!(slug("relu 10x256"), "relu_10x256");
    }
}
