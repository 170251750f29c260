"""The benchmark's plumbing (no timing, no torch): cases, interleaving, tables."""
from benchmarks import cases, report, timing


def test_case_config_applies_overrides_and_uses_built_in_data():
  case = {'config': cases.DEFAULT,
          'overrides': {'image_size': 64, 'model.dtype': 'bfloat16'}}
  config = cases.load_config(case)
  assert config.image_size == 64
  assert config.model.dtype == 'bfloat16'
  assert config.dataset == 'dvae_glyphs/res64'


def test_suite_has_the_default_config_and_the_torch_comparison():
  names = [c['name'] for c in cases.suite(quick=True)]
  assert names == ['compare_torch', 'compare_torch_core_devices',
                   'compare_torch_whole_batch_grads', 'default']
  whole = cases.suite(quick=True)[2]
  assert whole['overrides'] == {'model.weight_grad_chunk': 0}
  core_devices = cases.suite(quick=True)[1]
  assert core_devices['devices'] == cases.os.cpu_count()
  assert 'device_count=' in core_devices['env']['XLA_FLAGS']
  full = [c['name'] for c in cases.suite()]
  assert {'default_64px', 'batch_32', 'batch_64', 'scan_k4'} <= set(full)


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
              gflop_per_step=1.0, achieved_gflops=10.0, peak_rss_mib=900.0)
  results = [dict(step, name='default'),
             dict(step, name='batch_32', batch_size=32, step_ms=180.0),
             {'name': 'broken', 'kind': 'step', 'error': 'boom'}]
  meta = {'date': 'd', 'machine': 'm', 'jax': 'j', 'command': 'c'}
  table = report.markdown(results, meta)
  assert '| default | 32 | 16 | 1 |' in table
  assert '| batch_32 | 2 | 1.80 |' in table
  assert 'broken: boom' in table
