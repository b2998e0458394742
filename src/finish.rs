//! How every command ends: progress while it runs, the provenance of its report, and its
//! output folder published as one set.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use initlab_bench::BenchError;
use initlab_bench::html::{Provenance, Report};
use initlab_bench::output::Machine;
use initlab_bench::output::OutputDir;
use initlab_bench::plot::{Figure, Pngs};

/// A progress bar on stderr counting `total` `unit`s, hidden with `--quiet` (and by
/// indicatif when stderr is not a terminal).
pub(crate) fn progress_bar(total: usize, unit: &str, quiet: bool) -> ProgressBar {
    let progress = ProgressBar::new(total as u64);
    if quiet {
        progress.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit}, {{eta}} left");
    progress.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    progress
}

/// The command line as the user typed it, starting with `initlab`: the program's own path
/// says nothing about the run and differs between machines.
pub(crate) fn command_line() -> String {
    ["initlab".to_owned()]
        .into_iter()
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// This run's provenance for its HTML report, made on `machine`.
fn provenance(
    settings: Vec<(String, String)>,
    config: Option<(String, String)>,
    machine: Machine,
) -> Provenance {
    Provenance {
        command: command_line(),
        revision: env!("INITLAB_REVISION").to_owned(),
        machine,
        threads: rayon::current_num_threads(),
        settings,
        config,
    }
}

/// Publishes the staged files as the `kind` set of the output folder, which drew
/// `figures` on `machine`, and says where they went.
fn publish(
    out: OutputDir,
    kind: &str,
    figures: &[Figure],
    machine: Machine,
) -> Result<(), BenchError> {
    let folder = out.path().to_owned();
    let stems: Vec<String> = figures.iter().map(|f| f.stem.clone()).collect();
    let files = out.commit(kind, &command_line(), &stems, machine)?;
    say!("wrote {}: {}", folder.display(), files.join(", "));
    Ok(())
}

/// A command's HTML report, written with the run's provenance before its output folder is
/// published: how every command that writes a set ends.
pub(crate) struct Ending<'a> {
    /// The set's kind in the folder's manifest (`results`, `signal`, ...).
    pub(crate) kind: &'a str,
    /// The report's file name.
    pub(crate) report_file: &'a str,
    /// The report's heading.
    pub(crate) title: String,
    /// What the command printed.
    pub(crate) markdown: String,
    /// The figures, drawn inline.
    pub(crate) figures: &'a [Figure],
    /// Which figures are also written as PNG files (`--png`).
    pub(crate) pngs: &'a Pngs,
    /// The settings the run used, by name.
    pub(crate) settings: Vec<(String, String)>,
    /// The experiment file and its text, if any.
    pub(crate) config: Option<(String, String)>,
    /// Where it ran, and on which GEMM kernel: `Machine::current(cli.kernel)`, or for a
    /// merged grid the kernel its shards ran on.
    pub(crate) machine: Machine,
}

impl Ending<'_> {
    /// Writes the report and the chosen PNGs into the staged files and publishes them as
    /// the folder's set. A `--png` name that no figure has is reported, not fatal: the
    /// set is the run's work, and `initlab merge` can draw it again.
    pub(crate) fn publish(self, out: OutputDir) -> Result<(), BenchError> {
        let unknown = self.pngs.write(out.staging(), self.figures)?;
        if !unknown.is_empty() {
            let names: Vec<&str> = self.figures.iter().map(|f| f.stem.as_str()).collect();
            eprintln!(
                "initlab: --png: no figure named {}; this set's figures are {} \
                 (`initlab merge NEW_FOLDER {} --png NAMES` draws them without training)",
                unknown.join(", "),
                names.join(", "),
                out.path().display()
            );
        }
        Report {
            title: self.title,
            markdown: self.markdown,
            figures: self.figures,
            provenance: provenance(self.settings, self.config, self.machine.clone()),
        }
        .write(out.staging(), self.report_file)?;
        publish(out, self.kind, self.figures, self.machine)
    }
}
