#!/usr/bin/env bash
# The library crates' feature combinations beyond the workspace's own (which `cargo test
# --workspace` covers: core-math and nn on the system OpenBLAS, init pure Rust).
#
# - init with `lapack` (through `openblas-system`): orthogonal's QR from LAPACK; tested.
# - init with `half`: f16 and bf16 fills; tested.
# - core-math and nn without default features: no BLAS chosen, the user links one (MKL,
#   Accelerate, ...); their libraries must build, and a binary links with the user's BLAS.
# - `openblas-static` builds OpenBLAS from source, which downloads it: not run here, where
#   only the package registries are reachable.
#
# Then a fresh project that depends on `init` alone (check-init-alone.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "check-features: init --features openblas-system (LAPACK QR)" >&2
cargo test --quiet -p init --features openblas-system
echo "check-features: init --features half (f16, bf16)" >&2
cargo test --quiet -p init --features half
for crate in init core-math nn; do
    echo "check-features: $crate --no-default-features (library build)" >&2
    cargo build --quiet -p "$crate" --no-default-features
done
scripts/check-init-alone.sh
