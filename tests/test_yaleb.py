"""Extended Yale B builder, from .pgm files with the real names and layout."""
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


def write_cropped_yale(manual):
  """manual/CroppedYale/yaleBxx/yaleBxx_P00A+aaaE+ee.pgm (+ the extra files)."""
  rng = np.random.default_rng(0)
  for person in TRAIN_PEOPLE + TEST_PEOPLE:
    folder = manual / 'CroppedYale' / person
    os.makedirs(folder)
    level = 40 * (TRAIN_PEOPLE + TEST_PEOPLE).index(person)
    for az, el in LIGHTS:
      pixels = np.clip(rng.integers(0, 60, (192, 168)) + level, 0, 255)
      Image.fromarray(pixels.astype(np.uint8), 'L').save(
          folder / f'{person}_P00A{az:+04d}E{el:+03d}.pgm')
    # Skipped like in the real folders: ambient shots and broken files.
    Image.new('L', (168, 192)).save(folder / f'{person}_P00_Ambient.pgm')
    (folder / f'{person}_P00A+050E-40.pgm.bad').write_bytes(b'broken')
  return manual


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
  builder = input_pipeline.get_builder(config)
  data = {s: tfds.as_numpy(builder.as_dataset(split=s, batch_size=-1,
                                              shuffle_files=False))
          for s in builder.info.splits}
  return config, builder, data


def test_splits_hold_out_people_and_lighting(built):
  _, builder, data = built
  names = builder.info.features['label'].names
  people = lambda split: {names[i] for i in data[split]['label']}
  assert people('train') == people('heldout') == set(TRAIN_PEOPLE)
  assert people('test') == set(TEST_PEOPLE)
  lights = lambda split: {tuple(x) for x in zip(
      data[split]['light_azimuth'], data[split]['light_elevation'])}
  held = set(sorted(LIGHTS)[4::5])
  assert lights('heldout') == held and not lights('train') & held
  assert lights('test') == set(LIGHTS)
  assert len(data['train']['label']) == len(TRAIN_PEOPLE) * (len(LIGHTS) - 2)
  assert data['test']['image'].shape[1:] == (192, 168, 1)


def test_factors_reach_the_pipeline(built):
  config, builder, _ = built
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
