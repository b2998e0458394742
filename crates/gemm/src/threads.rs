//! OpenBLAS's thread count and build provenance.
//!
//! The thread count is process-global state inside OpenBLAS. initlab's trainer runs
//! single-threaded BLAS inside rayon workers (OpenBLAS's own threads spin-wait and
//! collapse when another process holds a core), so code that wants BLAS threads for one
//! large product scopes them with [`BlasThreads`]. Every change goes through one lock,
//! and single-threaded sections ([`SingleThreadedBlas`]) win: a request for more threads
//! made during one takes effect when the last one ends.

use std::ffi::{CStr, c_char};
use std::sync::Mutex;

use crate::ffi;

/// The number of threads OpenBLAS uses for the next call.
pub fn blas_threads() -> usize {
    // SAFETY: a plain getter with no preconditions.
    let n = unsafe { ffi::openblas_get_num_threads() };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// OpenBLAS's thread count as callers asked for it, and how many [`SingleThreadedBlas`]
/// guards hold it at 1. One lock orders every change.
struct ThreadState {
    /// The count asked for by [`set_blas_threads`] or [`BlasThreads`] (0: never asked, the
    /// count OpenBLAS started with stands).
    requested: usize,
    /// Live single-threaded guards.
    single_holders: usize,
}

static STATE: Mutex<ThreadState> = Mutex::new(ThreadState {
    requested: 0,
    single_holders: 0,
});

impl ThreadState {
    /// The count callers asked for, or OpenBLAS's own if nobody has asked yet.
    fn requested(&self) -> usize {
        if self.requested == 0 {
            blas_threads()
        } else {
            self.requested
        }
    }

    /// Records `threads` and applies it unless a single-threaded section is running.
    fn request(&mut self, threads: usize) {
        self.requested = threads.max(1);
        if self.single_holders == 0 {
            apply(self.requested);
        }
    }
}

fn state() -> std::sync::MutexGuard<'static, ThreadState> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn apply(threads: usize) {
    let n = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
    // SAFETY: OpenBLAS accepts any positive count and clamps it.
    unsafe { ffi::openblas_set_num_threads(n) }
}

/// Sets the number of threads OpenBLAS uses; 0 is taken as 1.
///
/// While a [`SingleThreadedBlas`] guard lives anywhere in the process (a training run, a
/// grid), the request is recorded and applied when the last guard drops: no toggle from
/// another thread can turn BLAS threads on under a running single-threaded computation.
/// OpenBLAS caps the count at the number it was built for.
pub fn set_blas_threads(threads: usize) {
    state().request(threads);
}

/// Sets OpenBLAS's thread count for a scope and restores the previous count on drop; like
/// [`set_blas_threads`], it waits for single-threaded sections to end before taking
/// effect.
///
/// # Examples
/// ```rust,standalone_crate
/// use initlab_gemm::{blas_threads, BlasThreads};
///
/// let before = blas_threads();
/// {
///     let _single = BlasThreads::set(1);
///     assert_eq!(blas_threads(), 1);
/// }
/// assert_eq!(blas_threads(), before);
/// ```
#[derive(Debug)]
#[must_use = "the previous thread count is restored when the guard is dropped"]
pub struct BlasThreads {
    previous: usize,
}

impl BlasThreads {
    /// Switches OpenBLAS to `threads` threads until the guard is dropped.
    pub fn set(threads: usize) -> Self {
        let mut state = state();
        let previous = state.requested();
        state.request(threads);
        Self { previous }
    }
}

impl Drop for BlasThreads {
    fn drop(&mut self) {
        set_blas_threads(self.previous);
    }
}

/// Keeps OpenBLAS single-threaded while any guard is alive. It is safe to hold from
/// several threads at once (e.g. concurrent training runs): the first guard switches
/// OpenBLAS to one thread and the last one to drop applies the count callers asked for,
/// so one run finishing never hands multi-threaded BLAS to another that is still running,
/// and [`set_blas_threads`] or [`BlasThreads`] from elsewhere waits for both.
///
/// # Examples
/// ```rust,standalone_crate
/// use initlab_gemm::{blas_threads, SingleThreadedBlas};
///
/// let before = blas_threads();
/// let outer = SingleThreadedBlas::new();
/// let inner = SingleThreadedBlas::new();
/// drop(outer);
/// assert_eq!(blas_threads(), 1, "still held by `inner`");
/// drop(inner);
/// assert_eq!(blas_threads(), before);
/// ```
#[derive(Debug)]
#[must_use = "BLAS is single-threaded only while the guard lives"]
pub struct SingleThreadedBlas {
    _private: (),
}

impl SingleThreadedBlas {
    /// Makes OpenBLAS single-threaded until every guard is dropped.
    pub fn new() -> Self {
        let mut state = state();
        if state.single_holders == 0 {
            // Read before switching to 1, which `requested()` would then report.
            state.requested = state.requested();
            apply(1);
        }
        state.single_holders += 1;
        Self { _private: () }
    }
}

impl Default for SingleThreadedBlas {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SingleThreadedBlas {
    fn drop(&mut self) {
        let mut state = state();
        state.single_holders -= 1;
        if state.single_holders == 0 {
            apply(state.requested);
        }
    }
}

/// Which OpenBLAS is linked and how it runs: provenance for benchmark reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlasInfo {
    /// The kernel family OpenBLAS picked for this CPU (e.g. `"Haswell"`, `"SkylakeX"`).
    pub core: String,
    /// OpenBLAS's build configuration string (version, options, max threads).
    pub config: String,
    /// How OpenBLAS was built to parallelize: `"sequential"`, `"pthreads"` or `"openmp"`.
    pub threading: &'static str,
    /// The thread count in force now.
    pub threads: usize,
}

/// Reads the linked OpenBLAS's kernel family, configuration and threading.
pub fn blas_info() -> BlasInfo {
    // OpenBLAS rebuilds one global buffer on every `openblas_get_config()`, so a second
    // thread could read it half-written: ask once per process.
    static STATIC_INFO: std::sync::OnceLock<(String, String, i32)> = std::sync::OnceLock::new();
    let (core, config, parallel) = STATIC_INFO.get_or_init(|| {
        // SAFETY: OpenBLAS returns pointers to NUL-terminated strings, read here once
        // under the OnceLock before anything else can call into the same buffer.
        unsafe {
            (
                c_string(ffi::openblas_get_corename()),
                c_string(ffi::openblas_get_config()),
                ffi::openblas_get_parallel(),
            )
        }
    });
    BlasInfo {
        core: core.clone(),
        config: config.clone(),
        threading: match *parallel {
            0 => "sequential",
            1 => "pthreads",
            2 => "openmp",
            _ => "unknown",
        },
        threads: blas_threads(),
    }
}

/// # Safety
/// `ptr` is null or points to a NUL-terminated string that outlives the call.
unsafe fn c_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .trim()
        .to_owned()
}
