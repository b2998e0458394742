//! Experiment files: a TOML description of a dataset, architectures and a training grid.
//!
//! ```toml
//! [dataset]
//! kind = "spirals"      # mnist (the bundled digits), idx, csv, spirals, circles,
//! samples = 2000        # blobs, checkerboard, teacher_student
//! # for csv: path = "data.csv", label = "species" (or a 0-based index; default last),
//! #          task = "classification" (or "regression")
//!
//! [[arch]]
//! depth = 6
//! width = 64
//! activation = "tanh"
//! # norm = "batch"      # or "layer": after every hidden dense layer
//!
//! [[arch]]              # a residual network: 784 -> 128, 20 blocks, -> 10
//! blocks = 20
//! width = 128
//! branch = 2            # dense layers per block (1 to 3)
//! ordering = "pre"      # or "post"
//! activation = "relu"
//! # layer_inits = { "layers.0" = "lecun_normal" }   # one dense layer's weights
//!
//! [train]
//! inits = ["zeros", "glorot_uniform", "he_normal"]   # residual nets also: fixup,
//!                       # skipinit, rezero, zero_last, zero_gamma, gpt2
//! optimizer = "adam"    # sgd, momentum, nesterov, adam
//! lr = 0.001            # or lrs = [0.0005, 0.001, 0.002], each a run of its own
//! # parametrizations = ["standard", "mup"]   # with base_width = 64 for mup
//! epochs = 5
//! batch_size = 64
//! seeds = [0, 1]
//! target_accuracy = 0.9
//! # diagnose_epochs = true   # per-layer diagnostics after epochs too (bulky)
//! ```

use std::path::{Path, PathBuf};

use initlab_nn::net::{Norm, Ordering};
use initlab_nn::{Activation, Optimizer};
use serde::Deserialize;

use crate::BenchError;
use crate::data::{Dataset, LabelColumn, Synthetic, Task, generate, read_csv};
use crate::experiment::{Arch, Convolutions, Head, Residual, RunSpec, grid};
use crate::registry::lookup;

/// A whole experiment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Where the data comes from.
    pub dataset: DatasetSpec,
    /// Architectures to compare.
    pub arch: Vec<ArchSpec>,
    /// The training grid.
    pub train: TrainSpec,
}

/// The `[dataset]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// `mnist`, `idx`, `csv`, `spirals`, `circles`, `blobs`, `checkerboard` or
    /// `teacher_student`.
    pub kind: String,
    /// Folder of IDX files (for `idx`; `mnist` defaults to the bundled digits).
    pub path: Option<PathBuf>,
    /// Samples to generate (synthetic) or training samples to keep (IDX).
    pub samples: Option<usize>,
    /// Classes (spirals, blobs).
    pub classes: Option<usize>,
    /// Input dimension (blobs, teacher_student).
    pub dims: Option<usize>,
    /// Standardize features with training statistics (default true for IDX).
    pub standardize: Option<bool>,
    /// Generator or split seed (default 0).
    pub seed: Option<u64>,
    /// Label column of a CSV file: a header name or a 0-based index (default: the last).
    pub label: Option<toml::Value>,
    /// For CSV: `classification` (default) or `regression`.
    pub task: Option<String>,
}

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
    fn hidden(&self, i: usize) -> Result<Vec<usize>, BenchError> {
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
    fn norm(&self, i: usize) -> Result<Option<Norm>, BenchError> {
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
    fn conv(&self, i: usize, layers: usize) -> Result<Option<Convolutions>, BenchError> {
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
        if kernel.is_multiple_of(2) {
            return Err(BenchError::invalid(
                key("kernel"),
                kernel,
                "an odd size (1, 3, 5, ...), whose padding kernel / 2 keeps the image's size",
            ));
        }
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
    fn residual(&self, i: usize) -> Result<Option<Residual>, BenchError> {
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

/// The `[train]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Initializer names.
    pub inits: Vec<String>,
    /// `sgd`, `momentum`, `nesterov` or `adam`.
    pub optimizer: String,
    /// Learning rate (or give `lrs`).
    pub lr: Option<f64>,
    /// Learning rates to sweep, each a run of its own (instead of `lr`).
    pub lrs: Option<Vec<f64>>,
    /// `standard` (default) and/or `mup`: each a run of its own.
    pub parametrizations: Option<Vec<String>>,
    /// μP's base hidden width (with `mup`): the base network has every hidden layer this
    /// wide.
    pub base_width: Option<usize>,
    /// Epochs per run.
    pub epochs: usize,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Seeds; each configuration runs once per seed.
    pub seeds: Vec<u64>,
    /// Test accuracy counted as converged (default 0.9).
    pub target_accuracy: Option<f64>,
    /// Per-layer diagnostics after training epochs too, in `results.json` (default false:
    /// they would make up most of the file).
    pub diagnose_epochs: Option<bool>,
}

/// Parses an experiment file.
///
/// # Errors
/// [`BenchError::Io`] if unreadable; [`BenchError::Invalid`] naming the file, the key and
/// the problem for syntax errors, unknown keys or wrong types.
pub fn parse(path: &Path) -> Result<ExperimentFile, BenchError> {
    parse_with_text(path).map(|(file, _)| file)
}

/// [`parse`], also returning the file's text as read (for a report to show).
///
/// # Errors
/// As [`parse`].
pub fn parse_with_text(path: &Path) -> Result<(ExperimentFile, String), BenchError> {
    let text = crate::bounded::read_to_string(path, MAX_FILE_BYTES)?;
    Ok((parse_text(&text, path)?, text))
}

/// An experiment file's `text` (read from `path`, which errors name).
///
/// # Errors
/// [`BenchError::Invalid`] naming `path` for text that is not a valid experiment file.
pub fn parse_text(text: &str, path: &Path) -> Result<ExperimentFile, BenchError> {
    toml::from_str(text).map_err(|e| {
        BenchError::invalid(
            path.display().to_string(),
            "(file)",
            format!("a valid experiment file: {}", e.to_string().trim()),
        )
    })
}

/// The longest experiment file read: far past any real one, short of filling memory when
/// pointed at `/dev/zero`.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The keys of `[dataset]` that each kind reads; any other key set is an error, not
/// silently ignored.
fn dataset_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "mnist" => &["path", "samples", "standardize"],
        "idx" => &["path", "samples", "standardize"],
        "csv" => &["path", "label", "task", "standardize", "seed"],
        "spirals" => &["samples", "classes", "seed", "standardize"],
        "blobs" => &["samples", "classes", "dims", "seed", "standardize"],
        "teacher_student" => &["samples", "dims", "seed", "standardize"],
        "circles" | "checkerboard" => &["samples", "seed", "standardize"],
        _ => return None,
    })
}

impl DatasetSpec {
    /// The optional keys this table sets.
    fn keys_set(&self) -> Vec<&'static str> {
        let set = [
            ("path", self.path.is_some()),
            ("samples", self.samples.is_some()),
            ("classes", self.classes.is_some()),
            ("dims", self.dims.is_some()),
            ("standardize", self.standardize.is_some()),
            ("seed", self.seed.is_some()),
            ("label", self.label.is_some()),
            ("task", self.task.is_some()),
        ];
        set.into_iter()
            .filter(|(_, s)| *s)
            .map(|(k, _)| k)
            .collect()
    }

    /// Refuses keys the kind does not read.
    fn check_keys(&self) -> Result<(), BenchError> {
        let Some(allowed) = dataset_keys(&self.kind) else {
            return Ok(()); // The unknown kind is reported when the data is loaded.
        };
        match self.keys_set().into_iter().find(|k| !allowed.contains(k)) {
            None => Ok(()),
            Some(key) => Err(BenchError::invalid(
                format!("dataset.{key}"),
                "(set)",
                format!(
                    "no `{key}` with kind = \"{}\", which reads only {}",
                    self.kind,
                    allowed.join(", ")
                ),
            )),
        }
    }
}

/// Index of the last column of a CSV file's header.
fn last_column(path: &Path) -> Result<usize, BenchError> {
    let reader = crate::bounded::open(path, u64::MAX, crate::data::MAX_CSV_LINE)?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = csv.headers().map_err(|e| BenchError::Malformed {
        path: path.to_owned(),
        offset: 1,
        expected: "a CSV header row".into(),
        found: e.to_string(),
    })?;
    Ok(headers.len().saturating_sub(1))
}

/// The first value that appears twice in `values`.
fn first_duplicate<T: PartialEq>(values: &[T]) -> Option<&T> {
    values
        .iter()
        .enumerate()
        .find(|(i, v)| values[..*i].contains(v))
        .map(|(_, v)| v)
}

/// The optimizer called `name` with learning rate `lr`.
///
/// # Errors
/// [`BenchError::Invalid`] for an unknown name.
pub fn optimizer(name: &str, lr: f64) -> Result<Optimizer, BenchError> {
    Ok(match name {
        "sgd" => Optimizer::sgd(lr),
        "momentum" => Optimizer::Momentum {
            lr,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        "nesterov" => Optimizer::Momentum {
            lr,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.0,
        },
        "adam" => Optimizer::adam(lr),
        _ => {
            return Err(BenchError::invalid(
                "train.optimizer",
                name,
                "sgd, momentum, nesterov or adam",
            ));
        }
    })
}

impl ExperimentFile {
    /// Loads or generates the dataset.
    ///
    /// # Errors
    /// Missing or malformed data, an unknown kind, or a bad size.
    pub fn dataset(&self, bundled_mnist: &Path) -> Result<Dataset, BenchError> {
        let d = &self.dataset;
        d.check_keys()?;
        let samples = d.samples.unwrap_or(2000);
        let seed = d.seed.unwrap_or(0);
        let synthetic = |task| generate(task, samples, seed);
        let mut dataset = match d.kind.as_str() {
            "mnist" | "idx" => {
                let path = match (&d.path, d.kind.as_str()) {
                    (Some(p), _) => p.clone(),
                    (None, "mnist") => bundled_mnist.to_owned(),
                    (None, _) => {
                        return Err(BenchError::invalid(
                            "dataset.path",
                            "(missing)",
                            "a folder of IDX files for kind = \"idx\"",
                        ));
                    }
                };
                let mut data = Dataset::idx_dir(&path)?;
                if d.standardize.unwrap_or(true) {
                    data.standardize();
                }
                return Ok(match d.samples {
                    Some(n) => data.truncate_train(n),
                    None => data,
                });
            }
            "csv" => {
                let path = d.path.as_ref().ok_or_else(|| {
                    BenchError::invalid(
                        "dataset.path",
                        "(missing)",
                        "the CSV file for kind = \"csv\"",
                    )
                })?;
                let label = match &d.label {
                    None => None,
                    Some(toml::Value::String(name)) => Some(LabelColumn::Name(name.clone())),
                    Some(toml::Value::Integer(i)) if *i >= 0 => {
                        Some(LabelColumn::Index(*i as usize))
                    }
                    Some(other) => {
                        return Err(BenchError::invalid(
                            "dataset.label",
                            other,
                            "a column name or a 0-based index",
                        ));
                    }
                };
                let task = match d.task.as_deref() {
                    None | Some("classification") => Task::Classification,
                    Some("regression") => Task::Regression,
                    Some(other) => {
                        return Err(BenchError::invalid(
                            "dataset.task",
                            other,
                            "classification or regression",
                        ));
                    }
                };
                let label = match label {
                    Some(label) => label,
                    None => LabelColumn::Index(last_column(path)?),
                };
                read_csv(path, &label, task, 0.2, seed)?
            }
            "spirals" => synthetic(Synthetic::Spirals {
                classes: d.classes.unwrap_or(2),
            })?,
            "circles" => synthetic(Synthetic::Circles)?,
            "blobs" => synthetic(Synthetic::Blobs {
                classes: d.classes.unwrap_or(3),
                dims: d.dims.unwrap_or(2),
            })?,
            "checkerboard" => synthetic(Synthetic::Checkerboard { cells: 4 })?,
            "teacher_student" => synthetic(Synthetic::TeacherStudent {
                inputs: d.dims.unwrap_or(10),
                hidden: 32,
                outputs: 1,
            })?,
            other => {
                return Err(BenchError::invalid(
                    "dataset.kind",
                    other,
                    "mnist, idx, csv, spirals, circles, blobs, checkerboard or teacher_student",
                ));
            }
        };
        if d.standardize.unwrap_or(false) {
            dataset.standardize();
        }
        Ok(dataset)
    }

    /// Every run the file describes, checked before anything trains.
    ///
    /// # Errors
    /// An unknown activation, initializer or optimizer, or a zero size, naming the key.
    pub fn specs(&self) -> Result<Vec<RunSpec>, BenchError> {
        self.dataset.check_keys()?;
        let mut archs = Vec::new();
        for (i, a) in self.arch.iter().enumerate() {
            let activation: Activation =
                a.activation.parse().map_err(|e: initlab_nn::NnError| {
                    BenchError::invalid(
                        format!("arch[{i}].activation"),
                        &a.activation,
                        e.to_string(),
                    )
                })?;
            let output = match a.output.as_deref() {
                None | Some("softmax") => Head::Softmax,
                Some("sigmoid") => Head::Sigmoid,
                Some(other) => {
                    return Err(BenchError::invalid(
                        format!("arch[{i}].output"),
                        other,
                        "softmax or sigmoid",
                    ));
                }
            };
            let hidden = a.hidden(i)?;
            let conv_layers = if a.blocks.is_some() { 1 } else { hidden.len() };
            archs.push(Arch {
                conv: a.conv(i, conv_layers)?,
                hidden,
                activation,
                output,
                norm: a.norm(i)?,
                residual: a.residual(i)?,
                layer_inits: a
                    .layer_inits
                    .iter()
                    .flatten()
                    .map(|(path, init)| (path.clone(), init.clone()))
                    .collect(),
            });
        }
        if archs.is_empty() {
            return Err(BenchError::invalid(
                "arch",
                "(none)",
                "at least one [[arch]] table",
            ));
        }
        let t = &self.train;
        for init in &t.inits {
            lookup(init, Activation::Relu).map_err(|_| {
                BenchError::invalid("train.inits", init, "names from `initlab list`")
            })?;
        }
        let checks = [
            ("train.epochs", t.epochs),
            ("train.batch_size", t.batch_size),
            ("train.seeds", t.seeds.len()),
            ("train.inits", t.inits.len()),
        ];
        for (key, value) in checks {
            if value == 0 {
                return Err(BenchError::invalid(key, 0, "at least 1"));
            }
        }
        // A repeated entry would be counted as an independent run ("4/4 stalled ± 0.0").
        if let Some(init) = first_duplicate(&t.inits) {
            return Err(BenchError::invalid(
                "train.inits",
                init,
                "each initializer once",
            ));
        }
        if let Some(seed) = first_duplicate(&t.seeds) {
            return Err(BenchError::invalid("train.seeds", seed, "each seed once"));
        }
        if let Some(arch) = first_duplicate(&archs) {
            return Err(BenchError::invalid(
                "arch",
                arch.label(),
                "each architecture once",
            ));
        }
        for (i, arch) in archs.iter().enumerate() {
            for (path, name) in &arch.layer_inits {
                let field = format!("arch[{i}].layer_inits.\"{path}\"");
                crate::experiment::layer_init(&field, name, arch.activation)?;
            }
            for init in &t.inits {
                let choice = lookup(init, arch.activation)?;
                crate::experiment::check_applies(arch, init, &choice)
                    .map_err(|e| e.for_field("train.inits"))?;
            }
        }
        let target = t.target_accuracy.unwrap_or(0.9);
        if !(0.0..=1.0).contains(&target) {
            return Err(BenchError::invalid(
                "train.target_accuracy",
                target,
                "a fraction from 0 to 1",
            ));
        }
        let lrs = match (t.lr, &t.lrs) {
            (Some(lr), None) => vec![lr],
            (None, Some(lrs)) if !lrs.is_empty() => lrs.clone(),
            (None, Some(_)) => {
                return Err(BenchError::invalid(
                    "train.lrs",
                    "[]",
                    "at least one learning rate",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(BenchError::invalid(
                    "train.lrs",
                    "given with lr",
                    "either lr or lrs",
                ));
            }
            (None, None) => {
                return Err(BenchError::invalid(
                    "train.lr",
                    "(missing)",
                    "lr = ... or lrs = [...]",
                ));
            }
        };
        if let Some(lr) = first_duplicate(&lrs) {
            return Err(BenchError::invalid(
                "train.lrs",
                lr,
                "each learning rate once",
            ));
        }
        let mut mup_bases = Vec::new();
        for name in t.parametrizations.iter().flatten() {
            let base = match name.as_str() {
                "standard" => None,
                "mup" => Some(t.base_width.filter(|&w| w > 0).ok_or_else(|| {
                    BenchError::invalid(
                        "train.base_width",
                        "(missing or 0)",
                        "μP's base hidden width, with parametrizations = [\"mup\"]",
                    )
                })?),
                other => {
                    return Err(BenchError::invalid(
                        "train.parametrizations",
                        other,
                        "standard or mup",
                    ));
                }
            };
            if mup_bases.contains(&base) {
                return Err(BenchError::invalid(
                    "train.parametrizations",
                    name,
                    "each parametrization once",
                ));
            }
            mup_bases.push(base);
        }
        if mup_bases.is_empty() {
            mup_bases.push(None);
        }
        if mup_bases.iter().any(Option::is_some) {
            if let Some(i) = archs.iter().position(|a| a.conv.is_some()) {
                return Err(BenchError::invalid(
                    "train.parametrizations",
                    "mup",
                    format!(
                        "standard for arch[{i}]: μP's scalings here are those of dense layers, \
                         not convolutions"
                    ),
                ));
            }
            if let Some(init) = t.inits.iter().find(|i| {
                !matches!(
                    lookup(i, Activation::Relu),
                    Ok(crate::registry::InitChoice::Strategy(_))
                )
            }) {
                return Err(BenchError::invalid(
                    "train.inits",
                    init,
                    "a weight initializer that μP can scale (not lsuv or a residual scheme)",
                ));
            }
        } else if t.base_width.is_some() {
            return Err(BenchError::invalid(
                "train.base_width",
                "(set)",
                "parametrizations = [\"mup\"] as well",
            ));
        }
        let inits: Vec<&str> = t.inits.iter().map(String::as_str).collect();
        let mut specs = Vec::new();
        for &mup_base in &mup_bases {
            for &lr in &lrs {
                let optimizer = optimizer(&t.optimizer, lr)?;
                optimizer
                    .validate()
                    .map_err(|e| BenchError::invalid("train.lr", lr, e.to_string()))?;
                let template = RunSpec {
                    arch: archs[0].clone(),
                    init: String::new(),
                    optimizer,
                    epochs: t.epochs,
                    batch_size: t.batch_size,
                    seed: 0,
                    target_accuracy: target,
                    mup_base,
                    diagnose_epochs: t.diagnose_epochs.unwrap_or(false),
                };
                specs.extend(grid(&archs, &inits, &t.seeds, &template)?);
                if specs.len() > crate::experiment::MAX_RUNS {
                    return Err(BenchError::invalid(
                        "the grid",
                        specs.len(),
                        format!("at most {} runs", crate::experiment::MAX_RUNS),
                    ));
                }
            }
        }
        Ok(specs)
    }
}
