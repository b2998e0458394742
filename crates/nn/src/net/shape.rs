//! What shape each layer of a [`NetConfig`] gives, and the checks that its layers fit
//! together: widths, images, convolution and pooling windows, residual branches.

use serde::{Deserialize, Serialize};

use super::spec::{LayerSpec, NetConfig};
use crate::NnError;

/// One matrix product of a layer's forward pass for one sample, `count` times:
/// `[rows, inner] x [inner, outer]`. Its backward pass has two of the same size (the
/// weight gradient, and the input gradient but in the first layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmShape {
    /// Rows per sample: 1 for a dense layer, the output pixels for a convolution.
    pub rows: usize,
    /// The summed dimension: the fan-in (per group).
    pub inner: usize,
    /// Outputs per row: the units, or a group's output channels.
    pub outer: usize,
    /// Products of this shape per sample: a convolution's groups.
    pub count: usize,
}

/// The layer values an evaluation chunk may hold at once: 2^26, 256 MiB of f32.
pub const EVALUATION_VALUES: usize = 1 << 26;

/// The shape of an image sample: `channels x height x width`, stored NCHW (a batch is one
/// row per sample, each row its channels' planes one after another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Channels.
    pub channels: usize,
    /// Rows of pixels.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
}

impl Image {
    /// An image of `channels` planes of `height x width` pixels.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// Pixels per channel; `None` past a usize.
    pub fn pixels(&self) -> Option<usize> {
        self.height.checked_mul(self.width)
    }

    /// Values per sample; `None` past a usize.
    pub fn len(&self) -> Option<usize> {
        self.pixels()?.checked_mul(self.channels)
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// What one sample is between two layers: flat features or an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Features.
    Flat(usize),
    /// An image.
    Image(Image),
}

impl Shape {
    /// Values per sample (an image's are checked to fit a usize when it is made).
    pub fn len(&self) -> usize {
        match self {
            Self::Flat(width) => *width,
            Self::Image(image) => image.len().unwrap_or(usize::MAX),
        }
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NetConfig {
    /// The input's shape.
    pub fn input_shape(&self) -> Shape {
        match self.image {
            Some(image) => Shape::Image(image),
            None => Shape::Flat(self.input),
        }
    }

    /// `(fan_in, fan_out)` of every dense layer, in order, branches included.
    pub fn dense_shapes(&self) -> Vec<(usize, usize)> {
        let mut shapes = Vec::new();
        // Up to the first bad layer, which `output` names.
        let _ = self.walk(|layer, input, _| {
            if let LayerSpec::Dense { width } = layer {
                shapes.push((input.len(), *width));
            }
        });
        shapes
    }

    /// The matrix products of one training sample's forward pass, dense and convolution
    /// layers alike, first to last (branches included): a dense layer is one product of
    /// one row, a convolution `groups` products of one row per output pixel (im2col).
    pub fn gemm_shapes(&self) -> Vec<GemmShape> {
        let mut shapes = Vec::new();
        // Up to the first bad layer, which `output` names.
        let _ = self.walk(|layer, input, _| match (layer, input) {
            (LayerSpec::Dense { width }, _) => shapes.push(GemmShape {
                rows: 1,
                inner: input.len(),
                outer: *width,
                count: 1,
            }),
            (LayerSpec::Conv2d { .. }, Shape::Image(image)) => {
                if let Some(conv) = conv_of(layer, image.channels)
                    && let Ok((oh, ow)) = conv.output_size((image.height, image.width))
                {
                    shapes.push(GemmShape {
                        rows: oh * ow,
                        inner: conv.patch_len(),
                        outer: conv.out_channels / conv.groups,
                        count: conv.groups,
                    });
                }
            }
            _ => {}
        });
        shapes
    }

    /// The number of trainable values a net built from it holds (as
    /// [`Net::parameter_count`](super::Net::parameter_count)); `None` for a bad layer or a
    /// count past a usize.
    pub fn parameter_count(&self) -> Option<usize> {
        let mut total = Some(0_usize);
        self.walk(|layer, input, _| {
            let count = || match (layer, input) {
                (LayerSpec::Dense { width }, _) => input.len().checked_add(1)?.checked_mul(*width),
                (LayerSpec::Conv2d { .. }, Shape::Image(image)) => {
                    let conv = conv_of(layer, image.channels)?;
                    conv.patch_len()
                        .checked_add(1)?
                        .checked_mul(conv.out_channels)
                }
                (LayerSpec::LayerNorm { .. }, _) => input.len().checked_mul(2),
                (LayerSpec::BatchNorm { .. }, Shape::Image(image)) => Some(2 * image.channels),
                (LayerSpec::BatchNorm { .. }, Shape::Flat(width)) => width.checked_mul(2),
                (LayerSpec::Residual { alpha, .. }, _) => Some(usize::from(alpha.learnable)),
                _ => Some(0),
            };
            total = total.zip(count()).and_then(|(t, c)| t.checked_add(c));
        })
        .ok()?;
        total
    }

    /// Values a training pass over a batch of `rows` on `threads` threads allocates beyond
    /// the layers' own buffers, at most at once: the largest of its convolutions'
    /// [`scratch_values`](crate::conv::Conv2d::scratch_values) (0 without convolutions).
    /// `None` for a bad layer or past a usize.
    pub fn scratch_values(&self, rows: usize, threads: usize) -> Option<usize> {
        let mut largest = Some(0_usize);
        self.walk(|layer, input, _| {
            if let (LayerSpec::Conv2d { .. }, Shape::Image(image)) = (layer, input) {
                let scratch = conv_of(layer, image.channels).and_then(|conv| {
                    conv.scratch_values((image.height, image.width), rows, threads)
                });
                largest = largest.zip(scratch).map(|(a, b)| a.max(b));
            }
        })
        .ok()?;
        largest
    }

    /// Rows a [`Net`](super::Net) built from it evaluates at once (`predict`, `accuracy`,
    /// `loss`): 512, or fewer where a chunk's layer buffers would pass
    /// [`EVALUATION_VALUES`] values (at least 1 row), so that a network hundreds of layers
    /// deep evaluates in about the memory it trains in.
    pub fn evaluation_rows(&self) -> usize {
        let per_row = self
            .layer_widths()
            .iter()
            .fold(self.input, |sum, &w| sum.saturating_add(w));
        (EVALUATION_VALUES / per_row.max(1)).clamp(1, crate::stack::EVAL_ROWS)
    }

    /// The output width of every layer, in order, branches included (a residual counts
    /// its branch's layers and then its own output).
    pub fn layer_widths(&self) -> Vec<usize> {
        self.layer_shapes().into_iter().map(|s| s.len()).collect()
    }

    /// The output shape of every layer, in order, branches included (a residual counts its
    /// branch's layers and then its own output), up to the first bad layer.
    pub fn layer_shapes(&self) -> Vec<Shape> {
        let mut shapes = Vec::new();
        let _ = self.walk(|_, _, output| shapes.push(output));
        shapes
    }

    /// Walks every layer with its input and output shapes, branches before their
    /// residual; the shape after the last layer.
    ///
    /// # Errors
    /// As [`output`](Self::output), at the first bad layer.
    pub(crate) fn walk(
        &self,
        mut visit: impl FnMut(&LayerSpec, Shape, Shape),
    ) -> Result<Shape, NnError> {
        if let Some(image) = self.image
            && image.len() != Some(self.input)
        {
            return Err(NnError::Config {
                field: "image",
                value: format!("{image:?}"),
                expected: "channels x height x width equal to the input's width, and countable",
            });
        }
        walk_sequence(&self.layers, self.input_shape(), "layers", &mut visit)
    }
    /// The output width, after checking every layer.
    ///
    /// # Errors
    /// [`NnError::Layer`] naming the first bad layer (`layers.2.branch.0`): a zero width or
    /// channel count, an empty branch, a branch that does not end at its input's shape, an
    /// image layer on flat features or a dense layer on an image (flatten it first), a
    /// convolution or pooling window the image cannot hold, an `eps`, `momentum` or value
    /// that is out of range; [`NnError::Config`] for a zero input, an image that is not
    /// the input's width, or no layers.
    pub fn output(&self) -> Result<usize, NnError> {
        if self.input == 0 {
            return Err(NnError::Config {
                field: "input",
                value: "0".into(),
                expected: "a width of at least 1",
            });
        }
        if self.layers.is_empty() {
            return Err(NnError::Config {
                field: "layers",
                value: "none".into(),
                expected: "at least one layer",
            });
        }
        Ok(self.walk(|_, _, _| {})?.len())
    }
}

/// The shape after `layers` from `shape`, checking each layer at `path.{index}` and
/// visiting it (a residual after its branch).
fn walk_sequence(
    layers: &[LayerSpec],
    mut shape: Shape,
    path: &str,
    visit: &mut impl FnMut(&LayerSpec, Shape, Shape),
) -> Result<Shape, NnError> {
    for (index, layer) in layers.iter().enumerate() {
        let at = format!("{path}.{index}");
        let output = match layer {
            LayerSpec::Residual { branch, alpha } => {
                let bad = |problem: String| NnError::Layer {
                    path: at.clone(),
                    problem,
                };
                if !alpha.value.is_finite() {
                    return Err(bad(format!(
                        "alpha = {}; expected a finite number",
                        alpha.value
                    )));
                }
                if branch.is_empty() {
                    return Err(bad("an empty branch; expected at least one layer".into()));
                }
                let end = walk_sequence(branch, shape, &format!("{at}.branch"), visit)?;
                if end != shape {
                    return Err(bad(format!(
                        "the branch ends at {}; expected its input's {}, to add to it",
                        describe(end),
                        describe(shape)
                    )));
                }
                shape
            }
            _ => layer_shape(layer, shape, &at)?,
        };
        visit(layer, shape, output);
        shape = output;
    }
    Ok(shape)
}

/// `shape` in words: `width 128`, `image 16x14x14`.
fn describe(shape: Shape) -> String {
    match shape {
        Shape::Flat(width) => format!("width {width}"),
        Shape::Image(i) => format!("image {}x{}x{}", i.channels, i.height, i.width),
    }
}

/// The output shape of a layer other than a residual, checking it at `at`.
pub(crate) fn layer_shape(layer: &LayerSpec, input: Shape, at: &str) -> Result<Shape, NnError> {
    let bad = |problem: String| NnError::Layer {
        path: at.to_owned(),
        problem,
    };
    let finite = |name: &str, value: f64| {
        if value.is_finite() {
            Ok(())
        } else {
            Err(bad(format!("{name} = {value}; expected a finite number")))
        }
    };
    let image = |what: &str| match input {
        Shape::Image(image) => Ok(image),
        Shape::Flat(width) => Err(bad(format!(
            "{what} takes an image, and its input is {width} flat features; build the \
             network on an image input (NetConfig::image, or `image` in the file)"
        ))),
    };
    // The geometry's own message, at this layer's path.
    let at_path = |e: NnError| match e {
        NnError::Layer { problem, .. } => bad(problem),
        other => other,
    };
    let pooled = |image: Image, pool: crate::pool::Pool2d| {
        let (height, width) = pool
            .output_size((image.height, image.width))
            .map_err(at_path)?;
        Ok::<_, NnError>(Shape::Image(Image::new(image.channels, height, width)))
    };
    Ok(match layer {
        LayerSpec::Dense { width: 0 } => return Err(bad("width = 0; expected at least 1".into())),
        LayerSpec::Dense { width } => match input {
            Shape::Flat(_) => Shape::Flat(*width),
            Shape::Image(i) => {
                return Err(bad(format!(
                    "a dense layer takes flat features, and its input is an image {}x{}x{}; \
                     put a flatten layer before it",
                    i.channels, i.height, i.width
                )));
            }
        },
        LayerSpec::Activation { .. } => input,
        LayerSpec::LayerNorm { eps, gain } | LayerSpec::BatchNorm { eps, gain, .. } => {
            if !(eps.is_finite() && *eps > 0.0) {
                return Err(bad(format!("eps = {eps}; expected a finite number > 0")));
            }
            finite("gain", *gain)?;
            if let LayerSpec::BatchNorm { momentum, .. } = layer
                && !(*momentum > 0.0 && *momentum <= 1.0)
            {
                return Err(bad(format!(
                    "momentum = {momentum}; expected a number in (0, 1]"
                )));
            }
            input
        }
        LayerSpec::Conv2d { .. } => {
            let image = image("a convolution")?;
            let conv = conv_of(layer, image.channels).expect("a convolution");
            let (height, width) = conv
                .output_size((image.height, image.width))
                .map_err(at_path)?;
            Shape::Image(Image::new(conv.out_channels, height, width))
        }
        LayerSpec::MaxPool { kernel, stride } => pooled(
            image("max pooling")?,
            crate::pool::Pool2d::max(pair(*kernel), pair(*stride)),
        )?,
        LayerSpec::AveragePool { kernel, stride } => pooled(
            image("average pooling")?,
            crate::pool::Pool2d::average(pair(*kernel), pair(*stride)),
        )?,
        LayerSpec::GlobalAveragePool => {
            let image = image("global average pooling")?;
            Shape::Image(Image::new(image.channels, 1, 1))
        }
        LayerSpec::Flatten => Shape::Flat(input.len()),
        LayerSpec::Residual { .. } => unreachable!("residuals are walked by their callers"),
    })
}

fn pair([a, b]: [usize; 2]) -> (usize, usize) {
    (a, b)
}

/// The geometry of a [`LayerSpec::Conv2d`] on `in_channels` channels.
pub(crate) fn conv_of(layer: &LayerSpec, in_channels: usize) -> Option<crate::conv::Conv2d> {
    match *layer {
        LayerSpec::Conv2d {
            channels,
            kernel,
            stride,
            padding,
            groups,
        } => Some(
            crate::conv::Conv2d::new(in_channels, channels, pair(kernel))
                .with_stride(pair(stride))
                .with_padding(pair(padding))
                .with_groups(groups),
        ),
        _ => None,
    }
}

/// The pooling window of a pooling layer on an image of `input` pixels.
pub(crate) fn pool_of(layer: &LayerSpec, input: (usize, usize)) -> Option<crate::pool::Pool2d> {
    match *layer {
        LayerSpec::MaxPool { kernel, stride } => {
            Some(crate::pool::Pool2d::max(pair(kernel), pair(stride)))
        }
        LayerSpec::AveragePool { kernel, stride } => {
            Some(crate::pool::Pool2d::average(pair(kernel), pair(stride)))
        }
        LayerSpec::GlobalAveragePool => Some(crate::pool::Pool2d::global_average(input)),
        _ => None,
    }
}
