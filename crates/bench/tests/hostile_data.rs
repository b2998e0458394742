//! Data files built to break the loaders: each is refused with an error that names the
//! file and what was expected, without a panic and without reading past what the header
//! promises.

use std::io::Write;
use std::path::PathBuf;

use initlab_bench::BenchError;
use initlab_bench::config;
use initlab_bench::data::{Dataset, LabelColumn, Task, read_csv, read_idx, write_idx};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("initlab-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes
}

#[test]
fn idx_dimensions_whose_product_wraps_are_refused() {
    let dir = scratch("wrap");
    // 4 x 2^31 x 2^31 = 2^64: zero after wrapping, which passed the size check before.
    let images = dir.join("train-images-idx3-ubyte");
    std::fs::write(&images, idx_header(&[4, 1 << 31, 1 << 31])).unwrap();
    write_idx(&dir.join("train-labels-idx1-ubyte"), &[4], &[0, 1, 0, 1]).unwrap();
    let error = Dataset::idx_dir(&dir).unwrap_err();
    assert!(matches!(error, BenchError::Malformed { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("train-images-idx3-ubyte")
            && message.contains("[4, 2147483648, 2147483648]"),
        "{message}"
    );
    // Past the limit without wrapping: 65535^3.
    std::fs::write(&images, idx_header(&[65535, 65535, 65535])).unwrap();
    let message = read_idx(&images, 3).unwrap_err().to_string();
    assert!(message.contains("at most 4294967296 values"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_endless_file_is_refused_after_its_header() {
    let endless = std::path::Path::new("/dev/zero");
    if !endless.exists() {
        return;
    }
    let message = read_idx(endless, 1).unwrap_err().to_string();
    assert!(
        message.contains("/dev/zero") && message.contains("magic"),
        "{message}"
    );
}

#[test]
fn gzip_is_read_up_to_the_promised_size_only() {
    let dir = scratch("bomb");
    // The header promises 16 bytes; 64 MB of zeros follow (64 kB compressed).
    let mut bytes = idx_header(&[16]);
    bytes.resize(bytes.len() + (64 << 20), 0);
    let bomb = dir.join("labels.gz");
    std::fs::write(&bomb, gzip(&bytes)).unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    let message = read_idx(&bomb, 1).unwrap_err().to_string();
    assert!(
        message.contains("labels.gz")
            && message.contains("expected 16 data bytes")
            && message.contains("found more"),
        "{message}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn multi_member_gzip_reads_whole() {
    let dir = scratch("members");
    let header = idx_header(&[2, 2]);
    let data = [1_u8, 2, 3, 4];
    let path = dir.join("x.gz");
    // What `cat header.gz data.gz` makes.
    std::fs::write(&path, [gzip(&header), gzip(&data)].concat()).unwrap();
    let idx = read_idx(&path, 2).unwrap();
    assert_eq!(idx.dims, vec![2, 2]);
    assert_eq!(idx.data, data);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_raw_file_of_the_wrong_length_is_refused_before_reading() {
    let dir = scratch("length");
    let path = dir.join("short");
    std::fs::write(&path, [idx_header(&[3]), vec![7, 7]].concat()).unwrap();
    let message = read_idx(&path, 1).unwrap_err().to_string();
    assert!(
        message.contains("short")
            && message.contains("expected 3 data bytes")
            && message.contains("found 2 bytes"),
        "{message}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn csv_error(name: &str, text: &str, label: LabelColumn) -> String {
    let dir = scratch(name);
    let path = dir.join(format!("{name}.csv"));
    std::fs::write(&path, text).unwrap();
    let message = read_csv(&path, &label, Task::Classification, 0.25, 0)
        .unwrap_err()
        .to_string();
    assert!(message.contains(&format!("{name}.csv")), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
    message
}

#[test]
fn csv_cells_past_f32_and_class_indices_past_the_limit_name_line_and_column() {
    let last = LabelColumn::Index(2);
    let message = csv_error(
        "wide",
        "a,b,y\n1,2,0\n1,1e39,1\n3,4,0\n5,6,1\n",
        last.clone(),
    );
    assert!(
        message.contains("line 3") && message.contains("`b`") && message.contains("f32"),
        "{message}"
    );
    let message = csv_error("label", "a,b,y\n1,2,0\n1,2,1e20\n3,4,0\n", last);
    assert!(
        message.contains("line 3") && message.contains("class index") && message.contains("1e20"),
        "{message}"
    );
}

#[test]
fn csv_with_one_class_or_an_endless_line_is_refused() {
    let message = csv_error("single", "a,y\n1,0\n2,0\n3,0\n4,0\n", LabelColumn::Index(1));
    assert!(message.contains("at least 2 classes"), "{message}");
    let endless = std::path::Path::new("/dev/zero");
    if endless.exists() {
        let message = read_csv(
            endless,
            &LabelColumn::Index(1),
            Task::Classification,
            0.2,
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("/dev/zero") && message.contains("line longer"),
            "{message}"
        );
    }
}

#[test]
fn a_test_class_that_training_never_shows_is_refused() {
    let dir = scratch("unseen");
    for (prefix, labels) in [("train", [0_u8, 1, 0, 1]), ("t10k", [1, 0, 255, 0])] {
        write_idx(
            &dir.join(format!("{prefix}-images-idx3-ubyte")),
            &[4, 2, 2],
            &[9; 16],
        )
        .unwrap();
        write_idx(
            &dir.join(format!("{prefix}-labels-idx1-ubyte")),
            &[4],
            &labels,
        )
        .unwrap();
    }
    let message = Dataset::idx_dir(&dir).unwrap_err().to_string();
    assert!(
        message.contains("t10k-labels-idx1-ubyte")
            && message.contains("class 255 at test sample 2"),
        "{message}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The error of `specs()` (then `dataset()`) for an experiment file with `dataset` and
/// `train` tables.
fn config_error(name: &str, dataset: &str, arch: &str, train: &str) -> String {
    let dir = scratch(name);
    let path = dir.join("experiment.toml");
    std::fs::write(
        &path,
        format!("[dataset]\n{dataset}\n{arch}\n[train]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 1\nbatch_size = 8\n{train}\n"),
    )
    .unwrap();
    let file = config::parse(&path).unwrap();
    let error = file
        .specs()
        .and_then(|_| {
            file.dataset(std::path::Path::new("/nonexistent"))
                .map(|_| Vec::<initlab_bench::experiment::RunSpec>::new())
        })
        .unwrap_err();
    std::fs::remove_dir_all(dir).unwrap();
    error.to_string()
}

const ONE_ARCH: &str = "[[arch]]\ndepth = 1\nwidth = 4\nactivation = \"relu\"";

#[test]
fn experiment_files_refuse_unused_keys_duplicates_and_impossible_targets() {
    let circles = "kind = \"circles\"";
    let ok_train = "inits = [\"he_normal\"]\nseeds = [0]";
    for (dataset, arch, train, expected) in [
        (
            "kind = \"circles\"\nclasses = 3",
            ONE_ARCH,
            ok_train,
            "`dataset.classes`",
        ),
        (
            "kind = \"csv\"\npath = \"x.csv\"\nsamples = 10",
            ONE_ARCH,
            ok_train,
            "`dataset.samples`",
        ),
        (
            circles,
            ONE_ARCH,
            "inits = [\"he_normal\", \"zeros\", \"he_normal\"]\nseeds = [0]",
            "`train.inits` = \"he_normal\"",
        ),
        (
            circles,
            ONE_ARCH,
            "inits = [\"he_normal\"]\nseeds = [3, 1, 3]",
            "`train.seeds` = \"3\"",
        ),
        (
            circles,
            &format!("{ONE_ARCH}\n{ONE_ARCH}"),
            ok_train,
            "`arch` = \"relu 1x4\"",
        ),
        (
            circles,
            ONE_ARCH,
            "inits = [\"he_normal\"]\nseeds = [0]\ntarget_accuracy = nan",
            "`train.target_accuracy` = \"NaN\"",
        ),
        (
            circles,
            ONE_ARCH,
            "inits = [\"he_normal\"]\nseeds = [0]\ntarget_accuracy = -1",
            "`train.target_accuracy` = \"-1\"",
        ),
        (
            circles,
            ONE_ARCH,
            "inits = [\"he_normal\"]\nseeds = [0]\ntarget_accuracy = 5",
            "`train.target_accuracy` = \"5\"",
        ),
    ] {
        let message = config_error("config", dataset, arch, train);
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn an_endless_experiment_file_is_refused() {
    let endless = std::path::Path::new("/dev/zero");
    if !endless.exists() {
        return;
    }
    let message = config::parse(endless).unwrap_err().to_string();
    assert!(
        message.contains("/dev/zero") && message.contains("more than"),
        "{message}"
    );
}

#[test]
fn a_quoted_header_with_a_comma_finds_the_last_column() {
    let dir = scratch("quoted");
    let csv = dir.join("quoted.csv");
    let rows: String = (0..20).map(|i| format!("{i},{}\n", i % 2)).collect();
    std::fs::write(&csv, format!("\"x, first\",y\n{rows}")).unwrap();
    let path = dir.join("experiment.toml");
    std::fs::write(
        &path,
        format!(
            "[dataset]\nkind = \"csv\"\npath = {:?}\n{ONE_ARCH}\n[train]\ninits = [\"he_normal\"]\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 1\nbatch_size = 8\nseeds = [0]\n",
            csv.display().to_string()
        ),
    )
    .unwrap();
    let data = config::parse(&path)
        .unwrap()
        .dataset(std::path::Path::new("/nonexistent"))
        .unwrap();
    assert_eq!(data.inputs(), 1);
    assert_eq!(data.outputs, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn test_images_of_another_size_name_both_files() {
    // Another count of pixels, and the same count in another shape (a convolution would
    // read its rows wrong).
    for (train, test) in [([2_usize, 2], [3_usize, 3]), ([4, 4], [2, 8])] {
        let dir = scratch("sizes");
        for (prefix, [rows, cols]) in [("train", train), ("t10k", test)] {
            write_idx(
                &dir.join(format!("{prefix}-images-idx3-ubyte")),
                &[4, rows, cols],
                &vec![9; 4 * rows * cols],
            )
            .unwrap();
            write_idx(
                &dir.join(format!("{prefix}-labels-idx1-ubyte")),
                &[4],
                &[0, 1, 0, 1],
            )
            .unwrap();
        }
        let message = Dataset::idx_dir(&dir).unwrap_err().to_string();
        let size = |[rows, cols]: [usize; 2]| format!("{rows}x{cols} images");
        assert!(
            message.contains("t10k-images-idx3-ubyte")
                && message.contains(&size(test))
                && message.contains(&size(train))
                && message.contains("train-images-idx3-ubyte"),
            "{message}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn an_idx_file_can_come_through_a_pipe() {
    let dir = scratch("pipe");
    let fifo = dir.join("labels");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // No mkfifo here.
    }
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, [idx_header(&[3]), vec![1, 2, 3]].concat()))
    };
    let idx = read_idx(&fifo, 1).unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(idx.data, [1, 2, 3]);
    std::fs::remove_dir_all(dir).unwrap();
}
