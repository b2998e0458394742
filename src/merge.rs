//! `initlab merge OUT SHARD_DIR...`: a sharded grid's folders back into one result set.

use std::path::PathBuf;

use initlab_bench::output::{Machine, OutputDir};
use initlab_bench::{BenchError, config, report};

use crate::Cli;
use crate::results::write_report;

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MergeArgs {
    /// The folder to write the whole grid's results into (instead of --out).
    #[arg(value_name = "OUT")]
    pub(crate) into: PathBuf,
    /// The shards' output folders, one per shard.
    #[arg(value_name = "SHARD_DIR", required = true)]
    pub(crate) shards: Vec<PathBuf>,
}

pub(crate) fn merge(args: &MergeArgs, cli: &Cli) -> Result<(), BenchError> {
    if let Some(out) = &cli.out {
        return Err(BenchError::invalid(
            "--out",
            out.display(),
            "no --out with merge, which writes into its first argument: initlab merge OUT SHARD_DIR...",
        ));
    }
    let merged = initlab_bench::shard::merge(&args.shards, |text, path| {
        config::parse_text(text, path)?.specs()
    })?;
    let out = OutputDir::claim(&args.into)?;
    say!(
        "initlab merge: {} runs of {} from {} shards",
        merged.results.len(),
        merged.shard.identity.experiment,
        args.shards.len()
    );
    say!("\n{}", report::markdown(&merged.results));
    let title = format!("initlab run {}", merged.shard.identity.experiment);
    let config = Some((
        merged.shard.identity.experiment.clone(),
        merged.shard.experiment_text.clone(),
    ));
    let shard_file = initlab_bench::shard::ShardFile {
        shard: initlab_bench::shard::Shard::WHOLE,
        runs: (0..merged.specs.len()).collect(),
        ..merged.shard
    };
    shard_file.write(out.staging())?;
    // The shards' kernel, which their identities share, not this process's `--gemm`: a
    // merge multiplies nothing.
    let machine = Machine {
        blas_core: shard_file.identity.blas_core.clone(),
        ..Machine::current(cli.kernel)
    };
    write_report(
        &shard_file.dataset,
        &merged.results,
        out,
        &title,
        config,
        machine,
        cli,
    )
}
