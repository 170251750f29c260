"""Oracle cases of factor prediction: R^2 near 1 for a code that holds the
factor, near 0 for a shuffled one; rotation wraps around."""
import numpy as np

from dvae_jax.evaluation import factors

NAMES = ('pos_x', 'rotation')


def _data(n=1500, seed=0):
  f = np.random.default_rng(seed).uniform(size=(n, 2))
  return f, factors.factor_targets(f, NAMES)


def test_rotation_is_cos_sin_and_wraps():
  t = factors.factor_targets(np.array([[0.5, 0.0], [0.5, 1.0]]), NAMES)
  assert t['pos_x'].shape == (2, 1) and t['rotation'].shape == (2, 2)
  np.testing.assert_allclose(t['rotation'][0], t['rotation'][1], atol=1e-12)


def test_code_holding_the_factors_scores_near_one():
  f, t = _data()
  code = np.concatenate([f, np.random.default_rng(1).normal(size=(1500, 3))], 1)
  r2 = factors.r2_per_factor(code[:1000], _take(t, slice(0, 1000)),
                             code[1000:], _take(t, slice(1000, None)))
  assert r2['pos_x'] > 0.9 and r2['rotation'] > 0.8


def test_shuffled_code_scores_near_zero():
  f, t = _data()
  code = np.random.default_rng(1).permutation(f)
  r2 = factors.r2_per_factor(code[:1000], _take(t, slice(0, 1000)),
                             code[1000:], _take(t, slice(1000, None)))
  assert max(r2.values()) < 0.1


def _take(targets, idx):
  return {k: v[idx] for k, v in targets.items()}
