"""Oracle cases of nearest-neighbour retrieval."""
import numpy as np

from dvae_jax.evaluation import retrieval


def _codes(seed=0):
  rng = np.random.default_rng(seed)
  labels = np.repeat(np.arange(20), 10)
  centres = rng.normal(size=(20, 16))
  return centres[labels] + 0.05 * rng.normal(size=(200, 16)), labels


def test_split_is_per_class_halves_and_disjoint():
  labels = np.repeat(np.arange(5), 4)
  gallery, query = retrieval.query_gallery_split(labels, seed=0)
  assert len(np.intersect1d(gallery, query)) == 0
  assert len(gallery) == len(query) == 10
  assert set(labels[gallery]) == set(labels[query]) == set(range(5))


def test_identity_code_retrieves_perfectly():
  codes, labels = _codes()
  r = retrieval.nearest_neighbour_accuracy(codes, labels, seed=0)
  assert r['accuracy'] == 1.0
  assert abs(r['chance'] - 1 / 20) < 1e-9


def test_shuffled_and_constant_codes_retrieve_at_chance():
  codes, labels = _codes()
  shuffled = np.random.default_rng(1).permutation(codes)
  assert retrieval.nearest_neighbour_accuracy(shuffled, labels)['accuracy'] < 0.15
  constant = np.ones_like(codes)
  assert retrieval.nearest_neighbour_accuracy(constant, labels)['accuracy'] < 0.15
