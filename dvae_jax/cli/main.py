"""python -m dvae_jax.main --config=configs/default.py --workdir=DIR [--mode=evaluate]

Trains (resuming from DIR's newest checkpoint), then evaluates and draws;
--mode=evaluate only evaluates DIR's newest checkpoint into DIR/eval/.
"""
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    'config', None, 'Path to an ml_collections config file, e.g. '
    'configs/default.py or configs/default.py:tiny.', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs and '
                    'results; a second run on it resumes.')
flags.DEFINE_enum('mode', 'train', ['train', 'evaluate'], 'train: train '
                  '(resuming), then evaluate. evaluate: evaluate the newest '
                  'checkpoint of --workdir (read-only; also of a run in '
                  'progress) into DIR/eval/.')
flags.DEFINE_bool('distributed', False, 'Join a multi-process run '
                  '(jax.distributed.initialize); the launch/ scripts pass it. '
                  'Unset values below come from JAX_COORDINATOR_ADDRESS, '
                  'JAX_NUM_PROCESSES, JAX_PROCESS_ID or the detected cluster '
                  '(Cloud TPU, SLURM, Open MPI).')
flags.DEFINE_string('coordinator_address', None, 'host:port of process 0.')
flags.DEFINE_integer('num_processes', None, 'Number of processes.', lower_bound=1)
flags.DEFINE_integer('process_id', None, 'This process, in [0, num_processes).',
                     lower_bound=0)
flags.DEFINE_integer('distributed_timeout', 300, 'Seconds to wait for every '
                     'process to join.', lower_bound=1)
flags.mark_flags_as_required(['config', 'workdir'])


def _fail(message: str, exit_code: int):
  """One line on stderr (and in the log), no traceback."""
  logging.error('%s', message)
  print(message, file=sys.stderr)
  from dvae_jax.runtime import distributed  # imports jax: not at module load
  distributed.exit(exit_code)


def _parse_flags(argv):
  """absl's parsing, with config-flag failures as one line instead of a
  traceback (exit 2, as absl does for a bad flag)."""
  from dvae_jax.cli import flag_errors
  try:
    rest = FLAGS(argv)
    FLAGS.config.to_dict()  # a config file that cannot be loaded fails here
  except Exception as e:  # pylint: disable=broad-except
    print(f'error: {flag_errors.describe(e, argv)}', file=sys.stderr)
    sys.exit(2)
  return rest


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  import jax  # after flag parsing, so --help stays fast
  from dvae_jax.runtime import distributed
  try:
    distributed.maybe_initialize(
        FLAGS.distributed, FLAGS.distributed_timeout,
        coordinator_address=FLAGS.coordinator_address,
        num_processes=FLAGS.num_processes, process_id=FLAGS.process_id)
  except (ValueError, TypeError) as e:  # jax's own checks of the settings
    raise app.UsageError(f'cannot join the distributed run: {e}') from e
  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')  # the accelerators belong to JAX
  jax.config.update('jax_compilation_cache_dir', os.path.expanduser(
      os.environ.get('DVAE_JAX_CACHE', '~/.cache/dvae_jax/xla')))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)
  from dvae_jax.runtime import errors
  from dvae_jax.training import loop as train
  from dvae_jax.cli import logs
  logging.get_absl_handler().addFilter(logs.DropLibraryChatter())
  logging.info('Process %d of %d; devices: %s', jax.process_index(),
               jax.process_count(), jax.devices())
  try:
    if FLAGS.mode == 'evaluate':
      from dvae_jax.evaluation import evaluate
      evaluate.evaluate_workdir(FLAGS.config, FLAGS.workdir)
    else:
      train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except errors.UserError as e:  # a user mistake: one line, not a traceback
    _fail(f'error: {e}', 2)
  except errors.Stopped as e:  # preempted, or NaN: the checkpoints are good
    _fail(f'stopped: {e}', e.exit_code)
  except KeyboardInterrupt:  # Ctrl-C outside the loop, or a second one
    _fail('stopped: interrupted; the checkpoints on disk are intact, a rerun '
          'resumes from the newest', 130)
  except Exception:
    if jax.process_count() == 1:
      raise
    logging.exception('Process %d failed', jax.process_index())
    distributed.exit(1)


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
