"""Oracle cases of MIG: one dim per factor scores near 1, a code whose dims all
share the factor or a shuffled code near 0."""
import numpy as np

from dvae_jax.evaluation import mig

NAMES = ('identity', 'x')


def _factors(n=4000, seed=0):
  rng = np.random.default_rng(seed)
  return np.stack([rng.integers(0, 10, n), rng.uniform(size=n)], 1)


def test_one_dim_per_factor_scores_near_one():
  f = _factors()
  noise = np.random.default_rng(1).normal(size=(len(f), 3))
  m = mig.compute_mig(np.concatenate([f, noise], 1), f, NAMES)
  assert m['mig_identity'] > 0.9 and m['mig_x'] > 0.9 and m['mig'] > 0.9


def test_duplicated_and_shuffled_codes_score_near_zero():
  f = _factors()
  duplicated = np.concatenate([f, f], 1)
  assert mig.compute_mig(duplicated, f, NAMES)['mig'] < 0.01
  shuffled = np.random.default_rng(1).permutation(f)
  assert mig.compute_mig(shuffled, f, NAMES)['mig'] < 0.05


def test_histogram_discretize_matches_equal_width_bins():
  """Bins of width (max - min) / 5 per column, numbered from 1; the maximum
  falls in the last. Quantile bins would put these points elsewhere."""
  x = np.array([0., 0.1, 0.12, 0.3, 0.5, 0.7, 0.9, 1.])
  out = mig.histogram_discretize(np.stack([x, 10 * x + 3], 1), 5)
  expected = [1, 1, 1, 2, 3, 4, 5, 5]
  np.testing.assert_array_equal(out, np.stack([expected, expected], 1))
