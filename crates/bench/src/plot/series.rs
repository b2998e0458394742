//! What a figure plots: its series, how each is marked, and their colours and shapes.

use plotters::style::RGBColor;

/// `(x, low, high)` points of a shaded band.
pub(super) type Band = Vec<(f64, f64, f64)>;

/// Okabe & Ito (2008), "Color Universal Design", without yellow, then Paul Tol's wine and
/// a mid grey.
const PALETTE: [RGBColor; 9] = [
    RGBColor(0, 0, 0),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(136, 34, 85),
    RGBColor(119, 119, 119),
];

/// Marker shapes, cycled beside the colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Circle,
    Triangle,
    Square,
    Diamond,
}

const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Triangle,
    Shape::Square,
    Shape::Diamond,
];

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A line with a marker on every point (or on every few, when there are many).
    LineAndPoints,
    /// A line only (predictions).
    Line,
    /// Markers only (measurements).
    Points,
}

/// One series of a figure.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) label: String,
    /// `(x, y)` in data units; `y` may be anything, including NaN.
    pub(crate) points: Vec<(f64, f64)>,
    /// A shaded band, such as the range over seeds.
    pub(crate) band: Band,
    pub(crate) mark: Mark,
    pub(crate) dashed: bool,
    /// Index into the colour and shape cycles.
    pub(crate) style: usize,
}

impl Series {
    pub(super) fn colour(&self) -> RGBColor {
        PALETTE[self.style % PALETTE.len()]
    }

    pub(super) fn shape(&self) -> Shape {
        SHAPES[self.style % SHAPES.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_stay_distinct_for_many_series() {
        let styles: std::collections::HashSet<(usize, usize)> = (0..36)
            .map(|i| (i % PALETTE.len(), i % SHAPES.len()))
            .collect();
        assert_eq!(styles.len(), 36);
        // The first nine, one per initializer of the demo, differ in colour.
        let colours: std::collections::HashSet<_> = (0..9)
            .map(|i| format!("{:?}", PALETTE[i % PALETTE.len()]))
            .collect();
        assert_eq!(colours.len(), 9);
    }
}
