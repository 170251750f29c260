"""Multi-device checks run in a subprocess with fake CPU devices (a CPU
collective that deadlocks aborts the whole process; pytest must survive it).

  python tests/parallel_worker.py DATA_DIR WORKDIR PROCESSES
      one process on all devices, fed the global batch that PROCESSES
      processes each drew from their own shard, must compute the step that
      the multi-process run saved in WORKDIR (checkpoint 1); the same batch
      with the processes' shards swapped must not (the check can fail); and
      one device fed that batch must compute the step of all devices
      (report['one_device']).
Prints one JSON line of the differences; exits 1 on a mismatch.
"""
import json
import os
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import tensorflow_datasets as tfds

from configs import default
from dvae_jax.data import pipeline
from dvae_jax.runtime import checkpointing, parallel
from dvae_jax.training import state as state_lib

# As in conftest.py: a warm cache skips the compiles of earlier runs.
jax.config.update('jax_compilation_cache_dir', os.path.expanduser(
    '~/.cache/dvae_jax/xla-tests'))
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)

# One step, compared where it is well conditioned (docs/RELIABILITY.md,
# "Multi-process equivalence"). Weights are not compared: Adam's first update
# is lr * sign(gradient), so a weight whose gradient is ~0 moves by +-lr on a
# last-bit difference. What the step computed is compared instead:
# - the gradients, as Adam's first moment after one step (mu = (1 - b1) g),
#   by relative L2 over all of them. Summed over devices in another order
#   (gloo vs in-process), or by another kernel library (XLA:CPU with and
#   without YNNPACK), float32 gradients of this model differ from a float64
#   recomputation by up to 5.5e-3 (decoder BatchNorm sums cancel); a wrong
#   shard, a missing or doubled all-reduce moves them by 1e-1 and more.
# - the batch-norm running statistics (forward means over <= 24576 values
#   per channel: sqrt(24576) * eps(float32) = 1.9e-5).
GRAD_RTOL = 1e-2
STATS_RTOL = 2e-5


def _config(data_dir):
  config = default.get_config('tiny')
  config.data_dir = data_dir
  config.num_train_steps = 1
  return config


def _shard_batch(data, config, processes, swap=False):
  """The first global batch of a run with `processes` processes, each drawing
  batch_size/processes examples from its own shard (swap: the shards' rows in
  the wrong order, a plumbing bug the comparison must see)."""
  parts = []
  for i in range(processes):
    split = tfds.split_for_jax_process(config.train_split, process_index=i,
                                       process_count=processes)
    parts.append(next(pipeline.triplet_batches(
        data.load(split, shard=False), config.batch_size // processes,
        config.seed, 0, config.train_split)))
  if swap:
    parts = parts[::-1]
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _step(setup, batch, state):
  """(generator loss, state after one step from `state`, on the host)."""
  state = jax.device_put(state, parallel.replicated(setup.mesh))
  state, metrics = setup.train_step()(state,
                                      parallel.global_batch(batch, setup.mesh))
  return float(metrics['generator_total']), jax.device_get(state)


def _rel_l2(a, b) -> float:
  """||a - b|| / ||b|| over all leaves of two pytrees."""
  a, b = (np.concatenate([np.ravel(x).astype(np.float64)
                          for x in jax.tree.leaves(t)]) for t in (a, b))
  return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _compare(a, b) -> dict:
  """How far the step that made state `a` is from the one that made `b`."""
  mu = lambda s: (s.gen_opt_state[0].mu, s.adv_opt_state[0].mu)
  report = {'grad_rel_l2': _rel_l2(mu(a), mu(b)),
            'stats_rel_l2': _rel_l2(a.batch_stats, b.batch_stats),
            'steps': [int(a.step), int(b.step)]}
  report['ok'] = bool(report['grad_rel_l2'] <= GRAD_RTOL and
                      report['stats_rel_l2'] <= STATS_RTOL and
                      report['steps'] == [1, 1])
  return report


def _one_device(one, batch, init, state, loss):
  """One device (Setup `one`) against several: the step from `init` on
  `batch` that made `state` and reported generator loss `loss` there."""
  loss1, state1 = _step(one, batch, init)
  report = _compare(state, state1)
  report['ok'] &= bool(np.isclose(loss, loss1, rtol=STATS_RTOL))
  return {'loss_1': loss1, 'loss_n': loss, **report}


def reference(data_dir, workdir, processes):
  config = _config(data_dir)
  data = pipeline.Data(config)
  one = state_lib.Setup.create(config, data.num_classes,
                               parallel.make_mesh(jax.devices()[:1]))
  # One init, copied to the host: compiling it again costs seconds.
  init = jax.device_get(one.init())
  setup = state_lib.Setup.create(config, data.num_classes)
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  saved = jax.device_get(manager.restore(
      1, args=ocp.args.StandardRestore(setup.abstract_state())))
  batch = _shard_batch(data, config, processes)
  loss, state = _step(setup, batch, init)
  _, swapped = _step(setup, _shard_batch(data, config, processes, swap=True),
                     init)
  report, control = _compare(saved, state), _compare(swapped, state)
  report['control_grad_rel_l2'] = control['grad_rel_l2']
  report['ok'] &= not control['ok']  # the comparison sees a plumbing bug
  # N devices compute what one does: checked here, where the devices, the
  # data and both steps are ready (~2 s; a process of its own took 15 s).
  report['one_device'] = _one_device(one, batch, init, state, loss)
  report['ok'] &= report['one_device']['ok']
  return report


if __name__ == '__main__':
  data_dir, workdir, processes = sys.argv[1:]
  report = reference(data_dir, workdir, int(processes))
  print(json.dumps({'devices': jax.device_count(), **report}))
  sys.exit(0 if report['ok'] else 1)
