"""Where dataset files come from: bounded downloads, manual_dir, clear errors.

Shared by every builder and by data/pipeline.py, so a missing dataset always ends
in one UserError that names the files, the folder they go in and the command.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Iterable, Optional

import tensorflow_datasets as tfds
from absl import logging

from dvae_jax.runtime import errors

# Seconds a socket may wait (connect or read) before a download gives up.
DOWNLOAD_TIMEOUT_S = 30
# tfds retries a failed request 10 times with backoff (~205 s offline); a
# transient error still gets a second chance.
DOWNLOAD_RETRIES = 2


@contextlib.contextmanager
def bounded_downloads(timeout_s: float = DOWNLOAD_TIMEOUT_S,
                      retries: int = DOWNLOAD_RETRIES):
  """Downloads in this block fail within ~timeout_s instead of hanging."""
  from tensorflow_datasets.core.download import downloader
  old_timeout, old_retries = socket.getdefaulttimeout(), downloader.MAX_RETRIES
  # tfds passes no timeout to requests, which then uses the socket default.
  socket.setdefaulttimeout(timeout_s)
  downloader.MAX_RETRIES = retries
  try:
    yield
  finally:
    socket.setdefaulttimeout(old_timeout)
    downloader.MAX_RETRIES = old_retries


def manual_dir(dl_manager) -> str:
  """The manual_dir of a download, whether or not it exists yet."""
  try:
    return os.fspath(dl_manager.manual_dir)
  except AssertionError:  # tfds refuses a missing or empty one; we explain it
    return os.fspath(dl_manager._manual_dir)  # pylint: disable=protected-access


def missing_data_error(dataset: str, expected: Iterable[str], where: str,
                       how: str = '') -> errors.UserError:
  """The one message for absent dataset files: what, where, and how to get it."""
  files = '\n  '.join(expected)
  return errors.UserError(
      f'dataset {dataset!r} is not prepared and its files were not found.\n'
      f'Expected in {where}:\n  {files}\n'
      f'Put them there (or pass --config.manual_dir=DIR holding them; '
      f'--config.data_dir / TFDS_DATA_DIR choose where the prepared dataset '
      f'goes).{" " + how if how else ""}')


def _is_ours(builder) -> bool:
  return type(builder).__module__.startswith('dvae_jax.')


def prepare(builder: tfds.core.DatasetBuilder,
            manual_dir_path: Optional[str] = None) -> tfds.core.DatasetBuilder:
  """Prepares builder if needed; offline failures become one UserError."""
  if builder.is_prepared():
    return builder
  config = tfds.download.DownloadConfig(try_download_gcs=False,
                                        manual_dir=manual_dir_path)
  logging.info('Preparing dataset %s in %s (first use only; progress bars '
               'follow)', builder.name, builder.data_dir)
  start = time.time()
  try:
    with bounded_downloads():
      builder.download_and_prepare(download_config=config)
  except OSError as e:  # requests' ConnectionError and socket timeouts too
    if _is_ours(builder):
      raise
    urls = sorted((builder.url_infos or {}).keys())
    raise errors.UserError(
        f'dataset {builder.name!r} could not be downloaded ({type(e).__name__}: '
        f'{str(e)[:200]}); no network? On a machine with the network run\n'
        f'  tfds build {builder.name} --data_dir=DIR\n'
        f'and copy DIR/{builder.name} into {builder.data_dir_root} (or point '
        f'TFDS_DATA_DIR / --config.data_dir at DIR). Or put the source files '
        f'({", ".join(urls) or "see the tfds catalog"}) in '
        f'{manual_dir_path or builder.data_dir_root / "downloads" / "manual"}.'
    ) from e
  logging.info('Prepared dataset %s in %.0f s', builder.name,
               time.time() - start)
  return builder
