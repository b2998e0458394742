//! Datasets: IDX files (MNIST and relatives), the bundled MNIST subset, CSV files, and
//! seeded synthetic tasks. Everything becomes row-major `f32` features plus labels or targets.

mod csv;
mod idx;
mod synthetic;

use std::path::{Path, PathBuf};

use initlab_nn::Targets;
use initlab_nn::net::Image;
use ndarray::{Array2, ArrayView2};

pub(crate) use csv::MAX_CSV_LINE;
pub use csv::{LabelColumn, MAX_CLASSES, Task, read_csv};
pub use idx::{Idx, read_idx, write_idx};
pub use synthetic::{Synthetic, generate};

use crate::BenchError;

/// What a dataset's outputs are.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// One class per sample.
    Classes(Vec<usize>),
    /// A row of real targets per sample (regression).
    Values(Array2<f32>),
}

impl Labels {
    /// As the trainer's targets.
    pub fn targets(&self) -> Targets<'_, f32> {
        match self {
            Labels::Classes(c) => Targets::Classes(c),
            Labels::Values(v) => Targets::Values(v.view()),
        }
    }
}

/// A train/test split of features and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name for reports.
    pub name: String,
    /// Training features `[n, d]`.
    pub train_x: Array2<f32>,
    /// Training labels.
    pub train_y: Labels,
    /// Test features `[m, d]`.
    pub test_x: Array2<f32>,
    /// Test labels.
    pub test_y: Labels,
    /// Network output width: number of classes, or of regression targets.
    pub outputs: usize,
    /// The features as an image (`channels x height x width`, NCHW), for convolutional
    /// networks: IDX images are one channel of their rows and columns; `None` for other
    /// data.
    pub image: Option<Image>,
}

impl Dataset {
    /// Input width.
    pub fn inputs(&self) -> usize {
        self.train_x.ncols()
    }

    /// Whether labels are classes (accuracy is defined).
    pub fn is_classification(&self) -> bool {
        matches!(self.train_y, Labels::Classes(_))
    }

    /// Loads an MNIST-style folder: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or `.gz`. Pixels are
    /// scaled to [0, 1].
    ///
    /// # Errors
    /// A missing or malformed file, named with the offset and what was expected;
    /// image and label counts that differ.
    pub fn idx_dir(dir: &Path) -> Result<Self, BenchError> {
        let (train_x, train_y, image) = load_split(dir, "train")?;
        let (test_x, test_y, test_image) = load_split(dir, "t10k")?;
        if test_image != image {
            let size = |i: Image| format!("{}x{} images", i.height, i.width);
            return Err(BenchError::invalid(
                find(dir, "t10k-images-idx3-ubyte")?.display().to_string(),
                size(test_image),
                format!(
                    "{}, as in {}",
                    size(image),
                    find(dir, "train-images-idx3-ubyte")?.display()
                ),
            ));
        }
        let outputs = train_y
            .iter()
            .chain(&test_y)
            .max()
            .map_or(0, |m| m + 1)
            .max(2);
        let name = dir
            .file_name()
            .map_or_else(|| "idx".to_owned(), |n| n.to_string_lossy().into_owned());
        let dataset = Self {
            name,
            train_x,
            train_y: Labels::Classes(train_y),
            test_x,
            test_y: Labels::Classes(test_y),
            outputs,
            image: Some(image),
        };
        dataset.check_classes(
            &find(dir, "train-labels-idx1-ubyte")?,
            &find(dir, "t10k-labels-idx1-ubyte")?,
        )?;
        Ok(dataset)
    }

    /// Refuses classification data that cannot be learned as given: fewer than two classes
    /// in training, or a test class that training never shows (it would silently widen the
    /// network to a class it can never learn). `train` and `test` name the files.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] naming the file and the class.
    pub fn check_classes(&self, train: &Path, test: &Path) -> Result<(), BenchError> {
        let (Labels::Classes(train_y), Labels::Classes(test_y)) = (&self.train_y, &self.test_y)
        else {
            return Ok(());
        };
        let mut seen = vec![false; self.outputs];
        for &c in train_y {
            if let Some(s) = seen.get_mut(c) {
                *s = true;
            }
        }
        let distinct = seen.iter().filter(|&&s| s).count();
        if distinct < 2 {
            return Err(BenchError::invalid(
                train.display().to_string(),
                format!("{distinct} class in {} training samples", train_y.len()),
                "labels of at least 2 classes in the training data",
            ));
        }
        if let Some((row, &c)) = test_y
            .iter()
            .enumerate()
            .find(|&(_, &c)| !seen.get(c).copied().unwrap_or(false))
        {
            return Err(BenchError::invalid(
                test.display().to_string(),
                format!("class {c} at test sample {row}"),
                "test labels of classes the training data has; no training label is of this class",
            ));
        }
        Ok(())
    }

    /// Standardizes every feature value with the mean and standard deviation of all
    /// training values (the test split never informs the statistics).
    pub fn standardize(&mut self) {
        let n = self.train_x.len().max(1) as f64;
        let mean = self.train_x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = self
            .train_x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = variance.sqrt().max(1e-12);
        let (mean, inv) = (mean as f32, (1.0 / std) as f32);
        self.train_x.mapv_inplace(|v| (v - mean) * inv);
        self.test_x.mapv_inplace(|v| (v - mean) * inv);
    }

    /// The first `n` training samples only (for quick runs).
    #[must_use]
    pub fn truncate_train(mut self, n: usize) -> Self {
        let n = n.min(self.train_x.nrows());
        self.train_x = self.train_x.slice(ndarray::s![..n, ..]).to_owned();
        self.train_y = match self.train_y {
            Labels::Classes(mut c) => {
                c.truncate(n);
                Labels::Classes(c)
            }
            Labels::Values(v) => Labels::Values(v.slice(ndarray::s![..n, ..]).to_owned()),
        };
        self
    }

    /// Shuffles the samples with `seed`, then splits off `test_fraction` of them for testing:
    /// of every class alike for classification (stratified, so two balanced classes stay
    /// balanced on both sides and a constant prediction scores exactly one half).
    pub(crate) fn split(
        name: String,
        x: Array2<f32>,
        y: Labels,
        outputs: usize,
        test_fraction: f64,
        seed: u64,
    ) -> Self {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let n = x.nrows();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5EED));
        let mut test = ((n as f64 * test_fraction).round() as usize).clamp(1, n - 1);
        if let Labels::Classes(c) = &y {
            let (train, held) = stratify(&order, c, test);
            if !train.is_empty() && !held.is_empty() {
                test = held.len();
                order = train;
                order.extend(held);
            }
        }
        let x = x.select(ndarray::Axis(0), &order);
        let y = match y {
            Labels::Classes(c) => Labels::Classes(order.iter().map(|&i| c[i]).collect()),
            Labels::Values(v) => Labels::Values(v.select(ndarray::Axis(0), &order)),
        };
        let cut = n - test;
        let rows = |a: ArrayView2<'_, f32>, r: std::ops::Range<usize>| {
            a.slice(ndarray::s![r, ..]).to_owned()
        };
        let (train_y, test_y) = match y {
            Labels::Classes(c) => (
                Labels::Classes(c[..cut].to_vec()),
                Labels::Classes(c[cut..].to_vec()),
            ),
            Labels::Values(v) => (
                Labels::Values(rows(v.view(), 0..cut)),
                Labels::Values(rows(v.view(), cut..n)),
            ),
        };
        Self {
            name,
            train_x: rows(x.view(), 0..cut),
            train_y,
            test_x: rows(x.view(), cut..n),
            test_y,
            outputs,
            image: None,
        }
    }
}

/// `order` cut into training and `test` held-out samples, both in `order`'s order, each
/// class held out in proportion to its size: quotas by the largest-remainder method, so
/// they add up to `test` exactly. Only the classes present are counted: a file with labels
/// 0 and 60,000 costs two counters, not 60,001. (A class absent from `labels` would have a
/// zero quota and remainder, and the remainders of the present ones add up to at least
/// what is missing, so leaving absent ones out changes no quota.)
fn stratify(order: &[usize], labels: &[usize], test: usize) -> (Vec<usize>, Vec<usize>) {
    let n = labels.len().max(1);
    let mut present = labels.to_vec();
    present.sort_unstable();
    present.dedup();
    let slot = |label: usize| present.binary_search(&label).expect("a label of `labels`");
    let mut counts = vec![0_usize; present.len()];
    for &label in labels {
        counts[slot(label)] += 1;
    }
    let shares: Vec<(usize, usize)> = counts
        .iter()
        .map(|&c| (c * test / n, c * test % n))
        .collect();
    let mut quota: Vec<usize> = shares.iter().map(|&(q, _)| q).collect();
    // Ties go to the smaller class index: `present` is ascending and the sort stable.
    let mut by_remainder: Vec<usize> = (0..present.len()).collect();
    by_remainder.sort_by_key(|&c| std::cmp::Reverse(shares[c].1));
    let missing = test.saturating_sub(quota.iter().sum());
    for &c in by_remainder.iter().take(missing) {
        quota[c] += 1;
    }
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for &i in order {
        let q = &mut quota[slot(labels[i])];
        if *q > 0 {
            *q -= 1;
            held.push(i);
        } else {
            train.push(i);
        }
    }
    (train, held)
}

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Result<PathBuf, BenchError> {
    let plain = dir.join(stem);
    let gz = dir.join(format!("{stem}.gz"));
    [plain.clone(), gz]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| BenchError::Io {
            path: plain,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found (nor with .gz)"),
        })
}

/// A split's images, one row each, their labels, and their shape.
fn load_split(dir: &Path, prefix: &str) -> Result<(Array2<f32>, Vec<usize>, Image), BenchError> {
    let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = read_idx(&images_path, 3)?;
    let labels = read_idx(&labels_path, 1)?;
    if images.dims[0] != labels.dims[0] {
        return Err(BenchError::Malformed {
            path: labels_path,
            offset: 4,
            expected: format!(
                "{} labels, one per image in {}",
                images.dims[0],
                images_path.display()
            ),
            found: format!("{} labels", labels.dims[0]),
        });
    }
    let features = images.dims[1] * images.dims[2];
    let x = Array2::from_shape_vec(
        (images.dims[0], features),
        images.data.iter().map(|&p| f32::from(p) / 255.0).collect(),
    )
    .expect("IDX size was checked");
    let labels = labels.data.iter().map(|&l| usize::from(l)).collect();
    Ok((x, labels, Image::new(1, images.dims[1], images.dims[2])))
}
