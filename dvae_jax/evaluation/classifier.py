"""A supervised identity classifier on real images: the encoder's trunk plus a
linear head, trained as a plain classifier.

One network serves twice: its accuracy is the supervised baseline of the
probes (paper, Table 1), and it is the judge that names the identity of
generated images (swaps) and embeds images for the Frechet distance and KID.
Its parameters are cached in the workdir, keyed by what determines them.
"""
import dataclasses
import functools
import json
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from etils import epath

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.model import networks as models
from dvae_jax.runtime import progress as progress_lib
from dvae_jax.runtime import workdir


class TrunkClassifier(nn.Module):
  """x (N, H, W, C) in [-1, 1] -> logits (N, classes), features (N, 8 * width).

  Features are the trunk's output averaged over space (as Inception's pool).
  """
  width: int
  num_classes: int

  @nn.compact
  def __call__(self, x, train: bool):
    h = models.encoder_trunk(x, self.width, jnp.float32, train)
    logits = nn.Dense(self.num_classes)(h.reshape(h.shape[0], -1))
    return logits, h.mean(axis=(1, 2))


@dataclasses.dataclass(eq=False)  # hashed by identity: a static jit argument
class Classifier:
  """A trained TrunkClassifier as numpy functions."""
  module: TrunkClassifier
  variables: Any
  batch_size: int = 256

  @functools.partial(jax.jit, static_argnums=0)
  def _apply(self, variables, x):
    return self.module.apply(variables, x, train=False)

  def logits_and_features(self, images_uint8: np.ndarray):
    """(N, H, W, C) uint8 -> logits (N, classes), features (N, D) float32."""
    return input_pipeline.apply_in_batches(
        lambda x: self._apply(self.variables, input_pipeline.to_float(x)),
        [images_uint8], self.batch_size)

  def predict(self, images_uint8: np.ndarray) -> np.ndarray:
    """(N, H, W, C) uint8 -> predicted class (N,) int."""
    return np.argmax(self.logits_and_features(images_uint8)[0], axis=-1)

  def features(self, images_uint8: np.ndarray) -> np.ndarray:
    return self.logits_and_features(images_uint8)[1]


def train_classifier(images: np.ndarray, labels: np.ndarray, num_classes: int,
                     width: int, steps: int, batch_size: int,
                     learning_rate: float, seed: int) -> Classifier:
  """Adam (cosine-decayed learning rate) on softmax cross-entropy;
  images (N, H, W, C) uint8, labels (N,).

  Batches are seeded epochs of a permutation, so a rerun is identical.
  """
  module = TrunkClassifier(width, num_classes)
  x0 = jnp.zeros((2,) + images.shape[1:], jnp.float32)
  # One compiled program: run op by op, init compiles each of its dozens of
  # primitives on its own, which took longer than training a tiny judge.
  variables = jax.jit(functools.partial(module.init, train=False))(
      jax.random.key(seed), x0)
  # Cosine decay to 0: a better classifier in a fixed, small step budget.
  tx = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))
  params, stats = variables['params'], variables['batch_stats']
  opt_state = jax.jit(tx.init)(params)

  @jax.jit
  def step(params, stats, opt_state, x, y):
    def loss_fn(p):
      (logits, _), new = module.apply({'params': p, 'batch_stats': stats}, x,
                                      train=True, mutable=['batch_stats'])
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      return loss, new['batch_stats']
    (_, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), stats, opt_state

  rng = np.random.default_rng(seed)
  order = np.empty(0, np.int64)
  batch_size = min(batch_size, len(labels))
  progress = progress_lib.Progress('eval: judge classifier training', steps,
                                   unit='steps')
  for i in range(steps):
    if len(order) < batch_size:
      order = np.concatenate([order, rng.permutation(len(labels))])
    idx, order = order[:batch_size], order[batch_size:]
    x = input_pipeline.to_float(images[idx])
    params, stats, opt_state = step(params, stats, opt_state, x,
                                    labels[idx].astype(np.int32))
    progress.update(i + 1)
  return Classifier(module, {'params': params, 'batch_stats': stats})


def cached_classifier(cache_dir, key: dict, images: np.ndarray,
                      labels: np.ndarray, num_classes: int, width: int,
                      steps: int, batch_size: int, learning_rate: float,
                      seed: int) -> Classifier:
  """train_classifier, or its parameters from cache_dir when `key` (a JSON
  dict naming the data and settings) matches the cached one."""
  settings = dict(key, num_classes=num_classes, width=width, steps=steps,
                  batch_size=batch_size, learning_rate=learning_rate,
                  seed=seed, num_examples=int(len(labels)))
  key_path = epath.Path(cache_dir, 'key.json')
  params_path = epath.Path(cache_dir, 'variables.msgpack')
  if key_path.exists() and params_path.exists():
    if workdir.read_json(key_path) == json.loads(json.dumps(settings)):
      variables = flax.serialization.msgpack_restore(  # plain dicts: fine
          params_path.read_bytes())
      return Classifier(TrunkClassifier(width, num_classes), variables)
  clf = train_classifier(images, labels, num_classes, width, steps,
                         batch_size, learning_rate, seed)
  # Atomic: a concurrent evaluation never reads a half-written file.
  workdir.write_bytes(params_path, flax.serialization.to_bytes(
      jax.device_get(clf.variables)))
  workdir.write_json(key_path, settings)
  return clf
