#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ briefly (FUZZ_SECONDS each, default 30, two at a time),
# starting from the committed corpus and writing what it finds to a scratch corpus, so the
# committed one stays as it is. A panic, an allocation past its bound or a hang fails the
# run; the input is kept in fuzz/artifacts/TARGET (see fuzz/campaign.sh for what to do
# with it). Installs cargo-fuzz from crates.io when missing. Stable Rust, no sanitizer.
#
#   scripts/check-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "check-fuzz: installing cargo-fuzz 0.13.2 with cargo install" >&2
    cargo install cargo-fuzz --version 0.13.2 --locked --quiet
fi
cargo fuzz build --sanitizer none
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fuzz() {
    local target=$1
    mkdir -p "$scratch/$target"
    if cargo fuzz run --sanitizer none "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$scratch/$target.log" 2>&1; then
        echo "check-fuzz: $target: $(grep -oE 'number_of_executed_units: *[0-9]+' \
            "$scratch/$target.log" | grep -oE '[0-9]+$') inputs in $seconds s, no finding" >&2
    else
        echo "check-fuzz: $target found a defect:" >&2
        grep -vE '^(INFO|#[0-9])' "$scratch/$target.log" | tail -40 >&2
        return 1
    fi
}

mapfile -t targets < <(cargo fuzz list)
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    pids=()
    for target in "${targets[@]:i:2}"; do
        fuzz "$target" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
done
exit "$failed"
