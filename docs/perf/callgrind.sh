#!/usr/bin/env bash
# Instructions per training step of the two reference networks (784-512-512-10 and
# 784 -> 20 x 256 -> 10, ReLU, batch 128, Adam, one thread), counted by callgrind: the same
# count for the same binary whatever else the machine does, so a change to the step can be
# held to "at most 1% more instructions" without interleaved timing runs.
#
#   docs/perf/callgrind.sh [OLD_REF]       (default: cd40921)
#
# Builds a small program against `initlab-nn` at OLD_REF and in this checkout (the API it uses,
# MlpConfig, Trainer and train_batch, exists in both), runs 2 and 6 steps of each network
# under callgrind and prints (I(6) - I(2)) / 4: set-up and the first steps' allocations
# cancel. Needs valgrind. Work goes to target/callgrind/.
#
# Valgrind 3.19 (Debian 12) decodes no AVX-512: both programs are built for x86-64-v3
# (AVX2 and FMA, where the project builds for the host CPU) and run with OpenBLAS's Haswell
# kernels, so the counts are of AVX2 code on any machine, old and new alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
old_ref=${1:-cd40921}
work=$root/target/callgrind
mkdir -p "$work"
if [[ ! -d $work/old-src ]]; then
    git worktree add --detach "$work/old-src" "$old_ref" >&2
fi
git -C "$work/old-src" checkout --quiet --detach "$old_ref"

program='
use initlab_nn::init::{Initializer, Nonlinearity};
use initlab_nn::ndarray::Array2;
use initlab_nn::{Loss, MlpConfig, Optimizer, Parallelism, Targets, TrainConfig, Trainer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let widths: Vec<usize> = args[1].split(",").map(|w| w.parse().unwrap()).collect();
    let steps: usize = args[2].parse().unwrap();
    let (input, output) = (widths[0], *widths.last().unwrap());
    let config = MlpConfig::new(input, widths[1..widths.len() - 1].to_vec(), output);
    let he = Initializer::he_normal(Nonlinearity::Relu);
    let mut mlp = config.build::<f32>(&he, &Initializer::Zeros, 0).unwrap();
    let x = Array2::from_shape_fn((128, input), |(i, j)| ((i * 31 + j * 17) % 97) as f32 / 97.0 - 0.5);
    let y: Vec<usize> = (0..128).map(|i| i % output).collect();
    let one = Parallelism::Threads(std::num::NonZeroUsize::new(1).unwrap());
    let train = TrainConfig::new(Loss::SoftmaxCrossEntropy, Optimizer::adam(1e-3)).with_parallelism(one);
    let mut trainer = Trainer::new(&mlp, train).unwrap();
    for _ in 0..steps {
        trainer.train_batch(&mut mlp, x.view(), Targets::Classes(&y)).unwrap().unwrap();
    }
}
'

build() {
    local side=$1 checkout=$2 package
    # The crate was `nn` before 0.2.0: the program names it `initlab_nn` on both sides.
    package=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$checkout/crates/nn/Cargo.toml" | head -n 1)
    mkdir -p "$work/$side/src"
    printf '%s\n' "$program" >"$work/$side/src/main.rs"
    cat >"$work/$side/Cargo.toml" <<EOF
[package]
name = "step-$side"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
initlab-nn = { path = "$checkout/crates/nn", package = "$package" }

[profile.release]
lto = "thin"
codegen-units = 1
debug = "line-tables-only"

[workspace]
EOF
    cp "$checkout/Cargo.lock" "$work/$side/Cargo.lock"
    RUSTFLAGS="-C target-cpu=x86-64-v3" cargo build --quiet --release \
        --manifest-path "$work/$side/Cargo.toml"
}

instructions() {
    local binary=$1 widths=$2 steps=$3 out
    out=$(mktemp)
    if ! OPENBLAS_CORETYPE=Haswell valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$binary" "$widths" "$steps" >"$out.log" 2>&1; then
        echo "callgrind: $binary $widths $steps failed:" >&2
        tail -n 5 "$out.log" >&2
        exit 1
    fi
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f "$out" "$out.log"
}

build old "$work/old-src"
build new "$root"
printf '%-26s %16s %16s %8s\n' network "$old_ref" "this checkout" ratio
for widths in 784,512,512,10 784,256,256,256,256,256,256,256,256,256,256,256,256,256,256,256,256,256,256,256,256,10; do
    declare -A per_step=()
    for side in old new; do
        binary=$work/$side/target/release/step-$side
        two=$(instructions "$binary" "$widths" 2)
        six=$(instructions "$binary" "$widths" 6)
        per_step[$side]=$(((six - two) / 4))
    done
    name=$widths
    [[ ${#widths} -gt 26 ]] && name="784-20x256-10"
    printf '%-26s %16d %16d %8.4f\n' "$name" "${per_step[old]}" "${per_step[new]}" \
        "$(echo "${per_step[new]} / ${per_step[old]}" | bc -l)"
done
