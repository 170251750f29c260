"""The several-seed table: mean and sample spread from eval/metrics.json files."""
import json
import os
import subprocess
import sys

import pytest

from dvae_jax.runtime import errors, workdir
from dvae_jax.cli import compare


def _workdir(tmp_path, name, metrics):
  path = tmp_path / name / 'eval'
  path.mkdir(parents=True)
  (path / 'metrics.json').write_text(json.dumps(metrics))
  return str(tmp_path / name)


def test_mean_and_spread_by_hand():
  mean, spread = compare.mean_and_spread([0.70, 0.80, 0.90])
  assert mean == pytest.approx(0.80)
  # sqrt(((-0.1)^2 + 0 + 0.1^2) / 2) = 0.1
  assert spread == pytest.approx(0.1)
  assert compare.mean_and_spread([0.5]) == (0.5, 0.0)


def test_table_has_a_row_per_run_with_mean_and_spread(tmp_path):
  dirs = [_workdir(tmp_path, f's{i}', {'probe/linear/s/heldout': v,
                                       'analogy/score': 0.05})
          for i, v in enumerate([0.70, 0.80, 0.90])]
  text = compare.table({'full': [compare.load_metrics(d) for d in dirs]})
  lines = text.splitlines()
  assert lines[0].startswith('| run | seeds | s linear probe |')
  row = lines[2].split(' | ')
  assert row[0] == '| full' and row[1] == '3'
  assert row[2] == '80.0 ± 10.0%'
  assert row[3] == '-'  # not in these metrics
  assert '0.0500 ± 0.0000' in lines[2]


def test_chosen_metrics_are_columns_in_percent_or_plain():
  columns = compare.columns_for(['probe/mlp/z_sample/heldout', 'kl'])
  assert [kind for _, _, kind in columns] == ['pct', 'num']
  text = compare.table({'a': [{'probe/mlp/z_sample/heldout': 0.25, 'kl': 2.0},
                              {'probe/mlp/z_sample/heldout': 0.35, 'kl': 4.0}]},
                       columns)
  assert text.splitlines()[0] == (
      '| run | seeds | probe/mlp/z_sample/heldout | kl |')
  assert text.splitlines()[2] == '| a | 2 | 30.0 ± 7.1% | 3.0000 ± 1.4142 |'


def test_reads_a_workdir_on_a_non_local_file_system(ram_workdir):
  workdir.write_json(f'{ram_workdir}/eval/metrics.json',
                     {'probe/linear/s/heldout': 0.5})
  assert compare.load_metrics(ram_workdir) == {'probe/linear/s/heldout': 0.5}
  with pytest.raises(errors.UserError, match='--mode=evaluate'):
    compare.load_metrics(f'{ram_workdir}/other')


def test_missing_metrics_and_bad_spec_are_user_errors(tmp_path):
  with pytest.raises(errors.UserError, match='--mode=evaluate'):
    compare.load_metrics(str(tmp_path))
  with pytest.raises(errors.UserError, match='NAME=WORKDIR'):
    compare.parse_run('no-equals-sign')
  assert compare.parse_run('a=x,y') == ('a', ['x', 'y'])


def test_command_line(tmp_path):
  d = _workdir(tmp_path, 'a', {'probe/linear/s/heldout': 0.5})
  cmd = [sys.executable, '-m', 'dvae_jax.cli.compare']
  ok = subprocess.run(cmd + [f'--run=paper={d}'], capture_output=True,
                      text=True, check=True)
  assert '| paper | 1 | 50.0% |' in ok.stdout  # one run: no spread shown
  bad = subprocess.run(cmd + [f'--run=paper={tmp_path}/missing'],
                       capture_output=True, text=True)
  assert bad.returncode == 2
  assert bad.stderr.strip().startswith('error: ')
  assert len(bad.stderr.strip().splitlines()) == 1
