"""Oracle cases of the identity probes: a code that is the class scores near 1,
a shuffled or constant one near chance."""
import functools

import numpy as np
import pytest
import threadpoolctl

from dvae_jax.evaluation import probes


@pytest.fixture(autouse=True)
def one_blas_thread():
  """As evaluate.py runs them: threaded BLAS spins on a busy machine."""
  with threadpoolctl.threadpool_limits(1):
    yield


PROBES = [probes.logistic_probe,
          functools.partial(probes.mlp_probe, max_iter=30)]


def _codes(n=600, classes=6, dim=8, seed=0):
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, classes, n)
  centres = rng.normal(size=(classes, dim)) * 4
  return centres[labels] + rng.normal(size=(n, dim)), labels


@pytest.mark.parametrize('probe', PROBES, ids=['linear', 'mlp'])
def test_perfect_code_scores_near_one(probe):
  codes, labels = _codes()
  acc = probe(codes[:400], labels[:400], codes[400:], labels[400:], seed=0)
  assert acc['train'] > 0.95 and acc['test'] > 0.95


@pytest.mark.parametrize('probe', PROBES, ids=['linear', 'mlp'])
def test_shuffled_and_constant_codes_score_near_chance(probe):
  codes, labels = _codes()
  chance = probes.chance_accuracy(labels[:400], labels[400:])
  shuffled = np.random.default_rng(1).permutation(codes)
  acc = probe(shuffled[:400], labels[:400], shuffled[400:], labels[400:],
              seed=0)
  assert acc['test'] < chance + 0.1
  constant = np.zeros_like(codes)
  acc = probe(constant[:400], labels[:400], constant[400:], labels[400:],
              seed=0)
  assert acc['test'] < chance + 0.1


def test_mlp_probe_is_seeded():
  codes, labels = _codes(n=200)
  runs = [probes.mlp_probe(codes[:150], labels[:150], codes[150:],
                           labels[150:], seed=3, max_iter=5) for _ in range(2)]
  assert runs[0] == runs[1]


def test_chance_is_the_majority_class():
  assert probes.chance_accuracy(np.array([0, 1, 1]),
                                np.array([1, 1, 0, 2])) == 0.5


def test_sample_z_matches_the_posterior():
  mean, logvar = np.full((20000, 2), 3.), np.full((20000, 2), np.log(4.))
  z = probes.sample_z(mean, logvar, seed=0)
  np.testing.assert_allclose(z.mean(0), 3., atol=0.05)
  np.testing.assert_allclose(z.std(0), 2., atol=0.05)
  np.testing.assert_array_equal(z, probes.sample_z(mean, logvar, seed=0))
