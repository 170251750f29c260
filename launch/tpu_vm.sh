#!/usr/bin/env bash
# Train on a Cloud TPU VM (one host or a pod slice): create it, set up every
# worker, run, follow, stop, delete. Every worker runs the same command; JAX
# finds its peers itself (jax.distributed.initialize() on a TPU VM).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: launch/tpu_vm.sh COMMAND --name=NAME --zone=ZONE [options] [-- MAIN_ARGS]

commands:
  create   request the TPU VM as a queued resource (--accelerator, --runtime)
  status   show the queued resource (ACTIVE once the TPU VM exists)
  setup    copy this checkout (git HEAD) to every worker, make its venv once
           (pip is skipped while requirements.lock is unchanged)
  run      start training on every worker in the background; needs
           --config and a gs:// --workdir (all workers write to it)
  logs     follow the log of one worker (--worker, default 0)
  stop     stop the training processes on every worker
  delete   delete the TPU VM and its queued resource

options:
  --name=NAME            TPU VM name (or $TPU_NAME)
  --zone=ZONE            e.g. us-central2-b (or $TPU_ZONE)
  --project=PROJECT      default: gcloud's configured project
  --accelerator=TYPE     create: e.g. v4-8, v5litepod-16 (default v4-8)
  --runtime=VERSION      create: TPU software version (default tpu-ubuntu2204-base)
  --spot                 create: spot (preemptible) capacity
  --config=FILE          run: e.g. configs/default.py
  --workdir=gs://...     run: checkpoints, logs and results
  --worker=N             logs: which worker (default 0)
  --dry-run              print the commands, run nothing
  -h, --help             this help
Everything after -- goes to `python -m dvae_jax.main` (run only).

example:
  launch/tpu_vm.sh create --name=dvae --zone=us-central2-b --accelerator=v4-16
  launch/tpu_vm.sh setup  --name=dvae --zone=us-central2-b
  launch/tpu_vm.sh run    --name=dvae --zone=us-central2-b \
      --config=configs/default.py --workdir=gs://my-bucket/dvae -- --config.batch_size=64
  launch/tpu_vm.sh logs   --name=dvae --zone=us-central2-b
  launch/tpu_vm.sh delete --name=dvae --zone=us-central2-b
USAGE
}

die() { echo "launch/tpu_vm.sh: $*" >&2; echo "(--help for usage)" >&2; exit 2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REMOTE_DIR='~/dvae_jax'  # on every worker
LOG='~/dvae_jax.log'
PIDFILE='~/dvae_jax.pid'

COMMAND="${1:-}"
case "$COMMAND" in
  -h|--help) usage; exit 0 ;;
  create|status|setup|run|logs|stop|delete) shift ;;
  '') die 'missing COMMAND' ;;
  *) die "unknown COMMAND '$COMMAND'" ;;
esac

NAME="${TPU_NAME:-}" ZONE="${TPU_ZONE:-}" PROJECT='' ACCELERATOR='v4-8'
RUNTIME='tpu-ubuntu2204-base' SPOT=0 CONFIG='' WORKDIR='' WORKER=0 DRY_RUN=0
MAIN_ARGS=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --name=*) NAME="${1#*=}" ;;
    --zone=*) ZONE="${1#*=}" ;;
    --project=*) PROJECT="${1#*=}" ;;
    --accelerator=*) ACCELERATOR="${1#*=}" ;;
    --runtime=*) RUNTIME="${1#*=}" ;;
    --spot) SPOT=1 ;;
    --config=*) CONFIG="${1#*=}" ;;
    --workdir=*) WORKDIR="${1#*=}" ;;
    --worker=*) WORKER="${1#*=}" ;;
    --dry-run|--dry_run) DRY_RUN=1 ;;
    --) shift; MAIN_ARGS=("$@"); break ;;
    *) die "unknown option '$1'" ;;
  esac
  shift
done

[[ "$NAME" =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] ||
  die "--name='$NAME': lowercase letters, digits and '-', starting with a letter"
[[ -n "$ZONE" ]] || die '--zone is required (e.g. --zone=us-central2-b)'
[[ "$WORKER" =~ ^[0-9]+$ ]] || die "--worker='$WORKER' is not a number"
if [[ "$COMMAND" == run ]]; then
  [[ -n "$CONFIG" ]] || die 'run needs --config=FILE (e.g. configs/default.py)'
  [[ -f "$REPO/${CONFIG%%:*}" ]] || die "--config: no file $REPO/${CONFIG%%:*}"
  [[ "$WORKDIR" == gs://* ]] ||
    die "run needs --workdir=gs://BUCKET/DIR: every worker writes checkpoints there"
fi
((${#MAIN_ARGS[@]} == 0)) || [[ "$COMMAND" == run ]] ||
  die 'arguments after -- are for run only'

# Runs a command, or prints it (shell-quoted, one line) under --dry-run.
x() {
  if ((DRY_RUN)); then
    local out=() a
    for a in "$@"; do
      if [[ "$a" =~ ^[-A-Za-z0-9_./:=@%+,]+$ ]]; then out+=("$a")
      else out+=("'${a//\'/\'\\\'\'}'"); fi
    done
    echo "${out[*]}"
  else
    "$@"
  fi
}

GCLOUD_ARGS=(--zone="$ZONE")
[[ -z "$PROJECT" ]] || GCLOUD_ARGS+=(--project="$PROJECT")
ssh_all() {  # ssh_all WORKER COMMAND
  x gcloud compute tpus tpu-vm ssh "$NAME" "${GCLOUD_ARGS[@]}" \
    --worker="$1" --command="$2"
}

case "$COMMAND" in
  create)
    args=(--node-id="$NAME" --accelerator-type="$ACCELERATOR"
          --runtime-version="$RUNTIME")
    ((SPOT)) && args+=(--spot)
    x gcloud compute tpus queued-resources create "$NAME" "${GCLOUD_ARGS[@]}" \
      "${args[@]}"
    ;;
  status)
    x gcloud compute tpus queued-resources describe "$NAME" "${GCLOUD_ARGS[@]}"
    ;;
  setup)
    tarball="/tmp/dvae_jax-$NAME.tar.gz"
    x git -C "$REPO" archive --format=tar.gz -o "$tarball" HEAD
    x gcloud compute tpus tpu-vm scp "$tarball" "$NAME:dvae_jax.tar.gz" \
      "${GCLOUD_ARGS[@]}" --worker=all
    # Idempotent: unpack over the old copy; pip only when the lock changed.
    ssh_all all "set -e; mkdir -p $REMOTE_DIR && cd $REMOTE_DIR \
&& tar -xzf ~/dvae_jax.tar.gz \
&& { [ -x .venv/bin/python ] || python3 -m venv .venv; } \
&& if ! sha256sum -c --status .setup_done 2>/dev/null; then \
.venv/bin/pip install -q -r requirements.lock \
&& .venv/bin/pip install -q 'jax[tpu]==0.10.2' \
&& .venv/bin/pip install -q --no-deps -e . \
&& sha256sum requirements.lock > .setup_done; fi"
    ;;
  run)
    main="$(printf '%q ' .venv/bin/python -m dvae_jax.main --distributed \
      --config="$CONFIG" --workdir="$WORKDIR" "${MAIN_ARGS[@]}")"
    ssh_all all "cd $REMOTE_DIR && nohup $main> $LOG 2>&1 < /dev/null & \
echo \$! > $PIDFILE"
    ;;
  logs)
    ssh_all "$WORKER" "tail -n +1 -F $LOG"
    ;;
  stop)
    ssh_all all "[ -f $PIDFILE ] && kill \$(cat $PIDFILE) 2>/dev/null; rm -f $PIDFILE; true"
    ;;
  delete)
    x gcloud compute tpus queued-resources delete "$NAME" "${GCLOUD_ARGS[@]}" \
      --force --quiet
    ;;
esac
