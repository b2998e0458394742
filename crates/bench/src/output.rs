//! The `--out` folder, written as a set: a command claims the folder before any work,
//! writes into a private staging folder beside it, and swaps the staging folder into
//! place in one atomic rename. Whatever moment a run is killed at, the folder holds the
//! old complete set or the new one, never a mix.
//!
//! - **Claim.** The folder is created if missing and locked (`flock` on the folder itself);
//!   a second run into it is refused at once, naming the folder. A folder that holds files
//!   initlab did not write is refused too, since the swap replaces the folder as a whole.
//! - **Stage.** Files go to `.NAME.staging-PID-NANOS` beside the folder: a name unique
//!   per process, so concurrent runs never share a temporary file, and creating it proves
//!   the parent is writable before any training starts.
//! - **Commit.** The files other commands wrote earlier (listed in `manifest.json`) are
//!   hard-linked into the staging folder, the manifest is written, and the staging folder
//!   is exchanged with the old one (`renameat2(RENAME_EXCHANGE)` on Linux; elsewhere two
//!   renames, not atomic). A staging folder left by a killed run is removed by the next
//!   claim of the same folder.
//! - **Records.** The one thing written into the folder itself, not staged: `runs/`, one
//!   file per finished run of `initlab run` (see [`crate::shard`]), so that a killed run
//!   resumes. The swap leaves it with the old folder: once published, the runs are in
//!   `results.json`.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::BenchError;

/// The file that lists which command wrote which file; written last into the staging folder.
pub const MANIFEST: &str = "manifest.json";

/// The files one command wrote in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSet {
    /// What kind of output: `results` (demo and run), `signal` or `throughput`. A new set
    /// replaces the old set of the same kind, and keeps the others.
    pub kind: String,
    /// The command line that wrote it.
    pub command: String,
    /// When the set was committed, seconds since the Unix epoch.
    pub finished_unix: u64,
    /// File names inside the folder.
    pub files: Vec<String>,
    /// The stems of the figures its report draws, whether or not `files` holds them as
    /// PNGs (`--png`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
    /// Where the numbers were computed: results depend on the CPU and the BLAS kernel.
    #[serde(default)]
    pub machine: Machine,
}

/// The CPU and BLAS a set was computed with: other GEMM kernels round differently, so
/// results are bitwise reproducible only on the same kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`), or the architecture elsewhere.
    pub cpu: String,
    /// What runs the products ([`Kernel::describe`](initlab_gemm::Kernel::describe)): the
    /// kernel family OpenBLAS runs (`Haswell`, `Cooperlake`, ...) or, on the packed kernel,
    /// initlab-gemm's own beside it.
    pub blas_core: String,
    /// OpenBLAS's build configuration (version and options).
    pub blas_config: String,
    /// `OPENBLAS_CORETYPE` if set, which overrides OpenBLAS's own choice of kernel.
    pub openblas_coretype: Option<String>,
}

impl Machine {
    /// This machine, its f32 products on `kernel`.
    pub fn current(kernel: initlab_gemm::Kernel) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let blas = initlab_gemm::blas_info();
        Self {
            cpu,
            blas_core: kernel.describe(),
            blas_config: blas.config,
            openblas_coretype: std::env::var("OPENBLAS_CORETYPE").ok(),
        }
    }
}

/// The contents of [`MANIFEST`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// One set per kind, in the order they were first written.
    pub sets: Vec<OutputSet>,
}

impl Manifest {
    /// Reads the manifest of `dir`; an absent one is empty.
    ///
    /// # Errors
    /// An unreadable or malformed manifest, naming the file.
    pub fn read(dir: &Path) -> Result<Self, BenchError> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Ok(Self::default());
        }
        crate::bounded::read_json(&path, "an initlab output manifest")
    }

    /// Every file any set lists.
    fn files(&self) -> BTreeSet<&str> {
        self.sets
            .iter()
            .flat_map(|s| s.files.iter().map(String::as_str))
            .collect()
    }
}

/// An output folder claimed by this process: locked, with a staging folder to write into.
/// Dropping it without [`OutputDir::commit`] removes the staging folder and leaves the
/// folder as it was.
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    staging: PathBuf,
    /// Holds the lock until the set is committed or abandoned.
    _lock: File,
    created: bool,
    /// Committed, or failed with the staging folder kept for the user: either way, not
    /// for `Drop` to clean up.
    settled: bool,
}

impl OutputDir {
    /// Claims `path` for one command's output, before any work.
    ///
    /// # Errors
    /// [`BenchError::Output`] when `path` is not a folder, holds files initlab did not
    /// write, or is in use by another run; [`BenchError::Io`] naming the path that cannot be
    /// created or written.
    pub fn claim(path: &Path) -> Result<Self, BenchError> {
        let refuse = |why: String| BenchError::Output {
            path: path.to_owned(),
            message: why,
        };
        let created = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => false,
            Ok(_) => return Err(refuse("exists and is not a folder".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(path).map_err(BenchError::io(path))?;
                true
            }
            Err(e) => return Err(BenchError::io(path)(e)),
        };
        // The swap replaces the path's target; a symbolic link keeps pointing at it.
        let path = std::fs::canonicalize(path).map_err(BenchError::io(path))?;
        let (parent, name) = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => (parent.to_owned(), name.to_string_lossy().into_owned()),
            _ => return Err(refuse("is a root folder; name a folder inside one".into())),
        };
        let lock = File::open(&path).map_err(BenchError::io(&path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(refuse(
                    "is being written by another initlab run; wait for it to finish or choose another --out"
                        .into(),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(BenchError::io(&path)(e)),
        }
        // Another run may have swapped a new folder in between our open and our lock.
        if !same_file(&lock, &path)? {
            return Err(refuse(
                "was replaced by another initlab run while being claimed; try again".into(),
            ));
        }
        let manifest = Manifest::read(&path)?;
        let ours = manifest.files();
        let foreign: Vec<String> = std::fs::read_dir(&path)
            .map_err(BenchError::io(&path))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != MANIFEST && n != crate::shard::RUNS_DIR && !ours.contains(n.as_str()))
            .collect();
        if !foreign.is_empty() {
            return Err(refuse(format!(
                "holds {} that initlab did not write ({}); initlab replaces its output folder as a whole, so choose an empty or new folder",
                if foreign.len() == 1 {
                    "a file"
                } else {
                    "files"
                },
                foreign
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        remove_stale_staging(&parent, &name);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let staging = parent.join(format!(".{name}.staging-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&staging).map_err(BenchError::io(&staging))?;
        Ok(Self {
            path,
            staging,
            _lock: lock,
            created,
            settled: false,
        })
    }

    /// The folder to write this run's files into.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The claimed folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Publishes everything written into [`Self::staging`] as the set of `kind`, whose
    /// report draws `figures` (their stems) and which `machine` made, keeping the other
    /// kinds' sets, and returns the published file names.
    ///
    /// # Errors
    /// [`BenchError::Output`] naming what could not be linked, written or renamed; the
    /// folder then still holds its old set, and this run's files stay in the staging
    /// folder, which the message names, so a finished run is never lost.
    pub fn commit(
        mut self,
        kind: &str,
        command: &str,
        figures: &[String],
        machine: Machine,
    ) -> Result<Vec<String>, BenchError> {
        match self.publish(kind, command, figures, machine) {
            Ok(files) => {
                self.settled = true;
                // The staging path now holds the old set.
                let _ = std::fs::remove_dir_all(&self.staging);
                Ok(files)
            }
            Err(error) => {
                // Keep the staging folder: it holds the run's results.
                self.settled = true;
                Err(BenchError::Output {
                    path: self.path.clone(),
                    message: format!(
                        "{error}; this run's files are kept in {}",
                        self.staging.display()
                    ),
                })
            }
        }
    }

    /// Links the other kinds' files and the manifest into the staging folder and swaps it
    /// in; the file names of this run's set.
    fn publish(
        &self,
        kind: &str,
        command: &str,
        figures: &[String],
        machine: Machine,
    ) -> Result<Vec<String>, BenchError> {
        let mut files: Vec<String> = std::fs::read_dir(&self.staging)
            .map_err(BenchError::io(&self.staging))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let old = Manifest::read(&self.path)?;
        let mut manifest = Manifest::default();
        for mut set in old.sets.into_iter().filter(|s| s.kind != kind) {
            // A file of another set that was deleted by hand is no longer part of it.
            set.files.retain(|file| self.path.join(file).is_file());
            for file in &set.files {
                let (from, to) = (self.path.join(file), self.staging.join(file));
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to).map_err(BenchError::io(&from))?;
                }
            }
            manifest.sets.push(set);
        }
        manifest.sets.push(OutputSet {
            kind: kind.to_owned(),
            command: command.to_owned(),
            finished_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            files: files.clone(),
            figures: figures.to_vec(),
            machine,
        });
        let manifest_path = self.staging.join(MANIFEST);
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        std::fs::write(&manifest_path, json).map_err(BenchError::io(&manifest_path))?;
        exchange(&self.staging, &self.path)?;
        Ok(files)
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.settled {
            let _ = std::fs::remove_dir_all(&self.staging);
            if self.created {
                // Only removes the folder if it is still empty.
                let _ = std::fs::remove_dir(&self.path);
            }
        }
    }
}

/// Whether the open `file` is the file at `path` now.
fn same_file(file: &File, path: &Path) -> Result<bool, BenchError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata().map_err(BenchError::io(path))?;
        let now = std::fs::metadata(path).map_err(BenchError::io(path))?;
        Ok(open.dev() == now.dev() && open.ino() == now.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(true)
    }
}

/// Removes staging folders that killed runs left beside `parent/name`; the caller holds the
/// folder's lock, so no live run is writing them.
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}.staging-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Atomically swaps the folders `staging` and `target`.
#[cfg(target_os = "linux")]
fn exchange(staging: &Path, target: &Path) -> Result<(), BenchError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c =
        |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|e| BenchError::io(p)(e.into()));
    let (from, to) = (c(staging)?, c(target)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        // A file system without RENAME_EXCHANGE.
        Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP) => swap_by_renames(staging, target),
        _ => Err(BenchError::io(target)(error)),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(staging: &Path, target: &Path) -> Result<(), BenchError> {
    swap_by_renames(staging, target)
}

/// Swaps `staging` and `target` with three renames; not atomic, for systems without an
/// exchange.
fn swap_by_renames(staging: &Path, target: &Path) -> Result<(), BenchError> {
    let aside = staging.with_file_name(format!(
        "{}.old",
        staging.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::rename(target, &aside).map_err(BenchError::io(target))?;
    std::fs::rename(staging, target).map_err(BenchError::io(target))?;
    std::fs::rename(&aside, staging).map_err(BenchError::io(staging))
}
