//! Grids larger than one process: deterministic shards, a record per finished run, and the
//! merge that makes the shards one result again.
//!
//! - **Shards.** `i/n` (0-based) takes the runs [`assign`] gives shard `i`: the runs sorted by
//!   estimated cost, largest first, each to the shard with the least work so far (ties to
//!   the lower index), so that a 50-layer run and a 2-layer run spread out. The assignment
//!   depends only on the grid, so every shard process computes the same one.
//! - **Records.** Each run, when it finishes, is written to `runs/NNNNNN.json` inside the
//!   output folder (a temporary file renamed into place: a record is whole or absent). A
//!   rerun into the same folder skips the runs recorded there, or published in its
//!   `results.json`, provided [`Identity`] matches: the same experiment file, build,
//!   platform and BLAS kernel, since another kernel rounds differently.
//! - **Merge.** Each shard's `shard.json` names its grid and runs; [`merge`] refuses shards
//!   of different identities, missing runs and duplicated runs, and returns the runs in
//!   the grid's order, which is the order an unsharded run reports them in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::BenchError;
use crate::bounded::read_json;
use crate::experiment::{RunResult, RunSpec};

/// The folder inside an output folder that holds one record per finished run.
pub const RUNS_DIR: &str = "runs";

/// The file that says which grid and which of its runs a folder holds.
pub const SHARD_FILE: &str = "shard.json";

/// One of `count` slices of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based, below `count`.
    pub index: usize,
    /// Slices in all, at least 1.
    pub count: usize,
}

impl Shard {
    /// The whole grid as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    fn new(field: &str, index: usize, count: usize) -> Result<Self, BenchError> {
        if count == 0 || index >= count {
            return Err(BenchError::invalid(
                field,
                format!("{index}/{count}"),
                "i/n with n >= 1 and 0 <= i < n (0-based, as Slurm arrays from 0 and Kubernetes completion indexes count)",
            ));
        }
        Ok(Self { index, count })
    }

    /// The shard a batch scheduler gives this process, from its environment (`var` looks a
    /// name up):
    /// - Slurm job arrays: `SLURM_ARRAY_TASK_ID` among `SLURM_ARRAY_TASK_COUNT` tasks,
    ///   counted from `SLURM_ARRAY_TASK_MIN` (so `--array=1-4` works as well as `0-3`);
    /// - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` among `JOB_COMPLETIONS`, which
    ///   the Job's spec sets to its `completions` (Kubernetes does not export it).
    ///
    /// # Errors
    /// Neither set, a variable missing or not a number, or an index out of range.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, BenchError> {
        let number = |name: &str| -> Result<Option<usize>, BenchError> {
            var(name)
                .map(|value| {
                    value.trim().parse::<usize>().map_err(|_| {
                        BenchError::invalid(name, value, "a non-negative whole number")
                    })
                })
                .transpose()
        };
        let required = |name: &str, with: &str| -> Result<usize, BenchError> {
            number(name)?
                .ok_or_else(|| BenchError::invalid(name, "unset", format!("set beside {with}")))
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let count = required("SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID")?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                BenchError::invalid(
                    "SLURM_ARRAY_TASK_ID",
                    id,
                    format!("at least SLURM_ARRAY_TASK_MIN = {min}"),
                )
            })?;
            return Self::new("SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT", index, count);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = required("JOB_COMPLETIONS", "JOB_COMPLETION_INDEX")?;
            return Self::new("JOB_COMPLETION_INDEX/JOB_COMPLETIONS", index, count);
        }
        Err(BenchError::invalid(
            "--shard-from-env",
            "no shard in the environment",
            "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job array) or JOB_COMPLETION_INDEX and JOB_COMPLETIONS (a Kubernetes Indexed Job)",
        ))
    }
}

impl FromStr for Shard {
    type Err = BenchError;

    /// `i/n`, 0-based: `0/4` … `3/4`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parse = |part: &str| part.trim().parse::<usize>().ok();
        match text.split_once('/').map(|(i, n)| (parse(i), parse(n))) {
            Some((Some(index), Some(count))) => Self::new("--shard", index, count),
            _ => Err(BenchError::invalid(
                "--shard",
                text,
                "i/n, 0-based: 0/4, 1/4, 2/4 or 3/4 for four shards",
            )),
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Each shard's run indexes, in grid order: the runs by `costs` largest first, each to the
/// shard with the least cost so far (the lowest index on ties). Deterministic in `costs`.
/// It holds a buffer per shard: one shard's runs are [`runs_of`]'s, at no more cost than
/// the runs'.
pub fn assign(costs: &[f64], count: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0.0_f64; count];
    let mut shards = vec![Vec::new(); count];
    for run in order {
        let lightest = (0..count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .expect("at least one shard");
        load[lightest] += costs[run];
        shards[lightest].push(run);
    }
    for shard in &mut shards {
        shard.sort_unstable();
    }
    shards
}

/// Shard `shard`'s run indexes, as [`assign`] gives them, without one buffer per shard:
/// past as many shards as runs, each run has a shard to itself, largest first, and the
/// rest are empty, so a grid of 8 runs split `0/4294967296` ways costs 8 shards' work.
pub fn runs_of(costs: &[f64], shard: Shard) -> Vec<usize> {
    if shard.index >= costs.len() {
        return Vec::new();
    }
    assign(costs, shard.count.min(costs.len())).swap_remove(shard.index)
}

/// What one shard process has to do: its runs of the grid, those already done, the rest.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The shard's run indexes in the grid, increasing.
    pub mine: Vec<usize>,
    /// Those already done, by grid index.
    pub done: BTreeMap<usize, RunResult>,
    /// Those still to run, increasing.
    pub todo: Vec<usize>,
}

impl Plan {
    /// Shard `shard` of the grid `specs` (split by `costs`), with `recorded` the runs
    /// [`RunStore::open`] found done in `out`; runs of another split of the same grid are
    /// valid but not this shard's, and are left out.
    ///
    /// # Errors
    /// [`BenchError::Grid`] for a recorded run whose spec is not the grid's.
    pub fn new(
        specs: &[RunSpec],
        costs: &[f64],
        shard: Shard,
        mut recorded: BTreeMap<usize, RunResult>,
        out: &Path,
    ) -> Result<Self, BenchError> {
        let mine = runs_of(costs, shard);
        recorded.retain(|index, _| mine.binary_search(index).is_ok());
        if let Some((index, _)) = recorded.iter().find(|(i, r)| r.spec != specs[**i]) {
            return Err(BenchError::Grid {
                path: out.join(RUNS_DIR),
                message: format!(
                    "run {index} was recorded with another spec than the experiment file gives; rerun with --fresh"
                ),
            });
        }
        let todo = mine
            .iter()
            .copied()
            .filter(|i| !recorded.contains_key(i))
            .collect();
        Ok(Self {
            mine,
            done: recorded,
            todo,
        })
    }

    /// The specs of the runs still to do, in order.
    pub fn todo_specs(&self, specs: &[RunSpec]) -> Vec<RunSpec> {
        self.todo.iter().map(|&i| specs[i].clone()).collect()
    }

    /// The shard's results in grid order, given `finished`, the results of [`Plan::todo`]
    /// in its order.
    pub fn results(mut self, finished: Vec<RunResult>) -> Vec<RunResult> {
        self.done.extend(self.todo.iter().copied().zip(finished));
        self.mine
            .iter()
            .map(|i| self.done.remove(i).expect("every run of the shard is done"))
            .collect()
    }
}

/// What makes two runs of a grid comparable bit for bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The experiment file as given.
    pub experiment: String,
    /// FNV-1a of its text.
    pub experiment_hash: String,
    /// The version and git revision of the binary; with uncommitted changes or outside a
    /// git checkout, also a hash of the executable.
    pub build: String,
    /// Architecture and operating system.
    pub platform: String,
    /// What runs the products ([`Kernel::describe`](initlab_gemm::Kernel::describe)): the
    /// kernel family OpenBLAS runs or, on the packed kernel, initlab-gemm's own beside it.
    pub blas_core: String,
}

impl Identity {
    /// This process's identity for the experiment file `experiment` with text `text`, its
    /// f32 products on `kernel`; `revision` is the binary's git revision.
    pub fn current(
        experiment: &str,
        text: &str,
        revision: &str,
        kernel: initlab_gemm::Kernel,
    ) -> Self {
        let mut build = format!("initlab {} {revision}", env!("CARGO_PKG_VERSION"));
        if revision.contains(' ') {
            // Not a clean commit: the revision alone does not name the code.
            let exe = std::env::current_exe().and_then(std::fs::read);
            build.push_str(&match exe {
                Ok(bytes) => format!(", executable {}", fingerprint(&bytes)),
                Err(e) => format!(", executable unreadable ({e})"),
            });
        }
        Self {
            experiment: experiment.to_owned(),
            experiment_hash: fingerprint(text.as_bytes()),
            build,
            platform: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
            blas_core: kernel.describe(),
        }
    }

    /// How `other` differs, field by field; empty when it does not. The experiment's name
    /// is not compared, only its text: a copy under another path is the same grid.
    pub fn differences(&self, other: &Identity) -> Vec<String> {
        let experiment = |i: &Identity| format!("{} ({})", i.experiment, i.experiment_hash);
        [
            (
                "experiment file",
                self.experiment_hash == other.experiment_hash,
                experiment(self),
                experiment(other),
            ),
            (
                "build",
                self.build == other.build,
                self.build.clone(),
                other.build.clone(),
            ),
            (
                "platform",
                self.platform == other.platform,
                self.platform.clone(),
                other.platform.clone(),
            ),
            (
                "BLAS core",
                self.blas_core == other.blas_core,
                self.blas_core.clone(),
                other.blas_core.clone(),
            ),
        ]
        .into_iter()
        .filter(|(_, same, _, _)| !same)
        .map(|(what, _, a, b)| format!("{what} {a} against {b}"))
        .collect()
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: a stable name for a text or a binary, not a
/// defence against forgery.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The contents of [`SHARD_FILE`]: which grid, and which of its runs, a folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// The grid's identity.
    pub identity: Identity,
    /// Which slice.
    pub shard: Shard,
    /// Runs in the whole grid.
    pub grid_runs: usize,
    /// This shard's run indexes in the grid, increasing: `results.json` holds them in this
    /// order.
    pub runs: Vec<usize>,
    /// The experiment file's text, so that a merge needs nothing but the shard folders.
    pub experiment_text: String,
    /// The dataset, as the report names it.
    pub dataset: String,
}

impl ShardFile {
    /// Writes it as [`SHARD_FILE`] into `dir`.
    ///
    /// # Errors
    /// [`BenchError::Io`] naming the file.
    pub fn write(&self, dir: &Path) -> Result<(), BenchError> {
        let path = dir.join(SHARD_FILE);
        let json = serde_json::to_vec_pretty(self).expect("a shard file serializes");
        std::fs::write(&path, json).map_err(BenchError::io(&path))
    }

    /// The runs published in `dir`'s `results.json`, with their grid indexes.
    ///
    /// # Errors
    /// An unreadable or malformed file, or one with another number of runs than
    /// [`ShardFile::runs`] lists.
    fn published_results(&self, dir: &Path) -> Result<Vec<(usize, RunResult)>, BenchError> {
        let path = dir.join("results.json");
        let results: Vec<RunResult> = read_json(&path, "the results of an initlab run")?;
        if results.len() != self.runs.len() {
            return Err(BenchError::Grid {
                path,
                message: format!(
                    "holds {} runs where {SHARD_FILE} lists {}",
                    results.len(),
                    self.runs.len()
                ),
            });
        }
        Ok(self.runs.iter().copied().zip(results).collect())
    }
}

/// One finished run, as recorded in [`RUNS_DIR`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The grid it belongs to.
    pub identity: Identity,
    /// Its index in the grid.
    pub index: usize,
    /// What it measured.
    pub result: RunResult,
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, synced, then
/// renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BenchError> {
    use std::io::Write;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temporary).map_err(BenchError::io(&temporary))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(BenchError::io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(BenchError::io(path))
}

/// The finished runs of one output folder, recorded as they finish.
#[derive(Debug)]
pub struct RunStore {
    dir: PathBuf,
    identity: Identity,
}

impl RunStore {
    /// Opens the records of the output folder `out` for the grid `identity` and returns the
    /// runs already done, by grid index: those recorded in [`RUNS_DIR`] and those
    /// published in `results.json` beside a matching [`SHARD_FILE`]. With `fresh`, the
    /// records are deleted and nothing counts as done.
    ///
    /// # Errors
    /// [`BenchError::Grid`] when [`RUNS_DIR`] holds records of another identity (naming
    /// how it differs): an unfinished grid that starting over would lose; unreadable or
    /// malformed records, naming the file.
    pub fn open(
        out: &Path,
        identity: &Identity,
        fresh: bool,
    ) -> Result<(Self, BTreeMap<usize, RunResult>), BenchError> {
        let dir = out.join(RUNS_DIR);
        if fresh && dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(BenchError::io(&dir))?;
        }
        let store = Self {
            dir,
            identity: identity.clone(),
        };
        let mut done = BTreeMap::new();
        if fresh {
            return Ok((store, done));
        }
        let refuse = |path: &Path, theirs: &Identity| BenchError::Grid {
            path: path.to_owned(),
            message: format!(
                "holds finished runs of another, unfinished grid (this run's against the records': {}); rerun that grid's command to finish it, rerun this one with --fresh to discard them, or choose another --out",
                identity.differences(theirs).join("; ")
            ),
        };
        let published = out.join(SHARD_FILE);
        if published.exists() {
            // A published set of another grid is replaced when this one is published, as
            // any set of the same kind is; only a matching one is reused.
            let shard: ShardFile = read_json(&published, "an initlab shard file")?;
            if shard.identity.differences(identity).is_empty() {
                done.extend(shard.published_results(out)?);
            }
        }
        for record in store.records()? {
            let (path, record) = record?;
            if !record.identity.differences(identity).is_empty() {
                return Err(refuse(&path, &record.identity));
            }
            done.insert(record.index, record.result);
        }
        Ok((store, done))
    }

    /// Every record in the folder, with its path; temporary files of killed writers are
    /// removed on the way.
    fn records(
        &self,
    ) -> Result<impl Iterator<Item = Result<(PathBuf, RunRecord), BenchError>>, BenchError> {
        let mut paths = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Vec::new().into_iter().map(Ok));
            }
            Err(e) => return Err(BenchError::io(&self.dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(BenchError::io(&self.dir))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(&path);
            } else if name.ends_with(".json") {
                paths.push(path);
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let record: RunRecord = read_json(&path, "an initlab run record")?;
                Ok((path, record))
            })
            .collect::<Result<Vec<_>, BenchError>>()
            .map(|records| records.into_iter().map(Ok))
    }

    /// Records run `index` of the grid as finished.
    ///
    /// # Errors
    /// [`BenchError::Io`] naming the record.
    pub fn record(&self, index: usize, result: &RunResult) -> Result<(), BenchError> {
        let record = RunRecord {
            identity: self.identity.clone(),
            index,
            result: result.clone(),
        };
        let json = serde_json::to_vec(&record).expect("records serialize");
        std::fs::create_dir_all(&self.dir).map_err(BenchError::io(&self.dir))?;
        write_atomically(&self.dir.join(format!("{index:06}.json")), &json)
    }
}

/// A grid put back together from its shards.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The first shard's description of the grid.
    pub shard: ShardFile,
    /// The grid's specs.
    pub specs: Vec<RunSpec>,
    /// Every run's result, in grid order.
    pub results: Vec<RunResult>,
}

/// Reads the shard folders `dirs` and puts their runs in grid order; `specs_of` turns the
/// experiment text, read from the shard file it names, into the grid's specs.
///
/// # Errors
/// [`BenchError::Grid`] naming the folder for a shard of another identity or grid size, a
/// run in two shards, runs in none, or a record whose spec is not the grid's; unreadable
/// or malformed files.
pub fn merge(
    dirs: &[PathBuf],
    specs_of: impl Fn(&str, &Path) -> Result<Vec<RunSpec>, BenchError>,
) -> Result<Merged, BenchError> {
    let first = dirs
        .first()
        .ok_or_else(|| BenchError::invalid("SHARD_DIR", "none", "one or more shard folders"))?;
    let mut shards = Vec::new();
    for dir in dirs {
        let path = dir.join(SHARD_FILE);
        if !path.exists() {
            let records = dir.join(RUNS_DIR);
            return Err(BenchError::Grid {
                path: dir.clone(),
                message: if records.is_dir() {
                    format!(
                        "has no {SHARD_FILE}: its shard never finished; rerun it into the same folder to finish it"
                    )
                } else {
                    format!("has no {SHARD_FILE}; not the output of `initlab run --shard`")
                },
            });
        }
        shards.push((dir, read_json::<ShardFile>(&path, "an initlab shard file")?));
    }
    let mut seen = BTreeMap::new();
    for (dir, _) in &shards {
        let canonical = std::fs::canonicalize(dir).map_err(BenchError::io(*dir))?;
        if let Some(earlier) = seen.insert(canonical, *dir) {
            return Err(BenchError::Grid {
                path: (*dir).clone(),
                message: format!("is given twice (also as {})", earlier.display()),
            });
        }
    }
    let base = shards[0].1.clone();
    for (dir, shard) in &shards[1..] {
        let differences = base.identity.differences(&shard.identity);
        if !differences.is_empty() {
            return Err(BenchError::Grid {
                path: (*dir).clone(),
                message: format!(
                    "is a shard of another grid than {}: {}",
                    first.display(),
                    differences.join("; ")
                ),
            });
        }
        if shard.shard.count != base.shard.count {
            return Err(BenchError::Grid {
                path: (*dir).clone(),
                message: format!(
                    "is shard {} of a {}-way split, {} is {}: merge the shards of one split",
                    shard.shard,
                    shard.shard.count,
                    first.display(),
                    base.shard
                ),
            });
        }
        if shard.grid_runs != base.grid_runs {
            return Err(BenchError::Grid {
                path: (*dir).clone(),
                message: format!(
                    "says the grid has {} runs, {} says {}",
                    shard.grid_runs,
                    first.display(),
                    base.grid_runs
                ),
            });
        }
    }
    let specs = specs_of(&base.experiment_text, &first.join(SHARD_FILE))?;
    let mut found: BTreeMap<usize, (&PathBuf, RunResult)> = BTreeMap::new();
    for (dir, shard) in &shards {
        for (index, result) in shard.published_results(dir)? {
            let label = |i: usize| {
                specs.get(i).map_or_else(
                    || format!("run {i}"),
                    |s| format!("run {i} ({} {} seed {})", s.arch.label(), s.init, s.seed),
                )
            };
            if specs.get(index) != Some(&result.spec) {
                return Err(BenchError::Grid {
                    path: (*dir).clone(),
                    message: format!("holds {} with a spec the grid does not have", label(index)),
                });
            }
            if let Some((other, _)) = found.get(&index) {
                return Err(BenchError::Grid {
                    path: (*dir).clone(),
                    message: format!(
                        "holds {}, which {} holds too: each run belongs to one shard",
                        label(index),
                        other.display()
                    ),
                });
            }
            found.insert(index, (dir, result));
        }
    }
    let missing: Vec<usize> = (0..specs.len())
        .filter(|i| !found.contains_key(i))
        .collect();
    if !missing.is_empty() {
        let named: Vec<String> = missing
            .iter()
            .take(10)
            .map(|&i| {
                let s = &specs[i];
                format!("{i} ({} {} seed {})", s.arch.label(), s.init, s.seed)
            })
            .collect();
        return Err(BenchError::Grid {
            path: first.clone(),
            message: format!(
                "the shards hold {} of the grid's {} runs; missing run{} {}{}",
                found.len(),
                specs.len(),
                if missing.len() == 1 { "" } else { "s" },
                named.join(", "),
                if missing.len() > 10 {
                    format!(" and {} more", missing.len() - 10)
                } else {
                    String::new()
                }
            ),
        });
    }
    Ok(Merged {
        shard: base,
        specs,
        results: found.into_values().map(|(_, r)| r).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_balance_cost_and_cover_the_grid_once() {
        // One expensive run and many cheap ones: the expensive one gets a shard of its own.
        let costs = [1.0, 1.0, 50.0, 1.0, 1.0, 1.0, 48.0, 1.0];
        let shards = assign(&costs, 3);
        assert_eq!(shards, vec![vec![2], vec![6], vec![0, 1, 3, 4, 5, 7]]);
        let mut all: Vec<usize> = shards.concat();
        all.sort_unstable();
        assert_eq!(all, (0..costs.len()).collect::<Vec<_>>());
        // More shards than runs: the extra ones are empty.
        assert_eq!(assign(&[2.0, 1.0], 3), vec![vec![0], vec![1], vec![]]);
        // More shards than runs: each run alone, largest first, the rest empty; the same
        // as assign's answer, without a buffer per shard.
        let costs = [3.0, 1.0, 2.0, 5.0];
        let alone = [vec![3], vec![0], vec![2], vec![1], vec![]];
        assert_eq!(assign(&costs, 5), alone);
        for count in [5, 4_294_967_296, usize::MAX] {
            for index in [0, 1, 2, 3, 4, count - 1] {
                let expected = alone.get(index).cloned().unwrap_or_default();
                assert_eq!(runs_of(&costs, Shard { index, count }), expected);
            }
        }
        for (index, half) in assign(&costs, 2).into_iter().enumerate() {
            assert_eq!(runs_of(&costs, Shard { index, count: 2 }), half);
        }
    }

    #[test]
    fn shards_parse_as_zero_based_i_of_n() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        for bad in ["4/4", "0/0", "1", "a/2", "-1/2", ""] {
            let error = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(error.contains("--shard"), "{bad}: {error}");
        }
    }

    #[test]
    fn slurm_and_kubernetes_variables_name_the_shard() {
        fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        }
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert_eq!(
            Shard::from_env(env(&slurm)).unwrap(),
            Shard { index: 2, count: 3 }
        );
        // --array=1-3: IDs 1..3, the last is shard 2.
        let from_one = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(
            Shard::from_env(env(&from_one)).unwrap(),
            Shard { index: 2, count: 3 }
        );
        let k8s = [("JOB_COMPLETION_INDEX", "0"), ("JOB_COMPLETIONS", "4")];
        assert_eq!(
            Shard::from_env(env(&k8s)).unwrap(),
            Shard { index: 0, count: 4 }
        );
        for (pairs, expected) in [
            (&[][..], "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT"),
            (
                &[("SLURM_ARRAY_TASK_ID", "1")][..],
                "SLURM_ARRAY_TASK_COUNT",
            ),
            (
                &[("JOB_COMPLETION_INDEX", "4"), ("JOB_COMPLETIONS", "4")][..],
                "0 <= i < n",
            ),
            (
                &[("JOB_COMPLETION_INDEX", "x"), ("JOB_COMPLETIONS", "4")][..],
                "JOB_COMPLETION_INDEX",
            ),
        ] {
            let error = Shard::from_env(env(pairs)).unwrap_err().to_string();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn identities_name_what_differs() {
        let a = Identity {
            experiment: "a.toml".into(),
            experiment_hash: fingerprint(b"x"),
            build: "initlab 0.1.0 abc".into(),
            platform: "x86_64-linux".into(),
            blas_core: "Haswell".into(),
        };
        let renamed = Identity {
            experiment: "copy/a.toml".into(),
            ..a.clone()
        };
        assert!(a.differences(&renamed).is_empty());
        let b = Identity {
            experiment_hash: fingerprint(b"y"),
            blas_core: "Zen".into(),
            ..a.clone()
        };
        let differences = a.differences(&b).join("; ");
        assert!(
            differences.contains("experiment file a.toml")
                && differences.contains("BLAS core Haswell against Zen"),
            "{differences}"
        );
        assert_ne!(fingerprint(b"x"), fingerprint(b"y"));
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
    }
}
