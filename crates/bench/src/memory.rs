//! The memory budget: what a run or a file will need, estimated from its sizes with checked
//! arithmetic and compared with what the machine has before anything is allocated.

use crate::BenchError;

/// Bytes of memory available to this process: the kernel's `MemAvailable`, lowered to the
/// cgroup's limit where one is set; `None` where neither can be read (non-Linux).
pub fn available() -> Option<u64> {
    let mut bytes = proc_kib("/proc/meminfo", "MemAvailable:")?;
    let cgroup_limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let cgroup_used = std::fs::read_to_string("/sys/fs/cgroup/memory.current")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    if let (Some(limit), Some(used)) = (cgroup_limit, cgroup_used) {
        bytes = bytes.min(limit.saturating_sub(used));
    }
    Some(bytes)
}

/// Refuses `needed` bytes (`None`: past what arithmetic can count) when they exceed the
/// memory available, naming `field` as the cause.
///
/// # Errors
/// [`BenchError::Memory`] with the estimate and what is available.
pub fn check(field: &str, needed: Option<u64>) -> Result<(), BenchError> {
    let available = available();
    match (needed, available) {
        (Some(needed), Some(available)) if needed <= available => Ok(()),
        (Some(_), None) => Ok(()),
        (needed, available) => Err(BenchError::Memory {
            field: field.to_owned(),
            needed,
            available,
        }),
    }
}

/// `bytes` in B, KiB, MiB, GiB, ... with three significant digits.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ if value >= 100.0 => format!("{value:.0} {}", UNITS[unit]),
        _ if value >= 10.0 => format!("{value:.1} {}", UNITS[unit]),
        _ => format!("{value:.2} {}", UNITS[unit]),
    }
}

/// Bytes to train a network of layer `widths` (input to output) on batches of `rows`
/// samples with `value_bytes`-byte numbers: the weights and biases four times
/// (parameters, gradients, two optimizer moments) and three numbers per unit and row
/// (pre-activation, activation, gradient). `None` if the count overflows.
pub fn training_bytes(widths: &[usize], rows: usize, value_bytes: u64) -> Option<u64> {
    let mut params: u64 = 0;
    for pair in widths.windows(2) {
        let layer = (pair[0] as u64)
            .checked_add(1)?
            .checked_mul(pair[1] as u64)?;
        params = params.checked_add(layer)?;
    }
    let units = widths
        .iter()
        .try_fold(0_u64, |sum, &w| sum.checked_add(w as u64))?;
    let activations = units.checked_mul(rows as u64)?.checked_mul(3)?;
    params
        .checked_mul(4)?
        .checked_add(activations)?
        .checked_mul(value_bytes)
}

/// Refuses a layer wider than BLAS's 32-bit sizes can address, naming `field`.
///
/// # Errors
/// [`BenchError::Invalid`] naming the field and the width.
pub fn check_widths(field: &str, widths: &[usize]) -> Result<(), BenchError> {
    match widths.iter().find(|&&w| w > i32::MAX as usize) {
        None => Ok(()),
        Some(w) => Err(BenchError::invalid(
            field,
            w,
            format!("a width of at most {} (BLAS's 32-bit sizes)", i32::MAX),
        )),
    }
}

/// The most memory this process has held so far (`VmHWM`), where the system reports it.
pub fn peak() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM:")
}

/// The `key: N kB` line of a `/proc` file, in bytes.
fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}
