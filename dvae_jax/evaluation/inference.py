"""A trained model as plain functions on numpy arrays: encode, decode, swap.

Uses batch-norm running statistics (eval mode) and z means, so it is
deterministic. Used by evaluation, figures, the analogy command and the
notebooks. `load_model` restores one from a workdir (no dataset needed).
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.model import networks as models
from dvae_jax.runtime import checkpointing, errors, parallel
from dvae_jax.runtime import workdir as workdir_lib


@functools.partial(jax.jit, static_argnums=0)
def _apply(module, variables, *inputs):
  """module.apply in eval mode. Jitted once per module definition and input
  shapes (modules hash by their fields), so Models of the same networks share
  the compiled program, and no Model is kept alive by the jit cache."""
  return module.apply(variables, *inputs, train=False)


class Model:
  """Encoder and decoder with trained variables, on batches of any size."""

  def __init__(self, encoder: models.Encoder, decoder: models.Decoder,
               gen_params, batch_stats, batch_size: int = 256):
    """gen_params, batch_stats: {'encoder': ..., 'decoder': ...}, as in a
    train state."""
    self._encoder, self._decoder = encoder, decoder
    self._enc_vars = {'params': gen_params['encoder'],
                      'batch_stats': batch_stats['encoder']}
    self._dec_vars = {'params': gen_params['decoder'],
                      'batch_stats': batch_stats['decoder']}
    self._batch_size = batch_size

  @classmethod
  def of(cls, networks: models.Networks, state, batch_size: int = 256):
    """The Model of a train state made with networks."""
    return cls(networks.encoder, networks.decoder, state.gen_params,
               state.batch_stats, batch_size)

  def encode(self, images_uint8: np.ndarray):
    """(N, H, W, C) uint8 -> s (N, s_dim), z_mean (N, z_dim), z_logvar (N, z_dim)."""
    return input_pipeline.apply_in_batches(
        lambda x: _apply(self._encoder, self._enc_vars,
                         input_pipeline.to_float(x)),
        [images_uint8], self._batch_size)

  def decode(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """s (N, s_dim), z (N, z_dim) -> images (N, H, W, C) uint8."""
    return input_pipeline.apply_in_batches(
        lambda s, z: input_pipeline.to_uint8(
            _apply(self._decoder, self._dec_vars, s, z)),
        [s, z], self._batch_size)

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
  """The config a workdir's checkpoints were made with (its config.json, as
  runtime/workdir.read_config reads it)."""
  saved = workdir_lib.read_config(workdir)
  if saved is None:
    raise errors.UserError(
        f'{epath.Path(workdir, workdir_lib.CONFIG)} does not exist: pass the '
        '--workdir of a training run (it writes config.json at its start)')
  return ml_collections.ConfigDict(saved)


def load_model(workdir: str, config=None, batch_size=None) -> Loaded:
  """Restores workdir's newest complete checkpoint read-only (also of a run
  still in progress). config: the workdir's config.json when None; when
  given, a config.json that used a removed option is still refused."""
  if config is None:
    config = load_config(workdir)
  else:
    workdir_lib.check_no_removed_options(workdir)
  if not epath.Path(checkpointing.checkpoint_dir(workdir)).exists():
    raise errors.UserError(f'no checkpoints in workdir {workdir!r}; train '
                           'first (--mode=train) or pass the run\'s --workdir')
  store = checkpointing.Checkpoints(workdir, read_only=True)
  # Onto the saved shapes: the class count of the adversaries, which nothing
  # here uses, need not be known.
  saved = store.restore_as_saved(parallel.replicated(parallel.make_mesh()))
  if saved is None:
    raise errors.UserError(f'no checkpoint in {workdir!r} can be restored '
                           'yet; wait for the first save of the run')
  encoder, decoder = models.build_coders(config)
  _check_fits(encoder, decoder, config, saved, workdir)
  model = Model(encoder, decoder, saved['gen_params'], saved['batch_stats'],
                batch_size or config.eval.batch_size)
  return Loaded(config, model, int(saved['step']))


def _check_fits(encoder, decoder, config, saved, workdir: str) -> None:
  """A UserError when the config's encoder or decoder is not the one saved."""
  x = jax.ShapeDtypeStruct((1, config.image_size, config.image_size,
                            config.channels), jnp.float32)
  enc, dec = jax.eval_shape(
      lambda x: models.init_coders(encoder, decoder, jax.random.key(0),
                                   jax.random.key(1), x), x)
  wanted = {'gen_params': {'encoder': enc['params'],
                           'decoder': dec['params']},
            'batch_stats': {'encoder': enc['batch_stats'],
                            'decoder': dec['batch_stats']}}
  difference = checkpointing.shape_difference(saved, wanted, whole=False)
  if difference:
    raise errors.UserError(
        f'no checkpoint in {workdir!r} can be restored with this config: step '
        f'{int(saved["step"])} has {difference}; pass the config the run was '
        'made with (its config.json)')
