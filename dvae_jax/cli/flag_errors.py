"""One-line messages for mistakes on the command line.

ml_collections' config flags raise at flag parsing (an unknown key is a
KeyError/AttributeError deep inside absl, a missing config file an OSError on
first use); these turn any of them into a sentence with the fix.
"""
import re
from typing import Sequence

_DID_YOU_MEAN = re.compile(r'Did you mean "([^"]+)" instead of "([^"]+)"')
_MISSING_FILE = re.compile(r"No such file or directory: '([^']+)'")
_LAST_ERROR = re.compile(r'^\s*(\w+(?:Error|Exception)): (.+)$', re.M)


def _override_with(key: str, argv: Sequence[str]) -> str:
  """The --config.a.key=... argument that names `key`, as typed."""
  for arg in argv:
    path = arg.split('=', 1)[0]
    if path.startswith('--config.') and key in path.split('.'):
      return path[2:]
  return f'config.{key}'


def describe(e: BaseException, argv: Sequence[str]) -> str:
  """A one-line description of a flag-parsing failure, with the fix."""
  text = str(e)
  if isinstance(e, (KeyError, AttributeError)):
    text = text.replace("\\'", "'").replace('\\"', '"')
    hint = _DID_YOU_MEAN.search(text)
    quoted = re.search(r"'(\w+)'", text)
    key = hint.group(2) if hint else quoted.group(1) if quoted else text
    dotted = _override_with(key, argv)[len('config.'):]
    if hint:
      parent = dotted.rsplit('.', 1)[0] + '.' if '.' in dotted else ''
      return (f'config has no key {dotted!r} (did you mean '
              f'{parent + hint.group(1)!r}?)')
    return f'config has no key {dotted!r}; see the config file for the keys'
  missing = _MISSING_FILE.search(text)
  if missing:
    return (f'config file {missing.group(1)!r} not found; pass e.g. '
            '--config=configs/default.py')
  if 'must have a value other than None' in text:
    flag = re.search(r'Flag --(\w+)', text)
    return f'--{flag.group(1) if flag else "config"} is required'
  if 'Error whilst parsing config file' in text:
    errors_in_file = _LAST_ERROR.findall(text)
    what = (f'{errors_in_file[-1][0]}: {errors_in_file[-1][1]}'
            if errors_in_file else text.splitlines()[0])
    return f'the config file failed: {what}'
  first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
  if first.startswith('flag --config.'):
    return (f'{first} (wrong type for this key: give a value of the type in '
            'the config file)')
  return first
