//! Measuring how weight initialization changes training: datasets, experiments, metrics,
//! throughput and reports. The `initlab` binary is a thin command line over this crate.

pub mod throughput;
