//! Every committed input of every fuzz target, run again: the seed corpus (`fuzz/corpus`)
//! and the minimized inputs of past findings (`fuzz/regressions`), each of which once
//! panicked or allocated past its bound, under the same checks as the fuzzers.

use std::path::Path;

use initlab_fuzz::{Counting, Target};

#[global_allocator]
static ALLOC: Counting = Counting;

/// One test, not one per target: the allocation count is the process's, and tests run
/// side by side would count each other's.
#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    // The bound checks are only as good as the count.
    let ten_mib = 10 << 20;
    let peak = initlab_fuzz::peak_during(|| drop(std::hint::black_box(vec![1_u8; ten_mib])));
    assert!((ten_mib..ten_mib + 4096).contains(&peak), "{peak}");

    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for target in Target::ALL {
        let mut inputs = 0;
        for folder in ["corpus", "regressions"] {
            let dir = fuzz.join(folder).join(target.name());
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                eprintln!("{}", path.display());
                target.run(&data);
                inputs += 1;
            }
        }
        assert!(
            inputs > 0,
            "no seed corpus for the {} target",
            target.name()
        );
    }
}
