"""Your own labeled images as a tfds dataset: `--config.data_path=PATH`.

PATH is either
- a folder with one sub-folder per class, images inside in any format Pillow
  reads (png, jpg, bmp, gif, tif, pgm, ...); the sub-folder name is the class;
- an `.npz` with `images` (N, H, W) or (N, H, W, C), uint8 or float in [0, 1],
  and `labels` (N,) of ints or strings; optionally `factors` (N,) or (N, F),
  integer nuisance labels per image (e.g. a pose index), and `factor_names`
  (F,) strings: then the evaluation scores swaps against the true image
  (the image of a's label with b's factors, where one exists).
Splits: 'train' and 'heldout' (a tenth of each training class's images) hold
the training classes; 'test' holds `test_classes` classes never trained on
(chosen by a seeded permutation), or, when test_classes is 0, the heldout
images again. Images are stored as RGB at their own size; the input pipeline
brings them to the model size.

Checked as the data is read (errors.UserError, one line): an .npz whose
labels are not integers or strings, whose images are of mixed sizes (an
object array), not uint8 or float in [0, 1], or hold NaN/Inf (counted, the
first named); a class sub-folder without images; image files that cannot be
read or are truncated: all of them are tried, the first is named with the
count of the others, and nothing is built (fix or remove them). Images of
mixed sizes in a folder are fine: each is brought to the model size.

tfds caches a build under a builder-config name; ours is a hash of the path,
its file listing (names, sizes, mtimes) and test_classes, so two folders, or
one folder edited, never share a stale build.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from dvae_jax.runtime import errors
from dvae_jax.data.datasets import splits

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff',
                    '.pgm', '.ppm', '.pbm', '.webp')
SEED = 0


def _image_files(path: str) -> dict[str, list[str]]:
  """{class name: sorted image paths} of a folder of class sub-folders
  (hidden ones skipped); a class may have none."""
  classes = {}
  for name in sorted(os.listdir(path)):
    sub = os.path.join(path, name)
    if os.path.isdir(sub) and not name.startswith('.'):
      classes[name] = sorted(
          os.path.join(root, f) for root, _, fs in os.walk(sub) for f in fs
          if f.lower().endswith(IMAGE_EXTENSIONS))
  return classes


def _npz_array(data, key: str, path: str) -> np.ndarray:
  try:
    return data[key]
  except ValueError as e:  # an object array: ragged images, mixed labels
    raise errors.UserError(
        f'{key!r} in {path!r} is an array of Python objects (images of mixed '
        'sizes, or labels of mixed types?); store images (N, H, W[, C]) of '
        'one size (or use a folder of image files, any sizes) and labels '
        '(N,) of integers or strings') from e


def _check_labels(labels: np.ndarray, path: str) -> None:
  if labels.ndim != 1 or labels.dtype.kind not in 'iuUS':
    raise errors.UserError(
        f"'labels' in {path!r} are {labels.dtype} of shape {labels.shape}; "
        'they must be (N,) integers or strings (one class name per image)')


def _npz_factors(data, path: str, num_images: int):
  """(factors (N, F) float32, names (F,)) of an .npz, or (None, ())."""
  if 'factors' not in data.files:
    return None, ()
  given = _npz_array(data, 'factors', path)
  factors = given[:, None] if given.ndim == 1 else given
  if (factors.ndim != 2 or len(factors) != num_images
      or factors.dtype.kind not in 'iub'):
    raise errors.UserError(
        f"'factors' in {path!r} are {given.dtype} of shape {given.shape}; "
        'they must be integers (N,) or (N, F), one row per image '
        f'({num_images} images), e.g. a pose index')
  f = factors.shape[1]
  names = (_npz_array(data, 'factor_names', path).astype(str).tolist()
           if 'factor_names' in data.files else
           [f'factor_{i}' for i in range(f)])
  if len(names) != f:
    raise errors.UserError(
        f"'factor_names' in {path!r} names {len(names)} factors but "
        f"'factors' has {f} columns; give one name per column")
  return factors.astype(np.float32), tuple(names)


def _check_images(images: np.ndarray, path: str) -> None:
  """The whole array at once: dtype, range and non-finite pixels, counted."""
  if images.dtype == np.uint8:
    return
  if not np.issubdtype(images.dtype, np.floating):
    raise errors.UserError(f"'images' in {path!r} are {images.dtype}; use "
                           'uint8 or float in [0, 1]')
  flat = images.reshape(len(images), -1)
  for bad, what in ((~np.isfinite(flat), 'NaN or Inf'),
                    ((flat < 0) | (flat > 1), 'values outside [0, 1]')):
    bad = np.flatnonzero(bad.any(axis=1)) if len(flat) else []
    if len(bad):
      raise errors.UserError(
          f'{len(bad)} of {len(images)} images in {path!r} hold {what} (the '
          f'first: index {bad[0]}); float images must be finite and in '
          '[0, 1]: fix or drop them')


def _unreadable(files: list[str]) -> list[tuple[str, str]]:
  """[(file, why)] of the image files that cannot be decoded whole."""
  bad = []
  for f in files:
    try:
      with Image.open(f) as im:
        im.load()  # decodes all of it: a truncated file fails here
    except (OSError, SyntaxError, ValueError) as e:
      bad.append((f, str(e) or e.__class__.__name__))
  return bad


def _fingerprint(path: str) -> list:
  if os.path.isfile(path):
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]
  out = []
  for files in _image_files(path).values():
    for f in files:
      st = os.stat(f)
      out.append((os.path.relpath(f, path), st.st_size, st.st_mtime_ns))
  return out


def _class_names(path: str) -> list[str]:
  if os.path.isfile(path):
    with np.load(path) as data:
      labels = _npz_array(data, 'labels', path)
    return sorted({str(l) for l in labels.tolist()})
  return list(_image_files(path))


def _check(path: str) -> None:
  """UserError unless path is a usable folder or .npz."""
  if not os.path.exists(path):
    raise errors.UserError(f'config.data_path {path!r} does not exist')
  if os.path.isfile(path):
    try:
      with np.load(path) as data:
        keys = set(data.files)
    except (OSError, ValueError) as e:
      raise errors.UserError(f'config.data_path {path!r} is a file but not an '
                             f'.npz ({e})') from e
    if not {'images', 'labels'} <= keys:
      raise errors.UserError(f'{path!r} holds {sorted(keys)}; it needs arrays '
                             "'images' (N, H, W[, C]) and 'labels' (N,)")
    with np.load(path) as data:
      labels = _npz_array(data, 'labels', path)
      _check_labels(labels, path)
      _npz_factors(data, path, len(labels))
    return
  classes = _image_files(path)
  empty = [name for name, files in classes.items() if not files]
  if empty:
    more = f' (and {len(empty) - 1} more)' if empty[1:] else ''
    raise errors.UserError(
        f'class folder {empty[0]!r}{more} in {path!r} has no images '
        f'({", ".join(IMAGE_EXTENSIONS)}); add images or remove the folder')
  if len(classes) < 2:
    raise errors.UserError(
        f'{path!r} needs one sub-folder per class with images inside '
        f'({", ".join(IMAGE_EXTENSIONS)}), at least two classes; found '
        f'{len(classes)}')


def _to_rgb_uint8(image: np.ndarray, where: str) -> np.ndarray:
  """(H, W) or (H, W, 1|3|4) uint8 or float in [0, 1] -> (H, W, 3) uint8."""
  image = np.asarray(image)
  if image.dtype != np.uint8:
    if not np.issubdtype(image.dtype, np.floating) or image.min() < 0 or \
        image.max() > 1:
      raise errors.UserError(f'{where}: images must be uint8 or float in '
                             f'[0, 1], got {image.dtype} in [{image.min()}, '
                             f'{image.max()}]')
    image = np.round(image * 255).astype(np.uint8)
  if image.ndim == 2:
    image = image[..., None]
  if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
    raise errors.UserError(f'{where}: an image has shape {image.shape}; use '
                           '(H, W) or (H, W, C) with C in 1, 3, 4')
  if image.shape[-1] == 1:
    image = np.repeat(image, 3, axis=-1)
  return image[..., :3]  # RGBA loses alpha


@dataclasses.dataclass(eq=False)
class FolderConfig(tfds.core.BuilderConfig):
  """path: the folder or .npz; test_classes: classes held out as unseen."""
  path: str = ''
  test_classes: int = 0


class DvaeFolder(tfds.core.GeneratorBasedBuilder):
  """A folder of class sub-folders, or an .npz, as a dataset."""

  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.',
                   '1.1.0': "An .npz's optional 'factors' (nuisance labels)."}

  def _info(self) -> tfds.core.DatasetInfo:
    path = self.builder_config.path
    features = {
        'image': tfds.features.Image(shape=(None, None, 3), dtype=np.uint8),
        'label': tfds.features.ClassLabel(names=_class_names(path)),
    }
    names = self._factor_names()
    if names:  # an .npz's nuisance labels: the pipeline's 'factors'
      features['factors'] = tfds.features.Tensor(shape=(len(names),),
                                                 dtype=np.float32)
    return tfds.core.DatasetInfo(
        builder=self,
        description=f'Labeled images from {path}.',
        features=tfds.features.FeaturesDict(features),
        supervised_keys=('image', 'label'),
        metadata=tfds.core.MetadataDict(path=path, factor_names=list(names)))

  def _factor_names(self) -> tuple:
    path = self.builder_config.path
    if not os.path.isfile(path):
      return ()
    with np.load(path) as data:
      labels = _npz_array(data, 'labels', path)
      return _npz_factors(data, path, len(labels))[1]

  def _split_generators(self, dl_manager):
    del dl_manager  # Local files only.
    path = self.builder_config.path
    names = self.info.features['label'].names
    n_test = self.builder_config.test_classes
    if len(names) < 2:
      raise errors.UserError(
          f'{path!r} has {len(names)} class(es); the method needs at least '
          'two (x3 must be able to differ from x1)')
    if not 0 <= n_test <= len(names) - 2:
      raise errors.UserError(
          f'test_classes={n_test}: {path!r} has {len(names)} classes and '
          f'training needs at least two; use 0..{len(names) - 2}')
    test = set(np.random.default_rng(SEED).permutation(len(names))[:n_test])
    examples = self._examples(path)  # [(key, label, loader, factors)]
    by_class = {}
    for ex in examples:
      by_class.setdefault(ex[1], []).append(ex)
    parts = {'train': [], 'heldout': [], 'test': []}
    for label, members in sorted(by_class.items()):
      if label in test:
        parts['test'] += members
        continue
      held = splits.heldout_mask(len(members), seed=SEED + int(label))
      for ex, h in zip(members, held):
        parts['heldout' if h else 'train'].append(ex)
    if not n_test:
      parts['test'] = parts['heldout']
    for name, exs in parts.items():
      if not exs:
        raise errors.UserError(
            f'{path!r} gives the {name!r} split no images ({len(examples)} '
            f'images in {len(by_class)} classes): it holds out a tenth of '
            'each training class of 3 or more images; give the classes more '
            'images')
    return {name: self._generate_examples(exs) for name, exs in parts.items()}

  def _examples(self, path: str) -> list:
    """[(key, label index, () -> (H, W, 3) uint8, factors (F,) or None)]
    in a fixed order."""
    index = {n: i for i, n in enumerate(self.info.features['label'].names)}
    if os.path.isfile(path):
      with np.load(path) as data:
        images = _npz_array(data, 'images', path)
        labels = _npz_array(data, 'labels', path)
        if len(images) != len(labels):
          raise errors.UserError(f'{path!r}: {len(images)} images but '
                                 f'{len(labels)} labels')
        factors, _ = _npz_factors(data, path, len(labels))
      _check_images(images, path)
      return [(str(i), index[str(l)],
               lambda i=i: _to_rgb_uint8(images[i], f'{path}[{i}]'),
               None if factors is None else factors[i])
              for i, l in enumerate(labels.tolist())]

    classes = _image_files(path)
    files = [f for fs in classes.values() for f in fs]
    bad = _unreadable(files)
    if bad:
      first, why = bad[0]
      others = f' and {len(bad) - 1} more' if bad[1:] else ''
      raise errors.UserError(
          f'cannot read {len(bad)} of {len(files)} image files in {path!r}: '
          f'{os.path.relpath(first, path)!r} ({why}){others}; repair or '
          'remove them')

    def load(f):
      with Image.open(f) as im:
        return np.asarray(im.convert('RGB'))
    return [(os.path.relpath(f, path), index[name], lambda f=f: load(f), None)
            for name, fs in classes.items() for f in fs]

  def _generate_examples(self, examples):
    for key, label, load, factors in examples:
      example = {'image': load(), 'label': label}
      if factors is not None:
        example['factors'] = factors
      yield key, example


def builder_for(path: str, test_classes: int = 0,
                data_dir: str | None = None) -> DvaeFolder:
  """The (unprepared or cached) builder of a folder or .npz at path."""
  path = os.path.abspath(os.path.expanduser(path))
  _check(path)
  digest = hashlib.sha1(repr((path, int(test_classes), _fingerprint(path)))
                        .encode()).hexdigest()[:16]
  config = FolderConfig(name=f'h{digest}', path=path,
                        test_classes=int(test_classes),
                        description=f'{path} ({test_classes} test classes)')
  return DvaeFolder(config=config, data_dir=data_dir)
