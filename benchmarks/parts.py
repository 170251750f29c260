"""Where a step's time goes: forward + backward of each network alone, JAX vs
PyTorch, on the shapes one train step gives it (interleaved rounds, medians).

  python -m benchmarks.parts [--image_size 64] [--batch_size 32] [--dtype bfloat16]

encoder: 3B images; decoder: 7B (s, z) codes; discriminator: 4B images
(2B in the generator update, 2B real + 2B fake in its own, counted once here).
Gradients w.r.t. parameters and inputs, as the train step needs them.
"""
import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
import torch

from benchmarks import cases, timing, torch_reference
from dvae_jax.model import networks as models
from dvae_jax.training.step import S_GROUPS


def _jax_parts(config, num_classes, b):
  """name -> (jitted fwd+bwd, args) for each network of the package."""
  networks = models.build_networks(config, num_classes)
  s, c = config.image_size, config.channels
  rng = np.random.default_rng(0)
  x3 = jnp.asarray(rng.uniform(-1, 1, (3 * b, s, s, c)), jnp.float32)
  x4 = jnp.asarray(rng.uniform(-1, 1, (4 * b, s, s, c)), jnp.float32)
  n = len(S_GROUPS) * b
  sv = jnp.asarray(rng.normal(size=(n, config.model.s_dim)), jnp.float32)
  zv = jnp.asarray(rng.normal(size=(n, config.model.z_dim)), jnp.float32)
  labels = jnp.zeros((4 * b,), jnp.int32)
  enc_vars = networks.encoder.init(jax.random.key(0), x3, train=False)
  dec_vars = networks.decoder.init(jax.random.key(1), sv, zv, train=False)
  d_vars = networks.discriminator.init(jax.random.key(2), x4, labels,
                                       train=False)

  def enc_loss(p, x):
    out, _ = networks.encoder.apply(
        {'params': p, 'batch_stats': enc_vars['batch_stats']}, x, train=True,
        mutable=['batch_stats'])
    return sum(jnp.sum(o) for o in out)

  def dec_loss(p, s_, z_):
    out, _ = networks.decoder.apply(
        {'params': p, 'batch_stats': dec_vars['batch_stats']}, s_, z_,
        train=True, mutable=['batch_stats'])
    return jnp.sum(out)

  def d_loss(p, x):
    return jnp.sum(networks.discriminator.apply(
        {'params': p}, x, labels, train=True,
        rngs={'dropout': jax.random.key(3)}))

  grad = lambda f, n_args: jax.jit(jax.grad(f, argnums=tuple(range(n_args))))
  return {'encoder': (grad(enc_loss, 2), (enc_vars['params'], x3)),
          'decoder': (grad(dec_loss, 3), (dec_vars['params'], sv, zv)),
          'discriminator': (grad(d_loss, 2), (d_vars['params'], x4))}


def _torch_parts(config, num_classes, b):
  ref = torch_reference.TrainStep(config, num_classes)
  s, c = config.image_size, config.channels
  n = len(S_GROUPS) * b
  x3 = torch.rand(3 * b, c, s, s, requires_grad=True)
  x4 = torch.rand(4 * b, c, s, s, requires_grad=True)
  sv = torch.randn(n, config.model.s_dim, requires_grad=True)
  zv = torch.randn(n, config.model.z_dim, requires_grad=True)
  labels = torch.zeros(4 * b, dtype=torch.int64)
  return {
      'encoder': lambda: sum(o.sum() for o in ref.encoder(x3)).backward(),
      'decoder': lambda: ref.decoder(sv, zv).sum().backward(),
      'discriminator': lambda: ref.discriminator(x4, labels).sum().backward()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image_size', type=int, default=32)
  parser.add_argument('--batch_size', type=int, default=16)
  parser.add_argument('--dtype', default='float32',
                      help="dvae_jax's compute dtype (PyTorch stays float32)")
  parser.add_argument('--rounds', type=int, default=9)
  parser.add_argument('--steps', type=int, default=20)
  args = parser.parse_args()
  config = cases.load_config({'config': cases.DEFAULT, 'overrides': {
      'image_size': args.image_size, 'batch_size': args.batch_size,
      'model.dtype': args.dtype}})
  num_classes, b = 200, args.batch_size
  jax_parts = _jax_parts(config, num_classes, b)
  torch_parts = _torch_parts(config, num_classes, b)
  results = {}
  for name, (fn, fn_args) in jax_parts.items():
    jax.block_until_ready(fn(*fn_args))  # compile

    def run_jax(n, fn=fn, fn_args=fn_args):
      for _ in range(n):
        out = fn(*fn_args)
      jax.block_until_ready(out)

    def run_torch(n, fn=torch_parts[name]):
      for _ in range(n):
        fn()

    times = timing.interleaved({'jax': run_jax, 'torch': run_torch},
                               args.rounds, args.steps)
    results[name] = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    print(f"{name:14s} jax {results[name]['jax']:7.2f} ms   torch "
          f"{results[name]['torch']:7.2f} ms", flush=True)
  print(json.dumps(results))


if __name__ == '__main__':
  main()
