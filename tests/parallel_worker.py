"""Multi-device checks run in a subprocess with fake CPU devices (a CPU
collective that deadlocks aborts the whole process; pytest must survive it).

  python tests/parallel_worker.py equivalence DATA_DIR STEPS
      the step on a 1-device and on a 4-device mesh: same losses and params.
  python tests/parallel_worker.py reference DATA_DIR STEPS WORKDIR PROCESSES
      one process on all devices, fed the global batches that PROCESSES
      processes each drew from their own shard, must end where the
      multi-process run in WORKDIR did.
Prints one JSON line of the largest differences; exits 1 on a mismatch.
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

# Sums over devices run in another order, so gradients differ in the last
# bits. Adam's first steps move each weight by ~lr * sign(gradient): a weight
# whose gradient is ~0 may move either way. So: (almost) every weight equal to
# float noise, none further apart than two Adam steps can take them.
NOISE = 1e-5
MAX_FRACTION_BEYOND_NOISE = 0.01


def _config(data_dir, steps):
  config = default.get_config('tiny')
  config.data_dir = data_dir
  config.num_train_steps = steps
  return config


def _shard_batches(data, config, processes):
  """The global batches of a run with `processes` processes, each drawing
  batch_size/processes examples per step from its own shard."""
  iters = []
  for i in range(processes):
    split = tfds.split_for_jax_process(config.train_split, process_index=i,
                                       process_count=processes)
    iters.append(pipeline.triplet_batches(
        data.load(split, shard=False), config.batch_size // processes, config.seed, 0,
        config.train_split))
  while True:
    parts = [next(it) for it in iters]
    yield {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _train(setup, batches, steps, state=None):
  """(losses per step, final state) of `steps` steps from `state` (host
  arrays) or a fresh one."""
  state = (setup.init() if state is None else
           jax.device_put(state, parallel.replicated(setup.mesh)))
  step_fn, losses = setup.train_step(), []
  for _ in range(steps):
    state, metrics = step_fn(state, parallel.global_batch(next(batches),
                                                          setup.mesh))
    jax.block_until_ready(state)  # avoids the CPU all-reduce deadlock
    losses.append(float(metrics['generator_total']))
  return losses, jax.device_get((state.gen_params, state.batch_stats,
                                 state.adv_params))


def _compare(a, b, config) -> dict:
  """Largest difference and the fraction of weights beyond float noise."""
  diffs = np.concatenate([np.abs(np.asarray(x) - np.asarray(y)).ravel()
                          for x, y in zip(jax.tree.leaves(a),
                                          jax.tree.leaves(b))])
  report = {'max_param_diff': float(diffs.max()),
            'fraction_beyond_noise': float(np.mean(diffs > NOISE))}
  bound = 2 * config.num_train_steps * max(config.learning_rate,
                                           config.disc_learning_rate)
  report['ok'] = bool(report['fraction_beyond_noise'] <
                      MAX_FRACTION_BEYOND_NOISE and diffs.max() <= bound)
  return report


def equivalence(data_dir, steps):
  config = _config(data_dir, steps)
  data = pipeline.Data(config)
  runs, state = [], None
  for n in (1, 4):
    setup = state_lib.Setup.create(config, data.num_classes,
                                   parallel.make_mesh(jax.devices()[:n]))
    # One init, copied to the host: compiling it again costs seconds.
    state = jax.device_get(setup.init()) if state is None else state
    runs.append(_train(setup, _shard_batches(data, config, 1), steps, state))
  (loss1, params1), (loss4, params4) = runs
  report = _compare(params1, params4, config)
  report['ok'] &= bool(np.allclose(loss1, loss4, rtol=1e-5))
  return {'losses_1': loss1, 'losses_4': loss4, **report}


def reference(data_dir, steps, workdir, processes):
  config = _config(data_dir, steps)
  # The init and the step compile as in `equivalence`: a warm cache serves both.
  data = pipeline.Data(config)
  init_setup = state_lib.Setup.create(config, data.num_classes,
                                      parallel.make_mesh(jax.devices()[:1]))
  setup = state_lib.Setup.create(config, data.num_classes)
  losses, params = _train(setup, _shard_batches(data, config, processes),
                          steps, jax.device_get(init_setup.init()))
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  saved = jax.device_get(manager.restore(
      steps, args=ocp.args.StandardRestore(setup.abstract_state())))
  saved = (saved.gen_params, saved.batch_stats, saved.adv_params)
  return {'losses': losses, **_compare(params, saved, config)}


if __name__ == '__main__':
  mode, data_dir, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
  if mode == 'equivalence':
    report = equivalence(data_dir, steps)
  else:
    report = reference(data_dir, steps, sys.argv[4], int(sys.argv[5]))
  print(json.dumps({'devices': jax.device_count(), **report}))
  sys.exit(0 if report['ok'] else 1)
