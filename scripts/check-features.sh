#!/usr/bin/env bash
# The library crates' feature combinations beyond the workspace's own (which `cargo test
# --workspace` covers: initlab-gemm and nn on the system OpenBLAS, init pure Rust, which is
# also init without default features).
#
# - The default build's dependency tree: no HTTP or TLS crate, no cc, no OpenBLAS source
#   build (initlab-gemm's build script links the system OpenBLAS through pkg-config).
# - init with `lapack` (through `openblas-system`): orthogonal's QR from LAPACK, and with
#   `half`: f16 and bf16 fills; tested together.
# - initlab-gemm and nn without default features: no BLAS chosen, the user links one that
#   exports CBLAS and OpenBLAS's thread functions (an OpenBLAS built by hand). Tested here with the system OpenBLAS linked by name, as such a user
#   would (INITLAB_GEMM_BLAS_LIB, read by initlab-gemm's build script).
# - initlab-gemm with `packed-gemm`: its free functions (`gemm`, `affine`) then run its own
#   AVX-512 or AVX2 kernel; its tests, the exact-integer ones included, through the best
#   kernel the CPU has, and once more through the AVX2 one (INITLAB_GEMM_PACKED_ISA=avx2).
#   (The workspace's own tests run the packed kernel without the feature, chosen as an
#   argument: gemm's exact products, nn's thread and allocation tests, bench's golden test.)
# - initlab with `gemm-rs`: the pure-Rust `gemm` crate beside OpenBLAS in the gemm bench;
#   linted, since nothing else builds that code.
# - `openblas-static` builds OpenBLAS from source, which downloads it: not run here, where
#   only the package registries are reachable.
#
# Then a fresh project that depends on `initlab-init` alone (check-init-alone.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# The default build, and initlab-init with `openblas-system`, link the system OpenBLAS
# through initlab-gemm's build script alone: no HTTP or TLS stack, no C compiler, no
# OpenBLAS source build in their trees.
echo "check-features: the default build's tree (no HTTP, TLS, cc or openblas-build)" >&2
heavy=$({
    cargo tree --quiet -e normal,build --prefix none --no-dedupe -p initlab -p initlab-nn -p initlab-gemm
    cargo tree --quiet -e normal,build --prefix none --no-dedupe -p initlab-init --features openblas-system
} | sort -u | grep -E '^(ureq|rustls|ring|native-tls|openssl|cc|openblas-build|openblas-src|blas-src) ' || true)
if [[ -n $heavy ]]; then
    echo "check-features: the default build pulls in:" >&2
    echo "$heavy" >&2
    exit 1
fi

# One build for both (each of init's test builds takes a minute and a half on 2 cores);
# neither feature's code reads the other's.
echo "check-features: init --features openblas-system,half (LAPACK QR; f16, bf16)" >&2
cargo test --quiet -p initlab-init --features openblas-system,half
echo "check-features: initlab-gemm and nn --no-default-features, the BLAS linked by hand" >&2
INITLAB_GEMM_BLAS_LIB=openblas cargo test --quiet -p initlab-gemm -p initlab-nn --no-default-features
echo "check-features: initlab-gemm --features packed-gemm (its free functions on its own kernel)" >&2
cargo test --quiet -p initlab-gemm --features packed-gemm
INITLAB_GEMM_PACKED_ISA=avx2 cargo test --quiet -p initlab-gemm --features packed-gemm
echo "check-features: initlab --features gemm-rs (the gemm bench's other provider)" >&2
cargo clippy --quiet --all-targets --features gemm-rs -- -D warnings
scripts/check-init-alone.sh
