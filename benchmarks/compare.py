"""dvae_jax vs the PyTorch reference: same losses first, then interleaved timing."""
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import torch

from benchmarks import timing, torch_reference
from benchmarks.jax_side import JaxStep
from dvae_jax.model import networks as models
from dvae_jax.training import step as train_step_lib

CHECKED = ('reconstruction', 'swap', 'kl', 'adversarial', 'generator_total',
           'discriminator')


def _z_noise(seed: int, step: int, shape) -> np.ndarray:
  """The eps that dvae_jax's step `step` draws for z (its own rng, its own
  reparameterize at mean 0, log-variance 0)."""
  z_rng = train_step_lib.step_rngs(seed, jnp.asarray(step, jnp.int32))[0]
  zeros = jnp.zeros(shape, jnp.float32)
  return np.asarray(models.reparameterize(z_rng, zeros, zeros))


@contextlib.contextmanager
def _full_float32():
  """float32 matrix products and convolutions in both frameworks (GPUs
  default to TF32 in cuDNN and XLA), so that the losses can be compared."""
  flags = (torch.backends.cuda.matmul.allow_tf32,
           torch.backends.cudnn.allow_tf32)
  torch.backends.cuda.matmul.allow_tf32 = False
  torch.backends.cudnn.allow_tf32 = False
  try:
    with jax.default_matmul_precision('highest'):
      yield
  finally:
    (torch.backends.cuda.matmul.allow_tf32,
     torch.backends.cudnn.allow_tf32) = flags


def check_same_losses(config, num_classes: int, host_batches,
                      devices: int = 1, torch_device: str = 'cpu') -> dict:
  """Runs len(host_batches) steps in both frameworks from the same weights,
  with dropout off and the same z noise; returns the largest relative loss
  difference per step (losses of step i are on the weights after i updates,
  so this also checks the update order and Adam)."""
  config = config.copy_and_resolve_references()
  config.model.disc_dropout = 0.0
  with _full_float32():
    return _check_same_losses(config, num_classes, host_batches, devices,
                              torch_device)


def _check_same_losses(config, num_classes, host_batches, devices,
                       torch_device):
  jax_step = JaxStep(config, num_classes, host_batches[0], devices=devices)
  ref = torch_reference.TrainStep(config, num_classes, torch_device)
  torch_reference.load_flax_params(ref, *jax_step.host_params())
  worst, report = [], {}
  for i, batch in enumerate(host_batches):
    b = batch['images'].shape[0]
    eps = _z_noise(config.seed, i, (3 * b, config.model.z_dim))
    jax_step.run(1, iter([batch]))
    ours = jax.device_get(jax_step.metrics)
    theirs = ref(*torch_reference.to_torch_batch(batch, torch_device),
                 torch.from_numpy(eps).to(torch_device))
    rel = {k: abs(float(ours[k]) - float(theirs[k])) /
           max(abs(float(theirs[k])), 1e-6) for k in CHECKED}
    worst.append(max(rel.values()))
    report[f'step_{i}'] = {k: (float(ours[k]), float(theirs[k])) for k in
                           CHECKED}
  return {'max_rel_diff_per_step': worst, 'losses_jax_torch': report}


def time_against_torch(config, num_classes: int, host_batch, rounds: int,
                       steps: int, devices: int = 1,
                       torch_device: str = 'cpu') -> dict:
  """Median step times of both on the same batch, rounds interleaved; JAX's
  step split over `devices` devices, PyTorch's on `torch_device` (on CUDA
  with cuDNN's autotuner on, as a tuned PyTorch run would have it)."""
  jax_step = JaxStep(config, num_classes, host_batch, devices=devices)
  torch.backends.cudnn.benchmark = True
  ref = torch_reference.TrainStep(config, num_classes, torch_device)
  torch_reference.load_flax_params(ref, *jax_step.host_params())
  images, labels = torch_reference.to_torch_batch(host_batch, torch_device)

  def run_torch(n):
    for _ in range(n):
      ref(images, labels)
    torch_reference.synchronize(torch_device)

  runners = {'jax': jax_step.run, 'torch': run_torch}
  timing.interleaved(runners, rounds=1, steps=3)  # warm-up
  times = timing.interleaved(runners, rounds, steps)
  per_image = 3 * host_batch['images'].shape[0]
  result = {name: timing.summary(t, per_image) for name, t in times.items()}
  result['speedup'] = (result['jax']['images_per_s'] /
                       result['torch']['images_per_s'])
  result['speedup_per_round_median'] = float(np.median(
      np.asarray(times['torch']) / np.asarray(times['jax'])))
  result['compile_s'] = jax_step.compile_s
  result['torch_threads'] = torch.get_num_threads()
  result['torch_device'] = torch_device
  return result
