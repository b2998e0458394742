//! The raw `cblas_sgemm`, with no checks: the ceiling the throughput command and the GEMM
//! benchmark hold initlab-gemm's products against. initlab-gemm links OpenBLAS, which exports
//! it; initlab-gemm keeps its own binding private.

use std::ffi::c_int;

const ROW_MAJOR: c_int = 101;
const NO_TRANS: c_int = 111;
const TRANS: c_int = 112;

unsafe extern "C" {
    fn cblas_sgemm(
        layout: c_int,
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
}

/// Row-major `c = alpha op(a) op(b) + beta c` through `cblas_sgemm`; `trans_a` / `trans_b`
/// select the transpose, the rest are CBLAS's own arguments.
///
/// # Safety
/// The pointers and leading dimensions must describe valid row-major matrices of the sizes
/// CBLAS expects for `trans_a`, `trans_b`, `m`, `n`, `k`, and `c` must not alias `a` or
/// `b`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: i32,
    n: i32,
    k: i32,
    alpha: f32,
    a: *const f32,
    lda: i32,
    b: *const f32,
    ldb: i32,
    beta: f32,
    c: *mut f32,
    ldc: i32,
) {
    let flag = |t: bool| if t { TRANS } else { NO_TRANS };
    // SAFETY: the caller upholds CBLAS's contract, stated above.
    unsafe {
        cblas_sgemm(
            ROW_MAJOR,
            flag(trans_a),
            flag(trans_b),
            m,
            n,
            k,
            alpha,
            a,
            lda,
            b,
            ldb,
            beta,
            c,
            ldc,
        )
    }
}
