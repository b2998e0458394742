//! The README's numbers come from the files committed beside it: its demo table is exactly
//! what `docs/demo/results.json` renders to, and those results say which machine and BLAS
//! kernel produced them.

use bench::experiment::RunResult;

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_demo_table_is_generated_from_the_committed_results() {
    let results: Vec<RunResult> = serde_json::from_str(&read("docs/demo/results.json")).unwrap();
    let table = bench::report::markdown(&results);
    let readme = read("README.md");
    assert!(
        readme.contains(&table),
        "README.md's demo table differs from docs/demo/results.json; regenerate with `cargo run --release -- --out docs/demo` and paste:\n{table}"
    );
}

#[test]
fn the_demo_results_record_their_machine() {
    let manifest: serde_json::Value =
        serde_json::from_str(&read("docs/demo/manifest.json")).unwrap();
    let machine = &manifest["sets"][0]["machine"];
    for key in ["cpu", "blas_core", "blas_config"] {
        assert!(
            machine[key].as_str().is_some_and(|v| !v.is_empty()),
            "docs/demo/manifest.json lacks machine.{key}: {manifest}"
        );
    }
    let readme = read("README.md");
    let core = machine["blas_core"].as_str().unwrap();
    assert!(
        readme.contains(&format!("OPENBLAS_CORETYPE={core}"))
            || readme.contains(&format!("{core} kernels")),
        "the README does not name the BLAS kernel ({core}) of its demo table"
    );
}

#[test]
fn the_demo_prose_quotes_the_committed_first_epoch() {
    let results: Vec<RunResult> = serde_json::from_str(&read("docs/demo/results.json")).unwrap();
    let first_epoch = |init: &str| {
        let run = results
            .iter()
            .find(|r| {
                r.spec.seed == 0
                    && r.spec.init == init
                    && r.spec.arch.activation == nn::Activation::Relu
            })
            .unwrap_or_else(|| panic!("no relu {init} run with seed 0"));
        100.0 * run.epochs[0].test_accuracy.expect("a classification run")
    };
    let quoted = format!(
        "({:.0}% vs {:.0}%\n  test accuracy for He with seed 0",
        first_epoch("glorot_uniform"),
        first_epoch("he_normal")
    );
    assert!(
        read("README.md").contains(&quoted),
        "README.md should quote {quoted:?} from docs/demo/results.json"
    );
}
