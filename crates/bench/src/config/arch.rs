//! An `[[arch]]` table and the checks of its keys, one architecture each.

use initlab_nn::net::{Norm, Ordering};
use serde::Deserialize;

use crate::BenchError;
use crate::experiment::{Convolutions, Residual};

/// One `[[arch]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchSpec {
    /// Hidden layers, all `width` units wide (or give `widths`).
    pub depth: Option<usize>,
    /// Units per hidden layer, with `depth`.
    pub width: Option<usize>,
    /// Units of each hidden layer, input side first: `[10, 5]` is 2 → 10 → 5 → output.
    pub widths: Option<Vec<usize>>,
    /// Activation name, e.g. `relu`, `tanh`, `leaky_relu(0.1)`.
    pub activation: String,
    /// `softmax` (default: one logit per class, cross-entropy) or `sigmoid` (one logit for
    /// two classes, binary cross-entropy).
    pub output: Option<String>,
    /// `batch` or `layer`: normalization after every hidden dense layer of a plain
    /// network, or before every activation of a residual branch.
    pub norm: Option<String>,
    /// Residual blocks on a stream of `width` units (with `width`; not with `depth` or
    /// `widths`).
    pub blocks: Option<usize>,
    /// Dense layers per residual branch, 1 to 3 (default 2).
    pub branch: Option<usize>,
    /// `pre` (default) or `post`: residual blocks with pre-activation (He et al. 2016) or
    /// post-activation (the original ResNet) ordering.
    pub ordering: Option<String>,
    /// Weight initializers of single dense layers by path, in place of `train.inits`':
    /// `layer_inits = { "layers.0" = "lecun_normal" }`.
    pub layer_inits: Option<std::collections::BTreeMap<String, String>>,
    /// Hidden layers as `kernel x kernel` convolutions (odd; zero padding `kernel / 2`) on
    /// the dataset's images, `width`/`widths` their channels, then global average pooling
    /// and the output layer. A residual network's stem is its first convolution.
    pub kernel: Option<usize>,
    /// Strides of the first convolutions (with `kernel`; the rest have stride 1; one at
    /// most, the stem's, for residual blocks).
    pub strides: Option<Vec<usize>>,
    /// With `kernel`: the last image flattened into the output layer, every pixel a
    /// feature, instead of global average pooling (default false).
    pub flatten: Option<bool>,
}

impl ArchSpec {
    /// The hidden widths this table describes.
    ///
    /// # Errors
    /// Neither or both of `widths` and `depth`/`width`, a zero, or a depth past
    /// [`crate::experiment::MAX_DEPTH`], naming the key of `arch[i]`.
    pub(super) fn hidden(&self, i: usize) -> Result<Vec<usize>, BenchError> {
        let key = |name: &str| format!("arch[{i}].{name}");
        if self.blocks.is_some() {
            return match (&self.widths, self.depth, self.width) {
                (None, None, Some(0)) => Err(BenchError::invalid(key("width"), 0, "at least 1")),
                (None, None, Some(width)) => Ok(vec![width]),
                (None, None, None) => Err(BenchError::invalid(
                    key("width"),
                    "(missing)",
                    "the width of the residual stream, with blocks",
                )),
                _ => Err(BenchError::invalid(
                    key("blocks"),
                    "given with depth or widths",
                    "blocks and width for a residual network, or depth/widths for a plain one",
                )),
            };
        }
        let hidden = match (&self.widths, self.depth, self.width) {
            (Some(widths), None, None) => {
                if widths.is_empty() {
                    return Err(BenchError::invalid(
                        key("widths"),
                        "[]",
                        "at least one hidden layer",
                    ));
                }
                widths.clone()
            }
            (None, Some(depth), Some(width)) => {
                crate::experiment::check_depth(depth).map_err(|e| e.for_field(key("depth")))?;
                vec![width; depth]
            }
            (Some(_), _, _) => {
                return Err(BenchError::invalid(
                    key("widths"),
                    "given with depth or width",
                    "either widths = [...] or depth and width",
                ));
            }
            (None, _, _) => {
                return Err(BenchError::invalid(
                    key("depth"),
                    "(missing)",
                    "depth and width, or widths = [...]",
                ));
            }
        };
        crate::experiment::check_depth(hidden.len()).map_err(|e| e.for_field(key("widths")))?;
        if hidden.contains(&0) {
            let name = if self.widths.is_some() {
                "widths"
            } else {
                "width"
            };
            return Err(BenchError::invalid(key(name), 0, "at least 1"));
        }
        Ok(hidden)
    }
}

impl ArchSpec {
    /// The `norm` key.
    pub(super) fn norm(&self, i: usize) -> Result<Option<Norm>, BenchError> {
        match self.norm.as_deref() {
            None => Ok(None),
            Some("batch") => Ok(Some(Norm::Batch)),
            Some("layer") => Ok(Some(Norm::Layer)),
            Some(other) => Err(BenchError::invalid(
                format!("arch[{i}].norm"),
                other,
                "batch or layer",
            )),
        }
    }

    /// The `kernel` and `strides` keys, for `layers` convolutions (1, the stem, in a
    /// residual network).
    pub(super) fn conv(&self, i: usize, layers: usize) -> Result<Option<Convolutions>, BenchError> {
        let key = |name: &str| format!("arch[{i}].{name}");
        let Some(kernel) = self.kernel else {
            for (name, set) in [
                ("strides", self.strides.is_some()),
                ("flatten", self.flatten.is_some()),
            ] {
                if set {
                    return Err(BenchError::invalid(
                        key(name),
                        "(set)",
                        "kernel = ... as well: it describes the convolutions",
                    ));
                }
            }
            return Ok(None);
        };
        Convolutions::check_kernel(kernel, &key("kernel"))?;
        let strides = self.strides.clone().unwrap_or_default();
        if strides.contains(&0) {
            return Err(BenchError::invalid(
                key("strides"),
                0,
                "strides of at least 1",
            ));
        }
        if strides.len() > layers {
            let what = if self.blocks.is_some() {
                "one stride at most, the stem's: residual blocks keep their input's size"
            } else {
                "at most one stride per convolution"
            };
            return Err(BenchError::invalid(
                key("strides"),
                format!("{} strides", strides.len()),
                what,
            ));
        }
        Ok(Some(Convolutions {
            kernel,
            strides,
            flatten: self.flatten.unwrap_or(false),
        }))
    }

    /// The `blocks`, `branch` and `ordering` keys.
    pub(super) fn residual(&self, i: usize) -> Result<Option<Residual>, BenchError> {
        let key = |name: &str| format!("arch[{i}].{name}");
        let Some(blocks) = self.blocks else {
            for (name, set) in [
                ("branch", self.branch.is_some()),
                ("ordering", self.ordering.is_some()),
            ] {
                if set {
                    return Err(BenchError::invalid(
                        key(name),
                        "(set)",
                        "blocks = ... as well: it describes residual blocks",
                    ));
                }
            }
            return Ok(None);
        };
        crate::experiment::check_depth(blocks).map_err(|e| e.for_field(key("blocks")))?;
        let layers = self.branch.unwrap_or(2);
        if !(1..=3).contains(&layers) {
            return Err(BenchError::invalid(
                key("branch"),
                layers,
                "1, 2 or 3 dense layers",
            ));
        }
        let ordering = match self.ordering.as_deref() {
            None | Some("pre") => Ordering::PreActivation,
            Some("post") => Ordering::PostActivation,
            Some(other) => return Err(BenchError::invalid(key("ordering"), other, "pre or post")),
        };
        Ok(Some(Residual {
            blocks,
            layers,
            ordering,
        }))
    }
}
