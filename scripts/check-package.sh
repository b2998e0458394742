#!/usr/bin/env bash
# The library crates package and build as crates.io would take them: `cargo publish
# --dry-run` packs initlab-gemm, initlab-init and initlab-nn (the applications are
# `publish = false`), resolves each against the crates.io index with the unpublished path
# dependencies served from a temporary local registry, and builds every package from its
# archive alone. --allow-dirty packs the working tree: in CI that is the commit.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "check-package: cargo publish --workspace --dry-run" >&2
cargo publish --quiet --workspace --dry-run --allow-dirty
