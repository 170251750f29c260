"""The files of a workdir besides checkpoints: writability, the config the
checkpoints were made with (config.json), one record per start (runs/), and
the one way to read and write them and the evaluation's files (eval/):
through etils epath, so a gs:// workdir works like a local one, and atomic,
so a failure never leaves a half-written file."""
import datetime
import json
import os
import sys

import jax
from etils import epath  # local paths and gs:// alike
from flax import traverse_util

from dvae_jax.runtime import errors, provenance

CONFIG = 'config.json'
RUNS = 'runs'
EVAL = 'eval'  # metrics.json, report.md, figures, the judge's cache
METRICS = 'metrics.json'  # under EVAL: every metric of the newest evaluation
# Keys that define the checkpointed state: a checkpoint resumed with other
# values would not load. (What defines the data, the caller passes; what
# else adds or removes a network, the checkpoints' own check finds:
# checkpointing.Checkpoints.check_restorable.)
STATE_KEYS = ('adversary', 'model.')
# Under model. but only how the step is computed, not what the state holds.
SCHEDULE_KEYS = ('model.weight_grad_chunk',)
# Keys added after workdirs were first written, with the value that gives
# the behaviour of the code before them: a config.json without them loads.
ADDED_KEYS = {'loss.s_classifier': 0.0, 'loss.z_independence': 0.0,
              'data_path': None, 'test_classes': 0,
              'model.separate_s_encoder': False, 's_pretrain_steps': 0,
              'eval.s_group_images': 0}
# Keys of options removed after they lost (docs/RESULTS.md): key -> (the
# value that turned it off, a commit that still has it). A config.json with
# that value loads without the key; one with another is refused, naming the
# commit (each its own: an option's code changes until it is removed).
REMOVED_KEYS = {'model.z_mean_dead_zone': (0.0, 'e5fe788'),
                'loss.z_independence_floor': (0.0, 'e5fe788'),
                'loss.reverse_cycle': (0.0, '92d12fe'),
                'loss.z_classifier': (0.0, '2930140'),
                'loss.z_adversary': (0.0, '7070a1c'),
                'lr_decay_steps': (0, '1df60bf'),
                'model.s_modulation': (False, '1fbc0b5')}
# Settings of a removed option, key -> the option's key in REMOVED_KEYS: they
# did nothing while it was off, so they are dropped whatever their value and
# only the option's own value decides a refusal.
REMOVED_SETTINGS = {'loss.z_classifier_input': 'loss.z_classifier',
                    'z_adversary_steps': 'loss.z_adversary'}


def check_writable(workdir: str) -> None:
  """Creates workdir and fails early, with the fix, if it cannot be written."""
  try:
    epath.Path(workdir).mkdir(parents=True, exist_ok=True)
    # Hosts of a multi-host run share the workdir; their pids may collide.
    probe = epath.Path(workdir,
                       f'.write_test_{jax.process_index()}_{os.getpid()}')
    probe.write_text('ok')
    probe.unlink()
  except OSError as e:
    raise errors.UserError(
        f'workdir {workdir!r} cannot be written ({e.strerror}); pass '
        '--workdir=a directory you can write to') from e


def write_bytes(path, data: bytes) -> None:
  """Writes data to path (local or gs://) all at once: a temporary file, then
  a rename, so a reader never sees half a file and a failed write keeps the
  old one. Creates the parent directory."""
  tmp = epath.Path(f'{path}.tmp{os.getpid()}')
  try:
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open('wb') as f:
      f.write(data)
    tmp.replace(path)
  except OSError as e:
    if tmp.exists():
      tmp.unlink()
    raise errors.UserError(
        f'cannot write {path} ({e.strerror}): free space on that disk or '
        'pass --workdir=a directory you can write to') from e


def write_text(path, text: str) -> None:
  """write_bytes of text in UTF-8."""
  write_bytes(path, text.encode('utf-8'))


def write_json(path, obj, sort_keys: bool = False) -> None:
  """write_text of obj as indented JSON (unknown types as their str)."""
  write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys, default=str))


def read_json(path):
  """The JSON object in path (local or gs://)."""
  return json.loads(epath.Path(path).read_text())


def _state_defining(config: dict, data_keys) -> dict:
  flat = traverse_util.flatten_dict(config, sep='.')
  keys = tuple(data_keys) + STATE_KEYS
  return {k: v for k, v in flat.items()
          if any(k == s or (s.endswith('.') and k.startswith(s))
                 for s in keys) and k not in SCHEDULE_KEYS}


def _removed_at(keys) -> str:
  """What to check out for a run that used the removed options `keys`: their
  commit if they share one, else which commit has which."""
  commits = {REMOVED_KEYS[k][1] for k in keys}
  if len(commits) == 1:
    return commits.pop()
  return 'a commit that has them all ({})'.format(', '.join(
      f'{REMOVED_KEYS[k][1]} has {k}' for k in keys))


def _upgraded(saved: dict, workdir: str) -> dict:
  """A saved config (nested dict) as today's code reads it: the keys of
  ADDED_KEYS it lacks added, those of REMOVED_KEYS and REMOVED_SETTINGS
  dropped; a UserError naming a removed key it has at another value than the
  one that turned its option off (today's code cannot reproduce that run)."""
  flat = traverse_util.flatten_dict(saved, sep='.')
  used = [k for k, (off, _) in REMOVED_KEYS.items()
          if k in flat and flat[k] != off]
  if used:
    settings = [f'{k}={flat[k]!r}' for k in used]
    more = f' (and {", ".join(settings[1:])})' if settings[1:] else ''
    raise errors.UserError(
        f'workdir {workdir!r} was trained with {settings[0]}{more}, an option '
        'removed after it lost (docs/RESULTS.md); check out '
        f'{_removed_at(used)} to resume or evaluate it')
  for key in (*REMOVED_KEYS, *REMOVED_SETTINGS):
    flat.pop(key, None)
  for key, value in ADDED_KEYS.items():
    flat.setdefault(key, value)
  return traverse_util.unflatten_dict(flat, sep='.')


def read_config(workdir: str):
  """workdir's config.json as today's code reads it (_upgraded), or None if
  it has none. A UserError if it used a removed option."""
  path = epath.Path(workdir, CONFIG)
  if not path.exists():
    return None
  return _upgraded(read_json(path), workdir)


def check_no_removed_options(workdir: str) -> None:
  """A UserError if workdir's config.json used an option removed since
  (REMOVED_KEYS); nothing if it has none."""
  read_config(workdir)


def _config_dict(config) -> dict:
  return json.loads(config.to_json_best_effort())


def check_resumable(config, workdir: str, data_keys) -> None:
  """Raises a UserError saying what differs if workdir's checkpoints were
  made with another architecture or other data than `config`, or with a
  removed option; data_keys: the config keys that define the data
  (data/pipeline.DATA_KEYS)."""
  saved = read_config(workdir)
  if saved is None:
    return  # nothing to compare with; a restore onto other shapes still fails
  saved = _state_defining(saved, data_keys)
  current = _state_defining(_config_dict(config), data_keys)
  diffs = [k for k in sorted(set(saved) | set(current))
           if saved.get(k) != current.get(k)]
  if diffs:
    k = diffs[0]
    more = f' (and {", ".join(diffs[1:])})' if diffs[1:] else ''
    raise errors.UserError(
        f'workdir {workdir!r} was trained with {k}={saved.get(k)!r}, this '
        f'config has {current.get(k)!r}{more}; use a new --workdir or the '
        'same config')


def record_run(config, workdir: str, start_step: int) -> str:
  """Writes runs/<n>.json (config, versions, start step, command) and, for a
  fresh start, config.json. Returns the record's path."""
  if jax.process_index() != 0:
    return ''
  config_dict = _config_dict(config)
  if start_step == 0:  # config.json describes the checkpoints: keep it after
    write_json(os.path.join(workdir, CONFIG), config_dict)
  runs = epath.Path(workdir, RUNS)
  try:
    runs.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise errors.UserError(f'cannot create {runs} ({e.strerror})') from e
  path = str(runs / f'{len(list(runs.iterdir())):04d}.json')
  write_json(path, {
      'started': datetime.datetime.now(datetime.timezone.utc).isoformat(),
      'start_step': start_step,
      'command': sys.argv,
      'devices': [str(d) for d in jax.devices()],
      'process_count': jax.process_count(),
      'versions': provenance.versions(),
      'config': config_dict,
  })
  return path
