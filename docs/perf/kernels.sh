#!/usr/bin/env bash
# initlab's training throughput under OpenBLAS's AVX2 (Haswell) and AVX-512 (SkylakeX)
# kernels: `initlab throughput` run alternately with each OPENBLAS_CORETYPE, ROUNDS times,
# since this machine's speed drifts within minutes. Prints each cell's median with the
# lowest and highest run in brackets.
#
#   docs/perf/kernels.sh [ROUNDS]
set -euo pipefail

rounds=${1:-5}
initlab=$(realpath "${INITLAB:-target/release/initlab}")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for round in $(seq "$rounds"); do
    for kernel in Haswell SkylakeX; do
        OPENBLAS_CORETYPE=$kernel "$initlab" throughput --quiet --out "$scratch/run" > /dev/null
        tail -n +2 "$scratch/run/throughput.csv" | sed "s/^/$kernel,/" >> "$scratch/rows.csv"
    done
done

# kernel,network,threads,samples_per_second,gflops,ceiling_samples_per_second,ratio,speedup
awk -F, '
function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function low(list,    n, v, i, m) { n = split(list, v, " "); m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 < m + 0) m = v[i]; return m }
function high(list,    n, v, i, m) { n = split(list, v, " "); m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 > m + 0) m = v[i]; return m }
{
    key = $1 "|" $2 "|" $3
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    sps[key] = sps[key] " " $4; ratio[key] = ratio[key] " " $7; speedup[key] = speedup[key] " " $8
}
END {
    print "| kernel | network | threads | samples/s | of ceiling | speedup |"
    print "|---|---|---:|---:|---:|---:|"
    for (i = 1; i <= count; i++) {
        key = order[i]; split(key, k, "|")
        printf "| %s | %s | %s | %.0f [%.0f, %.0f] | %.3f [%.3f, %.3f] | %.2fx [%.2f, %.2f] |\n", k[1], k[2], k[3],
            median(sps[key]), low(sps[key]), high(sps[key]),
            median(ratio[key]), low(ratio[key]), high(ratio[key]),
            median(speedup[key]), low(speedup[key]), high(speedup[key])
    }
}' "$scratch/rows.csv"
