#!/usr/bin/env bash
# Builds a fresh project that depends on `initlab-init` alone, with default features, as a user of
# the crate would: fails if it pulls in OpenBLAS, LAPACK or a TLS stack, or if orthogonal
# does not work; prints the package count and the cold release build time (with the
# registry's downloads already cached).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
app="$scratch/uses-init"
mkdir -p "$app/src"
cat >"$app/Cargo.toml" <<EOF
[package]
name = "uses-init"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
initlab-init = { path = "$root/crates/init" }

[workspace]
EOF
cat >"$app/src/main.rs" <<'EOF'
use initlab_init::{Initializer, RngKey};

fn main() {
    let w: initlab_init::ndarray::Array2<f32> = Initializer::orthogonal(1.0)
        .sample((256, 64), RngKey::new(0).tensor(0))
        .expect("orthogonal fills");
    let gram = w.t().dot(&w);
    for ((i, j), &g) in gram.indexed_iter() {
        let expected = if i == j { 1.0 } else { 0.0 };
        assert!((g - expected).abs() < 1e-5, "W^T W [{i}, {j}] = {g}");
    }
    println!("orthogonal 256 x 64: columns orthonormal");
}
EOF
# The workspace's versions, as a user following its lockfile would get them.
cp Cargo.lock "$app/Cargo.lock"

cd "$app"
packages=$(cargo tree --quiet --prefix none -e normal,build | sed 's/ (\*)$//' | sort -u)
forbidden=$(grep -E '^(openblas|lapack|ndarray-linalg|blas-src|cblas|ureq|rustls|ring|native-tls) ' <<<"$packages" || true)
if [[ -n $forbidden ]]; then
    echo "check-init-alone: init pulls in what it must not:" >&2
    echo "$forbidden" >&2
    exit 1
fi
count=$(($(wc -l <<<"$packages") - 1))
start=$(date +%s.%N)
CARGO_TARGET_DIR="$scratch/target" cargo build --release --quiet
end=$(date +%s.%N)
CARGO_TARGET_DIR="$scratch/target" cargo run --release --quiet
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
echo "check-init-alone: $count packages besides the project, cold release build $seconds s"
