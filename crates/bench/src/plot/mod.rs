//! Figures: training curves per step and per-layer signal at initialization. A figure is
//! described once ([`Figure`]) and rendered to inline SVG for the HTML report and, as
//! [`Pngs`] chooses, to a PNG file, so both show the same data. Text uses DejaVu Sans
//! compiled into the binary, so no system font is needed.
//!
//! Drawing choices, for readers who cannot tell colours apart and for many series:
//! colours from the Okabe–Ito palette (without its yellow, which vanishes on white) paired
//! with one of four marker shapes, so 36 series differ in colour or shape; dashed lines
//! for groups whose runs mostly failed; the legend beside the data, never over it; series
//! that end at the same value are named in a note; and values a log axis cannot show
//! (zero, negative) sit on the floor of the axis as ▼ with a note, instead of vanishing.

mod axis;
mod figure;
mod pngs;
mod series;

use std::path::{Path, PathBuf};

pub use figure::{Figure, register_font};
pub use pngs::Pngs;
use series::{Band, Mark, Series};

use crate::BenchError;
use crate::experiment::{Outcome, RunResult};
use crate::report::{Group, groups};

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

/// Mean over a group's seeds at every x any seed has, and the min–max band. Seeds that
/// stopped early (diverged) leave the mean to the ones still running.
fn across_seeds(
    group: &Group<'_>,
    points: &dyn Fn(&RunResult) -> Vec<(f64, f64)>,
) -> (Vec<(f64, f64)>, Band) {
    let mut all: Vec<(f64, f64)> = group.runs.iter().flat_map(|r| points(r)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut mean = Vec::new();
    let mut band = Vec::new();
    for chunk in all.chunk_by(|a, b| a.0 == b.0) {
        let x = chunk[0].0;
        let n = chunk.len() as f64;
        mean.push((x, chunk.iter().map(|p| p.1).sum::<f64>() / n));
        if group.runs.len() > 1 {
            let lo = chunk.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = chunk.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            band.push((x, lo, hi));
        }
    }
    (mean, band)
}

/// The legend's note on what a line and its band are over `seeds` seeds.
fn over_seeds_note(seeds: usize) -> String {
    if seeds > 1 {
        format!("line: mean over {seeds} seeds; band: their range.")
    } else {
        "one seed.".to_owned()
    }
}

/// `init: diverged (NaN or inf) in 3/3 seeds, first at step 1; its line ends there.`
fn diverged_note(group: &Group<'_>) -> Option<String> {
    let steps: Vec<u64> = group
        .runs
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::Diverged { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    let first = steps.iter().min()?;
    Some(format!(
        "{}: diverged (NaN or inf) in {}/{} seeds, first at step {first}; its line ends there.",
        group.runs[0].spec.init,
        steps.len(),
        group.runs.len()
    ))
}

/// Whether most of a group's runs failed (stalled, collapsed or diverged).
fn mostly_failed(group: &Group<'_>) -> bool {
    let converged = group
        .runs
        .iter()
        .filter(|r| r.outcome == Outcome::Converged)
        .count();
    2 * converged < group.runs.len()
}

/// The figures of a set of results, for every architecture: `loss_<arch>` (training loss
/// per step from initialization on), `accuracy_<arch>` (test accuracy at initialization
/// and after every epoch), and `activation_variance_<arch>` and `gradient_variance_<arch>`
/// (per layer at init). Each line is the mean over seeds, with their min–max as a band.
pub fn result_figures(results: &[RunResult]) -> Vec<Figure> {
    let groups = groups(results);
    let sweep = crate::report::is_sweep(results);
    // Each architecture once, in order of first appearance (a sweep interleaves them).
    let mut archs: Vec<crate::experiment::Arch> = Vec::new();
    for g in &groups {
        if !archs.contains(&g.runs[0].spec.arch) {
            archs.push(g.runs[0].spec.arch.clone());
        }
    }
    let mut figures = Vec::new();
    for arch in archs {
        let label = arch.label();
        let of_arch: Vec<&Group<'_>> = groups
            .iter()
            .filter(|g| g.runs[0].spec.arch == arch)
            .collect();
        let seeds = of_arch.iter().map(|g| g.runs.len()).max().unwrap_or(1);
        let over_seeds = over_seeds_note(seeds);
        let series = |points: &dyn Fn(&RunResult) -> Vec<(f64, f64)>| -> Vec<Series> {
            of_arch
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let (points, band) = across_seeds(g, points);
                    Series {
                        label: crate::report::group_name(&g.runs[0].spec, sweep),
                        points,
                        band,
                        mark: Mark::LineAndPoints,
                        dashed: mostly_failed(g),
                        style: i,
                    }
                })
                .collect()
        };
        let failed_note = "dashed: most seeds stalled, collapsed or diverged.".to_owned();
        let diverged: Vec<String> = of_arch.iter().filter_map(|g| diverged_note(g)).collect();
        let every = of_arch
            .iter()
            .flat_map(|g| &g.runs)
            .map(|r| r.loss_curve.every)
            .max()
            .unwrap_or(1);
        let mut loss = Figure {
            stem: format!("loss_{}", slug(&label)),
            title: format!("Training loss per step, {label}"),
            x_label: "optimizer step".into(),
            y_label: "training loss (log)".into(),
            y_unit: "",
            log_y: true,
            series: series(&|r| {
                r.loss_curve
                    .points
                    .iter()
                    .map(|p| (p.step as f64, p.train_loss))
                    .collect()
            }),
            legend_notes: vec![
                over_seeds.clone(),
                failed_note.clone(),
                if every == 1 {
                    "each step's mini-batch loss before its update; step 0: at init.".to_owned()
                } else {
                    format!(
                        "step 0: the first mini-batch's loss at init; then the mean mini-batch loss of every {every} steps."
                    )
                },
            ],
        };
        loss.legend_notes.extend(diverged.iter().cloned());
        if loss.series.iter().all(|s| s.points.len() <= 1) {
            loss.legend_notes.push("no steps recorded.".into());
        }
        figures.push(loss);
        figures.push(Figure {
            stem: format!("accuracy_{}", slug(&label)),
            title: format!("Test accuracy, {label}"),
            x_label: "optimizer step".into(),
            y_label: "test accuracy (%)".into(),
            y_unit: "%",
            log_y: false,
            series: series(&|r| {
                std::iter::once((0.0, r.initial_accuracy))
                    .chain(
                        r.epochs
                            .iter()
                            .map(|e| (e.step as f64, e.test_accuracy.unwrap_or(f64::NAN))),
                    )
                    .map(|(x, a)| (x, 100.0 * a))
                    .collect()
            }),
            legend_notes: vec![
                over_seeds.clone(),
                failed_note,
                "at initialization (step 0) and after every epoch.".into(),
            ],
        });
        let layers = |f: fn(&initlab_nn::LayerDiagnostics) -> f64| {
            move |r: &RunResult| -> Vec<(f64, f64)> {
                let hidden = &r.at_init[..r.at_init.len().saturating_sub(1)];
                hidden
                    .iter()
                    .enumerate()
                    .map(|(l, d)| ((l + 1) as f64, f(d)))
                    .collect()
            }
        };
        let mut per_layer =
            |stem: &str,
             title: &str,
             y_label: &str,
             f: fn(&initlab_nn::LayerDiagnostics) -> f64| {
                let mut series = series(&layers(f));
                for s in &mut series {
                    s.dashed = false;
                }
                figures.push(Figure {
                    stem: format!("{stem}_{}", slug(&label)),
                    title: format!("{title} by layer at init, {label}"),
                    x_label: "hidden layer".into(),
                    y_label: y_label.into(),
                    y_unit: "",
                    log_y: true,
                    series,
                    legend_notes: vec![over_seeds.clone()],
                });
            };
        per_layer(
            "activation_variance",
            "Pre-activation variance",
            "variance of x W^T + b (log)",
            |d| d.pre_std * d.pre_std,
        );
        per_layer(
            "gradient_variance",
            "Backpropagated gradient variance",
            "variance of dL/dz (log)",
            |d| d.backprop_grad_std * d.backprop_grad_std,
        );
    }
    figures.extend(depth_figures(results));
    figures.extend(lr_transfer_figures(results));
    figures
}

/// For plain networks that differ only in depth (every hidden layer as wide, no residual
/// blocks), the final test accuracy against the number of hidden layers, one line per
/// initializer (`accuracy_by_depth_<network>`): the mean over seeds with their range as a
/// band. None where no two networks differ only in depth.
pub fn depth_figures(results: &[RunResult]) -> Vec<Figure> {
    let groups = groups(results);
    let sweep = crate::report::is_sweep(results);
    let uniform = |arch: &crate::experiment::Arch| {
        arch.residual.is_none() && arch.hidden.iter().all(|&w| w == arch.hidden[0])
    };
    // An architecture with its depth taken out.
    let family = |arch: &crate::experiment::Arch| crate::experiment::Arch {
        hidden: vec![arch.hidden[0]],
        ..arch.clone()
    };
    let mut families: Vec<crate::experiment::Arch> = Vec::new();
    for g in &groups {
        let arch = &g.runs[0].spec.arch;
        if uniform(arch) && !families.contains(&family(arch)) {
            families.push(family(arch));
        }
    }
    let mut figures = Vec::new();
    for base in families {
        let mine: Vec<&Group<'_>> = groups
            .iter()
            .filter(|g| uniform(&g.runs[0].spec.arch) && family(&g.runs[0].spec.arch) == base)
            .collect();
        let mut depths: Vec<usize> = mine
            .iter()
            .map(|g| g.runs[0].spec.arch.hidden.len())
            .collect();
        depths.sort_unstable();
        depths.dedup();
        if depths.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        for g in &mine {
            let name = crate::report::group_name(&g.runs[0].spec, sweep);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let series = names
            .iter()
            .enumerate()
            .map(|(style, name)| {
                let mut rows: Vec<(f64, f64, f64, f64)> = mine
                    .iter()
                    .filter(|g| crate::report::group_name(&g.runs[0].spec, sweep) == *name)
                    .map(|g| {
                        let accuracies = g.runs.iter().map(|r| 100.0 * r.final_accuracy);
                        let (lo, hi) = accuracies
                            .clone()
                            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), a| {
                                (lo.min(a), hi.max(a))
                            });
                        let depth = g.runs[0].spec.arch.hidden.len() as f64;
                        (depth, 100.0 * g.accuracy().0, lo, hi)
                    })
                    .collect();
                rows.sort_by(|a, b| a.0.total_cmp(&b.0));
                let several = mine.iter().any(|g| g.runs.len() > 1);
                Series {
                    label: name.clone(),
                    points: rows.iter().map(|r| (r.0, r.1)).collect(),
                    band: if several {
                        rows.iter().map(|r| (r.0, r.2, r.3)).collect()
                    } else {
                        Vec::new()
                    },
                    mark: Mark::LineAndPoints,
                    dashed: false,
                    style,
                }
            })
            .collect();
        let width = base.hidden[0];
        let label = base
            .label()
            .replacen(&format!(" 1x{width}"), &format!(" Lx{width}"), 1);
        let seeds = mine.iter().map(|g| g.runs.len()).max().unwrap_or(1);
        figures.push(Figure {
            stem: format!("accuracy_by_depth_{}", slug(&label)),
            title: format!("Final test accuracy against depth L, {label}"),
            x_label: "hidden layers L".into(),
            y_label: "final test accuracy (%)".into(),
            y_unit: "%",
            log_y: false,
            series,
            legend_notes: vec![over_seeds_note(seeds)],
        });
    }
    figures
}

/// For a sweep of learning rates, per parametrization and initializer, the final training
/// loss (mean over seeds) against log2 of the learning rate, one line per network
/// (`lr_transfer_<parametrization>_<init>`); none without a sweep. Diverged learning
/// rates are left out of their line.
pub fn lr_transfer_figures(results: &[RunResult]) -> Vec<Figure> {
    let lrs: Vec<f64> = results.iter().map(|r| r.spec.optimizer.lr()).collect();
    if lrs.iter().all(|&lr| lr == lrs[0]) {
        return Vec::new();
    }
    let groups = groups(results);
    let mut keys: Vec<(Option<usize>, String)> = Vec::new();
    for g in &groups {
        let key = (g.runs[0].spec.mup_base, g.runs[0].spec.init.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(mup_base, init)| {
            let mine: Vec<&Group<'_>> = groups
                .iter()
                .filter(|g| g.runs[0].spec.mup_base == mup_base && g.runs[0].spec.init == init)
                .collect();
            let mut archs: Vec<crate::experiment::Arch> = Vec::new();
            for g in &mine {
                if !archs.contains(&g.runs[0].spec.arch) {
                    archs.push(g.runs[0].spec.arch.clone());
                }
            }
            let series = archs
                .iter()
                .enumerate()
                .map(|(i, arch)| {
                    let mut points: Vec<(f64, f64)> = mine
                        .iter()
                        .filter(|g| g.runs[0].spec.arch == *arch)
                        .map(|g| {
                            (
                                g.runs[0].spec.optimizer.lr().log2(),
                                crate::report::final_loss(g),
                            )
                        })
                        .filter(|(_, loss)| loss.is_finite())
                        .collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series {
                        label: arch.label(),
                        points,
                        band: Vec::new(),
                        mark: Mark::LineAndPoints,
                        dashed: false,
                        style: i,
                    }
                })
                .collect();
            let name = mine[0].runs[0].spec.parametrization_name();
            Figure {
                stem: format!("lr_transfer_{}_{}", slug(&name), slug(&init)),
                title: format!("Final training loss against learning rate, {name}, {init}"),
                x_label: "log2 learning rate".into(),
                y_label: "final training loss (log)".into(),
                y_unit: "",
                log_y: true,
                series,
                legend_notes: vec![
                    "mean over seeds of the last epoch's loss; diverged learning rates left out."
                        .into(),
                ],
            }
        })
        .collect()
}

/// The figures of a signal report: `signal_<activation>` (pre-activation variance against
/// depth, predicted as lines and measured as markers, one style per initializer) and
/// `signal_gradient_<activation>` the same for the backpropagated gradient.
pub fn signal_figures(report: &crate::signal::SignalReport) -> Vec<Figure> {
    type Pick = fn(&crate::signal::LayerSignal) -> (f64, f64);
    let quantities: [(&str, &str, &str, Pick); 2] = [
        (
            "signal",
            "pre-activation variance",
            "pre-activation variance (log)",
            |l| (l.predicted_variance, l.measured_variance),
        ),
        (
            "signal_gradient",
            "gradient variance",
            "variance of dL/dz (log)",
            |l| (l.predicted_gradient, l.measured_gradient),
        ),
    ];
    quantities
        .into_iter()
        .map(|(stem, what, y_label, pick)| {
            let mut series = Vec::new();
            for (i, init) in report.inits.iter().enumerate() {
                // NaN: a stage the prediction does not reach.
                let at = |measured: bool| -> Vec<(f64, f64)> {
                    init.layers
                        .iter()
                        .enumerate()
                        .map(|(l, layer)| {
                            let (p, m) = pick(layer);
                            ((l + 1) as f64, if measured { m } else { p })
                        })
                        .filter(|(_, v)| !v.is_nan())
                        .collect()
                };
                for (measured, mark, suffix) in [
                    (false, Mark::Line, "predicted"),
                    (true, Mark::Points, "measured"),
                ] {
                    series.push(Series {
                        label: format!("{} {suffix}", init.init),
                        points: at(measured),
                        band: Vec::new(),
                        mark,
                        dashed: false,
                        style: i,
                    });
                }
            }
            let (network, x_label) = match &report.network {
                Some(label) => (label.clone(), "stage (stem, then blocks)"),
                None => (
                    format!("{} x {} {}", report.depth, report.width, report.activation),
                    "hidden layer",
                ),
            };
            Figure {
                stem: format!("{stem}_{}", slug(&report.activation)),
                title: format!("{network} at init: {what}, mean-field prediction and measurement"),
                x_label: x_label.into(),
                y_label: y_label.into(),
                y_unit: "",
                log_y: true,
                series,
                legend_notes: vec!["lines: predicted; markers: measured.".into()],
            }
        })
        .collect()
}

/// Writes every figure as `<stem>.png` into `dir` (created if needed) and returns the
/// paths.
///
/// # Errors
/// A file that cannot be written or a drawing failure.
pub fn write_pngs(dir: &Path, figures: &[Figure]) -> Result<Vec<PathBuf>, BenchError> {
    std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    figures.iter().map(|f| f.write_png(dir)).collect()
}

/// The figures of a coordinate check: for each parametrization and step, every layer's
/// mean |x| against width on log-log axes (`coord_check_<parametrization>_step<k>`).
pub fn coord_check_figures(report: &crate::coord_check::CoordCheckReport) -> Vec<Figure> {
    let mut figures = Vec::new();
    for (parametrization, title) in [("standard", "standard parametrization"), ("mup", "μP")] {
        for step in 1..=report.steps {
            figures.push(Figure {
                stem: format!("coord_check_{parametrization}_step{step}"),
                title: format!("{title}, after step {step}: mean |x| per layer against width"),
                x_label: "log2 width".into(),
                y_label: "mean |x| (log)".into(),
                y_unit: "",
                log_y: true,
                series: layers_against_width(report, &report.stage_names(), &report.coords, |c| {
                    c.parametrization == parametrization && c.step == step
                }),
                legend_notes: vec!["mean over seeds.".into()],
            });
        }
    }
    figures
}

/// `initlab signal --widths`: per parametrization, each layer's pre-activation second
/// moment at initialization and its own first update `‖ΔW x‖ / ‖W x‖`, against width.
pub fn width_signal_figures(report: &crate::coord_check::CoordCheckReport) -> Vec<Figure> {
    let mut figures = Vec::new();
    for (parametrization, title) in [("standard", "standard parametrization"), ("mup", "μP")] {
        let ours = |c: &crate::coord_check::Coord| c.parametrization == parametrization;
        figures.push(Figure {
            stem: format!("signal_width_{parametrization}_variance"),
            title: format!("{title}: pre-activation second moment at init against width"),
            x_label: "log2 width".into(),
            y_label: "mean (W x + b)² (log)".into(),
            y_unit: "",
            log_y: true,
            series: layers_against_width(
                report,
                &report.dense_names(),
                &report.second_moments,
                ours,
            ),
            legend_notes: vec!["mean over seeds.".into()],
        });
        figures.push(Figure {
            stem: format!("signal_width_{parametrization}_update"),
            title: format!("{title}: each layer's first update ‖ΔW x‖ / ‖W x‖ against width"),
            x_label: "log2 width".into(),
            y_label: "‖ΔW x‖ / ‖W x‖ (log)".into(),
            y_unit: "",
            log_y: true,
            series: layers_against_width(
                report,
                &report.dense_names(),
                &report.weight_updates,
                ours,
            ),
            legend_notes: vec!["mean over seeds.".into()],
        });
    }
    figures
}

/// One line per layer through the seeds' mean at each width, of the `coords` that `keep`
/// selects.
fn layers_against_width(
    report: &crate::coord_check::CoordCheckReport,
    names: &[String],
    coords: &[crate::coord_check::Coord],
    keep: impl Fn(&crate::coord_check::Coord) -> bool,
) -> Vec<Series> {
    (1..)
        .zip(names)
        .map(|(layer, name)| {
            let line: Vec<(f64, f64)> = report
                .widths
                .iter()
                .map(|&width| {
                    let values: Vec<f64> = coords
                        .iter()
                        .filter(|c| c.layer == layer && c.width == width && keep(c))
                        .map(|c| c.value)
                        .collect();
                    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                    ((width as f64).log2(), mean)
                })
                .collect();
            let label = match name.parse::<usize>() {
                Ok(layer) => format!("layer {layer}"),
                Err(_) => name.clone(),
            };
            Series {
                label,
                points: line,
                band: Vec::new(),
                mark: Mark::Line,
                dashed: false,
                style: layer - 1,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Synthetic, generate};
    use crate::experiment::{Arch, RunSpec, grid, run_all};
    use initlab_nn::{Activation, Optimizer};

    #[test]
    fn long_labels_make_file_names_within_the_limit() {
        let long = "leaky_relu(0.1)".repeat(40);
        let name = slug(&long);
        assert!(name.len() <= MAX_SLUG, "{}", name.len());
        assert_ne!(slug(&long), slug(&"leaky_relu(0.2)".repeat(40)));
        assert_eq!(slug("relu 10x256"), "relu_10x256");
    }

    #[test]
    fn networks_that_differ_only_in_depth_get_accuracy_against_depth() {
        let data = generate(
            Synthetic::Blobs {
                classes: 3,
                dims: 4,
            },
            300,
            1,
        )
        .unwrap();
        let archs = [
            Arch::uniform(3, 8, Activation::Tanh),
            Arch::uniform(1, 8, Activation::Tanh),
            Arch::uniform(2, 6, Activation::Tanh),
        ];
        let template = RunSpec {
            arch: archs[0].clone(),
            init: String::new(),
            optimizer: Optimizer::adam(0.01),
            epochs: 2,
            batch_size: 64,
            seed: 0,
            target_accuracy: 0.9,
            mup_base: None,
            diagnose_epochs: false,
        };
        let inits = ["small_normal", "orthogonal(gain = 1)"];
        let specs = grid(&archs, &inits, &[0, 1], &template).unwrap();
        let results = run_all(
            &data,
            &specs,
            initlab_gemm::Kernel::OPENBLAS,
            &indicatif::ProgressBar::hidden(),
        )
        .unwrap();
        // The 6-wide network has no other depth: one figure, for the 8-wide ones.
        let figures = depth_figures(&results);
        assert_eq!(figures.len(), 1);
        let figure = &figures[0];
        assert_eq!(figure.stem, "accuracy_by_depth_tanh_Lx8");
        assert_eq!(figure.series.len(), inits.len());
        for (series, init) in figure.series.iter().zip(inits) {
            assert_eq!(series.label, init);
            for (i, depth) in [1, 3].into_iter().enumerate() {
                let accuracies: Vec<f64> = results
                    .iter()
                    .filter(|r| r.spec.init == init && r.spec.arch.hidden == vec![8; depth])
                    .map(|r| 100.0 * r.final_accuracy)
                    .collect();
                assert_eq!(accuracies.len(), 2);
                let mean = (accuracies[0] + accuracies[1]) / 2.0;
                assert_eq!(series.points[i].0, depth as f64);
                assert!((series.points[i].1 - mean).abs() < 1e-9, "{init} {depth}");
                let (lo, hi) = (
                    accuracies[0].min(accuracies[1]),
                    accuracies[0].max(accuracies[1]),
                );
                assert_eq!(series.band[i], (depth as f64, lo, hi));
            }
        }
        assert!(
            result_figures(&results)
                .iter()
                .any(|f| f.stem == figure.stem)
        );
    }
}
