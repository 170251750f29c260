"""What to measure: configs from configs/*.py with overrides, as plain dicts.

A case is JSON-able so that bench.py can hand it to a fresh process:
{'name', 'config': path, 'overrides': {'a.b': value}, 'kind': 'step' |
'compare', 'k': steps per host call, 'env': extra environment variables}.
Every case trains on the built-in glyphs at its image size, so no case needs
the network: the networks' cost depends on the shapes, not on the pixels.
"""
import glob
import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(REPO, 'configs', 'default.py')
# The default config with one size changed, compared with it for scaling.
SCALING = ('batch_32', 'batch_64', 'default_64px')


def load_config(case: dict):
  """The config of a case: get_config() of its file, then its overrides."""
  spec = importlib.util.spec_from_file_location('bench_config', case['config'])
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  config.update_from_flattened_dict(case.get('overrides', {}))
  size = config.image_size
  config.dataset = f'dvae_glyphs/res{32 if size <= 32 else 64}'
  config.image_key, config.label_key = 'image', 'label'
  config.factor_keys = ()  # the paper datasets' factor features are not there
  config.train_split = 'train'
  return config


def _case(name, config=DEFAULT, kind='step', k=1, env=None, devices=1,
          **overrides):
  return {'name': name, 'config': config, 'kind': kind, 'k': k,
          'devices': devices, 'overrides': overrides, 'env': env or {}}


def suite(quick: bool = False, experiments: bool = False,
          gpu: bool = False) -> list:
  """The cases of a full run (quick: the default config and the comparison;
  gpu: the short GPU suite, sized to fit a lent GPU's 15 minutes)."""
  if gpu:
    return [_case('compare_torch', kind='compare'),
            _case('compare_torch_batch_64', kind='compare', batch_size=64),
            _case('compare_torch_64px', kind='compare', image_size=64),
            _case('default'),
            _case('bfloat16', **{'model.dtype': 'bfloat16'}),
            _case('batch_64', batch_size=64),
            _case('default_64px', image_size=64)]
  cases = [_case('compare_torch', kind='compare'),
           # The data-parallel step over one CPU device per core, as a
           # multi-device run splits the batch; see CORE_DEVICES.
           _case('compare_torch_core_devices', kind='compare', env=CORE_DEVICES,
                 devices=os.cpu_count()),
           # Weight gradients over the whole batch (the chunked ones off,
           # dvae_jax/model/conv.py): what the chunks buy.
           _case('compare_torch_whole_batch_grads', kind='compare',
                 **{'model.weight_grad_chunk': 0}),
           _case('default')]
  if quick:
    return cases
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    if path != DEFAULT:
      cases.append(_case(os.path.basename(path)[:-3], config=path))
  cases += [
      _case('default_64px', image_size=64),
      _case('batch_32', batch_size=32),
      _case('batch_64', batch_size=64),
      _case('scan_k4', k=4),
      _case('scan_k8', k=8),
      _case('compare_torch_64px', kind='compare', image_size=64),
      # One thread each: robust to other jobs on the machine (thread pools
      # that spin and wait at barriers suffer most from oversubscription).
      _case('compare_torch_1thread', kind='compare', env=ONE_THREAD),
  ]
  if experiments:
    bf16 = {'model.dtype': 'bfloat16'}
    cases.append(_case('bfloat16', **bf16))
    cases.append(_case('bfloat16_onednn', env={
        'XLA_FLAGS': EXPERIMENTAL_XLA_FLAGS['xla_onednn']}, **bf16))
    for name, flags in EXPERIMENTAL_XLA_FLAGS.items():
      cases.append(_case(name, env={'XLA_FLAGS': flags}))
    cases.append(_case('xla_one_thread', env=ONE_THREAD))
    cases.append(_case('compare_torch_onednn', kind='compare', env={
        'XLA_FLAGS': EXPERIMENTAL_XLA_FLAGS['xla_onednn']}))
  return cases


# XLA CPU options worth a try for convolution-heavy steps (jaxlib 0.10.2).
EXPERIMENTAL_XLA_FLAGS = {
    'xla_onednn': '--xla_cpu_use_onednn=true',
    'xla_onednn_custom_call': '--xla_cpu_experimental_onednn_custom_call=true',
    'xla_xnnpack': '--xla_cpu_use_xnnpack=true',
}
ONE_THREAD = {'XLA_FLAGS': '--xla_cpu_multi_thread_eigen=false',
              'OMP_NUM_THREADS': '1'}
# One XLA CPU device per core, each running its share of the batch: XLA's
# intra-op threads barely speed up these small convolutions (one core: 2.8-3.2
# steps/s, two: 3.4; docs/PERFORMANCE.md).
CORE_DEVICES = {'JAX_NUM_CPU_DEVICES': str(os.cpu_count())}
