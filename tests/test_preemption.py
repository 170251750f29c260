"""SIGTERM/SIGINT mid-run: the step finishes, a checkpoint is saved and
waited for, the run exits with a clear message, and a rerun resumes to the
very parameters of an uninterrupted run."""
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import assert_same_params, on_batch
from dvae_jax import checkpointing, errors, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _signal_self(signum):
  def action(batch):
    os.kill(os.getpid(), signum)
    return batch
  return action


def test_signal_saves_stops_and_resume_is_exact(finished_run, tmp_path,
                                                monkeypatch):
  config, full_workdir, full_summary = finished_run
  workdir = str(tmp_path)
  # SIGINT while the 5th batch is being drawn, i.e. during step 5.
  on_batch(monkeypatch, 4, _signal_self(signal.SIGINT))
  with pytest.raises(errors.Preempted) as stopped:
    train.train_and_evaluate(config, workdir)
  assert stopped.value.step == 5 and stopped.value.exit_code == 130
  assert 'SIGINT received: stopped at step 5 (checkpoint saved in' in str(
      stopped.value)
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  assert manager.all_steps() == [3, 5]
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
  monkeypatch.undo()
  summary = train.train_and_evaluate(config, workdir)
  assert summary == full_summary
  assert_same_params(workdir, 6, full_workdir, 6)


def test_sigterm_to_the_cli_saves_and_exits(tmp_path, glyphs_data_dir):
  """A real SIGTERM from outside, at whatever step the run has reached."""
  proc = subprocess.Popen(
      [sys.executable, '-m', 'dvae_jax.main',
       '--config=configs/default.py:tiny', f'--workdir={tmp_path}',
       f'--config.data_dir={glyphs_data_dir}',
       '--config.num_train_steps=100000', '--config.log_every_steps=1',
       '--config.checkpoint_every_steps=100000',
       '--config.image_every_steps=100000'],
      cwd=REPO, stderr=subprocess.PIPE, text=True,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  lines = []
  try:
    for line in proc.stderr:  # wait until training is under way
      lines.append(line)
      if 'generator_total' in line:  # the first logged step
        break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=120)
  finally:
    proc.kill()
  stderr = ''.join(lines) + rest
  assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
  match = re.search(r'stopped: SIGTERM received: stopped at step (\d+) '
                    r'\(checkpoint saved in (\S+)\); run the same command '
                    r'again to resume', stderr)
  assert match, stderr[-3000:]
  assert 'Traceback' not in stderr
  step = int(match.group(1))
  assert checkpointing.make_manager(
      str(tmp_path), keep=1, read_only=True).all_steps() == [step]
