//! A grid's results set: the table, the files, the figures and the HTML report.

use std::time::Instant;

use initlab_bench::BenchError;
use initlab_bench::data::Dataset;
use initlab_bench::experiment::{RunResult, RunSpec, run_all};
use initlab_bench::output::Machine;
use initlab_bench::output::OutputDir;
use initlab_bench::{plot, report};

use crate::Cli;
use crate::finish::{Ending, progress_bar};

/// How reports name a dataset.
pub(crate) fn dataset_summary(dataset: &Dataset) -> String {
    format!(
        "{}: {} training and {} test samples",
        dataset.name,
        dataset.train_x.nrows(),
        dataset.test_x.nrows()
    )
}

pub(crate) fn run_and_report(
    dataset: &Dataset,
    specs: &[RunSpec],
    out: OutputDir,
    cli: &Cli,
    title: &str,
    config: Option<(String, String)>,
) -> Result<(), BenchError> {
    let epochs = specs
        .iter()
        .fold(0_usize, |sum, s| sum.saturating_add(s.epochs));
    if !cli.quiet && cli.kernel.isa().is_none() {
        let cpu = initlab_bench::throughput::VectorIsa::of_this_cpu();
        if let Some(note) =
            initlab_bench::throughput::fallback_note(&initlab_gemm::blas_info().core, cpu)
        {
            eprintln!("initlab: {note}\n");
        }
    }
    let progress = progress_bar(epochs, "epochs", cli.quiet);
    let start = Instant::now();
    let results: Vec<RunResult> = run_all(dataset, specs, cli.kernel, &progress)?;
    progress.finish_and_clear();
    say!("\n{}", report::markdown(&results));
    say!(
        "{} runs in {:.1} s{}",
        results.len(),
        start.elapsed().as_secs_f64(),
        initlab_bench::memory::peak().map_or_else(String::new, |b| format!(
            ", peak memory {} ({b} bytes)",
            initlab_bench::memory::human(b)
        ))
    );
    let machine = Machine::current(cli.kernel);
    write_report(
        &dataset_summary(dataset),
        &results,
        out,
        title,
        config,
        machine,
        cli,
    )
}

/// Writes a grid's results, figures and HTML report and publishes the folder as made on
/// `machine`.
pub(crate) fn write_report(
    dataset: &str,
    results: &[RunResult],
    out: OutputDir,
    title: &str,
    config: Option<(String, String)>,
    machine: Machine,
    cli: &Cli,
) -> Result<(), BenchError> {
    report::write_files(out.staging(), results, !cli.no_curves_csv)?;
    let figures = plot::result_figures(results);
    let mut seeds: Vec<u64> = results.iter().map(|r| r.spec.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let settings = vec![
        ("dataset".to_owned(), dataset.to_owned()),
        ("runs".to_owned(), results.len().to_string()),
        (
            "seeds".to_owned(),
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    Ending {
        kind: "results",
        report_file: "report.html",
        title: title.to_owned(),
        markdown: report::markdown(results),
        figures: &figures,
        pngs: &cli.png,
        settings,
        config,
        machine,
    }
    .publish(out)
}
