//! BLAS thread control and provenance. In its own test binary: the thread count is
//! process-global, so no other test may change it concurrently.

use std::sync::Mutex;

use initlab_gemm::{BlasThreads, blas_info, blas_threads, set_blas_threads};

/// The thread count is global: tests that change it take turns.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn guard_sets_and_restores_the_thread_count() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    set_blas_threads(2);
    let before = blas_threads();
    {
        let _one = BlasThreads::set(1);
        assert_eq!(blas_threads(), 1);
        {
            let _nested = BlasThreads::set(before);
            assert_eq!(blas_threads(), before);
        }
        assert_eq!(
            blas_threads(),
            1,
            "inner guard restores the outer guard's count"
        );
    }
    assert_eq!(blas_threads(), before);
}

#[test]
fn info_names_the_openblas_build() {
    let info = blas_info();
    assert!(!info.core.is_empty(), "OpenBLAS reports its kernel family");
    assert!(
        info.config.contains("OpenBLAS"),
        "config string: {}",
        info.config
    );
    assert!(["sequential", "pthreads", "openmp"].contains(&info.threading));
}

#[test]
fn single_threaded_guards_from_several_threads_restore_only_at_the_last_drop() {
    use initlab_gemm::SingleThreadedBlas;
    use std::sync::{Arc, Barrier};

    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let _two = BlasThreads::set(2);
    let before = blas_threads();
    let outer = SingleThreadedBlas::new();
    let barrier = Arc::new(Barrier::new(2));
    let other = {
        let barrier = Arc::clone(&barrier);
        std::thread::spawn(move || {
            let inner = SingleThreadedBlas::new();
            barrier.wait();
            drop(inner);
            // The outer guard still lives: a finished run must not hand threads back.
            blas_threads()
        })
    };
    barrier.wait();
    assert_eq!(other.join().unwrap(), 1);
    assert_eq!(blas_threads(), 1);
    drop(outer);
    assert_eq!(blas_threads(), before);
}

#[test]
fn a_toggle_from_another_thread_waits_for_single_threaded_sections() {
    use initlab_gemm::SingleThreadedBlas;

    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    set_blas_threads(1);
    let training = SingleThreadedBlas::new();
    // Another thread asks for 2 BLAS threads in the middle of a single-threaded run.
    std::thread::spawn(|| {
        let two = BlasThreads::set(2);
        assert_eq!(
            blas_threads(),
            1,
            "the running section stays single-threaded"
        );
        std::mem::forget(two);
    })
    .join()
    .unwrap();
    assert_eq!(blas_threads(), 1);
    drop(training);
    assert_eq!(
        blas_threads(),
        2,
        "the request applies once the section ends"
    );
    set_blas_threads(1);
    std::thread::spawn(|| set_blas_threads(2)).join().unwrap();
    assert_eq!(
        blas_threads(),
        2,
        "with no section running it applies at once"
    );
    set_blas_threads(1);
}
