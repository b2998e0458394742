#!/usr/bin/env bash
# The API docs build without a warning (broken intra-doc links included) with every feature
# but `openblas-static`, which downloads OpenBLAS; and each library crate carries the docs.rs
# metadata that builds its feature-gated items and badges them (`doc_cfg` badges show only
# on docs.rs, whose nightly this CI does not run, so the metadata is what is checked).
set -euo pipefail
cd "$(dirname "$0")/.."

features=initlab-init/half,initlab-init/lapack,initlab-gemm/packed-gemm
echo "check-docs: cargo doc --workspace --no-deps --features $features, warnings denied" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --workspace --no-deps --features "$features"

echo "check-docs: docs.rs metadata of the library crates" >&2
cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
packages = {p["name"]: p for p in json.load(sys.stdin)["packages"]}
problems = []
for name in ["initlab-gemm", "initlab-init", "initlab-nn"]:
    package = packages[name]
    docs = (package.get("metadata") or {}).get("docs", {}).get("rs")
    if docs is None:
        problems.append(f"{name}: no [package.metadata.docs.rs]")
        continue
    for feature in docs.get("features", []):
        if feature not in package["features"]:
            problems.append(f"{name}: docs.rs feature {feature!r} is not a feature of the crate")
    if "openblas-static" in docs.get("features", []) or docs.get("all-features"):
        problems.append(f"{name}: docs.rs would build openblas-static, which downloads OpenBLAS")
    if docs.get("rustdoc-args") != ["--cfg", "docsrs"]:
        problems.append(f"{name}: rustdoc-args should be [\"--cfg\", \"docsrs\"]")
    lib = open(package["targets"][0]["src_path"]).read() if package["targets"][0]["kind"] == ["lib"] else ""
    if "#![cfg_attr(docsrs, feature(doc_cfg))]" not in lib:
        problems.append(f"{name}: its lib.rs does not turn on doc_cfg under docsrs")
for problem in problems:
    print("check-docs:", problem, file=sys.stderr)
sys.exit(1 if problems else 0)
'
