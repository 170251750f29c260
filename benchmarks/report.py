"""Markdown tables from bench.py's result records."""
from benchmarks.cases import SCALING


def _f(x, digits=1):
  return '-' if x is None else f'{x:,.{digits}f}'


def _percent(r) -> str:
  fraction = r.get('fraction_of_peak')
  return '-' if fraction is None else f'{100 * fraction:.0f}%'


def _times(x) -> str:
  return '-' if x is None else f'{x:,.1f}x'


def markdown(results: list, meta: dict) -> str:
  """The tables of docs/PERFORMANCE.md's results section."""
  data = ('random batches (no input pipeline)' if meta.get('synthetic') else
          'the built-in data')
  lines = [
      f"Measured {meta['date']} on {meta['machine']}; jax {meta['jax']}, "
      f"torch {meta.get('torch', '-')}; JAX on {meta.get('jax_device', '-')}, "
      f"PyTorch on {meta.get('torch_device', 'cpu')}; {data}; load average "
      'before/after each case in the JSON. Command: `' + meta['command'] +
      '`.', '',
      '### Train step (dvae_jax)', '',
      '| case | image | batch/group | steps/call | compile s | step ms | '
      'images/s | fed images/s | pipeline images/s | pipeline / step | '
      'GFLOP/step | GFLOP/s | of matmul peak | peak RSS MiB |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | '
      '---: | ---: | ---: | ---: |']
  steps = [r for r in results if r.get('kind') == 'step' and 'error' not in r]
  for r in steps:
    lines.append(
        f"| {r['name']} | {r['image_size']} | {r['batch_size']} | {r['k']} | "
        f"{_f(r['compile_s'])} | {_f(r['step_ms'])} | "
        f"{_f(r['images_per_s'], 0)} | {_f(r.get('fed_images_per_s'), 0)} | "
        f"{_f(r['pipeline_images_per_s'], 0)} | "
        f"{_times(r['pipeline_over_step'])} | "
        f"{_f(r.get('gflop_per_step'), 2)} | "
        f"{_f(r.get('achieved_gflops'))} | {_percent(r)} | "
        f"{_f(r['peak_rss_mib'], 0)} |")
  base = next((r for r in steps if r['name'] == 'default'), None)
  if base:
    lines += ['', '### Scaling (relative to `default`; linear = the work ratio)',
              '', '| case | work ratio (images x pixels) | step time ratio |',
              '| --- | ---: | ---: |']
    for r in steps:
      if r['name'] not in SCALING:
        continue
      work = (r['batch_size'] * r['image_size']**2 /
              (base['batch_size'] * base['image_size']**2))
      lines.append(f"| {r['name']} | {work:.0f} | "
                   f"{r['step_ms'] / base['step_ms']:.2f} |")
  compares = [r for r in results if r.get('kind') == 'compare'
              and 'error' not in r]
  if compares:
    lines += ['',
              '### dvae_jax vs PyTorch, same networks, batch and device', '',
              '| case | image | batch/group | jax step ms | torch step ms | '
              'jax images/s | torch images/s | speedup | same losses '
              '(max rel. diff) |',
              '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |']
    for r in compares:
      j, t = r['timing']['jax'], r['timing']['torch']
      diff = max(r['check']['max_rel_diff_per_step'])
      lines.append(
          f"| {r['name']} | {r['image_size']} | {r['batch_size']} | "
          f"{_f(j['step_ms'])} | {_f(t['step_ms'])} | "
          f"{_f(j['images_per_s'], 0)} | {_f(t['images_per_s'], 0)} | "
          f"{r['timing']['speedup']:.2f}x | "
          f"{'yes' if r['check']['passed'] else 'NO'} ({diff:.1e}) |")
  failed = [r for r in results if 'error' in r]
  if failed:
    lines += ['', '### Cases that failed', '']
    lines += [f"- {r['name']}: {r['error']}" for r in failed]
  return '\n'.join(lines) + '\n'
