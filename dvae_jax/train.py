"""train_and_evaluate(config, workdir): the training loop and its bookkeeping."""
import json
import os
import time

import jax
import numpy as np
from absl import logging
from clu import metric_writers
from etils import epath

from dvae_jax import (checkpointing, errors, input_pipeline, parallel, state as
                      state_lib, train_step as train_step_lib, visualize)
from dvae_jax.evaluation import summary as summary_lib
from dvae_jax.inference import Model


def check_workdir(workdir: str) -> None:
  """Creates workdir and fails early, with the fix, if it cannot be written."""
  try:
    epath.Path(workdir).mkdir(parents=True, exist_ok=True)  # gs:// too
    # Hosts of a multi-host run share the workdir; their pids may collide.
    probe = epath.Path(workdir, f'.write_test_{jax.process_index()}_'
                       f'{os.getpid()}')
    probe.write_text('ok')
    probe.unlink()
  except OSError as e:
    raise errors.UserError(f'workdir {workdir!r} cannot be written ({e.strerror}); '
                     'pass --workdir=a directory you can write to') from e


class Experiment:
  """Everything built from a config: data, networks, optimizers, mesh, state."""

  def __init__(self, config, mesh=None):
    self.config = config
    self.builder = input_pipeline.get_builder(config)
    self.info = input_pipeline.dataset_info(config, self.builder)
    self.mesh = parallel.make_mesh() if mesh is None else mesh
    parallel.check_batch_divisible(config.batch_size, self.mesh)
    self.networks = state_lib.build_networks(config, self.info.num_classes)
    self.gen_tx, self.adv_tx = state_lib.build_optimizers(config)
    self._init = state_lib.make_init_fn(
        self.networks, self.gen_tx, self.adv_tx, self.info.image_shape,
        config.model.z_dim, self.mesh)

  def init_state(self) -> state_lib.TrainState:
    return self._init(jax.random.key(self.config.seed))

  def abstract_state(self):
    shapes = jax.eval_shape(self._init, jax.random.key(self.config.seed))
    return checkpointing.abstract_like(shapes, parallel.replicated(self.mesh))

  def restore_or_init(self, manager) -> state_lib.TrainState:
    restored = checkpointing.restore_latest(manager, self.abstract_state())
    return self.init_state() if restored is None else restored

  def train_step(self):
    return train_step_lib.make_train_step(self.networks, self.gen_tx,
                                          self.adv_tx, self.config, self.mesh)

  def load(self, split: str, shard: bool = True, max_examples=None):
    return input_pipeline.load_split(self.config, self.builder, split, shard,
                                     max_examples)


def _mean_metrics(history) -> dict:
  """Means over the logged interval; one host transfer for all of them."""
  stacked = jax.device_get(history)
  return {k: float(np.mean([m[k] for m in stacked])) for k in stacked[0]}


def _grid_sources(data: input_pipeline.SplitData, n: int, seed: int):
  """n images of n distinct identities (s sources) and n others (z sources)."""
  rng = np.random.default_rng(seed)
  classes = rng.permutation(np.unique(data.labels))[:n]
  s_idx = [rng.choice(np.flatnonzero(data.labels == c)) for c in classes]
  z_idx = rng.choice(np.setdiff1d(np.arange(len(data.labels)), s_idx), n,
                     replace=False)
  return data.images[s_idx], data.images[z_idx]


def _write_figures(model: Model, vis: input_pipeline.SplitData, writer, step,
                   config, png_path=None):
  """Swap grid and reconstructions to TensorBoard (and the grid to a PNG)."""
  s_src, z_src = _grid_sources(vis, config.eval.grid_size, config.seed)
  grid = visualize.swap_figure(s_src, z_src, model.swap_grid(s_src, z_src))
  s, z, _ = model.encode(z_src)
  recon = visualize.tile(np.stack([z_src, model.decode(s, z)]))
  writer.write_images(step, {'swap_grid': grid[None],
                             'reconstructions': recon[None]})
  if png_path:
    visualize.save_png(grid, png_path)


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains (resuming from workdir's newest checkpoint), then evaluates.

  Returns the summary dict also written to workdir/summary.json.
  """
  check_workdir(workdir)
  exp = Experiment(config)
  is_main = jax.process_index() == 0
  manager = checkpointing.make_manager(workdir, config.keep_checkpoints)
  state = exp.restore_or_init(manager)
  start_step = int(jax.device_get(state.step))
  if start_step:
    logging.info('Resuming from the checkpoint of step %d in %s', start_step,
                 workdir)
  if is_main:
    epath.Path(workdir, 'config.json').write_text(
        config.to_json_best_effort(indent=2))

  writer = metric_writers.create_default_writer(workdir,
                                                just_logging=not is_main)
  vis = exp.load(config.test_split, shard=False)
  step_fn = exp.train_step()
  local_batch = config.batch_size // jax.process_count()
  batches = input_pipeline.triplet_batches(
      exp.load(config.train_split), local_batch, config.seed, start_step,
      config.train_split)
  # Waiting for each multi-device step avoids a CPU all-reduce deadlock
  # (shared/STACK.md); on one device the loop never waits.
  sync_every_step = exp.mesh.size > 1 and jax.default_backend() == 'cpu'

  history, t0, steps_timed = [], time.time(), 0
  for step in range(start_step, config.num_train_steps):
    state, metrics = step_fn(state, parallel.global_batch(next(batches),
                                                          exp.mesh))
    if sync_every_step:
      jax.block_until_ready(metrics)
    history.append(metrics)
    done = step + 1
    steps_timed += 1
    if done % config.log_every_steps == 0 or done == config.num_train_steps:
      scalars = _mean_metrics(history)
      rate = steps_timed / (time.time() - t0)
      scalars['steps_per_sec'] = rate
      scalars['eta_minutes'] = (config.num_train_steps - done) / rate / 60
      writer.write_scalars(done, scalars)
      history, t0, steps_timed = [], time.time(), 0
    if done % config.image_every_steps == 0:
      _write_figures(Model(exp.networks, state, config.eval.batch_size), vis,
                     writer, done, config)
    if done % config.checkpoint_every_steps == 0:
      checkpointing.save(manager, done, state)
  if manager.latest_step() != config.num_train_steps:
    checkpointing.save(manager, config.num_train_steps, state)
  manager.wait_until_finished()
  logging.info('Parameter fingerprint of process %d: %s', jax.process_index(),
               parallel.fingerprint((state.gen_params, state.adv_params)))

  model = Model(exp.networks, state, config.eval.batch_size)
  summary = summary_lib.summarize(
      model,
      train=exp.load(config.train_split, shard=False,
                     max_examples=config.eval.probe_train_examples),
      heldout=exp.load(config.heldout_split, shard=False),
      test=vis, seed=config.seed)
  summary['step'] = int(jax.device_get(state.step))
  if is_main:
    _write_figures(model, vis, writer, summary['step'], config,
                   png_path=os.path.join(workdir, 'swap_grid.png'))
    writer.write_scalars(summary['step'],
                         {f'eval/{k}': v for k, v in summary.items()})
    epath.Path(workdir, 'summary.json').write_text(
        json.dumps(summary, indent=2))
  writer.flush()
  logging.info('Summary: %s', summary)
  return summary
