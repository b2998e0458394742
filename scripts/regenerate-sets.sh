#!/usr/bin/env bash
# Regenerates every committed set in docs/ in place: each manifest.json's command, run by
# this checkout's release build with the OPENBLAS_CORETYPE the manifest records, so the
# numbers come from the same GEMM kernel as before. About 20 minutes on 2 cores. It
# resumes when killed: a set regenerated already (listed in target/regenerate/) is skipped;
# remove that folder to start over.
#
#   scripts/regenerate-sets.sh [FOLDER...]      (default: every docs/*/manifest.json)
#
# Then `git diff --stat docs` shows what moved, and scripts/compare-sets.sh whether any
# number did.
set -euo pipefail
cd "$(dirname "$0")/.."
state=target/regenerate
mkdir -p "$state"

cargo build --quiet --release
binary=$PWD/target/release/initlab

folders=("$@")
if [[ ${#folders[@]} -eq 0 ]]; then
    for manifest in docs/*/manifest.json; do
        folders+=("$(basename "$(dirname "$manifest")")")
    done
fi

for folder in "${folders[@]}"; do
    # One line per set: OPENBLAS_CORETYPE (or -), then the command after `initlab`.
    sets=$(python3 - "docs/$folder/manifest.json" <<'PY'
import json, shlex, sys
for s in json.load(open(sys.argv[1]))["sets"]:
    args = shlex.split(s["command"])
    assert args[0] == "initlab", s["command"]
    print(s["machine"].get("openblas_coretype") or "-", shlex.join(args[1:]))
PY
)
    n=0
    while read -r coretype args; do
        n=$((n + 1))
        done_file=$state/$folder.$n.done
        [[ -f $done_file ]] && continue
        echo "regenerate-sets: docs/$folder: initlab $args (OPENBLAS_CORETYPE=$coretype)" >&2
        start=$SECONDS
        coretype_env=(env -u OPENBLAS_CORETYPE)
        [[ $coretype == - ]] || coretype_env=(env OPENBLAS_CORETYPE="$coretype")
        # shellcheck disable=SC2086 # the manifest's arguments, split as the shell would
        "${coretype_env[@]}" "$binary" $args >"$state/$folder.$n.log" 2>&1 || {
            echo "regenerate-sets: docs/$folder failed; see $state/$folder.$n.log" >&2
            exit 1
        }
        echo "$((SECONDS - start)) s" >"$done_file"
    done <<<"$sets"
done
du -sh docs
