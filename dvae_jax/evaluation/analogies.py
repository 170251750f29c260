"""Swaps scored against the truth: Dec(s of a, z of b) should be the image of
a's identity in b's nuisances, and on a dataset that knows its nuisances
(discrete factors per image, or a renderer) that image exists.

A "truth set" is a set of images of unseen identities with labels (N,) and
discrete nuisance values (N, F). Pairs (a, b, t) of it have labels[a] !=
labels[b], factors[a] != factors[b] (the s source is a in another pose) and
t the image of a's label at b's factors (Reed et al. 2015's analogy protocol).
Scores (`score_swaps`), each beside what handing back an input would get:
- pixel MSE and SSIM of the swap, of the two inputs copied unchanged, and of
  the model's own reconstruction of t, all against t;
- analogy = (B - MSE(swap)) / (B - MSE(reconstruction)), B the better copy:
  1 is as close as the model can draw t at all, 0 no better than returning
  one input untouched; None where the reconstruction does not beat B;
- pose retrieval: the nearest (pixels) of a's images to the swap has b's
  nuisances (all of them, and each one); identity retrieval: among the images
  at b's nuisances (b's identity left out), the nearest to the swap is a's;
- where the swap loses (`score_swaps`' `variants`): the same retrievals of
  Dec(s_t, z_b), s from the truth image itself (the s half perfect: what is
  lost beyond it, z_b took in), and of Dec(mean s of k images of a, z_b)
  (group-averaged s, as in the ML-VAE: what s's change with pose costs).
Images are uint8 (N, H, W, C); errors are in the model's [-1, 1] units.
"""
from typing import NamedTuple, Optional

import numpy as np
from skimage import metrics as skimage_metrics

from dvae_jax.evaluation import swaps


class Pairs(NamedTuple):
  """Index arrays (n,) into a truth set: s source a, z source b, truth t;
  tried: how many (a, b) were drawn, the rest had no image of a at b's
  nuisances."""
  a: np.ndarray
  b: np.ndarray
  t: np.ndarray
  tried: int


def _pose_ids(factors: np.ndarray) -> np.ndarray:
  """(N, F) nuisance values -> (N,) an integer per distinct row."""
  return np.unique(factors, axis=0, return_inverse=True)[1].reshape(-1)


def draw_pairs(labels: np.ndarray, factors: np.ndarray, n: int,
               seed: int) -> Pairs:
  """n seeded pairs whose truth exists (fewer when the set has fewer); one
  image per (label, nuisances) serves as the truth when several exist."""
  pose = _pose_ids(factors)
  truth = {}
  for i, key in enumerate(zip(labels.tolist(), pose.tolist())):
    truth.setdefault(key, i)
  rng = np.random.default_rng(seed)
  a_out, b_out, t_out, tried = [], [], [], 0
  for _ in range(20):  # rounds of draws, until n pairs with a truth
    need = n - len(a_out)
    if need <= 0:
      break
    a = rng.integers(0, len(labels), 4 * need)
    b = rng.integers(0, len(labels), 4 * need)
    ok = (labels[a] != labels[b]) & (pose[a] != pose[b])
    for i, j in zip(a[ok].tolist(), b[ok].tolist()):
      if len(a_out) == n:
        break
      tried += 1
      t = truth.get((int(labels[i]), int(pose[j])))
      if t is not None:
        a_out.append(i), b_out.append(j), t_out.append(t)
  as_array = lambda x: np.asarray(x, np.int64)
  return Pairs(as_array(a_out), as_array(b_out), as_array(t_out), tried)


def group_sources(labels: np.ndarray, factors: np.ndarray, pairs: Pairs,
                  k: int, seed: int) -> list:
  """For each pair, up to k images of a's identity to average s over: a
  first, then others drawn from the seed; none in b's nuisances (t is
  there), so the group never sees the pose it is asked for. A list of n
  index arrays (1 to k each: an identity may have fewer images)."""
  pose = _pose_ids(factors)
  by_label = {k_: np.flatnonzero(labels == k_) for k_ in np.unique(labels)}
  rng = np.random.default_rng(seed)
  groups = []
  for a, b in zip(pairs.a.tolist(), pairs.b.tolist()):
    others = by_label[labels[a]]
    others = others[(others != a) & (pose[others] != pose[b])]
    groups.append(np.concatenate([[a], rng.permutation(others)[:k - 1]])
                  .astype(np.int64))
  return groups


def ssim(images: np.ndarray, targets: np.ndarray) -> float:
  """Mean structural similarity of two uint8 image arrays (N, H, W, C)."""
  return float(np.mean([
      skimage_metrics.structural_similarity(x, y, channel_axis=-1,
                                            data_range=255)
      for x, y in zip(images, targets)]))


def analogy_score(mse_swap: float, mse_copy_s: float, mse_copy_z: float,
                  mse_reconstruction: float) -> Optional[float]:
  """(B - swap) / (B - reconstruction), B = the better copy; None when the
  reconstruction is no closer to the truth than B (the score means nothing)."""
  better_copy = min(mse_copy_s, mse_copy_z)
  if mse_reconstruction >= better_copy:
    return None
  return (better_copy - mse_swap) / (better_copy - mse_reconstruction)


def _flat(images: np.ndarray) -> np.ndarray:
  return images.reshape(len(images), -1).astype(np.float32)


def _nearest(query: np.ndarray, gallery: np.ndarray) -> int:
  """Index of gallery's row (G, D) nearest to query (D,) in pixel distance."""
  return int(np.argmin(np.sum(np.square(gallery - query), axis=1)))


def retrievals(images, labels, factors, pairs: Pairs, queries,
               factor_names=()) -> list:
  """Pose and identity retrieval of each set of queries (n, H, W, C) (the
  swaps, the reconstructions), with chance; one dict per set, the galleries
  built once for all.

  Keys: pose, pose_chance (all nuisances equal to b's), identity,
  identity_chance; with two or more factor_names (F,), pose/<name> and
  pose_chance/<name> (that nuisance alone equal to b's).
  """
  flat = _flat(images)
  queries = [_flat(q) for q in queries]
  pose = _pose_ids(factors)
  by_label = {k: np.flatnonzero(labels == k) for k in np.unique(labels)}
  by_pose = {k: np.flatnonzero(pose == k) for k in np.unique(pose)}
  n, num_f = len(pairs.a), factors.shape[1]
  hits = np.zeros((len(queries), n, num_f + 1))  # exact, then each nuisance
  chance = np.zeros((n, num_f + 1))
  id_hits, id_chance = np.zeros((len(queries), n)), np.zeros(n)
  for i, (a, b) in enumerate(zip(pairs.a, pairs.b)):
    # Pose: among a's images, which is the query nearest to?
    pose_gallery = by_label[labels[a]]
    same = factors[pose_gallery] == factors[b]  # (G, F)
    match = np.concatenate([same.all(1, keepdims=True), same], 1)
    chance[i] = match.mean(0)
    # Identity: among the other identities at b's pose, is it a?
    id_gallery = by_pose[pose[b]]
    id_gallery = id_gallery[labels[id_gallery] != labels[b]]
    is_a = labels[id_gallery] == labels[a]
    id_chance[i] = is_a.mean()
    for q, query in enumerate(queries):
      hits[q, i] = match[_nearest(query[i], flat[pose_gallery])]
      id_hits[q, i] = is_a[_nearest(query[i], flat[id_gallery])]
  out = []
  for q in range(len(queries)):
    scores = {'pose': hits[q, :, 0].mean(),
              'pose_chance': chance[:, 0].mean(),
              'identity': id_hits[q].mean(),
              'identity_chance': id_chance.mean()}
    if len(factor_names) > 1:  # one nuisance at a time, where there are several
      for j, name in enumerate(factor_names):
        scores[f'pose/{name}'] = hits[q, :, j + 1].mean()
        scores[f'pose_chance/{name}'] = chance[:, j + 1].mean()
    out.append({k: float(v) for k, v in scores.items()})
  return out


def score_swaps(images, labels, factors, pairs: Pairs, swapped: np.ndarray,
                reconstructed: np.ndarray, factor_names=(),
                variants=None) -> dict:
  """Every score of the swaps Dec(s_a, z_b) (n, H, W, C) against the truths
  images[pairs.t], with reconstructed = Dec(s_t, z_t) (n, H, W, C).

  Keys: mse/{swap, copy_s, copy_z, reconstruction}, ssim/{same}, score
  (None when undefined), the retrieval keys, reconstruction_pose and
  reconstruction_identity (the same retrievals of the reconstructions: what
  the decoder's fidelity allows a swap), pairs and pairs_without_truth.
  variants: {name: (n, H, W, C)} other swaps of the same pairs (e.g. own_s:
  Dec(s_t, z_b)); each adds {name}_pose and {name}_identity.
  """
  truth = images[pairs.t]
  sets = {'swap': swapped, 'copy_s': images[pairs.a],
          'copy_z': images[pairs.b], 'reconstruction': reconstructed}
  out = {}
  for name, x in sets.items():
    out[f'mse/{name}'] = swaps.mse(x, truth)
    out[f'ssim/{name}'] = ssim(x, truth)
  out['score'] = analogy_score(out['mse/swap'], out['mse/copy_s'],
                               out['mse/copy_z'], out['mse/reconstruction'])
  variants = dict(variants or {})
  of_swaps, *others = retrievals(
      images, labels, factors, pairs,
      (swapped, reconstructed, *variants.values()), factor_names)
  out.update(of_swaps)
  for name, scores in zip(('reconstruction', *variants), others):
    out[f'{name}_pose'] = scores['pose']
    out[f'{name}_identity'] = scores['identity']
  out['pairs'] = len(pairs.a)
  out['pairs_without_truth'] = pairs.tried - len(pairs.a)
  return out


def rendered_truth_set(render, labels: np.ndarray, poses: np.ndarray):
  """A truth set from a renderer: every identity in labels (unique) under
  every row of poses (K, F). render(labels (N,), factors (N, F)) -> images.
  Returns images (L*K, H, W, C), labels (L*K,), factors (L*K, F)."""
  ids = np.unique(labels)
  all_labels = np.repeat(ids, len(poses))
  all_factors = np.tile(poses, (len(ids), 1))
  return render(all_labels, all_factors), all_labels, all_factors
