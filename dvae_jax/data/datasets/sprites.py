"""2D Sprites (Reed et al., NIPS 2015, "Deep visual analogy-making") in tfds.

Source: the authors' archive nips2015-analogy-data.tar.gz, which unpacks to
data/sprites/ with
- sprites_<i>.mat, i = 0 .. 671, one character each, MATLAB v7.3 (HDF5):
  `sprites` (21, 1) references to one animation each, an array (T, 10800) of
  T frames, each a 60x60x3 image in [0, 1] flattened in MATLAB (column-major)
  order; `masks` alike (unused here); `labels` the character's 7 attribute
  values.
- sprites_splits.mat (MATLAB v5): `trainidx`, `validx`, `testidx`, 1-based
  character numbers (character n is sprites_<n-1>.mat).
Animations 0..19 are 5 actions x 4 viewpoints (animation = 4 * action +
viewpoint, in the order of the LPC sprite sheets the data was rendered from);
the 21st, a single-view "hurt", is left out so action x viewpoint is a grid.

Splits, by character so 'test' characters are never seen in training:
'train' and 'heldout' (a tenth of each training character's frames) hold the
trainidx characters, 'validation' the validx ones, 'test' the testidx ones.
A copy that lacks some characters builds from those present (one log line
counts the missing ones per split); 'validation', which no config uses, is
left out when none of its characters are there; an empty 'train' or 'test'
is an error.
Features: image (60, 60, 3), label = character, action, viewpoint, frame
(index within its animation) and attributes (7,).
"""
from __future__ import annotations

import os
import re

import h5py
import numpy as np
import scipy.io
import tensorflow_datasets as tfds
from absl import logging

from dvae_jax.runtime import errors
from dvae_jax.data.datasets import sources, splits

URL = 'http://www.scottreed.info/files/nips2015-analogy-data.tar.gz'
ARCHIVE = 'nips2015-analogy-data.tar.gz'
SPLITS_FILE = 'sprites_splits.mat'
CHARACTER_FILE = re.compile(r'^sprites_(\d+)\.mat$')
NUM_CHARACTERS = 672
ACTIONS = ('spellcast', 'thrust', 'walk', 'slash', 'shoot')
VIEWPOINTS = ('up', 'left', 'down', 'right')
NUM_ANIMATIONS = len(ACTIONS) * len(VIEWPOINTS)
NUM_ATTRIBUTES = 7
SIZE = 60
SEED = 0
# Splits a build needs characters in ('heldout' is made from 'train').
REQUIRED_SPLITS = ('train', 'test')

EXPECTED = (
    f'{ARCHIVE} (from {URL}), or its contents:',
    f'data/sprites/{SPLITS_FILE} and data/sprites/sprites_<i>.mat, '
    f'i = 0..{NUM_CHARACTERS - 1}',
)


def read_splits(path: str) -> dict[str, np.ndarray]:
  """{'train', 'validation', 'test'}: 0-based character indices."""
  try:
    mat = scipy.io.loadmat(path)
    get = lambda key: np.asarray(mat[key])
  except NotImplementedError:  # saved as MATLAB v7.3 (HDF5)
    with h5py.File(path, 'r') as f:
      mat = {k: np.asarray(f[k]) for k in f.keys()}
    get = lambda key: mat[key]
  return {name: get(key).reshape(-1).astype(np.int64) - 1 for name, key in
          (('train', 'trainidx'), ('validation', 'validx'),
           ('test', 'testidx'))}


def read_character(path: str) -> tuple[list[np.ndarray], np.ndarray]:
  """Animations [(T_a, 60, 60, 3) uint8] x NUM_ANIMATIONS and attributes (7,)."""
  with h5py.File(path, 'r') as f:
    refs = f['sprites']
    attributes = np.asarray(f['labels']).reshape(-1).astype(np.int64)
    animations = []
    for a in range(NUM_ANIMATIONS):
      frames = np.asarray(f[refs[a, 0]], np.float32)  # (T, 10800)
      # MATLAB column-major (H, W, C) per frame == C-order (C, W, H).
      frames = frames.reshape(-1, 3, SIZE, SIZE).transpose(0, 3, 2, 1)
      animations.append(
          np.clip(np.round(frames * 255), 0, 255).astype(np.uint8))
  return animations, attributes


def present_characters(by_split: dict[str, np.ndarray], files: dict[int, str],
                       where: str) -> dict[str, list[int]]:
  """The characters of each split that have a file; logs how many lack one.

  UserError if 'train' or 'test' has none ('validation' may: no config uses
  it, and the build leaves it out).
  """
  present = {name: [int(i) for i in ids if i in files]
             for name, ids in by_split.items()}
  logging.info(
      'dvae_sprites: %d of the %d characters of %s have a file in %s; '
      'missing: %s', sum(map(len, present.values())),
      sum(map(len, by_split.values())), SPLITS_FILE, where, ', '.join(
          f'{name} {len(by_split[name]) - len(ids)} of {len(by_split[name])}'
          + ('' if ids or name in REQUIRED_SPLITS else ' (split left out)')
          for name, ids in present.items()))
  for name in REQUIRED_SPLITS:
    if not present[name]:
      example = f'sprites_{by_split[name][0]}.mat' if len(by_split[name]) \
          else 'none listed'
      raise errors.UserError(
          f"dvae_sprites: split {name!r} is empty: none of the "
          f"{len(by_split[name])} {name} characters of {SPLITS_FILE} has its "
          f"file in {where} ({example}); put the complete data/sprites/ of "
          f"{ARCHIVE} there")
  return present


def _find_data(root: str) -> str | None:
  """The folder holding sprites_splits.mat under root, if any."""
  for sub in ('', 'sprites', os.path.join('data', 'sprites')):
    if os.path.isfile(os.path.join(root, sub, SPLITS_FILE)):
      return os.path.join(root, sub)
  return None


class DvaeSprites(tfds.core.GeneratorBasedBuilder):
  """2D Sprites: 672 game characters, 5 actions x 4 viewpoints, split by character."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      f'Downloaded from {URL} when the network allows; else put {ARCHIVE} '
      'or its unpacked data/sprites/ folder in manual_dir.')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(SIZE, SIZE, 3), dtype=np.uint8),
            'label': tfds.features.ClassLabel(num_classes=NUM_CHARACTERS),
            'action': tfds.features.ClassLabel(names=ACTIONS),
            'viewpoint': tfds.features.ClassLabel(names=VIEWPOINTS),
            'frame': np.int32,
            'attributes': tfds.features.Tensor(shape=(NUM_ATTRIBUTES,),
                                               dtype=np.int32),
        }),
        supervised_keys=('image', 'label'),
        homepage='https://github.com/scottreed/nips2015-analogy',
        citation='Reed, Zhang, Zhang, Lee. Deep visual analogy-making. NIPS 2015.')

  def _locate(self, dl_manager) -> str:
    """data/sprites/ from manual_dir, else downloaded; UserError if neither."""
    manual = sources.manual_dir(dl_manager)
    found = _find_data(manual) if os.path.isdir(manual) else None
    if found:
      return found
    archive = os.path.join(manual, ARCHIVE)
    if os.path.isfile(archive):
      extracted = os.fspath(dl_manager.extract(archive))
    else:
      try:
        extracted = os.fspath(dl_manager.download_and_extract(URL))
      except OSError as e:  # offline, refused, or timed out
        raise sources.missing_data_error(
            'dvae_sprites', EXPECTED, manual,
            f'Downloading {URL} failed ({type(e).__name__}; no network?).') from e
    found = _find_data(extracted)
    if not found:
      raise sources.missing_data_error('dvae_sprites', EXPECTED, manual,
                                       f'{extracted} lacks {SPLITS_FILE}.')
    return found

  def _split_generators(self, dl_manager):
    data = self._locate(dl_manager)
    by_split = read_splits(os.path.join(data, SPLITS_FILE))
    files = {int(m.group(1)): os.path.join(data, m.group(0))
             for m in map(CHARACTER_FILE.match, os.listdir(data)) if m}
    bad = [i for ids in by_split.values() for i in ids
           if not 0 <= i < NUM_CHARACTERS]
    if bad:
      raise errors.UserError(f'{SPLITS_FILE} names characters {bad[:5]} '
                             f'outside 1..{NUM_CHARACTERS}: not the 2D Sprites '
                             'split file?')
    present = present_characters(by_split, files, data)
    out = {name: self._generate_examples(files, ids, None)
           for name, ids in present.items() if name != 'train' and len(ids)}
    out['train'] = self._generate_examples(files, present['train'], False)
    out['heldout'] = self._generate_examples(files, present['train'], True)
    return out

  def _generate_examples(self, files, characters, heldout):
    """heldout: None keeps every frame; True/False keep only (not) held-out ones."""
    for character in characters:
      animations, attributes = read_character(files[character])
      frames = [(a, t, image) for a, images in enumerate(animations)
                for t, image in enumerate(images)]
      held = splits.heldout_mask(len(frames), seed=SEED + int(character))
      for (a, t, image), h in zip(frames, held):
        if heldout is not None and h != heldout:
          continue
        yield f'{character:04d}_{a:02d}_{t:02d}', {
            'image': image,
            'label': int(character),
            'action': a // len(VIEWPOINTS),
            'viewpoint': a % len(VIEWPOINTS),
            'frame': t,
            'attributes': attributes.astype(np.int32),
        }
