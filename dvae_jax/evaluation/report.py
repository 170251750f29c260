"""eval/report.md: the metrics as readable tables, each beside its reference
(chance, the supervised baseline, the real-vs-real floor)."""


def _pct(x) -> str:
  return '-' if x is None else f'{100 * x:.1f}%'


def _num(x) -> str:
  return '-' if x is None else f'{x:.4g}'


def _table(header, rows) -> list:
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + ' --- |' * len(header)]
  lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
  return lines + ['']


def markdown(m: dict) -> str:
  """The report of one evaluation, from its metrics dict."""
  g = m.get
  out = [f'# Evaluation at step {m["step"]}', '',
         '## Identity probes (paper, Table 1)', '',
         'Accuracy of a classifier trained on codes of training images. '
         's should be near the supervised baseline, z near chance.', '']
  rows = []
  for probe in ('linear', 'mlp'):
    for code in ('s', 'z_mean', 'z_sample'):
      rows.append([probe, code, _pct(g(f'probe/{probe}/{code}/train')),
                   _pct(g(f'probe/{probe}/{code}/heldout'))])
  rows.append(['supervised baseline', 'image', _pct(g('baseline/train')),
               _pct(g('baseline/heldout'))])
  rows.append(['chance', '-', '-', _pct(g('probe/chance'))])
  out += _table(['probe', 'code', 'train', 'held-out'], rows)

  out += ['## Swaps Dec(s_a, z_b), held-out images', '',
          'The judge is the supervised baseline.', '']
  out += _table(['measure', 'value'], [
      ['judge says a (swap accuracy)', _pct(g('swap/accuracy'))],
      ['judge says b (leak rate)', _pct(g('swap/leak'))],
      ['same-class swap MSE', _num(g('swap/same_class_mse'))],
      ['reconstruction MSE (reference)', _num(g('swap/reconstruction_mse'))]])

  out += ['## Unseen identities (RQ4)', '']
  out += _table(['measure', 'value'], [
      ['nearest-neighbour retrieval from s', _pct(g('unseen/retrieval_s'))],
      ['nearest-neighbour retrieval from z', _pct(g('unseen/retrieval_z_mean'))],
      ['retrieval chance', _pct(g('unseen/retrieval_chance'))],
      ['ground-truth swap MSE', _num(g('unseen/gt_swap_mse'))],
      ['same, copying the z source', _num(g('unseen/gt_swap_mse_z_source'))],
      ['reconstruction MSE', _num(g('unseen/reconstruction_mse'))]])

  names = sorted({k.split('/')[-1] for k in m if k.startswith('factors/')})
  if names:
    out += ['## Nuisance factors', '',
            'R^2 of each factor predicted from a code (held-out images), '
            'the share of its importance in z (block DCI) and its MIG.', '']
    out += _table(['factor', 'R^2 from z', 'R^2 from s', 'share in z', 'MIG'],
                  [[n, _num(g(f'factors/r2_z_mean/{n}')),
                    _num(g(f'factors/r2_s/{n}')), _num(g(f'dci/{n}_in_z')),
                    _num(g(f'mig/{n}'))] for n in names])
    out += _table(['measure', 'value'], [
        ['identity share in s (block DCI)', _num(g('dci/identity_in_s'))],
        ['block disentanglement', _num(g('dci/disentanglement'))],
        ['block completeness', _num(g('dci/completeness'))],
        ['MIG of identity', _num(g('mig/identity'))],
        ['MIG mean', _num(g('mig/mean'))]])

  out += ['## Sample quality (judge features; lower is better)', '']
  out += _table(['images', 'Frechet distance', 'KID'],
                [[n, _num(g(f'quality/fd_{n}')), _num(g(f'quality/kid_{n}'))]
                 for n in ('real', 'reconstruction', 'prior', 'swap')])
  out += ['Figures: swap_grid.png, analogies.png, interpolation_s.png, '
          'interpolation_z.png, prior_samples.png (unseen identities).', '']
  return '\n'.join(out)
