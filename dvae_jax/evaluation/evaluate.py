"""Every measure of the paper's claims on one trained model, and their outputs:
eval/metrics.json, eval/report.md, eval/*.png and TensorBoard.

`evaluate_model` scores a model with the metric families that
config.eval.metrics names (families.py; called at the end of training);
`evaluate_workdir` restores a workdir's newest checkpoint read-only (also of
a run still in progress) and calls it. All subsets and rngs derive from
config.seed, and sklearn estimators are seeded: a rerun gives the same numbers.
"""
import contextlib
import time

import jax
import threadpoolctl
from absl import logging
from etils import epath

from dvae_jax import config_rules
from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.evaluation import (families, figures, metric_keys, report,
                                 visualize)
from dvae_jax.evaluation.inference import Model
from dvae_jax.runtime import workdir as workdir_lib


def summary(metrics: dict) -> dict:
  """The end-of-training summary.json from the metrics (metric_keys' table)."""
  return metric_keys.summary(metrics)


def scalars(metrics: dict) -> dict:
  """TensorBoard's eval/<key> scalars of a metrics or summary dict: all but
  the step and the scores undefined for this model (None)."""
  return {f'eval/{k}': v for k, v in metrics.items()
          if k != 'step' and v is not None}


@contextlib.contextmanager
def _timed(name: str, i: int, n: int):
  start = time.time()
  logging.info('eval: %s (stage %d of %d)...', name, i + 1, n)
  yield
  logging.info('eval: %s took %.1f s', name, time.time() - start)


def evaluate_model(config, data: input_pipeline.Data, model: Model, step: int, workdir: str,
                   writer=None, write: bool = True) -> dict:
  """The metrics of `model` (config.eval.metrics' families); with write,
  eval/metrics.json, report.md, PNGs under workdir and scalars/images to
  `writer` (a clu metric writer). data: the dataset handle (builder, info,
  load)."""
  # Multi-threaded BLAS spins on a busy 2-core machine: ~10x the CPU time of
  # one thread for the probes, for no gain.
  with threadpoolctl.threadpool_limits(1):
    return _evaluate_model(config, data, model, step, workdir, writer, write)


def _evaluate_model(config, data, model, step, workdir, writer, write):
  chosen = families.select(config.eval.metrics)
  context = families.Context(config, data, model, workdir)
  metrics = {'step': int(step)}
  for i, (name, family) in enumerate(chosen):
    with _timed(name, i, len(chosen)):
      metrics.update(family(context))
  if write:
    images = figures.all_figures(model, context.split('test'),
                                 config.eval.grid_size,
                                 config.eval.figure_steps, config.seed)
    # The same grid among identities seen in training (their held-out
    # images), to tell apart what the model learned of its identities from
    # what carries over to new ones.
    images['swap_grid_seen'] = figures.swap_grid(model, *figures.grid_sources(
        context.split('heldout'), config.eval.grid_size, config.seed))
    scored = context.truth_swaps if 'ground_truth' in dict(chosen) else None
    if scored is not None and len(scored.pairs.a):  # swaps beside their truth
      pairs, swapped = scored.pairs, scored.swapped
      images['truth_swaps'] = figures.truth_swaps(
          context.truth_set.images, pairs, swapped, config.eval.grid_size)
    _write_outputs(workdir, metrics, images, writer)
  logging.info('Evaluation at step %d: %s', step, metrics)
  return metrics


def _write_outputs(workdir, metrics, images, writer):
  out = epath.Path(workdir, workdir_lib.EVAL)
  for name, image in images.items():
    visualize.save_png(image, str(out / f'{name}.png'))
  workdir_lib.write_json(out / workdir_lib.METRICS, metrics, sort_keys=True)
  workdir_lib.write_text(out / 'report.md', report.markdown(metrics))
  if writer is not None:
    step = metrics['step']
    writer.write_scalars(step, scalars(metrics))
    writer.write_images(step, {f'eval/{k}': v[None] for k, v in images.items()})
    writer.flush()


def check_config(config) -> None:
  """Every config value (dvae_jax/config_rules.py) and the metric families
  evaluation will compute: run first by training, evaluation and the check
  mode, so a typo fails before anything is built, not after training."""
  config_rules.check(config)
  families.select(config.eval.metrics)


def evaluate_workdir(config, workdir: str) -> dict:
  """--mode=evaluate: restores workdir's newest complete checkpoint without
  writing to checkpoints/, evaluates it, writes workdir/eval/."""
  from clu import metric_writers
  check_config(config)
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
