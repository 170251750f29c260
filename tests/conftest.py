"""Shared fixtures: the built-in dataset built once per session, tiny configs."""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from configs import default  # noqa: E402
from dvae_jax.datasets import glyphs  # noqa: E402

tf.config.set_visible_devices([], 'GPU')
# Identical jitted functions recompile in every test; the cache makes it cheap.
jax.config.update('jax_compilation_cache_dir', os.path.expanduser(
    '~/.cache/dvae_jax/xla-tests'))
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)


@pytest.fixture(scope='session')
def glyphs_data_dir(tmp_path_factory):
  """A tfds data_dir holding the built-in dataset (res32), built offline."""
  data_dir = str(tmp_path_factory.mktemp('tfds'))
  glyphs.ensure_built(data_dir, 'res32')
  return data_dir


@pytest.fixture
def tiny_config(glyphs_data_dir):
  config = default.get_config('tiny')
  config.data_dir = glyphs_data_dir
  return config


@pytest.fixture(scope='session')
def finished_run(tmp_path_factory, glyphs_data_dir):
  """(config, workdir, summary) of one uninterrupted tiny run; read-only."""
  from dvae_jax import train
  config = default.get_config('tiny')
  config.data_dir = glyphs_data_dir
  workdir = str(tmp_path_factory.mktemp('run'))
  summary = train.train_and_evaluate(config, workdir)
  return config, workdir, summary


def restore_params(workdir, step):
  """(gen_params, adv_params) of checkpoint `step` of workdir, as numpy."""
  import orbax.checkpoint as ocp
  from dvae_jax import checkpointing
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  restored = manager.restore(step, args=ocp.args.StandardRestore())
  return restored['gen_params'], restored['adv_params']


def assert_same_params(workdir_a, step_a, workdir_b, step_b):
  """Bit for bit."""
  jax.tree.map(np.testing.assert_array_equal,
               restore_params(workdir_a, step_a),
               restore_params(workdir_b, step_b))


def on_batch(monkeypatch, index, action):
  """Makes the trainer's batch number `index` (0-based, counted from the
  start of this run) pass through action(batch) -> batch."""
  from dvae_jax import input_pipeline
  original = input_pipeline.triplet_batches

  def patched(*args, **kwargs):
    for i, batch in enumerate(original(*args, **kwargs)):
      yield action(batch) if i == index else batch
  monkeypatch.setattr(input_pipeline, 'triplet_batches', patched)
