"""SIGTERM/SIGINT: finish the step, save, exit, instead of dying mid-step.

A first signal only sets a flag that the loop polls between steps; it also
puts the previous handlers back, so a second signal stops the process at once
(the checkpoints on disk stay intact: Orbax writes a step to a temporary
directory and renames it when complete).

With several processes the stop must happen at the same step everywhere (the
save is collective). Processes then agree every `sync_every` steps, with one
small all-gather of the flags, rather than on every step.
"""
import signal
import threading
from typing import Optional

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopOnSignal:
  """Context manager; `should_stop(step)` says whether to save and exit now."""

  def __init__(self, sync_every: int):
    self.sync_every = max(1, sync_every)
    self.signum: Optional[int] = None
    self._previous = {}

  def __enter__(self):
    # Python allows handlers only in the main thread; elsewhere (e.g. a
    # notebook worker thread) the run simply is not preemptible.
    if threading.current_thread() is threading.main_thread():
      for s in SIGNALS:
        self._previous[s] = signal.signal(s, self._handle)
    return self

  def __exit__(self, *exc):
    self._restore()

  def _restore(self):
    for s, handler in self._previous.items():
      signal.signal(s, handler)
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    self.signum = signum
    self._restore()
    logging.warning('%s received: finishing this step, saving a checkpoint, '
                    'then exiting (send it again to stop at once)',
                    signal.Signals(signum).name)

  def should_stop(self, step: int) -> bool:
    """True when this (and every other) process must stop after `step`."""
    if jax.process_count() == 1:
      return self.signum is not None
    if step % self.sync_every:
      return False
    signums = multihost_utils.process_allgather(np.int32(self.signum or 0))
    if np.any(signums):
      self.signum = int(np.max(signums))
      return True
    return False
