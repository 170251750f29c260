"""Workdir files: writes are all-or-nothing, a full disk is a UserError."""
import errno
import json
import os

import pytest

from dvae_jax import errors, workdir


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
  path = str(tmp_path / 'summary.json')
  workdir.write_json(path, {'step': 1})

  def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
  monkeypatch.setattr(json, 'dump', full)
  with pytest.raises(errors.UserError, match=r'cannot write .*summary.json '
                     r'\(No space left on device\): free space'):
    workdir.write_json(path, {'step': 2})
  monkeypatch.undo()
  with open(path) as f:
    assert json.load(f) == {'step': 1}
  assert os.listdir(tmp_path) == ['summary.json']  # no temporary file left
