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
# initlab runs twice a round, on OpenBLAS (its default) and on its packed kernel
# (`--gemm packed`, where the CPU has AVX-512F or AVX2 with FMA). Prints this core's FMA
# peak (docs/perf/fma_peak.c, built with gcc for the widest vectors the CPU has), one CSV
# row per measurement, then the medians, each kernel's ratio to the faster peer per
# network and thread count, and on one thread each kernel's GEMM ceiling (the same GEMM
# calls alone through that kernel, which no step around them can beat) and the deep
# network's step against the FMA peak.
set -euo pipefail

rounds=${1:-3}
epochs=${2:-3}
python=${PYTHON:?set PYTHON to a python with numpy, jax and threadpoolctl}
peers=$(realpath "${PEERS:-../shared/peers}")
initlab=$(realpath "${INITLAB:-target/release/initlab}")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rows=$scratch/rows.csv

# The FMA peak, as GFLOP/s; 256-bit where the CPU lacks AVX-512F.
fma_flags=(-mavx512f -mfma)
grep -qw avx512f /proc/cpuinfo || fma_flags=(-mavx2 -mfma -DYMM)
gcc -O2 "${fma_flags[@]}" -o "$scratch/fma_peak" "$(dirname "$0")/fma_peak.c"
"$scratch/fma_peak" | tee "$scratch/fma.txt" >&2
fma_peak=$(sed -n 's/.*FMA: \([0-9.]*\) GFLOP.*/\1/p' "$scratch/fma.txt" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')

# The kernels initlab runs: OpenBLAS, and the packed one where this CPU has it.
kernels=(openblas)
"$initlab" list --gemm packed > /dev/null 2>&1 && kernels+=(packed)

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
    for kernel in "${kernels[@]}"; do
        "$initlab" throughput --gemm "$kernel" --quiet --out "$scratch/initlab" > /dev/null
        # initlab's step, and its ceiling: the same GEMM calls alone, through its kernel.
        tail -n +2 "$scratch/initlab/throughput.csv" |
            awk -F, -v round="$round" -v kernel="$kernel" '{
                printf "%d,initlab-%s,%s,%d,%.0f\n", round, kernel, $1, $2, $3
                if ($2 == 1) printf "%d,ceiling-%s,%s,1,%.0f\n", round, kernel, $1, $5
            }' | tee -a "$rows"
    done
    for arch in wide deep; do
        for threads in 1 2; do
            peer numpy mlp_numpy.py "$arch" "$threads"
            peer jax mlp_jax.py "$arch" "$threads" --mode step
        done
    done
done

"$python" - "$rows" "$fma_peak" <<'PY'
import csv, statistics, sys
from collections import defaultdict

runs = defaultdict(list)
for round_, tool, network, threads, value in csv.reader(open(sys.argv[1])):
    runs[(network, int(threads), tool)].append(float(value))
fma_peak = float(sys.argv[2])
kernels = [k for k in ("openblas", "packed") if runs[("784-512-512-10", 1, f"initlab-{k}")]]
# GEMM flops per sample of a training step: forward, dW, and dX but for the first layer.
flops = {
    "784-512-512-10": 2 * (3 * (512 * 512 + 512 * 10) + 2 * 784 * 512),
    "784 -> 20 x 256 -> 10": 2 * (3 * (19 * 256 * 256 + 256 * 10) + 2 * 784 * 256),
}
median = lambda network, threads, tool: statistics.median(runs[(network, threads, tool)])
print()
print(f"FMA peak of one core: {fma_peak:.1f} GFLOP/s")
print()
head = " | ".join(f"initlab {k}" for k in kernels)
ratios = " | ".join(f"{k} / faster peer" for k in kernels)
ceilings = " | ".join(f"{k}'s ceiling / faster peer" for k in kernels)
print(f"| network | threads | numpy | JAX | {head} | {ratios} | {ceilings} |")
print("|---|---:|" + "---:|" * (2 + 3 * len(kernels)))
for network in ("784-512-512-10", "784 -> 20 x 256 -> 10"):
    for threads in (1, 2):
        faster = max(median(network, threads, "numpy"), median(network, threads, "jax"))
        ours = [median(network, threads, f"initlab-{k}") for k in kernels]
        ceiling = [
            f"{median(network, 1, f'ceiling-{k}') / faster:.2f}" if threads == 1 else "nan"
            for k in kernels
        ]
        cells = [f"{median(network, threads, 'numpy'):.0f}", f"{median(network, threads, 'jax'):.0f}"]
        cells += [f"{v:.0f}" for v in ours] + [f"{v / faster:.2f}" for v in ours] + ceiling
        print(f"| {network} | {threads} | " + " | ".join(cells) + " |")
print()
for k in kernels:
    step = median("784 -> 20 x 256 -> 10", 1, f"initlab-{k}") * flops["784 -> 20 x 256 -> 10"] * 1e-9
    print(f"deep network, 1 thread, {k}: {step:.1f} GEMM GFLOP/s, {step / fma_peak:.2f} of the FMA peak")
PY
