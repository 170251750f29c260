"""Workdir files: writes are all-or-nothing, a full disk is a UserError, local
and non-local paths alike; what a resume compares with the saved config."""
import json
import os
import subprocess

import pytest
from etils import epath

from configs import default
from dvae_jax.data.pipeline import DATA_KEYS
from dvae_jax.runtime import errors, workdir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


# The commit each removed option's refusal names: one that still has it.
REMOVED_AT = {'model.z_mean_dead_zone': 'e5fe788',
              'loss.z_independence_floor': 'e5fe788',
              'loss.reverse_cycle': '92d12fe',
              'loss.z_classifier': '2930140',
              'loss.z_adversary': '7070a1c',
              'lr_decay_steps': '1df60bf',
              'model.s_modulation': '1fbc0b5'}


def _refusal(path, settings: str, commit: str) -> str:
  return (f'workdir {path!r} was trained with {settings}, an option removed '
          'after it lost (docs/RESULTS.md); check out '
          f'{commit} to resume or evaluate it')


def _set(saved: dict, key: str, value) -> None:
  *sections, leaf = key.split('.')
  for section in sections:
    saved = saved[section]
  saved[leaf] = value


def _saved_config():
  """(today's tiny config as a dict, it as a config.json written while every
  removed option existed, off, its settings at other values than their
  defaults)."""
  today = json.loads(default.get_config('tiny').to_json_best_effort())
  saved = json.loads(json.dumps(today))
  for key, (off, _) in workdir.REMOVED_KEYS.items():
    _set(saved, key, off)
  _set(saved, 'loss.z_classifier_input', 'standardized_mean')
  _set(saved, 'z_adversary_steps', 3)
  return today, saved


def _loaded(saved, path) -> dict:
  """saved, written as path's config.json, as evaluation loads it."""
  from dvae_jax.evaluation import inference
  workdir.write_json(str(path / workdir.CONFIG), saved)
  return json.loads(inference.load_config(str(path)).to_json_best_effort())


@pytest.mark.parametrize('key', sorted(workdir.REMOVED_KEYS))
def test_a_config_with_a_removed_option_loads_only_if_it_was_off(tmp_path,
                                                                  key):
  """The options of REMOVED_KEYS lost (docs/RESULTS.md) and are gone: a
  config.json written while they existed, at their off-values, resumes and
  loads for evaluation without them; one that used any is refused, naming
  it and the commit that still has it."""
  from dvae_jax.evaluation import inference
  config = default.get_config('tiny')
  today, saved = _saved_config()
  assert _loaded(saved, tmp_path) == today
  workdir.check_resumable(config, str(tmp_path), DATA_KEYS)

  _set(saved, key, 1.0)
  workdir.write_json(str(tmp_path / workdir.CONFIG), saved)
  message = _refusal(str(tmp_path), f'{key}=1.0', REMOVED_AT[key])
  for load in (lambda: workdir.check_resumable(config, str(tmp_path),
                                               DATA_KEYS),
               lambda: inference.load_config(str(tmp_path)),
               lambda: inference.load_model(str(tmp_path), config)):
    with pytest.raises(errors.UserError) as raised:
      load()
    assert str(raised.value) == message


@pytest.mark.parametrize('z_input', ['sample', 'mean', 'standardized_mean'])
def test_only_the_z_classifiers_weight_decides_a_refusal(tmp_path, z_input):
  """loss.z_classifier_input did nothing at loss.z_classifier=0: such a
  config.json loads whatever input it names; at 0.1 it is refused, naming
  2930140, the commit before the z classifier was removed."""
  today, saved = _saved_config()
  _set(saved, 'loss.z_classifier_input', z_input)
  assert _loaded(saved, tmp_path) == today
  _set(saved, 'loss.z_classifier', 0.1)
  with pytest.raises(errors.UserError) as raised:
    _loaded(saved, tmp_path)
  assert str(raised.value) == _refusal(str(tmp_path), 'loss.z_classifier=0.1',
                                       '2930140')


@pytest.mark.parametrize('used,settings,commit', [
    ((('model.z_mean_dead_zone', 0.5), ('loss.z_independence_floor', 0.1)),
     'model.z_mean_dead_zone=0.5 (and loss.z_independence_floor=0.1)',
     'e5fe788'),
    ((('loss.z_independence_floor', 0.1), ('loss.z_classifier', 0.1)),
     'loss.z_independence_floor=0.1 (and loss.z_classifier=0.1)',
     'a commit that has them all (e5fe788 has loss.z_independence_floor, '
     '2930140 has loss.z_classifier)'),
])
def test_a_run_with_several_removed_options_names_a_commit_for_each(
    tmp_path, used, settings, commit):
  """One commit when they share it, else which commit has which."""
  _, saved = _saved_config()
  for key, value in used:
    _set(saved, key, value)
  with pytest.raises(errors.UserError) as raised:
    _loaded(saved, tmp_path)
  assert str(raised.value) == _refusal(str(tmp_path), settings, commit)


def test_each_removed_option_is_at_the_commit_its_refusal_names():
  """Its default config there sets it to its off-value (and its settings),
  where the repository's history is at hand."""
  assert set(REMOVED_AT) == set(workdir.REMOVED_KEYS)
  options = {**{k: k for k in workdir.REMOVED_KEYS},
             **workdir.REMOVED_SETTINGS}
  for key, option in options.items():
    off, commit = workdir.REMOVED_KEYS[option]
    shown = subprocess.run(
        ['git', '-C', REPO, 'show', f'{commit}:configs/default.py'],
        capture_output=True, text=True, check=False)
    if shown.returncode:
      pytest.skip(f'no commit {commit} here: {shown.stderr.strip()}')
    assert f'config.{key} = ' in shown.stdout
    if key == option:
      assert f'config.{key} = {off!r}\n' in shown.stdout
