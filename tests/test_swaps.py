"""Pairs, judge scores and pixel errors of the swap metrics."""
import numpy as np

from dvae_jax.evaluation import swaps

LABELS = np.repeat(np.arange(10), 5)


def test_cross_class_pairs_differ_and_are_seeded():
  a, b = swaps.cross_class_pairs(LABELS, 300, seed=0)
  assert len(a) == 300 and np.all(LABELS[a] != LABELS[b])
  a2, b2 = swaps.cross_class_pairs(LABELS, 300, seed=0)
  np.testing.assert_array_equal(a, a2)
  np.testing.assert_array_equal(b, b2)


def test_same_class_pairs_share_a_class_but_not_an_image():
  a, a2 = swaps.same_class_pairs(LABELS, 300, seed=0)
  assert np.all(LABELS[a] == LABELS[a2]) and np.all(a != a2)


def test_judge_scores_perfect_swap_and_total_leak():
  a, b = swaps.cross_class_pairs(LABELS, 100, seed=0)
  perfect = swaps.judge_scores(LABELS[a], LABELS[a], LABELS[b])
  assert perfect == {'accuracy': 1.0, 'leak': 0.0}
  leaked = swaps.judge_scores(LABELS[b], LABELS[a], LABELS[b])
  assert leaked == {'accuracy': 0.0, 'leak': 1.0}


def test_mse_is_in_unit_range_pixels():
  black = np.zeros((2, 4, 4, 3), np.uint8)
  white = np.full((2, 4, 4, 3), 255, np.uint8)
  assert swaps.mse(black, black) == 0.0
  assert abs(swaps.mse(black, white) - 4.0) < 1e-6  # -1 vs 1
