"""Triplet batches: invariants, determinism, resumption, errors, resizing."""
import itertools

import numpy as np
import pytest
import tensorflow_datasets as tfds

from dvae_jax.runtime import errors
from dvae_jax.data import pipeline as input_pipeline


def _toy(labels, size=4):
  labels = np.asarray(labels, np.int32)
  images = np.arange(len(labels), dtype=np.uint8)[:, None, None, None]
  images = np.broadcast_to(images, (len(labels), size, size, 1)).copy()
  return input_pipeline.SplitData(images, labels, None)


def _take(it, n):
  return list(itertools.islice(it, n))


def test_batch_invariants():
  labels = np.repeat(np.arange(10), [2, 3, 5, 2, 7, 2, 4, 3, 2, 10])
  data = _toy(labels)
  batches = _take(input_pipeline.triplet_batches(data, 8, seed=0), 50)
  for batch in batches:
    assert batch['images'].shape == (8, 3, 4, 4, 1)
    assert batch['images'].dtype == np.float32
    assert batch['labels'].shape == (8, 3)
    # Pixel value encodes the example index: recover which examples were drawn.
    idx = np.round((batch['images'][:, :, 0, 0, 0] + 1) * 127.5).astype(int)
    np.testing.assert_array_equal(labels[idx], batch['labels'])
    assert np.all(batch['labels'][:, 0] == batch['labels'][:, 1])
    assert np.all(idx[:, 0] != idx[:, 1])  # x2 is another example
  # x3 is drawn from any class: over 400 draws it is not x1's class always.
  l = np.concatenate([b['labels'] for b in batches])
  assert np.mean(l[:, 2] != l[:, 0]) > 0.5
  assert len(np.unique(l[:, 2])) == 10


def test_every_example_is_an_anchor_once_per_epoch():
  data = _toy(np.repeat(np.arange(4), 4))  # 16 examples
  batches = _take(input_pipeline.triplet_batches(data, 4, seed=1), 8)
  idx = [np.round((b['images'][:, 0, 0, 0, 0] + 1) * 127.5).astype(int)
         for b in batches]
  epoch1, epoch2 = np.concatenate(idx[:4]), np.concatenate(idx[4:])
  assert sorted(epoch1) == list(range(16)) == sorted(epoch2)
  assert list(epoch1) != list(epoch2)  # reshuffled each epoch


def test_seeded_and_resumable():
  data = _toy(np.repeat(np.arange(5), 3))
  full = _take(input_pipeline.triplet_batches(data, 4, seed=3), 12)
  again = _take(input_pipeline.triplet_batches(data, 4, seed=3), 12)
  resumed = _take(input_pipeline.triplet_batches(data, 4, seed=3,
                                                 start_step=7), 5)
  other = _take(input_pipeline.triplet_batches(data, 4, seed=4), 12)
  for a, b in zip(full, again):
    np.testing.assert_array_equal(a['images'], b['images'])
  for a, b in zip(full[7:], resumed):
    np.testing.assert_array_equal(a['images'], b['images'])
    np.testing.assert_array_equal(a['labels'], b['labels'])
  assert any(not np.array_equal(a['images'], b['images'])
             for a, b in zip(full, other))


def test_class_with_one_example_is_an_error():
  with pytest.raises(errors.UserError, match='class 2 has one example'):
    input_pipeline.triplet_batches(_toy([0, 0, 1, 1, 2]), 2, seed=0)


def test_one_class_is_an_error():
  with pytest.raises(errors.UserError, match='at least two classes'):
    input_pipeline.triplet_batches(_toy([0, 0, 0]), 2, seed=0)


def test_loads_builtin_dataset_at_model_size(tiny_config):
  builder = input_pipeline.get_builder(tiny_config)
  info = input_pipeline.dataset_info(tiny_config, builder)
  assert info.num_classes == 250
  assert info.factor_names == ('pos_x', 'pos_y', 'scale', 'rotation', 'light')
  data = input_pipeline.load_split(tiny_config, builder, 'heldout')
  assert data.images.shape == (2000, 32, 32, 3)
  assert data.images.dtype == np.uint8
  assert data.factors.shape == (2000, 5)
  assert set(np.unique(data.labels)) == set(range(200))


@pytest.mark.parametrize('mode,size', [('pad', 32), ('resize', 16)])
def test_mnist_like_data_is_padded_or_resized(mode, size, tiny_config):
  """A 28x28 grayscale catalog dataset through the same code (tfds mock data)."""
  tiny_config.dataset = 'mnist'
  tiny_config.resize = mode
  tiny_config.image_size = size
  tiny_config.channels = 1
  with tfds.testing.mock_data(num_examples=20):
    builder = input_pipeline.get_builder(tiny_config)
    data = input_pipeline.load_split(tiny_config, builder, 'train')
  assert data.images.shape == (20, size, size, 1)
  if mode == 'pad':  # 2-pixel zero border around the 28x28 digit
    assert data.images[:, :2].max() == 0 and data.images[:, -2:].max() == 0


@pytest.mark.parametrize('mode', ['pad', 'resize'])
def test_images_of_the_model_size_pass_unchanged(mode, tiny_config):
  """Images already at the model size skip the resize (work for nothing
  when loading the built-in data), which would have given them back bit for
  bit."""
  import tensorflow as tf
  tiny_config.resize = mode
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (32, 32, 3), np.uint8)
  out = input_pipeline._to_model_size(tf.constant(image), tiny_config)
  np.testing.assert_array_equal(out.numpy(), image)
  resized = tf.image.resize(image, (32, 32), antialias=True)
  np.testing.assert_array_equal(
      tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8), image)
  # Other sizes are still resized or padded.
  other = input_pipeline._to_model_size(tf.constant(image[:30, :30]),
                                        tiny_config)
  assert other.shape == (32, 32, 3)


def test_unknown_dataset_is_a_user_error(tiny_config):
  tiny_config.dataset = 'no_such_dataset'
  with pytest.raises(errors.UserError, match="unknown dataset 'no_such_dataset'"):
    input_pipeline.get_builder(tiny_config)


def test_apply_in_batches_gives_fn_one_shape_and_only_the_real_rows():
  x = np.arange(10 * 2).reshape(10, 2)
  y = np.arange(10)[:, None] * 100
  shapes = []

  def fn(a, b):
    shapes.append((a.shape, b.shape))
    return a + b, a.sum(1)
  total, sums = input_pipeline.apply_in_batches(fn, [x, y], 4)
  assert shapes == [((4, 2), (4, 1))] * 3  # 4 + 4 + 2 rows, the last padded
  np.testing.assert_array_equal(total, x + y)
  np.testing.assert_array_equal(sums, x.sum(1))
  single = input_pipeline.apply_in_batches(lambda a: -a, [x], 3)
  np.testing.assert_array_equal(single, -x)
