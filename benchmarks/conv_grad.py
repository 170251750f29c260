"""The weight gradient of every convolution of a train step, over the whole
batch vs summed over chunks of n images (dvae_jax/model/conv.py), on this machine.

  python -m benchmarks.conv_grad [--batch_size 16] [--image_size 32]

The convolutions are read off the networks' own jaxprs (encoder on 3B
images, decoder on 7B codes, discriminator on 4B images), so the shapes are
the step's. Prints a table (ms, medians of interleaved rounds) and writes JSON.
"""
import argparse
import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import core as jax_core

from benchmarks import cases, timing
from dvae_jax.model import conv as conv_lib
from dvae_jax.model import networks as models
from dvae_jax.training.step import S_GROUPS

CHUNKS = (16, 8, 4)


def _convolutions(fn, *args):
  """[(lhs shape, rhs shape, params)] of the conv_general_dilated in fn's jaxpr."""
  found = []

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == 'conv_general_dilated':
        found.append((eqn.invars[0].aval.shape, eqn.invars[1].aval.shape,
                      eqn.params))
      for sub in jax_core.jaxprs_in_params(eqn.params):
        visit(sub)

  visit(jax.make_jaxpr(fn)(*args).jaxpr)
  return found


def step_convolutions(config, num_classes: int):
  """name -> (lhs shape, rhs shape, params) of each network's convolutions."""
  config = config.copy_and_resolve_references()  # the caller's stays as it is
  config.model.weight_grad_chunk = 0
  networks = models.build_networks(config, num_classes)
  b, s, c = config.batch_size, config.image_size, config.channels
  images3 = jnp.zeros((3 * b, s, s, c))
  images4 = jnp.zeros((4 * b, s, s, c))
  codes = (jnp.zeros((len(S_GROUPS) * b, config.model.s_dim)),
           jnp.zeros((len(S_GROUPS) * b, config.model.z_dim)))
  labels = jnp.zeros((4 * b,), jnp.int32)
  found = {}
  for name, module, args in [
      ('encoder', networks.encoder, (images3,)),
      ('decoder', networks.decoder, codes),
      ('discriminator', networks.discriminator, (images4, labels))]:
    variables = module.init(jax.random.key(0), *args, train=False)
    apply = lambda v, *a, m=module: m.apply(
        v, *a, train=True, mutable=['batch_stats'],
        rngs={'dropout': jax.random.key(1)})
    for i, conv in enumerate(_convolutions(apply, variables, *args)):
      found[f'{name}_{i}'] = conv
  return found


def _weight_grad(lhs_shape, rhs_shape, params, chunks: int):
  """jitted (x, dy) -> dw over the whole batch (chunks=1) or summed over
  chunks, by the package's own chunked gradient (its input gradient, unused
  here, is dead code that XLA drops)."""
  conv = functools.partial(lax.conv_general_dilated_p.bind, **params)

  def grad(x, dy):
    w = jnp.zeros(rhs_shape, x.dtype)
    _, vjp = jax.vjp(
        lambda w: conv_lib.with_chunked_weight_grad(conv, chunks, x, w), w)
    return vjp(dy)[0]

  return jax.jit(grad)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image_size', type=int, default=32)
  parser.add_argument('--batch_size', type=int, default=16)
  parser.add_argument('--rounds', type=int, default=7)
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--out', default=os.path.join(
      cases.REPO, 'benchmarks', 'results', 'conv_grad.json'))
  args = parser.parse_args()
  config = cases.load_config({'config': cases.DEFAULT, 'overrides': {
      'image_size': args.image_size, 'batch_size': args.batch_size}})
  rng = np.random.default_rng(0)
  results = {}
  print(f"{'layer':16s} {'input':>18s} {'kernel':>16s} {'whole ms':>9s} " +
        ' '.join(f'{f"chunks of {n}":>12s}' for n in CHUNKS))
  for name, (lhs_shape, rhs_shape, params) in step_convolutions(
      config, 200).items():
    x = jnp.asarray(rng.normal(size=lhs_shape), jnp.float32)
    out = jax.eval_shape(
        lambda x: lax.conv_general_dilated_p.bind(
            x, jnp.zeros(rhs_shape), **params), x)
    dy = jnp.asarray(rng.normal(size=out.shape), jnp.float32)
    runners = {}
    for label, chunks in [('whole', 1)] + [
        (f'chunks_of_{n}', -(-lhs_shape[0] // n)) for n in CHUNKS
        if n < lhs_shape[0]]:
      fn = _weight_grad(lhs_shape, rhs_shape, params, chunks)
      jax.block_until_ready(fn(x, dy))

      def run(n, fn=fn):
        for _ in range(n):
          result = fn(x, dy)
        jax.block_until_ready(result)

      runners[label] = run
    times = timing.interleaved(runners, args.rounds, args.steps)
    row = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    results[name] = {'input': list(lhs_shape), 'kernel': list(rhs_shape),
                     'ms': row}
    print(f'{name:16s} {str(tuple(lhs_shape)):>18s} {str(tuple(rhs_shape)):>16s}'
          f" {row['whole']:9.2f} " + ' '.join(
              f"{row.get(f'chunks_of_{n}', float('nan')):12.2f}"
              for n in CHUNKS), flush=True)
  totals = {k: sum(r['ms'].get(k, r['ms']['whole']) for r in results.values())
            for k in ['whole'] + [f'chunks_of_{n}' for n in CHUNKS]}
  print('total ms', json.dumps({k: round(v, 1) for k, v in totals.items()}))
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  with open(args.out, 'w') as f:
    json.dump({'layers': results, 'totals_ms': totals}, f, indent=1)


if __name__ == '__main__':
  main()
