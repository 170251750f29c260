"""NaN/Inf in a step: flagged inside the jitted step, acted on by the host.

The step computes one flag from values it already has (every loss term and the
global gradient norms, which are non-finite iff some gradient is) and can keep
the old state instead of a non-finite update. The host reads the flags only
where it stops anyway (each log interval and before each checkpoint), so the
loop adds no device-to-host round trip per step, and no non-finite state is
ever saved: a bad update is found before the checkpoint that would hold it.
"""
from typing import Dict, List

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from dvae_jax.runtime import errors

FLAG = 'nonfinite'  # the metric: 1.0 when the step saw a NaN or Inf


def nonfinite_flag(metrics: Dict[str, jax.Array]) -> jax.Array:
  """() float32: 1.0 if any scalar in metrics is NaN or Inf, else 0.0."""
  finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in metrics.values()]))
  return 1.0 - finite.astype(jnp.float32)


def keep_old_if(flag: jax.Array, new_state, old_state):
  """new_state, or old_state (leaf by leaf) where flag is set; inside jit."""
  return jax.tree.map(lambda n, o: jnp.where(flag > 0, o, n), new_state,
                      old_state)


def describe(metrics: Dict[str, float]) -> str:
  """'reconstruction=nan, generator_grad_norm=inf' for the non-finite ones."""
  return ', '.join(f'{k}={v}' for k, v in sorted(metrics.items())
                   if k != FLAG and not np.isfinite(v))


class Guard:
  """Collects the flags of steps since the last check; check() reads them."""

  def __init__(self, skip: bool):
    self.skip = skip
    self._pending: List[tuple] = []  # (update number, metrics on device)

  def add(self, update: int, metrics) -> None:
    self._pending.append((update, metrics))

  def check(self) -> int:
    """Number of non-finite updates since the last check (skipped ones when
    skipping); raises NonFiniteError naming the first one otherwise."""
    pending, self._pending = self._pending, []
    if not pending:
      return 0
    flags = jax.device_get([m[FLAG] for _, m in pending])
    bad = [i for i, f in enumerate(flags) if f > 0]
    if not bad:
      return 0
    update, metrics = pending[bad[0]]
    values = describe(jax.device_get(metrics))
    if self.skip:
      logging.warning('Skipped %d non-finite update(s), the first at step %d '
                      '(%s)', len(bad), update, values)
      return len(bad)
    raise errors.NonFiniteError(
        f'step {update} gave non-finite values ({values}); training stopped '
        'and no checkpoint after step '
        f'{update - 1} was written. Lower --config.learning_rate, check the '
        'data, or pass --config.skip_nonfinite_updates=True to skip such '
        'updates')
