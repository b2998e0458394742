#!/usr/bin/env bash
# initlab's training throughput with OpenBLAS (the default) and with initlab-gemm's packed
# kernel (`--gemm packed`): `initlab throughput` run alternately with each kernel, ROUNDS
# times, since this machine's speed drifts within minutes. Prints what ran, then each
# cell's median with the lowest and highest run in brackets; "of ceiling" is against each
# kernel's own ceiling (the same GEMM calls alone, through that kernel).
#
#   docs/perf/packed.sh [ROUNDS] [native|zen3]
#
# native (the default): a build for this CPU, in this shell's environment, the packed
# kernel on the best instruction set the CPU has.
# zen3: what the issue's AVX2-only Zen 3 would run, on this CPU: a build for Zen 3
# (`-C target-cpu=znver3`: AVX2, 16 vector registers), OpenBLAS with the kernels it picks
# on a Zen 3 (OPENBLAS_CORETYPE=Zen), the packed kernel on AVX2 (`--gemm packed-avx2`).
# Caches and clocks stay this CPU's.
#
# The build goes to target/perf-MODE (CARGO_TARGET_DIR's folder, if set), once.
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${1:-3}
mode=${2:-native}
case $mode in
    native) flags="-C target-cpu=native" run_env=() packed=packed ;;
    zen3) flags="-C target-cpu=znver3" run_env=(OPENBLAS_CORETYPE=Zen) packed=packed-avx2 ;;
    *)
        sed -n '2,16p' "$0" >&2
        exit 2
        ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

target=${CARGO_TARGET_DIR:-target}/perf-$mode
RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target" cargo build --quiet --release
cp "$target/release/initlab" "$scratch/initlab"

for round in $(seq "$rounds"); do
    for build in openblas packed; do
        gemm=openblas
        if [ "$build" = packed ]; then gemm=$packed; fi
        env "${run_env[@]}" "$scratch/initlab" throughput --gemm "$gemm" --quiet --out "$scratch/run" > /dev/null
        if [ "$round" = 1 ]; then
            kernel=$(sed -n 's/.*"gemm_kernel": *"\([^"]*\)".*/\1/p' "$scratch/run/throughput.json")
            echo "$build: $kernel"
        fi
        tail -n +2 "$scratch/run/throughput.csv" | sed "s/^/$build,/" >> "$scratch/rows.csv"
    done
done
echo
awk -v label=build -f docs/perf/medians.awk "$scratch/rows.csv"
