"""The package's own step, built and fed as training/loop.py does, for timing.

Nothing here re-implements the model: networks, optimizers, state and step
come from dvae_jax.training.state and dvae_jax.training.step.
"""
import functools
import time

import jax
import numpy as np

from dvae_jax.runtime import parallel
from dvae_jax.training import state as state_lib
from dvae_jax.training import step as step_lib

# Classes of random_batch and of the model: as many as the built-in data has
# (glyphs.NUM_IDENTITIES, not imported: it needs TensorFlow; the label D
# sizes its embedding by them), so that the tiny config's step here is the
# one the tests' tiny runs compile (one program, cached once).
RANDOM_CLASSES = 250


def make_multi_step(setup, k: int):
  """k train steps in one host call (`lax.scan`), which hides the per-call
  overhead of small models.

  Returns jit(f): state, batches -> state, metrics, where batches stacks k
  batches on a new leading axis ({'images': (k, B, 3, H, W, C), 'labels':
  (k, B, 3)}, B split over devices) and every metric has a leading axis (k,).
  Equal to k calls of setup.train_step() on the k batches in turn.
  """
  step = functools.partial(step_lib.train_step, setup=setup)
  mesh = setup.mesh

  def multi_step(state, batches):
    # Unrolled: XLA CPU ran the rolled loop's body ~12x slower than the same
    # step outside a loop (conv-heavy body, jaxlib 0.10.2); unrolled it runs
    # at single-step speed, at the price of k copies to compile.
    return jax.lax.scan(step, state, batches, length=k, unroll=True)

  replicated = parallel.replicated(mesh)
  stacked = jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec(None, parallel.DATA_AXIS))
  return jax.jit(multi_step, in_shardings=(replicated, stacked),
                 out_shardings=(replicated, replicated), donate_argnums=0)


class JaxStep:
  """A compiled (ahead of time) step of config on `devices` devices (the
  batch split over them, as training/loop.py does with several).

  k > 1 uses make_multi_step: one call runs k steps on k stacked batches.
  Attributes after construction: init_s, trace_s, compile_s, cost (XLA cost
  analysis of one call), state (donated and replaced by every call).
  """

  def __init__(self, config, num_classes: int, example_batch, k: int = 1,
               devices: int = 1):
    self.k = k
    if len(jax.devices()) < devices:
      raise ValueError(f'{devices} devices asked, {len(jax.devices())} seen; '
                       f'on CPU set JAX_NUM_CPU_DEVICES={devices}')
    self.mesh = parallel.make_mesh(jax.devices()[:devices])
    setup = state_lib.Setup.create(config, num_classes, self.mesh)
    start = time.perf_counter()
    self.state = jax.block_until_ready(setup.init())
    self.init_s = time.perf_counter() - start
    fn = setup.train_step() if k == 1 else make_multi_step(setup, k)
    self.batch = self.device_batch(example_batch)
    start = time.perf_counter()
    lowered = fn.lower(self.state, self.batch)
    self.trace_s = time.perf_counter() - start
    start = time.perf_counter()
    self.compiled = lowered.compile()
    self.compile_s = time.perf_counter() - start
    cost = self.compiled.cost_analysis()
    self.cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    self.metrics = None

  def device_batch(self, host_batch):
    """A numpy batch (or k stacked ones for k > 1) as global device arrays."""
    if self.k == 1:
      return parallel.global_batch(host_batch, self.mesh)
    stacked = jax.tree.map(lambda x: np.stack([x] * self.k), host_batch)
    sharding = jax.sharding.NamedSharding(
        self.mesh, jax.sharding.PartitionSpec(None, parallel.DATA_AXIS))
    return jax.device_put(stacked, sharding)

  def run(self, calls: int, batches=None) -> None:
    """calls host calls on the resident batch, or on fresh batches from the
    iterator `batches` (k == 1), as training/loop.py feeds them; blocks at
    the end."""
    for _ in range(calls):
      batch = (self.batch if batches is None else
               parallel.global_batch(next(batches), self.mesh))
      self.state, self.metrics = self.compiled(self.state, batch)
    jax.block_until_ready(self.state)

  def host_params(self):
    """(gen_params, adv_params) as numpy, e.g. to copy into another framework."""
    return jax.device_get((self.state.gen_params, self.state.adv_params))


def _blocky(rng, shape, block: int) -> np.ndarray:
  """Uniform [-1, 1] noise drawn at 1/block resolution, upsampled by repeat:
  (N, H, W, C) for shape (N, H, W, C)."""
  n, h, w, c = shape
  low = rng.uniform(-1, 1, (n, -(-h // block), -(-w // block), c))
  return low.repeat(block, 1).repeat(block, 2)[:, :h, :w]


def random_batch(config, seed: int = 0) -> dict:
  """A batch shaped as input_pipeline.triplet_batches makes one, drawn at
  random: 'images' (B, 3, H, W, C) float32 in [-1, 1], 'labels' (B, 3) int32
  below RANDOM_CLASSES with labels[:, 0] == labels[:, 1]. For timing without
  a dataset (and without TensorFlow): the step's cost depends on the shapes,
  not the pixels. Each image is its class's coarse pattern plus coarse noise
  of its own: on pixel-wise white noise (tried once, not kept) the losses of
  PyTorch and dvae_jax drifted past the comparison's tolerance after one Adam
  step, which real images and these batches stay within.
  """
  b, s, c = config.batch_size, config.image_size, config.channels
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, RANDOM_CLASSES, (b, 3)).astype(np.int32)
  labels[:, 1] = labels[:, 0]
  patterns = _blocky(rng, (RANDOM_CLASSES, s, s, c), max(1, s // 4))
  own = _blocky(rng, (3 * b, s, s, c), max(1, s // 8))
  images = 0.7 * patterns[labels.ravel()] + 0.3 * own
  return {'images': images.reshape(b, 3, s, s, c).astype(np.float32),
          'labels': labels}


def load_train_data(config):
  """(train split in memory, number of classes) of config's dataset."""
  from dvae_jax.data import pipeline  # TensorFlow: only when data is read
  data = pipeline.Data(config)
  return data.load(config.train_split), data.num_classes


def pipeline_images_per_s(batches, batch_size: int, n: int = 200) -> float:
  """Throughput of a triplet_batches iterator alone (after a warm-up)."""
  for _ in range(10):
    next(batches)
  start = time.perf_counter()
  for _ in range(n):
    next(batches)
  return 3 * batch_size * n / (time.perf_counter() - start)
