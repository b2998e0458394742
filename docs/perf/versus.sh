#!/usr/bin/env bash
# Two implementations of the same products in one criterion bench, timed alternately under
# OpenBLAS's Haswell and SkylakeX kernels, ROUNDS times, since this machine's speed drifts
# within minutes. Prints the median over rounds of criterion's median time for each
# product, and whatever the bench says about bitwise agreement.
#
#   docs/perf/versus.sh ROUNDS BENCH GROUP BASE OTHER [cargo bench options...]
#
#   docs/perf/versus.sh 3 thin thin/1t cblas thin           # the output layer's products
#   docs/perf/versus.sh 3 gemm gemm_mlp/1t cblas gemm_rs --features gemm-rs
set -euo pipefail

if [ $# -lt 5 ]; then
    sed -n '2,10p' "$0" >&2
    exit 2
fi
rounds=$1 bench=$2 group=$3 base=$4 other=$5
shift 5
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
criterion=${CARGO_TARGET_DIR:-target}/criterion/${group//\//_}

for round in $(seq "$rounds"); do
    for kernel in Haswell SkylakeX; do
        OPENBLAS_CORETYPE=$kernel cargo bench --quiet --bench "$bench" "$@" -- \
            --warm-up-time 0.5 --measurement-time 3 "^$group/($base|$other)/" \
            > /dev/null 2> "$scratch/stderr"
        if [ "$round" = 1 ]; then
            { grep 'bitwise' "$scratch/stderr" || true; } | sed "s/^/$kernel: /" >> "$scratch/bits"
        fi
        for impl in "$base" "$other"; do
            for estimates in "$criterion/$impl"/*/new/estimates.json; do
                product=${estimates#"$criterion/$impl/"}
                product=${product%/new/estimates.json}
                median=$(sed 's/.*"median":{[^}]*},"point_estimate":\([0-9.e+-]*\).*/\1/' "$estimates")
                echo "$kernel,$impl,$product,$median" >> "$scratch/rows.csv"
            done
        done
    done
done

if [ -s "$scratch/bits" ]; then
    cat "$scratch/bits"
    echo
fi
# kernel,implementation,product,nanoseconds
awk -F, -v base="$base" -v other="$other" '
function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
    key = $1 "|" $3
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    times[key "|" $2] = times[key "|" $2] " " $4
}
END {
    printf "| kernel | product | %s µs | %s µs | %s / %s |\n", base, other, base, other
    print "|---|---|---:|---:|---:|"
    for (i = 1; i <= count; i++) {
        key = order[i]; split(key, k, "|")
        b = median(times[key "|" base]) / 1000; o = median(times[key "|" other]) / 1000
        product = k[2]; sub(/-_/, "->", product); sub(/_/, " ", product)
        printf "| %s | %s | %.2f | %.2f | %.2f× |\n", k[1], product, b, o, b / o
    }
}' "$scratch/rows.csv"
