"""A run interrupted again and again, by SIGTERM, by SIGKILL and by a
corrupt newest checkpoint, each at a random step, ends with the parameters
of an unbroken run, bit for bit (CPU). Every start is the real command line;
the first also checks what a SIGTERM to it does (the stop in process:
tests/test_preemption.py), and the run's end what a training run through the
command line writes and prints."""
import json
import os
import random
import re
import signal
import subprocess
import sys

import pytest

from conftest import assert_same_params
from dvae_jax.runtime import checkpointing, lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 17  # of the random steps; change it to try others


def _start(workdir, data_dir, judge_dir):
  """The tiny run of `finished_run`, with a checkpoint and a log line after
  every step (neither changes what is computed), and its judge (conftest's
  judge_dir: the evaluation loads it, nothing here checks the judge)."""
  return subprocess.Popen(
      [sys.executable, '-m', 'dvae_jax.main',
       '--config=configs/default.py:tiny', f'--workdir={workdir}',
       f'--config.data_dir={data_dir}', '--config.checkpoint_every_steps=1',
       '--config.log_every_steps=1', '--config.keep_checkpoints=10',
       f'--config.eval.classifier_dir={judge_dir}'],
      cwd=REPO, stderr=subprocess.PIPE, text=True,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'})  # conftest: the cache


def _run_until(proc, step, signum):
  """Sends signum once proc has logged a step >= `step`; (exit code, log)."""
  lines = []
  try:
    for line in proc.stderr:
      lines.append(line)
      logged = re.search(r'step (\d+)/\d+ \(', line)  # the progress line
      if logged and int(logged.group(1)) >= step:
        proc.send_signal(signum)
        break
    _, rest = proc.communicate(timeout=300)
  finally:
    proc.kill()
  return proc.returncode, ''.join(lines) + rest


def _steps(workdir):
  return checkpointing.make_manager(str(workdir), keep=10,
                                    read_only=True).all_steps()


def _truncate_newest(workdir):
  step_dir = os.path.join(checkpointing.checkpoint_dir(str(workdir)),
                          str(max(_steps(workdir))))
  files = [os.path.join(d, f) for d, _, fs in os.walk(step_dir) for f in fs]
  largest = max(files, key=os.path.getsize)
  with open(largest, 'r+b') as f:
    f.truncate(os.path.getsize(largest) // 2)
  return step_dir


@pytest.mark.timeout(600)
def test_sigterm_sigkill_and_corruption_in_a_row(finished_run, judge_dir,
                                                 tmp_path):
  config, full_workdir, full_summary = finished_run  # 6 steps, unbroken
  rng = random.Random(SEED)
  workdir = tmp_path / 'run'
  start = lambda: _start(workdir, config.data_dir, judge_dir)
  logs = []  # every start's console (stderr)

  # 1. SIGTERM at a random early step: saved and stopped, one line, exit 143
  # (a stop saves its step's checkpoint when none is due: test_preemption).
  code, log = _run_until(start(), rng.randint(1, 2), signal.SIGTERM)
  logs.append(log)
  assert code == 128 + signal.SIGTERM, log[-3000:]
  match = re.search(r'stopped: SIGTERM received: stopped at step (\d+) '
                    r'\(checkpoint saved in (\S+)\); run the same command '
                    r'again to resume', log)
  assert match, log[-3000:]
  assert 'Traceback' not in log
  stopped = int(match.group(1))
  assert max(_steps(workdir)) == stopped < config.num_train_steps

  # 2. SIGKILL a few steps after the resume: no handler, the lock stays.
  code, log = _run_until(start(), min(stopped + rng.randint(1, 2), 4),
                         signal.SIGKILL)
  logs.append(log)
  assert code == -signal.SIGKILL, log[-3000:]
  assert f'Resuming from the checkpoint of step {stopped}' in log
  assert (workdir / lock.LOCK).exists()

  # 3. The newest checkpoint corrupt, and a SIGTERM once more.
  bad = _truncate_newest(workdir)
  code, log = _run_until(start(), max(_steps(workdir)) + 1, signal.SIGTERM)
  logs.append(log)
  assert 'Taking over the lock' in log and 'no longer runs' in log
  assert bad in log  # named, skipped, an older one restored
  assert code in (0, 128 + signal.SIGTERM), log[-3000:]

  # 4. To the end: the parameters of the unbroken run, bit for bit.
  if code:
    proc = start()
    log = proc.communicate(timeout=300)[1]
    logs.append(log)
    assert proc.returncode == 0, log[-3000:]
  assert_same_params(str(workdir), config.num_train_steps, full_workdir,
                     config.num_train_steps)
  assert not (workdir / lock.LOCK).exists()

  # What the run wrote at its end, and the console: a progress line per log
  # interval (the last from whichever start trained the last step), no
  # library INFO lines.
  with open(workdir / 'summary.json') as f:
    assert json.load(f)['step'] == config.num_train_steps
  assert (workdir / 'swap_grid.png').exists()
  console = ''.join(logs)
  assert re.search(r'step 6/6 \(100%\), [\d.]+ steps/s, ETA 0 s; '
                   r'reconstruction [\d.]+', console), log[-3000:]
  assert 'logging_writer.py' not in console  # clu's metric lines
  assert 'reader.py' not in console  # tfds
