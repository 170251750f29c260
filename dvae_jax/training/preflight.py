"""--mode=check: what a training run checks before it compiles, without
training or writing to the workdir.

The config rules (dvae_jax/config_rules.py); the workdir: a resume with
another architecture or dataset (config.json) or onto other arrays (the
newest checkpoint's shapes), a live trainer holding its lock; the data:
the dataset built if needed (into the tfds data_dir, not the workdir) and its
splits read, with their checks; the model: init and one train step traced
with jax.eval_shape (shapes only, nothing compiled).
"""
import os

import jax
import numpy as np

from dvae_jax.data import pipeline
from dvae_jax.evaluation import evaluate
from dvae_jax.runtime import (checkpointing, errors, lock,
                              parallel, workdir as workdir_lib)
from dvae_jax.training import state as state_lib


def check_run(config, workdir: str) -> str:
  """Raises errors.UserError for what would stop a training run on workdir;
  returns a one-line summary of the run it would start."""
  evaluate.check_config(config)
  start, store = 0, None
  if os.path.isdir(workdir):
    refused = lock.refusal(workdir)
    if refused:
      raise errors.UserError(refused)
    store = checkpointing.Checkpoints(workdir, read_only=True)
    steps = store.steps()
    if steps:
      workdir_lib.check_resumable(config, workdir, pipeline.DATA_KEYS)
      start = max(steps)
  # The state's shapes need only the class count, from the features: a
  # resume the checkpoints refuse is refused before the data is built.
  setup = state_lib.Setup.create(
      config, pipeline.Data(config, prepare=False).num_classes)
  if store is not None:  # says nothing without checkpoints
    store.check_restorable(setup.abstract_state())
  data = pipeline.Data(config)
  sizes = {name: len(data.load(name, shard=False).labels) for name in
           dict.fromkeys((config.train_split, config.heldout_split,
                          config.test_split))}
  sharding = parallel.data_sharded(setup.mesh)
  b, (h, w, c) = config.batch_size, setup.image_shape
  batch = {'images': jax.ShapeDtypeStruct((b, 3, h, w, c), np.float32,
                                          sharding=sharding),
           'labels': jax.ShapeDtypeStruct((b, 3), np.int32, sharding=sharding)}
  jax.eval_shape(setup.train_step(), setup.abstract_state(), batch)
  return (f'a training run on {workdir!r} would start at step {start} of '
          f'{config.num_train_steps} on {setup.mesh.size} devices; splits '
          f'{sizes}, {data.num_classes} classes')
