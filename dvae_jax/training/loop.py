"""train_and_evaluate(config, workdir): the training loop and its bookkeeping."""
import os
import time

import jax
import numpy as np
from absl import logging
from clu import metric_writers

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.evaluation import evaluate, figures, visualize
from dvae_jax.evaluation.inference import Model
from dvae_jax.runtime import (checkpointing, errors, lock,
                              parallel, progress)
from dvae_jax.runtime import workdir as workdir_lib
from dvae_jax.training import numerics, preemption, state as state_lib


def _mean_metrics(history) -> dict:
  """Means over the logged interval; one host transfer for all of them.
  Skipped non-finite steps count in `nonfinite` only."""
  stacked = jax.device_get(history)
  good = [m for m in stacked if not m[numerics.FLAG]] or stacked
  means = {k: float(np.mean([m[k] for m in good])) for k in stacked[0]}
  means[numerics.FLAG] = float(sum(m[numerics.FLAG] for m in stacked))
  return means


# The losses of the console's progress line (all go to TensorBoard).
PROGRESS_KEYS = ('reconstruction', 'swap', 'kl', 'adversarial',
                 'discriminator')


def _progress_line(done: int, total: int, scalars: dict) -> str:
  """'step 200/3000 (7%), 4.1 steps/s, ETA 11 min 23 s; reconstruction 0.21,
  ...' from the means of the logged interval."""
  losses = ', '.join(f'{k} {scalars[k]:.4g}' for k in PROGRESS_KEYS
                     if k in scalars)
  eta = progress.duration(scalars['eta_minutes'] * 60)
  return (f'step {done}/{total} ({100 * done / total:.0f}%), '
          f'{scalars["steps_per_sec"]:.2f} steps/s, ETA {eta}; {losses}')


def _write_figures(model: Model, vis: input_pipeline.SplitData, writer, step,
                   config, png_path=None):
  """Swap grid and reconstructions to TensorBoard (and the grid to a PNG)."""
  s_src, z_src = figures.grid_sources(vis, config.eval.grid_size, config.seed)
  grid = figures.swap_grid(model, s_src, z_src)
  s, z, _ = model.encode(z_src)
  recon = visualize.tile(np.stack([z_src, model.decode(s, z)]))
  writer.write_images(step, {'swap_grid': grid[None],
                             'reconstructions': recon[None]})
  if png_path:
    visualize.save_png(grid, png_path)


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains (resuming from workdir's newest good checkpoint), then evaluates.

  Returns the summary dict also written to workdir/summary.json. Raises
  errors.UserError for bad input, errors.Preempted after a SIGTERM/SIGINT
  (checkpoint saved) and errors.NonFiniteError on a NaN/Inf.
  """
  evaluate.check_config(config)
  workdir_lib.check_writable(workdir)
  with lock.WorkdirLock(workdir):
    return _train_and_evaluate(config, workdir)


def _train_and_evaluate(config, workdir: str) -> dict:
  data = input_pipeline.Data(config)
  setup = state_lib.Setup.create(config, data.num_classes)
  is_main = jax.process_index() == 0
  store = checkpointing.Checkpoints(workdir, config.keep_checkpoints)
  abstract_state = setup.abstract_state()
  if store.steps():
    workdir_lib.check_resumable(config, workdir, input_pipeline.DATA_KEYS)
    # What the config keys do not say, e.g. a network added or removed.
    store.check_restorable(abstract_state)
  state = store.restore(abstract_state)
  if state is None:
    state = setup.init()
  start_step = int(jax.device_get(state.step))
  if start_step:
    logging.info('Resuming from the checkpoint of step %d in %s', start_step,
                 workdir)
  workdir_lib.record_run(config, workdir, start_step)

  writer = metric_writers.create_default_writer(workdir,
                                                just_logging=not is_main)
  vis = data.load(config.test_split, shard=False)
  with preemption.StopOnSignal(config.log_every_steps) as stop:
    try:
      state = _train(setup, data, state, start_step, store, writer, vis,
                     stop)
    finally:
      store.wait()  # whatever stopped us, what was being saved gets written

  model = Model.of(setup.networks, state, config.eval.batch_size)
  step = int(jax.device_get(state.step))
  summary = evaluate.summary(evaluate.evaluate_model(
      config, data, model, step, workdir, writer, write=is_main))
  if is_main:
    _write_figures(model, vis, writer, summary['step'], config,
                   png_path=os.path.join(workdir, 'swap_grid.png'))
    writer.write_scalars(summary['step'], evaluate.scalars(summary))
    workdir_lib.write_json(os.path.join(workdir, 'summary.json'), summary)
  writer.flush()
  logging.info('Summary: %s', summary)
  return summary


def _train(setup: state_lib.Setup, data: input_pipeline.Data, state,
           start_step: int, store: checkpointing.Checkpoints, writer, vis,
           stop: preemption.StopOnSignal):
  """The loop from start_step to config.num_train_steps; returns the state,
  saved as the last checkpoint."""
  config = setup.config
  step_fn = setup.train_step()
  local_batch = config.batch_size // jax.process_count()
  batches = input_pipeline.triplet_batches(
      data.load(config.train_split), local_batch, config.seed, start_step,
      config.train_split)
  # Waiting for each multi-device step avoids a CPU all-reduce deadlock (on 2
  # cores, steps dispatched back to back sometimes hung in it until XLA
  # aborted the process); on one device the loop never waits.
  sync_every_step = setup.mesh.size > 1 and jax.default_backend() == 'cpu'
  guard = numerics.Guard(skip=config.skip_nonfinite_updates)

  def save(step, state):
    guard.check()  # raises rather than save a non-finite state
    store.save(step, state)

  history, t0, steps_timed = [], time.time(), 0
  for step in range(start_step, config.num_train_steps):
    if stop.should_stop(step):
      if step > start_step and store.latest_step() != step:
        save(step, state)
      store.wait()
      raise errors.Preempted(stop.signum, step, store.directory)
    state, metrics = step_fn(state, parallel.global_batch(next(batches),
                                                          setup.mesh))
    if sync_every_step:
      jax.block_until_ready(metrics)
    history.append(metrics)
    done = step + 1
    guard.add(done, metrics)
    steps_timed += 1
    if done % config.log_every_steps == 0 or done == config.num_train_steps:
      guard.check()
      scalars = _mean_metrics(history)
      rate = steps_timed / (time.time() - t0)
      scalars['steps_per_sec'] = rate
      scalars['eta_minutes'] = (config.num_train_steps - done) / rate / 60
      writer.write_scalars(done, scalars)
      if jax.process_index() == 0:
        logging.info('%s', _progress_line(done, config.num_train_steps,
                                          scalars))
      history, t0, steps_timed = [], time.time(), 0
    # The last step's figures are drawn once, after training (with the PNG).
    if (done % config.image_every_steps == 0 and
        done != config.num_train_steps):
      _write_figures(Model.of(setup.networks, state, config.eval.batch_size),
                     vis, writer, done, config)
    if done % config.checkpoint_every_steps == 0:
      save(done, state)
  if store.latest_step() != config.num_train_steps:
    save(config.num_train_steps, state)
  store.wait()
  logging.info('Parameter fingerprint of process %d: %s', jax.process_index(),
               parallel.fingerprint((state.gen_params, state.adv_params)))
  if stop.should_stop(config.num_train_steps):  # came during the last save
    raise errors.Preempted(stop.signum, config.num_train_steps,
                           store.directory)
  return state
