"""A real end-to-end run of the tiny config on the built-in data, and resume."""
import json
import os

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from PIL import Image

from dvae_jax import checkpointing, errors, train


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory, glyphs_data_dir):
  from configs import default
  config = default.get_config('tiny')
  config.data_dir = glyphs_data_dir
  workdir = str(tmp_path_factory.mktemp('run'))
  summary = train.train_and_evaluate(config, workdir)
  return config, workdir, summary


def _restore_params(workdir, step):
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  restored = manager.restore(step, args=ocp.args.StandardRestore())
  return restored['gen_params'], restored['adv_params']


def test_run_writes_checkpoints_summary_grid_and_logs(finished_run):
  config, workdir, summary = finished_run
  with open(os.path.join(workdir, 'summary.json')) as f:
    assert json.load(f) == summary
  assert summary['step'] == config.num_train_steps
  for key in ('s_probe_heldout', 'z_probe_heldout', 'probe_chance'):
    assert 0.0 <= summary[key] <= 1.0
  assert summary['probe_chance'] == pytest.approx(1 / 200, abs=0.01)
  assert 0 < summary['test_reconstruction_mse'] < 4  # images in [-1, 1]
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  assert manager.all_steps() == [3, 6]  # every 3 steps, keep 3
  grid = np.asarray(Image.open(os.path.join(workdir, 'swap_grid.png')))
  n = config.eval.grid_size + 1  # plus the row and column of sources
  assert grid.shape == (3 * (n * 33 + 1), 3 * (n * 33 + 1), 3)
  assert any(f.startswith('events.out.tfevents') for f in os.listdir(workdir))
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['model']['width'] == config.model.width


def test_resume_continues_where_it_stopped(finished_run, tmp_path, caplog):
  config, full_workdir, _ = finished_run
  workdir = str(tmp_path)
  config = config.copy_and_resolve_references()
  config.num_train_steps = 3
  train.train_and_evaluate(config, workdir)
  config.num_train_steps = 6
  with caplog.at_level('INFO'):
    summary = train.train_and_evaluate(config, workdir)
  assert 'Resuming from the checkpoint of step 3' in caplog.text
  assert summary['step'] == 6
  # Same seed, same data order: the resumed run ends where the unbroken one did.
  resumed, full = _restore_params(workdir, 6), _restore_params(full_workdir, 6)
  jax.tree.map(np.testing.assert_allclose, resumed, full)


def test_unwritable_workdir_is_a_user_error(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  with pytest.raises(errors.UserError, match='cannot be written'):
    train.check_workdir(str(blocker / 'workdir'))
