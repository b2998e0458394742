#!/usr/bin/env bash
# The output layer's thin products (10 units, batch 128) through cblas_sgemm against the
# hand-written kernels of benches/thin.rs, on one thread: `cargo bench --bench thin` run
# alternately under OpenBLAS's Haswell and SkylakeX kernels, ROUNDS times, since this
# machine's speed drifts within minutes. Prints the median over rounds of criterion's
# median time for each product, and how many values each kernel shares bit for bit with
# the BLAS.
#
#   docs/perf/thin.sh [ROUNDS]
set -euo pipefail

rounds=${1:-3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
criterion=${CARGO_TARGET_DIR:-target}/criterion/thin_1t

for round in $(seq "$rounds"); do
    for kernel in Haswell SkylakeX; do
        OPENBLAS_CORETYPE=$kernel cargo bench --quiet --bench thin -- \
            --warm-up-time 0.5 --measurement-time 3 > /dev/null 2> "$scratch/stderr"
        if [ "$round" = 1 ]; then
            grep 'bitwise equal' "$scratch/stderr" | sed "s/^/$kernel: /" >> "$scratch/bits"
        fi
        for estimates in "$criterion"/*/*/new/estimates.json; do
            id=${estimates#"$criterion"/}
            id=${id%/new/estimates.json}
            median=$(sed 's/.*"median":{[^}]*},"point_estimate":\([0-9.e+-]*\).*/\1/' "$estimates")
            echo "$kernel,$id,$median" >> "$scratch/rows.csv"
        done
    done
done

cat "$scratch/bits"
echo
# kernel,impl/product_shape,nanoseconds
awk -F, '
function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
    split($2, parts, "/"); impl = parts[1]; product = parts[2]
    key = $1 "|" product
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    times[key "|" impl] = times[key "|" impl] " " $3
}
END {
    print "| kernel | product | cblas µs | hand-written µs | cblas / hand-written |"
    print "|---|---|---:|---:|---:|"
    for (i = 1; i <= count; i++) {
        key = order[i]; split(key, k, "|")
        ours = median(times[key "|thin"]) / 1000; theirs = median(times[key "|cblas"]) / 1000
        shape = k[2]; sub(/-_/, "->", shape); sub(/_/, " ", shape)
        printf "| %s | %s | %.2f | %.2f | %.2f× |\n", k[1], shape, theirs, ours, theirs / ours
    }
}' "$scratch/rows.csv"
