"""Extended Yale B, cropped faces (Lee, Ho, Kriegman 2005) in tfds.

Not downloadable without a click-through; put the "CroppedYale" folder (or
CroppedYale.zip) in manual_dir. It holds CroppedYale/yaleBxx/ for 38 people
(xx = 01..39 without 14), each with 64 grayscale 192x168 images
yaleBxx_P00A+aaaE+ee.pgm: frontal pose (P00), light source azimuth aaa and
elevation ee in degrees. Ambient images and files marked .bad are skipped.

Splits: 'test' holds people TEST_PEOPLE (never seen in training); the other
people's images go to 'train', except every 5th lighting condition (in sorted
(azimuth, elevation) order), which forms 'heldout': training people under
lighting never trained on. Features: image, label = person, light_azimuth,
light_elevation.
"""
from __future__ import annotations

import os
import re

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from dvae_jax.runtime import errors
from dvae_jax.data.datasets import sources

PEOPLE = tuple(f'yaleB{i:02d}' for i in range(1, 40) if i != 14)
TEST_PEOPLE = PEOPLE[-10:]  # yaleB30 .. yaleB39
HELDOUT_EVERY = 5  # every 5th lighting condition -> 'heldout'
FOLDER = 'CroppedYale'
ARCHIVE = 'CroppedYale.zip'
FILE_RE = re.compile(r'^(yaleB\d\d)_P00A([+-]\d{3})E([+-]\d{2})\.pgm$')

EXPECTED = (f'{FOLDER}/yaleBxx/yaleBxx_P00A+aaaE+ee.pgm (xx = 01..39 but 14) '
            f'or {ARCHIVE}',)
HOW = ('Get "Cropped images" of the Extended Yale Face Database B from '
       'http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html.')


def parse_name(name: str) -> tuple[str, int, int] | None:
  """'yaleB05_P00A-035E+15.pgm' -> ('yaleB05', -35, 15); None if not a face."""
  m = FILE_RE.match(name)
  return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def find_images(root: str) -> list[tuple[str, str, int, int]]:
  """[(path, person, azimuth, elevation)] under root, sorted by path."""
  out = []
  for folder, _, files in os.walk(root):
    for f in files:
      parsed = parse_name(f)
      if parsed and parsed[0] in PEOPLE:
        out.append((os.path.join(folder, f),) + parsed)
  return sorted(out)


class DvaeYaleb(tfds.core.GeneratorBasedBuilder):
  """Extended Yale B cropped faces: 38 people x 64 lighting conditions."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = f'Put {FOLDER}/ or {ARCHIVE} in manual_dir. {HOW}'

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(None, None, 1), dtype=np.uint8),
            'label': tfds.features.ClassLabel(names=PEOPLE),
            'light_azimuth': np.int32,  # degrees
            'light_elevation': np.int32,  # degrees
        }),
        supervised_keys=('image', 'label'),
        homepage='http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html',
        citation=('Lee, Ho, Kriegman. Acquiring linear subspaces for face '
                  'recognition under variable lighting. PAMI 2005.'))

  def _split_generators(self, dl_manager):
    manual = sources.manual_dir(dl_manager)
    root = os.path.join(manual, FOLDER)
    if not os.path.isdir(root) and os.path.isfile(os.path.join(manual, ARCHIVE)):
      root = os.fspath(dl_manager.extract(os.path.join(manual, ARCHIVE)))
    images = find_images(root) if os.path.isdir(root) else []
    if not images:
      raise sources.missing_data_error('dvae_yaleb', EXPECTED, manual, HOW)
    test = [im for im in images if im[1] in TEST_PEOPLE]
    train = [im for im in images if im[1] not in TEST_PEOPLE]
    if not test or not train:
      raise errors.UserError(
          f'{root} holds only {"training" if train else "test"} people; '
          f'test people are {TEST_PEOPLE[0]}..{TEST_PEOPLE[-1]}')
    lights = sorted({im[2:] for im in train})
    held = set(lights[HELDOUT_EVERY - 1::HELDOUT_EVERY])
    return {
        'train': self._generate_examples([im for im in train
                                          if im[2:] not in held]),
        'heldout': self._generate_examples([im for im in train
                                            if im[2:] in held]),
        'test': self._generate_examples(test),
    }

  def _generate_examples(self, images):
    for path, person, azimuth, elevation in images:
      try:
        with Image.open(path) as im:
          image = np.asarray(im.convert('L'))[..., None]
      except OSError as e:
        raise errors.UserError(f'cannot read {path!r} ({e})') from e
      yield os.path.basename(path), {
          'image': image, 'label': person,
          'light_azimuth': azimuth, 'light_elevation': elevation}
