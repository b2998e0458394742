//! Measuring how weight initialization changes training: datasets, experiments, metrics,
//! throughput and reports. The `initlab` binary is a thin command line over this crate.

mod bounded;
pub mod config;
pub mod data;
mod error;
pub mod experiment;
pub mod html;
pub mod load;
pub mod memory;
pub mod output;
pub mod plot;
pub mod quadrature;
pub mod registry;
pub mod report;
pub mod signal;
pub mod throughput;
pub mod verdict;

pub use error::BenchError;
