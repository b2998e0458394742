//! The `[dataset]` table: the keys each kind reads, and the data they load or generate.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ExperimentFile;
use crate::BenchError;
use crate::data::{Dataset, LabelColumn, Synthetic, Task, generate, read_csv};

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
    pub(super) fn check_keys(&self) -> Result<(), BenchError> {
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
}
