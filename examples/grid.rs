//! An experiment grid run from Rust instead of `initlab run`: the same TOML an experiment
//! file holds, parsed, expanded into runs (every architecture × initializer × seed), each
//! trained on its own, and a line per run. Here the circles of the demo's seed blog,
//! shortened: zeros, small random and He on a 2 → 10 → 5 → 1 ReLU network.
//!
//! ```text
//! cargo run --release --example grid
//! ```

use std::path::Path;

use indicatif::ProgressBar;
use initlab_bench::config;
use initlab_bench::experiment::run;
use initlab_gemm::Kernel;

const GRID: &str = r#"
[dataset]
kind = "circles"
samples = 400
seed = 0

[[arch]]
widths = [10, 5]
activation = "relu"
output = "sigmoid"

[train]
inits = ["zeros", "small_normal", "he_normal"]
optimizer = "momentum"
lr = 0.05
epochs = 150
batch_size = 320
seeds = [0, 1]
target_accuracy = 0.95
"#;

fn main() -> Result<(), initlab_bench::BenchError> {
    let file = config::parse_text(GRID, Path::new("grid.toml"))?;
    // Only an experiment on the digits reads the bundled MNIST folder.
    let dataset = file.dataset(Path::new("data/mnist-10k"))?;
    let specs = file.specs()?;
    println!("{} runs\n", specs.len());
    let mut he = Vec::new();
    for spec in &specs {
        let result = run(&dataset, spec, Kernel::OPENBLAS, &ProgressBar::hidden())?;
        println!(
            "{:<14} seed {}: test accuracy {:.3} -> {:.3}  {}",
            spec.init, spec.seed, result.initial_accuracy, result.final_accuracy, result.verdict
        );
        if spec.init == "he_normal" {
            he.push(result.final_accuracy);
        }
    }
    // He on circles is well above chance; zeros stays at it (every unit alike).
    assert!(
        he.iter().all(|&accuracy| accuracy > 0.8),
        "He's runs: {he:?}"
    );
    Ok(())
}
