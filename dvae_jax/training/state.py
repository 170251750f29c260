"""The train state pytree, the networks and optimizers built from a config."""
from typing import Any, NamedTuple, Optional, Tuple

import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from dvae_jax.runtime import errors, parallel
from dvae_jax.model import networks as models

ADVERSARIES = ('label', 'pair', 'none')
Z_CLASSIFIER_INPUTS = ('sample', 'mean')


@flax.struct.dataclass
class TrainState:
  """Everything a step reads and writes; one pytree, checkpointed whole."""
  step: jax.Array  # () int32: the number of updates made
  gen_params: Any  # {'encoder': ..., 'decoder': ...}
  gen_opt_state: Any
  batch_stats: Any  # batch-norm running statistics, {'encoder', 'decoder'}
  adv_params: Any  # {'discriminator'?: ..., 'z_classifier'?: ...}
  adv_opt_state: Any


class Networks(NamedTuple):
  """The module definitions (stateless); None for an adversary not used."""
  encoder: models.Encoder
  decoder: models.Decoder
  discriminator: Optional[nn.Module]
  z_classifier: Optional[models.ZClassifier]
  s_classifier: Optional[nn.Module] = None  # linear head on s (gen_params)


def weight_grad_chunk(configured: Optional[int]) -> int:
  """Images per chunk of the convolutions' weight gradients (dvae_jax/model/conv.py).

  None picks: 8 on a single CPU device, where it makes a step 1.12x faster
  (docs/PERFORMANCE.md); 0 (whole batch) elsewhere: accelerators do not need
  it, and with the batch sharded over several devices the chunks would cut
  across the shards.
  """
  if configured is not None:
    if configured < 0:
      raise errors.UserError(
          f'config.model.weight_grad_chunk={configured} is negative; use 0 '
          '(whole batch), a number of images, or None (automatic)')
    return configured
  if jax.default_backend() == 'cpu' and jax.device_count() == 1:
    return 8
  return 0


def build_networks(config, num_classes: int) -> Networks:
  """Modules from `config.model`; num_classes sizes the label-conditioned parts."""
  if config.adversary not in ADVERSARIES:
    raise errors.UserError(f'config.adversary={config.adversary!r} is not one of '
                     f'{ADVERSARIES}; set --config.adversary to one of them')
  if config.loss.z_classifier_input not in Z_CLASSIFIER_INPUTS:
    raise errors.UserError(
        f'config.loss.z_classifier_input={config.loss.z_classifier_input!r} '
        f'is not one of {Z_CLASSIFIER_INPUTS}; set it to one of them')
  m = config.model
  dtype = jnp.dtype(m.dtype)
  chunk = weight_grad_chunk(m.weight_grad_chunk)
  encoder = models.Encoder(m.width, m.s_dim, m.z_dim, dtype=dtype,
                           weight_grad_chunk=chunk,
                           z_noise_std=m.z_noise_std)
  decoder = models.Decoder(m.width, config.image_size, config.channels,
                           dtype=dtype, weight_grad_chunk=chunk)
  discriminator = None
  if config.adversary == 'label':
    discriminator = models.LabelDiscriminator(
        m.disc_width, num_classes, m.disc_dropout, dtype=dtype,
        weight_grad_chunk=chunk)
  elif config.adversary == 'pair':
    discriminator = models.PairDiscriminator(
        m.disc_width, m.disc_dropout, dtype=dtype, weight_grad_chunk=chunk)
  z_classifier = (models.ZClassifier(num_classes)
                  if config.loss.z_classifier > 0 else None)
  s_classifier = (nn.Dense(num_classes, name='s_classifier')
                  if config.loss.s_classifier > 0 else None)
  return Networks(encoder, decoder, discriminator, z_classifier, s_classifier)


def build_optimizers(config) -> Tuple[optax.GradientTransformation,
                                      optax.GradientTransformation]:
  """Adam (beta1 from the config) for the generator and for the adversaries."""
  return (optax.adam(config.learning_rate, b1=config.b1),
          optax.adam(config.disc_learning_rate, b1=config.b1))


def init_state(networks: Networks, gen_tx, adv_tx, image_shape, rng,
               z_dim: int) -> TrainState:
  """A fresh TrainState; image_shape (H, W, C). Run it under jax.jit."""
  x = jnp.zeros((2,) + tuple(image_shape), jnp.float32)
  labels = jnp.zeros((2,), jnp.int32)
  rngs = jax.random.split(rng, 4)
  enc = networks.encoder.init(rngs[0], x, train=False)
  s, z, _ = networks.encoder.apply(enc, x, train=False)
  dec = networks.decoder.init(rngs[1], s, z, train=False)
  adv_params = {}
  if isinstance(networks.discriminator, models.LabelDiscriminator):
    adv_params['discriminator'] = networks.discriminator.init(
        rngs[2], x, labels, train=False)['params']
  elif isinstance(networks.discriminator, models.PairDiscriminator):
    adv_params['discriminator'] = networks.discriminator.init(
        rngs[2], x, x, train=False)['params']
  if networks.z_classifier is not None:
    adv_params['z_classifier'] = networks.z_classifier.init(
        rngs[3], jnp.zeros((2, z_dim)))['params']
  gen_params = {'encoder': enc['params'], 'decoder': dec['params']}
  if networks.s_classifier is not None:
    gen_params['s_classifier'] = networks.s_classifier.init(
        rngs[3], s)['params']
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      gen_params=gen_params,
      gen_opt_state=gen_tx.init(gen_params),
      batch_stats={'encoder': enc['batch_stats'],
                   'decoder': dec['batch_stats']},
      adv_params=adv_params,
      adv_opt_state=adv_tx.init(adv_params))


def make_init_fn(networks: Networks, gen_tx, adv_tx, image_shape, z_dim: int,
                 mesh):
  """jit(init_state) whose state is replicated over the mesh: rng -> TrainState."""
  return jax.jit(
      functools.partial(init_state, networks, gen_tx, adv_tx, image_shape,
                        z_dim=z_dim),
      out_shardings=parallel.replicated(mesh))
