"""A real end-to-end run of the tiny config on the built-in data: outputs,
resume, reproducibility, what the workdir records, and refusing a workdir
made with another config."""
import functools
import json
import os
import shutil

import jax
import numpy as np
import pytest
from PIL import Image

from conftest import assert_same_params
from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.runtime import checkpointing, errors, workdir as workdir_lib
from dvae_jax.training import loop as train, preflight
from dvae_jax.training import state as state_lib


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


def _image_events(workdir):
  """[(step, tag)] of every image written to workdir's TensorBoard events."""
  import tensorflow as tf
  out = []
  for name in sorted(os.listdir(workdir)):
    if name.startswith('events.out.tfevents'):
      for event in tf.compat.v1.train.summary_iterator(
          os.path.join(workdir, name)):
        out += [(event.step, v.tag) for v in event.summary.value
                if v.metadata.plugin_data.plugin_name == 'images']
  return out


def test_figures_are_drawn_once_per_step(finished_run):
  config, workdir, _ = finished_run
  events = _image_events(workdir)
  assert len(events) == len(set(events)), events
  last = config.num_train_steps
  assert last % config.image_every_steps == 0  # the case drawn twice before
  grids = sorted(step for step, tag in events if tag == 'swap_grid')
  assert grids == list(range(config.image_every_steps, last + 1,
                             config.image_every_steps))
  assert (last, 'eval/swap_grid') in events


def test_run_records_config_and_versions(finished_run):
  config, workdir, _ = finished_run
  with open(os.path.join(workdir, 'runs', '0000.json')) as f:
    record = json.load(f)
  assert record['start_step'] == 0
  assert record['config']['seed'] == config.seed
  for package in ('python', 'jax', 'flax', 'optax', 'orbax-checkpoint',
                  'tensorflow-datasets', 'dvae_jax'):
    assert record['versions'][package], package


def test_same_seed_gives_same_steps_and_resume_continues_where_it_stopped(
    finished_run, judge_dir, tmp_path, caplog):
  """A run of the same config and seed, stopped at step 3 and resumed, ends
  where the unbroken run did, bit for bit and in every summary number."""
  config, full_workdir, full_summary = finished_run
  workdir = str(tmp_path)
  config = config.copy_and_resolve_references()
  config.num_train_steps = 3
  # Nothing compares this start's evaluation: one cheap family of it (the
  # eval keys are no part of what a resume must match).
  every_family, config.eval.metrics = config.eval.metrics, ('unseen',)
  train.train_and_evaluate(config, workdir)
  # Same config, same seed, same data order: the first 3 steps again.
  assert_same_params(workdir, 3, full_workdir, 3)
  config.num_train_steps = 6
  config.eval.metrics = every_family
  config.eval.classifier_dir = judge_dir  # the unbroken run's judge, loaded
  with caplog.at_level('INFO', logger='absl'):
    summary = train.train_and_evaluate(config, workdir)
  assert 'Resuming from the checkpoint of step 3' in caplog.text
  assert summary == full_summary
  assert_same_params(workdir, 6, full_workdir, 6)
  # config.json still holds the first start's config; runs/ holds both.
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['num_train_steps'] == 3
  assert sorted(os.listdir(os.path.join(workdir, 'runs'))) == [
      '0000.json', '0001.json']


def test_corrupt_latest_checkpoint_resumes_from_older(finished_run, tmp_path,
                                                      caplog):
  config, full_workdir, full_summary = finished_run
  workdir = str(tmp_path / 'w')
  shutil.copytree(full_workdir, workdir)
  bad = os.path.join(checkpointing.checkpoint_dir(workdir), '6')
  with open(os.path.join(bad, 'default', '_METADATA'), 'w') as f:
    f.write('garbage')
  with caplog.at_level('INFO', logger='absl'):
    summary = train.train_and_evaluate(config, workdir)
  assert f'Checkpoint {bad} cannot be restored' in caplog.text
  assert 'Resuming from the checkpoint of step 3' in caplog.text
  assert summary == full_summary  # retrained 4..6 exactly
  assert os.path.isdir(bad)  # deleted nothing


def _workdir_files(workdir):
  """{path: mtime} of every file in workdir: a refused start changes none."""
  return {os.path.join(d, f): os.path.getmtime(os.path.join(d, f))
          for d, _, files in os.walk(workdir) for f in files}


# A network the checkpoints lack: their shapes say it (config.json has no
# key for it), before anything is restored or written.
_NO_ARRAY = (r'the checkpoints in .* do not fit this config: step {} has no '
             r'{}, which this config needs with shape \(\d+,\)')


@pytest.mark.parametrize('key,value,message', [
    ('model.width', 8, 'model.width=4, this config has 8'),
    ('dataset', 'dvae_glyphs/res64',
     "dataset='dvae_glyphs/res32', this config has 'dvae_glyphs/res64'"),
    ('loss.s_classifier', 1.0,
     _NO_ARRAY.format(6, 'gen_params/s_classifier/bias')),
])
def test_resume_with_other_config_is_refused(finished_run, key, value, message):
  config, workdir, _ = finished_run
  config = config.copy_and_resolve_references()
  section, _, name = key.rpartition('.')
  setattr(config[section] if section else config, name, value)
  if key == 'dataset':
    config.image_size = 32  # the check comes before any data is read
  before = _workdir_files(workdir)
  # Another architecture goes through the trainer; another dataset is
  # checked on its own (building it would take a while).
  check = (functools.partial(workdir_lib.check_resumable,
                             data_keys=input_pipeline.DATA_KEYS)
           if key == 'dataset' else train.train_and_evaluate)
  with pytest.raises(errors.UserError, match=message + '; use a new --workdir'
                     ) as caught:
    check(config, workdir)
  assert '\n' not in str(caught.value)
  if key.startswith('loss.'):  # --mode=check refuses it alike
    with pytest.raises(errors.UserError, match=message):
      preflight.check_run(config, workdir)
  assert _workdir_files(workdir) == before


def test_resume_without_a_network_the_checkpoints_hold_is_refused(
    tiny_config, tmp_path):
  """A workdir whose checkpoints hold a network (the s classifier, its state
  saved as the trainer saves it), resumed by a config without it."""
  config = tiny_config
  with_network = config.copy_and_resolve_references()
  with_network.loss.s_classifier = 1.0
  workdir = str(tmp_path)
  setup = state_lib.Setup.create(
      with_network, input_pipeline.Data(config, prepare=False).num_classes)
  store = checkpointing.Checkpoints(workdir)
  store.save(3, setup.init())
  store.wait()
  workdir_lib.record_run(with_network, workdir, 0)
  before = _workdir_files(workdir)
  message = (r'the checkpoints in .* do not fit this config: step 3 has '
             r'gen_params/s_classifier/bias of shape \(\d+,\), which this '
             'config does not have; use a new --workdir or the config the '
             'checkpoints were made with$')
  with pytest.raises(errors.UserError, match=message) as caught:
    train.train_and_evaluate(config, workdir)
  assert '\n' not in str(caught.value)
  with pytest.raises(errors.UserError, match=message):
    preflight.check_run(config, workdir)
  assert _workdir_files(workdir) == before
  # The config it was made with passes the same checks.
  assert 'would start at step 3' in preflight.check_run(with_network, workdir)


def test_resume_on_another_npz_is_refused(finished_run, tmp_path):
  """The trainer itself refuses: it resumed a workdir on other data before."""
  config, workdir, _ = finished_run
  config = config.copy_and_resolve_references()
  rng = np.random.default_rng(0)
  np.savez(tmp_path / 'b.npz', labels=np.arange(60) % 5,
           images=rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8))
  config.data_path = str(tmp_path / 'b.npz')
  config.data_dir = str(tmp_path / 'tfds')
  before = _workdir_files(workdir)
  with pytest.raises(errors.UserError, match="trained with data_path=None, "
                     f"this config has '{config.data_path}'"):
    train.train_and_evaluate(config, workdir)
  assert _workdir_files(workdir) == before


def test_unwritable_workdir_is_a_user_error(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  with pytest.raises(errors.UserError, match='cannot be written'):
    workdir_lib.check_writable(str(blocker / 'workdir'))


def test_other_architecture_without_config_json_names_a_shape(finished_run,
                                                              tmp_path):
  """Without config.json to compare with, the checkpoint's shapes say it."""
  config, full_workdir, _ = finished_run
  workdir = str(tmp_path / 'w')
  shutil.copytree(full_workdir, workdir)
  os.remove(os.path.join(workdir, 'config.json'))
  config = config.copy_and_resolve_references()
  config.model.width = 8
  with pytest.raises(errors.UserError, match=r'the checkpoints in .* do not '
                     r'fit this config: step 6 has .* of shape .*, this '
                     r'config needs .*; use a new --workdir'):
    train.train_and_evaluate(config, workdir)
  assert checkpointing.make_manager(workdir, 10, read_only=True).all_steps() == [
      3, 6]


def test_two_step_run_keeps_s_fixed_in_its_second_stage_across_a_resume(
    glyphs_data_dir, tmp_path):
  """`:two_step,tiny` (stage 1: the first 2 updates), stopped at step 3 and
  resumed to 6: s's encoder and classifier at step 6 are those of step 3
  (the stage lives in the checkpointed optimizer state: a restart that
  counted it again would train them at steps 4 and 5), the rest moves."""
  from configs import default
  from conftest import restore_params
  config = default.get_config('two_step,tiny')
  config.data_dir = glyphs_data_dir
  config.eval.metrics = ('unseen',)  # reads s and z of unseen identities
  config.num_train_steps = 3
  workdir = str(tmp_path)
  train.train_and_evaluate(config, workdir)
  config.num_train_steps = 6
  summary = train.train_and_evaluate(config, workdir)
  assert summary['step'] == 6
  (at_3,), (at_6,) = (restore_params(workdir, step, ('gen_params',))
                      for step in (3, 6))
  moved = jax.tree.map(lambda a, b: not np.array_equal(a, b), at_3, at_6)
  stage = state_lib.stage_labels(at_3)
  for (path, leaf_moved), part in zip(
      jax.tree_util.tree_leaves_with_path(moved), jax.tree.leaves(stage)):
    assert leaf_moved == (part == 'rest'), path
