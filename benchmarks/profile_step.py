"""Where one train step's time goes, op by op: a JAX profiler trace of the
package's compiled step, summed per XLA op and per kind of op.

  python -m benchmarks.profile_step [--top 30] [--override model.weight_grad_chunk=0]

Kinds: `ynn` (XLA:CPU's YNNPACK library calls: convolutions and matrix
products), `conv` (convolutions XLA runs itself), `transpose`, `elementwise`
(every other fused loop: batch norm, activations, losses, Adam). The sum of
op times can exceed the step time: XLA:CPU runs independent ops side by side.
"""
import argparse
import collections
import glob
import gzip
import json
import re
import tempfile
import time

import jax

from benchmarks import cases, jax_side
from benchmarks.jax_side import JaxStep

# Trace events that wrap ops rather than being one.
_WRAPPERS = ('ThunkExecutor', '$', 'PjitFunction', 'CommonPjRt', 'Execute',
             'SlinkyThreadPool')


def _kind(name: str, hlo_line: str) -> str:
  if 'ynn' in name:
    return 'ynn'
  if ' convolution(' in hlo_line:
    return 'conv'
  if 'transpose' in name:
    return 'transpose'
  return 'elementwise'


def _parse_value(text: str):
  for cast in (int, float):
    try:
      return cast(text)
    except ValueError:
      pass
  return text


def profile(config, steps: int = 10):
  """(untraced ms a step, {XLA op: ms a step}, {kind: ms a step}, {op: HLO})
  of config's compiled train step on one device, on a random batch."""
  step = JaxStep(config, jax_side.RANDOM_CLASSES,
                 jax_side.random_batch(config))
  step.run(3)
  start = time.perf_counter()
  step.run(steps)
  step_ms = (time.perf_counter() - start) / steps * 1e3

  hlo = {}
  for line in step.compiled.as_text().splitlines():
    match = re.match(r'\s*(?:ROOT )?%?([\w.\-]+) = (.*)', line)
    if match:
      hlo.setdefault(match.group(1), match.group(2))
  with tempfile.TemporaryDirectory() as logdir:
    with jax.profiler.trace(logdir, create_perfetto_trace=True):
      step.run(steps)
    path = glob.glob(f'{logdir}/**/*.trace.json.gz', recursive=True)[0]
    with gzip.open(path) as f:
      events = json.load(f)
  events = events['traceEvents'] if isinstance(events, dict) else events
  per_op = collections.Counter()
  for event in events:
    if (event.get('ph') == 'X' and 'dur' in event and
        not event['name'].startswith(_WRAPPERS)):
      per_op[event['name']] += event['dur'] / 1e3 / steps  # ms a step
  per_kind = collections.Counter()
  for name, ms in per_op.items():
    per_kind[_kind(name, hlo.get(name, ''))] += ms
  return step_ms, per_op, per_kind, hlo


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--override', action='append', default=[],
                      help='config key=value, repeatable')
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--top', type=int, default=30)
  args = parser.parse_args()
  overrides = dict(o.split('=', 1) for o in args.override)
  config = cases.load_config({'config': cases.DEFAULT, 'overrides': {
      k: _parse_value(v) for k, v in overrides.items()}})
  step_ms, per_op, per_kind, hlo = profile(config, args.steps)
  print(f'step {step_ms:.1f} ms (untraced); op time {sum(per_op.values()):.1f} '
        'ms a step, by kind: ' + ', '.join(
            f'{k} {v:.1f}' for k, v in per_kind.most_common()))
  for name, ms in per_op.most_common(args.top):
    print(f'{ms:7.2f} ms  {name[:32]:32s} {hlo.get(name, "")[:100]}')


if __name__ == '__main__':
  main()
