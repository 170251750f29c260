"""The command line a user types, run as a subprocess."""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, timeout=300):
  return subprocess.run(
      [sys.executable, '-m', 'dvae_jax.main', *args], cwd=REPO,
      capture_output=True, text=True, timeout=timeout,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'})


def test_cli_trains_the_tiny_config(tmp_path, glyphs_data_dir):
  result = _run('--config=configs/default.py:tiny', f'--workdir={tmp_path}',
                f'--config.data_dir={glyphs_data_dir}',
                '--config.num_train_steps=2')
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / 'summary.json') as f:
    assert json.load(f)['step'] == 2
  assert (tmp_path / 'swap_grid.png').exists()


def test_cli_user_error_is_one_line(tmp_path, glyphs_data_dir):
  result = _run('--config=configs/default.py:tiny', f'--workdir={tmp_path}',
                f'--config.data_dir={glyphs_data_dir}',
                '--config.adversary=bogus')
  assert result.returncode == 2
  assert "error: config.adversary='bogus' is not one of" in result.stderr
  assert 'Traceback' not in result.stderr


def test_cli_evaluate_without_checkpoint_is_one_line(tmp_path, glyphs_data_dir):
  result = _run('--config=configs/default.py:tiny', f'--workdir={tmp_path}',
                f'--config.data_dir={glyphs_data_dir}', '--mode=evaluate')
  assert result.returncode == 2
  assert 'error: no checkpoints in workdir' in result.stderr
  assert 'Traceback' not in result.stderr
