"""Orbax round trip of the train state, keep-last-K, newest complete step."""
import jax
import jax.numpy as jnp
import numpy as np

from dvae_jax import checkpointing, parallel


def _state(value):
  return {'step': jnp.array(value, jnp.int32),
          'params': {'w': jnp.full((3, 2), float(value))}}


def test_round_trip_and_keep_last(tmp_path):
  manager = checkpointing.make_manager(str(tmp_path), keep=2)
  mesh = parallel.make_mesh(jax.devices()[:1])
  abstract = checkpointing.abstract_like(
      jax.eval_shape(lambda: _state(0)), parallel.replicated(mesh))
  assert checkpointing.restore_latest(manager, abstract) is None
  for step in (1, 2, 3):
    checkpointing.save(manager, step, _state(step))
  manager.wait_until_finished()
  assert manager.all_steps() == [2, 3]
  restored = checkpointing.restore_latest(manager, abstract)
  jax.tree.map(np.testing.assert_array_equal, restored, _state(3))
  assert restored['params']['w'].sharding == parallel.replicated(mesh)
