"""The command line a user types: run as a subprocess where the process
matters (fake devices, flags that stop before jax is imported); its refusals,
which stop before anything is built, run in this process (conftest's
run_main: main, flag parsing and error lines; ~5 s less each, TensorFlow's
import). A whole training run through it, its outputs and its console:
tests/test_interrupts.py (the run's last start)."""
import logging
import os
import shutil
import subprocess
import sys

import pytest

from dvae_jax.cli import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, timeout=300):
  return subprocess.run(
      [sys.executable, '-m', 'dvae_jax.main', *args], cwd=REPO,
      capture_output=True, text=True, timeout=timeout,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'})


@pytest.mark.parametrize('verbose', [False, True])
def test_console_keeps_library_info_lines_for_verbose_only(verbose):
  console = common.Console(verbose)
  record = lambda path, level: logging.LogRecord('absl', level, path, 1, 'm',
                                                 (), None)
  library = '/venv/site-packages/tensorflow_datasets/core/reader.py'
  ours = '/repo/dvae_jax/training/loop.py'
  assert console.filter(record(library, logging.INFO)) == verbose
  assert console.filter(record(library, logging.WARNING))
  assert console.filter(record(ours, logging.INFO))
  orbax = '/venv/site-packages/orbax/checkpoint/manager.py'
  assert not console.filter(record(orbax, logging.INFO))  # every save


def test_cli_user_error_is_one_line(run_main, tmp_path, glyphs_data_dir):
  code, _, err = run_main('--config=configs/default.py:tiny',
                          f'--workdir={tmp_path}',
                          f'--config.data_dir={glyphs_data_dir}',
                          '--config.adversary=bogus')
  _fails_in_one_line(code, err, "error: config.adversary='bogus' is not one of")


@pytest.mark.parametrize('args,message', [
    (['--config.nope=1'], "error: config has no key 'nope'"),
    (['--config.model.widht=3'],
     "error: config has no key 'model.widht' (did you mean 'model.width'?)"),
    (['--config.batch_size=abc'],
     'error: flag --config.batch_size=abc: invalid literal for int() with '
     "base 10: 'abc' (wrong type for this key"),
    (['--config=configs/nope.py'],
     "error: config file 'configs/nope.py' not found; pass e.g. "
     '--config=configs/default.py'),
    (['--config=configs/default.py:huge'],
     "error: the config file failed: ValueError: unknown variant 'huge' of "
     "the config; use any of ('tiny', 'paper', 'improved', 'two_step', "
     "'long'), comma-separated, or nothing"),
    (['--config=configs/sprites.py:paper,two_step'],
     "error: the config file failed: ValueError: variants 'paper' and "
     "'two_step' name two methods; use at most one of ('paper', 'improved', "
     "'two_step')"),
])
def test_cli_bad_flags_are_one_line(tmp_path, args, message):
  result = _run('--config=configs/default.py:tiny', f'--workdir={tmp_path}',
                *args, timeout=120)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith(message), (
      result.stderr[-2000:])
  assert 'Traceback' not in result.stderr
  assert not os.listdir(tmp_path)  # nothing written


def _fails_in_one_line(code, err, message):
  assert code == 2, err[-3000:]
  assert message in err.strip().splitlines()[-1], err[-3000:]
  assert 'Traceback' not in err


def test_cli_unknown_dataset(run_main, tmp_path, glyphs_data_dir):
  code, _, err = run_main('--config=configs/default.py:tiny',
                          f'--workdir={tmp_path}',
                          f'--config.data_dir={glyphs_data_dir}',
                          '--config.dataset=no_such_dataset')
  _fails_in_one_line(code, err, "error: unknown dataset 'no_such_dataset': "
                     'set --config.dataset')


def test_cli_batch_not_divisible_by_devices(tmp_path, glyphs_data_dir):
  result = subprocess.run(
      [sys.executable, '-m', 'dvae_jax.main',
       '--config=configs/default.py:tiny', f'--workdir={tmp_path}',
       f'--config.data_dir={glyphs_data_dir}', '--config.batch_size=8'],
      cwd=REPO, capture_output=True, text=True, timeout=120,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu',
           'JAX_NUM_CPU_DEVICES': '3'})
  _fails_in_one_line(result.returncode, result.stderr,
                     'error: config.batch_size=8 is not divisible by the 3 '
                     'devices; set --config.batch_size to a multiple of 3')


def test_cli_evaluate_on_devices_the_batch_does_not_divide(finished_run,
                                                          tmp_path):
  """--mode=evaluate trains nothing: the training batch (8) need not divide
  the 3 devices it evaluates on."""
  config, workdir, _ = finished_run
  copy = tmp_path / 'run'
  shutil.copytree(workdir, copy)
  (copy / 'eval' / 'metrics.json').unlink()
  result = subprocess.run(
      [sys.executable, '-m', 'dvae_jax.main',
       '--config=configs/default.py:tiny', f'--workdir={copy}',
       f'--config.data_dir={config.data_dir}', '--mode=evaluate'],
      cwd=REPO, capture_output=True, text=True, timeout=300,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu', 'JAX_NUM_CPU_DEVICES': '3'})
  assert result.returncode == 0, result.stderr[-3000:]
  assert (copy / 'eval' / 'metrics.json').exists()


def test_cli_unwritable_workdir(run_main, tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('a file, not a directory')
  code, _, err = run_main('--config=configs/default.py:tiny',
                          f'--workdir={blocker}/run')
  _fails_in_one_line(code, err,
                     f"error: workdir '{blocker}/run' cannot be written")


def test_cli_evaluate_without_checkpoint_is_one_line(run_main, tmp_path,
                                                     glyphs_data_dir):
  code, _, err = run_main('--config=configs/default.py:tiny',
                          f'--workdir={tmp_path}',
                          f'--config.data_dir={glyphs_data_dir}',
                          '--mode=evaluate')
  _fails_in_one_line(code, err, 'error: no checkpoints in workdir')
