#!/usr/bin/env bash
# Regenerates every committed set in docs/ in place: each manifest.json's command, run by
# this checkout's release build with the OPENBLAS_CORETYPE the manifest records, so the
# numbers come from the same GEMM kernel as before. About 10 minutes on 2 cores. It
# resumes when killed: a set this revision regenerated already (listed in
# target/regenerate/COMMIT/) is skipped, so sets of two commits are never mixed; remove
# that folder to start over.
#
#   scripts/regenerate-sets.sh [FOLDER...]      (default: every docs/*/manifest.json)
#
# Then `git diff --stat docs` shows what moved, and scripts/compare-sets.sh whether any
# number did.
set -euo pipefail
cd "$(dirname "$0")/.."
# Keyed by the commit, not the tree: the sets it writes make the tree dirty.
state=target/regenerate/$(git rev-parse --short HEAD)
mkdir -p "$state"

cargo build --quiet --release
binary=$PWD/target/release/initlab

# One line per set: folder, OPENBLAS_CORETYPE (or -), the arguments after `initlab`.
sets=$(scripts/set-commands.py "$@")
while read -r folder coretype args; do
    # A set is known by its folder and command, whichever folders this run was given.
    set_id=$folder.$(cksum <<<"$args" | cut -d' ' -f1)
    done_file=$state/$set_id.done
    [[ -f $done_file ]] && continue
    args=${args//@OUT@/docs/$folder}
    echo "regenerate-sets: docs/$folder: initlab $args (OPENBLAS_CORETYPE=$coretype)" >&2
    start=$SECONDS
    coretype_env=(env -u OPENBLAS_CORETYPE)
    [[ $coretype == - ]] || coretype_env=(env OPENBLAS_CORETYPE="$coretype")
    # shellcheck disable=SC2086 # the manifest's arguments, split as the shell would
    "${coretype_env[@]}" "$binary" $args >"$state/$set_id.log" 2>&1 || {
        echo "regenerate-sets: docs/$folder failed; see $state/$set_id.log" >&2
        exit 1
    }
    echo "$((SECONDS - start)) s" >"$done_file"
done <<<"$sets"
du -sh docs
