//! Reports: a Markdown table for the terminal, CSV and JSON of every number.

use std::fmt::Write as _;
use std::path::Path;

use crate::BenchError;
use crate::experiment::RunResult;

/// Runs that share everything but the seed.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The runs, in seed order.
    pub runs: Vec<&'a RunResult>,
}

impl Group<'_> {
    /// Mean and sample standard deviation of the final accuracy over seeds.
    pub fn accuracy(&self) -> (f64, f64) {
        let n = self.runs.len() as f64;
        let mean = self.runs.iter().map(|r| r.final_accuracy).sum::<f64>() / n;
        let var = self
            .runs
            .iter()
            .map(|r| (r.final_accuracy - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0).max(1.0);
        (mean, var.sqrt())
    }

    /// `3/3 converged`, `2 diverged, 1 stalled`, ...
    pub fn outcomes(&self) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for run in &self.runs {
            let name = run.outcome.name();
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        counts
            .iter()
            .map(|(n, c)| format!("{c}/{} {n}", self.runs.len()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Groups results by architecture, initializer, optimizer (learning rate included) and
/// parametrization, keeping the order of first appearance.
pub fn groups(results: &[RunResult]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for result in results {
        let same = |g: &&mut Group<'_>| {
            let spec = &g.runs[0].spec;
            spec.arch == result.spec.arch
                && spec.init == result.spec.init
                && spec.optimizer == result.spec.optimizer
                && spec.mup_base == result.spec.mup_base
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(group) => group.runs.push(result),
            None => groups.push(Group { runs: vec![result] }),
        }
    }
    groups
}

/// Whether the results sweep learning rates or parametrizations: then a group's name
/// says which (see [`group_name`]).
pub fn is_sweep(results: &[RunResult]) -> bool {
    results.iter().any(|r| r.spec.mup_base.is_some()) || sweeps_learning_rates(results)
}

/// Whether the results hold more than one learning rate.
fn sweeps_learning_rates(results: &[RunResult]) -> bool {
    results
        .iter()
        .any(|r| r.spec.optimizer.lr() != results[0].spec.optimizer.lr())
}

/// A group's name in tables and legends: its initializer, and in a sweep its learning rate
/// and parametrization.
pub fn group_name(spec: &crate::experiment::RunSpec, sweep: bool) -> String {
    if sweep {
        format!(
            "{}, lr {}, {}",
            spec.init,
            spec.optimizer.lr(),
            spec.parametrization_name()
        )
    } else {
        spec.init.clone()
    }
}

/// The headline table: one row per architecture and initializer (and in a sweep, learning
/// rate and parametrization), mean ± sd over seeds, the outcomes and the first seed's
/// verdict; a sweep of learning rates adds the best one per network.
pub fn markdown(results: &[RunResult]) -> String {
    let mut out = table(results);
    if sweeps_learning_rates(results) {
        out.push('\n');
        out.push_str(&best_learning_rates(results));
    }
    out
}

/// Per parametrization, network and initializer, the learning rate with the lowest mean
/// final training loss over seeds (diverged runs count as infinite).
pub fn best_learning_rates(results: &[RunResult]) -> String {
    let mut out = String::from(
        "| parametrization | network | init | best lr | log2 | final training loss |\n|---|---|---|---:|---:|---:|\n",
    );
    let groups = groups(results);
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for group in &groups {
        let spec = &group.runs[0].spec;
        let key = (
            spec.parametrization_name(),
            spec.arch.label(),
            spec.init.clone(),
        );
        if seen.contains(&key) {
            continue;
        }
        let best = groups
            .iter()
            .filter(|g| {
                let s = &g.runs[0].spec;
                (s.parametrization_name(), s.arch.label(), s.init.clone()) == key
            })
            .map(|g| (g.runs[0].spec.optimizer.lr(), final_loss(g)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a group has runs");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} | {:.4} |",
            key.0,
            key.1,
            key.2,
            best.0,
            best.0.log2(),
            best.1
        );
        seen.push(key);
    }
    out
}

/// Mean over seeds of the last epoch's training loss; infinite for a run that diverged or
/// has no epoch.
pub fn final_loss(group: &Group<'_>) -> f64 {
    let losses: Vec<f64> = group
        .runs
        .iter()
        .map(|r| match (r.outcome, r.epochs.last()) {
            (crate::experiment::Outcome::Diverged { .. }, _) | (_, None) => f64::INFINITY,
            (_, Some(epoch)) => epoch.train_loss,
        })
        .collect();
    losses.iter().sum::<f64>() / losses.len() as f64
}

/// The table of [`markdown`].
fn table(results: &[RunResult]) -> String {
    let sweep = is_sweep(results);
    let first_seed = results.first().map_or(0, |r| r.spec.seed);
    let mut out = format!(
        "| network | init | test accuracy | outcome | verdict (seed {first_seed}) |\n|---|---|---:|---|---|\n",
    );
    for group in groups(results) {
        let first = group.runs[0];
        let (mean, sd) = group.accuracy();
        let _ = writeln!(
            out,
            "| {} | {} | {:.1}% ± {:.1} | {} | {} |",
            first.spec.arch.label(),
            group_name(&first.spec, sweep),
            100.0 * mean,
            100.0 * sd,
            group.outcomes(),
            first.verdict
        );
    }
    out
}

/// The columns that say which run a CSV row belongs to: every one the grid can vary, so
/// the rows of a learning-rate or parametrization sweep stay apart.
const RUN_COLUMNS: &str = "network,init,lr,parametrization,seed";

/// A run's values of [`RUN_COLUMNS`].
fn run_columns(r: &RunResult) -> String {
    format!(
        "{},{},{},{},{}",
        r.spec.arch.label(),
        r.spec.init,
        r.spec.optimizer.lr(),
        r.spec.parametrization_name(),
        r.spec.seed
    )
}

/// One CSV row per run and epoch.
pub fn csv(results: &[RunResult]) -> String {
    let mut out = format!(
        "{RUN_COLUMNS},epoch,step,train_loss,test_accuracy,outcome,final_accuracy,steps_to_target,wall_seconds,samples_per_second,gflops\n",
    );
    for r in results {
        let run = run_columns(r);
        for (epoch, m) in r.epochs.iter().enumerate() {
            let _ = writeln!(
                out,
                "{run},{},{},{},{},{},{},{},{:.3},{:.0},{:.2}",
                epoch + 1,
                m.step,
                m.train_loss,
                m.test_accuracy.map_or(String::new(), |a| a.to_string()),
                r.outcome.name(),
                r.final_accuracy,
                r.steps_to_target.map_or(String::new(), |s| s.to_string()),
                r.wall_seconds,
                r.samples_per_second,
                r.gflops
            );
        }
    }
    out
}

/// One CSV row per run and recorded point of its loss curve (step 0 is initialization).
pub fn curves_csv(results: &[RunResult]) -> String {
    let mut out = format!("{RUN_COLUMNS},step,train_loss\n");
    for r in results {
        let run = run_columns(r);
        for point in &r.loss_curve.points {
            let _ = writeln!(out, "{run},{},{}", point.step, point.train_loss);
        }
    }
    out
}

/// Writes `<stem>.csv` and `<stem>.json` into `dir` (created if needed); see
/// [`crate::output`] for how a set of files appears at once.
///
/// # Errors
/// [`BenchError::Io`] naming the file.
pub fn write_csv_and_json(
    dir: &Path,
    stem: &str,
    csv: &str,
    json: &impl serde::Serialize,
) -> Result<(), BenchError> {
    let json = serde_json::to_vec_pretty(json).expect("reports serialize");
    write_all(
        dir,
        &[
            (format!("{stem}.csv"), csv.as_bytes()),
            (format!("{stem}.json"), &json),
        ],
    )
}

/// Writes each `(name, contents)` into `dir`, created if needed.
fn write_all(dir: &Path, files: &[(String, &[u8])]) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(BenchError::io(&path))?;
    }
    Ok(())
}

/// Writes `{stem}.md`, a report's tables as Markdown, into `dir`.
///
/// # Errors
/// [`BenchError::Io`] naming the file.
pub fn write_markdown(dir: &Path, stem: &str, markdown: &str) -> Result<(), BenchError> {
    let path = dir.join(format!("{stem}.md"));
    std::fs::write(&path, markdown).map_err(BenchError::io(&path))
}

/// Writes `results.csv`, `results.json` and, when `curves`, `curves.csv` (the loss
/// curves of `results.json` as a table) into `dir`.
///
/// # Errors
/// [`BenchError::Io`] naming the file.
pub fn write_files(dir: &Path, results: &[RunResult], curves: bool) -> Result<(), BenchError> {
    let (csv, json) = (csv(results), runs_json(results));
    let curves = curves.then(|| curves_csv(results));
    let mut files = vec![
        ("results.csv".into(), csv.as_bytes()),
        ("results.json".into(), json.as_bytes()),
    ];
    files.extend(curves.as_ref().map(|c| ("curves.csv".into(), c.as_bytes())));
    write_all(dir, &files)
}

/// A grid's runs as a JSON array with one run per line: indented, the same runs took
/// twice the bytes, and a diff still shows which run changed.
pub fn runs_json(results: &[RunResult]) -> String {
    let runs: Vec<String> = results
        .iter()
        .map(|r| serde_json::to_string(r).expect("results serialize"))
        .collect();
    format!("[\n{}\n]\n", runs.join(",\n"))
}
