"""Shared fixtures: the built-in dataset built once per session, tiny configs."""
import contextlib
import fcntl
import json
import os
import pickle
import shutil
import subprocess
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# Compiling is most of the suite's time on CPU: the tests build XLA:CPU's
# programs with LLVM's optimizations and the fusion emitters off; the tiny
# config's init and train step then compile in 0.26x the time, and its step
# runs 1.75x slower (benchmarks/compile_time.py, docs/PERFORMANCE.md), a
# small part of a test's time at these sizes. The same code paths run; the
# floats differ from an optimized build's in the last bits, which no test
# compares (every test compares runs made under these flags; the
# subprocesses it starts inherit them). To test the build users get:
# XLA_FLAGS=--xla_backend_optimization_level=3 python -m pytest.
TEST_XLA_FLAGS = ('--xla_backend_optimization_level=0 '
                  '--xla_cpu_use_fusion_emitters=false')
if 'xla_backend_optimization_level' not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = ' '.join(filter(None, [
      os.environ.get('XLA_FLAGS'), TEST_XLA_FLAGS]))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from etils import epath  # noqa: E402

from configs import default  # noqa: E402
from dvae_jax.data.datasets import glyphs  # noqa: E402

tf.config.set_visible_devices([], 'GPU')
# Identical jitted functions recompile in every test; the cache makes it cheap.
CACHE = os.path.expanduser('~/.cache/dvae_jax/xla-tests')
jax.config.update('jax_compilation_cache_dir', CACHE)
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
# The same cache for every command a test starts: `python -m dvae_jax.main`
# reads DVAE_JAX_CACHE, the others (analogy, aot_check, the benchmarks) read
# jax's own variables. A subprocess then loads the programs an earlier test
# compiled (most are the tiny config's) instead of compiling them again,
# also in CI, whose cache starts empty.
os.environ['DVAE_JAX_CACHE'] = CACHE
os.environ['JAX_COMPILATION_CACHE_DIR'] = CACHE
os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0.5'


# xdist hands the test files out in this order (pytest.ini passes
# --no-loadscope-reorder: by default it sorts them by their number of tests,
# which put the longest files, of one to five tests, last, and one worker ran
# them alone at the end). The longest first, so that the short files fill
# the end; the others follow in their usual order. A file that needs
# finished_run comes first: the worker that starts with it trains the run
# that the other worker's files read later (see once_per_session).
LONGEST_FIRST = (
    'test_interrupts.py', 'test_multiprocess.py', 'test_train.py',
    'test_cli_property.py', 'test_aot.py', 'test_evaluate.py', 'test_main.py',
    'test_numerics.py', 'test_train_step.py', 'test_notebooks.py',
    'test_preemption.py', 'test_benchmarks.py', 'test_configs.py',
    'test_folder.py', 'test_models.py', 'test_lock.py', 'test_sprites.py',
    'test_glyphs.py', 'test_analogy.py', 'test_yaleb.py',
    'test_checkpointing.py')


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable


def once_per_session(tmp_path_factory, name, make):
  """make(path) -> value, run once per test session: the xdist workers share
  path (a directory in the session's temporary directory) and value; the
  first worker to get here makes them, the others wait for it (a file lock)
  and reuse them. Without xdist, once per process. Returns (path, value)."""
  root = tmp_path_factory.getbasetemp()
  if os.environ.get('PYTEST_XDIST_WORKER'):
    root = root.parent  # the session's; each worker's basetemp is inside it
  path, done = root / name, root / f'{name}.pickle'
  with open(root / f'{name}.lock', 'w') as held:
    fcntl.flock(held, fcntl.LOCK_EX)  # released when the file is closed
    if done.exists():
      return str(path), pickle.loads(done.read_bytes())
    shutil.rmtree(path, ignore_errors=True)  # a failed try's
    path.mkdir()
    value = make(str(path))
    done.write_bytes(pickle.dumps(value))
    return str(path), value


@pytest.fixture(scope='session')
def glyphs_data_dir(tmp_path_factory):
  """A tfds data_dir holding the built-in dataset (res32), built offline."""

  def build(data_dir):
    glyphs.ensure_built(data_dir, 'res32')

  return once_per_session(tmp_path_factory, 'tfds', build)[0]


@pytest.fixture
def tiny_config(glyphs_data_dir):
  config = default.get_config('tiny')
  config.data_dir = glyphs_data_dir
  return config


@pytest.fixture(scope='session')
def finished_run(tmp_path_factory, glyphs_data_dir):
  """(config, workdir, summary) of one uninterrupted tiny run; read-only
  (every worker reads the same one)."""
  from dvae_jax.training import loop as train
  config = default.get_config('tiny')
  config.data_dir = glyphs_data_dir
  workdir, summary = once_per_session(
      tmp_path_factory, 'run',
      lambda workdir: train.train_and_evaluate(config, workdir))
  return config, workdir, summary


@pytest.fixture(scope='session')
def judge_dir(tmp_path_factory, finished_run):
  """A config.eval.classifier_dir holding finished_run's judge (a copy: the
  run stays read-only), for tiny runs on the same data that check nothing
  of the judge itself: their evaluation loads it instead of training it
  again (its cache is keyed by data and settings; another key would retrain
  and overwrite it, so other data must not use this one)."""
  judge = os.path.join(finished_run[1], 'eval', 'classifier')

  def copy(path):
    for name in os.listdir(judge):
      shutil.copy(os.path.join(judge, name), path)

  return once_per_session(tmp_path_factory, 'judge', copy)[0]


def restore_params(workdir, step, keys=('gen_params', 'adv_params')):
  """The trees `keys` of checkpoint `step` of workdir (a tuple), as numpy."""
  import orbax.checkpoint as ocp
  from dvae_jax.runtime import checkpointing
  manager = checkpointing.make_manager(workdir, keep=10, read_only=True)
  restored = manager.restore(step, args=ocp.args.StandardRestore())
  return tuple(restored[k] for k in keys)


def assert_same_params(workdir_a, step_a, workdir_b, step_b):
  """Bit for bit."""
  jax.tree.map(np.testing.assert_array_equal,
               restore_params(workdir_a, step_a),
               restore_params(workdir_b, step_b))


@contextlib.contextmanager
def count_traces():
  """Yields a list that collects one entry per function jax traces (for jit)
  inside the block: [] means every call hit a compiled program."""
  traces = []

  def listener(event, duration, **kwargs):
    del duration, kwargs
    if event == '/jax/core/compile/jaxpr_trace_duration':
      traces.append(event)
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield traces
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)


def on_batch(monkeypatch, index, action):
  """Makes the trainer's batch number `index` (0-based, counted from the
  start of this run) pass through action(batch) -> batch."""
  from dvae_jax.data import pipeline as input_pipeline
  original = input_pipeline.triplet_batches

  def patched(*args, **kwargs):
    for i, batch in enumerate(original(*args, **kwargs)):
      yield action(batch) if i == index else batch
  monkeypatch.setattr(input_pipeline, 'triplet_batches', patched)


@pytest.fixture
def run_worker():
  """Runs tests/parallel_worker.py in a subprocess with fake CPU devices and
  returns its JSON report (a CPU collective abort cannot take pytest down)."""
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

  def run(*args, devices: int, timeout: int = 540):
    env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'PYTHONPATH': repo,
           'JAX_NUM_CPU_DEVICES': str(devices),
           'XLA_FLAGS': os.environ['XLA_FLAGS'] +
           ' --xla_cpu_collective_call_terminate_timeout_seconds=60'}
    result = subprocess.run(
        [sys.executable, 'tests/parallel_worker.py', *map(str, args)],
        cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    return json.loads(lines[-1])

  return run


@epath.register_path_cls('ram://')
class RamPath(epath.gpath.PosixGPath):
  """epath paths on TensorFlow's in-memory file system (`ram://`): a real
  non-local file system, reached only through epath or tf.io.gfile like
  gs://, that needs no network. `os` and `open` cannot see it."""

  def __new__(cls, *parts):
    full = '/'.join(os.fspath(p) for p in parts)
    if full.startswith('ram://'):  # as epath stores gs:// paths: /gs/...
      full = '/ram/' + full[len('ram://'):]
    return super().__new__(cls, full)

  @property
  def _uri_scheme(self):
    return 'ram' if self.parts[:2] == ('/', 'ram') else None

  @property
  def _backend(self):
    return epath.backend.tf_backend


@pytest.fixture
def ram_workdir(request):
  """A fresh workdir on the in-memory file system (RamPath), as a string."""
  return f'ram://{request.node.name.replace("[", "_").replace("]", "")}/run'


@pytest.fixture
def run_main(monkeypatch, capsys):
  """Runs the command line `python -m dvae_jax.main ARGS` in this process
  (its own main function, flag parsing and error lines): returns (exit code,
  stdout, stderr). An exception that main lets through (what a user sees as
  a traceback) fails the test."""
  from absl import flags
  # Flags of another command imported in-process (test_analogy imports
  # dvae_jax.cli.analogy for its functions) would clash with main's.
  for name in list(flags.FLAGS):
    module = flags.FLAGS.find_module_defining_flag(name) or ''
    if module.startswith('dvae_jax.cli.') and module != 'dvae_jax.cli.main':
      delattr(flags.FLAGS, name)
  from dvae_jax.cli import common, main as cli
  cache_settings = {name: getattr(jax.config, name) for name in (
      'jax_compilation_cache_dir', 'jax_persistent_cache_min_compile_time_secs')}

  def run(*args):
    argv = ['dvae_jax.main', *map(str, args)]
    monkeypatch.setattr(sys, 'argv', argv)  # app.run and config_flags read it
    for name in list(flags.FLAGS):  # the --config.KEY flags of a last run
      if name.startswith('config.'):
        delattr(flags.FLAGS, name)
    flags.FLAGS.unparse_flags()
    capsys.readouterr()
    try:
      common.run(cli.main)
      code = 0
    except SystemExit as e:
      code = e.code or 0
    finally:  # main sets its own; this process keeps the tests' (above)
      for name, value in cache_settings.items():
        jax.config.update(name, value)
    out, err = capsys.readouterr()
    return code, out, err

  return run
