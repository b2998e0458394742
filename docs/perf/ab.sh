#!/usr/bin/env bash
# `initlab throughput` of two builds, alternated ROUNDS times (old, new, old, new, ...) on
# the same machine, since its speed drifts within minutes: the medians over rounds of each
# build's samples/s, per network and thread count (medians.awk). For a change that must
# not slow the trainer down, OLD is the build before it.
#
#   docs/perf/ab.sh OLD_BINARY NEW_BINARY [ROUNDS=11] [throughput options...]
#
# Both run with the environment given (OPENBLAS_CORETYPE included), so they share a kernel.
set -euo pipefail
if [ $# -lt 2 ]; then
    sed -n '2,8p' "$0" >&2
    exit 2
fi
old=$1 new=$2 rounds=${3:-11}
shift $(($# < 3 ? $# : 3))
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for round in $(seq "$rounds"); do
    for side in old new; do
        binary=$old
        [ "$side" = new ] && binary=$new
        rm -rf "$scratch/out"
        "$binary" throughput --quiet --out "$scratch/out" "$@" > /dev/null
        tail -n +2 "$scratch/out/throughput.csv" | sed "s/^/$side,/" >> "$scratch/rows"
    done
    echo "round $round of $rounds done" >&2
done
awk -v label=build -f "$here/medians.awk" "$scratch/rows"
