#!/usr/bin/env bash
# initlab's training throughput with OpenBLAS (the default build) and with initlab-gemm's
# packed kernel (`--features packed-gemm`): `initlab throughput` run alternately with each
# build, ROUNDS times, since this machine's speed drifts within minutes. Prints what ran,
# then each cell's median with the lowest and highest run in brackets; "of ceiling" is
# against each build's own ceiling (the same GEMM calls alone, through its own kernel).
#
#   docs/perf/packed.sh [ROUNDS] [native|zen3]
#
# native (the default): both builds for this CPU, in this shell's environment.
# zen3: what the issue's AVX2-only Zen 3 would run, on this CPU: both builds for Zen 3
# (`-C target-cpu=znver3`: AVX2, 16 vector registers), OpenBLAS with the kernels it picks
# on a Zen 3 (OPENBLAS_CORETYPE=Zen), the packed build with its AVX2 kernel
# (INITLAB_GEMM_PACKED_ISA=avx2). Caches and clocks stay this CPU's.
#
# Builds go to target/perf-MODE-BUILD (CARGO_TARGET_DIR's folder, if set), once.
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${1:-3}
mode=${2:-native}
case $mode in
    native) flags="-C target-cpu=native" run_env=() ;;
    zen3) flags="-C target-cpu=znver3" run_env=(OPENBLAS_CORETYPE=Zen INITLAB_GEMM_PACKED_ISA=avx2) ;;
    *)
        sed -n '2,16p' "$0" >&2
        exit 2
        ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for build in openblas packed; do
    features=()
    if [ "$build" = packed ]; then features=(--features packed-gemm); fi
    target=${CARGO_TARGET_DIR:-target}/perf-$mode-$build
    RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target" cargo build --quiet --release "${features[@]}"
    cp "$target/release/initlab" "$scratch/initlab-$build"
done

for round in $(seq "$rounds"); do
    for build in openblas packed; do
        env "${run_env[@]}" "$scratch/initlab-$build" throughput --quiet --out "$scratch/run" > /dev/null
        if [ "$round" = 1 ]; then
            kernel=$(sed -n 's/.*"gemm_kernel": *"\([^"]*\)".*/\1/p' "$scratch/run/throughput.json")
            echo "$build: $kernel"
        fi
        tail -n +2 "$scratch/run/throughput.csv" | sed "s/^/$build,/" >> "$scratch/rows.csv"
    done
done
echo
awk -v label=build -f docs/perf/medians.awk "$scratch/rows.csv"
