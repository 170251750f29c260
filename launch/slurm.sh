#!/usr/bin/env bash
# Train on a SLURM GPU cluster: writes a batch script and submits it with
# sbatch. srun starts one process per GPU (or per node); each joins the run
# with the coordinator taken from the allocation (first node of the job).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: launch/slurm.sh --nodes=N --gpus_per_node=G --config=FILE --workdir=DIR
                       [options] [-- MAIN_ARGS]

options:
  --nodes=N            nodes to allocate (default 1)
  --gpus_per_node=G    GPUs per node (default 8)
  --per=gpu|node       one process per GPU (default) or one per node
  --partition=P        SLURM partition
  --account=A          SLURM account
  --time=HH:MM:SS      time limit (default 24:00:00)
  --python=PATH        python of the project's venv on the nodes
                       (default: .venv/bin/python in this checkout)
  --config=FILE        e.g. configs/default.py
  --workdir=DIR        a directory every node sees (shared file system or gs://)
  --port=P             coordinator port (default: from the job id)
  --dry-run            print the batch script and the sbatch command, submit nothing
  -h, --help           this help
Everything after -- goes to `python -m dvae_jax.main`.

example:
  launch/slurm.sh --nodes=2 --gpus_per_node=8 --partition=gpu \
      --config=configs/default.py --workdir=/shared/runs/dvae -- --config.batch_size=256
USAGE
}

die() { echo "launch/slurm.sh: $*" >&2; echo "(--help for usage)" >&2; exit 2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODES=1 GPUS=8 PER=gpu PARTITION='' ACCOUNT='' TIME='24:00:00'
PYTHON="$REPO/.venv/bin/python" CONFIG='' WORKDIR='' PORT='' DRY_RUN=0
MAIN_ARGS=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --nodes=*) NODES="${1#*=}" ;;
    --gpus_per_node=*) GPUS="${1#*=}" ;;
    --per=*) PER="${1#*=}" ;;
    --partition=*) PARTITION="${1#*=}" ;;
    --account=*) ACCOUNT="${1#*=}" ;;
    --time=*) TIME="${1#*=}" ;;
    --python=*) PYTHON="${1#*=}" ;;
    --config=*) CONFIG="${1#*=}" ;;
    --workdir=*) WORKDIR="${1#*=}" ;;
    --port=*) PORT="${1#*=}" ;;
    --dry-run|--dry_run) DRY_RUN=1 ;;
    --) shift; MAIN_ARGS=("$@"); break ;;
    *) die "unknown option '$1'" ;;
  esac
  shift
done

[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "--nodes='$NODES' must be a positive integer"
[[ "$GPUS" =~ ^[1-9][0-9]*$ ]] || die "--gpus_per_node='$GPUS' must be a positive integer"
[[ "$PER" == gpu || "$PER" == node ]] || die "--per='$PER': use gpu or node"
[[ "$TIME" =~ ^([0-9]+-)?[0-9]+(:[0-9]{2}){0,2}$ ]] || die "--time='$TIME' is not a SLURM time"
[[ -z "$PORT" || "$PORT" =~ ^[0-9]+$ ]] || die "--port='$PORT' is not a number"
[[ -n "$CONFIG" ]] || die '--config=FILE is required (e.g. configs/default.py)'
[[ -f "$REPO/${CONFIG%%:*}" ]] || die "--config: no file $REPO/${CONFIG%%:*}"
[[ -n "$WORKDIR" ]] || die '--workdir=DIR is required (shared by all nodes)'
[[ "$WORKDIR" == /* || "$WORKDIR" == gs://* ]] ||
  die "--workdir='$WORKDIR' must be absolute (/...) or gs://, the same on every node"

for a in "${MAIN_ARGS[@]}"; do
  [[ "$a" != *"'"* ]] || die "argument $a: no single quotes, please"
done

if [[ "$PER" == gpu ]]; then
  TASKS_PER_NODE="$GPUS"
  DEVICE_IDS='$SLURM_LOCALID'  # each process drives the GPU of its local rank
else
  TASKS_PER_NODE=1
  DEVICE_IDS="$(seq -s, 0 $((GPUS - 1)))"  # one process drives all of them
fi
# SLURM's job id picks a port in the ephemeral range, as JAX itself would.
PORT_EXPR="${PORT:-\$((SLURM_JOB_ID % 4096 + 61440))}"
main="$(for a in "$PYTHON" -m dvae_jax.main --distributed --config="$CONFIG" \
  --workdir="$WORKDIR" "${MAIN_ARGS[@]}"; do printf '%q ' "$a"; done)"

script="#!/bin/bash
#SBATCH --job-name=dvae_jax
#SBATCH --nodes=$NODES
#SBATCH --ntasks-per-node=$TASKS_PER_NODE
#SBATCH --gpus-per-node=$GPUS
#SBATCH --time=$TIME
#SBATCH --output=dvae_jax-%j.log
${PARTITION:+#SBATCH --partition=$PARTITION
}${ACCOUNT:+#SBATCH --account=$ACCOUNT
}set -euo pipefail
cd $(printf '%q' "$REPO")
export TF_CPP_MIN_LOG_LEVEL=2
# The coordinator is process 0, on the first node of the allocation.
export JAX_COORDINATOR_ADDRESS=\"\$(scontrol show hostnames \"\$SLURM_JOB_NODELIST\" | head -n1):$PORT_EXPR\"
export JAX_NUM_PROCESSES=\$SLURM_NTASKS
# Each task reads its own SLURM_PROCID; a failed task ends the job.
srun --kill-on-bad-exit=1 bash -c 'JAX_PROCESS_ID=\$SLURM_PROCID JAX_LOCAL_DEVICE_IDS=$DEVICE_IDS exec $main'
"

if ((DRY_RUN)); then
  echo "sbatch <<'SCRIPT'"
  printf '%s' "$script"
  echo 'SCRIPT'
else
  command -v sbatch >/dev/null || die 'sbatch not found: run this on a SLURM login node'
  sbatch <<<"$script"
fi
