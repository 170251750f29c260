"""Oracle cases of block DCI: identity in s and nuisances in z score 1, the
blocks swapped or a constant code score near 0."""
import numpy as np

from dvae_jax.evaluation import dci


def _data(n=800, seed=0):
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 5, n)
  nuisance = rng.uniform(size=(n, 2))
  s = np.eye(5)[labels] + 0.01 * rng.normal(size=(n, 5))
  targets = {'a': nuisance[:, :1], 'b': nuisance[:, 1:]}
  return s, nuisance, labels, targets


def test_disentangled_blocks_score_near_one():
  s, z, labels, targets = _data()
  d = dci.compute_block_dci(s, z, labels, targets)
  assert d['identity_in_s'] > 0.95
  assert d['a_in_z'] > 0.95 and d['b_in_z'] > 0.95
  assert d['disentanglement'] > 0.8 and d['completeness'] > 0.8


def test_swapped_blocks_and_constant_code_score_near_zero():
  s, z, labels, targets = _data()
  swapped = dci.compute_block_dci(z, s, labels, targets)
  assert swapped['identity_in_s'] < 0.05 and swapped['a_in_z'] < 0.05
  const = dci.compute_block_dci(np.zeros_like(s), np.zeros_like(z), labels,
                                targets)
  assert const['identity_in_s'] == 0 and const['a_in_z'] == 0
  assert const['disentanglement'] < 0.05


def test_disentanglement_and_completeness_match_dci_formulas():
  assert dci.disentanglement(np.eye(3)) > 0.999
  assert dci.completeness(np.eye(3)) > 0.999
  assert dci.disentanglement(np.ones((3, 3))) < 1e-6
  assert dci.completeness(np.ones((3, 3))) < 1e-6
