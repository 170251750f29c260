"""python -m dvae_jax.cli.aot_check --config=configs/default.py --num_devices=8

Compiles the train step for num_devices devices and the config's global batch
without running it, and prints the per-device memory XLA plans for it. By
default the devices are fake CPU devices, so this runs on a laptop before a
pod is rented; --platform=local uses this machine's accelerators instead.
Exits 1 when the estimate exceeds --device_memory_gb (or the device's own
limit).
"""
import sys

from dvae_jax.cli import common  # first: it quiets TensorFlow

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Config file, as for main.',
                                lock_config=True)
flags.DEFINE_integer('num_devices', None, 'Devices the batch is split over '
                     '(default: all of --platform).', lower_bound=1)
flags.DEFINE_enum('platform', 'cpu', ['cpu', 'local'], "'cpu': num_devices "
                  "fake CPU devices; 'local': this machine's devices.")
flags.DEFINE_float('device_memory_gb', None, 'Memory of one target device in '
                   'GiB (e.g. 16 for a TPU v5e chip, 80 for an H100).')
flags.DEFINE_integer('num_classes', None, 'Label count (default: from the '
                     "features of the config's dataset or data_path; nothing "
                     'is downloaded or built).', lower_bound=2)
flags.mark_flags_as_required(['config'])


def main():
  import jax  # after flag parsing; the CPU device count is set before use
  if FLAGS.platform == 'cpu':
    jax.config.update('jax_platforms', 'cpu')
    if FLAGS.num_devices:
      jax.config.update('jax_num_cpu_devices', FLAGS.num_devices)
  from dvae_jax import config_rules
  from dvae_jax.runtime import aot, parallel
  from dvae_jax.training import state
  devices = jax.devices()
  n = FLAGS.num_devices or len(devices)
  if n > len(devices):
    raise app.UsageError(f'--num_devices={n} but this machine has '
                         f'{len(devices)} {devices[0].platform} devices; use '
                         '--platform=cpu for fake ones')
  config = FLAGS.config
  config_rules.check(config)  # a bad value: one error line, not a traceback
  if FLAGS.num_classes:
    num_classes, source = FLAGS.num_classes, '--num_classes'
  else:  # the dataset's features only: nothing is downloaded or built
    common.import_tensorflow()  # only here: --num_classes needs no data
    from dvae_jax.data import pipeline
    num_classes = pipeline.Data(config, prepare=False).num_classes
    source = 'the dataset'
  mesh = parallel.make_mesh(devices[:n])
  setup = state.Setup.create(config, num_classes, mesh)
  report = aot.memory_report(setup.train_step(), setup.abstract_state(),
                             config, mesh)
  limit = (int(FLAGS.device_memory_gb * aot.GIB) if FLAGS.device_memory_gb
           else aot.device_memory_limit(devices[0]))
  print(f'classes: {num_classes} (from {source})')
  print(aot.format_report(report, limit))
  sys.exit(1 if limit and report.peak > limit else 0)


if __name__ == '__main__':
  common.run(main)
