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

use std::path::Path;

use initlab_nn::{Activation, Optimizer};
use serde::Deserialize;

use crate::BenchError;
use crate::experiment::{Arch, Head, RunSpec, grid};
use crate::registry::lookup;

mod arch;
mod dataset;

pub use arch::ArchSpec;
pub use dataset::DatasetSpec;

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
