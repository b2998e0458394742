#!/usr/bin/env bash
# A fuzzing campaign: runs every target (or those named) for SECONDS each (default 1200),
# two at a time (one per core), growing its corpus in fuzz/corpus/TARGET; then minimizes
# each corpus (cargo fuzz cmin) and appends one line per target to fuzz/campaigns.tsv:
# date, commit, target, seconds it ran, executions, corpus inputs, findings. A finding (panic,
# allocation past its bound, timeout) is left in fuzz/artifacts/TARGET; minimize it with
# `cargo fuzz tmin --sanitizer none TARGET FILE` and add it to fuzz/regressions/TARGET,
# where `cargo test -p initlab-fuzz` replays it.
#
#   fuzz/campaign.sh [SECONDS] [TARGET...]
#
# Killed, it loses only the unfinished targets' last minutes: the corpus is written as it
# grows, and a rerun starts from it. Stable Rust, libFuzzer without a sanitizer (the
# targets are safe Rust, and count their own allocations).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1200}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo fuzz list)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
cargo fuzz build --sanitizer none
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
commit=$(git describe --always --dirty)

campaign() {
    local target=$1 before after
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    before=$(find "fuzz/artifacts/$target" -type f | wc -l)
    local start=$SECONDS
    cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$logs/$target.log" 2>&1 || true
    after=$(find "fuzz/artifacts/$target" -type f | wc -l)
    # A finding stops the target early: the time it ran is what counts.
    local ran=$((SECONDS - start))
    local runs
    runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$logs/$target.log" | grep -oE '[0-9]+$' || echo 0)
    cargo fuzz cmin --sanitizer none "$target" "fuzz/corpus/$target" >/dev/null 2>&1 || true
    local inputs
    inputs=$(find "fuzz/corpus/$target" -type f | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$commit" "$target" "$ran" \
        "$runs" "$inputs" "$((after - before))" >>fuzz/campaigns.tsv
    echo "$target: $runs executions in $ran s, $inputs inputs, $((after - before)) findings"
    if [[ $after -gt $before ]]; then
        grep -E 'panicked|allocate|ERROR|SUMMARY' "$logs/$target.log" | head -5
    fi
}

[[ -s fuzz/campaigns.tsv ]] ||
    printf 'date\tcommit\ttarget\tseconds\texecutions\tcorpus_inputs\tfindings\n' >fuzz/campaigns.tsv
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    campaign "${targets[i]}" &
    if [[ $((i + 1)) -lt ${#targets[@]} ]]; then
        campaign "${targets[i + 1]}" &
    fi
    wait
done

# Every campaign so far, per target (the guide quotes this table; tests/readme.rs checks it).
echo "| target | hours | executions | findings |"
echo "|---|---:|---:|---:|"
tail -n +2 fuzz/campaigns.tsv | LC_ALL=C sort -t$'\t' -k3,3 | awk -F'\t' '
    { s[$3] += $4; r[$3] += $5; f[$3] += $7; if (!($3 in seen)) { seen[$3] = 1; order[n++] = $3 } }
    END {
        for (i = 0; i < n; i++) {
            t = order[i]; printf "| %s | %.2f | %.0f | %.0f |\n", t, s[t] / 3600, r[t], f[t]
            S += s[t]; R += r[t]; F += f[t]
        }
        printf "| all | %.2f | %.0f | %.0f |\n", S / 3600, R, F
    }'
