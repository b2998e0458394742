//! 2-D average and max pooling over NCHW batches, each channel alone, and global average
//! pooling, the window that covers the whole image. A batch is one row per sample, as for
//! [`crate::conv`]; samples run in parallel, each computed alone, so the bits never depend
//! on the number of threads.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::{NnError, Real};

/// What a window gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// The mean of the window.
    Average,
    /// The largest value of the window (the first of equals, and NaN if any is NaN); the
    /// gradient goes to that one value.
    Max,
}

/// A pooling window: PyTorch's `AvgPool2d` and `MaxPool2d` without padding.
///
/// # Examples
/// ```
/// use initlab_nn::pool::Pool2d;
///
/// assert_eq!(Pool2d::max((2, 2), (2, 2)).output_size((14, 14))?, (7, 7));
/// // Global average pooling: one value per channel.
/// assert_eq!(Pool2d::global_average((7, 7)).output_size((7, 7))?, (1, 1));
/// # Ok::<(), initlab_nn::NnError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2d {
    /// Average or max.
    pub kind: PoolKind,
    /// Window height and width.
    pub kernel: (usize, usize),
    /// Step between windows, vertical and horizontal.
    pub stride: (usize, usize),
}

impl Pool2d {
    /// Average pooling.
    pub fn average(kernel: (usize, usize), stride: (usize, usize)) -> Self {
        Self {
            kind: PoolKind::Average,
            kernel,
            stride,
        }
    }

    /// Max pooling.
    pub fn max(kernel: (usize, usize), stride: (usize, usize)) -> Self {
        Self {
            kind: PoolKind::Max,
            kernel,
            stride,
        }
    }

    /// The mean of each channel of an `input`-sized image.
    pub fn global_average(input: (usize, usize)) -> Self {
        Self::average(input, input)
    }

    /// The output's height and width for an input `(height, width)`.
    ///
    /// # Errors
    /// [`NnError::Layer`] (at `pool2d`) for a zero window or stride, or a window larger
    /// than the input.
    pub fn output_size(&self, input: (usize, usize)) -> Result<(usize, usize), NnError> {
        let axis = |name: &str, size: usize, kernel: usize, stride: usize| {
            if kernel == 0 || stride == 0 || kernel > size {
                return Err(NnError::Layer {
                    path: "pool2d".into(),
                    problem: format!(
                        "a window {name} of {kernel} with stride {stride} on an input {name} \
                         of {size}; the window must be 1 to {size} and the stride at least 1"
                    ),
                });
            }
            Ok((size - kernel) / stride + 1)
        };
        Ok((
            axis("height", input.0, self.kernel.0, self.stride.0)?,
            axis("width", input.1, self.kernel.1, self.stride.1)?,
        ))
    }

    /// The output size, after checking the buffers: `x` `[batch, channels * input]` and
    /// `y` `[batch, channels * output]`.
    fn check(
        &self,
        channels: usize,
        input: (usize, usize),
        x: (usize, usize),
        y: (usize, usize),
    ) -> Result<(usize, usize), NnError> {
        let output = self.output_size(input)?;
        let values = |(h, w): (usize, usize)| channels.checked_mul(h)?.checked_mul(w);
        let (Some(per_x), Some(per_y)) = (values(input), values(output)) else {
            return Err(NnError::Layer {
                path: "pool2d".into(),
                problem: format!(
                    "{channels} channels of {input:?} hold more values than a usize counts"
                ),
            });
        };
        let (want_x, want_y) = ((x.0, per_x), (x.0, per_y));
        if x != want_x || y != want_y {
            return Err(NnError::Layer {
                path: "pool2d".into(),
                problem: format!(
                    "input {x:?} and output {y:?}, expected {want_x:?} and {want_y:?}"
                ),
            });
        }
        Ok(output)
    }

    /// Pools each of `channels` channels of a batch `x` of `input`-sized images into `y`.
    ///
    /// # Errors
    /// As [`output_size`](Self::output_size), and [`NnError::Layer`] for a buffer of the
    /// wrong shape.
    pub fn forward<T: Real>(
        &self,
        channels: usize,
        input: (usize, usize),
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
    ) -> Result<(), NnError> {
        let output = self.check(channels, input, x.dim(), y.dim())?;
        let scale = T::of(1.0 / (self.kernel.0 * self.kernel.1) as f64);
        x.axis_iter(Axis(0))
            .into_par_iter()
            .zip(y.axis_iter_mut(Axis(0)))
            .for_each(|(x, mut y)| {
                self.each_window(channels, input, output, |out, top| {
                    let window = self.window(top, input.1);
                    y[out] = match self.kind {
                        PoolKind::Average => window.fold(T::zero(), |sum, at| sum + x[at]) * scale,
                        PoolKind::Max => x[self.argmax(window, |at| x[at])],
                    };
                });
            });
        Ok(())
    }

    /// The input's gradient `dx` (overwritten) given the output's `dy`: spread evenly over
    /// each window (average), or to the window's largest input (max).
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn backward<T: Real>(
        &self,
        channels: usize,
        input: (usize, usize),
        x: ArrayView2<'_, T>,
        dy: ArrayView2<'_, T>,
        mut dx: ArrayViewMut2<'_, T>,
    ) -> Result<(), NnError> {
        let output = self.check(channels, input, x.dim(), dy.dim())?;
        if dx.dim() != x.dim() {
            return Err(NnError::Layer {
                path: "pool2d".into(),
                problem: format!(
                    "the input's gradient is {:?}, expected {:?}",
                    dx.dim(),
                    x.dim()
                ),
            });
        }
        let scale = T::of(1.0 / (self.kernel.0 * self.kernel.1) as f64);
        dx.axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(x.axis_iter(Axis(0)))
            .zip(dy.axis_iter(Axis(0)))
            .for_each(|((mut dx, x), dy)| {
                dx.fill(T::zero());
                self.each_window(channels, input, output, |out, top| match self.kind {
                    PoolKind::Average => {
                        for at in self.window(top, input.1) {
                            dx[at] = dx[at] + dy[out] * scale;
                        }
                    }
                    PoolKind::Max => {
                        let at = self.argmax(self.window(top, input.1), |at| x[at]);
                        dx[at] = dx[at] + dy[out];
                    }
                });
            });
        Ok(())
    }

    /// The first index of the window's largest value, or of its first NaN.
    fn argmax<T: Real>(
        &self,
        mut window: impl Iterator<Item = usize>,
        value: impl Fn(usize) -> T,
    ) -> usize {
        let first = window.next().expect("a window is never empty");
        let mut best = (first, value(first));
        if best.1.is_nan() {
            return first;
        }
        for at in window {
            let v = value(at);
            if v.is_nan() {
                return at;
            }
            if v > best.1 {
                best = (at, v);
            }
        }
        best.0
    }

    /// Calls `pool(out, top)` for every output value of one sample: its index in the
    /// sample's output row, and the index of its window's top-left input.
    fn each_window(
        &self,
        channels: usize,
        input: (usize, usize),
        output: (usize, usize),
        mut pool: impl FnMut(usize, usize),
    ) {
        for c in 0..channels {
            for oy in 0..output.0 {
                for ox in 0..output.1 {
                    let top = (c * input.0 + oy * self.stride.0) * input.1 + ox * self.stride.1;
                    pool((c * output.0 + oy) * output.1 + ox, top);
                }
            }
        }
    }

    /// The input indexes of the window whose top-left input is `top`, row by row, in an
    /// image `width` wide.
    fn window(&self, top: usize, width: usize) -> impl Iterator<Item = usize> + use<> {
        let (kh, kw) = self.kernel;
        (0..kh).flat_map(move |i| top + i * width..top + i * width + kw)
    }
}
