"""Oracle cases of FD and KID: same distribution near 0, shifted far."""
import numpy as np

from dvae_jax.evaluation import sample_quality


def _pair(shift, n=1000, dim=8, seed=0):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + shift


def test_same_distribution_scores_near_zero():
  x, y = _pair(0.)
  assert sample_quality.frechet_distance(x, y) < 0.1
  assert abs(sample_quality.kernel_distance(x, y)['mean']) < 0.01


def test_shifted_distribution_scores_high():
  x, y = _pair(1.)
  # A mean shift of 1 in 8 dims: FD = ||shift||^2 = 8.
  assert abs(sample_quality.frechet_distance(x, y) - 8) < 1
  assert sample_quality.kernel_distance(x, y)['mean'] > 0.1


def test_frechet_distance_of_known_gaussians():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(20000, 2))
  y = 2 * rng.normal(size=(20000, 2))
  # Tr(I + 4I - 2 * 2I) = 2 per dim pair -> 2.
  assert abs(sample_quality.frechet_distance(x, y) - 2) < 0.1


def test_kid_is_seeded():
  x, y = _pair(0.5)
  assert (sample_quality.kernel_distance(x, y, seed=3) ==
          sample_quality.kernel_distance(x, y, seed=3))
