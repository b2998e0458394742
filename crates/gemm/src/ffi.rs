//! The C symbols initlab-gemm calls: CBLAS GEMM and OpenBLAS's thread and provenance API.

use std::ffi::{c_char, c_int};

/// `CblasRowMajor` from cblas.h; every call here describes operands in row-major terms.
pub(crate) const ROW_MAJOR: c_int = 101;
/// `CblasNoTrans`.
pub(crate) const NO_TRANS: c_int = 111;
/// `CblasTrans`.
pub(crate) const TRANS: c_int = 112;

unsafe extern "C" {
    pub(crate) fn cblas_sgemm(
        order: c_int,
        trans_a: c_int,
        trans_b: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f32,
        a: *const f32,
        lda: c_int,
        b: *const f32,
        ldb: c_int,
        beta: f32,
        c: *mut f32,
        ldc: c_int,
    );
    pub(crate) fn cblas_dgemm(
        order: c_int,
        trans_a: c_int,
        trans_b: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f64,
        a: *const f64,
        lda: c_int,
        b: *const f64,
        ldb: c_int,
        beta: f64,
        c: *mut f64,
        ldc: c_int,
    );
    pub(crate) fn openblas_set_num_threads(num_threads: c_int);
    pub(crate) fn openblas_get_num_threads() -> c_int;
    pub(crate) fn openblas_get_config() -> *const c_char;
    pub(crate) fn openblas_get_corename() -> *const c_char;
    pub(crate) fn openblas_get_parallel() -> c_int;
}
