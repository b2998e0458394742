//! 2-D convolutions over NCHW batches through initlab-gemm: each sample's input is
//! unrolled into columns (im2col) and multiplied by the kernel, one group at a time, and
//! the backward pass runs the same products transposed, folding the columns back
//! (col2im). Where the geometry allows it, the unrolling reads each sample split into its
//! stride's phase planes, where a kernel tap's row of columns is one contiguous copy; the
//! bits are those of unrolling run by run, which serves every other geometry.
//!
//! A batch is a matrix with one row per sample, the sample's `channels x height x width`
//! values in NCHW order, as a dense layer's input is one row per sample. Samples run in
//! parallel on rayon's threads, each computed alone, with OpenBLAS single-threaded; the
//! kernel's and the bias's gradients are summed over fixed chunks of [`GRADIENT_CHUNK`]
//! samples, then chunk by chunk in order. So the bits depend on the data alone, never on
//! the number of threads.

use initlab_gemm::{AffineGrads, Kernel, Op};
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use crate::{NnError, Real};
use unroll::Taps;

mod unroll;

/// Samples whose gradients one task sums before the chunks are added in order: a
/// constant, so that the sums' bits never depend on the thread count.
pub const GRADIENT_CHUNK: usize = 8;

/// The geometry of a 2-D convolution (PyTorch's `Conv2d`, without dilation): channels,
/// kernel, stride, zero padding and groups. Its weight is `[out, in / groups, kh, kw]` as
/// in PyTorch, held as a matrix `[out, in / groups * kh * kw]`, and its bias `[out]`.
///
/// # Examples
/// ```
/// use initlab_nn::conv::Conv2d;
///
/// // 3x3, stride 2, padding 1: 28x28 becomes 14x14.
/// let conv = Conv2d::new(1, 16, (3, 3)).with_stride((2, 2)).with_padding((1, 1));
/// assert_eq!(conv.output_size((28, 28))?, (14, 14));
/// assert_eq!(conv.weight_shape(), [16, 1, 3, 3]);
/// // A kernel larger than the padded input leaves no output pixel: refused.
/// assert!(Conv2d::new(1, 1, (5, 5)).output_size((3, 3)).is_err());
/// # Ok::<(), initlab_nn::NnError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Step between output pixels, vertical and horizontal.
    pub stride: (usize, usize),
    /// Zeros added on each side, vertical and horizontal.
    pub padding: (usize, usize),
    /// Channel groups (the channels of each group see only their group); `in_channels`
    /// for a depthwise convolution.
    pub groups: usize,
}

impl Conv2d {
    /// `in_channels` to `out_channels` with a `kernel`, stride 1, no padding, one group.
    pub fn new(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: (1, 1),
            padding: (0, 0),
            groups: 1,
        }
    }

    /// The same convolution with another stride.
    #[must_use]
    pub fn with_stride(self, stride: (usize, usize)) -> Self {
        Self { stride, ..self }
    }

    /// The same convolution with another zero padding.
    #[must_use]
    pub fn with_padding(self, padding: (usize, usize)) -> Self {
        Self { padding, ..self }
    }

    /// The same convolution in `groups` groups.
    #[must_use]
    pub fn with_groups(self, groups: usize) -> Self {
        Self { groups, ..self }
    }

    /// The weight's shape in PyTorch's layout, `[out, in / groups, kh, kw]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels / self.groups.max(1),
            self.kernel.0,
            self.kernel.1,
        ]
    }

    /// Rows of the unrolled input of one group: `in / groups * kh * kw`.
    pub(crate) fn patch_len(&self) -> usize {
        self.in_channels / self.groups * self.kernel.0 * self.kernel.1
    }

    /// The output's height and width for an input `(height, width)`.
    ///
    /// # Errors
    /// [`NnError::Layer`] (at `conv2d`) for zero channels, kernel or stride, groups that
    /// do not divide both channel counts, a kernel larger than the padded input, which
    /// would leave no output pixel, or an input, output or kernel too large to count.
    pub fn output_size(&self, input: (usize, usize)) -> Result<(usize, usize), NnError> {
        let problem = |problem: String| NnError::Layer {
            path: "conv2d".into(),
            problem,
        };
        if self.in_channels == 0 || self.out_channels == 0 {
            return Err(problem(format!(
                "{} input and {} output channels; a convolution needs at least one of each",
                self.in_channels, self.out_channels
            )));
        }
        if self.groups == 0
            || !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(problem(format!(
                "{} groups do not divide the {} input and {} output channels",
                self.groups, self.in_channels, self.out_channels
            )));
        }
        let axis = |name: &str, size: usize, kernel: usize, stride: usize, padding: usize| {
            if kernel == 0 || stride == 0 {
                return Err(problem(format!(
                    "kernel {name} {kernel} and stride {stride}; both must be at least 1"
                )));
            }
            let Some(padded) = padding
                .checked_mul(2)
                .and_then(|both| size.checked_add(both))
            else {
                return Err(problem(format!(
                    "padding {padding} on each side of an input {name} of {size} is more \
                     than a usize counts"
                )));
            };
            if padded < kernel {
                return Err(problem(format!(
                    "a kernel {name} of {kernel} is larger than the input's {size} plus \
                     padding {padding} on each side: the output would have no pixel"
                )));
            }
            Ok((padded - kernel) / stride + 1)
        };
        let output = (
            axis(
                "height",
                input.0,
                self.kernel.0,
                self.stride.0,
                self.padding.0,
            )?,
            axis(
                "width",
                input.1,
                self.kernel.1,
                self.stride.1,
                self.padding.1,
            )?,
        );
        for (name, dims) in [
            ("input", [self.in_channels, input.0, input.1]),
            ("output", [self.out_channels, output.0, output.1]),
            (
                "kernel",
                [self.in_channels / self.groups, self.kernel.0, self.kernel.1],
            ),
        ] {
            if dims
                .iter()
                .try_fold(1_usize, |p, &d| p.checked_mul(d))
                .is_none()
            {
                return Err(problem(format!(
                    "the {name} of {dims:?} holds more values than a usize counts"
                )));
            }
        }
        Ok(output)
    }

    /// Checks the geometry and every buffer's shape for a batch of `input`-sized images,
    /// and that the output's (or its gradient's) rows are contiguous, since each is read as
    /// a `channels x pixels` matrix; the output size.
    fn check<T>(
        &self,
        input: (usize, usize),
        x: &ArrayView2<'_, T>,
        w: &ArrayView2<'_, T>,
        b: usize,
        y: (usize, usize),
        y_column_stride: isize,
    ) -> Result<(usize, usize), NnError> {
        let (oh, ow) = self.output_size(input)?;
        let rows = x.nrows();
        let expected = [
            (
                "input",
                x.dim(),
                (rows, self.in_channels * input.0 * input.1),
            ),
            ("weight", w.dim(), (self.out_channels, self.patch_len())),
            ("bias", (b, 1), (self.out_channels, 1)),
            ("output", y, (rows, self.out_channels * oh * ow)),
        ];
        for (name, got, want) in expected {
            if got != want {
                return Err(NnError::Layer {
                    path: "conv2d".into(),
                    problem: format!("the {name} is {got:?}, expected {want:?}"),
                });
            }
        }
        if y.1 > 1 && y_column_stride != 1 {
            return Err(NnError::Layer {
                path: "conv2d".into(),
                problem: format!(
                    "the output's rows are {y_column_stride} values apart, expected contiguous \
                     rows (a C-order array, or rows of one)"
                ),
            });
        }
        Ok((oh, ow))
    }

    /// Values [`forward`](Self::forward) and [`backward`](Self::backward) allocate at
    /// most at once beyond their arguments, for a batch of `rows` `input`-sized images on
    /// `threads` threads: per thread an unrolled input (`in / groups · kh · kw` by output
    /// pixels), one sample's input (or its gradient) split by stride phase and one sample's
    /// input gradient as written; one kernel-sized gradient per chunk of
    /// [`GRADIENT_CHUNK`] samples; and which of the kernel's taps land inside the input at
    /// each output pixel.
    /// `None` for a geometry [`output_size`](Self::output_size) refuses, or past a usize.
    pub fn scratch_values(
        &self,
        input: (usize, usize),
        rows: usize,
        threads: usize,
    ) -> Option<usize> {
        let (oh, ow) = self.output_size(input).ok()?;
        let cols = self.patch_len().checked_mul(oh)?.checked_mul(ow)?;
        // A sample's phase planes: at most (stride - 1) more lines each way than its input.
        let (sy, sx) = self.stride;
        let planes = self
            .in_channels
            .checked_mul(input.0.div_ceil(sy).checked_mul(sy)?)?
            .checked_mul(input.1.div_ceil(sx).checked_mul(sx)?)?;
        // And, for an input gradient whose rows are not contiguous, one sample's values.
        let sample = self
            .in_channels
            .checked_mul(input.0)?
            .checked_mul(input.1)?;
        let per_thread = cols.checked_add(planes)?.checked_add(sample)?;
        let kernel = self.patch_len().checked_mul(self.out_channels)?;
        // One flag per kernel tap and output pixel, counted as a value.
        let flags = self
            .kernel
            .0
            .checked_mul(self.kernel.1)?
            .checked_mul(oh)?
            .checked_mul(ow)?;
        rows.div_ceil(GRADIENT_CHUNK)
            .checked_mul(kernel)?
            .checked_add(per_thread.checked_mul(threads)?)?
            .checked_add(flags)
    }

    /// `y = conv(x, w) + b` for a batch `x` of `input`-sized images, into `y`, its products
    /// on `kernel`.
    ///
    /// # Errors
    /// As [`output_size`](Self::output_size), and [`NnError::Layer`] for a buffer of the
    /// wrong shape.
    pub fn forward<T: Real>(
        &self,
        kernel: Kernel,
        input: (usize, usize),
        x: ArrayView2<'_, T>,
        w: ArrayView2<'_, T>,
        b: ArrayView1<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
    ) -> Result<(), NnError> {
        let (oh, ow) = self.check(input, &x, &w, b.len(), y.dim(), y.strides()[1])?;
        // Samples run on rayon's threads: BLAS on one each, not a pool per product.
        let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
        let (groups, per_group) = (self.groups, self.out_channels / self.groups);
        let taps = Taps::new(self, input, (oh, ow));
        let unrolled = (self.patch_len(), oh * ow);
        x.axis_iter(Axis(0))
            .into_par_iter()
            .zip(y.axis_iter_mut(Axis(0)))
            .for_each_init(
                || (taps.columns_buffer(), taps.planes_buffer()),
                |(cols, split), (x, y)| {
                    let mut y = y
                        .into_shape_with_order((self.out_channels, oh * ow))
                        .expect("a row of the output is contiguous");
                    for (c, mut row) in y.axis_iter_mut(Axis(0)).enumerate() {
                        row.fill(b[c]);
                    }
                    let x = x.as_standard_layout();
                    let x = taps.planes(sample(&x), split);
                    for g in 0..groups {
                        taps.im2col(x, g, cols);
                        let outputs = g * per_group..(g + 1) * per_group;
                        product(
                            kernel,
                            w.slice(s![outputs.clone(), ..]),
                            Op::Identity,
                            matrix(cols, unrolled),
                            Op::Identity,
                            T::one(),
                            y.slice_mut(s![outputs, ..]),
                        );
                    }
                },
            );
        Ok(())
    }

    /// The gradients of a loss through `y = conv(x, w) + b`, given `dy`, into `grads` (a
    /// dense layer's kind, every buffer overwritten): the kernel's `[out, in / groups *
    /// kh * kw]`, the bias's and, when asked, the input's; the products on `kernel`.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn backward<T: Real>(
        &self,
        kernel: Kernel,
        input: (usize, usize),
        x: ArrayView2<'_, T>,
        w: ArrayView2<'_, T>,
        dy: ArrayView2<'_, T>,
        grads: AffineGrads<'_, T>,
    ) -> Result<(), NnError> {
        let AffineGrads { mut dw, mut db, dx } = grads;
        let (oh, ow) = self.check(input, &x, &w, db.len(), dy.dim(), dy.strides()[1])?;
        if dw.dim() != w.dim() || dx.as_ref().is_some_and(|dx| dx.dim() != x.dim()) {
            return Err(NnError::Layer {
                path: "conv2d".into(),
                problem: "the gradients' shapes differ from the weight's and the input's".into(),
            });
        }
        let per_group = self.out_channels / self.groups;
        let _single_threaded_blas = initlab_gemm::SingleThreadedBlas::new();
        let taps = Taps::new(self, input, (oh, ow));
        let unrolled = (self.patch_len(), oh * ow);
        // Each chunk's sums, then the chunks in order.
        let partials: Vec<(Array2<T>, Vec<T>)> = x
            .axis_chunks_iter(Axis(0), GRADIENT_CHUNK)
            .into_par_iter()
            .zip(dy.axis_chunks_iter(Axis(0), GRADIENT_CHUNK))
            .map_init(
                || (taps.columns_buffer(), taps.planes_buffer()),
                |(cols, split), (x, dy)| {
                    let mut dw = Array2::zeros(w.dim());
                    let mut db = vec![T::zero(); self.out_channels];
                    for (x, dy) in x.axis_iter(Axis(0)).zip(dy.axis_iter(Axis(0))) {
                        let dy = planes(dy, self.out_channels, oh * ow);
                        for (c, row) in dy.axis_iter(Axis(0)).enumerate() {
                            db[c] = row.iter().fold(db[c], |sum, &v| sum + v);
                        }
                        let x = x.as_standard_layout();
                        let x = taps.planes(sample(&x), split);
                        for g in 0..self.groups {
                            taps.im2col(x, g, cols);
                            let outputs = g * per_group..(g + 1) * per_group;
                            product(
                                kernel,
                                dy.slice(s![outputs.clone(), ..]),
                                Op::Identity,
                                matrix(cols, unrolled),
                                Op::Transpose,
                                T::one(),
                                dw.slice_mut(s![outputs, ..]),
                            );
                        }
                    }
                    (dw, db)
                },
            )
            .collect();
        dw.fill(T::zero());
        db.fill(T::zero());
        for (chunk_dw, chunk_db) in partials {
            dw.zip_mut_with(&chunk_dw, |d, &c| *d = *d + c);
            for (d, c) in db.iter_mut().zip(chunk_db) {
                *d = *d + c;
            }
        }
        if let Some(mut dx) = dx {
            dx.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(dy.axis_iter(Axis(0)))
                .for_each_init(
                    // The third buffer serves only an input gradient whose rows are not
                    // contiguous, and is sized on first use.
                    || (taps.columns_buffer(), taps.planes_buffer(), Vec::new()),
                    |(cols, sums, strided), (mut dx, dy)| {
                        sums.fill(T::zero());
                        let dy = planes(dy, self.out_channels, oh * ow);
                        for g in 0..self.groups {
                            let outputs = g * per_group..(g + 1) * per_group;
                            product(
                                kernel,
                                w.slice(s![outputs.clone(), ..]),
                                Op::Transpose,
                                dy.slice(s![outputs, ..]),
                                Op::Identity,
                                T::zero(),
                                ArrayViewMut2::from_shape(unrolled, &mut cols[..])
                                    .expect("the buffer holds one group's columns"),
                            );
                            taps.col2im(cols, sums, g);
                        }
                        match dx.as_slice_mut() {
                            Some(dx) => taps.unsplit(sums, dx),
                            None => {
                                strided.resize(dx.len(), T::zero());
                                taps.unsplit(sums, strided);
                                dx.assign(&ArrayView1::from(&strided[..]));
                            }
                        }
                    },
                );
        }
        Ok(())
    }
}

/// A sample's values, from a row in standard layout.
fn sample<'a, T>(row: &'a ndarray::CowArray<'_, T, ndarray::Ix1>) -> &'a [T] {
    row.as_slice().expect("a standard-layout row is contiguous")
}

/// A sample's row as `channels x pixels`.
fn planes<T>(row: ArrayView1<'_, T>, channels: usize, pixels: usize) -> ArrayView2<'_, T> {
    row.into_shape_with_order((channels, pixels))
        .expect("a sample's row is contiguous")
}

/// A buffer of one group's columns as the `(rows, pixels)` matrix it holds.
fn matrix<T>(cols: &[T], shape: (usize, usize)) -> ArrayView2<'_, T> {
    ArrayView2::from_shape(shape, cols).expect("the buffer holds one group's columns")
}

/// `c <- op(a) op(b) + beta c` on `kernel`, on views whose shapes the caller derived from
/// one geometry.
fn product<T: Real>(
    kernel: Kernel,
    a: ArrayView2<'_, T>,
    op_a: Op,
    b: ArrayView2<'_, T>,
    op_b: Op,
    beta: T,
    c: ArrayViewMut2<'_, T>,
) {
    kernel
        .gemm(T::one(), a, op_a, b, op_b, beta, c)
        .expect("shapes follow the convolution's geometry");
}
