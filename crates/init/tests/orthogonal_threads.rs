//! Orthogonal fills are the same bits whatever OpenBLAS's thread count: the built-in QR is
//! single-threaded Rust, and the `lapack` feature's runs with one BLAS thread (in threaded
//! LAPACK, 977,581 of these 1,048,576 values differed between 1 and 2 threads). OpenBLAS
//! reads `OPENBLAS_NUM_THREADS` once, at load, so each count runs in a child process of
//! this test binary.

use initlab_init::{Initializer, RngKey};
use ndarray::Array2;

const CHILD: &str = "INITLAB_ORTHOGONAL_CHILD";

/// In a child process: fills a 1024 x 1024 f64 matrix and prints a digest of its bits.
#[test]
fn orthogonal_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut w = Array2::<f64>::zeros((1024, 1024));
    Initializer::Orthogonal { gain: 1.0 }
        .fill(&mut w, RngKey::new(5).tensor(3))
        .unwrap();
    // FNV-1a over the bits: any difference in any value changes it.
    let digest = w.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, v| {
        (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
    });
    println!("digest {digest:016x}");
}

fn digest_with_blas_threads(threads: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "orthogonal_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .env("OPENBLAS_NUM_THREADS", threads)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split("digest ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in {stdout}"))
        .to_owned()
}

#[test]
fn orthogonal_bits_do_not_depend_on_blas_threads() {
    let one = digest_with_blas_threads("1");
    let two = digest_with_blas_threads("2");
    assert_eq!(
        one, two,
        "1024x1024 orthogonal fill differs between 1 and 2 BLAS threads"
    );
}
