"""Extended Yale B, cropped faces (Lee, Ho, Kriegman 2005) in tfds.

Not downloadable without a click-through; put the "CroppedYale" folder (or
CroppedYale.zip) in manual_dir. It holds CroppedYale/yaleBxx/ for 38 people
(xx = 01..39 without 14), each with up to 64 grayscale 192x168 images
yaleBxx_P00A+aaaE+ee.pgm: frontal pose (P00), light source azimuth aaa and
elevation ee in degrees. The official zip also holds, and the build skips
(logging one line with the count of each kind):
- yaleBxx_P00_Ambient.pgm, the face with no light source on: not one of the
  64 lighting conditions (skipped by name, whatever its size);
- *.pgm.bad, frames the database marks as corrupt (their good twin is absent,
  so a person has 59..64 images);
- yaleBxx_P00.info, the list of a person's files;
- anything else (WS_FTP.LOG, DEADJOE: leftovers of the 2001 upload).

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
from absl import logging
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


# Files of the official zip that are not images of a lighting condition:
# kind -> (what identifies it, why it is skipped), in the order logged.
SKIPPED = {
    'ambient': ('_Ambient.pgm', 'ambient shots, no light source on: not one '
                'of the 64 lighting conditions'),
    'bad': ('.pgm.bad', 'frames the database marks as corrupt'),
    'info': ('.info', "lists of each person's files"),
    'other': ('', 'neither a face image of yaleB01..yaleB39 (but 14) nor one '
              'of the above'),
}


def skipped_kind(name: str) -> str:
  """Which SKIPPED kind a file that parse_name rejects is."""
  for kind, (suffix, _) in SKIPPED.items():
    if suffix and name.endswith(suffix):
      return kind
  return 'other'


def find_images(root: str) -> tuple[list[tuple[str, str, int, int]],
                                    dict[str, list[str]]]:
  """[(path, person, azimuth, elevation)] under root sorted by path, and the
  files skipped: {SKIPPED kind: sorted paths relative to root}."""
  images, skipped = [], {kind: [] for kind in SKIPPED}
  for folder, _, files in os.walk(root):
    for f in files:
      parsed = parse_name(f)
      if parsed and parsed[0] in PEOPLE:
        images.append((os.path.join(folder, f),) + parsed)
      else:
        skipped[skipped_kind(f)].append(
            os.path.relpath(os.path.join(folder, f), root))
  return sorted(images), {k: sorted(v) for k, v in skipped.items()}


def log_skipped(skipped: dict[str, list[str]]) -> None:
  """One line per kind of skipped file: count, pattern, why, an example."""
  for kind, files in skipped.items():
    if files:
      suffix, why = SKIPPED[kind]
      logging.info('dvae_yaleb: skipped %d %s (%s), e.g. %s', len(files),
                   f'*{suffix} files' if suffix else 'other files', why,
                   files[0])


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
    images, skipped = find_images(root) if os.path.isdir(root) else ([], {})
    if not images:
      raise sources.missing_data_error('dvae_yaleb', EXPECTED, manual, HOW)
    log_skipped(skipped)
    test = [im for im in images if im[1] in TEST_PEOPLE]
    train = [im for im in images if im[1] not in TEST_PEOPLE]
    if not test or not train:
      raise errors.UserError(
          f'{root} holds only {"training" if train else "test"} people; '
          f'test people are {TEST_PEOPLE[0]}..{TEST_PEOPLE[-1]}')
    lights = sorted({im[2:] for im in train})
    held = set(lights[HELDOUT_EVERY - 1::HELDOUT_EVERY])
    parts = {'train': [im for im in train if im[2:] not in held],
             'heldout': [im for im in train if im[2:] in held],
             'test': test}
    logging.info('dvae_yaleb: %d images of %d people in %s: %s (heldout: %d '
                 'of %d lighting conditions)', len(images),
                 len({im[1] for im in images}), root,
                 ', '.join(f'{k} {len(v)}' for k, v in parts.items()),
                 len(held), len(lights))
    return {k: self._generate_examples(v) for k, v in parts.items()}

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
