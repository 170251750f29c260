"""Every measure of the paper's claims on one trained model, and their outputs:
eval/metrics.json, eval/report.md, eval/*.png and TensorBoard.

`evaluate_model` scores a model (called at the end of training);
`evaluate_workdir` restores a workdir's newest checkpoint read-only (also of
a run still in progress) and calls it. All subsets and rngs derive from
config.seed, and sklearn estimators are seeded: a rerun gives the same numbers.
"""
import contextlib
import functools
import json
import os
import time

import jax
import numpy as np
import threadpoolctl
from absl import logging

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.evaluation import visualize
from dvae_jax.data.datasets import glyphs
from dvae_jax.evaluation import (classifier as classifier_lib, dci,
    factors as factors_lib, figures, mig, probes, report, retrieval,
    sample_quality, swaps)
from dvae_jax.evaluation.inference import Model

# summary.json's keys (README) and the metrics they are read from.
SUMMARY_KEYS = {
    'test_reconstruction_mse': 'unseen/reconstruction_mse',
    'probe_chance': 'probe/chance',
    'num_identities': 'probe/num_identities',
    's_probe_train': 'probe/linear/s/train',
    's_probe_heldout': 'probe/linear/s/heldout',
    'z_probe_train': 'probe/linear/z_mean/train',
    'z_probe_heldout': 'probe/linear/z_mean/heldout',
}


def subset(data: input_pipeline.SplitData, n, seed: int):
  """A seeded random subset of at most n examples (all when n is None)."""
  if n is None or n >= len(data.labels):
    return data
  idx = np.sort(np.random.default_rng(seed).choice(len(data.labels), n,
                                                   replace=False))
  return input_pipeline.SplitData(
      data.images[idx], data.labels[idx],
      None if data.factors is None else data.factors[idx])


def summary(metrics: dict) -> dict:
  """The end-of-training summary.json from the metrics."""
  return {**{k: metrics[v] for k, v in SUMMARY_KEYS.items()},
          'step': metrics['step']}


def _codes(model: Model, data, seed: int) -> dict:
  s, z_mean, z_logvar = model.encode(data.images)
  return {'s': s, 'z_mean': z_mean,
          'z_sample': probes.sample_z(z_mean, z_logvar, seed)}


def _probe_metrics(train_codes, train, held_codes, heldout, cfg, seed):
  m = {'probe/chance': probes.chance_accuracy(train.labels, heldout.labels),
       'probe/num_identities': int(len(np.unique(train.labels)))}
  fits = {'linear': probes.logistic_probe,
          'mlp': functools.partial(probes.mlp_probe,
                                   max_iter=cfg.mlp_probe_epochs)}
  for probe_name, fit in fits.items():
    for code in ('s', 'z_mean', 'z_sample'):
      acc = fit(train_codes[code], train.labels, held_codes[code],
                heldout.labels, seed=seed)
      m[f'probe/{probe_name}/{code}/train'] = acc['train']
      m[f'probe/{probe_name}/{code}/heldout'] = acc['test']
  return m


def _judge(config, exp, train_full, workdir):
  cfg = config.eval
  cache = cfg.classifier_dir or os.path.join(workdir, 'eval', 'classifier')
  key = {k: config.get(k) for k in ('dataset', 'data_path', 'train_split',
                                    'image_size', 'channels', 'resize',
                                    'label_key', 'image_key')}
  return classifier_lib.cached_classifier(
      cache, key, train_full.images, train_full.labels,
      exp.info.num_classes, config.model.width, cfg.classifier_steps,
      cfg.classifier_batch_size, cfg.classifier_learning_rate,
      cfg.classifier_seed)


def _swap_metrics(model, judge, heldout, held_codes, n, seed):
  a, b = swaps.cross_class_pairs(heldout.labels, n, seed)
  swapped = model.decode(held_codes['s'][a], held_codes['z_mean'][b])
  scores = swaps.judge_scores(judge.predict(swapped), heldout.labels[a],
                              heldout.labels[b])
  metrics = {'swap/accuracy': scores['accuracy'], 'swap/leak': scores['leak']}
  a1, a2 = swaps.same_class_pairs(heldout.labels, n, seed)
  if len(a1):  # else no held-out class has two images: nothing to swap
    same = model.decode(held_codes['s'][a2], held_codes['z_mean'][a1])
    recon = model.decode(held_codes['s'][a1], held_codes['z_mean'][a1])
    target = heldout.images[a1]
    metrics['swap/same_class_mse'] = swaps.mse(same, target)
    metrics['swap/reconstruction_mse'] = swaps.mse(recon, target)
  return metrics, swapped


def _unseen_metrics(model, test, test_codes, renders_glyphs, image_size, n,
                    seed):
  m = {'unseen/reconstruction_mse': swaps.mse(
      model.decode(test_codes['s'], test_codes['z_mean']), test.images)}
  for code in ('s', 'z_mean'):
    r = retrieval.nearest_neighbour_accuracy(test_codes[code], test.labels,
                                             seed)
    m[f'unseen/retrieval_{code}'] = r['accuracy']
  m['unseen/retrieval_chance'] = r['chance']
  if renders_glyphs:
    a, b = swaps.cross_class_pairs(test.labels, n, seed)
    target = glyphs.render_batch(test.labels[a], test.factors[b], image_size)
    swapped = model.decode(test_codes['s'][a], test_codes['z_mean'][b])
    m['unseen/gt_swap_mse'] = swaps.mse(swapped, target)
    # What a decoder that ignores s would score: the z source itself.
    m['unseen/gt_swap_mse_z_source'] = swaps.mse(test.images[b], target)
  return m


def _factor_metrics(codes, data, names, cfg, heldout_codes, heldout, seed):
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


def _quality_metrics(model, judge, train, heldout, held_codes, swapped, cfg,
                     seed):
  n = min(cfg.quality_examples, len(heldout.labels), len(train.labels))
  real = judge.features(heldout.images[:n])
  z_prior = np.random.default_rng(seed).standard_normal(
      held_codes['z_mean'][:n].shape).astype(np.float32)
  sets = {
      'real': train.images[:n],  # other real images: the floor
      'reconstruction': model.decode(held_codes['s'][:n],
                                     held_codes['z_mean'][:n]),
      'prior': model.decode(held_codes['s'][:n], z_prior),
      'swap': swapped[:n],
  }
  m = {}
  for name, images in sets.items():
    feats = judge.features(images)
    m[f'quality/fd_{name}'] = sample_quality.frechet_distance(feats, real)
    kid = sample_quality.kernel_distance(feats, real, cfg.kid_subsets,
                                         cfg.kid_subset_size, seed)
    m[f'quality/kid_{name}'] = kid['mean']
  return m


# The stages of an evaluation, in order, for its progress lines.
STAGES = ('probes', 'judge', 'swaps', 'unseen', 'factors', 'quality')


@contextlib.contextmanager
def _timed(name: str):
  start = time.time()
  logging.info('eval: %s (stage %d of %d)...', name, STAGES.index(name) + 1,
               len(STAGES))
  yield
  logging.info('eval: %s took %.1f s', name, time.time() - start)


def evaluate_model(config, exp, model: Model, step: int, workdir: str,
                   writer=None, write: bool = True) -> dict:
  """All metrics of `model`; with write, eval/metrics.json, report.md, PNGs
  under workdir and scalars/images to `writer` (a clu metric writer)."""
  # Multi-threaded BLAS spins on a busy 2-core machine: ~10x the CPU time of
  # one thread for the probes, for no gain.
  with threadpoolctl.threadpool_limits(1):
    return _evaluate_model(config, exp, model, step, workdir, writer, write)


def _evaluate_model(config, exp, model, step, workdir, writer, write):
  cfg, seed = config.eval, config.seed
  start = time.time()
  train_full = exp.load(config.train_split, shard=False)
  train = subset(train_full, cfg.probe_train_examples, seed)
  heldout = subset(exp.load(config.heldout_split, shard=False),
                   cfg.heldout_examples, seed)
  test = subset(exp.load(config.test_split, shard=False), cfg.test_examples,
                seed)
  codes = {name: _codes(model, d, seed)
           for name, d in (('train', train), ('heldout', heldout),
                           ('test', test))}

  metrics = {'step': int(step)}
  logging.info('eval: data and codes took %.1f s', time.time() - start)
  with _timed('probes'):
    metrics.update(_probe_metrics(codes['train'], train, codes['heldout'],
                                  heldout, cfg, seed))
  with _timed('judge'):
    judge = _judge(config, exp, train_full, workdir)
  metrics['baseline/train'] = float(np.mean(judge.predict(train.images) ==
                                            train.labels))
  metrics['baseline/heldout'] = float(np.mean(judge.predict(heldout.images) ==
                                              heldout.labels))
  with _timed('swaps'):
    swap_m, swapped = _swap_metrics(model, judge, heldout, codes['heldout'],
                                    cfg.num_pairs, seed)
  metrics.update(swap_m)
  renders_glyphs = (config.dataset.startswith('dvae_glyphs') and
                    exp.info.factor_names == glyphs.FACTOR_NAMES and
                    test.images.shape[1] == exp.builder.info.features[
                        config.image_key].shape[0])
  with _timed('unseen'):
    metrics.update(_unseen_metrics(model, test, codes['test'], renders_glyphs,
                                   config.image_size, cfg.num_pairs, seed))
  if train.factors is not None and exp.info.factor_names:
    with _timed('factors'):
      fsub = subset(train, cfg.factor_examples, seed)
      fcodes = _codes(model, fsub, seed)
      metrics.update(_factor_metrics(fcodes, fsub, exp.info.factor_names, cfg,
                                     codes['heldout'], heldout, seed))
  with _timed('quality'):
    metrics.update(_quality_metrics(model, judge, train, heldout,
                                    codes['heldout'], swapped, cfg, seed))

  if write:
    images = figures.all_figures(model, test, cfg.grid_size, cfg.figure_steps,
                                 seed)
    _write_outputs(workdir, metrics, images, writer)
  logging.info('Evaluation at step %d: %s', step, metrics)
  return metrics


def _write_outputs(workdir, metrics, images, writer):
  out = os.path.join(workdir, 'eval')
  os.makedirs(out, exist_ok=True)
  for name, image in images.items():
    visualize.save_png(image, os.path.join(out, f'{name}.png'))
  _write_text(os.path.join(out, 'metrics.json'),
              json.dumps(metrics, indent=2, sort_keys=True))
  _write_text(os.path.join(out, 'report.md'), report.markdown(metrics))
  if writer is not None:
    step = metrics['step']
    writer.write_scalars(step, {f'eval/{k}': v for k, v in metrics.items()
                                if k != 'step'})
    writer.write_images(step, {f'eval/{k}': v[None] for k, v in images.items()})
    writer.flush()


def _write_text(path: str, text: str) -> None:
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def evaluate_workdir(config, workdir: str) -> dict:
  """--mode=evaluate: restores workdir's newest complete checkpoint without
  writing to checkpoints/, evaluates it, writes workdir/eval/."""
  from clu import metric_writers
  from dvae_jax.runtime import config_rules
  config_rules.check(config)
  from dvae_jax.evaluation import inference
  loaded = inference.load_model(workdir, config)
  data = input_pipeline.Data(config)
  step = loaded.step
  logging.info('Evaluating the checkpoint of step %d in %s', step, workdir)
  is_main = jax.process_index() == 0
  writer = metric_writers.create_default_writer(workdir,
                                                just_logging=not is_main)
  return evaluate_model(config, data, loaded.model, step, workdir, writer,
                        write=is_main)
