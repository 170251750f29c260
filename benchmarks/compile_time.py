"""Compile time of the tiny config's init and train step under XLA:CPU flag
sets, against XLA's defaults, and what each costs in step time.

  python -m benchmarks.compile_time [--rounds 3] [--out /tmp/compile_time]

Why: compiling is most of the test suite's time on CPU, and tests/conftest.py
sets the flags of the 'tests' row for every test and every command a test
starts. Each (round, flag set) runs in a fresh process (XLA reads its flags
once), with the compilation cache off; rounds interleave the flag sets so
that a busy machine slows them alike. Prints a markdown table of medians
and ratios to 'xla defaults', and writes <out>.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks import cases

FLAG_SETS = {
    'xla defaults': '',
    'LLVM opt level 0': '--xla_backend_optimization_level=0',
    'tests (opt level 0, no fusion emitters)':
        '--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false',
}


def _measure(steps: int) -> dict:
  """In this process: seconds to compile init and the train step of the tiny
  config, and per call of the compiled step."""
  import jax
  from benchmarks import jax_side
  from configs import default
  from dvae_jax.training import state as state_lib
  jax.config.update('jax_enable_compilation_cache', False)
  config = default.get_config('tiny')
  setup = state_lib.Setup.create(config, jax_side.RANDOM_CLASSES)
  key = jax.random.key(config.seed)
  t0 = time.perf_counter()
  init = setup._init.lower(key).compile()  # pylint: disable=protected-access
  t1 = time.perf_counter()
  state = init(key)
  batch = jax_side.random_batch(config, 0)
  step = setup.train_step().lower(state, batch).compile()
  t2 = time.perf_counter()
  state, metrics = step(state, batch)
  jax.block_until_ready(metrics)
  t3 = time.perf_counter()
  for _ in range(steps):
    state, metrics = step(state, batch)
  jax.block_until_ready(metrics)
  t4 = time.perf_counter()
  return {'init_compile_s': t1 - t0, 'step_compile_s': t2 - t1,
          'step_run_ms': 1e3 * (t4 - t3) / steps}


def _child(flags: str, steps: int) -> dict:
  env = {**os.environ, 'XLA_FLAGS': flags, 'JAX_PLATFORMS': 'cpu',
         'TF_CPP_MIN_LOG_LEVEL': '2'}
  out = subprocess.run(
      [sys.executable, '-m', 'benchmarks.compile_time', '--child',
       '--steps', str(steps)], cwd=cases.REPO, env=env, check=True,
      capture_output=True, text=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def table(results: dict) -> str:
  """Markdown: medians per flag set, ratios to the first (XLA's defaults)."""
  med = {name: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
         for name, rounds in results.items()}
  ref = next(iter(med.values()))
  lines = ['| XLA flags | init compile, s | train step compile, s | '
           'compile vs defaults | step run, ms | run vs defaults |',
           '| --- | --- | --- | --- | --- | --- |']
  for name, m in med.items():
    compile_s = m['init_compile_s'] + m['step_compile_s']
    ref_s = ref['init_compile_s'] + ref['step_compile_s']
    lines.append(
        f'| {name} | {m["init_compile_s"]:.2f} | {m["step_compile_s"]:.2f} | '
        f'{compile_s / ref_s:.2f}x | {m["step_run_ms"]:.1f} | '
        f'{m["step_run_ms"] / ref["step_run_ms"]:.2f}x |')
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--steps', type=int, default=20)
  parser.add_argument('--out', default='/tmp/compile_time')
  parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    print(json.dumps(_measure(args.steps)))
    return
  results = {name: [] for name in FLAG_SETS}
  for _ in range(args.rounds):
    for name, flags in FLAG_SETS.items():
      results[name].append(_child(flags, args.steps))
  with open(args.out + '.json', 'w') as f:
    json.dump({'flag_sets': FLAG_SETS, 'results': results}, f, indent=1)
  print(table(results))


if __name__ == '__main__':
  main()
