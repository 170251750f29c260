"""What every command line shares (main, analogy, aot_check, compare).

`run(main)` is absl's app.run with: TensorFlow quiet, a console that shows
our own lines and every warning but not the libraries' INFO chatter (pass
--verbosity=0, or -v 0, for all of it), flag mistakes and errors.UserError
as one line `error: ...` with exit code 2, and errors.Stopped as
`stopped: ...` with its own code. Import this module before anything that
imports TensorFlow; a command that reads data calls `import_tensorflow()`
(TensorFlow off the accelerators, they belong to JAX) before it imports the
data stack.
"""
import logging as pylogging
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app, flags, logging  # noqa: E402

from dvae_jax.cli import flag_errors  # noqa: E402
from dvae_jax.runtime import errors  # noqa: E402

FLAGS = flags.FLAGS


class Console(pylogging.Filter):
  """Which log records reach the console. Orbax logs every step of every
  save at INFO: only its warnings pass, without the tracebacks it attaches
  (we report its errors in one line). Other libraries' INFO lines (tfds,
  clu's metric lines, jax) pass only when `verbose`."""

  def __init__(self, verbose: bool):
    super().__init__()
    self.verbose = verbose

  def filter(self, record):
    if '/orbax/' in record.pathname:
      record.exc_info, record.exc_text = None, None
      return record.levelno >= pylogging.WARNING
    return (self.verbose or record.levelno >= pylogging.WARNING or
            f'{os.sep}dvae_jax{os.sep}' in record.pathname)


def fail(message: str, exit_code: int):
  """One line on stderr, no traceback, then exit."""
  print(message, file=sys.stderr, flush=True)
  if 'jax' not in sys.modules:
    sys.exit(exit_code)
  from dvae_jax.runtime import distributed  # imports jax: not at module load
  distributed.exit(exit_code)


def _parse_flags(argv):
  """absl's parsing, with failures (a config file that cannot be loaded
  among them) as one line instead of a traceback; exit 2."""
  try:
    rest = FLAGS(argv)
    if 'config' in FLAGS and FLAGS.config is not None:
      FLAGS.config.to_dict()  # a config file that cannot be loaded fails here
  except Exception as e:  # pylint: disable=broad-except
    print(f'error: {flag_errors.describe(e, argv)}', file=sys.stderr)
    sys.exit(2)
  return rest


def import_tensorflow() -> None:
  """Imports TensorFlow and hides the accelerators from it (they are JAX's);
  call it before the first module that imports TensorFlow."""
  # Not at start-up: its import takes seconds (keras and scikit-learn come
  # with it), which --help and flag and config mistakes need not wait for.
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.config.set_visible_devices([], 'GPU')


def run(main) -> None:
  """app.run(main) with the shared setup and error lines above; main takes
  no arguments."""

  def wrapped(argv):
    if len(argv) > 1:
      raise app.UsageError(f'unexpected arguments: {argv[1:]}')
    logging.get_absl_handler().addFilter(Console(FLAGS['verbosity'].present))
    try:
      main()
    except errors.UserError as e:  # a user mistake: one line, not a traceback
      fail(f'error: {e}', 2)
    except errors.Stopped as e:  # preempted, or NaN: the checkpoints are good
      fail(f'stopped: {e}', e.exit_code)
    except KeyboardInterrupt:  # Ctrl-C outside the training loop
      fail('stopped: interrupted; the files on disk are intact (a training '
           'rerun resumes from the newest checkpoint)', 130)
    except Exception:
      jax = sys.modules.get('jax')
      if jax is None or jax.process_count() == 1:
        raise
      logging.exception('Process %d failed', jax.process_index())
      from dvae_jax.runtime import distributed
      distributed.exit(1)

  app.run(wrapped, flags_parser=_parse_flags)
