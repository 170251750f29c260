"""A trained model as plain functions on numpy arrays: encode, decode, swap.

Uses batch-norm running statistics (eval mode) and z means, so it is
deterministic. Used by evaluation, figures, the analogy command and the
notebooks. `load_model` restores one from a workdir (no dataset needed).
"""
import functools
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from dvae_jax.runtime import checkpointing, errors, parallel
from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.training import state as state_lib
from dvae_jax.runtime import workdir as workdir_lib
from dvae_jax.training.state import Networks, TrainState


class Model:
  """Encoder and decoder of a TrainState, on batches of any size."""

  def __init__(self, networks: Networks, state: TrainState,
               batch_size: int = 256):
    self._networks = networks
    self._enc_vars = {'params': state.gen_params['encoder'],
                      'batch_stats': state.batch_stats['encoder']}
    self._dec_vars = {'params': state.gen_params['decoder'],
                      'batch_stats': state.batch_stats['decoder']}
    self._batch_size = batch_size

  @functools.partial(jax.jit, static_argnums=0)
  def _encode(self, enc_vars, x):
    return self._networks.encoder.apply(enc_vars, x, train=False)

  @functools.partial(jax.jit, static_argnums=0)
  def _decode(self, dec_vars, s, z):
    return self._networks.decoder.apply(dec_vars, s, z, train=False)

  def encode(self, images_uint8: np.ndarray):
    """(N, H, W, C) uint8 -> s (N, s_dim), z_mean (N, z_dim), z_logvar (N, z_dim)."""
    return input_pipeline.apply_in_batches(
        lambda x: self._encode(self._enc_vars, input_pipeline.to_float(x)),
        [images_uint8], self._batch_size)

  def decode(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """s (N, s_dim), z (N, z_dim) -> images (N, H, W, C) uint8."""
    decode = lambda s, z: input_pipeline.to_uint8(
        self._decode(self._dec_vars, s, z))
    return input_pipeline.apply_in_batches(decode, [s, z], self._batch_size)

  def swap_grid(self, s_images: np.ndarray, z_images: np.ndarray) -> np.ndarray:
    """Dec(s_i, z_j) for all i, j: (R, H, W, C), (K, ...) -> (R, K, H, W, C) uint8."""
    s, _, _ = self.encode(s_images)
    _, z, _ = self.encode(z_images)
    r, k = len(s), len(z)
    out = self.decode(np.repeat(s, k, axis=0), np.tile(z, (r, 1)))
    return out.reshape((r, k) + out.shape[1:])


class Loaded(NamedTuple):
  """A workdir's trained model: its config, the Model and the step."""
  config: ml_collections.ConfigDict
  model: Model
  step: int


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a workdir's checkpoints were made with (its config.json)."""
  path = epath.Path(workdir, workdir_lib.CONFIG)
  if not path.exists():
    raise errors.UserError(
        f'{path} does not exist: pass the --workdir of a training run (it '
        'writes config.json at its start)')
  return ml_collections.ConfigDict(
      workdir_lib.with_added_keys(workdir_lib.read_json(path)))


def _num_classes(step_dir: str) -> int:
  """The class count the label-conditioned networks of a checkpoint were
  built with (1 when none: then the count sizes nothing that is saved)."""
  metadata = ocp.StandardCheckpointer().metadata(
      os.path.join(step_dir, 'default'))  # Orbax's item
  for path, shape in checkpointing._shapes(  # pylint: disable=protected-access
      metadata.item_metadata.tree).items():
    if 'label_embedding' in path and path.endswith('embedding'):
      return shape[0]
    if path.startswith('adv_params/z_classifier/Dense_2/kernel'):
      return shape[-1]
    if path.startswith('gen_params/s_classifier/kernel'):
      return shape[-1]
  return 1


def _restore_newest(config, workdir: str):
  """(networks, state) of the newest checkpoint that restores, through a
  read-only manager (a running trainer may delete an old step while we read
  it: then the next older one is tried)."""
  manager = checkpointing.make_manager(workdir, 1, read_only=True)
  mesh = parallel.make_mesh()
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  image_shape = (config.image_size, config.image_size, config.channels)
  for step in sorted(manager.all_steps(), reverse=True):
    try:
      networks = state_lib.build_networks(config, _num_classes(
          os.path.join(checkpointing.checkpoint_dir(workdir), str(step))))
      init = state_lib.make_init_fn(networks, gen_tx, adv_tx, image_shape,
                                    config.model.z_dim, mesh)
      abstract = checkpointing.abstract_like(
          jax.eval_shape(init, jax.random.key(config.seed)),
          parallel.replicated(mesh))
      return networks, manager.restore(
          step, args=ocp.args.StandardRestore(abstract))
    except errors.UserError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      logging.warning('Checkpoint %d of %s cannot be restored (%s: %s); '
                      'trying an older one.', step, workdir,
                      type(e).__name__, str(e).splitlines()[0][:300]
                      if str(e) else '')
  raise errors.UserError(f'no checkpoint in {workdir!r} can be restored yet; '
                         'wait for the first save of the run, or pass the '
                         'config the run was made with')


def load_model(workdir: str, config=None, batch_size=None) -> Loaded:
  """Restores workdir's newest complete checkpoint read-only (also of a run
  still in progress). config: the workdir's config.json when None."""
  if config is None:
    config = load_config(workdir)
  if not os.path.isdir(checkpointing.checkpoint_dir(workdir)) and (
      '://' not in workdir):
    raise errors.UserError(f'no checkpoints in workdir {workdir!r}; train '
                           'first (--mode=train) or pass the run\'s --workdir')
  networks, state = _restore_newest(config, workdir)
  step = int(jax.device_get(state.step))
  return Loaded(config, Model(networks, state,
                              batch_size or config.eval.batch_size), step)
