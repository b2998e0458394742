//! How busy the machine was with other work during a measurement, from `/proc/stat`, so a
//! noisy number can be labelled as such.

use serde::Serialize;

/// CPU counters at one instant (Linux jiffies, summed over all CPUs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSnapshot {
    busy: u64,
    steal: u64,
    total: u64,
    own: u64,
}

/// Load from everything but this process over an interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OtherLoad {
    /// Average number of cores other processes kept busy.
    pub cores: f64,
    /// Fraction of CPU time the hypervisor gave to other machines.
    pub steal: f64,
}

impl OtherLoad {
    /// Whether the interval was quiet enough for a clean measurement (other processes
    /// under 0.1 core on average, steal under 5%).
    pub fn is_quiet(&self) -> bool {
        self.cores < 0.1 && self.steal < 0.05
    }
}

impl CpuSnapshot {
    /// Reads `/proc/stat` and `/proc/self/stat`; `None` where they do not exist.
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let [user, nice, system, idle, iowait, irq, softirq, steal] = fields.try_into().ok()?;
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
        let after_name = own_stat.rsplit_once(')')?.1;
        let own: Vec<u64> = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        Some(Self {
            busy: user + nice + system + irq + softirq,
            steal,
            total: user + nice + system + idle + iowait + irq + softirq + steal,
            own: own.iter().sum(),
        })
    }

    /// The load others put on the machine between `self` and `later`.
    pub fn other_load_until(&self, later: &Self) -> OtherLoad {
        let total = later.total.saturating_sub(self.total).max(1) as f64;
        let others = later
            .busy
            .saturating_sub(self.busy)
            .saturating_sub(later.own.saturating_sub(self.own)) as f64;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        OtherLoad {
            cores: others / total * cpus,
            steal: later.steal.saturating_sub(self.steal) as f64 / total,
        }
    }
}
