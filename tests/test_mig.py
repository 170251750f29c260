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
  x = np.linspace(0, 1, 11)[:, None]
  out = mig.histogram_discretize(x, 5)
  assert out.min() == 1 and out.max() == 5
