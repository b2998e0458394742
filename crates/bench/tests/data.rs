//! Dataset loading: IDX files (valid, gzip, malformed), the bundled MNIST subset, and the
//! synthetic generators.

use std::io::Write;
use std::path::{Path, PathBuf};

use initlab_bench::data::{Dataset, Labels, Synthetic, generate, read_idx, write_idx};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("initlab-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_mnist_like(dir: &Path, train: usize, test: usize) {
    for (prefix, n) in [("train", train), ("t10k", test)] {
        let pixels: Vec<u8> = (0..n * 4 * 4).map(|i| (i % 256) as u8).collect();
        write_idx(
            &dir.join(format!("{prefix}-images-idx3-ubyte")),
            &[n, 4, 4],
            &pixels,
        )
        .unwrap();
        let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        write_idx(
            &dir.join(format!("{prefix}-labels-idx1-ubyte")),
            &[n],
            &labels,
        )
        .unwrap();
    }
}

#[test]
fn idx_round_trip_raw_and_gzip() {
    let dir = scratch("idx");
    let raw = dir.join("x-idx3-ubyte");
    write_idx(&raw, &[2, 3, 2], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]).unwrap();
    let idx = read_idx(&raw, 3).unwrap();
    assert_eq!(idx.dims, vec![2, 3, 2]);
    assert_eq!(idx.data[11], 255);
    let gz = dir.join("x-idx3-ubyte.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&std::fs::read(&raw).unwrap()).unwrap();
    encoder.finish().unwrap();
    assert_eq!(read_idx(&gz, 3).unwrap(), idx);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn malformed_idx_names_file_offset_and_expectation() {
    let dir = scratch("malformed");
    let path = dir.join("bad");
    std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3]).unwrap();
    let message = read_idx(&path, 1).unwrap_err().to_string();
    assert!(
        message.contains("bad")
            && message.contains("at byte 8")
            && message.contains("5 data bytes")
            && message.contains("found 3 bytes"),
        "{message}"
    );
    std::fs::write(&path, [0, 0, 9, 3]).unwrap();
    let message = read_idx(&path, 3).unwrap_err().to_string();
    assert!(
        message.contains("at byte 0")
            && message.contains("magic 0x00000803")
            && message.contains("0x00000903"),
        "{message}"
    );
    std::fs::write(&path, [0, 0]).unwrap();
    assert!(
        read_idx(&path, 1)
            .unwrap_err()
            .to_string()
            .contains("2 bytes in the whole file")
    );
    std::fs::write(&path, [0x1f, 0x8b, 1, 2, 3]).unwrap();
    assert!(read_idx(&path, 1).unwrap_err().to_string().contains("gzip"));
    let message = read_idx(&dir.join("absent"), 1).unwrap_err().to_string();
    assert!(message.contains("absent"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn idx_folder_loads_scaled_pixels_and_checks_counts() {
    let dir = scratch("folder");
    write_mnist_like(&dir, 12, 6);
    let data = Dataset::idx_dir(&dir).unwrap();
    assert_eq!(
        (data.train_x.dim(), data.test_x.dim(), data.outputs),
        ((12, 16), (6, 16), 3)
    );
    assert_eq!(data.train_x[[0, 1]], 1.0 / 255.0);
    // Labels for fewer images than there are: named, with both counts.
    write_idx(&dir.join("t10k-labels-idx1-ubyte"), &[5], &[0, 1, 2, 0, 1]).unwrap();
    let message = Dataset::idx_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("t10k-labels")
            && message.contains("6 labels")
            && message.contains("found 5 labels"),
        "{message}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bundled_mnist_has_the_documented_digits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-10k");
    let mut data = Dataset::idx_dir(&dir).unwrap();
    assert_eq!(
        (
            data.train_x.nrows(),
            data.test_x.nrows(),
            data.inputs(),
            data.outputs
        ),
        (8000, 2000, 784, 10)
    );
    let Labels::Classes(train) = &data.train_y else {
        panic!("classes")
    };
    let Labels::Classes(test) = &data.test_y else {
        panic!("classes")
    };
    let mut counts = [0; 10];
    for &label in train.iter().chain(test) {
        counts[label] += 1;
    }
    assert_eq!(
        counts,
        [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978],
        "class counts of the data README"
    );
    assert!(data.train_x.iter().all(|p| (0.0..=1.0).contains(p)));
    data.standardize();
    let mean = data.train_x.iter().map(|&v| f64::from(v)).sum::<f64>() / data.train_x.len() as f64;
    assert!(mean.abs() < 1e-4, "standardized training mean {mean}");
}

#[test]
fn synthetic_tasks_are_seeded_and_sized() {
    let tasks = [
        Synthetic::Spirals { classes: 3 },
        Synthetic::Circles,
        Synthetic::Blobs {
            classes: 4,
            dims: 5,
        },
        Synthetic::Checkerboard { cells: 2 },
        Synthetic::TeacherStudent {
            inputs: 6,
            hidden: 8,
            outputs: 2,
        },
    ];
    for task in tasks {
        let a = generate(task, 500, 7).unwrap();
        assert_eq!(a.train_x.nrows() + a.test_x.nrows(), 500, "{task:?}");
        assert_eq!(a.test_x.nrows(), 100);
        assert_eq!(
            a,
            generate(task, 500, 7).unwrap(),
            "{task:?} is deterministic"
        );
        assert_ne!(
            a.train_x,
            generate(task, 500, 8).unwrap().train_x,
            "{task:?} depends on the seed"
        );
        if let Labels::Classes(labels) = &a.train_y {
            assert!(labels.iter().all(|&l| l < a.outputs));
        }
    }
    assert!(
        generate(Synthetic::Spirals { classes: 1 }, 100, 0)
            .unwrap_err()
            .to_string()
            .contains("`classes` = \"1\"")
    );
    assert!(generate(Synthetic::Circles, 3, 0).is_err());
}

#[test]
fn csv_reads_features_and_labels_by_name_or_index() {
    use initlab_bench::data::{LabelColumn, Task, read_csv};
    let dir = scratch("csv");
    let path = dir.join("iris.csv");
    let mut text = String::from("sepal, petal ,species\n");
    for i in 0..20 {
        text.push_str(&format!("{}.5,{},{}\n", i, i * 2, i % 3));
    }
    std::fs::write(&path, &text).unwrap();
    let by_name = read_csv(
        &path,
        &LabelColumn::Name("species".into()),
        Task::Classification,
        0.25,
        1,
    )
    .unwrap();
    assert_eq!(
        (
            by_name.train_x.dim(),
            by_name.test_x.nrows(),
            by_name.outputs
        ),
        ((15, 2), 5, 3)
    );
    let by_index = read_csv(&path, &LabelColumn::Index(2), Task::Classification, 0.25, 1).unwrap();
    assert_eq!(by_name, by_index);
    // The label column can be anywhere; here a regression target in the first column.
    let regression = read_csv(&path, &LabelColumn::Index(0), Task::Regression, 0.25, 1).unwrap();
    assert_eq!(regression.outputs, 1);
    assert!(!regression.is_classification());

    let bad = |contents: &str, label: LabelColumn| {
        std::fs::write(&path, contents).unwrap();
        read_csv(&path, &label, Task::Classification, 0.25, 1)
            .unwrap_err()
            .to_string()
    };
    let message = bad("a,b,y\n1,2,0\n3,x,1\n", LabelColumn::Name("y".into()));
    assert!(
        message.contains("iris.csv")
            && message.contains("at line 3")
            && message.contains("column 2 (`b`)")
            && message.contains("\"x\""),
        "{message}"
    );
    let message = bad("a,b,y\n1,2,0\n3,4\n", LabelColumn::Name("y".into()));
    assert!(
        message.contains("at line 3") && message.contains("3 fields"),
        "{message}"
    );
    // The line in the file, blank lines (LF or CRLF) and quoted line breaks counted.
    for (contents, line) in [
        ("a,b,y\n1,2,0\n\n3,4,1\n\n5,x,0\n", 6),
        ("a,b,y\r\n1,2,0\r\n\r\n\r\n5,x,0\r\n", 5),
        ("a,b,y\n\"1\n\",2,0\n5,x,0\n", 4),
    ] {
        let message = bad(contents, LabelColumn::Name("y".into()));
        assert!(
            message.contains(&format!("at line {line}:")) && message.contains("\"x\""),
            "{contents:?}: {message}"
        );
    }
    let message = bad("a,b,y\n1,2,0\n3,4,1.5\n", LabelColumn::Name("y".into()));
    assert!(
        message.contains("class index") && message.contains("\"1.5\""),
        "{message}"
    );
    let message = bad("a,b,y\n1,2,0\n3,4,1\n", LabelColumn::Name("label".into()));
    assert!(message.contains("a column named `label`"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The test split holds every class in proportion (within one sample), so balanced
/// classes stay exactly balanced and a constant prediction scores exactly one half.
#[test]
fn splits_hold_out_each_class_in_proportion() {
    let count = |labels: &initlab_bench::data::Labels, classes: usize| -> Vec<usize> {
        let initlab_bench::data::Labels::Classes(c) = labels else {
            panic!("classes")
        };
        (0..classes)
            .map(|k| c.iter().filter(|&&l| l == k).count())
            .collect()
    };
    let circles = generate(Synthetic::Circles, 1000, 3).unwrap();
    assert_eq!(count(&circles.test_y, 2), [100, 100]);
    assert_eq!(count(&circles.train_y, 2), [400, 400]);
    let spirals = generate(Synthetic::Spirals { classes: 3 }, 500, 3).unwrap();
    let test = count(&spirals.test_y, 3);
    let all: Vec<usize> = count(&spirals.train_y, 3)
        .iter()
        .zip(&test)
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(test.iter().sum::<usize>(), 100);
    for (held, total) in test.iter().zip(&all) {
        let share = *total as f64 * 0.2;
        assert!((*held as f64 - share).abs() < 1.0, "{test:?} of {all:?}");
    }
}
