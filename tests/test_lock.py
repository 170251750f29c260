"""The workdir lock: a second trainer stops at once naming the first; a lock
left by a dead process (kill -9 on this host, no heartbeat from another) is
taken over; the processes of one run share it, another run's do not."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from dvae_jax.runtime import errors, lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_HOLD = '''
import sys, time
from dvae_jax.runtime import lock
with lock.WorkdirLock(sys.argv[1]):
  print('held', flush=True)
  time.sleep(600)
'''


@pytest.fixture
def holder(tmp_path):
  """A live process on this host holding tmp_path/'run''s lock."""
  workdir = tmp_path / 'run'
  workdir.mkdir()
  proc = subprocess.Popen([sys.executable, '-c', _HOLD, str(workdir)],
                          cwd=REPO, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert proc.stdout.readline() == 'held\n'
  yield workdir, proc
  proc.kill()
  proc.wait()


def _write_lock(workdir, host, age_s):
  path = workdir / lock.LOCK
  path.write_text(json.dumps({'host': host, 'pid': 1, 'pid_start': None,
                              'started': '2026-01-01T00:00:00+00:00',
                              'token': 'x', 'processes': 1}))
  then = time.time() - age_s
  os.utime(path, (then, then))


def test_a_second_trainer_is_refused_naming_the_first(holder):
  workdir, proc = holder
  with pytest.raises(errors.UserError) as refused:
    with lock.WorkdirLock(str(workdir)):
      pass
  message = str(refused.value)
  assert (f'is in use by another trainer: pid {proc.pid} on host '
          f'{socket.gethostname()}, started 20') in message
  assert 'pass another --workdir' in message
  # --mode=check says the same, without taking the lock.
  assert lock.refusal(str(workdir)).split(' (lock')[0] == message.split(
      ' (lock')[0]


def test_the_lock_of_a_killed_process_is_taken_over(holder):
  """kill -9: the pid is gone on this host, so the lock is stale at once."""
  workdir, proc = holder
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert (workdir / lock.LOCK).exists()  # nobody removed it
  assert lock.refusal(str(workdir)) is None
  with lock.WorkdirLock(str(workdir)) as held:
    data = json.loads((workdir / lock.LOCK).read_text())
    assert data['pid'] == os.getpid() and data['token'] == held.holder.token
  assert not (workdir / lock.LOCK).exists()  # released
  assert sorted(os.listdir(workdir)) == []  # nothing left aside


def test_another_hosts_lock_holds_while_its_heartbeat_is_fresh(tmp_path):
  _write_lock(tmp_path, 'other-host', age_s=60)
  with pytest.raises(errors.UserError, match='pid 1 on host other-host, '
                     r'started 2026-01-01T00:00:00\+00:00 .*last heartbeat '
                     '60 s ago'):
    with lock.WorkdirLock(str(tmp_path)):
      pass


def test_another_hosts_lock_without_heartbeat_is_taken_over(tmp_path):
  """A lost node: no heartbeat for more than STALE_AFTER_SECONDS."""
  _write_lock(tmp_path, 'other-host', age_s=lock.STALE_AFTER_SECONDS + 60)
  with lock.WorkdirLock(str(tmp_path)):
    assert json.loads((tmp_path / lock.LOCK).read_text())['host'] == (
        socket.gethostname())


def test_the_holder_keeps_its_heartbeat_fresh(tmp_path):
  with lock.WorkdirLock(str(tmp_path), heartbeat_s=0.05):
    path = tmp_path / lock.LOCK
    then = time.time() - 3600
    os.utime(path, (then, then))
    time.sleep(0.5)
    assert time.time() - os.stat(path).st_mtime < 5


def test_a_lock_that_is_not_ours_is_not_removed(tmp_path):
  with lock.WorkdirLock(str(tmp_path)):
    _write_lock(tmp_path, 'other-host', age_s=0)  # e.g. after a takeover
  assert json.loads((tmp_path / lock.LOCK).read_text())['host'] == (
      'other-host')


def test_cli_second_trainer_stops_at_once(holder, tmp_path, run_main):
  """The command line's main, in this process (conftest's run_main)."""
  workdir, proc = holder
  before = sorted(os.listdir(workdir))
  start = time.time()
  code, _, err = run_main('--config=configs/default.py:tiny',
                          f'--workdir={workdir}',
                          f'--config.data_dir={tmp_path / "tfds"}')
  assert code == 2, err[-3000:]
  lines = [l for l in err.splitlines() if l.startswith('error:')]
  assert len(lines) == 1 and lines[0].startswith(
      f"error: workdir '{workdir}' is in use by another trainer: pid "
      f'{proc.pid} on host {socket.gethostname()}, started '), lines
  assert 'Traceback' not in err
  assert sorted(os.listdir(workdir)) == before  # no runs/, no config.json
  assert not (tmp_path / 'tfds').exists()  # stopped before the data
  assert time.time() - start < 120


@pytest.mark.timeout(400)
def test_another_multi_process_run_is_refused_by_all_its_processes(holder,
                                                                   tmp_path):
  """Process 0 finds the lock and tells the others: every process ends with
  the same line (a run's own processes share its lock: test_multiprocess)."""
  workdir, proc = holder
  result = subprocess.run(
      [sys.executable, 'launch/local.py', '--num_processes=2',
       '--timeout=300', '--', '--config=configs/default.py:tiny',
       f'--workdir={workdir}', f'--config.data_dir={tmp_path / "tfds"}'],
      cwd=REPO, capture_output=True, text=True, timeout=360)
  assert result.returncode == 2, result.stdout[-3000:]
  for i in (0, 1):
    assert (f"[{i}] error: workdir '{workdir}' is in use by another "
            f'trainer: pid {proc.pid} on host') in result.stdout, (
                result.stdout[-3000:])
