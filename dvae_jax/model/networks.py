"""The networks of Mathieu et al. (2016): encoder, decoder and two discriminators.

Pure Flax linen modules; they know nothing of data, losses or optimizers.
Images are NHWC in [-1, 1]; the spatial size must be a multiple of 8 (three
stride-2 stages bring it to size/8, 4x4 for the paper's 32x32).
"""
import functools
from typing import NamedTuple, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from dvae_jax.model import conv

NUM_DOWNSAMPLINGS = 3  # the paper's networks have three stride-2 stages


def _conv(features, kernel, weight_grad_chunk, dtype, **kwargs):
  """nn.Conv whose weight gradient is summed over chunks of
  `weight_grad_chunk` images (0: whole batch); see dvae_jax/model/conv.py."""
  return nn.Conv(features, kernel, dtype=dtype,
                 conv_general_dilated=conv.chunked_weight_grad(
                     weight_grad_chunk), **kwargs)


class ConvBlock(nn.Module):
  """conv + batch norm + ReLU, the paper's `convblock`."""
  features: int
  kernel: int
  stride: int = 1
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0

  @nn.compact
  def __call__(self, x, train: bool):
    padding = 'SAME' if self.stride == 1 else 'VALID'
    x = _conv(self.features, (self.kernel, self.kernel),
              self.weight_grad_chunk, self.dtype, strides=(self.stride,) * 2,
              padding=padding, use_bias=False)(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9,
                     dtype=self.dtype)(x)
    return nn.relu(x)


class UpConv(nn.Module):
  """A 2x2 stride-2 transposed convolution, computed as 1x1 conv + depth-to-space.

  Same function as `nn.ConvTranspose(features, (2, 2), (2, 2))`: every input
  pixel writes its own 2x2 output block. The weight gradient of a strided
  ConvTranspose is 10-20x slower on XLA CPU (docs/PERFORMANCE.md), this is not.
  """
  features: int
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0

  @nn.compact
  def __call__(self, x):  # (N, H, W, C) -> (N, 2H, 2W, features)
    n, h, w, _ = x.shape
    x = _conv(4 * self.features, (1, 1), self.weight_grad_chunk, self.dtype,
              use_bias=False)(x)
    x = x.reshape(n, h, w, 2, 2, self.features)
    x = x.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, self.features)
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    return x + bias.astype(x.dtype)


def encoder_trunk(x, width: int, dtype, train: bool, weight_grad_chunk=0):
  """The encoder's convblocks: x (N, H, W, C) -> (N, H/8, W/8, 8 * width).

  Call it inside a compact method: its blocks are named in the caller's scope
  (ConvBlock_0..7), so the supervised baseline shares the encoder's layout.
  """
  block = functools.partial(ConvBlock, dtype=dtype,
                            weight_grad_chunk=weight_grad_chunk)
  x = x.astype(dtype)
  x = block(width, 3)(x, train)
  x = block(width, 3)(x, train)
  for stage in range(1, NUM_DOWNSAMPLINGS + 1):
    x = block(width * 2**stage, 2, stride=2)(x, train)
    x = block(width * 2**stage, 3)(x, train)
  return x


class Trunk(nn.Module):
  """encoder_trunk as a module of its own: (N, H, W, C) -> (N, H/8, W/8, 8 *
  width), its blocks named under the module's name."""
  width: int
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0

  @nn.compact
  def __call__(self, x, train: bool):
    return encoder_trunk(x, self.width, self.dtype, train,
                         self.weight_grad_chunk)


class Encoder(nn.Module):
  """x (N, H, W, C) -> s (N, s_dim), z_mean (N, z_dim), z_logvar (N, z_dim).

  The paper's "big" encoder: widths nF, 2nF, 4nF, 8nF with a 2x2 stride-2
  convblock between them, then linear heads for s and for q(z|x).
  separate_s: s from a trunk of its own ('s_trunk'), as the two-step
  method's s encoder (Hadad et al. 2018), which the train step trains by
  the identity labels alone (training/step.py).
  """
  width: int
  s_dim: int
  z_dim: int
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0  # see dvae_jax/model/conv.py
  separate_s: bool = False

  @nn.compact
  def __call__(self, x, train: bool):
    s_features = None
    if self.separate_s:
      s_features = Trunk(self.width, self.dtype, self.weight_grad_chunk,
                         name='s_trunk')(x, train)
      s_features = s_features.reshape(x.shape[0], -1)
    x = encoder_trunk(x, self.width, self.dtype, train, self.weight_grad_chunk)
    x = x.reshape(x.shape[0], -1)
    s = nn.Dense(self.s_dim, dtype=self.dtype, name='s_head')(
        x if s_features is None else s_features)
    z_mean = nn.Dense(self.z_dim, dtype=self.dtype, name='z_mean_head')(x)
    z_logvar = nn.Dense(self.z_dim, dtype=self.dtype, name='z_logvar_head')(x)
    return (s.astype(jnp.float32), z_mean.astype(jnp.float32),
            z_logvar.astype(jnp.float32))


class Decoder(nn.Module):
  """s (N, s_dim), z (N, z_dim) -> image (N, H, W, C) in [-1, 1] (tanh)."""
  width: int
  image_size: int
  channels: int
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0  # see dvae_jax/model/conv.py

  @nn.compact
  def __call__(self, s, z, train: bool):
    chunk = self.weight_grad_chunk
    base = self.image_size // 2**NUM_DOWNSAMPLINGS
    top = self.width * 2**NUM_DOWNSAMPLINGS
    # Two projections summed, as in the paper: s and z enter symmetrically.
    x = (nn.Dense(base * base * top, dtype=self.dtype, name='s_proj')(s) +
         nn.Dense(base * base * top, dtype=self.dtype, name='z_proj')(z))
    x = x.reshape(s.shape[0], base, base, top)
    for stage in range(NUM_DOWNSAMPLINGS, 0, -1):
      x = ConvBlock(self.width * 2**stage, 3, dtype=self.dtype,
                    weight_grad_chunk=chunk)(x, train)
      x = UpConv(self.width * 2**(stage - 1), dtype=self.dtype,
                 weight_grad_chunk=chunk)(x)
      x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9,
                               dtype=self.dtype)(x))
    x = _conv(self.channels, (3, 3), chunk, self.dtype)(x)
    return jnp.tanh(x.astype(jnp.float32))


def flatten_groups(x):
  """(B, G, ...) -> (B*G, ...): a batch's groups as examples."""
  return x.reshape((-1,) + x.shape[2:])


class _DiscriminatorTrunk(nn.Module):
  """3x3 conv, LeakyReLU, three stride-2 stages; stage_inputs[i] (N, C_i), if
  given, is added to every position of stage i's feature maps."""
  width: int
  dropout_rate: float
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0

  @nn.compact
  def __call__(self, x, stage_inputs, train: bool):
    conv = functools.partial(_conv, weight_grad_chunk=self.weight_grad_chunk,
                             dtype=self.dtype)
    x = x.astype(self.dtype)
    x = nn.leaky_relu(conv(self.width, (3, 3))(x), 0.2)
    for stage in range(NUM_DOWNSAMPLINGS):
      features = self.width * 2**stage
      x = conv(features, (2, 2), strides=(2, 2), padding='VALID')(x)
      x = nn.leaky_relu(x, 0.2)
      x = nn.leaky_relu(conv(features, (3, 3))(x), 0.2)
      if stage_inputs is not None:
        x = x + stage_inputs[stage][:, None, None, :].astype(self.dtype)
    x = x.reshape(x.shape[0], -1)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(1, dtype=self.dtype)(x)[:, 0].astype(jnp.float32)


class LabelDiscriminator(nn.Module):
  """The paper's D(x, id): x (N, H, W, C), labels (N,) int -> logits (N,).

  The class label enters as a learned embedding added to the feature maps
  after each of the three stages.
  """
  width: int
  num_classes: int
  dropout_rate: float = 0.5
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0  # see dvae_jax/model/conv.py

  def init_inputs(self, x, labels):
    """The arguments of an init call, from images (N, H, W, C), labels (N,)."""
    return x, labels

  def real_and_fake(self, batch, fakes):
    """(real, fake) arguments from a batch and the step's fakes (B, 2, H, W,
    C). Real: (x2, id2), (x3, id3). Fake: (Dec(s2, z3), id2), (Dec(s3, z2),
    id3): each fake carries the label of its s."""
    images, labels = batch['images'], batch['labels']
    return ((flatten_groups(images[:, 1:3]), flatten_groups(labels[:, 1:3])),
            (flatten_groups(fakes), flatten_groups(labels[:, 1:3])))

  @nn.compact
  def __call__(self, x, labels, train: bool):
    stage_inputs = [
        nn.Embed(self.num_classes, self.width * 2**stage,
                 name=f'label_embedding_{stage}')(labels)
        for stage in range(NUM_DOWNSAMPLINGS)]
    return _DiscriminatorTrunk(self.width, self.dropout_rate, self.dtype,
                               self.weight_grad_chunk)(x, stage_inputs, train)


class PairDiscriminator(nn.Module):
  """D(x_a, x_b): are two images of one class (real) or is x_b generated?

  x_a, x_b (N, H, W, C) -> logits (N,). Needs no class count (Szabo et al.
  2018; Jha et al. 2018), so it scales to unbounded identities.
  """
  width: int
  dropout_rate: float = 0.5
  dtype: jnp.dtype = jnp.float32
  weight_grad_chunk: int = 0  # see dvae_jax/model/conv.py

  def init_inputs(self, x, labels):
    """The arguments of an init call, from images (N, H, W, C), labels (N,)."""
    del labels
    return x, x

  def real_and_fake(self, batch, fakes):
    """(real, fake) arguments from a batch and the step's fakes (B, 2, H, W,
    C). Real: (x1, x2), same class. Fake: (x1, Dec(s2, z3)), x2's identity."""
    x1 = batch['images'][:, 0]
    return (x1, batch['images'][:, 1]), (x1, fakes[:, 0])

  @nn.compact
  def __call__(self, x_a, x_b, train: bool):
    x = jnp.concatenate([x_a, x_b], axis=-1)
    return _DiscriminatorTrunk(self.width, self.dropout_rate, self.dtype,
                               self.weight_grad_chunk)(x, None, train)


def reparameterize(rng: jax.Array, mean: jax.Array,
                   logvar: jax.Array) -> jax.Array:
  """z = mean + exp(logvar / 2) * eps, eps ~ N(0, I); logvar is log sigma^2."""
  eps = jax.random.normal(rng, mean.shape, mean.dtype)
  return mean + jnp.exp(0.5 * logvar) * eps


# The image-space adversaries, by config.adversary: each offers
# init_inputs(x, labels) and real_and_fake(batch, fakes); 'none' has none.
ADVERSARIES = ('label', 'pair', 'none')


class Networks(NamedTuple):
  """The module definitions (stateless); None for a network not used."""
  encoder: Encoder
  decoder: Decoder
  discriminator: Optional[nn.Module]
  s_classifier: Optional[nn.Module] = None  # linear head on s (gen_params)


def weight_grad_chunk(configured: Optional[int]) -> int:
  """Images per chunk of the convolutions' weight gradients (conv.py).

  None picks: 8 on a single CPU device, where it makes a step 1.12x faster
  (docs/PERFORMANCE.md); 0 (whole batch) elsewhere: accelerators do not need
  it, and with the batch sharded over several devices the chunks would cut
  across the shards.
  """
  if configured is not None:  # >= 0 (dvae_jax/config_rules.py)
    return configured
  if jax.default_backend() == 'cpu' and jax.device_count() == 1:
    return 8
  return 0


def build_coders(config) -> Tuple[Encoder, Decoder]:
  """The encoder and decoder of `config.model`: all a trained model needs."""
  m = config.model
  dtype = jnp.dtype(m.dtype)
  chunk = weight_grad_chunk(m.weight_grad_chunk)
  return (Encoder(m.width, m.s_dim, m.z_dim, dtype=dtype,
                  weight_grad_chunk=chunk,
                  separate_s=m.separate_s_encoder),
          Decoder(m.width, config.image_size, config.channels, dtype=dtype,
                  weight_grad_chunk=chunk))


def init_coders(encoder: Encoder, decoder: Decoder, rng_encoder, rng_decoder,
                x) -> Tuple[dict, dict]:
  """Fresh variables ({'params', 'batch_stats'}) of encoder and decoder, from
  example images x (N, H, W, C)."""
  enc = encoder.init(rng_encoder, x, train=False)
  s, z, _ = encoder.apply(enc, x, train=False)
  return enc, decoder.init(rng_decoder, s, z, train=False)


def build_networks(config, num_classes: int) -> Networks:
  """Modules from `config.model` and `config.adversary`; num_classes sizes
  the label-conditioned parts; the config passed dvae_jax/config_rules.py."""
  m = config.model
  dtype = jnp.dtype(m.dtype)
  chunk = weight_grad_chunk(m.weight_grad_chunk)
  encoder, decoder = build_coders(config)
  discriminator = {
      'label': lambda: LabelDiscriminator(
          m.disc_width, num_classes, m.disc_dropout, dtype=dtype,
          weight_grad_chunk=chunk),
      'pair': lambda: PairDiscriminator(
          m.disc_width, m.disc_dropout, dtype=dtype, weight_grad_chunk=chunk),
      'none': lambda: None,
  }[config.adversary]()
  s_classifier = (nn.Dense(num_classes, name='s_classifier')
                  if config.loss.s_classifier > 0 else None)
  return Networks(encoder, decoder, discriminator, s_classifier)
