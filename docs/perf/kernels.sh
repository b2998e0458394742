#!/usr/bin/env bash
# initlab's training throughput under OpenBLAS's kernel families, by default its AVX2
# (Haswell) and AVX-512 (SkylakeX) ones: `initlab throughput` run alternately with each
# OPENBLAS_CORETYPE, ROUNDS times, since this machine's speed drifts within minutes. Prints
# each cell's median with the lowest and highest run in brackets.
#
#   [KERNELS="Prescott Haswell SkylakeX Cooperlake"] docs/perf/kernels.sh [ROUNDS]
set -euo pipefail

rounds=${1:-5}
initlab=$(realpath "${INITLAB:-target/release/initlab}")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for round in $(seq "$rounds"); do
    for kernel in ${KERNELS:-Haswell SkylakeX}; do
        OPENBLAS_CORETYPE=$kernel "$initlab" throughput --quiet --out "$scratch/run" > /dev/null
        tail -n +2 "$scratch/run/throughput.csv" | sed "s/^/$kernel,/" >> "$scratch/rows.csv"
    done
done

awk -f "$(dirname "$0")/medians.awk" "$scratch/rows.csv"
