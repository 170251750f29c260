"""Workdir files: writes are all-or-nothing, a full disk is a UserError, local
and non-local paths alike; what a resume compares with the saved config."""
import json
import os

import pytest
from etils import epath

from configs import default
from dvae_jax.data.pipeline import DATA_KEYS
from dvae_jax.runtime import errors, workdir


def test_failed_write_keeps_the_old_file(tmp_path):
  path = str(tmp_path / 'summary.json')
  workdir.write_json(path, {'step': 1})
  # A full disk, for real: the temporary file the write goes through is
  # /dev/full, whose writes fail with ENOSPC.
  os.symlink('/dev/full', f'{path}.tmp{os.getpid()}')
  with pytest.raises(errors.UserError, match=r'cannot write .*summary.json '
                     r'\(No space left on device\): free space'):
    workdir.write_json(path, {'step': 2})
  assert workdir.read_json(path) == {'step': 1}
  assert os.listdir(tmp_path) == ['summary.json']  # no temporary file left


@pytest.mark.parametrize('where', ['local', 'ram'])
def test_writes_and_reads_local_and_remote_paths(where, tmp_path, ram_workdir):
  """The same calls on a local directory and on a non-local file system
  (conftest.RamPath, reached through epath only, as gs:// is)."""
  root = str(tmp_path) if where == 'local' else ram_workdir
  out = f'{root}/{workdir.EVAL}'  # parent directories are created
  workdir.write_json(f'{out}/{workdir.METRICS}', {'b': 1, 'a': [0.5]},
                     sort_keys=True)
  workdir.write_text(f'{out}/report.md', 'Ä report\n')
  workdir.write_bytes(f'{out}/x.png', b'\x89PNG')
  workdir.write_bytes(f'{out}/x.png', b'again')  # replaces the old file
  assert workdir.read_json(f'{out}/{workdir.METRICS}') == {'a': [0.5], 'b': 1}
  assert epath.Path(out, workdir.METRICS).read_text().startswith('{\n  "a"')
  assert epath.Path(out, 'report.md').read_text() == 'Ä report\n'
  assert epath.Path(out, 'x.png').read_bytes() == b'again'
  assert sorted(p.name for p in epath.Path(out).iterdir()) == [
      workdir.METRICS, 'report.md', 'x.png']
  if where == 'ram':
    assert not os.path.exists(out)  # nothing went to a local ram:/ folder


def test_resume_check_ignores_how_the_step_is_scheduled(tmp_path):
  """weight_grad_chunk changes no parameter: a run may resume with another
  (e.g. on more devices); model.width still refuses."""
  config = default.get_config('tiny')
  workdir.write_json(str(tmp_path / workdir.CONFIG),
                     json.loads(config.to_json_best_effort()))
  config.model.weight_grad_chunk = 16
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)
  config.model.width = 5
  with pytest.raises(errors.UserError, match='model.width=4'):
    workdir.check_resumable(config, str(tmp_path), DATA_KEYS)


def test_resume_on_other_data_is_refused_naming_the_key(tmp_path):
  """Another .npz or another number of unseen classes is other data (a
  workdir resumed on b.npz after training on a.npz trained on b)."""
  config = default.get_config('tiny')
  config.data_path = '/data/a.npz'
  workdir.write_json(str(tmp_path / workdir.CONFIG),
                     json.loads(config.to_json_best_effort()))
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)
  config.data_path = '/data/b.npz'
  with pytest.raises(errors.UserError, match="trained with data_path="
                     "'/data/a.npz', this config has '/data/b.npz'"):
    workdir.check_resumable(config, str(tmp_path), DATA_KEYS)
  config.data_path = '/data/a.npz'
  config.test_classes = 3
  with pytest.raises(errors.UserError, match='test_classes=0, this config '
                     'has 3'):
    workdir.check_resumable(config, str(tmp_path), DATA_KEYS)


def test_a_config_written_before_the_added_keys_loads_and_resumes(tmp_path):
  """A config.json from before loss.s_classifier and loss.z_independence:
  it loads with the values that reproduce its training and resumes under
  today's default config. A loss weight is no key of the state, not even
  one that adds a network: the checkpoints' shapes refuse that
  (tests/test_train.py)."""
  from dvae_jax.evaluation import inference
  config = default.get_config('tiny')
  saved = json.loads(config.to_json_best_effort())
  del saved['loss']['s_classifier'], saved['loss']['z_independence']
  del saved['data_path'], saved['test_classes']
  workdir.write_json(str(tmp_path / workdir.CONFIG), saved)
  loaded = inference.load_config(str(tmp_path))
  assert loaded.loss.s_classifier == 0 and loaded.loss.z_independence == 0
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)
  config.loss.z_independence = 1.0  # a loss weight: the state is the same
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)
  config.loss.s_classifier = 1.0
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)


@pytest.mark.parametrize('key', sorted(workdir.REMOVED_KEYS))
def test_a_config_with_a_removed_option_loads_only_if_it_was_off(tmp_path,
                                                                  key):
  """model.z_mean_dead_zone and loss.z_independence_floor lost
  (docs/RESULTS.md) and are gone: a config.json written while they existed,
  at 0 (off), resumes and loads for evaluation without them; one that used
  either is refused, naming it and the commit that still has it."""
  from dvae_jax.evaluation import inference
  config = default.get_config('tiny')
  saved = json.loads(config.to_json_best_effort())
  saved['model']['z_mean_dead_zone'] = 0.0
  saved['loss']['z_independence_floor'] = 0.0
  path = str(tmp_path / workdir.CONFIG)
  workdir.write_json(path, saved)
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)
  loaded = inference.load_config(str(tmp_path))
  assert 'z_mean_dead_zone' not in loaded.model
  assert 'z_independence_floor' not in loaded.loss
  assert json.loads(loaded.to_json_best_effort()) == json.loads(
      config.to_json_best_effort())

  section, leaf = key.split('.')
  saved[section][leaf] = 1.0
  workdir.write_json(path, saved)
  message = (f"workdir {str(tmp_path)!r} was trained with {key}=1.0, an "
             'option removed after it lost (docs/RESULTS.md); check out '
             'e5fe788 to resume or evaluate it')
  for load in (lambda: workdir.check_resumable(config, str(tmp_path),
                                               DATA_KEYS),
               lambda: inference.load_config(str(tmp_path)),
               lambda: inference.load_model(str(tmp_path), config)):
    with pytest.raises(errors.UserError) as raised:
      load()
    assert str(raised.value) == message
