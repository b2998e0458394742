//! The memory budget: what a run or a file will need, estimated from its sizes with checked
//! arithmetic and compared with what the machine has before anything is allocated.

use std::path::Path;

use crate::BenchError;

/// Bytes of memory available to this process: the kernel's `MemAvailable`, lowered to what
/// the process's own cgroups leave it (v1 or v2, nested ones included: a Slurm job, a
/// Kubernetes pod, a systemd slice) and to what its address-space limit (`ulimit -v`)
/// leaves; `None` where `MemAvailable` cannot be read (non-Linux).
pub fn available() -> Option<u64> {
    let mut bytes = proc_kib("/proc/meminfo", "MemAvailable:")?;
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for headroom in [
        cgroup_headroom(Path::new("/sys/fs/cgroup"), &own),
        address_space_headroom(),
    ]
    .into_iter()
    .flatten()
    {
        bytes = bytes.min(headroom);
    }
    Some(bytes)
}

/// What the cgroups of a process leave it: for every cgroup from its own up to its
/// hierarchy's root, the limit less the usage, and the least of them. `self_cgroup` is the
/// text of its `/proc/self/cgroup`, and `root` where the hierarchies are mounted
/// (`/sys/fs/cgroup`): v2's unified one at `root` (or `root/unified` on a hybrid system),
/// with `memory.max` and `memory.current`; v1's memory controller at `root/memory`, with
/// `memory.limit_in_bytes` and `memory.usage_in_bytes`. `None` where no cgroup on the way
/// sets a limit it can read (`max` is none).
pub fn cgroup_headroom(root: &Path, self_cgroup: &str) -> Option<u64> {
    let mut least: Option<u64> = None;
    for line in self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let (mount, limit_file, usage_file) = if controllers.is_empty() {
            let unified = root.join("unified");
            let mount = if unified.is_dir() {
                unified
            } else {
                root.to_owned()
            };
            (mount, "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let mut dir = mount.join(path.trim_start_matches('/'));
        while dir.starts_with(&mount) {
            let read = |file: &str| {
                std::fs::read_to_string(dir.join(file))
                    .ok()
                    .and_then(|text| text.trim().parse::<u64>().ok())
            };
            if let (Some(limit), Some(used)) = (read(limit_file), read(usage_file)) {
                let headroom = limit.saturating_sub(used);
                least = Some(least.map_or(headroom, |l| l.min(headroom)));
            }
            if !dir.pop() {
                break;
            }
        }
    }
    least
}

/// What the address-space limit (`RLIMIT_AS`, `ulimit -v`) leaves this process beyond
/// what it has mapped already (`VmSize`); `None` without a limit.
#[cfg(target_os = "linux")]
fn address_space_headroom() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct it is given, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let mapped = proc_kib("/proc/self/status", "VmSize:")?;
    Some(limit.rlim_cur.saturating_sub(mapped))
}

#[cfg(not(target_os = "linux"))]
fn address_space_headroom() -> Option<u64> {
    None
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
