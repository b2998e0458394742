//! Measuring how weight initialization changes training: datasets, experiments, metrics,
//! throughput and reports. The `initlab` binary is a thin command line over this crate:
//! the application's own library, not published, its public modules being what the
//! binary, the benchmarks and the tests use.

mod bounded;
pub mod config;
pub mod coord_check;
pub mod data;
mod error;
pub mod experiment;
mod fit;
pub mod html;
pub mod kernel;
pub mod load;
pub mod memory;
pub mod network;
pub mod output;
pub mod plot;
pub mod raw_blas;
pub mod registry;
pub mod report;
pub mod shard;
pub mod signal;
pub mod throughput;

pub use error::BenchError;

/// criterion's `criterion_main!` for this workspace's benchmarks: registers the font that
/// the charts of criterion's HTML report draw their text in (plotters draws through
/// ab_glyph here, which has no font of its own) before running `$group`s.
#[macro_export]
macro_rules! criterion_main {
    ($($group:path),+ $(,)?) => {
        fn main() {
            $crate::plot::register_font();
            $($group();)+
            ::criterion::Criterion::default()
                .configure_from_args()
                .final_summary();
        }
    };
}
