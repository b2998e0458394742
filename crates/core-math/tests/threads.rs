//! BLAS thread control and provenance. In its own test binary: the thread count is
//! process-global, so no other test may change it concurrently.

use core_math::{BlasThreads, blas_info, blas_threads, set_blas_threads};

#[test]
fn guard_sets_and_restores_the_thread_count() {
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
