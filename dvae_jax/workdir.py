"""The files of a workdir besides checkpoints: writability, the config the
checkpoints were made with (config.json), one record per start (runs/), and
atomic writes so that a failure never leaves a half-written file."""
import datetime
import json
import os
import sys

import jax

from dvae_jax import errors, provenance

CONFIG = 'config.json'
RUNS = 'runs'
# Keys that define the checkpointed state or the data it was trained on: a
# checkpoint resumed with other values would be wrong or would not load.
STATE_KEYS = ('dataset', 'train_split', 'image_key', 'label_key',
              'image_size', 'channels', 'resize', 'adversary', 'model.')
Z_CLASSIFIER = 'loss.z_classifier > 0'  # whether that network exists


def check_writable(workdir: str) -> None:
  """Creates workdir and fails early, with the fix, if it cannot be written."""
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f'.write_test_{os.getpid()}')
    with open(probe, 'w') as f:
      f.write('ok')
    os.remove(probe)
  except OSError as e:
    raise errors.UserError(
        f'workdir {workdir!r} cannot be written ({e.strerror}); pass '
        '--workdir=a directory you can write to') from e


def write_json(path: str, obj) -> None:
  """Writes obj as JSON all at once (temporary file + rename)."""
  tmp = f'{path}.tmp{os.getpid()}'
  try:
    with open(tmp, 'w') as f:
      json.dump(obj, f, indent=2, default=str)
    os.replace(tmp, path)
  except OSError as e:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise errors.UserError(
        f'cannot write {path} ({e.strerror}): free space on that disk or '
        'pass --workdir=a directory you can write to') from e


def _flat(d: dict, prefix: str = '') -> dict:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v
  return out


def _state_defining(config: dict) -> dict:
  flat = _flat(config)
  out = {k: v for k, v in flat.items()
         if any(k == s or (s.endswith('.') and k.startswith(s))
                for s in STATE_KEYS)}
  out[Z_CLASSIFIER] = flat.get('loss.z_classifier', 0) > 0
  return out


def _config_dict(config) -> dict:
  return json.loads(config.to_json_best_effort())


def check_resumable(config, workdir: str) -> None:
  """Raises a UserError saying what differs if workdir's checkpoints were
  made with another architecture or dataset than `config`."""
  path = os.path.join(workdir, CONFIG)
  if not os.path.exists(path):
    return  # nothing to compare with; a restore onto other shapes still fails
  with open(path) as f:
    saved = _state_defining(json.load(f))
  current = _state_defining(_config_dict(config))
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
  runs = os.path.join(workdir, RUNS)
  try:
    os.makedirs(runs, exist_ok=True)
  except OSError as e:
    raise errors.UserError(f'cannot create {runs} ({e.strerror})') from e
  path = os.path.join(runs, f'{len(os.listdir(runs)):04d}.json')
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
