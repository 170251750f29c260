"""Device mesh and shardings for data parallelism.

We use `jax.jit` over a 1-D 'data' mesh with the batch sharded and the state
replicated, the form the pinned JAX recommends (pmap is now a wrapper over
jit + shard_map, its docstring says). The step is written for the *global*
batch: XLA inserts the all-reduces, so gradients and batch-norm statistics are
averaged over every device of every process and N devices compute what one
device would with the same global batch. With several processes the mesh
spans all of them (jax.devices() is global after jax.distributed.initialize);
each process supplies only its own rows of the batch (global_batch), and
jax.jit runs the same program on every process.
"""
import hashlib

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dvae_jax.runtime import errors

DATA_AXIS = 'data'


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh over all devices of all processes (or the given ones)."""
  devices = jax.devices() if devices is None else list(devices)
  # Auto axis types: the step is written in global-array semantics.
  return Mesh(np.asarray(devices), (DATA_AXIS,),
              axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_sharded(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over the data axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_divisible(global_batch: int, mesh: Mesh) -> None:
  if global_batch % mesh.size:
    raise errors.UserError(
        f'config.batch_size={global_batch} is not divisible by the '
        f'{mesh.size} devices; set --config.batch_size to a multiple of '
        f'{mesh.size}')


def global_batch(local_batch, mesh: Mesh):
  """Process-local numpy batch (leading axis = this process's share,
  global batch / process count) -> global arrays sharded over the mesh; the
  rows of process i land on its own devices."""
  sharding = data_sharded(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, x),
      local_batch)


def fingerprint(tree) -> str:
  """A hash of this process's copy of a replicated pytree. Equal on every
  process of a healthy run; logged so that a diverged host is visible."""
  digest = hashlib.sha256()
  for leaf in jax.tree.leaves(tree):
    digest.update(np.asarray(leaf.addressable_shards[0].data).tobytes())
  return digest.hexdigest()[:16]
