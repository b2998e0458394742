#!/usr/bin/env bash
# Runs an initlab experiment grid on Slurm: a job array with one shard per task, and a
# merge job that starts once every task has succeeded.
#
#   docs/cluster/slurm.sh EXPERIMENT.toml OUT [SHARDS]
#
# OUT must be on a file system every node mounts. Shard i writes OUT/shard-i; the merge
# writes OUT/merged, the same results, tables and plots as one unsharded run. A task that
# is preempted or requeued reruns the same command into the same folder and resumes from
# the runs it had finished. Set INITLAB to the binary (default: initlab on PATH) and
# SBATCH_ARGS to extra sbatch options (partition, account, time limit).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 EXPERIMENT.toml OUT [SHARDS]" >&2
    exit 2
fi
experiment=$(realpath "$1")
out=$(realpath -m "$2")
shards=${3:-8}
initlab=${INITLAB:-initlab}
mkdir -p "$out/logs"

# One core per task: runs inside a shard then go one after another on it, which is
# what a balanced split assumes.
array=$(sbatch --parsable ${SBATCH_ARGS:-} \
    --job-name=initlab-grid --array="0-$((shards - 1))" --cpus-per-task=1 --requeue \
    --output="$out/logs/shard-%a.log" \
    --wrap="RAYON_NUM_THREADS=1 '$initlab' run '$experiment' --shard-from-env --quiet --out '$out'/shard-\$SLURM_ARRAY_TASK_ID")
array=${array%%;*}
merge=$(sbatch --parsable ${SBATCH_ARGS:-} \
    --job-name=initlab-merge --dependency="afterok:$array" --cpus-per-task=1 \
    --output="$out/logs/merge.log" \
    --wrap="'$initlab' merge '$out/merged' '$out'/shard-*")
echo "submitted shards as job array $array, the merge as job ${merge%%;*}: results in $out/merged"
