"""Orbax checkpoints of the TrainState: save every N steps, keep the last K,
resume from the newest one that restores.

Crash safety comes from Orbax: a step is written to
`<step>.orbax-checkpoint-tmp*` and renamed when complete, so a process killed
mid-save leaves only a temporary directory that is never listed as a step.
A step that is listed but cannot be read (truncated or corrupted later) is
reported, skipped, and kept: never deleted by the keep-last-K policy and never
overwritten, so nothing a user may want to inspect or repair is lost.
"""
import contextlib
import os
from typing import List, Optional

import jax
import orbax.checkpoint as ocp
from absl import logging

from dvae_jax.runtime import errors

# Disk problems, as errno values and as Orbax/TensorStore phrase them.
_DISK_FULL = ('No space left on device', "os_error_code='28'",
              'Disk quota exceeded', "os_error_code='122'")
_NO_PERMISSION = ('Permission denied', "os_error_code='13'",
                  'Read-only file system', "os_error_code='30'")


def checkpoint_dir(workdir: str) -> str:
  base = workdir if '://' in workdir else os.path.abspath(workdir)  # gs://
  return os.path.join(base, 'checkpoints')


def make_manager(workdir: str, keep: int, read_only: bool = False,
                 protect=()) -> ocp.CheckpointManager:
  """The caller decides when to save. Steps in `protect` are never deleted."""
  policy = ocp.checkpoint_managers.LatestN(keep)
  if protect:
    policy = ocp.checkpoint_managers.AnyPreservationPolicy(
        [policy, ocp.checkpoint_managers.CustomSteps(list(protect))])
  options = ocp.CheckpointManagerOptions(
      preservation_policy=policy, create=not read_only, read_only=read_only)
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def abstract_like(state_shapes, sharding) -> object:
  """ShapeDtypeStructs with a sharding, the target of a restore."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
      state_shapes)


def _disk_error(e: BaseException, what: str) -> Optional[errors.UserError]:
  """A UserError for a full or unwritable disk, else None."""
  text = f'{e!r} {getattr(e, "strerror", "")}'
  if any(p in text for p in _DISK_FULL):
    return errors.UserError(
        f'disk full while writing {what}: free space there or pass --workdir '
        'on another disk; the earlier checkpoints are intact and a rerun '
        'resumes from them')
  if any(p in text for p in _NO_PERMISSION):
    return errors.UserError(
        f'cannot write {what} (permission denied or read-only): pass '
        '--workdir=a directory you can write to')
  return None


def _shapes(tree) -> dict:
  """{'a/b/0': shape} for the arrays of a pytree (or Orbax metadata tree)."""
  leaves = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: hasattr(x, 'shape'))[0]
  name = lambda k: str(getattr(k, 'key', getattr(k, 'name',
                                                 getattr(k, 'idx', k))))
  return {'/'.join(map(name, path)): tuple(x.shape) for path, x in leaves
          if hasattr(x, 'shape')}


def shape_difference(saved, wanted, whole: bool = True) -> str:
  """The first array in which `saved` and `wanted` (pytrees or Orbax metadata
  trees) differ, as 'x of shape (3,), this config needs (4,)', 'no x, which
  this config needs with shape (4,)' or 'x of shape (4,), which this config
  does not have'; '' when none. whole=False: wanted is a part of the state
  (a reader's), and what else saved holds is no difference."""
  saved, wanted = _shapes(saved), _shapes(wanted)
  paths = set(wanted) | (set(saved) if whole else set())
  # Shallowest first, then by name: a network's parameters are named before
  # their optimizer's moments, which live deeper.
  for path in sorted(paths, key=lambda p: (p.count('/'), p)):
    if path not in saved:
      return f'no {path}, which this config needs with shape {wanted[path]}'
    if path not in wanted:
      return (f'{path} of shape {saved[path]}, which this config does not '
              'have')
    if saved[path] != wanted[path]:
      return (f'{path} of shape {saved[path]}, this config needs '
              f'{wanted[path]}')
  return ''


class Checkpoints:
  """The checkpoints of one workdir; read_only for readers (evaluation, the
  analogy command) of a run that may still be training: nothing is created,
  protected or deleted."""

  def __init__(self, workdir: str, keep: int = 1, read_only: bool = False):
    self.workdir, self.keep, self.read_only = workdir, keep, read_only
    self.directory = checkpoint_dir(workdir)
    self.unreadable: List[int] = []
    self._pending: Optional[int] = None  # step of a save that may be running
    self.manager = make_manager(workdir, keep, read_only=read_only)

  def steps(self) -> List[int]:
    return list(self.manager.all_steps())

  def restore(self, abstract_state) -> Optional[object]:
    """The newest checkpoint that restores onto abstract_state (a pytree of
    jax.ShapeDtypeStruct), or None when there are no checkpoints."""
    return self._restore_newest(lambda step: abstract_state)

  def restore_as_saved(self, sharding) -> Optional[dict]:
    """The newest checkpoint that restores, each onto the shapes and dtypes
    it was saved with, placed with `sharding`: a reader needs no config to
    know them. A dict tree; None when there are no checkpoints."""
    return self._restore_newest(
        lambda step: abstract_like(self._saved_tree(step), sharding))

  def check_restorable(self, abstract_state) -> None:
    """Raises a UserError naming the first array in which the newest step
    and abstract_state differ (a config that adds or removes a network, or
    changes a shape), before anything is restored or written. Says nothing
    when there is no step or its metadata cannot be read: restore then
    skips it."""
    steps = self.steps()
    if not steps:
      return
    newest = max(steps)
    difference = self._shape_difference(newest, abstract_state)
    if difference:
      raise errors.UserError(
          f'the checkpoints in {self.directory} do not fit this config'
          f'{difference}; use a new --workdir or the config the checkpoints '
          'were made with')

  def _saved_tree(self, step: int):
    """Orbax's metadata tree of a step (leaves with .shape and .dtype)."""
    metadata = ocp.StandardCheckpointer().metadata(
        os.path.join(self.directory, str(step), 'default'))  # Orbax's item
    return metadata.item_metadata.tree

  def _restore_newest(self, target_of) -> Optional[object]:
    """Tries the steps newest first, each onto target_of(step)."""
    restored = None
    for step in sorted(self.steps(), reverse=True):
      try:
        restored = self.manager.restore(
            step, args=ocp.args.StandardRestore(target_of(step)))
        break
      except Exception as e:  # pylint: disable=broad-except
        # Whatever makes one step unreadable, an older one may still be good
        # (a reader may also lose a step to the trainer's keep-last-K).
        self.unreadable.append(step)
        logging.warning(
            'Checkpoint %s cannot be restored (%s); trying an older one. '
            'It is left in place: inspect or delete it yourself.',
            os.path.join(self.directory, str(step)), errors.summary(e))
    if self.unreadable and not self.read_only:
      # Keep the unreadable steps out of the keep-last-K policy's reach.
      self.manager.close()
      self.manager = make_manager(self.workdir, self.keep,
                                  protect=self.unreadable)
    if self.unreadable and restored is None:
      newest = max(self.unreadable)
      raise errors.UserError(
          f'no checkpoint in {self.directory} can be restored (steps '
          f'{sorted(self.unreadable)}, see the warnings above)'
          f'{self._shape_difference(newest, target_of(newest))}; '
          + ('wait for the run\'s next save, or pass the --workdir of another '
             'run' if self.read_only else
             'use a new --workdir or the config they were made with'))
    return restored

  def _shape_difference(self, step: int, abstract_state) -> str:
    """', e.g. step 6 has x of shape (3,), this config needs (4,)', or ''."""
    try:
      saved = self._saved_tree(step)
    except Exception:  # pylint: disable=broad-except
      return ''  # unreadable metadata: nothing to compare
    difference = shape_difference(saved, abstract_state)
    return f': step {step} has {difference}' if difference else ''

  def save(self, step: int, state) -> None:
    """Starts an asynchronous save of state as `step` (not over an unreadable
    checkpoint of the same step, which stays as it is)."""
    if step in self.unreadable:
      logging.warning('Not saving step %d: %s/%d holds an unreadable '
                      'checkpoint, left in place; delete it to let it be '
                      'rewritten', step, self.directory, step)
      return
    # An error here may be that of the previous, asynchronous save.
    with self._disk_errors(self._pending or step):
      self.manager.save(step, args=ocp.args.StandardSave(state), force=True)
    self._pending = step

  def latest_step(self) -> Optional[int]:
    return self.manager.latest_step()

  def wait(self) -> None:
    """Blocks until the last save is on disk."""
    with self._disk_errors(self._pending):
      self.manager.wait_until_finished()
    self._pending = None

  @contextlib.contextmanager
  def _disk_errors(self, step: Optional[int]):
    """A full or read-only disk becomes a UserError naming the step."""
    try:
      yield
    except Exception as e:  # pylint: disable=broad-except
      user_error = _disk_error(
          e, f'checkpoint step {step} to {self.directory}')
      if user_error is None:
        raise
      raise user_error from e
