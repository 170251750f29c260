"""Swaps (RQ2/RQ4): Dec(s_a, z_b) should show a's identity in b's nuisances.

A judge (a classifier trained on real images) names the identity of each
swap: swap accuracy is the share it calls a's, leak rate the share it calls
b's (identity carried by z). Pixel errors are means of squares in the
model's [-1, 1] units.
"""
import numpy as np

from dvae_jax.data.class_index import ClassIndex


def cross_class_pairs(labels: np.ndarray, n: int, seed: int):
  """n index pairs (a, b) with labels[a] != labels[b], seeded. (n,), (n,)."""
  rng = np.random.default_rng(seed)
  a = rng.integers(0, len(labels), n)
  b = rng.integers(0, len(labels), n)
  for _ in range(100):  # redraw the few same-class pairs
    same = labels[a] == labels[b]
    if not same.any():
      break
    b[same] = rng.integers(0, len(labels), int(same.sum()))
  keep = labels[a] != labels[b]
  return a[keep], b[keep]


def same_class_pairs(labels: np.ndarray, n: int, seed: int):
  """n index pairs (a, a2), a != a2, labels[a] == labels[a2], seeded; none
  when no class has two examples."""
  rng = np.random.default_rng(seed)
  index = ClassIndex.of(labels)
  eligible = np.flatnonzero(index.counts[index.class_of] >= 2)
  if not len(eligible):  # e.g. a held-out split of one image per class
    return np.zeros(0, np.int64), np.zeros(0, np.int64)
  a = rng.choice(eligible, n)
  a2 = np.empty_like(a)
  for i, idx in enumerate(a):
    members = index.members(index.class_of[idx])
    a2[i] = rng.choice(members[members != idx])
  return a, a2


def judge_scores(judged: np.ndarray, labels_a: np.ndarray,
                 labels_b: np.ndarray) -> dict:
  """Judge's classes (N,) of Dec(s_a, z_b) -> {'accuracy': share == a's
  label, 'leak': share == b's label}; labels_a != labels_b everywhere."""
  return {'accuracy': float(np.mean(judged == labels_a)),
          'leak': float(np.mean(judged == labels_b))}


def mse(images: np.ndarray, targets: np.ndarray) -> float:
  """Mean squared error of two uint8 image arrays (N, H, W, C) in [-1, 1] units."""
  diff = (images.astype(np.float32) - targets.astype(np.float32)) / 127.5
  return float(np.mean(np.square(diff)))
