"""ClassIndex against its definition, computed the slow way."""
import numpy as np

from dvae_jax.data.class_index import ClassIndex


def test_groups_every_example_under_its_label():
  labels = np.array([7, 3, 7, 7, 9, 3, 7], np.int32)
  index = ClassIndex.of(labels)
  np.testing.assert_array_equal(index.classes, [3, 7, 9])
  np.testing.assert_array_equal(index.counts, [2, 4, 1])
  np.testing.assert_array_equal(index.members(0), [1, 5])
  np.testing.assert_array_equal(index.members(1), [0, 2, 3, 6])
  np.testing.assert_array_equal(index.members(2), [4])
  np.testing.assert_array_equal(index.class_of, [1, 0, 1, 1, 2, 0, 1])
  np.testing.assert_array_equal(index.rank, [0, 0, 1, 2, 0, 1, 3])


def test_random_labels_match_the_slow_way():
  labels = np.random.default_rng(0).integers(0, 40, 1000)
  index = ClassIndex.of(labels)
  for k, c in enumerate(index.classes):
    np.testing.assert_array_equal(index.members(k), np.flatnonzero(labels == c))
  i = np.arange(len(labels))
  np.testing.assert_array_equal(index.classes[index.class_of], labels)
  # Each example sits at its class's start plus its rank.
  np.testing.assert_array_equal(
      index.order[index.starts[index.class_of] + index.rank], i)


def test_no_labels():
  index = ClassIndex.of(np.zeros(0, np.int32))
  assert len(index.classes) == len(index.order) == len(index.rank) == 0
