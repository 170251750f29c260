"""Nearest-neighbour identity retrieval, for identities never seen in training
(RQ4): a code that holds identity puts images of one identity close together,
even when no classifier ever saw that identity."""
import numpy as np

from dvae_jax.data.class_index import ClassIndex


def query_gallery_split(labels: np.ndarray, seed: int):
  """Per class, half of its examples (rounded down, at least one) go to the
  gallery and the rest are queries. Returns index arrays (gallery, query)."""
  rng = np.random.default_rng(seed)
  gallery, query = [], []
  index = ClassIndex.of(labels)
  for k in range(len(index.classes)):
    idx = rng.permutation(index.members(k))
    k = max(1, len(idx) // 2)
    gallery.append(idx[:k])
    query.append(idx[k:])
  return np.concatenate(gallery), np.concatenate(query)


def nearest_neighbour_accuracy(codes: np.ndarray, labels: np.ndarray,
                               seed: int = 0) -> dict:
  """Top-1 retrieval by cosine similarity of standardized codes (N, D).

  Codes are standardized with the gallery's statistics, so no dimension
  dominates by scale. Returns {'accuracy': share of queries whose nearest
  gallery code has their label, 'chance': share for a random gallery item}.
  """
  gallery, query = query_gallery_split(labels, seed)
  g = codes[gallery].astype(np.float64)
  mean, std = g.mean(0), g.std(0) + 1e-8
  normed = lambda x: _unit((x - mean) / std)
  sim = normed(codes[query]) @ normed(g).T  # (Q, G)
  hits = labels[gallery][np.argmax(sim, axis=1)] == labels[query]
  same = labels[query][:, None] == labels[gallery][None, :]
  chance = float(np.mean(same))
  return {'accuracy': float(np.mean(hits)), 'chance': chance}


def _unit(x: np.ndarray) -> np.ndarray:
  return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)
