//! Flags several commands read the same way.

use initlab_bench::BenchError;
use initlab_bench::experiment::Residual;
use initlab_nn::net::{Norm, Ordering};

/// The `--norm` flag.
pub(crate) fn parse_norm(norm: Option<&str>) -> Result<Option<Norm>, BenchError> {
    match norm {
        None => Ok(None),
        Some("batch") => Ok(Some(Norm::Batch)),
        Some("layer") => Ok(Some(Norm::Layer)),
        Some(other) => Err(BenchError::invalid("--norm", other, "batch or layer")),
    }
}

/// `blocks` residual blocks from the `--branch` and `--ordering` flags.
pub(crate) fn residual_blocks(
    blocks: usize,
    branch: usize,
    ordering: &str,
) -> Result<Residual, BenchError> {
    if !(1..=3).contains(&branch) {
        return Err(BenchError::invalid("--branch", branch, "1, 2 or 3"));
    }
    let ordering = match ordering {
        "pre" => Ordering::PreActivation,
        "post" => Ordering::PostActivation,
        other => return Err(BenchError::invalid("--ordering", other, "pre or post")),
    };
    Ok(Residual {
        blocks,
        layers: branch,
        ordering,
    })
}
