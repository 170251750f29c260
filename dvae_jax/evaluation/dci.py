"""Block-level DCI: how much of identity sits in s, and of each nuisance in z.

Follows disentanglement_lib's `evaluation/metrics/dci.py` (Eastwood &
Williams, "A Framework for the Quantitative Evaluation of Disentangled
Representations", ICLR 2018): one tree ensemble per factor on the whole code
gives an importance matrix R (code dims x factors), each column summing to 1
(impurity importances; disentanglement_lib uses gradient-boosted trees, we use
random forests for speed). Here the code dims are summed into their blocks
(s, z) and the factors into their groups (identity, nuisance), and the
disentanglement and completeness formulas of dci.py are applied to that
2 x 2 block matrix: 1 when s holds identity only and z nuisances only.
"""
import warnings

import numpy as np
import scipy.stats

from dvae_jax.evaluation import factors as factors_lib


def importance_matrix(codes: np.ndarray, targets: dict, discrete=(),
                      seed: int = 0, trees: int = 20,
                      depth: int = 10) -> np.ndarray:
  """Codes (N, D), {name: (N,) labels or (N, k) values} -> R (D, factors).

  Column j holds the forest's importances of each dim for factor j (sum 1,
  or 0 when no split helped, e.g. a constant code).
  """
  cols = []
  for name, y in targets.items():
    model = factors_lib.forest(name in discrete, seed, trees, depth)
    y = np.asarray(y)
    with warnings.catch_warnings():  # small subsets: classes > samples / 2
      warnings.simplefilter('ignore', UserWarning)
      model.fit(codes, y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y)
    imp = np.nan_to_num(np.abs(model.feature_importances_))
    cols.append(imp / imp.sum() if imp.sum() > 0 else imp)
  return np.stack(cols, axis=1)


def disentanglement(r: np.ndarray) -> float:
  """dci.py's disentanglement of an importance matrix r (codes, factors)."""
  per_code = 1. - scipy.stats.entropy(r.T + 1e-11, base=r.shape[1])
  if r.sum() == 0.:
    r = np.ones_like(r)
  return float(np.sum(per_code * r.sum(axis=1) / r.sum()))


def completeness(r: np.ndarray) -> float:
  """dci.py's completeness of an importance matrix r (codes, factors)."""
  per_factor = 1. - scipy.stats.entropy(r + 1e-11, base=r.shape[0])
  if r.sum() == 0.:
    r = np.ones_like(r)
  return float(np.sum(per_factor * r.sum(axis=0) / r.sum()))


def compute_block_dci(s: np.ndarray, z: np.ndarray, labels: np.ndarray,
                      nuisance_targets: dict, seed: int = 0, trees: int = 20,
                      depth: int = 10) -> dict:
  """s (N, S), z (N, Z), labels (N,), {nuisance: (N, k)} -> scores.

  Keys: 'identity_in_s' (share of identity's importance in s),
  '<nuisance>_in_z' (share of each nuisance's importance in z),
  'disentanglement' and 'completeness' of the 2 x 2 block matrix.
  """
  targets = {'identity': labels, **nuisance_targets}
  r = importance_matrix(np.concatenate([s, z], 1), targets, ('identity',),
                        seed, trees, depth)
  blocks = np.stack([r[:s.shape[1]].sum(0), r[s.shape[1]:].sum(0)])  # (2, F)
  scores = {'identity_in_s': float(blocks[0, 0])}
  for j, name in enumerate(nuisance_targets, start=1):
    scores[f'{name}_in_z'] = float(blocks[1, j])
  grouped = np.stack([blocks[:, 0], blocks[:, 1:].sum(1)], axis=1)  # (2, 2)
  scores['disentanglement'] = disentanglement(grouped)
  scores['completeness'] = completeness(grouped)
  return scores
