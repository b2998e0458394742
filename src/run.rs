//! `initlab run FILE`: an experiment file's grid, or one shard of it, each finished run
//! recorded at once so that the same command resumes a killed one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use initlab_bench::output::Machine;
use initlab_bench::output::OutputDir;
use initlab_bench::{BenchError, config, report};

use crate::finish::progress_bar;
use crate::results::{dataset_summary, write_report};
use crate::{BUNDLED_MNIST, Cli};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RunArgs {
    /// The experiment file.
    pub(crate) config: PathBuf,
    /// Run only the i-th of n slices of the grid (0-based: 0/4 … 3/4), balanced by
    /// estimated cost; `initlab merge` puts the slices' folders back together.
    #[arg(long)]
    pub(crate) shard: Option<initlab_bench::shard::Shard>,
    /// Take the shard from a batch scheduler's environment: SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT (Slurm job arrays), or JOB_COMPLETION_INDEX and
    /// JOB_COMPLETIONS (Kubernetes Indexed Jobs).
    #[arg(long, conflicts_with = "shard")]
    pub(crate) shard_from_env: bool,
    /// Start over: forget the runs recorded in the output folder.
    #[arg(long)]
    pub(crate) fresh: bool,
}

pub(crate) fn run_file(args: &RunArgs, cli: &Cli) -> Result<(), BenchError> {
    let path = &args.config;
    let (file, text) = config::parse_with_text(path)?;
    let specs = file.specs()?;
    let shard = match (args.shard, args.shard_from_env) {
        (Some(shard), _) => shard,
        (None, true) => initlab_bench::shard::Shard::from_env(|name| std::env::var(name).ok())?,
        (None, false) => initlab_bench::shard::Shard::WHOLE,
    };
    let out = OutputDir::claim(cli.out())?;
    let dataset = file.dataset(Path::new(BUNDLED_MNIST))?;
    let costs = specs
        .iter()
        .map(|spec| initlab_bench::experiment::estimated_cost(&dataset, spec))
        .collect::<Result<Vec<f64>, _>>()?;
    let identity = initlab_bench::shard::Identity::current(
        &path.display().to_string(),
        &text,
        env!("INITLAB_REVISION"),
        cli.kernel,
    );
    let (store, recorded) =
        initlab_bench::shard::RunStore::open(out.path(), &identity, args.fresh)?;
    let plan = initlab_bench::shard::Plan::new(&specs, &costs, shard, recorded, out.path())?;
    say!(
        "initlab run {}: {} runs on {} ({} training samples){}{}",
        path.display(),
        specs.len(),
        dataset.name,
        dataset.train_x.nrows(),
        if shard.count > 1 {
            format!("; shard {shard} holds {}", plan.mine.len())
        } else {
            String::new()
        },
        if plan.done.is_empty() {
            String::new()
        } else {
            format!(
                "; {} already done in {}, {} to run",
                plan.done.len(),
                out.path().display(),
                plan.todo.len()
            )
        }
    );
    let todo_specs = plan.todo_specs(&specs);
    let epochs = todo_specs
        .iter()
        .fold(0_usize, |sum, s| sum.saturating_add(s.epochs));
    let progress = progress_bar(epochs, "epochs", cli.quiet);
    let start = Instant::now();
    let finished = initlab_bench::experiment::run_all_recorded(
        &dataset,
        &todo_specs,
        cli.kernel,
        &progress,
        |k, result| store.record(plan.todo[k], result),
    )?;
    progress.finish_and_clear();
    let ran = plan.todo.len();
    let mine = plan.mine.clone();
    let results = plan.results(finished);
    say!(
        "\n{}\n{} runs in {:.1} s{}",
        report::markdown(&results),
        ran,
        start.elapsed().as_secs_f64(),
        initlab_bench::memory::peak().map_or_else(String::new, |b| format!(
            ", peak memory {} ({b} bytes)",
            initlab_bench::memory::human(b)
        ))
    );
    let shard_file = initlab_bench::shard::ShardFile {
        identity,
        shard,
        grid_runs: specs.len(),
        runs: mine,
        experiment_text: text.clone(),
        dataset: dataset_summary(&dataset),
    };
    shard_file.write(out.staging())?;
    let title = format!("initlab run {}", path.display());
    let config = Some((path.display().to_string(), text));
    let machine = Machine::current(cli.kernel);
    write_report(
        &shard_file.dataset,
        &results,
        out,
        &title,
        config,
        machine,
        cli,
    )
}
