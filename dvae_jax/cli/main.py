"""python -m dvae_jax.main --config=configs/default.py --workdir=DIR [--mode=evaluate|check]

Trains (resuming from DIR's newest checkpoint), then evaluates and draws;
--mode=evaluate only evaluates DIR's newest checkpoint into DIR/eval/;
--mode=check checks config, workdir, data and model shapes, trains nothing.
"""
import os

from dvae_jax.cli import common  # first: it quiets TensorFlow

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    'config', None, 'Path to an ml_collections config file, e.g. '
    'configs/default.py or configs/default.py:tiny.', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs and '
                    'results; a second run on it resumes.')
flags.DEFINE_enum('mode', 'train', ['train', 'evaluate', 'check'], 'train: '
                  'train (resuming), then evaluate. evaluate: evaluate the '
                  'newest checkpoint of --workdir (read-only; also of a run '
                  'in progress) into DIR/eval/. check: what a training run '
                  'checks before it compiles (config, workdir, data, model '
                  'shapes); nothing trained or written to --workdir.')
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


def main():
  import jax  # after flag parsing, so --help stays fast
  from dvae_jax.runtime import distributed
  try:
    distributed.maybe_initialize(
        FLAGS.distributed, FLAGS.distributed_timeout,
        coordinator_address=FLAGS.coordinator_address,
        num_processes=FLAGS.num_processes, process_id=FLAGS.process_id)
  except (ValueError, TypeError) as e:  # jax's own checks of the settings
    raise app.UsageError(f'cannot join the distributed run: {e}') from e
  jax.config.update('jax_compilation_cache_dir', os.path.expanduser(
      os.environ.get('DVAE_JAX_CACHE', '~/.cache/dvae_jax/xla')))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)
  logging.info('Process %d of %d; devices: %s', jax.process_index(),
               jax.process_count(), jax.devices())
  # The config's values before TensorFlow and the mode's modules are
  # imported (seconds): a bad one fails fast. Each mode checks them again.
  from dvae_jax import config_rules
  config_rules.check(FLAGS.config)
  common.import_tensorflow()
  if FLAGS.mode == 'check':
    from dvae_jax.training import preflight
    print(f'ok: {preflight.check_run(FLAGS.config, FLAGS.workdir)}')
  elif FLAGS.mode == 'evaluate':
    from dvae_jax.evaluation import evaluate
    evaluate.evaluate_workdir(FLAGS.config, FLAGS.workdir)
  else:
    from dvae_jax.training import loop
    loop.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == '__main__':
  common.run(main)
