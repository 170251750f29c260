"""Orbax checkpoints of the TrainState: save every N steps, keep the last K,
restore the newest one that is complete."""
import os
from typing import Optional

import jax
import orbax.checkpoint as ocp


def checkpoint_dir(workdir: str) -> str:
  base = workdir if '://' in workdir else os.path.abspath(workdir)  # gs://
  return os.path.join(base, 'checkpoints')


def make_manager(workdir: str, keep: int,
                 read_only: bool = False) -> ocp.CheckpointManager:
  """The caller decides when to save (every N steps, at the end)."""
  options = ocp.CheckpointManagerOptions(
      preservation_policy=ocp.checkpoint_managers.LatestN(keep),
      create=not read_only, read_only=read_only)
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def restore_latest(manager: ocp.CheckpointManager,
                   abstract_state) -> Optional[object]:
  """The newest complete checkpoint restored onto abstract_state's shardings
  (a pytree of jax.ShapeDtypeStruct), or None when there is none."""
  step = manager.latest_step()
  if step is None:
    return None
  return manager.restore(step, args=ocp.args.StandardRestore(abstract_state))


def save(manager: ocp.CheckpointManager, step: int, state) -> None:
  """Starts an asynchronous save of state as `step`."""
  manager.save(step, args=ocp.args.StandardSave(state), force=True)


def abstract_like(state_shapes, sharding) -> object:
  """ShapeDtypeStructs with a sharding, the target of a restore."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
      state_shapes)
