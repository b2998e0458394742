//! The memory a fuzzed reader is given: a small, known budget, seen by initlab's own
//! memory estimate (`initlab_bench::memory::available`), so that an input asking for more
//! must be refused, and an allocation past it is a finding.

/// What the process may map beyond what it has mapped when the limit is set: the headroom
/// `initlab_bench::memory::available` then reports.
pub const BUDGET: u64 = 512 << 20;

/// Lowers this process's address-space limit (`ulimit -v`) to what it has mapped now plus
/// [`BUDGET`], once; a lower limit already set is kept. initlab reads the limit as memory
/// available, so its estimates refuse what would not fit in the budget. Elsewhere than
/// Linux, where initlab reads no limit, it does nothing, and only the per-byte bound of
/// the proportional readers holds.
///
/// # Panics
/// On Linux, if `/proc/self/status` has no `VmSize` or the limit cannot be set.
pub fn limit_memory() {
    #[cfg(target_os = "linux")]
    lower_address_space_limit();
}

#[cfg(target_os = "linux")]
fn lower_address_space_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let mapped_kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmSize:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmSize in /proc/self/status");
        let wanted = mapped_kib * 1024 + BUDGET;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write one `rlimit` we own.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut limit), 0);
            if limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur > wanted {
                limit.rlim_cur = wanted;
                assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &limit), 0);
            }
        }
    });
}
