"""Two processes on loopback (2 fake CPU devices each) train the tiny config
through the real launcher and CLI, and match one process on 4 devices, which
matches one device."""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def _launch(workdir, data_dir, steps):
  """The tiny config on 2 processes x 2 fake devices, via launch/local.py."""
  result = subprocess.run(
      [sys.executable, 'launch/local.py', '--num_processes=2',
       '--devices_per_process=2', '--timeout=420', '--collective_timeout=120',
       '--', '--config=configs/default.py:tiny', f'--workdir={workdir}',
       f'--config.data_dir={data_dir}', f'--config.num_train_steps={steps}'],
      cwd=REPO, capture_output=True, text=True, timeout=450)
  assert result.returncode == 0, result.stdout[-5000:]
  return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)  # two bounded subprocesses; cold compiles, 2 cores
def test_two_processes_train_together_and_match_one(tmp_path, run_worker,
                                                    glyphs_data_dir):
  workdir = tmp_path / 'run'
  out = _launch(workdir, glyphs_data_dir, 1)
  prints = dict(re.findall(r'Parameter fingerprint of process (\d): (\w+)',
                           out))
  assert set(prints) == {'0', '1'} and prints['0'] == prints['1'], prints
  assert (workdir / 'summary.json').exists()  # written by process 0 only
  # One process on 4 devices, fed the same global batch, computes the same
  # step, and so does one device (tests/parallel_worker.py says what is
  # compared and why).
  report = run_worker(glyphs_data_dir, workdir, 2, devices=4, timeout=420)
  print(report)  # pytest -s shows the numbers
  assert report['devices'] == 4
  assert report['one_device']['ok'], report['one_device']
  assert report['ok'], report


def test_a_user_error_ends_every_process_at_once(tmp_path, glyphs_data_dir):
  """No process waits in jax's shutdown barrier (minutes) after a failure."""
  result = subprocess.run(
      [sys.executable, 'launch/local.py', '--num_processes=2', '--timeout=240',
       '--', '--config=configs/default.py:tiny', f'--workdir={tmp_path}',
       f'--config.data_dir={glyphs_data_dir}', '--config.adversary=bogus'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2, result.stdout[-3000:]
  assert "error: config.adversary='bogus' is not one of" in result.stdout
  assert 'timeout' not in result.stderr
