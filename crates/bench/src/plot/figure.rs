//! A figure described independently of where it is drawn, and its rendering: the same
//! description becomes a PNG file and an inline SVG.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Axis, Placed};
use super::series::{Mark, Series, Shape};
use crate::BenchError;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1100, 620);
/// Width of the chart; the rest of the figure holds the legend and notes.
const CHART_WIDTH: u32 = 790;

/// Registers the bundled DejaVu Sans as plotters' `sans-serif`: plotters draws text
/// through ab_glyph here, which knows no system font. Every figure calls it; so does
/// [`criterion_main!`](crate::criterion_main), for the charts of criterion's HTML report.
pub fn register_font() {
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

/// Evaluates `$draw` on the marker of `$shape` in `$colour`, anchored at `$at` in whatever
/// coordinates the drawing uses (data on the chart, pixels in the legend): one geometry
/// for both. A macro, as each shape is its own element type.
macro_rules! with_marker {
    ($at:expr, $shape:expr, $colour:expr, |$marker:ident| $draw:expr) => {{
        let (dot, style) = (EmptyElement::at($at), $colour.filled());
        match $shape {
            Shape::Circle => {
                let $marker = dot + Circle::new((0, 0), 4, style);
                $draw
            }
            Shape::Triangle => {
                let $marker = dot + TriangleMarker::new((0, 0), 6, style);
                $draw
            }
            Shape::Square => {
                let $marker = dot + Rectangle::new([(-4, -4), (4, 4)], style);
                $draw
            }
            Shape::Diamond => {
                let $marker = dot + Polygon::new(vec![(0, -6), (5, 0), (0, 6), (-5, 0)], style);
                $draw
            }
        }
    }};
}

/// A figure, described independently of where it is drawn.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File name without extension.
    pub stem: String,
    /// Caption.
    pub title: String,
    pub(super) x_label: String,
    pub(super) y_label: String,
    /// Appended to values quoted in notes (`%`).
    pub(super) y_unit: &'static str,
    pub(super) log_y: bool,
    pub(super) series: Vec<Series>,
    /// Lines printed under the legend whatever the data.
    pub(super) legend_notes: Vec<String>,
}

impl Figure {
    /// Writes `<stem>.png` into `dir` and returns its path.
    ///
    /// # Errors
    /// A file that cannot be written or a drawing failure.
    pub fn write_png(&self, dir: &Path) -> Result<PathBuf, BenchError> {
        let path = dir.join(format!("{}.png", self.stem));
        let plot_error = |message: String| BenchError::Plot {
            path: path.clone(),
            message,
        };
        let mut pixels = vec![0_u8; 3 * SIZE.0 as usize * SIZE.1 as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
            self.render(root).map_err(plot_error)?;
        }
        let file = std::fs::File::create(&path).map_err(BenchError::io(&path))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), SIZE.0, SIZE.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // plotters' own PNG writer compresses fast, to files 2.7 times the size: these are
        // committed and embedded in pages.
        encoder.set_compression(png::Compression::Best);
        encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        encoder
            .write_header()
            .and_then(|mut writer| {
                writer.write_image_data(&pixels)?;
                writer.finish()
            })
            .map_err(|e| plot_error(e.to_string()))?;
        Ok(path)
    }

    /// The figure as an `<svg>` element.
    ///
    /// # Errors
    /// A drawing failure, naming the figure.
    pub fn svg(&self) -> Result<String, BenchError> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.render(root).map_err(|message| BenchError::Plot {
                path: PathBuf::from(format!("{}.svg", self.stem)),
                message,
            })?;
        }
        Ok(svg)
    }

    fn render<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        register_font();
        let text = |e: &dyn std::fmt::Display| e.to_string();
        let axis = Axis::fit(&self.series, self.log_y);
        root.fill(&WHITE).map_err(|e| text(&e))?;
        let body = root.titled(&self.title, (FONT, 22)).map_err(|e| text(&e))?;
        let (chart_area, legend_area) = body.split_horizontally(CHART_WIDTH);
        let mut chart = ChartBuilder::on(&chart_area)
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(78)
            .build_cartesian_2d(axis.x_min..axis.x_max, axis.y_min..axis.y_max)
            .map_err(|e| text(&e))?;
        let log_y = self.log_y;
        // Enough decimals to tell the grid lines of this range apart, and no more.
        let decimals = (1.0 - (axis.y_max - axis.y_min).log10().floor()).clamp(0.0, 6.0) as usize;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT, 15))
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| {
                if !log_y {
                    format!("{y:.decimals$}")
                } else if (y - y.round()).abs() < 1e-9 {
                    format!("1e{}", y.round())
                } else {
                    format!("{:.1e}", 10f64.powf(*y))
                }
            })
            .draw()
            .map_err(|e| text(&e))?;

        let mut floored: Vec<&str> = Vec::new();
        for series in &self.series {
            let colour = series.colour();
            let band: Vec<(f64, f64)> = {
                let placed: Vec<(f64, f64, f64)> = series
                    .band
                    .iter()
                    .filter_map(|&(x, lo, hi)| Some((x, axis.place(lo)?.y(), axis.place(hi)?.y())))
                    .collect();
                placed
                    .iter()
                    .map(|&(x, _, hi)| (x, hi))
                    .chain(placed.iter().rev().map(|&(x, lo, _)| (x, lo)))
                    .collect()
            };
            if band.len() >= 4 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band,
                        colour.mix(0.16).filled(),
                    )))
                    .map_err(|e| text(&e))?;
            }
            let placed: Vec<(f64, Placed)> = series
                .points
                .iter()
                .filter(|(x, _)| x.is_finite())
                .filter_map(|&(x, y)| axis.place(y).map(|p| (x, p)))
                .collect();
            let line: Vec<(f64, f64)> = placed.iter().map(|&(x, p)| (x, p.y())).collect();
            if series.mark != Mark::Points && line.len() > 1 {
                let style = colour.stroke_width(2);
                if series.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(line.clone(), 9, 6, style))
                        .map_err(|e| text(&e))?;
                } else {
                    chart
                        .draw_series(LineSeries::new(line.clone(), style))
                        .map_err(|e| text(&e))?;
                }
            }
            // Markers identify the series; on a long curve every few points is enough.
            let stride = match series.mark {
                Mark::Line => usize::MAX,
                Mark::Points => 1,
                Mark::LineAndPoints => placed.len().div_ceil(12).max(1),
            };
            for (i, &(x, p)) in placed.iter().enumerate() {
                match p {
                    Placed::Floor(y) => {
                        if floored.last() != Some(&series.label.as_str()) {
                            floored.push(&series.label);
                        }
                        draw_floor_marker(&mut chart, (x, y), colour).map_err(|e| text(&e))?;
                    }
                    Placed::At(y)
                        if stride != usize::MAX && (i % stride == 0 || i + 1 == placed.len()) =>
                    {
                        with_marker!((x, y), series.shape(), colour, |marker| chart
                            .draw_series(std::iter::once(marker))
                            .map(|_| ()))
                        .map_err(|e| text(&e))?;
                    }
                    Placed::At(_) => {}
                }
            }
        }
        // Series hidden under another: name them where they end.
        let overlaps = overlaps(&self.series, &axis);
        for overlap in &overlaps {
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(
                        "{} series at {}",
                        overlap.labels.len(),
                        quote(overlap.value, self.y_unit)
                    ),
                    (overlap.x, overlap.y),
                    (FONT, 14)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Right, VPos::Bottom)),
                )))
                .map_err(|e| text(&e))?;
        }

        let mut notes = self.legend_notes.clone();
        for overlap in &overlaps {
            notes.push(format!(
                "at {}: {}",
                quote(overlap.value, self.y_unit),
                overlap.labels.join(", ")
            ));
        }
        if !floored.is_empty() {
            notes.push(format!(
                "▼ on the floor: 0 or below, which a log axis cannot show ({}).",
                floored.join(", ")
            ));
        }
        if axis.dropped > 0 {
            notes.push(format!("{} values not finite, not drawn", axis.dropped));
        }
        draw_legend(&legend_area, &self.series, &notes).map_err(|e| text(&e))?;
        root.present().map_err(|e| text(&e))?;
        Ok(())
    }
}

/// A value as a note quotes it: four significant digits.
fn quote(value: f64, unit: &str) -> String {
    if value == 0.0 {
        format!("0{unit}")
    } else if value.abs() < 1e-2 || value.abs() >= 1e4 {
        format!("{value:.3e}{unit}")
    } else {
        let decimals = (3.0 - value.abs().log10().floor()).max(0.0) as usize;
        format!("{value:.decimals$}{unit}")
    }
}

/// Series (two or more) whose lines end at the same height.
struct Overlap {
    labels: Vec<String>,
    value: f64,
    x: f64,
    y: f64,
}

fn overlaps(series: &[Series], axis: &Axis) -> Vec<Overlap> {
    // Within 0.4% of the axis height the lines are drawn on top of each other.
    let tolerance = 0.004 * (axis.y_max - axis.y_min);
    let ends: Vec<(&Series, f64, f64, f64)> = series
        .iter()
        .filter(|s| s.mark != Mark::Points)
        .filter_map(|s| {
            let &(x, value) = s
                .points
                .iter()
                .rev()
                .find(|(x, y)| x.is_finite() && y.is_finite())?;
            let Placed::At(y) = axis.place(value)? else {
                return None;
            };
            Some((s, x, value, y))
        })
        .collect();
    let mut taken = vec![false; ends.len()];
    let mut found = Vec::new();
    for i in 0..ends.len() {
        if taken[i] {
            continue;
        }
        let members: Vec<usize> = (i..ends.len())
            .filter(|&j| !taken[j] && (ends[j].3 - ends[i].3).abs() <= tolerance)
            .collect();
        if members.len() < 2 {
            continue;
        }
        for &j in &members {
            taken[j] = true;
        }
        found.push(Overlap {
            labels: members.iter().map(|&j| ends[j].0.label.clone()).collect(),
            value: ends[i].2,
            x: members.iter().map(|&j| ends[j].1).fold(f64::MIN, f64::max),
            y: ends[i].3,
        });
    }
    found
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A ▼ at the floor of a log axis: the value is 0 or below.
fn draw_floor_marker<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    at: (f64, f64),
    colour: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart.draw_series(std::iter::once(
        EmptyElement::at(at)
            + Polygon::new(vec![(-6, -9), (6, -9), (0, 1)], colour.filled())
            + PathElement::new(vec![(-6, -9), (6, -9), (0, 1), (-6, -9)], BLACK),
    ))?;
    Ok(())
}

/// The legend, one sample line and marker per series, then the notes, wrapped.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    notes: &[String],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = (FONT, 14).into_font().color(&BLACK);
    let mut y = 24;
    for s in series {
        let colour = s.colour();
        let (x0, x1) = (8, 44);
        if s.mark != Mark::Points {
            if s.dashed {
                area.draw(&PathElement::new(
                    vec![(x0, y), (x0 + 12, y)],
                    colour.stroke_width(2),
                ))?;
                area.draw(&PathElement::new(
                    vec![(x0 + 20, y), (x1, y)],
                    colour.stroke_width(2),
                ))?;
            } else {
                area.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    colour.stroke_width(2),
                ))?;
            }
        }
        if s.mark != Mark::Line {
            with_marker!(((x0 + x1) / 2, y), s.shape(), colour, |marker| area
                .draw(&marker))?;
        }
        area.draw(&Text::new(s.label.clone(), (x1 + 8, y - 8), style.clone()))?;
        y += 21;
    }
    y += 8;
    let note_style = (FONT, 13).into_font().color(&BLACK.mix(0.8));
    for note in notes {
        for line in wrap(note, 40) {
            area.draw(&Text::new(line, (8, y), note_style.clone()))?;
            y += 17;
        }
        y += 4;
    }
    Ok(())
}

/// Greedy word wrap at `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::axis::{Axis, Placed};
    use super::*;

    fn series(label: &str, points: Vec<(f64, f64)>, mark: Mark, style: usize) -> Series {
        Series {
            label: label.into(),
            points,
            band: Vec::new(),
            mark,
            dashed: false,
            style,
        }
    }

    fn figure(log_y: bool, series: Vec<Series>) -> Figure {
        Figure {
            stem: format!("hostile_{log_y}"),
            title: "hostile".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            y_unit: "",
            log_y,
            series,
            legend_notes: Vec::new(),
        }
    }

    /// Values that hung plotters' log scale (a range past 1e308, subnormals) or cannot be
    /// placed on it (zero, negative) draw in bounded time; only non-finite ones are left
    /// out, and counted.
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
        for (log_y, not_finite) in [(true, 2), (false, 3)] {
            let all = vec![
                series("hostile", hostile.clone(), Mark::LineAndPoints, 0),
                series("empty", Vec::new(), Mark::Line, 1),
            ];
            let axis = Axis::fit(&all, log_y);
            assert_eq!(axis.dropped, not_finite, "log {log_y}");
            assert!(axis.y_min.is_finite() && axis.y_max.is_finite() && axis.y_min < axis.y_max);
            let figure = figure(log_y, all);
            let path = figure.write_png(&dir).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 0);
            assert!(figure.svg().unwrap().starts_with("<svg"));
        }
        let only_nan = figure(
            true,
            vec![series("nan", vec![(1.0, f64::NAN)], Mark::Points, 0)],
        );
        only_nan.write_png(&dir).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Zero on a log axis sits on the floor, below every positive value, and is noted.
    #[test]
    fn zeros_on_a_log_axis_are_drawn_on_the_floor() {
        let all = vec![
            series(
                "zeros",
                vec![(1.0, 0.0), (2.0, 0.0)],
                Mark::LineAndPoints,
                0,
            ),
            series("he", vec![(1.0, 1e-3), (2.0, 1.0)], Mark::LineAndPoints, 1),
        ];
        let axis = Axis::fit(&all, true);
        let Some(Placed::Floor(floor)) = axis.place(0.0) else {
            panic!("zero is floored")
        };
        assert!(axis.y_min < floor && floor < (1e-3f64).log10());
        let svg = figure(true, all).svg().unwrap();
        assert!(
            svg.contains("0 or below") && svg.contains("(zeros)"),
            "{svg}"
        );
    }

    /// Lines that end together are named in a note: the complaint was three series at
    /// 10.5% of which only the top one showed.
    #[test]
    fn series_ending_at_one_value_are_named() {
        let flat = |label: &str, style| {
            series(
                label,
                vec![(0.0, 10.0), (100.0, 10.5)],
                Mark::LineAndPoints,
                style,
            )
        };
        let all = vec![
            flat("zeros", 0),
            flat("small_normal", 1),
            series(
                "he_normal",
                vec![(0.0, 10.0), (100.0, 93.0)],
                Mark::LineAndPoints,
                2,
            ),
            flat("pytorch_default", 3),
        ];
        let mut figure = figure(false, all);
        figure.y_unit = "%";
        let svg = figure.svg().unwrap();
        assert!(svg.contains("3 series at 10.50%"), "{svg}");
        // Named in the legend and again in the note (wrapped over lines); he_normal only in
        // the legend.
        for (label, times) in [
            ("small_normal", 2),
            ("pytorch_default", 2),
            ("he_normal", 1),
        ] {
            assert_eq!(svg.matches(label).count(), times, "{label}: {svg}");
        }
    }
}
