"""Ahead-of-time check: compile the train step for a mesh and a global batch,
run nothing, and read XLA's per-device memory estimate.

Learn of out-of-memory before paying for a pod: the program is lowered from
shapes only (jax.ShapeDtypeStruct with shardings), so the devices can be fake
CPU devices or the real ones. XLA's CPU estimate differs from a TPU's or a
GPU's (other fusions and layouts); it is a guide, not a guarantee.
"""
import dataclasses
from typing import Optional

import jax
import jax.numpy as jnp

from dvae_jax.runtime import parallel

GIB = 2**30


@dataclasses.dataclass(frozen=True)
class MemoryReport:
  """XLA's estimate for one device, in bytes."""
  platform: str
  num_devices: int
  global_batch: int
  arguments: int  # train state + this device's slice of the batch
  outputs: int
  aliased: int  # outputs written in place of donated arguments
  temporaries: int  # activations, gradients, optimizer scratch
  code: int

  @property
  def peak(self) -> int:
    return self.arguments + self.outputs - self.aliased + self.temporaries


def abstract_batch(config, mesh):
  """Shapes of a global batch, sharded over the mesh like the real one."""
  sharding = parallel.data_sharded(mesh)
  b, s = config.batch_size, config.image_size
  return {'images': jax.ShapeDtypeStruct((b, 3, s, s, config.channels),
                                         jnp.float32, sharding=sharding),
          'labels': jax.ShapeDtypeStruct((b, 3), jnp.int32, sharding=sharding)}


def memory_report(train_step, abstract_state, config,
                  mesh) -> MemoryReport:
  """XLA's memory plan for jit-ted train_step(state, batch) compiled for
  abstract_state and config's global batch over mesh; nothing is run."""
  compiled = train_step.lower(abstract_state,
                              abstract_batch(config, mesh)).compile()
  stats = compiled.memory_analysis()
  return MemoryReport(
      platform=mesh.devices.flat[0].platform, num_devices=mesh.size,
      global_batch=config.batch_size,
      arguments=stats.argument_size_in_bytes,
      outputs=stats.output_size_in_bytes, aliased=stats.alias_size_in_bytes,
      temporaries=stats.temp_size_in_bytes,
      code=stats.generated_code_size_in_bytes)


def device_memory_limit(device) -> Optional[int]:
  """Bytes the device can hold, where it says (GPU, TPU); None on CPU."""
  stats = device.memory_stats() if hasattr(device, 'memory_stats') else None
  return (stats or {}).get('bytes_limit')


def format_report(report: MemoryReport, limit: Optional[int]) -> str:
  mib = lambda n: f'{n / 2**20:9.1f} MiB'
  lines = [
      f'train step on {report.num_devices} {report.platform} device(s), '
      f'global batch {report.global_batch} '
      f'({report.global_batch // report.num_devices} per device), '
      'per-device memory:',
      f'  arguments   {mib(report.arguments)}  (state + batch slice)',
      f'  outputs     {mib(report.outputs)}',
      f'  aliased     {mib(-report.aliased)}  (donated state, updated in place)',
      f'  temporaries {mib(report.temporaries)}',
      f'  peak        {mib(report.peak)}',
      f'  (code       {mib(report.code)})',
  ]
  if limit:
    verdict = 'fits' if report.peak <= limit else 'DOES NOT FIT'
    lines.append(f'device memory {mib(limit).strip()}: {verdict} '
                 f'({100 * report.peak / limit:.0f}% used)')
  return '\n'.join(lines)
