"""This machine's practical float32 peak: GFLOP/s of a large matrix product
in XLA, the yardstick for the "GFLOP/s" of a train step.

  python -m benchmarks.peak [--size 2048]

A square product of n x n matrices is the best-case workload for any CPU
library (2 n^3 FLOPs on n^2 data); what a step achieves against it is the
fraction of the machine it uses.
"""
import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np


def matmul_gflops(size: int = 2048, rounds: int = 5, steps: int = 5) -> float:
  """Median over rounds of float32 (size x size) @ (size x size) GFLOP/s."""
  rng = np.random.default_rng(0)
  a = jnp.asarray(rng.standard_normal((size, size)), jnp.float32)
  b = jnp.asarray(rng.standard_normal((size, size)), jnp.float32)
  product = jax.jit(jnp.dot).lower(a, b).compile()
  jax.block_until_ready(product(a, b))
  rates = []
  for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(steps):
      out = product(a, b)
    jax.block_until_ready(out)
    rates.append(2 * size**3 * steps / (time.perf_counter() - start) / 1e9)
  return float(np.median(rates))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--size', type=int, default=2048)
  args = parser.parse_args()
  print(f'float32 {args.size}^3 matrix product in XLA on '
        f'{jax.devices()[0].platform}: {matmul_gflops(args.size):.1f} GFLOP/s')


if __name__ == '__main__':
  main()
