//! Where values go on a plot's axes: log axes drawn over `log10` of the values, and values
//! a log axis cannot show placed on its floor.

use super::series::Series;

/// Where a value goes on the axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Placed {
    At(f64),
    /// Zero or negative on a log axis: drawn at the floor.
    Floor(f64),
}

impl Placed {
    pub(super) fn y(self) -> f64 {
        match self {
            Placed::At(y) | Placed::Floor(y) => y,
        }
    }
}

/// The plotted range. A log axis is drawn as a linear axis over `log10(y)`, so any range
/// of finite positive values draws in bounded time: plotters' own log scale loops over
/// every decade and hangs once a range spans ~1e308 or reaches subnormals.
#[derive(Debug, Clone, Copy)]
pub(super) struct Axis {
    pub(super) log: bool,
    pub(super) x_min: f64,
    pub(super) x_max: f64,
    pub(super) y_min: f64,
    pub(super) y_max: f64,
    /// Values that cannot be drawn at all (not finite).
    pub(super) dropped: usize,
}

/// Past this magnitude a linear axis's range would overflow.
const LINEAR_LIMIT: f64 = 1e300;

impl Axis {
    pub(super) fn fit(series: &[Series], log: bool) -> Self {
        let mut axis = Axis {
            log,
            x_min: f64::INFINITY,
            x_max: f64::NEG_INFINITY,
            y_min: f64::INFINITY,
            y_max: f64::NEG_INFINITY,
            dropped: 0,
        };
        let values = series.iter().flat_map(|s| {
            s.points.iter().map(|&(x, y)| (x, y, true)).chain(
                s.band
                    .iter()
                    .flat_map(|&(x, lo, hi)| [(x, lo, false), (x, hi, false)]),
            )
        });
        for (x, y, counted) in values {
            if !x.is_finite() {
                axis.dropped += usize::from(counted);
                continue;
            }
            axis.x_min = axis.x_min.min(x);
            axis.x_max = axis.x_max.max(x);
            match axis.place(y) {
                Some(Placed::At(y)) => {
                    axis.y_min = axis.y_min.min(y);
                    axis.y_max = axis.y_max.max(y);
                }
                Some(Placed::Floor(_)) => {}
                None => axis.dropped += usize::from(counted),
            }
        }
        if axis.x_min > axis.x_max {
            (axis.x_min, axis.x_max) = (0.0, 1.0);
        } else if axis.x_min == axis.x_max {
            axis.x_max = axis.x_min + 1.0;
        }
        if axis.y_min > axis.y_max {
            (axis.y_min, axis.y_max) = if log { (-3.0, 0.0) } else { (0.0, 1.0) };
        }
        let pad = if log {
            // A factor of 2 either side, as a log axis usually has; more below, where
            // floored values sit.
            2f64.log10()
        } else {
            (0.05 * (axis.y_max - axis.y_min)).max(1e-9 * axis.y_max.abs().max(1.0))
        };
        axis.y_min -= if log { 2.0 * pad } else { pad };
        axis.y_max += pad;
        axis
    }

    /// Where `y` goes on the axis, or `None` if it cannot be drawn.
    pub(super) fn place(&self, y: f64) -> Option<Placed> {
        if self.log {
            if y.is_finite() && y > 0.0 {
                Some(Placed::At(y.log10()))
            } else if y <= 0.0 {
                // y_min is only final after `fit`; until then the value is not counted.
                Some(Placed::Floor(self.y_min + 0.02 * (self.y_max - self.y_min)))
            } else {
                None
            }
        } else {
            (y.abs() <= LINEAR_LIMIT).then_some(Placed::At(y))
        }
    }
}
