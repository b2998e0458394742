#!/usr/bin/env bash
# The library crates package and build as crates.io would take them: `cargo publish
# --dry-run` packs initlab-gemm, initlab-init and initlab-nn (the applications are
# `publish = false`), resolves each against the crates.io index with the unpublished path
# dependencies served from a temporary local registry, and builds every package from its
# archive alone. --allow-dirty packs the working tree: in CI that is the commit.
set -euo pipefail
cd "$(dirname "$0")/.."

# Cargo takes a registry crate of a given version to be immutable: it keeps the temporary
# registry's crates unpacked under a directory named `-<hash>`, and their builds. A second
# dry run at the same version would build against the first one's sources, so both are
# removed for this workspace's own crates, and the builds kept apart from the tests'.
registry="${CARGO_HOME:-$HOME/.cargo}/registry"
for kind in src cache; do
    rm -rf "$registry/$kind"/-*/initlab-gemm-* "$registry/$kind"/-*/initlab-init-* \
        "$registry/$kind"/-*/initlab-nn-*
done
export CARGO_TARGET_DIR=target/package-check
rm -rf "$CARGO_TARGET_DIR"/debug/.fingerprint/initlab-*

echo "check-package: cargo publish --workspace --dry-run" >&2
cargo publish --quiet --workspace --dry-run --allow-dirty
