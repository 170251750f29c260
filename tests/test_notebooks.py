"""The notebooks run top to bottom (tiny setting), so they cannot drift from
the package; and they are stored without outputs.

Every code cell is executed in one namespace, in order, as Jupyter would,
except Colab-only cells (tagged `colab-only` or starting with a
`# colab-only` comment) and `!`/`%` lines (shell and magics).
"""
import json
import os

import pytest
from absl import logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(REPO, 'notebooks')
NAMES = sorted(n for n in os.listdir(NOTEBOOKS) if n.endswith('.ipynb'))


def _load(name):
  with open(os.path.join(NOTEBOOKS, name)) as f:
    return json.load(f)


def _source(cell) -> str:
  src = cell['source']
  return ''.join(src) if isinstance(src, list) else src


def _colab_only(cell) -> bool:
  return ('colab-only' in cell.get('metadata', {}).get('tags', []) or
          _source(cell).lstrip().startswith('# colab-only'))


def code_cells(name):
  """(index, python source) of the cells CI runs."""
  out = []
  for i, cell in enumerate(_load(name)['cells']):
    if cell['cell_type'] != 'code' or _colab_only(cell):
      continue
    lines = [line for line in _source(cell).splitlines()
             if not line.lstrip().startswith(('!', '%'))]
    out.append((i, '\n'.join(lines)))
  return out


def _execute(name):
  namespace = {'__name__': '__main__'}
  for i, source in code_cells(name):
    exec(compile(source, f'{name}, cell {i}', 'exec'), namespace)  # pylint: disable=exec-used
  return namespace


@pytest.fixture
def notebook_env(monkeypatch, glyphs_data_dir, tmp_path):
  monkeypatch.setenv('DVAE_NOTEBOOK_TINY', '1')
  monkeypatch.setenv('DVAE_DATA_DIR', glyphs_data_dir)
  monkeypatch.setenv('DVAE_OUTPUT_DIR', str(tmp_path / 'out'))
  (tmp_path / 'out').mkdir()
  monkeypatch.chdir(NOTEBOOKS)  # where Jupyter starts a notebook
  verbosity = logging.get_verbosity()
  yield tmp_path
  logging.set_verbosity(verbosity)


def test_notebooks_are_found():
  assert NAMES  # else the parametrized tests below check nothing


@pytest.mark.parametrize('name', NAMES)
def test_stored_without_outputs(name):
  book = _load(name)
  for cell in book['cells']:
    if cell['cell_type'] == 'code':
      assert cell['outputs'] == [] and cell['execution_count'] is None
  first = _source(book['cells'][0])
  assert (f'colab.research.google.com/github/dvae-jax/dvae_jax/blob/main/'
          f'notebooks/{name}') in first
  assert 'Tested on' in first
  # The install cell is the only one CI skips.
  skipped = [c for c in book['cells'] if c['cell_type'] == 'code' and
             _colab_only(c)]
  assert len(skipped) == 1 and 'pip install' in _source(skipped[0])


def test_quickstart_runs(notebook_env, monkeypatch, capsys):
  workdir = notebook_env / 'quickstart'
  monkeypatch.setenv('DVAE_WORKDIR', str(workdir))
  ns = _execute('quickstart.ipynb')
  assert ns['summary']['step'] == ns['config'].num_train_steps
  assert ns['figs']['swap_grid'].ndim == 3
  assert (workdir / 'eval' / 'metrics.json').exists()
  out = capsys.readouterr().out
  assert 'identity from s' in out and '[image ' in out


def test_analogies_runs_on_a_trained_workdir(notebook_env, finished_run,
                                              monkeypatch, capsys):
  _, workdir, _ = finished_run
  monkeypatch.setenv('DVAE_WORKDIR', workdir)
  ns = _execute('analogies.ipynb')
  assert ns['result'].shape == (32, 32, 3)
  assert ns['grid'].shape == (3 * 33 + 1, 4 * 33 + 1, 3)
  assert (notebook_env / 'out' / 'analogy_grid.png').exists()
  assert '[image ' in capsys.readouterr().out


def test_analogies_trains_a_small_model_first(notebook_env, monkeypatch):
  workdir = notebook_env / 'fresh'  # no checkpoint: the notebook trains
  monkeypatch.setenv('DVAE_WORKDIR', str(workdir))
  ns = _execute('analogies.ipynb')
  assert ns['loaded'].step == ns['config'].num_train_steps
  assert (workdir / 'checkpoints').is_dir()
  assert ns['grid'].shape == (3 * 33 + 1, 4 * 33 + 1, 3)
