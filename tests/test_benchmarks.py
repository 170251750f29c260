"""The benchmark's plumbing (no timing, no torch): cases, interleaving, tables."""
import json
import os
import subprocess
import sys

import jax
import numpy as np

from benchmarks import cases, conv_grad, jax_side, peak, profile_step, report
from benchmarks import timing
from configs import default
from dvae_jax.runtime import parallel
from dvae_jax.training import state as state_lib


def _tiny_sizes():
  """The sizes of the tiny config: its step is the one the tests' compilation
  cache already holds (from the other tests' tiny runs), not one more."""
  tiny = default.get_config('tiny')
  return {'batch_size': tiny.batch_size, 'model.width': tiny.model.width,
          'model.disc_width': tiny.model.disc_width,
          'model.s_dim': tiny.model.s_dim, 'model.z_dim': tiny.model.z_dim}


TINY = _tiny_sizes()


def test_case_config_applies_overrides_and_uses_built_in_data():
  case = {'config': cases.DEFAULT,
          'overrides': {'image_size': 64, 'model.dtype': 'bfloat16'}}
  config = cases.load_config(case)
  assert config.image_size == 64
  assert config.model.dtype == 'bfloat16'
  assert config.dataset == 'dvae_glyphs/res64'
  # A paper config runs on the built-in data too: its factor features go.
  norb = cases.load_config({'config': cases.DEFAULT.replace('default', 'norb')})
  assert norb.dataset.startswith('dvae_glyphs') and norb.factor_keys == ()


def test_every_case_builds_its_config_and_names_it_once():
  for suite in (cases.suite(quick=True), cases.suite(),
                cases.suite(experiments=True), cases.suite(gpu=True)):
    names = [c['name'] for c in suite]
    assert len(set(names)) == len(names)
    for case in suite:
      assert case['kind'] in ('step', 'compare') and case['k'] >= 1
      config = cases.load_config(case)  # every override names a real key
      for key, value in case['overrides'].items():
        node = config
        for part in key.split('.'):
          node = node[part]
        assert node == value, (case['name'], key)
  quick = {c['name']: c for c in cases.suite(quick=True)}
  assert set(quick) <= {c['name'] for c in cases.suite()}  # a part of it
  # The one-device-per-core case runs as many XLA devices as it says.
  for case in quick.values():
    if case['devices'] > 1:
      assert case['env'] == {'JAX_NUM_CPU_DEVICES': str(case['devices'])}


def test_gpu_suite_compares_with_torch_and_has_the_scaling_cases():
  gpu = {c['name']: c for c in cases.suite(gpu=True)}
  assert 'compare_torch' in gpu and 'default' in gpu
  assert {'batch_64', 'default_64px'} <= set(gpu) & set(cases.SCALING)
  assert gpu['bfloat16']['overrides'] == {'model.dtype': 'bfloat16'}
  assert not any(c['env'] for c in gpu.values())  # no CPU-only options


def test_random_classes_are_the_built_in_datas():
  """The benchmarks' tiny step is then the tests' tiny runs' program."""
  from dvae_jax.data.datasets import glyphs
  assert jax_side.RANDOM_CLASSES == glyphs.NUM_IDENTITIES


def test_random_batch_is_shaped_like_the_pipeline_s():
  config = cases.load_config({'config': cases.DEFAULT})
  batch = jax_side.random_batch(config, seed=3)
  b, s = config.batch_size, config.image_size
  assert batch['images'].shape == (b, 3, s, s, config.channels)
  assert batch['images'].dtype == np.float32
  assert -1 <= batch['images'].min() and batch['images'].max() <= 1
  assert batch['labels'].shape == (b, 3) and batch['labels'].dtype == np.int32
  np.testing.assert_array_equal(batch['labels'][:, 0], batch['labels'][:, 1])
  assert batch['labels'].max() < jax_side.RANDOM_CLASSES
  # Seeded: the same seed, the same batch; another seed, another batch.
  again = jax_side.random_batch(config, seed=3)
  np.testing.assert_array_equal(batch['images'], again['images'])
  other = jax_side.random_batch(config, seed=4)
  assert not np.array_equal(batch['images'], other['images'])


def test_interleaved_rotates_the_order_and_times_every_round():
  calls = []
  runners = {name: (lambda n, name=name: calls.append((name, n)))
             for name in 'ab'}
  times = timing.interleaved(runners, rounds=3, steps=2)
  assert calls == [('a', 2), ('b', 2), ('b', 2), ('a', 2), ('a', 2), ('b', 2)]
  assert [len(t) for t in times.values()] == [3, 3]
  assert timing.summary([0.1, 0.3, 0.2], 48)['images_per_s'] == 240


def test_markdown_table_has_a_row_per_case_and_the_scaling():
  step = dict(kind='step', k=1, image_size=32, batch_size=16, compile_s=1.0,
              step_ms=100.0, images_per_s=480.0, fed_images_per_s=470.0,
              pipeline_images_per_s=5000.0, pipeline_over_step=10.4,
              gflop_per_step=1.0, achieved_gflops=10.0, peak_rss_mib=900.0,
              fraction_of_peak=0.125)
  results = [dict(step, name='default'),
             dict(step, name='batch_32', batch_size=32, step_ms=180.0),
             {'name': 'broken', 'kind': 'step', 'error': 'boom'}]
  meta = {'date': 'd', 'machine': 'm', 'jax': 'j', 'command': 'c'}
  table = report.markdown(results, meta)
  assert '| default | 32 | 16 | 1 |' in table
  assert '| 10.0 | 12% | 900 |' in table  # GFLOP/s, of the matmul peak, RSS
  assert '| batch_32 | 2 | 1.80 |' in table
  assert 'broken: boom' in table


def test_conv_grad_reads_every_convolution_of_the_step():
  config = cases.load_config({'config': cases.DEFAULT, 'overrides': {
      'batch_size': 2, 'model.width': 2, 'model.disc_width': 2}})
  convs = conv_grad.step_convolutions(config, num_classes=5)
  names = sorted(convs)
  assert len([n for n in names if n.startswith('encoder')]) == 8
  assert len([n for n in names if n.startswith('decoder')]) == 7
  assert len([n for n in names if n.startswith('discriminator')]) == 7
  assert convs['encoder_0'][:2] == ((6, 32, 32, 3), (3, 3, 3, 2))
  assert convs['decoder_6'][:2] == ((14, 32, 32, 2), (3, 3, 2, 3))
  # The timed functions agree: chunked sums equal the whole-batch gradient.
  lhs, rhs, params = convs['encoder_1']
  x = np.random.default_rng(0).normal(size=lhs).astype(np.float32)
  dy = np.random.default_rng(1).normal(size=lhs[:3] + rhs[3:]).astype(
      np.float32)
  np.testing.assert_allclose(conv_grad._weight_grad(lhs, rhs, params, 4)(x, dy),
                             conv_grad._weight_grad(lhs, rhs, params, 1)(x, dy),
                             rtol=1e-5, atol=1e-4)


def test_matmul_peak_is_a_positive_rate():
  assert peak.matmul_gflops(size=64, rounds=2, steps=2) > 0


def test_profile_step_attributes_op_time_to_the_step_s_ops():
  config = cases.load_config({'config': cases.DEFAULT, 'overrides': TINY})
  step_ms, per_op, per_kind, hlo = profile_step.profile(config, steps=2)
  assert step_ms > 0 and per_op
  # Trace events are matched to the compiled step's ops by name (the other
  # events, runtime waits, vary with the machine's load), and the kinds add
  # up to the ops.
  assert any(name in hlo for name in per_op)
  assert abs(sum(per_kind.values()) - sum(per_op.values())) < 1e-6
  assert set(per_kind) <= {'ynn', 'conv', 'transpose', 'elementwise'}


def test_synthetic_step_case_runs_without_tensorflow(tmp_path):
  # The GPU machine has JAX but no TensorFlow: --synthetic must not need it.
  # After the profile test: the same step, so the compilation cache
  # (conftest) serves it.
  case = {'name': 'tiny', 'config': cases.DEFAULT, 'kind': 'step', 'k': 1,
          'devices': 1, 'env': {}, 'overrides': TINY}
  out = tmp_path / 'case.json'
  cache = jax.config.jax_compilation_cache_dir
  code = ("import sys; sys.modules['tensorflow'] = None; "
          "sys.modules['tensorflow_datasets'] = None; "
          "from benchmarks import bench; bench.main(sys.argv[1:])")
  subprocess.run([sys.executable, '-c', code, '--case', json.dumps(case),
                  '--case_out', str(out), '--synthetic', '--rounds', '1',
                  '--steps', '1'], cwd=cases.REPO, check=True,
                 capture_output=True, env=dict(
                     cases.os.environ, JAX_PLATFORMS='cpu',
                     JAX_COMPILATION_CACHE_DIR=cache,
                     JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0.5'))
  record = json.loads(out.read_text())
  assert record['synthetic'] and record['pipeline_images_per_s'] is None
  assert record['step_ms'] > 0 and record['gflop_per_step'] > 0
  assert record['jax_device'] == 'cpu'
  table = report.markdown([record], {'date': 'd', 'machine': 'm', 'jax': 'j',
                                     'command': 'c', 'synthetic': True})
  assert 'random batches' in table
  assert '| - | - | - |' in table  # no fed rate, no pipeline, no ratio


def _noise_driven(path) -> bool:
  """Leaves moved by rounding noise alone: an UpConv bias feeds a batch norm,
  so its true gradient is 0 and Adam turns float noise into +-lr steps (and
  the decoder's running means follow it). Two correct programs differ there."""
  keys = jax.tree_util.keystr(path)
  return ('UpConv' in keys and 'bias' in keys) or (
      "['decoder']" in keys and "['mean']" in keys)


def test_multi_step_equals_single_steps():
  """k steps scanned in one call give the states and metrics of k calls
  (unrolled: each step is one more copy to compile; the second reads what
  the first wrote)."""
  k = 2
  config = default.get_config('tiny')
  setup = state_lib.Setup.create(config, jax_side.RANDOM_CLASSES,
                                 parallel.make_mesh(jax.devices()[:1]))
  step, mesh = setup.train_step(), setup.mesh
  multi = jax_side.make_multi_step(setup, k)
  batches = [jax_side.random_batch(config, seed) for seed in range(k)]
  state = setup.init()
  single_metrics = []
  for batch in batches:
    state, metrics = step(state, parallel.global_batch(batch, mesh))
    single_metrics.append(metrics)
  single_state, single_metrics = jax.device_get((state, single_metrics))
  stacked = jax.tree.map(lambda *xs: np.stack(xs), *batches)
  scan_state, scan_metrics = jax.device_get(
      multi(setup.init(), stacked))

  assert int(scan_state.step) == k
  for i in range(k):
    for name, value in single_metrics[i].items():
      np.testing.assert_allclose(scan_metrics[name][i], value, rtol=1e-5,
                                 err_msg=f'step {i} {name}')

  def close(path, a, b):
    if _noise_driven(path):
      np.testing.assert_allclose(a, b, atol=k * config.learning_rate)
    else:
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5,
                                 err_msg=jax.tree_util.keystr(path))
  jax.tree_util.tree_map_with_path(close, scan_state, single_state)


def test_compile_time_measures_the_flags_the_tests_use():
  """The benchmark's 'tests' row is what conftest sets (and the suite runs
  under: the README's compile-time claim is about these flags)."""
  import conftest
  from benchmarks import compile_time
  assert conftest.TEST_XLA_FLAGS in compile_time.FLAG_SETS.values()
  assert conftest.TEST_XLA_FLAGS in os.environ['XLA_FLAGS']
  results = {'a': [{'init_compile_s': 2.0, 'step_compile_s': 6.0,
                    'step_run_ms': 10.0}],
             'b': [{'init_compile_s': 1.0, 'step_compile_s': 1.0,
                    'step_run_ms': 15.0}]}
  row = compile_time.table(results).splitlines()[-1]
  assert row == '| b | 1.00 | 1.00 | 0.25x | 15.0 | 1.50x |'
