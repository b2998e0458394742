//! Errors of datasets, experiments and reports: each names the file, field or value.

use std::path::PathBuf;

/// What went wrong, with enough context to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A data file is malformed.
    #[error("{}: at {} {offset}: expected {expected}, found {found}", path.display(), if is_text(path) { "line" } else { "byte" })]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where the problem is: the byte offset in the (decompressed) content of a binary
        /// file, or the 1-based line of a text file (CSV, JSON).
        offset: u64,
        /// What the format requires there.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An experiment parameter is unknown or out of range.
    #[error("`{field}` = {value:?} is not allowed; expected {expected}")]
    Invalid {
        /// The parameter (config key or command-line flag).
        field: String,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// The network or trainer rejected something.
    #[error(transparent)]
    Nn(#[from] initlab_nn::NnError),
    /// The sizes asked for need more memory than the machine has.
    #[error("`{field}`: needs {}, more than the {} of memory available", needed.map_or_else(|| "more bytes than a 64-bit count holds".to_owned(), |n| format!("about {}", crate::memory::human(n))), available.map_or_else(|| "unknown amount".to_owned(), crate::memory::human))]
    Memory {
        /// The file, parameter or flag whose size is too large.
        field: String,
        /// The estimate in bytes; `None` where it overflows a `u64`.
        needed: Option<u64>,
        /// Bytes available when checked.
        available: Option<u64>,
    },
    /// The output folder cannot be used.
    #[error("output folder {}: {message}", path.display())]
    Output {
        /// The folder given with `--out`.
        path: PathBuf,
        /// Why it was refused.
        message: String,
    },
    /// A folder holds runs of another grid, or shards do not make one grid.
    #[error("{}: {message}", path.display())]
    Grid {
        /// The folder or file at fault.
        path: PathBuf,
        /// What does not fit, naming the runs.
        message: String,
    },
    /// Drawing a plot failed.
    #[error("plot {}: {message}", path.display())]
    Plot {
        /// The image being drawn.
        path: PathBuf,
        /// The drawing backend's complaint.
        message: String,
    },
}

/// Whether a data file is text (positions are rows) rather than binary (byte offsets).
fn is_text(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| {
        ["csv", "txt", "json"]
            .iter()
            .any(|text| e.eq_ignore_ascii_case(text))
    })
}

impl BenchError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| BenchError::Io { path, source }
    }

    /// An [`BenchError::Invalid`] for `field` = `value`, with what was expected.
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        BenchError::Invalid {
            field: field.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// The same error with an [`BenchError::Invalid`]'s field renamed (a config key instead
    /// of a generic name); other errors unchanged.
    pub fn for_field(self, field: impl Into<String>) -> Self {
        match self {
            BenchError::Invalid {
                value, expected, ..
            } => BenchError::Invalid {
                field: field.into(),
                value,
                expected,
            },
            other => other,
        }
    }
}
