#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target into fuzz/corpus/, from the repository's own
# files: a few digits of the bundled MNIST as IDX (raw and gzip), small CSV data files,
# every experiment file, the saved-network fixtures, four committed output manifests, and
# the run records and shard files of fuzz/grid.toml run by this build (their identity
# rewritten to the one the targets resume with, initlab_fuzz::identity). Inputs the
# fuzzers add later stay.
#
#   fuzz/make-corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
mkdir -p "$corpus"/{idx,idx_gz,csv,experiment,safetensors,run_record,manifest,shard}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cp docs/experiments/*.toml fuzz/grid.toml "$corpus/experiment/"
cp crates/nn/tests/fixtures/*.safetensors "$corpus/safetensors/"
for set in demo cnn residual signal; do cp "docs/$set/manifest.json" "$corpus/manifest/$set.json"; done
for shard in 0 1; do
    cargo run --quiet -- run fuzz/grid.toml --shard "$shard/2" --quiet --out "$scratch/shard-$shard" >/dev/null
done

python3 - "$corpus" "$scratch" <<'PY'
import gzip, json, random, sys
corpus, scratch = sys.argv[1], sys.argv[2]

def idx(path, count, rank):
    with gzip.open(path) as f:
        header = f.read(4 + 4 * rank)
        dims = [int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
        per = 1
        for d in dims[1:]:
            per *= d
        data = f.read(count * per)
    return header[:4] + count.to_bytes(4, "big") + header[8:] + data

for name, blob in [("images-2", idx("data/mnist-10k/t10k-images-idx3-ubyte.gz", 2, 3)),
                   ("labels-50", idx("data/mnist-10k/t10k-labels-idx1-ubyte.gz", 50, 1))]:
    open(f"{corpus}/idx/{name}", "wb").write(blob)
    open(f"{corpus}/idx/{name}.gz", "wb").write(gzip.compress(blob, mtime=0))
    open(f"{corpus}/idx_gz/{name}", "wb").write(blob)

rng = random.Random(0)
rows = "".join(f"{rng.uniform(-1, 1):.4f},{rng.uniform(-1, 1):.4f},{rng.randrange(3)}\n" for _ in range(24))
open(f"{corpus}/csv/plain.csv", "w").write("x,y,label\n" + rows)
open(f"{corpus}/csv/label-first.csv", "w").write(
    "label,a,b\n\n1, 0.5 ,2e-3\n0,\"-1\",7\n\n2,3.25,-0.125\n")

def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) % (1 << 64)
    return f"{h:016x}"

identity = {"experiment": "grid.toml",
            "experiment_hash": fnv1a(open("fuzz/grid.toml", "rb").read()),
            "build": "fuzz", "platform": "fuzz", "blas_core": "fuzz"}
for shard in (0, 1):
    folder = f"{scratch}/shard-{shard}"
    meta = json.load(open(f"{folder}/shard.json"))
    results = json.load(open(f"{folder}/results.json"))
    meta["identity"] = identity
    with open(f"{corpus}/shard/shard-{shard}", "wb") as f:
        f.write(json.dumps(meta, indent=2).encode() + b"\xff" + json.dumps(results, indent=2).encode())
    for index, result in zip(meta["runs"], results):
        record = {"identity": identity, "index": index, "result": result}
        open(f"{corpus}/run_record/run-{index}", "w").write(json.dumps(record, indent=2))
PY
ls "$corpus"/* | head -40
