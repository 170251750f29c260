"""Workdir files: writes are all-or-nothing, a full disk is a UserError; what
a resume compares with the saved config."""
import errno
import json
import os

import pytest

from configs import default
from dvae_jax.runtime import errors, workdir


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


def test_resume_check_ignores_how_the_step_is_scheduled(tmp_path):
  """weight_grad_chunk changes no parameter: a run may resume with another
  (e.g. on more devices); model.width still refuses."""
  config = default.get_config('tiny')
  workdir.write_json(str(tmp_path / workdir.CONFIG),
                     json.loads(config.to_json_best_effort()))
  config.model.weight_grad_chunk = 16
  workdir.check_resumable(config, str(tmp_path))
  config.model.width = 5
  with pytest.raises(errors.UserError, match='model.width=4'):
    workdir.check_resumable(config, str(tmp_path))
