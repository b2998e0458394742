#!/usr/bin/env bash
# Where a one-thread training step's time goes: perf samples of `cargo bench --bench
# train_step`'s step of NETWORK (deep: 784 -> 20 x 256 -> 10, or wide: 784-512-512-10),
# each given to the trainer phase on its stack (forward, loss, input gradients, weight
# gradients, optimizer update) and to the work it was doing there (BLAS's kernel, its
# packing, its zeroing of C, or our own elementwise passes). Needs `perf` (Debian's
# linux-perf) and the right to use it.
#
#   docs/perf/phases.sh [NETWORK] [SECONDS] [openblas|packed]
#
# packed: f32 products on initlab-gemm's own kernel (INITLAB_GEMM=packed, which the bench
# reads; its microkernel and its packing are named apart from BLAS's).
set -euo pipefail

network=${1:-deep}
seconds=${2:-15}
build=${3:-openblas}
case $build in
    openblas) export INITLAB_GEMM=openblas ;;
    packed) export INITLAB_GEMM=packed ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Debug info for the call stacks; the code is the same optimized build.
export CARGO_PROFILE_BENCH_DEBUG=true
bench=$(cargo bench --bench train_step --no-run 2>&1 |
    sed -n 's/.*Executable benches\/train_step.rs (\(.*\))/\1/p')
perf record --quiet -F 999 --call-graph dwarf -o "$scratch/perf.data" -- \
    "$bench" --bench --profile-time "$seconds" "^train_step/$network/trainer/1t\$" \
    > /dev/null 2> "$scratch/bench.log"
perf script -i "$scratch/perf.data" 2> /dev/null > "$scratch/stacks.txt"

echo "$build kernel, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $network network, batch 128, SGD, one thread"
echo
# A sample is a header line, then its frames innermost first, then a blank line. Only
# samples inside a training step count (setup and criterion's own work are left out).
awk '
function symbol(line) {
    sub(/^[ \t]*[0-9a-f]+ /, "", line)
    sub(/ \([^)]*\)$/, "", line)
    sub(/\+0x[0-9a-f]+$/, "", line)
    return line
}
function phase_of(frame) {
    if (frame ~ /update_blocks|Optimizer::update/) return "optimizer update"
    if (frame ~ /weight_gradients/) return "weight gradients (dW, db)"
    if (frame ~ /Mlp<T>::backward/) return "input gradients (dX)"
    if (frame ~ /forward_layers/) return "forward"
    if (frame ~ /forward_backward/) return "loss"
    if (frame ~ /trainer::gather/) return "gathering the batch"
    return ""
}
# What the innermost frames were doing: BLAS by its own routines, our passes by the
# nearest of their functions on the stack (their loops are inlined into helpers).
function work_of(    i, leaf, f) {
    leaf = frames[1]
    if (leaf ~ /gemm_kernel/) return "BLAS kernel"
    if (leaf ~ /gemm_(it|in|ot|on)copy/) return "BLAS packing"
    # The packed microkernel is inlined into its caller; its packing shows as
    # inlined frames of its own.
    for (i = 1; i <= depth; i++) if (frames[i] ~ /packed::kernel::(pack|transpose_8x8)/) return "packed packing"
    for (i = 1; i <= depth; i++) if (frames[i] ~ /packed::kernel::|packed_gemm/) return "packed kernel"
    for (i = 1; i <= depth; i++) if (frames[i] ~ /^(cblas_|sgemm_|dgemm_)/) {
        if (leaf ~ /gemm_beta|memset/) return "BLAS zeroing C"
        return "BLAS, other"
    }
    for (i = 1; i <= depth; i++) {
        f = frames[i]
        if (f ~ /Activation::forward/) return "activation"
        if (f ~ /Activation::backward/) return "activation derivative"
        if (f ~ /finite::all_finite/) return "finiteness check"
        if (f ~ /Optimizer::update/) return "update arithmetic"
        if (f ~ /core_math::affine::affine/) return "bias broadcast"
        if (f ~ /weight_gradients/) return "bias sums"
        if (phase_of(f) != "") break
    }
    if (leaf ~ /rayon|crossbeam|sched|futex|switch|\[k\]/) return "threading"
    return "other"
}
function flush(    i, p, w) {
    if (depth == 0) return
    p = ""
    for (i = 1; i <= depth && p == ""; i++) p = phase_of(frames[i])
    if (p == "") { depth = 0; return }
    w = work_of()
    total++
    by_phase[p]++
    by_pair[p "|" w]++
    if (w ~ /^(BLAS|packed)/) blas[p]++
    depth = 0
}
/^[^ \t]/ { flush(); depth = 0; next }
/^[ \t]*$/ { flush(); next }
{ frames[++depth] = symbol($0) }
END {
    flush()
    split("forward|loss|input gradients (dX)|weight gradients (dW, db)|optimizer update|gathering the batch", order, "|")
    printf "%d samples in training steps\n\n", total
    print "| phase | share of the step | GEMM | not GEMM |"
    print "|---|---:|---:|---:|"
    for (i = 1; i <= 6; i++) {
        p = order[i]
        if (!(p in by_phase)) continue
        printf "| %s | %.1f%% | %.1f%% | %.1f%% |\n", p, 100 * by_phase[p] / total, 100 * blas[p] / total, 100 * (by_phase[p] - blas[p]) / total
    }
    print ""
    print "| phase | work | share of the step |"
    print "|---|---|---:|"
    for (i = 1; i <= 6; i++) {
        p = order[i]
        n = 0
        for (key in by_pair) {
            split(key, k, "|")
            if (k[1] == p) rows[++n] = sprintf("%09.5f|%s", by_pair[key] / total, k[2])
        }
        # Largest first.
        for (a = 2; a <= n; a++) for (b = a; b > 1 && rows[b - 1] < rows[b]; b--) { t = rows[b]; rows[b] = rows[b - 1]; rows[b - 1] = t }
        for (a = 1; a <= n; a++) {
            split(rows[a], r, "|")
            printf "| %s | %s | %.1f%% |\n", p, r[2], 100 * r[1]
        }
    }
}' "$scratch/stacks.txt"
