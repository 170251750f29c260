"""eval/report.md: the metrics as readable tables, each beside its reference
(chance, the supervised baseline, the real-vs-real floor). Titles and kinds
come from metric_keys; this module only lays them out."""
from dvae_jax.evaluation import metric_keys
from dvae_jax.evaluation.metric_keys import IMAGE_SETS, PROBE_CODES, PROBE_FITS


def shown(key: str, value) -> str:
  """A value as report.md shows it: '-' when missing, % for a fraction."""
  if value is None:
    return '-'
  if metric_keys.kind(key) == metric_keys.PCT:
    return f'{100 * value:.1f}%'
  return f'{value:.4g}'


def markdown_table(header, rows) -> list:
  """Lines of a markdown table (and a blank line after it)."""
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + ' --- |' * len(header)]
  lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
  return lines + ['']


def _measures(m: dict, section: str) -> list:
  """The 'measure | value' table of the table's rows of one section."""
  return markdown_table(['measure', 'value'], [
      [row.title, shown(row.key, m.get(row.key))]
      for row in metric_keys.METRICS if row.section == section])


def _optional_section(m: dict, prefix: str, title: str, section: str,
                      intro: str = '') -> list:
  """A titled 'measure | value' table of one section, only when some key
  starts with prefix (its family ran)."""
  if not any(k.startswith(prefix) for k in m):
    return []
  return [f'## {title}', ''] + ([intro, ''] if intro else []) + _measures(
      m, section)


def _grid(m: dict, name: str, word: str, values) -> list:
  """A row per value of `{word}`, a column per table row with that word."""
  columns = metric_keys.with_word(word)
  rows = [[v] + [shown(c.key, m.get(c.key.replace(f'{{{word}}}', v)))
                 for c in columns] for v in values]
  return markdown_table([name] + [c.title for c in columns], rows)


def markdown(m: dict) -> str:
  """The report of one evaluation, from its metrics dict."""
  v = lambda key: shown(key, m.get(key))
  out = [f'# Evaluation at step {m["step"]}', '',
         '## Identity probes (paper, Table 1)', '',
         'Accuracy of a classifier trained on codes of training images. '
         's should be near the supervised baseline, z near chance.', '']
  train, heldout = (metric_keys.find(f'probe/{{probe}}/{{code}}/{split}')
                    for split in ('train', 'heldout'))
  rows = [[probe, code, v(f'probe/{probe}/{code}/train'),
           v(f'probe/{probe}/{code}/heldout')]
          for probe in PROBE_FITS for code in PROBE_CODES]
  rows.append(['supervised baseline', 'image', v('baseline/train'),
               v('baseline/heldout')])
  rows.append(['chance', '-', '-', v('probe/chance')])
  out += markdown_table(['probe', 'code', train.title, heldout.title], rows)

  out += _optional_section(
      m, 'dims/', 'Where z holds identity', 'dimensions',
      'The z-mean probe on the dimensions that carry >= 0.5 nats and on the '
      "others (a probe reads a weak dimension's means at any scale; samples "
      'hide it).')

  out += ['## Swaps Dec(s_a, z_b), held-out images', '',
          'The judge is the supervised baseline.', '']
  out += _measures(m, 'swaps')

  out += ['## Unseen identities (RQ4)', '']
  out += _measures(m, 'unseen')

  out += _optional_section(
      m, 'analogy/', 'Unseen identities against the truth', 'analogy',
      "Dec(s_a, z_b) against the image of a's identity in b's nuisances, "
      'beside copying either input and reconstructing the truth; retrievals '
      'by nearest image in pixels.')
  names = sorted({k.split('/')[-1] for k in m if k.startswith('analogy/pose/')})
  if names:
    out += _grid(m, 'nuisance', 'nuisance', names)
  out += _optional_section(
      m, 'style/', 'Style of the swaps (Morpho-MNIST slant and thickness)',
      'style')

  names = sorted({k.split('/')[-1] for k in m if k.startswith('factors/')})
  if names:
    out += ['## Nuisance factors', '',
            'R^2 of each factor predicted from a code (held-out images), '
            'the share of its importance in z (block DCI) and its MIG.', '']
    out += _grid(m, 'factor', 'factor', names)
    out += _measures(m, 'factors')

  out += ['## Sample quality (judge features; lower is better)', '']
  out += _grid(m, 'images', 'images', IMAGE_SETS)
  out += ['Figures: swap_grid.png, analogies.png, interpolation_s.png, '
          'interpolation_z.png, prior_samples.png (unseen identities).', '']
  return '\n'.join(out)
