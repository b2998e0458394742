#!/usr/bin/env bash
# Runs the cluster recipes against real schedulers: starts a one-node Slurm on loopback
# (munged, slurmctld and slurmd, by hand: these machines have no systemd), runs the ignored
# tests of tests/cluster.rs against it and against Debian's GNU parallel, stops the daemons
# it started, and validates docs/cluster/k8s-job.yaml against the Kubernetes API schema
# (kubernetes-validate, from PyPI, in a virtualenv under target/).
#
#   scripts/check-cluster.sh
#
# Installs slurmctld, slurmd, slurm-client, munge and parallel with apt when missing
# (through sudo when not root), under a policy-rc.d that keeps their services from
# starting. Slurm's daemons run as root (SlurmUser=root), so this needs root or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi

missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge \
    parallel:parallel; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "check-cluster: needs ${missing[*]}, and this machine has no apt-get" >&2
        exit 1
    fi
    echo "check-cluster: installing ${missing[*]} with apt-get" >&2
    # Debian starts a package's service on install; without systemd that fails, and the
    # daemons below are started by hand anyway. Exit status 101 means "not allowed".
    policy=/usr/sbin/policy-rc.d
    made_policy=false
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        made_policy=true
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    if $made_policy; then
        "${sudo[@]}" rm -f "$policy"
    fi
fi

# Everything the daemons write lives here: key, sockets, state, spool, logs, PID files.
scratch=$(mktemp -d /tmp/initlab-slurm.XXXXXX)
chmod 755 "$scratch"
pids=()
stop_daemons() {
    local status=$?
    for pid in "${pids[@]}"; do
        "${sudo[@]}" kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do
            "${sudo[@]}" kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    done
    if [[ $status -ne 0 ]]; then
        for log in "$scratch"/*.log; do
            [[ -e $log ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
        done
    fi
    "${sudo[@]}" rm -rf "$scratch"
}
trap stop_daemons EXIT

# Starts a daemon that forks into the background and writes its PID to $2.
start() {
    local name=$1 pid_file=$2
    shift 2
    "${sudo[@]}" "$@"
    for _ in $(seq 100); do
        [[ -s $pid_file ]] && break
        sleep 0.1
    done
    [[ -s $pid_file ]] || { echo "check-cluster: $name did not start" >&2; exit 1; }
    pids+=("$(cat "$pid_file")")
}

# A munge key of our own, and munged on a socket of our own: a machine's own munged (if
# any) is left alone.
"${sudo[@]}" dd if=/dev/urandom of="$scratch/munge.key" bs=128 count=1 status=none
"${sudo[@]}" chmod 600 "$scratch/munge.key"
start munged "$scratch/munged.pid" munged --force --socket="$scratch/munge.socket" \
    --key-file="$scratch/munge.key" --pid-file="$scratch/munged.pid" \
    --log-file="$scratch/munged.log" --seed-file="$scratch/munged.seed"

# Two free ports on loopback.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
host=$(hostname -s)
# The node as slurmd sees it (CPUs, sockets, cores, memory), addressed on loopback.
node=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")
cat >"$scratch/slurm.conf" <<EOF
ClusterName=initlab-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$scratch/munge.socket
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/slurmctld.log
SlurmdLogFile=$scratch/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$scratch/slurm.conf
mkdir -p "$scratch/state" "$scratch/spool"
start slurmctld "$scratch/slurmctld.pid" slurmctld -f "$SLURM_CONF" -i
start slurmd "$scratch/slurmd.pid" slurmd -f "$SLURM_CONF"
for _ in $(seq 300); do
    [[ $(sinfo -h -o %T 2>/dev/null) == idle ]] && break
    sleep 0.1
done
[[ $(sinfo -h -o %T) == idle ]] || { echo "check-cluster: the node never came up" >&2; exit 1; }

cargo test --quiet --test cluster -- --ignored

# The Kubernetes manifest against the API schema; a copy with a misspelt field must fail,
# or the validator checks nothing.
venv=target/kubernetes-validate
if [[ ! -x $venv/bin/kubernetes-validate ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q kubernetes-validate==1.37.0
fi
"$venv/bin/kubernetes-validate" --strict --quiet docs/cluster/k8s-job.yaml
sed 's/completionMode:/completionMod:/' docs/cluster/k8s-job.yaml >"$scratch/misspelt.yaml"
if "$venv/bin/kubernetes-validate" --strict --quiet "$scratch/misspelt.yaml" >/dev/null 2>&1; then
    echo "check-cluster: kubernetes-validate accepted a misspelt field" >&2
    exit 1
fi
echo "check-cluster: Slurm, GNU parallel and the Kubernetes schema all pass"
