"""Speed of dvae_jax's train step and input pipeline, and vs PyTorch.

  python -m benchmarks.bench                 # the full suite (docs/PERFORMANCE.md)
  python -m benchmarks.bench --quick         # default config + torch comparisons
  python -m benchmarks.bench --only default,batch_32 --rounds 5
  python -m benchmarks.bench --gpu           # on a GPU: benchmarks/gpu_run.sh

Every case runs in a fresh process (its own compile, its own peak memory) and
the results go to <out>.json and <out>.md (a markdown table to paste).
"""
import argparse
import datetime
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile

from benchmarks import cases as cases_lib
from benchmarks import report

REPO = cases_lib.REPO


def _peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _batches(config, synthetic: bool):
  """(endless train batches, number of classes, pipeline images/s or None):
  the built-in data through the real pipeline, or random batches."""
  from benchmarks import jax_side
  if synthetic:
    return ((jax_side.random_batch(config, seed) for seed in itertools.count()),
            jax_side.RANDOM_CLASSES, None)
  from dvae_jax.data import pipeline as input_pipeline
  data, num_classes = jax_side.load_train_data(config)
  batches = input_pipeline.triplet_batches(data, config.batch_size,
                                           config.seed)
  return (batches, num_classes,
          jax_side.pipeline_images_per_s(batches, config.batch_size))


def _measure_step(case, config, args) -> dict:
  from benchmarks import jax_side, peak, timing

  b, k = config.batch_size, case['k']
  batches, num_classes, pipeline = _batches(config, args.synthetic)
  step = jax_side.JaxStep(config, num_classes, next(batches), k,
                          case.get('devices', 1))
  runners = {'resident': step.run}
  if k == 1 and not args.synthetic:
    runners['fed'] = lambda n: step.run(n, batches)
  step.run(2)  # warm-up
  calls = max(1, args.steps // k)
  times = timing.interleaved(runners, args.rounds, calls)
  per_step = {name: [t / k for t in ts] for name, ts in times.items()}
  out = timing.summary(per_step['resident'], 3 * b)
  if 'fed' in per_step:
    out['fed_images_per_s'] = timing.summary(per_step['fed'],
                                             3 * b)['images_per_s']
  # make_multi_step unrolls its scan, so a call holds k whole steps.
  out['gflop_per_step'] = step.cost.get('flops', 0) / 1e9 / k
  out['achieved_gflops'] = out['gflop_per_step'] / (out['step_ms'] / 1e3)
  # Measured in the same process, after the step: the machine as the step
  # found it.
  out['matmul_peak_gflops'] = peak.matmul_gflops()
  out['fraction_of_peak'] = out['achieved_gflops'] / out['matmul_peak_gflops']
  out.update(
      pipeline_images_per_s=pipeline,
      pipeline_over_step=pipeline and pipeline / out['images_per_s'],
      init_s=step.init_s, trace_s=step.trace_s, compile_s=step.compile_s,
      xla_flops_per_call=step.cost.get('flops'),
      xla_bytes_accessed_per_call=step.cost.get('bytes accessed'))
  return out


def _measure_compare(case, config, args) -> dict:
  from benchmarks import compare

  batches, num_classes, _ = _batches(config, args.synthetic)
  # Two steps: the same weights, then weights after one update of each
  # player. Later steps drift past 1e-4: Adam divides every gradient by its
  # own size, so float noise in near-zero gradients becomes lr-sized steps.
  host_batches = [next(batches) for _ in range(2)]
  devices = case.get('devices', 1)
  check = compare.check_same_losses(config, num_classes, host_batches, devices,
                                    args.torch_device)
  check['passed'] = max(check['max_rel_diff_per_step']) < args.tolerance
  return {'check': check,
          'timing': compare.time_against_torch(
              config, num_classes, host_batches[0], args.rounds, args.steps,
              devices, args.torch_device)}


def run_case(case: dict, args) -> dict:
  """Measures one case in this process."""
  import jax
  config = cases_lib.load_config(case)
  load_before = os.getloadavg()
  measure = _measure_compare if case['kind'] == 'compare' else _measure_step
  out = measure(case, config, args)
  out.update(name=case['name'], kind=case['kind'], k=case['k'],
             devices=case.get('devices', 1),
             image_size=config.image_size, batch_size=config.batch_size,
             images_per_step=3 * config.batch_size, dtype=config.model.dtype,
             overrides=case['overrides'], env=case['env'],
             backend=jax.default_backend(), cpu_count=os.cpu_count(),
             jax_device=jax.devices()[0].device_kind,
             synthetic=args.synthetic,
             load_avg_before=load_before, load_avg_after=os.getloadavg(),
             peak_rss_mib=_peak_rss_mib())
  return out


def _spawn(case: dict, args) -> dict:
  """Runs one case in a fresh process; returns its record (or its error)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
             JAX_PLATFORMS=args.jax_platforms, **case['env'])
  with tempfile.NamedTemporaryFile(suffix='.json') as f:
    cmd = [sys.executable, '-m', 'benchmarks.bench', '--case', json.dumps(case),
           '--case_out', f.name, '--rounds', str(args.rounds), '--steps',
           str(args.steps), '--tolerance', str(args.tolerance),
           '--torch_device', args.torch_device]
    if args.synthetic:
      cmd.append('--synthetic')
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=args.case_timeout)
    if proc.returncode:
      tail = proc.stderr.strip().splitlines()[-1:] or [f'exit {proc.returncode}']
      return {'name': case['name'], 'kind': case['kind'], 'error': tail[0]}
    with open(f.name) as result:
      return json.load(result)


def _meta(args) -> dict:
  import jax
  meta = {'date': datetime.datetime.now(datetime.timezone.utc).strftime(
              '%Y-%m-%d %H:%M UTC'),
          'machine': f'{platform.processor() or platform.machine()}, '
                     f'{os.cpu_count()} CPUs',
          'jax': jax.__version__,
          'torch_device': args.torch_device,
          'synthetic': args.synthetic,
          'command': 'python -m benchmarks.bench ' + ' '.join(sys.argv[1:])}
  try:
    import torch
    meta['torch'] = torch.__version__
  except ImportError:
    pass
  return meta


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--quick', action='store_true',
                      help='only the default config and the torch '
                      'comparisons (one device; one CPU device per core)')
  parser.add_argument('--experiments', action='store_true',
                      help='also bfloat16 and XLA CPU options (oneDNN, '
                      'XNNPACK, one thread)')
  parser.add_argument('--only', default='', help='comma-separated case names')
  parser.add_argument('--rounds', type=int, default=11,
                      help='timing rounds per contender (median reported)')
  parser.add_argument('--steps', type=int, default=20,
                      help='train steps per timing round')
  parser.add_argument('--tolerance', type=float, default=1e-4,
                      help='largest relative loss difference jax vs torch')
  parser.add_argument('--gpu', action='store_true',
                      help='the GPU suite on random batches (--synthetic), '
                      'JAX and PyTorch on CUDA unless --jax_platforms or '
                      '--torch_device say otherwise')
  parser.add_argument('--synthetic', action='store_true',
                      help='random batches instead of the built-in data '
                      '(no TensorFlow needed; the input pipeline is not '
                      'measured)')
  parser.add_argument('--jax_platforms', default=None,
                      help='cpu (the default) or cuda (the default with --gpu)')
  parser.add_argument('--torch_device', default=None,
                      help="the PyTorch reference's device: cpu (the default) "
                      'or cuda (the default with --gpu)')
  parser.add_argument('--case_timeout', type=int, default=1800)
  parser.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                    'results', 'bench'))
  parser.add_argument('--case', help=argparse.SUPPRESS)
  parser.add_argument('--case_out', help=argparse.SUPPRESS)
  args = parser.parse_args(argv)

  accelerator = 'cuda' if args.gpu else 'cpu'
  args.jax_platforms = args.jax_platforms or accelerator
  args.torch_device = args.torch_device or accelerator
  args.synthetic = args.synthetic or args.gpu
  if args.case:  # worker: one case, in this process
    record = run_case(json.loads(args.case), args)
    with open(args.case_out, 'w') as f:
      json.dump(record, f, indent=1)
    return

  selected = cases_lib.suite(args.quick, args.experiments, args.gpu)
  if args.only:
    names = set(args.only.split(','))
    selected = [c for c in cases_lib.suite(False, True) + cases_lib.suite(
        gpu=True) if c['name'] in names]
    selected = list({c['name']: c for c in selected}.values())
  results = []
  for case in selected:
    print(f"[bench] {case['name']} ...", flush=True)
    results.append(_spawn(case, args))
    print(json.dumps({k: v for k, v in results[-1].items()
                      if not isinstance(v, dict)}), flush=True)
  meta = _meta(args)
  # From the cases: this process never starts a backend (on a GPU it would
  # hold memory the cases need).
  meta['jax_device'] = next((r['jax_device'] for r in results
                             if 'jax_device' in r), '-')
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  with open(args.out + '.json', 'w') as f:
    json.dump({'meta': meta, 'results': results}, f, indent=1)
  table = report.markdown(results, meta)
  with open(args.out + '.md', 'w') as f:
    f.write(table)
  print(table)


if __name__ == '__main__':
  main()
