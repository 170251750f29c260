"""Mutual Information Gap on [s; z] (Chen et al., "Isolating Sources of
Disentanglement in VAEs", NeurIPS 2018, eq. 6), as disentanglement_lib's
`evaluation/metrics/mig.py` computes it: each code dim discretized into
`num_bins` equal-width histogram bins (`utils._histogram_discretize`), discrete
mutual information with each factor (`utils.discrete_mutual_info`), and per
factor the gap between its two most informative dims over its entropy.

Continuous factors are discretized the same way (disentanglement_lib's
datasets have discrete factors); identity is already discrete. MIG rewards one
dim per factor, so a distributed identity code in s scores low by design.
"""
import numpy as np
import sklearn.metrics


def histogram_discretize(x: np.ndarray, num_bins: int) -> np.ndarray:
  """(N, D) -> (N, D) int bin indices, per column, as disentanglement_lib."""
  out = np.zeros(x.shape, np.int64)
  for i in range(x.shape[1]):
    out[:, i] = np.digitize(x[:, i], np.histogram(x[:, i], num_bins)[1][:-1])
  return out


def compute_mig(codes: np.ndarray, factors: np.ndarray, names,
                num_bins: int = 20, discrete=('identity',)) -> dict:
  """Codes (N, D), factors (N, F) -> {'mig_<name>': gap, 'mig': mean}."""
  codes_d = histogram_discretize(codes, num_bins)
  scores = {}
  for j, name in enumerate(names):
    y = factors[:, j]
    if name not in discrete:
      y = histogram_discretize(y[:, None], num_bins)[:, 0]
    entropy = sklearn.metrics.mutual_info_score(y, y)
    mi = np.sort([sklearn.metrics.mutual_info_score(y, codes_d[:, i])
                  for i in range(codes.shape[1])])[::-1]
    second = mi[1] if len(mi) > 1 else 0.
    scores[f'mig_{name}'] = float((mi[0] - second) / entropy) if entropy else 0.
  scores['mig'] = float(np.mean([scores[f'mig_{n}'] for n in names]))
  return scores
