"""Checkpoints: round trip, keep-last-K, a kill during a save, corrupt and
truncated checkpoints, a full disk."""
import glob
import os
import shutil
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from dvae_jax.runtime import checkpointing, errors, parallel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _state(value):
  return {'step': jnp.array(value, jnp.int32),
          'params': {'w': jax.random.normal(jax.random.key(value), (64, 32))}}


@pytest.fixture
def abstract():
  mesh = parallel.make_mesh(jax.devices()[:1])
  return checkpointing.abstract_like(jax.eval_shape(lambda: _state(0)),
                                     parallel.replicated(mesh))


def _saved(workdir, steps, keep=3):
  store = checkpointing.Checkpoints(str(workdir), keep=keep)
  for step in steps:
    store.save(step, _state(step))
  store.wait()
  return store


def _assert_state(restored, value):
  jax.tree.map(np.testing.assert_array_equal, restored, _state(value))


def test_round_trip_and_keep_last(tmp_path, abstract):
  assert checkpointing.Checkpoints(str(tmp_path), keep=2).restore(
      abstract) is None
  store = _saved(tmp_path, (1, 2, 3), keep=2)
  assert store.steps() == [2, 3]
  restored = checkpointing.Checkpoints(str(tmp_path), keep=2).restore(abstract)
  _assert_state(restored, 3)
  assert restored['params']['w'].sharding == abstract['params']['w'].sharding


def _largest_data_file(step_dir):
  return max(glob.glob(f'{step_dir}/**/d/*', recursive=True),
             key=os.path.getsize)


def _truncate(step_dir):
  path = _largest_data_file(step_dir)
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) // 2)


def _overwrite_bytes(step_dir):
  with open(_largest_data_file(step_dir), 'r+b') as f:
    f.write(b'\0' * 64)


def _garbage_metadata(step_dir):
  with open(os.path.join(step_dir, 'default', '_METADATA'), 'w') as f:
    f.write('garbage')


@pytest.mark.parametrize('corrupt', [_truncate, _overwrite_bytes,
                                     _garbage_metadata])
def test_corrupt_latest_is_named_skipped_and_kept(tmp_path, abstract, corrupt,
                                                  caplog):
  _saved(tmp_path, (1, 2))
  bad_dir = os.path.join(checkpointing.checkpoint_dir(str(tmp_path)), '2')
  corrupt(bad_dir)
  store = checkpointing.Checkpoints(str(tmp_path), keep=2)
  with caplog.at_level('WARNING', logger='absl'):
    _assert_state(store.restore(abstract), 1)
  assert f'Checkpoint {bad_dir} cannot be restored' in caplog.text
  assert store.unreadable == [2]
  # Saving on from step 1: step 2 is not overwritten, and the keep-last-2
  # policy neither deletes it nor counts on it.
  for step in (2, 3, 4):
    store.save(step, _state(step))
  store.wait()
  assert store.steps() == [2, 3, 4]
  assert 'Not saving step 2' in caplog.text
  with pytest.raises(Exception):
    store.manager.restore(2)


def test_no_restorable_checkpoint_is_a_user_error(tmp_path, abstract):
  _saved(tmp_path, (1,))
  _truncate(os.path.join(checkpointing.checkpoint_dir(str(tmp_path)), '1'))
  with pytest.raises(errors.UserError, match=r'no checkpoint in .* can be '
                     r'restored \(steps \[1\]'):
    checkpointing.Checkpoints(str(tmp_path), keep=2).restore(abstract)
  assert os.path.isdir(
      os.path.join(checkpointing.checkpoint_dir(str(tmp_path)), '1'))


def _tree(shapes):
  """{'a/b': shape} -> {'a': {'b': ShapeDtypeStruct}}."""
  return traverse_util.unflatten_dict(
      {k: jax.ShapeDtypeStruct(v, jnp.float32) for k, v in shapes.items()},
      sep='/')


def test_shape_difference_names_the_first_difference_either_way():
  """An array only one side has, or has in another shape; the shallowest
  first (a parameter before its optimizer's moments), then by name."""
  base = {'step': (), 'params/w': (4, 3), 'opt/0/mu/w': (4, 3)}
  head = {'params/head/kernel': (3, 2), 'opt/0/mu/head/kernel': (3, 2)}
  assert checkpointing.shape_difference(_tree(base), _tree(base)) == ''
  assert checkpointing.shape_difference(
      _tree({**base, **head}), _tree(base)) == (
          'params/head/kernel of shape (3, 2), which this config does not '
          'have')
  assert checkpointing.shape_difference(
      _tree(base), _tree({**base, **head})) == (
          'no params/head/kernel, which this config needs with shape (3, 2)')
  wider = {**base, 'params/w': (5, 3), 'opt/0/mu/w': (5, 3)}
  assert checkpointing.shape_difference(_tree(base), _tree(wider)) == (
      'params/w of shape (4, 3), this config needs (5, 3)')
  # A reader wants part of the state: what else the checkpoint holds is fine.
  assert checkpointing.shape_difference(
      _tree({**base, **head}), _tree({'params/w': (4, 3)}), whole=False) == ''
  assert checkpointing.shape_difference(
      _tree(base), _tree({'params/v': (2,)}), whole=False) == (
          'no params/v, which this config needs with shape (2,)')


def test_check_restorable_names_the_first_difference_in_one_line(tmp_path,
                                                                  abstract):
  store = _saved(tmp_path, (1, 2))
  store.check_restorable(abstract)  # Orbax's metadata tree: the same arrays
  more = {**abstract, 'head': _tree({'b': (3,)})}
  fewer = {'step': abstract['step']}
  for wanted, difference in [
      (more, 'no head/b, which this config needs with shape (3,)'),
      (fewer, 'params/w of shape (64, 32), which this config does not have')]:
    with pytest.raises(errors.UserError) as caught:
      store.check_restorable(wanted)
    assert str(caught.value) == (
        f'the checkpoints in {store.directory} do not fit this config: step '
        f'2 has {difference}; use a new --workdir or the config the '
        'checkpoints were made with')
  assert store.steps() == [1, 2]
  checkpointing.Checkpoints(str(tmp_path / 'new')).check_restorable(more)
  # Unreadable metadata says nothing: restore skips that step.
  _garbage_metadata(os.path.join(store.directory, '2'))
  store.check_restorable(more)


_KILL_DURING_SAVE = textwrap.dedent('''
    import os, signal, sys
    import jax, jax.numpy as jnp
    from dvae_jax.runtime import checkpointing
    store = checkpointing.Checkpoints(sys.argv[1], keep=1)
    store.save(1, {'step': jnp.array(1, jnp.int32),
                   'params': {'w': jax.random.normal(jax.random.key(1),
                                                     (64, 32))}})
    store.wait()
    big = jax.random.normal(jax.random.key(0), (4_000_000,))  # 16 MB
    store.save(2, {'step': jnp.array(2, jnp.int32), 'params': {'w': big}})
    print(sorted(os.listdir(store.directory)), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # while the save is being written
''')


def test_kill_during_save_leaves_previous_checkpoint(tmp_path, abstract):
  result = subprocess.run([sys.executable, '-c', _KILL_DURING_SAVE,
                           str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert result.returncode == -9, result.stderr[-2000:]
  # The kill hit the save: step 2 exists only as a temporary directory.
  assert "'2.orbax-checkpoint-tmp" in result.stdout
  store = checkpointing.Checkpoints(str(tmp_path), keep=1)
  assert store.steps() == [1]
  _assert_state(store.restore(abstract), 1)
  store.save(2, _state(2))  # and the next save of that step works
  store.wait()
  assert store.steps() == [2]


def test_disk_full_during_save_is_a_user_error(tmp_path, monkeypatch):
  store = _saved(tmp_path, (1,))

  def full(*args, **kwargs):
    # What Orbax raises on ENOSPC (seen on a full tmpfs).
    raise ValueError('RESOURCE_EXHAUSTED: Error writing "w/0": Failed to '
                     'write 930175 bytes to file 11: No space left on device '
                     "[os_error_code='28']")
  store.save(2, _state(2))
  monkeypatch.setattr(store.manager, 'wait_until_finished', full)
  with pytest.raises(errors.UserError,
                     match='disk full while writing checkpoint step 2 to'):
    store.wait()


def _can_mount_tmpfs():
  return (shutil.which('unshare') and subprocess.run(
      ['unshare', '--mount', 'true'], capture_output=True).returncode == 0)


@pytest.mark.skipif(not _can_mount_tmpfs(),
                    reason='needs unshare --mount (root) for a small tmpfs')
def test_real_full_disk_during_save(tmp_path):
  """A real ENOSPC: checkpoints into a 600 KiB tmpfs in a private mount
  namespace (nothing outside this process sees it)."""
  script = textwrap.dedent('''
      import sys, jax, jax.numpy as jnp
      from dvae_jax.runtime import checkpointing, errors
      store = checkpointing.Checkpoints(sys.argv[1], keep=3)
      store.save(1, {'w': jnp.ones((8,))})
      store.wait()
      try:
        store.save(2, {'w': jax.random.normal(jax.random.key(0), (400_000,))})
        store.wait()
      except errors.UserError as e:
        print('USER ERROR:', e)
      print('steps', store.steps())
  ''')
  mnt = tmp_path / 'mnt'
  mnt.mkdir()
  result = subprocess.run(
      ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
       f'mount -t tmpfs -o size=600k tmpfs {mnt} && '
       f'{sys.executable} -c "$0" {mnt}/work', script],
      cwd=REPO, capture_output=True, text=True, timeout=120,
      env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert 'USER ERROR: disk full while writing checkpoint step 2' in (
      result.stdout), result.stderr[-2000:]
