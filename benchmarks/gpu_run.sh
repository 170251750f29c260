#!/usr/bin/env bash
# The GPU suite (`bench --gpu`) on a lent GPU machine, in one call of the
# session's `device` tool. That machine has JAX and PyTorch with CUDA (and
# flax, optax, absl); of our requirements only ml_collections is missing, so
# it travels as a wheel. Once, here, from the repository root:
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       -d .whl ml_collections==1.1.0
#
# Then: run(command="bash benchmarks/gpu_run.sh", carry=[".whl"], timeout_s=540).
# bench.json and bench.md come back under $OUT (benchmarks/results elsewhere).
# Extra arguments go to bench, e.g. --only compare_torch,default.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
# JAX takes 75% of the GPU by default; the compare cases run PyTorch beside it.
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.5
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python3 -c 'import jax, torch; print("jax", jax.__version__, jax.devices(), "torch", torch.__version__, torch.cuda.is_available())'
out="${OUT:-benchmarks/results}"
python3 -m benchmarks.bench --gpu --rounds 7 --steps 20 --case_timeout 240 \
    --out "$out/bench_gpu" "$@"
