//! What initlab's fuzz targets do with an input: write it where a user's file would be and
//! hand it to the reader a user's command hands it to, under a memory budget, counting
//! what the reader allocates.
//!
//! A defect is a panic, an allocation past the memory the reader was told it had (its own
//! estimate must refuse such input first), or, for the readers whose output is as large as
//! their input, an allocation past [`LINEAR`] times the input. The cargo-fuzz targets in
//! `fuzz/fuzz_targets` are one line each over [`Target::run`]; the regression tests of
//! this crate replay the seed corpus and every finding through the same function.

mod alloc;
mod budget;

use std::path::{Path, PathBuf};

use initlab_bench::data::{LabelColumn, Task, read_csv, read_idx};
use initlab_bench::shard::{Identity, Plan, RunStore, SHARD_FILE, Shard};
use initlab_bench::{config, experiment};
use initlab_nn::Net;

pub use alloc::{Counting, peak_during};
pub use budget::{BUDGET, limit_memory};

/// Bytes a reader whose output is proportional to its input may allocate per input byte
/// (after decompression), above [`SLACK`]: a CSV cell of two bytes becomes an `f32` of
/// four, held twice while the rows are split; nothing reads a header's word for how much
/// to allocate.
pub const LINEAR: usize = 64;

/// What any reader may allocate whatever its input: buffers, paths, error messages.
pub const SLACK: usize = 1 << 20;

/// The grid the run-record target resumes, and its seeds were recorded from.
pub const GRID: &str = include_str!("../../../fuzz/grid.toml");

/// A reader of user input, as a fuzz target drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An IDX file, raw or gzip-compressed as the input is (`read_idx`, ranks 1 and 3).
    Idx,
    /// The input gzip-compressed into an IDX file: the fuzzer's bytes reach the IDX header
    /// through the decoder.
    IdxGz,
    /// A CSV data file (`read_csv`, label by index and by name, both tasks).
    Csv,
    /// An experiment file: read, its grid expanded, the dataset made and the first runs'
    /// costs estimated, as `initlab run` does before training.
    Experiment,
    /// A saved network (`Net::load`, f32 and f64).
    Safetensors,
    /// A run record in an output folder's `runs/`, resumed against [`GRID`].
    RunRecord,
    /// An output folder's `manifest.json`, read as `initlab` reads it before writing into
    /// the folder.
    Manifest,
    /// A shard folder: `shard.json`, then a 0xFF byte, then `results.json` (JSON holds no
    /// 0xFF byte), merged and resumed.
    Shard,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 8] = [
        Target::Idx,
        Target::IdxGz,
        Target::Csv,
        Target::Experiment,
        Target::Safetensors,
        Target::RunRecord,
        Target::Manifest,
        Target::Shard,
    ];

    /// The name of its fuzz target and of its corpus folder.
    pub fn name(self) -> &'static str {
        match self {
            Target::Idx => "idx",
            Target::IdxGz => "idx_gz",
            Target::Csv => "csv",
            Target::Experiment => "experiment",
            Target::Safetensors => "safetensors",
            Target::RunRecord => "run_record",
            Target::Manifest => "manifest",
            Target::Shard => "shard",
        }
    }

    /// Feeds `data` to the reader, under [`limit_memory`].
    ///
    /// # Panics
    /// On a defect (see the crate's documentation), naming the target, the input's size and
    /// the bytes allocated; the reader's own panics propagate.
    pub fn run(self, data: &[u8]) {
        limit_memory();
        let dir = scratch(self.name());
        let (read, proportional_to): (Box<dyn Fn()>, Option<usize>) = match self {
            Target::Idx => {
                let path = write(&dir, "data.idx", data);
                (
                    Box::new(move || idx(&path)),
                    Some(data.len().max(gunzipped_len(data))),
                )
            }
            Target::IdxGz => {
                let path = write(&dir, "data.idx.gz", &gzip(data));
                (Box::new(move || idx(&path)), Some(data.len()))
            }
            Target::Csv => {
                let path = write(&dir, "data.csv", data);
                (Box::new(move || csv(&path)), Some(data.len()))
            }
            Target::Experiment => {
                let path = write(&dir, "experiment.toml", data);
                (Box::new(move || experiment(&path)), None)
            }
            Target::Safetensors => {
                let path = write(&dir, "net.safetensors", data);
                (Box::new(move || safetensors(&path)), None)
            }
            Target::RunRecord => {
                write(&dir.join("runs"), "000000.json", data);
                (Box::new(move || resume(&dir)), Some(data.len()))
            }
            Target::Manifest => {
                write(&dir, initlab_bench::output::MANIFEST, data);
                (
                    Box::new(move || drop(initlab_bench::output::Manifest::read(&dir))),
                    Some(data.len()),
                )
            }
            Target::Shard => {
                let (shard, results) = match data.iter().position(|&b| b == 0xff) {
                    Some(at) => (&data[..at], Some(&data[at + 1..])),
                    None => (data, None),
                };
                write(&dir, SHARD_FILE, shard);
                match results {
                    Some(results) => {
                        write(&dir, "results.json", results);
                    }
                    // Absent, not left over from the previous input.
                    None => {
                        let _ = std::fs::remove_file(dir.join("results.json"));
                    }
                }
                (Box::new(move || merge_and_resume(&dir)), None)
            }
        };
        let available = initlab_bench::memory::available().unwrap_or(u64::MAX);
        let peak = peak_during(read);
        let name = self.name();
        assert!(
            peak as u64 <= available,
            "{name}: a {}-byte input made the reader allocate {peak} bytes, past the {available} its memory estimate was told were available",
            data.len()
        );
        if let Some(size) = proportional_to {
            let bound = SLACK + LINEAR * size;
            assert!(
                peak <= bound,
                "{name}: a {}-byte input ({size} bytes to read) made the reader allocate {peak} bytes, past {LINEAR} per byte and {SLACK} more",
                data.len()
            );
        }
    }
}

/// A folder of this process's own for `target`'s files, made once.
fn scratch(target: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("initlab-fuzz-{}/{target}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder in the temporary directory");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("a scratch folder");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("a scratch file");
    path
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// How many bytes `data` decompresses to if it is gzip (as far as it decodes, up to the
/// budget), else 0.
fn gunzipped_len(data: &[u8]) -> usize {
    use std::io::Read;
    if !data.starts_with(&[0x1f, 0x8b]) {
        return 0;
    }
    let mut decoder = flate2::read::MultiGzDecoder::new(data).take(BUDGET);
    let mut buffer = [0_u8; 1 << 14];
    let mut total = 0;
    while let Ok(n @ 1..) = decoder.read(&mut buffer) {
        total += n;
    }
    total
}

fn idx(path: &Path) {
    for rank in [1, 3] {
        let _ = read_idx(path, rank);
    }
}

fn csv(path: &Path) {
    for (label, task) in [
        (LabelColumn::Index(0), Task::Classification),
        (LabelColumn::Name("label".into()), Task::Regression),
    ] {
        let _ = read_csv(path, &label, task, 0.25, 0);
    }
}

/// How many of a grid's runs the experiment target estimates the cost of: each builds a
/// network's configuration, and a grid may hold a million runs.
const COSTED_RUNS: usize = 16;

fn experiment(path: &Path) {
    let Ok((file, _)) = config::parse_with_text(path) else {
        return;
    };
    let Ok(specs) = file.specs() else { return };
    // No bundled digits here: reading 10,000 of them every input would slow the fuzzer
    // to a crawl, and the IDX reader has its own target.
    let Ok(dataset) = file.dataset(Path::new("/nonexistent/mnist")) else {
        return;
    };
    for spec in specs.iter().take(COSTED_RUNS) {
        let _ = experiment::estimated_cost(&dataset, spec);
    }
}

fn safetensors(path: &Path) {
    let _ = Net::<f32>::load(path);
    let _ = Net::<f64>::load(path);
}

/// The identity the run-record and shard seeds were rewritten to carry, so that the
/// fuzzer starts past the identity check.
pub fn identity() -> Identity {
    Identity {
        experiment: "grid.toml".into(),
        experiment_hash: initlab_bench::shard::fingerprint(GRID.as_bytes()),
        build: "fuzz".into(),
        platform: "fuzz".into(),
        blas_core: "fuzz".into(),
    }
}

/// Resumes [`GRID`] from the records in `out`, as `initlab run` does before training.
fn resume(out: &Path) {
    let specs = config::parse_text(GRID, Path::new("grid.toml"))
        .and_then(|file| file.specs())
        .expect("the fuzz grid is valid");
    let costs = vec![1.0; specs.len()];
    if let Ok((_, recorded)) = RunStore::open(out, &identity(), false) {
        let _ = Plan::new(&specs, &costs, Shard::WHOLE, recorded, out);
    }
}

/// Merges the shard folder `dir` alone, as `initlab merge` does, then resumes from it.
fn merge_and_resume(dir: &Path) {
    let _ = initlab_bench::shard::merge(&[dir.to_owned()], |text, path| {
        config::parse_text(text, path)?.specs()
    });
    resume(dir);
}
