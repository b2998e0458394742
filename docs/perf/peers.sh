#!/usr/bin/env bash
# initlab against numpy and JAX on the two reference networks (784-512-512-10 and
# 784 -> 20 x 256 -> 10, batch 128, SGD, f32), on one and two cores, interleaved round by
# round in one run, since this machine's speed drifts by up to 50% within minutes. The
# peers are ../shared/peers: numpy with its bundled OpenBLAS held to N threads by
# threadpoolctl, and JAX pinned to N cores with sched_setaffinity (XLA's flags alone do not
# hold it to one). Everything runs in this shell's environment, so OPENBLAS_CORETYPE, if
# set, picks the kernel of initlab's OpenBLAS and of numpy's alike.
#
#   PYTHON=venv/bin/python docs/perf/peers.sh [ROUNDS] [EPOCHS]
#
# PYTHON must have numpy, jax and threadpoolctl (python3 -m venv venv &&
# venv/bin/pip install numpy jax threadpoolctl); PEERS is the peers' folder
# (default ../shared/peers); INITLAB the binary (default target/release/initlab).
# Prints one CSV row per measurement, then the medians, initlab's ratio to the faster
# peer per network and thread count, and on one thread its GEMM ceiling's (the same GEMM
# calls alone through the kernel that trains, raw cblas_sgemm or the packed kernel, which
# no step around them can beat).
set -euo pipefail

rounds=${1:-3}
epochs=${2:-3}
python=${PYTHON:?set PYTHON to a python with numpy, jax and threadpoolctl}
peers=$(realpath "${PEERS:-../shared/peers}")
initlab=$(realpath "${INITLAB:-target/release/initlab}")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rows=$scratch/rows.csv

network_of() { case $1 in wide) echo "784-512-512-10" ;; deep) echo "784 -> 20 x 256 -> 10" ;; esac; }

peer() { # tool script arch threads [args]
    local tool=$1 script=$2 arch=$3 threads=$4
    shift 4
    (cd "$peers" && "$python" "$script" --arch "$arch" --threads "$threads" --epochs "$epochs" "$@") |
        sed -n 's/^RESULT //p' |
        "$python" -c "import json, sys; r = json.load(sys.stdin); print(r['samples_per_s_median'])" |
        sed "s/^/$round,$tool,$(network_of "$arch"),$threads,/" | tee -a "$rows"
}

echo "round,tool,network,threads,samples_per_s"
for round in $(seq "$rounds"); do
    "$initlab" throughput --quiet --out "$scratch/initlab" > /dev/null
    # initlab's step, and its ceiling: the same GEMM calls alone, through its kernel.
    tail -n +2 "$scratch/initlab/throughput.csv" |
        awk -F, -v round="$round" '{
            printf "%d,initlab,%s,%d,%.0f\n", round, $1, $2, $3
            if ($2 == 1) printf "%d,ceiling,%s,1,%.0f\n", round, $1, $5
        }' | tee -a "$rows"
    for arch in wide deep; do
        for threads in 1 2; do
            peer numpy mlp_numpy.py "$arch" "$threads"
            peer jax mlp_jax.py "$arch" "$threads" --mode step
        done
    done
done

"$python" - "$rows" <<'PY'
import csv, statistics, sys
from collections import defaultdict

runs = defaultdict(list)
for round_, tool, network, threads, value in csv.reader(open(sys.argv[1])):
    runs[(network, int(threads), tool)].append(float(value))
print()
print("| network | threads | initlab | numpy | JAX | initlab / faster peer | initlab's GEMM ceiling (1 thread) / faster peer |")
print("|---|---:|---:|---:|---:|---:|---:|")
for network in ("784-512-512-10", "784 -> 20 x 256 -> 10"):
    for threads in (1, 2):
        median = {t: statistics.median(runs[(network, threads, t)]) for t in ("initlab", "numpy", "jax")}
        faster = max(median["numpy"], median["jax"])
        ceiling = statistics.median(runs[(network, 1, "ceiling")]) / faster if threads == 1 else float("nan")
        print(f"| {network} | {threads} | {median['initlab']:.0f} | {median['numpy']:.0f} | {median['jax']:.0f} | {median['initlab'] / faster:.2f} | {ceiling:.2f} |")
PY
