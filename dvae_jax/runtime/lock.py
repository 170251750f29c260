"""One trainer per workdir: WORKDIR/lock.json, held by process 0 of the run.

A second trainer on a workdir in use stops at once with a UserError naming
the holder (host, pid, start time). The lock file appears whole (written
aside, then hard-linked into place, which fails if one exists) and holds
{host, pid, pid_start, started, processes, token}; process 0 touches it every
HEARTBEAT_SECONDS while it trains. A lock whose holder is gone is taken over
(with a warning):
- same host: the pid no longer runs, or runs another program (its start time
  in /proc differs): a kill -9 is seen at once;
- another host: the file was not touched for STALE_AFTER_SECONDS (a lost
  node). Host clocks are assumed to agree to well under that.
The other processes of a multi-process run do not take it: process 0 tells
them (one small broadcast) whether the run may start. Evaluation and
analogies only read a workdir and take no lock. Workdirs on gs:// and other
non-local filesystems are not locked (a warning says so).
"""
import dataclasses
import datetime
import json
import os
import socket
import threading
import time
import uuid
from typing import Optional

from absl import logging

from dvae_jax.runtime import errors

LOCK = 'lock.json'
HEARTBEAT_SECONDS = 60
STALE_AFTER_SECONDS = 10 * 60


def _pid_start(pid: int) -> Optional[int]:
  """The start time of process pid (clock ticks since boot), if /proc has it."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      # Field 22; the name in field 2 may hold spaces, so count from its ')'.
      return int(f.read().rsplit(')', 1)[1].split()[19])
  except (OSError, IndexError, ValueError):
    return None


def _running(pid: int, pid_start: Optional[int]) -> bool:
  """Whether process pid of this host still runs (and is the same one)."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    pass  # it exists, under another user
  now = _pid_start(pid)
  return pid_start is None or now is None or now == pid_start


@dataclasses.dataclass(frozen=True)
class Holder:
  """Who holds a lock, as written in lock.json."""
  host: str
  pid: int
  started: str  # ISO time, UTC
  token: str
  pid_start: Optional[int] = None
  processes: int = 1

  @classmethod
  def me(cls, processes: int) -> 'Holder':
    return cls(host=socket.gethostname(), pid=os.getpid(),
               started=datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec='seconds'), token=uuid.uuid4().hex,
               pid_start=_pid_start(os.getpid()), processes=processes)


def _read(path: str):
  """(Holder or None if unreadable, seconds since the last heartbeat), or
  None if there is no lock file."""
  try:
    age = time.time() - os.stat(path).st_mtime
    with open(path) as f:
      data = json.load(f)
    return Holder(**{k: data[k] for k in (
        'host', 'pid', 'started', 'token', 'pid_start', 'processes')}), age
  except FileNotFoundError:
    return None
  except (OSError, ValueError, KeyError, TypeError):
    return None, age


def _stale_reason(holder: Optional[Holder], age: float,
                  stale_after_s: float) -> Optional[str]:
  """Why a lock can be taken over, or None while its holder may be alive."""
  if holder is None:
    return 'the lock file cannot be read' if age > 60 else None
  if holder.host == socket.gethostname():
    if not _running(holder.pid, holder.pid_start):
      return f'process {holder.pid} no longer runs on this host'
    return None
  if age > stale_after_s:
    return (f'no heartbeat from {holder.host} for {age / 60:.0f} minutes '
            f'(more than {stale_after_s / 60:g})')
  return None


def _describe(workdir: str, holder: Optional[Holder], age: float) -> str:
  who = ('an unreadable lock file' if holder is None else
         f'pid {holder.pid} on host {holder.host}, started {holder.started}')
  return (f'workdir {workdir!r} is in use by another trainer: {who} (lock '
          f'{os.path.join(workdir, LOCK)}, last heartbeat {age:.0f} s ago); '
          'wait for it to end or stop it, or pass another --workdir')


def _create(path: str, holder: Holder) -> bool:
  """Writes lock.json unless one exists; True if it is now ours."""
  tmp = f'{path}.{holder.token}.tmp'
  with open(tmp, 'w') as f:
    json.dump(dataclasses.asdict(holder), f)
  try:
    os.link(tmp, path)  # atomic, and fails if the lock exists
    return True
  except FileExistsError:
    return False
  finally:
    os.unlink(tmp)


def _break(path: str, stale: Optional[Holder]) -> None:
  """Moves a stale lock aside; puts it back if someone replaced it since."""
  aside = f'{path}.stale-{uuid.uuid4().hex}'
  try:
    os.rename(path, aside)
  except FileNotFoundError:
    return  # another trainer broke it first
  moved = _read(aside)
  if stale is not None and moved and moved[0] and moved[0] != stale:
    try:
      os.link(aside, path)  # a live lock taken in between: give it back
    except FileExistsError:
      pass
  os.unlink(aside)


def refusal(workdir: str,
            stale_after_s: float = STALE_AFTER_SECONDS) -> Optional[str]:
  """Why a trainer may not start on workdir now, or None (takes no lock)."""
  found = _read(os.path.join(workdir, LOCK))
  if found is None:
    return None
  holder, age = found
  if _stale_reason(holder, age, stale_after_s):
    return None
  return _describe(workdir, holder, age)


class WorkdirLock:
  """`with WorkdirLock(workdir):` holds workdir's lock for this run, or raises
  errors.UserError at once if another live trainer holds it."""

  def __init__(self, workdir: str, heartbeat_s: float = HEARTBEAT_SECONDS,
               stale_after_s: float = STALE_AFTER_SECONDS):
    self.workdir = workdir
    self.path = os.path.join(workdir, LOCK)
    self.heartbeat_s, self.stale_after_s = heartbeat_s, stale_after_s
    self.holder: Optional[Holder] = None
    self._stop = threading.Event()
    self._thread = None

  def __enter__(self):
    import jax  # not at module load: the CLI parses flags first
    local = '://' not in self.workdir
    if not local:
      logging.warning('workdir %s is not on a local filesystem: not locked '
                      '(two trainers on it would both write)', self.workdir)
    refused = None
    if local and jax.process_index() == 0:
      try:
        refused = self._acquire(jax.process_count())
      except OSError as e:  # told to the other processes like a refusal
        refused = (f'cannot create the lock {self.path} ({e.strerror}); pass '
                   '--workdir=a directory you can write to')
    if jax.process_count() > 1:
      import numpy as np
      from jax.experimental import multihost_utils
      refused_any = int(multihost_utils.broadcast_one_to_all(
          np.int32(refused is not None)))
      if refused_any and refused is None:
        refused = refusal(self.workdir, self.stale_after_s) or (
            f'workdir {self.workdir!r} is in use by another trainer (process '
            '0 of this run found its lock)')
    if refused:
      raise errors.UserError(refused)
    if self.holder:
      self._thread = threading.Thread(target=self._beat, daemon=True,
                                      name='workdir-lock-heartbeat')
      self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    if self._thread:
      self._thread.join()
    if self.holder and self._ours():
      os.unlink(self.path)
    self.holder = None
    return False

  def _acquire(self, processes: int) -> Optional[str]:
    """Takes the lock (breaking a stale one); the refusal message if held."""
    me = Holder.me(processes)
    for _ in range(3):  # a stale lock broken, or one released, in between
      if _create(self.path, me):
        self.holder = me
        return None
      found = _read(self.path)
      if found is None:
        continue
      holder, age = found
      reason = _stale_reason(holder, age, self.stale_after_s)
      if reason is None:
        return _describe(self.workdir, holder, age)
      logging.warning('Taking over the lock of workdir %s: %s (%s)',
                      self.workdir, reason, holder)
      _break(self.path, holder)
    return (f'cannot take the lock {self.path}: other trainers keep taking '
            'it; start one trainer per workdir')

  def _ours(self) -> bool:
    found = _read(self.path)
    return bool(found and found[0] and found[0].token == self.holder.token)

  def _beat(self):
    while not self._stop.wait(self.heartbeat_s):
      try:
        if self._ours():
          os.utime(self.path)
      except OSError as e:  # a full or lost disk: training goes on
        logging.warning('Cannot touch the workdir lock %s: %s', self.path, e)
