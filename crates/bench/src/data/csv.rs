//! CSV datasets: a header row, numeric feature columns and one label column.

use std::path::Path;

use ndarray::Array2;

use super::{Dataset, Labels};
use crate::BenchError;

/// The longest CSV line read; a longer one (`/dev/zero`, a file with no line ends) is
/// refused. A row of a million features takes about 10 MB.
pub(crate) const MAX_CSV_LINE: u64 = 64 << 20;

/// Class indices must be below this: the network has one output per class.
pub const MAX_CLASSES: usize = 1 << 16;

/// Which column holds the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelColumn {
    /// By header name.
    Name(String),
    /// By 0-based position.
    Index(usize),
}

/// Whether the label is a class index or a real value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Labels are class indices 0, 1, 2, ...
    Classification,
    /// Labels are real targets (one output).
    Regression,
}

/// The line a record starts on. The csv crate places a record after the previous one's
/// line break, before the blank lines it then skips: those are counted here, reading the
/// file again at the record's byte offset (only to report an error).
fn record_line(path: &Path, position: &csv::Position) -> usize {
    use std::io::{Read, Seek, SeekFrom};

    let mut blank = [0_u8; 4096];
    let read = std::fs::File::open(path).and_then(|mut file| {
        file.seek(SeekFrom::Start(position.byte()))?;
        file.read(&mut blank)
    });
    let skipped = blank[..read.unwrap_or(0)]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    position.line() as usize + skipped
}

/// Reads a CSV file with a header into a dataset, holding out `test_fraction` of the rows
/// (after a shuffle with `seed`).
///
/// # Errors
/// [`BenchError::Io`] if unreadable; [`BenchError::Malformed`] naming the line of the file
/// (1-based, blank lines and quoted line breaks counted), the column and what was expected
/// for a bad cell, a short row or a missing label column.
pub fn read_csv(
    path: &Path,
    label: &LabelColumn,
    task: Task,
    test_fraction: f64,
    seed: u64,
) -> Result<Dataset, BenchError> {
    let malformed = |row: usize, expected: String, found: String| BenchError::Malformed {
        path: path.to_owned(),
        offset: row as u64,
        expected,
        found,
    };
    // A quarter of memory as text: its numbers take about as much again as f32.
    let max_total = crate::memory::available().map_or(u64::MAX, |a| a / 4);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(crate::bounded::open(path, max_total, MAX_CSV_LINE)?);
    let headers = reader
        .headers()
        .map_err(|e| malformed(1, "a CSV header row".into(), e.to_string()))?
        .clone();
    let label_index = match label {
        LabelColumn::Index(i) if *i < headers.len() => *i,
        LabelColumn::Name(name) => headers.iter().position(|h| h == name).ok_or_else(|| {
            malformed(
                1,
                format!("a column named `{name}`"),
                format!("columns {:?}", headers.iter().collect::<Vec<_>>()),
            )
        })?,
        LabelColumn::Index(i) => {
            return Err(malformed(
                1,
                format!("a label column at index {i}"),
                format!("{} columns", headers.len()),
            ));
        }
    };
    let width = headers.len();
    if width < 2 {
        return Err(malformed(
            1,
            "at least one feature column and a label column".into(),
            format!("{width} column"),
        ));
    }
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line =
            |position: Option<&csv::Position>| position.map_or(i + 2, |p| record_line(path, p));
        let record = record
            .map_err(|e| malformed(line(e.position()), format!("{width} fields"), e.to_string()))?;
        let row = line(record.position());
        if record.len() != width {
            return Err(malformed(
                row,
                format!("{width} fields"),
                format!("{} fields", record.len()),
            ));
        }
        for (column, cell) in record.iter().enumerate() {
            let name = headers.get(column).unwrap_or("?");
            let is_label = column == label_index;
            // Features are trained in f32: a value past its range (3.4e38) would become inf.
            let value: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| is_label || (*v as f32).is_finite())
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    malformed(
                        row,
                        format!(
                            "a finite number within f32's range (±3.4e38) in column {} (`{name}`)",
                            column + 1
                        ),
                        format!("{cell:?}"),
                    )
                })?;
            if is_label {
                if task == Task::Classification
                    && (value < 0.0 || value.fract() != 0.0 || value >= MAX_CLASSES as f64)
                {
                    return Err(malformed(
                        row,
                        format!(
                            "a class index (0, 1, 2, ... below {MAX_CLASSES}) in column {} (`{name}`)",
                            column + 1
                        ),
                        format!("{cell:?}"),
                    ));
                }
                labels.push(value);
            } else {
                features.push(value as f32);
            }
        }
    }
    let rows = labels.len();
    if rows < 2 {
        return Err(malformed(
            2,
            "at least 2 data rows".into(),
            format!("{rows}"),
        ));
    }
    let x = Array2::from_shape_vec((rows, width - 1), features)
        .expect("every row has width - 1 features");
    let (y, outputs) = match task {
        Task::Classification => {
            let classes: Vec<usize> = labels.iter().map(|&v| v as usize).collect();
            let outputs = classes.iter().max().map_or(2, |m| (m + 1).max(2));
            (Labels::Classes(classes), outputs)
        }
        Task::Regression => (
            Labels::Values(Array2::from_shape_fn((rows, 1), |(i, _)| labels[i] as f32)),
            1,
        ),
    };
    let name = path
        .file_stem()
        .map_or_else(|| "csv".to_owned(), |s| s.to_string_lossy().into_owned());
    let dataset = Dataset::split(name, x, y, outputs, test_fraction, seed);
    dataset.check_classes(path, path)?;
    Ok(dataset)
}
