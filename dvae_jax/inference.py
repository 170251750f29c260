"""A trained model as plain functions on numpy arrays: encode, decode, swap.

Uses batch-norm running statistics (eval mode) and z means, so it is
deterministic. Used by evaluation, figures and the analogy command.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from dvae_jax import input_pipeline
from dvae_jax.state import Networks, TrainState


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
    outs = []
    for _, x in input_pipeline.eval_batches(images_uint8, self._batch_size):
      n = len(x)
      x = _pad_to(x, self._batch_size)  # one compiled shape for every chunk
      outs.append([np.asarray(o)[:n] for o in self._encode(self._enc_vars, x)])
    return tuple(np.concatenate(parts) for parts in zip(*outs))

  def decode(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
    """s (N, s_dim), z (N, z_dim) -> images (N, H, W, C) uint8."""
    outs = []
    for start in range(0, len(s), self._batch_size):
      chunk_s = s[start:start + self._batch_size]
      chunk_z = z[start:start + self._batch_size]
      n = len(chunk_s)
      x = self._decode(self._dec_vars, _pad_to(chunk_s, self._batch_size),
                       _pad_to(chunk_z, self._batch_size))
      outs.append(input_pipeline.to_uint8(x)[:n])
    return np.concatenate(outs)

  def swap_grid(self, s_images: np.ndarray, z_images: np.ndarray) -> np.ndarray:
    """Dec(s_i, z_j) for all i, j: (R, H, W, C), (K, ...) -> (R, K, H, W, C) uint8."""
    s, _, _ = self.encode(s_images)
    _, z, _ = self.encode(z_images)
    r, k = len(s), len(z)
    out = self.decode(np.repeat(s, k, axis=0), np.tile(z, (r, 1)))
    return out.reshape((r, k) + out.shape[1:])


def _pad_to(x: np.ndarray, size: int) -> np.ndarray:
  if len(x) == size:
    return x
  pad = np.zeros((size - len(x),) + x.shape[1:], x.dtype)
  return np.concatenate([x, pad])
