#!/usr/bin/env bash
# Runs every example, as a user would after reading a crate's README: each checks what it
# shows (variances against the stated ones, accuracy, the all-zeros network's missing
# gradient) and exits non-zero when that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

for example in fill_vec custom_initializer; do
    echo "check-examples: cargo run -p initlab-init --example $example" >&2
    cargo run --quiet -p initlab-init --example "$example"
done
echo "check-examples: cargo run -p initlab-nn --example train_and_diagnose" >&2
cargo run --quiet -p initlab-nn --example train_and_diagnose
echo "check-examples: cargo run --example grid" >&2
cargo run --quiet --example grid
