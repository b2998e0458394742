# Medians of `initlab throughput` runs, with the lowest and highest in brackets, one table
# row per (label, network, threads) in order of first appearance. Input: CSV rows of
# label,network,threads,samples_per_second,gflops,ceiling_samples_per_second,ratio,speedup
# (throughput.csv with a label in front). Used by kernels.sh and packed.sh.
BEGIN { FS = "," }
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
    sps[key] = sps[key] " " $4; ceiling[key] = ceiling[key] " " $6; ratio[key] = ratio[key] " " $7; speedup[key] = speedup[key] " " $8
}
END {
    print "| " (label ? label : "kernel") " | network | threads | samples/s | ceiling samples/s | of ceiling | speedup |"
    print "|---|---|---:|---:|---:|---:|---:|"
    for (i = 1; i <= count; i++) {
        key = order[i]; split(key, k, "|")
        printf "| %s | %s | %s | %.0f [%.0f, %.0f] | %.0f | %.3f [%.3f, %.3f] | %.2fx [%.2f, %.2f] |\n", k[1], k[2], k[3],
            median(sps[key]), low(sps[key]), high(sps[key]), median(ceiling[key]),
            median(ratio[key]), low(ratio[key]), high(ratio[key]),
            median(speedup[key]), low(speedup[key]), high(speedup[key])
    }
}
