"""Your own images: a folder of class sub-folders and an .npz, as tfds datasets."""
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from configs import default
from dvae_jax.runtime import errors
from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.training import loop as train
from dvae_jax.data.datasets import folder

CLASSES = ('cat', 'dog', 'emu', 'fox')
PER_CLASS = 12


def _write_folder(root, classes=CLASSES, per_class=PER_CLASS):
  """Class sub-folders of small images in mixed formats, sizes and modes."""
  rng = np.random.default_rng(0)
  for c, name in enumerate(classes):
    os.makedirs(root / name)
    for i in range(per_class):
      size = (20 + i % 3 * 6, 24)
      pixels = rng.integers(0, 256, size[::-1] + (3,), dtype=np.uint8)
      pixels[..., c % 3] = 255  # a class colour
      im = Image.fromarray(pixels)
      if i % 4 == 0:
        im.convert('L').save(root / name / f'{i}.bmp')
      else:
        im.save(root / name / f'{i}.{"png" if i % 2 else "jpg"}')
  (root / 'notes.txt').write_text('not a class')
  return root


@pytest.fixture
def image_folder(tmp_path):
  return _write_folder(tmp_path / 'images')


def _load(builder, split):
  return tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1,
                                          shuffle_files=False))


def test_folder_splits_by_image_and_by_class(image_folder, tmp_path):
  b = folder.builder_for(str(image_folder), 0, str(tmp_path / 'tfds'))
  b.download_and_prepare()
  assert b.info.features['label'].names == list(CLASSES)
  counts = {k: v.num_examples for k, v in b.info.splits.items()}
  assert counts == {'train': 4 * 11, 'heldout': 4, 'test': 4}
  train_set, held = _load(b, 'train'), _load(b, 'heldout')
  assert set(train_set['label']) == set(held['label']) == {0, 1, 2, 3}
  assert train_set['image'].shape[-1] == 3  # grayscale bmp stored as RGB

  b2 = folder.builder_for(str(image_folder), 1, str(tmp_path / 'tfds'))
  b2.download_and_prepare()
  test_labels = set(_load(b2, 'test')['label'])
  assert len(test_labels) == 1
  assert not test_labels & set(_load(b2, 'train')['label'])
  assert b2.info.splits['test'].num_examples == PER_CLASS


def test_build_is_cached_per_path_and_content(image_folder, tmp_path):
  a = folder.builder_for(str(image_folder)).builder_config.name
  assert folder.builder_for(str(image_folder)).builder_config.name == a
  assert folder.builder_for(str(image_folder), 1).builder_config.name != a
  other = _write_folder(tmp_path / 'other', CLASSES[:2], 3)
  assert folder.builder_for(str(other)).builder_config.name != a
  Image.new('RGB', (8, 8)).save(image_folder / 'cat' / 'new.png')
  assert folder.builder_for(str(image_folder)).builder_config.name != a


def test_npz_with_string_labels(tmp_path):
  rng = np.random.default_rng(1)
  images = rng.uniform(size=(30, 28, 28)).astype(np.float32)  # grayscale
  labels = np.array(['a', 'b', 'c'] * 10)
  np.savez(tmp_path / 'd.npz', images=images, labels=labels)
  b = folder.builder_for(str(tmp_path / 'd.npz'), 0, str(tmp_path / 'tfds'))
  b.download_and_prepare()
  assert b.info.features['label'].names == ['a', 'b', 'c']
  data = _load(b, 'train')
  assert data['image'].shape[1:] == (28, 28, 3)
  first = np.flatnonzero(data['label'] == 0)
  assert len(first) == 9  # 10 images of 'a', one held out


@pytest.mark.parametrize('make,match', [
    (lambda p: p / 'nope', 'does not exist'),
    (lambda p: _write_folder(p / 'one', CLASSES[:1], 3), 'at least two classes'),
    (lambda p: (np.savez(p / 'x.npz', x=np.zeros(2)), p / 'x.npz')[1],
     "needs arrays 'images'"),
])
def test_bad_data_path_is_a_user_error(tmp_path, make, match):
  with pytest.raises(errors.UserError, match=match):
    folder.builder_for(str(make(tmp_path)))


def test_too_many_test_classes_is_a_user_error(image_folder, tmp_path):
  b = folder.builder_for(str(image_folder), 3, str(tmp_path))
  with pytest.raises(errors.UserError, match='test_classes=3'):
    b.download_and_prepare()


def test_one_flag_trains_on_a_folder(image_folder, tmp_path):
  """`--config.data_path=DIR` is all it takes (here: with the tiny model)."""
  config = default.get_config('tiny')
  config.data_dir = str(tmp_path / 'tfds')
  config.data_path = str(image_folder)
  config.num_train_steps = 2
  # 'test' is then the 4 heldout images: fewer than the swap grid wants.
  summary = train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert summary['step'] == 2 and summary['num_identities'] == 4
  assert (tmp_path / 'run' / 'swap_grid.png').exists()
  builder = input_pipeline.get_builder(config)
  assert builder.name == 'dvae_folder'


def _npz(path, images, labels):
  np.savez(path, images=images, labels=labels)
  return path


def _build(path, tmp_path):
  folder.builder_for(str(path), 0, str(tmp_path / 'tfds')).download_and_prepare()


@pytest.mark.parametrize('images,labels,match', [
    (np.full((12, 8, 8), np.nan, np.float32), np.arange(12) % 3,
     r"12 of 12 images in '.*d.npz' hold NaN or Inf \(the first: index 0\); "
     'float images must be finite'),
    (np.where(np.arange(12)[:, None, None] == 5, np.inf,
              np.zeros((12, 8, 8))), np.arange(12) % 3,
     r'1 of 12 images .* hold NaN or Inf \(the first: index 5\)'),
    (np.full((12, 8, 8), 2.0), np.arange(12) % 3,
     r'12 of 12 images .* hold values outside \[0, 1\]'),
    (np.zeros((12, 8, 8), np.int16), np.arange(12) % 3,
     r"'images' in .* are int16; use uint8 or float in \[0, 1\]"),
])
def test_bad_npz_images_are_named_when_read(tmp_path, images, labels, match):
  """An .npz whose float images hold NaN trained without a word (issue 17)."""
  path = _npz(tmp_path / 'd.npz', images, labels)
  with pytest.raises(errors.UserError, match=match):
    _build(path, tmp_path)


@pytest.mark.parametrize('labels,match', [
    (np.arange(12) % 3 + 0.5, r"'labels' in .* are float64 of shape \(12,\); "
     'they must be \\(N,\\) integers or strings'),
    (np.arange(12) % 2 == 0, "are bool"),
    (np.zeros((12, 2), np.int64), r'of shape \(12, 2\)'),
    (np.array([1, 'a'] * 6, dtype=object), 'an array of Python objects'),
])
def test_labels_that_are_not_integers_or_strings(tmp_path, labels, match):
  path = _npz(tmp_path / 'd.npz', np.zeros((12, 8, 8), np.uint8), labels)
  with pytest.raises(errors.UserError, match=match):
    folder.builder_for(str(path))


def test_npz_images_of_mixed_sizes_are_named(tmp_path):
  images = np.empty(12, dtype=object)
  for i in range(12):
    images[i] = np.zeros((8 + i % 2, 8), np.uint8)
  path = _npz(tmp_path / 'd.npz', images, np.arange(12) % 3)
  with pytest.raises(errors.UserError, match="'images' in .* is an array of "
                     'Python objects \\(images of mixed sizes'):
    _build(path, tmp_path)


def test_an_empty_class_folder_is_named(image_folder):
  (image_folder / 'gnu').mkdir()
  (image_folder / 'gnu' / 'readme.txt').write_text('no images here')
  with pytest.raises(errors.UserError, match="class folder 'gnu' in .* has no "
                     'images .*; add images or remove the folder'):
    folder.builder_for(str(image_folder))


def test_unreadable_image_files_are_named_and_counted(image_folder, tmp_path):
  good = (image_folder / 'cat' / '1.png').read_bytes()
  (image_folder / 'cat' / 'zz_truncated.png').write_bytes(good[:len(good) // 2])
  (image_folder / 'dog' / 'empty.jpg').write_bytes(b'')
  (image_folder / 'emu' / 'text.bmp').write_text('not a bitmap')
  with pytest.raises(errors.UserError, match=r"cannot read 3 of 51 image files "
                     r"in '.*images': 'cat/zz_truncated.png' \(.*\) and 2 more; "
                     'repair or remove them'):
    _build(image_folder, tmp_path)
  assert not list((tmp_path / 'tfds').glob('*/*/*/dataset_info.json'))


def test_data_too_small_for_a_split_is_named(tmp_path):
  """One image per class leaves 'heldout' empty: tfds failed on it with a
  traceback (found by tests/test_cli_property.py)."""
  path = _npz(tmp_path / 'd.npz', np.zeros((2, 8, 8), np.uint8),
              np.array([0, 1]))
  with pytest.raises(errors.UserError, match=r"gives the 'heldout' split no "
                     r'images \(2 images in 2 classes\)'):
    _build(path, tmp_path)
  one = _npz(tmp_path / 'one.npz', np.zeros((6, 8, 8), np.uint8),
             np.zeros(6, int))
  with pytest.raises(errors.UserError, match=r'has 1 class\(es\); the method '
                     'needs at least two'):
    _build(one, tmp_path)


def _posed_npz(path, num_ids=6, poses=4, factors=None, **extra):
  """num_ids identities x poses poses; pixel (0, 0) holds the identity and
  (0, 1) the pose, the rest a pattern of both (uint8 (N, 8, 8))."""
  labels = np.repeat(np.arange(num_ids), poses)
  pose = np.tile(np.arange(poses), num_ids)
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (len(labels), 8, 8), dtype=np.uint8)
  images[:, 0, 0], images[:, 0, 1] = labels * 20, pose * 20
  np.savez(path, images=images, labels=labels,
           factors=pose if factors is None else factors, **extra)
  return path


def test_npz_factors_become_the_datasets_nuisances(tmp_path):
  path = _posed_npz(tmp_path / 'd.npz', factor_names=np.array(['view']))
  config = default.get_config('tiny')
  config.data_dir, config.data_path = str(tmp_path / 'tfds'), str(path)
  config.test_classes = 2
  data = input_pipeline.Data(config)
  assert data.info.factor_names == ('view',)
  test = data.load('test', shard=False)
  assert test.factors.shape == (8, 1)  # 2 unseen identities x 4 poses
  # The pose index stored with each image is the one drawn into it.
  raw = _load(data.builder, 'test')
  assert np.array_equal(raw['factors'][:, 0] * 20, raw['image'][:, 0, 1, 0])


@pytest.mark.parametrize('factors,extra,match', [
    (np.linspace(0, 1, 24), {}, r"'factors' in .* are float64 of shape "
     r'\(24,\); they must be integers'),
    (np.zeros(23, np.int64), {}, r'of shape \(23,\).*\(24 images\)'),
    (np.zeros((24, 2), np.int64), {'factor_names': np.array(['a'])},
     "names 1 factors but 'factors' has 2 columns"),
])
def test_bad_npz_factors_are_named(tmp_path, factors, extra, match):
  path = _posed_npz(tmp_path / 'd.npz', factors=factors, **extra)
  with pytest.raises(errors.UserError, match=match):
    folder.builder_for(str(path))
