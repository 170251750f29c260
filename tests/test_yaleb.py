"""Extended Yale B builder, from .pgm files with the real names and layout."""
import contextlib
import logging
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from configs import yaleb as yaleb_config
from dvae_jax.runtime import errors
from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.training import loop as train
from dvae_jax.data.datasets import yaleb

TRAIN_PEOPLE = ('yaleB01', 'yaleB02', 'yaleB15')
TEST_PEOPLE = ('yaleB30', 'yaleB39')
LIGHTS = ((0, 0), (-35, 15), (35, 15), (-110, 65), (110, -20), (0, 90),
          (-5, -10), (70, 45), (-70, 45), (20, -40))  # (azimuth, elevation)
# As in the official zip, a corrupt frame is renamed .pgm.bad (no good twin).
BAD = ('yaleB15', (-35, 15))  # a training lighting (not every 5th)
AMBIENT_SIZES = {'yaleB01': (640, 480), 'yaleB02': (168, 192)}  # (w, h)


def face_name(person, az, el):
  return f'{person}_P00A{az:+04d}E{el:+03d}.pgm'


def write_cropped_yale(manual):
  """manual/CroppedYale/yaleBxx/ as the official zip unpacks: the faces
  yaleBxx_P00A+aaaE+ee.pgm (binary PGM), and the files the build skips."""
  rng = np.random.default_rng(0)
  for person in TRAIN_PEOPLE + TEST_PEOPLE:
    folder = manual / 'CroppedYale' / person
    os.makedirs(folder)
    level = 40 * (TRAIN_PEOPLE + TEST_PEOPLE).index(person)
    names = []
    for az, el in LIGHTS:
      pixels = np.clip(rng.integers(0, 60, (192, 168)) + level, 0, 255)
      name = face_name(person, az, el)
      if (person, (az, el)) == BAD:
        name += '.bad'
      Image.fromarray(pixels.astype(np.uint8), 'L').save(
          folder / name, format='PPM')  # PIL writes P5 PGM for mode L
      names.append(name)
    if person in AMBIENT_SIZES:
      Image.new('L', AMBIENT_SIZES[person], 7).save(
          folder / f'{person}_P00_Ambient.pgm')
      names.append(f'{person}_P00_Ambient.pgm')
    (folder / f'{person}_P00.info').write_text('\n'.join(names) + '\n')
    (folder / 'WS_FTP.LOG').write_text('2001.09.15 16:22 B C:\\vision\n')
  return manual


@contextlib.contextmanager
def absl_info_lines():
  """The messages absl.logging.info writes inside the block."""
  lines, logger = [], logging.getLogger('absl')

  class Keep(logging.Handler):
    def emit(self, record):
      lines.append(record.getMessage())
  handler, level = Keep(), logger.level
  logger.addHandler(handler)
  logger.setLevel(logging.INFO)
  try:
    yield lines
  finally:
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_file_names_are_parsed():
  assert yaleb.parse_name('yaleB05_P00A-035E+15.pgm') == ('yaleB05', -35, 15)
  assert yaleb.parse_name('yaleB11_P00A+110E+65.pgm') == ('yaleB11', 110, 65)
  assert yaleb.parse_name('yaleB05_P00_Ambient.pgm') is None
  assert yaleb.parse_name('yaleB05_P00A-035E+15.pgm.bad') is None
  assert len(yaleb.PEOPLE) == 38 and 'yaleB14' not in yaleb.PEOPLE


@pytest.fixture(scope='module')
def built(tmp_path_factory):
  root = tmp_path_factory.mktemp('yaleb')
  config = yaleb_config.get_config('tiny')
  config.data_dir = str(root / 'tfds')
  config.manual_dir = str(write_cropped_yale(root / 'manual'))
  with absl_info_lines() as log:
    builder = input_pipeline.get_builder(config)
  data = {s: tfds.as_numpy(builder.as_dataset(split=s, batch_size=-1,
                                              shuffle_files=False))
          for s in builder.info.splits}
  return config, builder, data, log


def test_only_lit_faces_are_read_and_the_rest_is_counted(tmp_path):
  root = write_cropped_yale(tmp_path) / 'CroppedYale'
  images, skipped = yaleb.find_images(str(root))
  people = TRAIN_PEOPLE + TEST_PEOPLE
  assert len(images) == len(people) * len(LIGHTS) - 1
  assert all(p.endswith('.pgm') and '_Ambient' not in p for p, *_ in images)
  assert skipped == {
      'ambient': [f'{p}/{p}_P00_Ambient.pgm' for p in sorted(AMBIENT_SIZES)],
      'bad': [f'{BAD[0]}/{face_name(BAD[0], *BAD[1])}.bad'],
      'info': [f'{p}/{p}_P00.info' for p in sorted(people)],
      'other': [f'{p}/WS_FTP.LOG' for p in sorted(people)]}


def test_build_logs_each_kind_skipped_and_the_split_sizes(built):
  log = built[3]
  people = TRAIN_PEOPLE + TEST_PEOPLE
  counts = {'_Ambient.pgm files': 2, '.pgm.bad files': 1,
            '.info files': len(people), 'other files': len(people)}
  for what, n in counts.items():
    assert sum(l.startswith(f'dvae_yaleb: skipped {n} ') and what in l
               for l in log) == 1, (what, log)
  train = len(TRAIN_PEOPLE) * (len(LIGHTS) - 2) - 1
  assert any(f'dvae_yaleb: {len(people) * len(LIGHTS) - 1} images of 5 people'
             in l and f'train {train}, heldout 6, test 20' in l and
             '2 of 10 lighting conditions' in l for l in log), log


def test_splits_hold_out_people_and_lighting(built):
  _, builder, data, _ = built
  names = builder.info.features['label'].names
  people = lambda split: {names[i] for i in data[split]['label']}
  assert people('train') == people('heldout') == set(TRAIN_PEOPLE)
  assert people('test') == set(TEST_PEOPLE)
  lights = lambda split: {tuple(x) for x in zip(
      data[split]['light_azimuth'], data[split]['light_elevation'])}
  held = set(sorted(LIGHTS)[4::5])
  assert lights('heldout') == held and not lights('train') & held
  assert lights('test') == set(LIGHTS)
  # the frame marked .bad is missing from its person's training images
  train = data['train']
  assert len(train['label']) == len(TRAIN_PEOPLE) * (len(LIGHTS) - 2) - 1
  assert (names.index(BAD[0]), *BAD[1]) not in set(zip(
      train['label'], train['light_azimuth'], train['light_elevation']))
  assert data['test']['image'].shape[1:] == (192, 168, 1)


def test_factors_reach_the_pipeline(built):
  config, builder, *_ = built
  info = input_pipeline.dataset_info(config, builder)
  assert info.factor_names == ('light_azimuth', 'light_elevation')
  assert info.num_classes == 38
  split = input_pipeline.load_split(config, builder, 'heldout', shard=False)
  assert split.images.shape == (len(TRAIN_PEOPLE) * 2, 32, 32, 1)
  assert set(map(tuple, split.factors.tolist())) == {
      tuple(map(float, l)) for l in sorted(LIGHTS)[4::5]}


def test_trains_a_few_steps(built, tmp_path):
  config = built[0].copy_and_resolve_references()
  config.num_train_steps = 2
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert summary['step'] == 2 and summary['num_identities'] == 3


def test_missing_files_are_one_clear_error(tmp_path):
  config = yaleb_config.get_config('tiny')
  config.data_dir = str(tmp_path / 'tfds')
  config.manual_dir = str(tmp_path / 'empty')
  with pytest.raises(errors.UserError) as e:
    input_pipeline.get_builder(config)
  assert 'CroppedYale/yaleBxx/yaleBxx_P00A+aaaE+ee.pgm' in str(e.value)
  assert str(tmp_path / 'empty') in str(e.value)
