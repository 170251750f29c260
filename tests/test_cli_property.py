"""Property (hypothesis): whatever config values and whatever small .npz a
user gives, the command line ends with exit 0 or 2, at most one `error:`
line and never a traceback, and a refused run changes no file of an existing
workdir.

Each draw runs `python -m dvae_jax.main` in this process (its main function):
values the config rules refuse in --mode=train (refused before anything is
built, so it costs milliseconds), the others in --mode=check, which builds
and reads the data and traces the model and a train step without compiling
(tests/test_config_rules.py and test_train.py train for real).
"""
import itertools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from configs import default
from dvae_jax import config_rules
from dvae_jax.runtime import errors

_counter = itertools.count()

INTS = st.one_of(st.integers(-2, 40), st.sampled_from(['abc', '1.5', '']))
FLOATS = st.one_of(st.floats(-1, 2), st.sampled_from(
    [float('nan'), float('inf'), 'x']))
OVERRIDES = {
    'image_size': st.one_of(st.sampled_from([8, 16, 32]), INTS),
    'batch_size': INTS,
    'num_train_steps': INTS,
    'channels': st.one_of(st.sampled_from([1, 3]), INTS),
    'test_classes': st.integers(-1, 4),
    'model.width': INTS,
    'model.s_dim': INTS,
    'model.z_dim': INTS,
    'model.disc_width': INTS,
    'model.disc_dropout': FLOATS,
    'model.dtype': st.sampled_from(['float32', 'bfloat16', 'float64', 'x']),
    'model.weight_grad_chunk': st.integers(-2, 9),
    'learning_rate': FLOATS,
    'b1': FLOATS,
    'loss.kl': FLOATS,
    'loss.adversarial': FLOATS,
    'loss.real_target': FLOATS,
    'loss.s_classifier': FLOATS,
    'adversary': st.sampled_from(['label', 'pair', 'none', 'both']),
    'resize': st.sampled_from(['resize', 'pad', 'crop']),
    'checkpoint_every_steps': INTS,
    'keep_checkpoints': INTS,
    'eval.quality_examples': INTS,
    'eval.kid_subset_size': INTS,
    'eval.grid_size': INTS,
}


@st.composite
def npz_arrays(draw):
  """A small dataset as a user might save it: a quarter of them usable, the
  others often broken in some way."""
  if draw(st.integers(0, 3)) == 0:
    classes = draw(st.integers(2, 4))
    n = classes * draw(st.integers(4, 8))
    images = np.random.default_rng(n).integers(
        0, 256, (n,) + draw(st.sampled_from([(8, 8), (12, 6), (8, 8, 3)])),
        np.uint8)
    labels = np.arange(n) % classes
    if draw(st.booleans()):
      labels = np.array([f'class {l}' for l in labels])
    return {'images': images, 'labels': labels}
  n = draw(st.integers(0, 24))
  size = draw(st.sampled_from([(4, 4), (8, 8), (12, 6)]))
  channels = draw(st.sampled_from([(), (1,), (3,), (4,), (2,)]))
  dtype = draw(st.sampled_from(['uint8', 'float32', 'int16']))
  rng = np.random.default_rng(draw(st.integers(0, 3)))
  images = rng.uniform(0, 1, (n,) + size + channels)
  if dtype == 'uint8':
    images = (images * 255).astype(np.uint8)
  else:
    images = images.astype(dtype)
  if dtype == 'float32' and n and draw(st.booleans()):
    images.flat[draw(st.integers(0, images.size - 1))] = draw(
        st.sampled_from([np.nan, np.inf, -1.0]))
  classes = draw(st.integers(1, 4))
  kind = draw(st.sampled_from(['int', 'str', 'float', 'short']))
  labels = np.arange(n) % classes
  if kind == 'str':
    labels = np.array([f'c{l}' for l in labels])
  elif kind == 'float':
    labels = labels + 0.5
  elif kind == 'short':
    labels = labels[:max(0, n - 1)]
  return {'images': images, 'labels': labels}


def _snapshot(root):
  return {os.path.relpath(os.path.join(d, f), root):
          (os.stat(os.path.join(d, f)).st_size,
           os.stat(os.path.join(d, f)).st_mtime_ns)
          for d, _, fs in os.walk(root) for f in fs}


@pytest.fixture(scope='module')
def places(tmp_path_factory):
  """An existing workdir (files of an earlier run) and a tfds data_dir."""
  root = tmp_path_factory.mktemp('property')
  workdir = root / 'run'
  (workdir / 'runs').mkdir(parents=True)
  (workdir / 'config.json').write_text(default.get_config('tiny').to_json())
  (workdir / 'runs' / '0000.json').write_text('{"start_step": 0}')
  (workdir / 'summary.json').write_text('{"step": 6}')
  return root, workdir


def _refused_by_rules(overrides) -> bool:
  config = default.get_config('tiny')
  for key, value in overrides.items():
    section, _, leaf = key.rpartition('.')
    node = config[section] if section else config
    if not isinstance(value, type(node[leaf])) and not (
        isinstance(node[leaf], float) and isinstance(value, int)):
      return False  # a flag the parser refuses: check mode shows that too
    node[leaf] = value
  try:
    config_rules.check(config)
  except errors.UserError:
    return True
  return False


@pytest.mark.timeout(300)
# About 3 s per usable draw (data built and read, the step traced), a few
# ms per refused one: 24 draws stay well under a minute.
@settings(max_examples=24, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(overrides=st.dictionaries(st.sampled_from(sorted(OVERRIDES)),
                                 st.none(), max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries(
        {k: OVERRIDES[k] for k in keys})),
       data=npz_arrays())
def test_any_input_ends_in_exit_0_or_one_error_line(run_main, places,
                                                    overrides, data):
  root, workdir = places
  npz = root / f'data{next(_counter)}.npz'
  np.savez(npz, **data)
  mode = 'train' if _refused_by_rules(overrides) else 'check'
  before = _snapshot(workdir)
  code, out, err = run_main(
      '--config=configs/default.py:tiny', f'--workdir={workdir}',
      f'--mode={mode}', f'--config.data_dir={root / "tfds"}',
      f'--config.data_path={npz}',
      *(f'--config.{k}={v}' for k, v in overrides.items()))
  lines = [line for line in err.splitlines() if line.startswith('error:')]
  event(f'--mode={mode}: exit {code}')  # pytest --hypothesis-show-statistics
  assert code in (0, 2), (code, err[-3000:])
  assert len(lines) == (1 if code == 2 else 0), err[-3000:]
  assert 'Traceback' not in err
  assert code == 2 or 'ok: a training run' in out, (mode, out, err[-2000:])
  assert _snapshot(workdir) == before
