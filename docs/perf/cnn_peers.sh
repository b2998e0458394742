#!/usr/bin/env bash
# initlab against JAX on the CNN of docs/experiments/cnn.toml (1x28x28, 3x3 convolutions of
# 16, 32 and 32 channels, the first two of stride 2, ReLU, the channels' means, 10; batch
# 128, SGD, f32), on one and two cores, interleaved round by round in one run, since this
# machine's speed drifts by up to 50% within minutes. initlab is `initlab throughput
# --kernel 3`; JAX is docs/perf/cnn_jax.py (lax.conv_general_dilated), pinned to N cores
# with sched_setaffinity. Everything runs in this shell's environment, so
# OPENBLAS_CORETYPE, if set, picks initlab's OpenBLAS kernel.
#
#   PYTHON=venv/bin/python docs/perf/cnn_peers.sh [ROUNDS] [EPOCHS]
#
# PYTHON must have numpy and jax (python3 -m venv venv && venv/bin/pip install numpy jax);
# INITLAB is the binary (default target/release/initlab). Prints one CSV row per
# measurement, then the medians, initlab's ratio to JAX per thread count, and on one
# thread initlab's GEMM ceiling (the same products alone, per sample and layer as its
# im2col runs them, through the kernel that trains).
set -euo pipefail

rounds=${1:-3}
epochs=${2:-3}
python=${PYTHON:?set PYTHON to a python with numpy and jax}
initlab=$(realpath "${INITLAB:-target/release/initlab}")
jax_peer=$(realpath "$(dirname "$0")/cnn_jax.py")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rows=$scratch/rows.csv

echo "round,tool,threads,samples_per_s"
for round in $(seq "$rounds"); do
    "$initlab" throughput --kernel 3 --quiet --out "$scratch/initlab" > /dev/null
    tail -n +2 "$scratch/initlab/throughput.csv" |
        awk -F, -v round="$round" '{
            # The network name has no comma; its columns: threads, samples/s, ..., ceiling.
            printf "%d,initlab,%d,%.0f\n", round, $2, $3
            if ($2 == 1) printf "%d,ceiling,1,%.0f\n", round, $5
        }' | tee -a "$rows"
    for threads in 1 2; do
        "$python" "$jax_peer" --threads "$threads" --epochs "$epochs" |
            sed -n 's/^RESULT //p' |
            "$python" -c "import json, sys; print(json.load(sys.stdin)['samples_per_s_median'])" |
            sed "s/^/$round,jax,$threads,/" | tee -a "$rows"
    done
done

"$python" - "$rows" <<'PY'
import csv, statistics, sys
from collections import defaultdict

runs = defaultdict(list)
for round_, tool, threads, value in csv.reader(open(sys.argv[1])):
    runs[(tool, int(threads))].append(float(value))
print()
print("| threads | initlab | JAX | initlab / JAX | initlab's GEMM ceiling (1 thread) / JAX |")
print("|---:|---:|---:|---:|---:|")
for threads in (1, 2):
    initlab = statistics.median(runs[("initlab", threads)])
    jax = statistics.median(runs[("jax", threads)])
    ceiling = statistics.median(runs[("ceiling", 1)]) / jax if threads == 1 else float("nan")
    print(f"| {threads} | {initlab:.0f} | {jax:.0f} | {initlab / jax:.2f} | {ceiling:.2f} |")
PY
