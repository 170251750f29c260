"""Downloads are bounded, and a missing catalog dataset is one clear error."""
import socket
import time

import pytest
import requests
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import downloader

from dvae_jax.runtime import errors
from dvae_jax.data.datasets import sources


def test_bounded_downloads_sets_and_restores_limits():
  before = socket.getdefaulttimeout(), downloader.MAX_RETRIES
  with sources.bounded_downloads(timeout_s=7, retries=1):
    assert socket.getdefaulttimeout() == 7 and downloader.MAX_RETRIES == 1
  assert (socket.getdefaulttimeout(), downloader.MAX_RETRIES) == before


@pytest.mark.timeout(60)
def test_offline_catalog_download_fails_fast_with_the_fix(tmp_path, monkeypatch):
  """tfds' real download path, with the network blocked below requests."""
  def offline(*args, **kwargs):
    raise requests.exceptions.ConnectionError('network blocked by the test')
  monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send', offline)
  builder = tfds.builder('mnist', data_dir=str(tmp_path))
  start = time.time()
  with pytest.raises(errors.UserError) as e:
    sources.prepare(builder)
  assert time.time() - start < 30
  msg = str(e.value)
  assert "dataset 'mnist' could not be downloaded" in msg
  assert 'tfds build mnist --data_dir=DIR' in msg
  assert 'train-images-idx3-ubyte.gz' in msg
  assert str(tmp_path / 'downloads' / 'manual') in msg


def test_missing_data_error_names_files_place_and_how():
  e = sources.missing_data_error('x', ['a.mat', 'b/'], '/m', 'Get it at U.')
  assert isinstance(e, errors.UserError)
  for part in ('a.mat', 'b/', '/m', '--config.manual_dir', 'TFDS_DATA_DIR',
               'Get it at U.'):
    assert part in str(e)
