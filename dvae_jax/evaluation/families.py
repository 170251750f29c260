"""The metric families of an evaluation: FAMILIES maps a name to
fn(Context) -> {metrics.json key: value}; config.eval.metrics picks them.

Each family is glue from the shared Context to the numpy core of a metric
module (probes.py, swaps.py, ...). The keys they return are described in
metric_keys.METRICS, which report.md, summary.json and compare read.
"""
import functools
from typing import NamedTuple

import numpy as np
from etils import epath

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.evaluation import (analogies, classifier as classifier_lib, dci,
    dimensions, factors as factors_lib, mig, morphometry, probes, retrieval,
    sample_quality, swaps)
from dvae_jax.evaluation.metric_keys import IMAGE_SETS, PROBE_CODES, PROBE_FITS
from dvae_jax.runtime import errors
from dvae_jax.runtime import workdir as workdir_lib


def subset(data: input_pipeline.SplitData, n, seed: int):
  """A seeded random subset of at most n examples (all when n is None)."""
  if n is None or n >= len(data.labels):
    return data
  idx = np.sort(np.random.default_rng(seed).choice(len(data.labels), n,
                                                   replace=False))
  return input_pipeline.SplitData(
      data.images[idx], data.labels[idx],
      None if data.factors is None else data.factors[idx])


class TruthSet(NamedTuple):
  """Images of unseen identities whose discrete nuisances are known, so that
  the true image of a swap can be looked up (evaluation/analogies.py)."""
  images: np.ndarray  # (N, H, W, C) uint8
  labels: np.ndarray  # (N,)
  factors: np.ndarray  # (N, F)
  factor_names: tuple  # (F,) names, or () where a row is one drawn pose


class TruthSwaps(NamedTuple):
  """Swaps of pairs of a TruthSet (index arrays analogies.Pairs), each
  (n, H, W, C) uint8: Dec(s_a, z_b), Dec(s_t, z_t), and the variants that
  tell where a swap loses: own_s Dec(s_t, z_b), and where eval.s_group_images
  > 1, group_s Dec(mean s over that many images of a, z_b)."""
  pairs: analogies.Pairs
  swapped: np.ndarray
  reconstructed: np.ndarray
  variants: dict


def _codes(model, data, seed: int) -> dict:
  s, z_mean, z_logvar = model.encode(data.images)
  return {'s': s, 'z_mean': z_mean, 'z_logvar': z_logvar,
          'z_sample': probes.sample_z(z_mean, z_logvar, seed)}


class Context:
  """One evaluation's inputs and what several families share, each part
  computed once, when a family first asks for it.

  data: the dataset handle (builder, info, load); model: an
  inference.Model; workdir: where the judge's cache goes (by default).
  All subsets and rngs derive from config.seed.
  """

  def __init__(self, config, data, model, workdir):
    self.config, self.data, self.model, self.workdir = (config, data, model,
                                                        workdir)
    self.cfg, self.seed = config.eval, config.seed
    self._splits, self._codes = {}, {}

  @functools.cached_property
  def train_full(self) -> input_pipeline.SplitData:
    """The whole training split (the judge trains on it)."""
    return self.data.load(self.config.train_split, shard=False)

  def split(self, name: str) -> input_pipeline.SplitData:
    """The evaluated subset of 'train' (probes fit on it), 'heldout'
    (training identities, images not trained on) or 'test' (unseen)."""
    if name not in self._splits:
      cfg = self.cfg
      if name == 'train':
        data, n = self.train_full, cfg.probe_train_examples
      elif name == 'heldout':
        data = self.data.load(self.config.heldout_split, shard=False)
        n = cfg.heldout_examples
      else:
        data = self.data.load(self.config.test_split, shard=False)
        n = cfg.test_examples
      self._splits[name] = subset(data, n, self.seed)
    return self._splits[name]

  def codes(self, name: str) -> dict:
    """{'s', 'z_mean', 'z_logvar', 'z_sample'} codes (N, D) of split(name)."""
    if name not in self._codes:
      self._codes[name] = _codes(self.model, self.split(name), self.seed)
    return self._codes[name]

  @functools.cached_property
  def judge(self) -> classifier_lib.Classifier:
    """The supervised classifier on real images (cached in the workdir)."""
    config, cfg = self.config, self.cfg
    cache = cfg.classifier_dir or epath.Path(self.workdir, workdir_lib.EVAL,
                                             'classifier')
    key = {k: config.get(k) for k in input_pipeline.DATA_KEYS}
    train = self.train_full
    return classifier_lib.cached_classifier(
        cache, key, train.images, train.labels, self.data.info.num_classes,
        config.model.width, cfg.classifier_steps, cfg.classifier_batch_size,
        cfg.classifier_learning_rate, cfg.classifier_seed)

  @functools.cached_property
  def heldout_swaps(self):
    """Cross-class pairs (a, b) of held-out images and Dec(s_a, z_b)."""
    heldout, codes = self.split('heldout'), self.codes('heldout')
    a, b = swaps.cross_class_pairs(heldout.labels, self.cfg.num_pairs,
                                   self.seed)
    return a, b, self.model.decode(codes['s'][a], codes['z_mean'][b])

  @functools.cached_property
  def render_ground_truth(self):
    """render(labels (N,), factors (N, F)) -> the true images (N, H, W, C)
    uint8 of those identities in those nuisances, where the dataset offers
    one for the images the model sees (`ground_truth_renderer` of its tfds
    builder, e.g. datasets/glyphs.py); else None."""
    offer = getattr(self.data.builder, 'ground_truth_renderer', None)
    if offer is None:
      return None
    return offer(self.data.info.factor_names, self.data.info.image_shape)

  @functools.cached_property
  def truth_set(self):
    """The unseen identities as a TruthSet, or None where the dataset knows
    no nuisances. With a renderer: every unseen identity rendered under the
    nuisances of eval.truth_poses test images; else the whole test split and
    its factors (Sprites, Yale B, an .npz with `factors`)."""
    render = self.render_ground_truth
    if render is not None:
      test = self.split('test')
      rows = np.random.default_rng(self.seed).permutation(len(test.labels))
      poses = test.factors[rows[:self.cfg.truth_poses]]
      return TruthSet(*analogies.rendered_truth_set(render, test.labels,
                                                    poses), ())
    test = self.data.load(self.config.test_split, shard=False)
    if test.factors is None or not test.factors.shape[1]:
      return None
    return TruthSet(test.images, test.labels, test.factors,
                    tuple(self.data.info.factor_names))

  @functools.cached_property
  def truth_swaps(self):
    """TruthSwaps of eval.num_pairs seeded pairs of truth_set: scored by
    ground_truth, the figure shows the first; None without a truth set."""
    truth = self.truth_set
    if truth is None:
      return None
    pairs = analogies.draw_pairs(truth.labels, truth.factors,
                                 self.cfg.num_pairs, self.seed)
    if not len(pairs.a):
      return TruthSwaps(pairs, None, None, {})
    k = self.cfg.s_group_images
    groups = (analogies.group_sources(truth.labels, truth.factors, pairs, k,
                                      self.seed) if k > 1 else [])
    # Encode only the images the pairs and groups use; `used` is sorted, so
    # searchsorted maps a truth-set index to its row of the codes.
    used = np.unique(np.concatenate([pairs.a, pairs.b, pairs.t, *groups]))
    a, b, t = (np.searchsorted(used, i) for i in (pairs.a, pairs.b, pairs.t))
    s, z_mean, _ = self.model.encode(truth.images[used])
    variants = {'own_s': self.model.decode(s[t], z_mean[b])}
    if groups:
      group_s = np.stack([s[np.searchsorted(used, g)].mean(0)
                          for g in groups])
      variants['group_s'] = self.model.decode(group_s, z_mean[b])
    return TruthSwaps(pairs, self.model.decode(s[a], z_mean[b]),
                      self.model.decode(s[t], z_mean[t]), variants)


def probe_metrics(ctx: Context) -> dict:
  train, heldout = ctx.split('train'), ctx.split('heldout')
  train_codes, held_codes = ctx.codes('train'), ctx.codes('heldout')
  m = {'probe/chance': probes.chance_accuracy(train.labels, heldout.labels),
       'probe/num_identities': int(len(np.unique(train.labels)))}
  fits = {'linear': probes.logistic_probe,
          'mlp': functools.partial(probes.mlp_probe,
                                   max_iter=ctx.cfg.mlp_probe_epochs)}
  for probe_name in PROBE_FITS:
    for code in PROBE_CODES:
      acc = fits[probe_name](train_codes[code], train.labels, held_codes[code],
                             heldout.labels, seed=ctx.seed)
      m[f'probe/{probe_name}/{code}/train'] = acc['train']
      m[f'probe/{probe_name}/{code}/heldout'] = acc['test']
  return m


def dimension_metrics(ctx: Context) -> dict:
  """Active z dimensions and the z-mean probe on them and on the rest."""
  train, heldout = ctx.split('train'), ctx.split('heldout')
  codes, held_codes = ctx.codes('train'), ctx.codes('heldout')
  return dimensions.dimension_metrics(
      codes['z_mean'], codes['z_logvar'], train.labels, held_codes['z_mean'],
      heldout.labels, ctx.seed)


def baseline_metrics(ctx: Context) -> dict:
  """The judge's own accuracy on real images: the probes' ceiling."""
  return {f'baseline/{name}': float(np.mean(
      ctx.judge.predict(data.images) == data.labels))
          for name, data in (('train', ctx.split('train')),
                             ('heldout', ctx.split('heldout')))}


def swap_metrics(ctx: Context) -> dict:
  heldout, codes = ctx.split('heldout'), ctx.codes('heldout')
  a, b, swapped = ctx.heldout_swaps
  scores = swaps.judge_scores(ctx.judge.predict(swapped), heldout.labels[a],
                              heldout.labels[b])
  metrics = {'swap/accuracy': scores['accuracy'], 'swap/leak': scores['leak']}
  a1, a2 = swaps.same_class_pairs(heldout.labels, ctx.cfg.num_pairs, ctx.seed)
  if len(a1):  # else no held-out class has two images: nothing to swap
    same = ctx.model.decode(codes['s'][a2], codes['z_mean'][a1])
    recon = ctx.model.decode(codes['s'][a1], codes['z_mean'][a1])
    target = heldout.images[a1]
    metrics['swap/same_class_mse'] = swaps.mse(same, target)
    metrics['swap/reconstruction_mse'] = swaps.mse(recon, target)
  return metrics


def unseen_metrics(ctx: Context) -> dict:
  test, codes = ctx.split('test'), ctx.codes('test')
  m = {'unseen/reconstruction_mse': swaps.mse(
      ctx.model.decode(codes['s'], codes['z_mean']), test.images)}
  for code in ('s', 'z_mean'):
    r = retrieval.nearest_neighbour_accuracy(codes[code], test.labels,
                                             ctx.seed)
    m[f'unseen/retrieval_{code}'] = r['accuracy']
  m['unseen/retrieval_chance'] = r['chance']
  return m


def ground_truth_metrics(ctx: Context) -> dict:
  """Swaps of unseen identities scored against the true image of a's
  identity in b's nuisances (analogies.py), where the dataset knows them;
  nothing otherwise."""
  truth = ctx.truth_set
  if truth is None:
    return {}
  pairs, swapped, reconstructed, variants = ctx.truth_swaps
  if not len(pairs.a):
    return {'analogy/pairs': 0, 'analogy/pairs_without_truth': pairs.tried}
  scores = analogies.score_swaps(truth.images, truth.labels, truth.factors,
                                 pairs, swapped, reconstructed,
                                 truth.factor_names, variants)
  return {f'analogy/{k}': v for k, v in scores.items()}


def style_metrics(ctx: Context) -> dict:
  """Where no nuisance is known (MNIST): the slant and stroke thickness of
  Dec(s_a, z_b) against b's (Pearson r over unseen-split pairs), beside
  the s source's own (no style carried) and b's reconstruction (the best the
  decoder draws b's style)."""
  test, codes = ctx.split('test'), ctx.codes('test')
  a, b = swaps.cross_class_pairs(test.labels, ctx.cfg.num_pairs, ctx.seed)
  images = {
      'swap': ctx.model.decode(codes['s'][a], codes['z_mean'][b]),
      's_source': test.images[a],
      'reconstruction': ctx.model.decode(codes['s'][b], codes['z_mean'][b]),
  }
  m = {}
  for name, x in images.items():
    r = morphometry.style_correlations(x, test.images[b])
    suffix = '' if name == 'swap' else f'_{name}'
    m.update({f'style/{k}{suffix}': v for k, v in r.items()})
  return m


def factor_metrics(ctx: Context) -> dict:
  """R^2, block DCI and MIG of the known nuisances; nothing without them."""
  names = ctx.data.info.factor_names
  if ctx.split('train').factors is None or not names:
    return {}
  cfg, seed = ctx.cfg, ctx.seed
  data = subset(ctx.split('train'), cfg.factor_examples, seed)
  codes = _codes(ctx.model, data, seed)
  heldout, heldout_codes = ctx.split('heldout'), ctx.codes('heldout')
  targets = factors_lib.factor_targets(data.factors, names)
  held_targets = factors_lib.factor_targets(heldout.factors, names)
  forest = dict(seed=seed, trees=cfg.forest_trees, depth=cfg.forest_depth)
  m = {}
  for code in ('s', 'z_mean'):
    r2 = factors_lib.r2_per_factor(codes[code], targets, heldout_codes[code],
                                   held_targets, **forest)
    m.update({f'factors/r2_{code}/{k}': v for k, v in r2.items()})
  block = dci.compute_block_dci(codes['s'], codes['z_mean'], data.labels,
                                targets, **forest)
  m.update({f'dci/{k}': v for k, v in block.items()})
  all_factors = np.concatenate([data.labels[:, None], data.factors], 1)
  gaps = mig.compute_mig(np.concatenate([codes['s'], codes['z_mean']], 1),
                         all_factors, ('identity',) + tuple(names),
                         cfg.mig_bins)
  m.update({f'mig/{k[4:] or "mean"}': v for k, v in gaps.items()})
  return m


def quality_metrics(ctx: Context) -> dict:
  """Frechet distance and KID in the judge's feature space."""
  cfg, seed, model = ctx.cfg, ctx.seed, ctx.model
  train, heldout = ctx.split('train'), ctx.split('heldout')
  codes = ctx.codes('heldout')
  n = min(cfg.quality_examples, len(heldout.labels), len(train.labels))
  real = ctx.judge.features(heldout.images[:n])
  z_prior = np.random.default_rng(seed).standard_normal(
      codes['z_mean'][:n].shape).astype(np.float32)
  sets = {
      'real': train.images[:n],  # other real images: the floor
      'reconstruction': model.decode(codes['s'][:n], codes['z_mean'][:n]),
      'prior': model.decode(codes['s'][:n], z_prior),
      'swap': ctx.heldout_swaps[2][:n],
  }
  m = {}
  for name in IMAGE_SETS:
    feats = ctx.judge.features(sets[name])
    m[f'quality/fd_{name}'] = sample_quality.frechet_distance(feats, real)
    kid = sample_quality.kernel_distance(feats, real, cfg.kid_subsets,
                                         cfg.kid_subset_size, seed)
    m[f'quality/kid_{name}'] = kid['mean']
  return m


# In the order they run (and their keys appear in metrics.json's dict).
FAMILIES = {
    'probes': probe_metrics,
    'dimensions': dimension_metrics,
    'baseline': baseline_metrics,
    'swaps': swap_metrics,
    'unseen': unseen_metrics,
    'ground_truth': ground_truth_metrics,
    'style': style_metrics,
    'factors': factor_metrics,
    'quality': quality_metrics,
}


def select(names) -> list:
  """[(name, fn)] of config.eval.metrics, in FAMILIES' order. The command
  line gives one string, --config.eval.metrics=probes,unseen: commas split."""
  names = [part for name in names for part in name.split(',') if part]
  unknown = [n for n in names if n not in FAMILIES]
  if unknown:
    raise errors.UserError(
        f'config.eval.metrics names {unknown[0]!r}, which is no metric '
        f'family; choose from {", ".join(FAMILIES)}')
  return [(n, fn) for n, fn in FAMILIES.items() if n in names]
