"""SIGTERM/SIGINT mid-run: the step finishes, a checkpoint is saved and
waited for, the run exits with a clear message, and a rerun resumes to the
very parameters of an uninterrupted run. A real SIGTERM to the command line
(its exit code and line): tests/test_interrupts.py, its first start."""
import os
import signal
import subprocess
import sys

import pytest

from conftest import assert_same_params, on_batch
from dvae_jax.runtime import checkpointing, errors
from dvae_jax.training import loop as train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _signal_self(signum):
  def action(batch):
    os.kill(os.getpid(), signum)
    return batch
  return action


def test_signal_saves_stops_and_resume_is_exact(finished_run, judge_dir,
                                                tmp_path, monkeypatch):
  config, full_workdir, full_summary = finished_run
  config = config.copy_and_resolve_references()
  config.eval.classifier_dir = judge_dir  # the unbroken run's judge, loaded
  workdir = str(tmp_path)
  handler_before = signal.getsignal(signal.SIGINT)
  # SIGINT while the 5th batch is being drawn, i.e. during step 5.
  on_batch(monkeypatch, 4, _signal_self(signal.SIGINT))
  with pytest.raises(errors.Preempted) as stopped:
    train.train_and_evaluate(config, workdir)
  assert stopped.value.step == 5 and stopped.value.exit_code == 130
  assert 'SIGINT received: stopped at step 5 (checkpoint saved in' in str(
      stopped.value)
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  assert manager.all_steps() == [3, 5]
  assert signal.getsignal(signal.SIGINT) is handler_before  # restored
  monkeypatch.undo()
  summary = train.train_and_evaluate(config, workdir)
  assert summary == full_summary
  assert_same_params(workdir, 6, full_workdir, 6)


_TWO_PROCESSES = '''
import os, signal, sys
import jax
port, pid = sys.argv[1], int(sys.argv[2])
jax.distributed.initialize(coordinator_address=f'127.0.0.1:{port}',
                           num_processes=2, process_id=pid,
                           initialization_timeout=60)
from dvae_jax.training import preemption
with preemption.StopOnSignal(sync_every=2) as stop:
  for step in range(100):
    if stop.should_stop(step):
      print('STOP', step, stop.signum, flush=True)
      break
    if pid == 0 and step == 3:  # only process 0 is signalled
      os.kill(os.getpid(), signal.SIGTERM)
'''


@pytest.mark.slow
def test_processes_agree_on_the_stop_step():
  import socket
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu'}
  procs = [subprocess.Popen([sys.executable, '-c', _TWO_PROCESSES, str(port),
                             str(i)], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
           for i in range(2)]
  outs = []
  try:
    for p in procs:
      outs.append(p.communicate(timeout=180))
  finally:
    for p in procs:
      p.kill()
  for p, (out, err) in zip(procs, outs):
    assert p.returncode == 0, err[-2000:]
    # Signalled at step 3, both stop at the next sync point, step 4.
    stops = [line.split() for line in out.splitlines()
             if line.startswith('STOP')]
    assert stops == [['STOP', '4', str(int(signal.SIGTERM))]], out + err[-2000:]
