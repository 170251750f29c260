"""The ahead-of-time memory check, through its command line."""
import os
import re
import subprocess
import sys

import numpy as np

from dvae_jax.runtime import aot

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, timeout=300):
  return subprocess.run(
      [sys.executable, '-m', 'dvae_jax.cli.aot_check',
       '--config=configs/default.py:tiny', *args],
      cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_reports_per_device_memory_and_a_verdict():
  result = _run('--num_classes=10', '--num_devices=2',
                '--device_memory_gb=0.001')
  assert 'on 2 cpu device(s), global batch 8 (4 per device)' in result.stdout
  peak = float(re.search(r'peak\s+([\d.]+) MiB', result.stdout).group(1))
  assert 0.5 < peak < 100, result.stdout
  assert 'DOES NOT FIT' in result.stdout
  assert result.returncode == 1  # a script can stop before renting the pod


def test_batch_not_divisible_by_devices_is_a_user_error():
  result = _run('--num_classes=10', '--num_devices=3')
  assert result.returncode == 2
  assert 'error: config.batch_size=8 is not divisible by the 3 devices' in (
      result.stderr)
  # A value no config may have: the config's rules, one line (was a
  # traceback from inside the step).
  result = _run('--num_classes=10', '--config.batch_size=-1')
  assert result.returncode == 2, result.stderr[-2000:]
  assert 'error: config.batch_size=-1' in result.stderr
  assert 'Traceback' not in result.stderr


def test_class_count_of_an_npz_dataset_is_read_from_it(tmp_path):
  """With --config.data_path the count comes from that data (3 classes),
  not from config.dataset; nothing needs passing, nothing is built."""
  rng = np.random.default_rng(0)
  np.savez(tmp_path / 'faces.npz',
           images=rng.integers(0, 256, (12, 32, 32, 3), np.uint8),
           labels=np.repeat(np.arange(3), 4))
  result = _run(f'--config.data_path={tmp_path}/faces.npz',
                f'--config.data_dir={tmp_path}/tfds')
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'classes: 3 (from the dataset)' in result.stdout
  assert 'per-device memory' in result.stdout
  assert not (tmp_path / 'tfds').exists()


def test_peak_counts_donated_state_once():
  report = aot.MemoryReport('cpu', 4, 8, arguments=100, outputs=90, aliased=80,
                            temporaries=10, code=0)
  assert report.peak == 120
  assert 'fits (60% used)' in aot.format_report(report, limit=200)
