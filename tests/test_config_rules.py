"""The config rules: one table, checked before anything is built; a bad value
is one `error:` line naming the key, the value and what is allowed (exit 2),
and nothing is written to the workdir."""
import importlib
import os

import pytest

from configs import default
from dvae_jax import config_rules
from dvae_jax.model import networks
from dvae_jax.runtime import errors

CONFIGS = ('default', 'mnist', 'norb', 'sprites', 'yaleb')


def _keys(config, prefix=''):
  for key, value in config.items():
    if hasattr(value, 'items'):
      yield from _keys(value, f'{prefix}{key}.')
    else:
      yield f'{prefix}{key}'


@pytest.mark.parametrize('name', CONFIGS)
@pytest.mark.parametrize('variant', ['', 'tiny', 'improved,long',
                                     'two_step,tiny', 'two_step,long'])
def test_every_key_of_the_shipped_configs_has_a_rule_and_passes(name, variant):
  config = importlib.import_module(f'configs.{name}').get_config(variant)
  ruled = {rule.key for rule in config_rules.RULES}
  assert set(_keys(config)) <= ruled, set(_keys(config)) - ruled
  config_rules.check(config)


def test_every_rule_names_a_key_of_the_default_config():
  keys = set(_keys(default.get_config()))
  assert {rule.key for rule in config_rules.RULES} <= keys


def test_image_multiple_is_what_the_networks_need():
  assert config_rules.IMAGE_MULTIPLE == 2**networks.NUM_DOWNSAMPLINGS


@pytest.mark.parametrize('key,value,allowed', [
    ('image_size', 30, 'a multiple of 8 that is at least 8'),
    ('image_size', 0, 'a multiple of 8 that is at least 8'),
    ('batch_size', 0, 'an integer >= 1'),
    ('num_train_steps', -5, 'an integer >= 1'),
    ('model.width', 0, 'an integer >= 1'),
    ('model.z_dim', -1, 'an integer >= 1'),
    ('learning_rate', 0.0, 'a finite number > 0'),
    ('learning_rate', float('nan'), 'a finite number > 0'),
    ('loss.kl', -0.1, 'a finite number >= 0'),
    ('loss.real_target', 0.0, 'a finite number in (0, 1]'),
    ('model.disc_dropout', 1.0, 'a finite number in [0, 1)'),
    ('b1', 1.0, 'a finite number in [0, 1)'),
    ('adversary', 'bogus', "one of ('label', 'pair', 'none')"),
    ('resize', 'crop', "one of ('resize', 'pad')"),
    ('model.dtype', 'float8', "one of ('float32', 'bfloat16', 'float16')"),
    ('model.weight_grad_chunk', -1, 'None (automatic), 0 (whole batch)'),
    ('checkpoint_every_steps', 0, 'an integer >= 1'),
    ('eval.kid_subset_size', 201, 'at most eval.quality_examples'),
    ('dataset', '', 'a non-empty string'),
    ('loss.s_classifier', -1.0, 'a finite number >= 0'),
    ('loss.z_independence', float('inf'), 'a finite number >= 0'),
    # loss.s_classifier is 0 here: a separate s encoder would learn nothing.
    ('model.separate_s_encoder', True,
     'True or False, and True only with loss.s_classifier > 0'),
    ('s_pretrain_steps', 1, 'an integer >= 0, below num_train_steps, and 0 '
     'unless model.separate_s_encoder is True'),
])
def test_a_bad_value_names_key_value_and_what_is_allowed(key, value, allowed):
  config = default.get_config('tiny')  # quality_examples=200
  section, _, leaf = key.rpartition('.')
  (config[section] if section else config)[leaf] = value
  with pytest.raises(errors.UserError) as raised:
    config_rules.check(config)
  assert str(raised.value).startswith(f'config.{key}={value!r} is not '
                                      f'{allowed}'), raised.value
  assert f'set --config.{key} to' in str(raised.value)


@pytest.mark.parametrize('steps,ok', [(0, True), (5, True), (6, False),
                                       (-1, False)])
def test_s_pretrain_steps_leave_a_second_stage(steps, ok):
  config = default.get_config('tiny')  # num_train_steps=6
  config.loss.s_classifier = 1.0
  config.model.separate_s_encoder = True
  config.s_pretrain_steps = steps
  if ok:
    config_rules.check(config)
  else:
    with pytest.raises(errors.UserError, match='s_pretrain_steps'):
      config_rules.check(config)


def _snapshot(root):
  return {os.path.relpath(os.path.join(d, f), root):
          os.stat(os.path.join(d, f)).st_mtime_ns
          for d, _, fs in os.walk(root) for f in fs}


@pytest.mark.parametrize('override,message', [
    ('--config.image_size=30', 'error: config.image_size=30 is not a '
     'multiple of 8 that is at least 8; set --config.image_size to'),
    ('--config.batch_size=0', 'error: config.batch_size=0 is not an integer '
     '>= 1; set --config.batch_size to'),
    ('--config.num_train_steps=-5', 'error: config.num_train_steps=-5 is not '
     'an integer >= 1; set --config.num_train_steps to'),
])
@pytest.mark.parametrize('mode', ['train', 'evaluate', 'check'])
def test_cli_refuses_before_anything_is_built(run_main, tmp_path, override,
                                              message, mode):
  """The cases of issue 17 (a reshape traceback, a TensorFlow traceback, and
  exit 0 without training), through the command line's main."""
  workdir = tmp_path / 'run'
  (workdir / 'runs').mkdir(parents=True)
  (workdir / 'runs' / '0000.json').write_text('{}')
  before = _snapshot(workdir)
  code, _, err = run_main('--config=configs/default.py:tiny',
                          f'--workdir={workdir}', f'--mode={mode}',
                          f'--config.data_dir={tmp_path / "tfds"}', override)
  assert code == 2, err[-2000:]
  errors_ = [line for line in err.splitlines() if line.startswith('error:')]
  assert len(errors_) == 1 and errors_[0].startswith(message), err[-2000:]
  assert 'Traceback' not in err
  assert _snapshot(workdir) == before
  assert not (tmp_path / 'tfds').exists()  # no data was built
