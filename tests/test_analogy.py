"""python -m dvae_jax.analogy on the tiny run's workdir, with images a user
would have: files written here from the glyphs renderer."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dvae_jax.cli import analogy
from dvae_jax.runtime import errors
from dvae_jax.evaluation import inference
from dvae_jax.data.datasets import glyphs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _glyph_files(directory, identities, size=32, fmt='png'):
  rng = np.random.default_rng(0)
  images = glyphs.render_batch(np.asarray(identities),
                               glyphs.sample_factors(rng, len(identities)),
                               size)
  paths = []
  for i, image in enumerate(images):
    path = os.path.join(directory, f'glyph{i}_{size}.{fmt}')
    Image.fromarray(image).save(path)
    paths.append(path)
  return paths, images


@pytest.fixture(scope='module')
def run_without_data(finished_run, tmp_path_factory):
  """A copy of the tiny run's workdir whose config names a data_dir that
  does not exist: the command must not need the dataset."""
  _, workdir, _ = finished_run
  copy = str(tmp_path_factory.mktemp('copy') / 'run')
  shutil.copytree(workdir, copy)
  path = os.path.join(copy, 'config.json')
  with open(path) as f:
    config = json.load(f)
  config['data_dir'] = str(tmp_path_factory.mktemp('nothing') / 'absent')
  with open(path, 'w') as f:
    json.dump(config, f)
  return copy


def _cli(*args, timeout=300):
  return subprocess.run(
      [sys.executable, '-m', 'dvae_jax.analogy', *args], cwd=REPO,
      capture_output=True, text=True, timeout=timeout,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'})


def test_cli_writes_one_analogy(finished_run, run_without_data, tmp_path):
  (a, b), _ = _glyph_files(tmp_path, [3, 7])
  out = tmp_path / 'out' / 'c.png'
  result = _cli(f'--workdir={run_without_data}', f'--identity={a}',
                f'--pose={b}', f'--out={out}', '--scale=2')
  assert result.returncode == 0, result.stderr[-3000:]
  written = np.asarray(Image.open(out))
  assert written.shape == (64, 64, 3) and written.dtype == np.uint8

  # The same as decoding by hand with the restored model.
  loaded = inference.load_model(run_without_data)
  assert loaded.step == finished_run[2]['step']
  x = analogy.read_images([a, b], loaded.config)
  s, _, _ = loaded.model.encode(x[:1])
  _, z, _ = loaded.model.encode(x[1:])
  expected = loaded.model.decode(s, z)[0]
  np.testing.assert_array_equal(written[::2, ::2], expected)


def test_grid_form(run_without_data, tmp_path):
  paths, _ = _glyph_files(tmp_path, [1, 2, 3, 4, 5])
  out = str(tmp_path / 'grid.png')
  image = analogy.run(run_without_data, paths[:2], paths[2:], out, scale=1)
  # (2 + 1) rows and (3 + 1) columns of 32x32 cells, 1-pixel borders.
  assert image.shape == (3 * 33 + 1, 4 * 33 + 1, 3)
  assert np.asarray(Image.open(out)).shape == image.shape
  # The sources are shown: pose images on top, identity images on the left.
  source = np.asarray(Image.open(paths[2]))
  np.testing.assert_array_equal(image[1:33, 34:66], source)
  source = np.asarray(Image.open(paths[1]))
  np.testing.assert_array_equal(image[67:99, 1:33], source)


def test_other_sizes_and_formats_are_converted(run_without_data, tmp_path,
                                               caplog):
  (big,), _ = _glyph_files(tmp_path, [4], size=64, fmt='jpg')
  grey = str(tmp_path / 'grey.png')
  Image.fromarray(np.full((32, 32), 128, np.uint8)).save(grey)
  rgba = str(tmp_path / 'rgba.png')
  Image.fromarray(np.full((20, 30, 4), 200, np.uint8)).save(rgba)
  npy = str(tmp_path / 'array.npy')
  np.save(npy, np.zeros((32, 32, 3), np.uint8))
  config = inference.load_config(run_without_data)
  images = analogy.read_images([big, grey, rgba, npy], config)
  assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
  assert 'resized' in caplog.text and 'stretched' in caplog.text


@pytest.mark.parametrize('content,match', [
    (b'not an image at all', 'cannot read image'),
    (None, 'does not exist'),
])
def test_unreadable_image_is_a_user_error(run_without_data, tmp_path,
                                          content, match):
  (good,), _ = _glyph_files(tmp_path, [1])
  bad = str(tmp_path / 'bad.png')
  if content is not None:
    with open(bad, 'wb') as f:
      f.write(content)
  with pytest.raises(errors.UserError, match=match) as e:
    analogy.run(run_without_data, [good], [bad], str(tmp_path / 'o.png'))
  assert 'bad.png' in str(e.value)


@pytest.mark.parametrize('shape,dtype', [((2, 32, 32, 3), np.uint8),
                                         ((32,), np.uint8),
                                         ((32, 32, 5), np.uint8),
                                         ((32, 32, 3), np.float32)])
def test_wrong_rank_array_is_a_user_error(run_without_data, tmp_path, shape,
                                          dtype):
  (good,), _ = _glyph_files(tmp_path, [1])
  bad = str(tmp_path / 'bad.npy')
  np.save(bad, np.zeros(shape, dtype))
  with pytest.raises(errors.UserError, match='bad.npy'):
    analogy.run(run_without_data, [bad], [good], str(tmp_path / 'o.png'))


def test_workdir_without_checkpoint(run_without_data, tmp_path):
  (a,), _ = _glyph_files(tmp_path, [1])
  empty = tmp_path / 'empty'
  empty.mkdir()
  result = _cli(f'--workdir={empty}', f'--identity={a}', f'--pose={a}',
                f'--out={tmp_path / "o.png"}')
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert lines[-1].startswith('error: ') and 'config.json' in lines[-1]
  assert 'Traceback' not in result.stderr

  shutil.copy(os.path.join(run_without_data, 'config.json'), empty)
  with pytest.raises(errors.UserError, match='no checkpoints'):
    analogy.run(str(empty), [a], [a], str(tmp_path / 'o.png'))
  assert not (tmp_path / 'o.png').exists()
