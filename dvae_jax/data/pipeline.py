"""tfds -> tf.data -> the triplet batches the method needs.

Each process reads its own shard of a split (`tfds.split_for_jax_process`),
brings images to the model size and keeps them as uint8 in memory, indexed by
class. A tf.data pipeline over example indices then draws, per step, x1 (every
example once an epoch, shuffled before repeat), x2 (another example of x1's
class) and x3 (any example), seeded and a pure function of the step, so a
resumed run sees the same batches.
"""
import dataclasses
from typing import Iterator, Optional

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from dvae_jax.data import datasets  # noqa: F401  registers our tfds builders
from dvae_jax.data.class_index import ClassIndex
from dvae_jax.data.datasets import folder, sources
from dvae_jax.runtime import errors


# The config keys that define the data a model is trained on: a resume with
# other values is refused (runtime/workdir.check_resumable), and the judge's
# cache is keyed by them (evaluation/families.py).
DATA_KEYS = ('dataset', 'data_path', 'test_classes', 'train_split',
             'image_key', 'label_key', 'image_size', 'channels', 'resize')


@dataclasses.dataclass(frozen=True)
class SplitData:
  """A split (this process's shard) in memory."""
  images: np.ndarray  # (N, H, W, C) uint8
  labels: np.ndarray  # (N,) int32
  factors: Optional[np.ndarray]  # (N, F) float32 known nuisances, or None


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What the trainer needs to know about a dataset, so it hard-codes nothing."""
  num_classes: int
  image_shape: tuple  # (H, W, C) as given to the model
  factor_names: tuple  # names of the known nuisance factors, may be empty


def check_features(config, features) -> None:
  """Raises a UserError naming the problem and the fix; `features` is a
  tfds FeaturesDict (builder.info.features)."""
  name = config.dataset
  for key, flag in ((config.image_key, 'image_key'),
                    (config.label_key, 'label_key')):
    if key not in features:
      raise errors.UserError(
          f'dataset {name!r} has no feature {key!r} (it has '
          f'{sorted(features.keys())}); set --config.{flag} to one of them')
  num_classes = getattr(features[config.label_key], 'num_classes', None)
  if not num_classes:
    raise errors.UserError(
        f'feature {config.label_key!r} of {name!r} is not a class label; set '
        '--config.label_key to a tfds ClassLabel feature')
  if num_classes < 2:
    raise errors.UserError(
        f'dataset {name!r} has {num_classes} class; the method needs at least '
        'two classes (x3 must be able to differ from x1): use another dataset')
  shape = tuple(features[config.image_key].shape)
  if len(shape) != 3:
    raise errors.UserError(
        f'images of {name!r} have shape {shape}; dvae_jax needs (height, '
        'width, channels) images: set --config.image_key to such a feature '
        'or add a channel axis to the dataset')
  channels = shape[-1]
  convertible = (1, 3)  # grayscale <-> RGB
  if channels is not None and channels != config.channels and not (
      channels in convertible and config.channels in convertible):
    raise errors.UserError(
        f'images of {name!r} have {channels} channels and config.channels='
        f'{config.channels}; only 1 <-> 3 channels are converted: set '
        f'--config.channels={channels} or convert the images to 1 or 3 '
        'channels')


def get_builder(config, prepare: bool = True) -> tfds.core.DatasetBuilder:
  """The tfds builder of config.dataset (or of config.data_path), prepared
  unless `prepare` is False (its features are known either way).

  Our own builders build offline from their files; a catalog dataset that
  cannot be downloaded fails within seconds with the fix (sources.prepare).
  """
  if config.get('data_path'):
    builder = folder.builder_for(config.data_path, config.get('test_classes', 0),
                                 config.data_dir)
  else:
    try:
      builder = tfds.builder(config.dataset, data_dir=config.data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
      raise errors.UserError(
          f'unknown dataset {config.dataset!r}: set --config.dataset to a tfds '
          "name such as 'dvae_glyphs/res32' or 'mnist', or --config.data_path "
          'to a folder of labeled images') from e
  return sources.prepare(builder, config.get('manual_dir')) if prepare else (
      builder)


def _factor_keys(config, builder) -> tuple:
  """Features that form the factors vector: config.factor_keys, else 'factors'."""
  keys = tuple(config.get('factor_keys') or ())
  missing = [k for k in keys if k not in builder.info.features]
  if missing:
    raise errors.UserError(
        f'config.factor_keys names {missing}, which {builder.info.name!r} lacks; '
        f'its features are {sorted(builder.info.features.keys())}')
  if not keys and 'factors' in builder.info.features:
    keys = ('factors',)
  return keys


def dataset_info(config, builder: tfds.core.DatasetBuilder) -> DatasetInfo:
  features = builder.info.features
  check_features(config, features)
  keys = _factor_keys(config, builder)
  factor_names = keys
  if keys == ('factors',):
    metadata = builder.info.metadata or {}
    factor_names = tuple(metadata.get('factor_names', ()))
  return DatasetInfo(
      num_classes=features[config.label_key].num_classes,
      image_shape=(config.image_size, config.image_size, config.channels),
      factor_names=factor_names)


class Data:
  """A config's dataset: its tfds builder, what the model needs to know of it
  (`info`) and its splits (`load`). Reads no images until `load`; with
  prepare=False nothing is downloaded or built either, and only `info` works
  (what the ahead-of-time check needs)."""

  def __init__(self, config, prepare: bool = True):
    self.config = config
    self.builder = get_builder(config, prepare)
    self.info = dataset_info(config, self.builder)

  @property
  def num_classes(self) -> int:
    return self.info.num_classes

  def load(self, split: str, shard: bool = True,
           max_examples: Optional[int] = None) -> SplitData:
    """(This process's shard of, when shard) a split in memory."""
    return load_split(self.config, self.builder, split, shard, max_examples)


def _to_model_size(image: tf.Tensor, config) -> tf.Tensor:
  """Any (h, w, c) uint8 image -> (S, S, channels) uint8 by resizing or padding."""
  size = config.image_size
  # An image already at the model's size (e.g. the built-in data) is kept as
  # it is: both methods would copy it.
  if tuple(image.shape[:2]) != (size, size):
    if config.resize == 'pad':
      image = tf.image.resize_with_crop_or_pad(image, size, size)
    else:  # 'resize' (dvae_jax/config_rules.py)
      image = tf.image.resize(image, (size, size), antialias=True)
      image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
  channels = image.shape[-1]
  if channels != config.channels:
    if channels == 1:
      image = tf.image.grayscale_to_rgb(image)
    elif config.channels == 1:
      image = tf.image.rgb_to_grayscale(image)
  return image


def load_split(config, builder, split: str, shard: bool = True,
               max_examples: Optional[int] = None) -> SplitData:
  """Reads (this process's shard of) a split into memory at the model size."""
  if shard:
    split = tfds.split_for_jax_process(split)
  ds = builder.as_dataset(split=split, shuffle_files=False)
  if max_examples is not None:
    ds = ds.take(max_examples)
  factor_keys = _factor_keys(config, builder)
  has_factors = bool(factor_keys)

  def prepare(example):
    out = {'image': _to_model_size(example[config.image_key], config),
           'label': tf.cast(example[config.label_key], tf.int32)}
    if has_factors:  # scalar features and vectors alike -> (F,)
      out['factors'] = tf.concat([tf.reshape(tf.cast(example[k], tf.float32),
                                             [-1]) for k in factor_keys], 0)
    return out

  ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(1024)
  parts = list(tfds.as_numpy(ds))
  if not parts:
    raise errors.UserError(f'split {split!r} of {config.dataset!r} is empty')
  cat = lambda key: np.concatenate([p[key] for p in parts])
  return SplitData(cat('image'), cat('label'),
                   cat('factors') if has_factors else None)


def _class_index(labels: np.ndarray, split_name: str) -> ClassIndex:
  """labels grouped by class, checked: x3 needs a second class, x2 a second
  example of x1's."""
  index = ClassIndex.of(labels)
  if len(index.classes) < 2:
    raise errors.UserError(
        f'split {split_name!r} has {len(index.classes)} class; the method '
        'needs at least two classes (x3 must be able to differ from x1)')
  lonely = index.classes[index.counts < 2]
  if len(lonely):
    raise errors.UserError(
        f'class {lonely[0]} has one example in split {split_name!r} '
        f'({len(lonely)} such classes); the method needs two images per class '
        '(x1 and x2 share a label): add images or drop those classes')
  return index


def triplet_batches(data: SplitData, batch_size: int, seed: int,
                    start_step: int = 0,
                    split_name: str = 'train') -> Iterator[dict]:
  """Endless numpy batches {'images': (B, 3, H, W, C) float32 in [-1, 1],
  'labels': (B, 3) int32}; labels[:, 0] == labels[:, 1].

  batch_size is this process's share. Batch t depends only on (data, seed, t):
  start_step skips to it without reading images.
  """
  index = _class_index(data.labels, split_name)
  # Per example: its class's start in `order`, its class's size, its rank.
  order, start, count, rank = (index.order, index.starts[index.class_of],
                               index.counts[index.class_of], index.rank)
  n = len(data.labels)
  images = tf.constant(data.images)
  labels = tf.constant(data.labels)
  order, start, count, rank = map(tf.constant, (order, start, count, rank))

  anchors = (tf.data.Dataset.range(n)
             .shuffle(n, seed=seed, reshuffle_each_iteration=True)
             .repeat().batch(batch_size, drop_remainder=True))
  steps = tf.data.Dataset.range(tf.int64.max)
  ds = tf.data.Dataset.zip(anchors, steps).skip(start_step)

  def make_batch(i1, step):
    u = tf.random.stateless_uniform([2, batch_size], seed=tf.stack(
        [tf.cast(seed, tf.int64), step]), dtype=tf.float32)
    # x2: a different member of x1's class, uniformly.
    c = tf.gather(count, i1)
    offset = 1 + tf.cast(u[0] * tf.cast(c - 1, tf.float32), tf.int64)
    offset = tf.minimum(offset, c - 1)
    i2 = tf.gather(order, tf.gather(start, i1) +
                   (tf.gather(rank, i1) + offset) % c)
    i3 = tf.minimum(tf.cast(u[1] * n, tf.int64), n - 1)
    idx = tf.stack([i1, i2, i3], axis=1)  # (B, 3)
    x = tf.cast(tf.gather(images, idx), tf.float32) / 127.5 - 1.0
    return {'images': x, 'labels': tf.gather(labels, idx)}

  ds = ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE,
              deterministic=True).prefetch(tf.data.AUTOTUNE)
  return iter(tfds.as_numpy(ds))


def apply_in_batches(fn, arrays, batch_size: int):
  """fn(*chunks) over `arrays` (each (N, ...)), batch_size rows at a time, the
  last chunk zero-padded so that fn sees one shape (one compilation). fn
  returns an array or a tuple of arrays (batch_size, ...); their real rows
  are concatenated: (N, ...) or a tuple of them."""
  outs = []
  for start in range(0, len(arrays[0]), batch_size):
    chunks = [x[start:start + batch_size] for x in arrays]
    n = len(chunks[0])
    out = fn(*(_pad_to(c, batch_size) for c in chunks))
    outs.append(tuple(np.asarray(o)[:n] for o in out)
                if isinstance(out, tuple) else np.asarray(out)[:n])
  if isinstance(outs[0], tuple):
    return tuple(np.concatenate(parts) for parts in zip(*outs))
  return np.concatenate(outs)


def _pad_to(x: np.ndarray, size: int) -> np.ndarray:
  if len(x) == size:
    return x
  pad = np.zeros((size - len(x),) + x.shape[1:], x.dtype)
  return np.concatenate([x, pad])


def to_float(images: np.ndarray) -> np.ndarray:
  """uint8 images in [0, 255] -> float32 in [-1, 1], as the model sees them."""
  return images.astype(np.float32) / 127.5 - 1


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Model images in [-1, 1] -> uint8 in [0, 255]."""
  return np.clip(np.round((np.asarray(images) + 1) * 127.5), 0, 255).astype(
      np.uint8)
