"""A table of several trained runs, mean and spread over seeds.

  python -m dvae_jax.cli.compare \
      --run="paper's method=/tmp/label_s0,/tmp/label_s1,/tmp/label_s2" \
      --run="no adversary=/tmp/none_s0,/tmp/none_s1,/tmp/none_s2"

Each --run is NAME=WORKDIR[,WORKDIR...], one workdir per seed, each holding
the eval/metrics.json that `--mode=evaluate` (or the end of training) wrote.
Prints a markdown table: per metric, the mean over the workdirs and the sample
standard deviation (ddof=1), with the number of seeds (a single run: its value,
no spread). --metric=KEY (repeated) picks other metrics.json keys than the
headline ones.
"""
import math
from typing import Dict, List, Sequence, Tuple

from absl import app
from absl import flags
from etils import epath

from dvae_jax.cli import common
from dvae_jax.evaluation import metric_keys, report
from dvae_jax.runtime import errors
from dvae_jax.runtime import workdir as workdir_lib

# (metrics.json key, column title, kind): the headline numbers of RESULTS.md.
COLUMNS = tuple((m.key, m.column, m.kind) for m in metric_keys.METRICS
                if m.column)

_RUN = flags.DEFINE_multi_string(
    'run', [], 'NAME=WORKDIR[,WORKDIR...]: one row, its seeds\' workdirs.')
_METRIC = flags.DEFINE_multi_string(
    'metric', [], 'metrics.json keys to show instead of the headline ones.')


def columns_for(keys: Sequence[str]) -> tuple:
  """(key, title, kind) columns for metrics.json keys, titled by the key."""
  return tuple((k, k, metric_keys.kind(k)) for k in keys)


def load_metrics(workdir: str) -> dict:
  """The eval/metrics.json of one workdir."""
  path = epath.Path(workdir, workdir_lib.EVAL, workdir_lib.METRICS)
  if not path.exists():
    raise errors.UserError(
        f'{path} does not exist; evaluate that run first: python -m '
        f'dvae_jax.main --config=... --workdir={workdir} --mode=evaluate')
  return workdir_lib.read_json(path)


def mean_and_spread(values: Sequence[float]) -> Tuple[float, float]:
  """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
  n = len(values)
  mean = sum(values) / n
  if n < 2:
    return mean, 0.0
  return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def _cell(values: List[float], kind: str) -> str:
  if not values:
    return '-'
  mean, spread = mean_and_spread(values)
  if len(values) == 1:  # no spread was measured: show none
    return f'{100 * mean:.1f}%' if kind == metric_keys.PCT else f'{mean:.4f}'
  if kind == metric_keys.PCT:
    return f'{100 * mean:.1f} ± {100 * spread:.1f}%'
  return f'{mean:.4f} ± {spread:.4f}'


def table(runs: Dict[str, List[dict]], columns=COLUMNS) -> str:
  """Markdown rows: one per run name, mean ± std over its metrics dicts."""
  header = ['run', 'seeds'] + [title for _, title, _ in columns]
  rows = []
  for name, metrics in runs.items():
    cells = [_cell([m[key] for m in metrics if m.get(key) is not None], kind)
             for key, _, kind in columns]
    rows.append([name, str(len(metrics))] + cells)
  return '\n'.join(report.markdown_table(header, rows))


def parse_run(spec: str) -> Tuple[str, List[str]]:
  """'NAME=DIR1,DIR2' -> ('NAME', ['DIR1', 'DIR2'])."""
  name, sep, dirs = spec.partition('=')
  workdirs = [d for d in dirs.split(',') if d]
  if not sep or not name or not workdirs:
    raise errors.UserError(
        f'--run={spec!r} is not NAME=WORKDIR[,WORKDIR...]; '
        'e.g. --run="full model=/tmp/s0,/tmp/s1,/tmp/s2"')
  return name, workdirs


def main():
  if not _RUN.value:
    raise app.UsageError('give at least one --run=NAME=WORKDIR[,WORKDIR...]')
  runs = {}
  for spec in _RUN.value:
    name, workdirs = parse_run(spec)
    runs[name] = [load_metrics(d) for d in workdirs]
  print(table(runs, columns_for(_METRIC.value) if _METRIC.value else COLUMNS))


if __name__ == '__main__':
  common.run(main)
