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
