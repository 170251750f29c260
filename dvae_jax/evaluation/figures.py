"""The figures of the paper as image arrays: swap grid, analogies,
interpolations along s and along z, samples with z from the prior.

Each takes a trained inference.Model and uint8 source images (N, H, W, C)
and returns one (H', W', C) uint8 image (visualize.tile layout).
"""
import numpy as np

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.data.class_index import ClassIndex
from dvae_jax.evaluation import visualize
from dvae_jax.evaluation.inference import Model


def grid_sources(data: input_pipeline.SplitData, n: int, seed: int):
  """n images of n distinct identities (s sources) and n others (z sources).

  A split too small for that (a few images of your own data) gets fewer s
  sources, and z sources that may repeat the s ones.
  """
  rng = np.random.default_rng(seed)
  index = ClassIndex.of(data.labels)
  classes = rng.permutation(len(index.classes))[:n]
  s_idx = [rng.choice(index.members(k)) for k in classes]
  others = np.setdiff1d(np.arange(len(data.labels)), s_idx)
  if len(others) < n:
    others = np.arange(len(data.labels))
  z_idx = rng.choice(others, n, replace=len(others) < n)
  return data.images[s_idx], data.images[z_idx]


def swap_grid(model: Model, s_images, z_images) -> np.ndarray:
  """Row i, column j: Dec(s_i, z_j), with the sources on the top and left."""
  return visualize.swap_figure(s_images, z_images,
                               model.swap_grid(s_images, z_images))


def analogies(model: Model, a, b, c) -> np.ndarray:
  """Rows a : b :: c : ?, with ? = Dec(s_c, z_c + z_b - z_a): the change of
  nuisance from a to b applied to c (a and b should share an identity)."""
  s_c, z_c, _ = model.encode(c)
  _, z_a, _ = model.encode(a)
  _, z_b, _ = model.encode(b)
  answer = model.decode(s_c, z_c + z_b - z_a)
  return visualize.tile(np.stack([a, b, c, answer], axis=1))


def truth_swaps(images, pairs, swapped, n: int) -> np.ndarray:
  """Rows a | b | Dec(s_a, z_b) | the truth (a's identity in b's nuisances)
  for the first n of the scored pairs (analogies.Pairs into images (N, H, W,
  C)) and their swaps (len(pairs.a), H, W, C)."""
  a, b, t = pairs.a[:n], pairs.b[:n], pairs.t[:n]
  return visualize.tile(np.stack([images[a], images[b], swapped[:n],
                                  images[t]], axis=1))


def interpolation(model: Model, start, end, steps: int,
                  along: str) -> np.ndarray:
  """Rows: start, then `steps` decodings moving one code (`along` 's' or
  'z') linearly from start's to end's, the other kept at start's, then end."""
  s0, z0, _ = model.encode(start)
  s1, z1, _ = model.encode(end)
  t = np.linspace(0., 1., steps)[None, :, None]  # (1, T, 1)
  if along == 's':
    s, z = s0[:, None] + t * (s1 - s0)[:, None], np.repeat(z0[:, None], steps, 1)
  elif along == 'z':
    s, z = np.repeat(s0[:, None], steps, 1), z0[:, None] + t * (z1 - z0)[:, None]
  else:
    raise ValueError(f"along={along!r}: use 's' or 'z'")
  n = len(start)
  out = model.decode(s.reshape(n * steps, -1), z.reshape(n * steps, -1))
  out = out.reshape((n, steps) + out.shape[1:])
  return visualize.tile(np.concatenate([start[:, None], out, end[:, None]], 1))


def prior_samples(model: Model, sources, num_samples: int,
                  seed: int) -> np.ndarray:
  """Rows: a source image, then Dec(s_source, z) for z ~ N(0, I)."""
  s, z_mean, _ = model.encode(sources)
  z = np.random.default_rng(seed).standard_normal(
      (len(s) * num_samples, z_mean.shape[1])).astype(np.float32)
  out = model.decode(np.repeat(s, num_samples, 0), z)
  out = out.reshape((len(s), num_samples) + out.shape[1:])
  return visualize.tile(np.concatenate([sources[:, None], out], 1))


def same_identity_pairs(labels: np.ndarray, n: int, seed: int):
  """Indices of n pairs of distinct images of n distinct identities."""
  rng = np.random.default_rng(seed)
  index = ClassIndex.of(labels)
  classes = [k for k in rng.permutation(len(index.classes))
             if index.counts[k] >= 2][:n]
  pairs = [rng.choice(index.members(k), 2, replace=False) for k in classes]
  return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def all_figures(model: Model, data: input_pipeline.SplitData, rows: int,
                steps: int, seed: int) -> dict:
  """{name: image} of every figure, all drawn from `data` (seeded)."""
  s_src, z_src = grid_sources(data, rows, seed)
  m = min(len(s_src), len(z_src))  # a small split has fewer s sources
  out = {
      'swap_grid': swap_grid(model, s_src, z_src),
      'interpolation_s': interpolation(model, s_src[:m], z_src[:m], steps, 's'),
      'interpolation_z': interpolation(model, s_src[:m], z_src[:m], steps, 'z'),
      'prior_samples': prior_samples(model, s_src, steps, seed),
  }
  a, b = same_identity_pairs(data.labels, 2 * rows, seed)
  # k rows a : b :: c : ?, c of other identities; a small split gets fewer
  # rows (c of a's identity when only one identity has two images).
  k = len(a) // 2 or len(a)
  if k:
    c = a[k:2 * k] if len(a) >= 2 * k and len(a) > 1 else a[:k]
    out['analogies'] = analogies(model, data.images[a[:k]],
                                 data.images[b[:k]], data.images[c])
  return out
