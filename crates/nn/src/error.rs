//! What can go wrong building, training, saving or loading a network.

use std::path::PathBuf;

/// An error from this crate; each names the value at fault and what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// An activation name that is not known.
    #[error(
        "unknown activation `{name}`; expected one of identity, sigmoid, tanh, relu, leaky_relu(slope), elu(alpha), selu, gelu, gelu_tanh, softsign"
    )]
    UnknownActivation {
        /// What was given.
        name: String,
    },
    /// A configuration value out of range.
    #[error("`{field}` = {value} is not allowed; expected {expected}")]
    Config {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// A layer of a network description that cannot be built.
    #[error("{path}: {problem}")]
    Layer {
        /// Where in the description: `layers.3.branch.1`.
        path: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// The data has no rows.
    #[error("the dataset is empty: training and evaluation need at least one sample")]
    EmptyDataset,
    /// Inputs whose width does not match the network.
    #[error("inputs have {got} columns but the network expects {expected}")]
    InputWidth {
        /// The network's input size.
        expected: usize,
        /// The data's width.
        got: usize,
    },
    /// Targets that do not match the inputs or the network's output.
    #[error("targets: {what}")]
    Targets {
        /// What is wrong with them.
        what: String,
    },
    /// A class label outside `0..classes`.
    #[error(
        "label {label} of sample {sample} is out of range; the network has {classes} classes (0..{classes})"
    )]
    LabelOutOfRange {
        /// Row of the offending sample.
        sample: usize,
        /// Its label.
        label: usize,
        /// Number of output classes.
        classes: usize,
    },
    /// A NaN or infinite input value.
    #[error("input value at row {row}, column {column} is {value}; inputs must be finite")]
    NonFiniteInput {
        /// Row of the value.
        row: usize,
        /// Column of the value.
        column: usize,
        /// The value.
        value: f64,
    },
    /// An initializer rejected its parameters or the layer's shape.
    #[error("initializing {tensor}: {source}")]
    Init {
        /// The parameter being initialized (`layers.0.weight`).
        tensor: String,
        /// Why.
        source: initlab_init::InitError,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file's content is not what was expected.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the tensor or field.
        message: String,
    },
}
