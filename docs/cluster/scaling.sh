#!/usr/bin/env bash
# How a grid scales to shards, on one machine: the experiment run as one process on one
# core, as one process on every core (runs spread over its thread pool), and as one
# shard process pinned to each core (one thread each) plus the merge, interleaved round by
# round, since this machine's speed drifts within minutes. Checks each merge against the
# single run's loss curves.
#
#   docs/cluster/scaling.sh EXPERIMENT.toml [ROUNDS]
set -euo pipefail

initlab=${INITLAB:-target/release/initlab}
experiment=$1
rounds=${2:-3}
cores=$(nproc)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

now() { date +%s.%N; }
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { print end - start }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "$experiment: one core, one process of $cores threads, $cores pinned shard processes and the merge"
echo "round,one_core_s,one_process_s,shards_s,merge_s,shards_speedup_over_one_core,shards_over_one_process"
for round in $(seq "$rounds"); do
    start=$(now)
    RAYON_NUM_THREADS=1 taskset -c 0 "$initlab" run "$experiment" --fresh --quiet \
        --out "$scratch/core" > /dev/null
    core=$(since "$start")
    start=$(now)
    "$initlab" run "$experiment" --fresh --quiet --out "$scratch/one" > /dev/null
    one=$(since "$start")
    start=$(now)
    for ((shard = 0; shard < cores; shard++)); do
        RAYON_NUM_THREADS=1 taskset -c "$shard" "$initlab" run "$experiment" --fresh \
            --shard "$shard/$cores" --quiet --out "$scratch/shard-$shard" > /dev/null &
    done
    wait
    shards=$(since "$start")
    start=$(now)
    "$initlab" merge "$scratch/merged" "$scratch"/shard-* --quiet > /dev/null
    merge=$(since "$start")
    cmp -s "$scratch/one/curves.csv" "$scratch/merged/curves.csv" ||
        { echo "round $round: the merge differs from the single run" >&2; exit 1; }
    ratio() { awk -v a="$1" -v b="$2" -v c="$merge" 'BEGIN { print a / (b + c) }'; }
    printf '%d,%.1f,%.1f,%.1f,%.1f,%.2f,%.2f\n' "$round" "$core" "$one" "$shards" "$merge" \
        "$(ratio "$core" "$shards")" "$(ratio "$one" "$shards")" | tee -a "$scratch/rounds.csv"
done
median_of() { cut -d, -f"$1" "$scratch/rounds.csv" | median; }
printf 'medians: one core %.1f s, one process %.1f s, %d shards %.1f s + merge %.1f s; shards %.2fx one core, %.2fx one process\n' \
    "$(median_of 2)" "$(median_of 3)" "$cores" "$(median_of 4)" "$(median_of 5)" "$(median_of 6)" "$(median_of 7)"
