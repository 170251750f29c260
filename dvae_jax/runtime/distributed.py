"""Joining a multi-process run through JAX's own runtime (`jax.distributed`).

One Python process per host (TPU VM worker) or per GPU/node (SLURM) runs the
same program; `jax.distributed.initialize()` connects them, after which
`jax.devices()` lists the devices of every process and a jitted step over a
mesh of them is one data-parallel program (see parallel.py).
"""
import os
import sys
from typing import Optional

import jax
from absl import logging

# Read when the matching flag is not given. JAX itself reads
# JAX_COORDINATOR_ADDRESS too, and detects Cloud TPU, SLURM, Open MPI and
# Kubernetes allocations for anything left unset.
ENV_VARS = ('JAX_COORDINATOR_ADDRESS', 'JAX_NUM_PROCESSES', 'JAX_PROCESS_ID')


def settings_from_env(coordinator_address: Optional[str] = None,
                      num_processes: Optional[int] = None,
                      process_id: Optional[int] = None) -> dict:
  """The flags' values, each falling back to its environment variable."""
  env = os.environ
  as_int = lambda v: None if v in (None, '') else int(v)
  return {
      'coordinator_address': (coordinator_address or
                              env.get('JAX_COORDINATOR_ADDRESS') or None),
      'num_processes': (num_processes if num_processes is not None else
                        as_int(env.get('JAX_NUM_PROCESSES'))),
      'process_id': (process_id if process_id is not None else
                     as_int(env.get('JAX_PROCESS_ID'))),
  }


def maybe_initialize(enabled: bool, timeout_s: int = 300, **settings) -> bool:
  """Calls jax.distributed.initialize when asked (enabled, or any setting
  given); returns whether it did. Call before any other JAX function."""
  settings = settings_from_env(**settings)
  if not enabled and all(v is None for v in settings.values()):
    return False
  jax.distributed.initialize(initialization_timeout=timeout_s, **settings)
  return True


def exit(code: int) -> None:  # pylint: disable=redefined-builtin
  """sys.exit(code); in a multi-process run, ends the process at once: a
  normal exit would wait minutes in jax's shutdown barrier for peers that never
  reach it, while this way the launcher (or the peers' collective timeouts)
  see the failure."""
  if jax.process_count() == 1:
    sys.exit(code)
  logging.flush()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)
