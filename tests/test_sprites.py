"""2D Sprites builder, from small files in the archive's real format."""
import logging
import os
import tarfile

import h5py
import numpy as np
import pytest
import requests
import scipy.io
import tensorflow_datasets as tfds

from configs import sprites as sprites_config
from dvae_jax.runtime import errors
from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.training import loop as train
from dvae_jax.data.datasets import sprites

FRAMES = 2  # per animation (the real data has 6..13)
# 1-based character numbers, as in sprites_splits.mat; as in a partial copy
# of the archive, only some have files: no validation character, not all
# training ones.
TRAIN, VAL, TEST = [1, 2, 4], [], [5, 6]  # with files
LISTED = {'trainidx': TRAIN + [7, 8], 'validx': [3, 9], 'testidx': TEST}
N_ANIM = 21  # as in the real files; the 21st is not used


def frame(character, animation, t):
  """A (60, 60, 3) float image in [0, 1] that encodes who and when."""
  img = np.full((60, 60, 3), 0.1 * (character % 10))
  img[animation, t, 0] = 1.0  # row = animation, column = frame
  img[5:20, 40:50, character % 3] = 0.9
  return img


def write_character(path, character):
  """sprites_<i>.mat as MATLAB v7.3 writes it: cell arrays are object
  references into #refs#, arrays are stored transposed (column-major)."""
  with h5py.File(path, 'w', userblock_size=512) as f:
    refs = f.create_group('#refs#')
    for var in ('sprites', 'masks'):
      cells = np.empty((N_ANIM, 1), dtype=h5py.ref_dtype)
      for a in range(N_ANIM):
        imgs = [frame(character, a, t) for t in range(FRAMES)]
        if var == 'masks':
          imgs = [im[..., :1] > 0.5 for im in imgs]
        cols = np.stack([im.reshape(-1, order='F') for im in imgs])
        ds = refs.create_dataset(f'{var}{a}', data=cols.astype(np.float64))
        ds.attrs['MATLAB_class'] = np.bytes_('double')
        cells[a, 0] = ds.ref
      f.create_dataset(var, data=cells).attrs['MATLAB_class'] = np.bytes_('cell')
    labels = f.create_dataset(
        'labels', data=(np.arange(7, dtype=np.float64) + character)[:, None])
    labels.attrs['MATLAB_class'] = np.bytes_('double')


def write_data(data, characters, listed):
  """data/sprites/: sprites_<n-1>.mat of each character n, and the split file
  (MATLAB v5, (1, k) uint16 rows as in the real one) listing `listed`."""
  os.makedirs(data)
  for c in characters:
    write_character(data / f'sprites_{c - 1}.mat', c)
  scipy.io.savemat(data / 'sprites_splits.mat', {
      k: np.array([v], np.uint16).reshape(1, -1) for k, v in listed.items()})


def write_archive(root):
  """nips2015-analogy-data.tar.gz with data/sprites/ inside."""
  write_data(root / 'src' / 'data' / 'sprites', TRAIN + VAL + TEST, LISTED)
  manual = root / 'manual'
  os.makedirs(manual)
  with tarfile.open(manual / sprites.ARCHIVE, 'w:gz') as tar:
    tar.add(root / 'src' / 'data', arcname='data')
  return manual


@pytest.fixture(scope='module')
def built(tmp_path_factory):
  root = tmp_path_factory.mktemp('sprites')
  manual = write_archive(root)
  config = sprites_config.get_config('tiny')
  config.data_dir = str(root / 'tfds')
  config.manual_dir = str(manual)
  builder = input_pipeline.get_builder(config)
  data = {s: tfds.as_numpy(builder.as_dataset(split=s, batch_size=-1,
                                              shuffle_files=False))
          for s in builder.info.splits}
  return config, builder, data


def test_splits_are_by_character(built):
  _, builder, data = built
  per_char = 20 * FRAMES
  held = int(per_char * 0.1)
  # Built from the characters with files; 'validation' has none: left out.
  assert {k: v.num_examples for k, v in builder.info.splits.items()} == {
      'train': 3 * (per_char - held), 'heldout': 3 * held,
      'test': 2 * per_char}
  zero_based = lambda ids: {i - 1 for i in ids}
  assert set(data['train']['label']) == zero_based(TRAIN)
  assert set(data['heldout']['label']) == zero_based(TRAIN)
  assert set(data['test']['label']) == zero_based(TEST)


def test_missing_characters_are_counted_per_split_in_one_line(caplog):
  by_split = {'train': np.array([0, 1, 6]), 'validation': np.array([2, 8]),
              'test': np.array([4])}
  files = {0: 'a', 1: 'b', 4: 'c', 5: 'unlisted'}
  caplog.set_level(logging.INFO, logger='absl')
  present = sprites.present_characters(by_split, files, '/d')
  assert present == {'train': [0, 1], 'validation': [], 'test': [4]}
  lines = [r.getMessage() for r in caplog.records]
  assert lines == [
      'dvae_sprites: 3 of the 6 characters of sprites_splits.mat have a file '
      'in /d; missing: train 1 of 3, validation 2 of 2 (split left out), '
      'test 0 of 1']


@pytest.mark.parametrize('empty', ['train', 'test'])
def test_an_empty_split_is_one_line_naming_it(tmp_path, empty):
  listed = dict(LISTED, **{f'{empty}idx': [9, 10]})
  write_data(tmp_path / 'manual' / 'data' / 'sprites', TRAIN + TEST, listed)
  config = sprites_config.get_config('tiny')
  config.data_dir = str(tmp_path / 'tfds')
  config.manual_dir = str(tmp_path / 'manual')
  with pytest.raises(errors.UserError) as e:
    input_pipeline.get_builder(config)
  msg = str(e.value)
  assert '\n' not in msg
  assert f"split {empty!r} is empty" in msg and 'sprites_8.mat' in msg
  assert str(tmp_path / 'manual' / 'data' / 'sprites') in msg
  assert sprites.ARCHIVE in msg


def test_frames_and_features_are_read_in_the_real_layout(built):
  data = built[2]['test']
  for i in range(len(data['label'])):
    c = data['label'][i] + 1
    a = 4 * data['action'][i] + data['viewpoint'][i]
    t = data['frame'][i]
    expected = np.round(frame(c, a, t) * 255).astype(np.uint8)
    np.testing.assert_array_equal(data['image'][i], expected)
    np.testing.assert_array_equal(data['attributes'][i], np.arange(7) + c)
  assert set(data['action']) == set(range(5))
  assert set(data['viewpoint']) == set(range(4))
  assert set(data['frame']) == set(range(FRAMES))


def test_factors_reach_the_pipeline(built):
  config, builder, _ = built
  info = input_pipeline.dataset_info(config, builder)
  assert info.factor_names == ('action', 'viewpoint', 'frame')
  assert info.num_classes == sprites.NUM_CHARACTERS
  split = input_pipeline.load_split(config, builder, 'test', shard=False)
  assert split.images.shape == (2 * 20 * FRAMES, 32, 32, 3)
  assert split.factors.shape == (2 * 20 * FRAMES, 3)


def test_trains_a_few_steps(built, tmp_path):
  config = built[0].copy_and_resolve_references()
  # The default method, :two_step: 2 steps of each stage.
  assert config.s_pretrain_steps == 2
  config.num_train_steps = 4
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert summary['step'] == 4 and summary['num_identities'] == len(TRAIN)


def test_missing_and_offline_is_one_clear_error(tmp_path, monkeypatch):
  def offline(*args, **kwargs):
    raise requests.exceptions.ConnectionError('network blocked by the test')
  monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send', offline)
  config = sprites_config.get_config('tiny')
  config.data_dir = str(tmp_path / 'tfds')
  with pytest.raises(errors.UserError) as e:
    input_pipeline.get_builder(config)
  msg = str(e.value)
  assert sprites.ARCHIVE in msg and 'sprites_splits.mat' in msg
  assert str(tmp_path / 'tfds' / 'downloads' / 'manual') in msg
  assert 'ConnectionError' in msg
