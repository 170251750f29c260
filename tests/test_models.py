"""The networks: shapes, what each adversary compares, the up-convolution's
equivalence to ConvTranspose."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from dvae_jax.model import networks as models


@pytest.mark.parametrize('size', [32, 64])
def test_encoder_decoder_shapes(size):
  x = jnp.zeros((5, size, size, 3))
  enc = models.Encoder(width=4, s_dim=6, z_dim=7)
  enc_vars = enc.init(jax.random.key(0), x, train=False)
  s, z_mean, z_logvar = enc.apply(enc_vars, x, train=False)
  assert (s.shape, z_mean.shape, z_logvar.shape) == ((5, 6), (5, 7), (5, 7))
  dec = models.Decoder(width=4, image_size=size, channels=3)
  dec_vars = dec.init(jax.random.key(1), s, z_mean, train=False)
  out = dec.apply(dec_vars, s, z_mean, train=False)
  assert out.shape == (5, size, size, 3)
  assert float(jnp.max(jnp.abs(out))) <= 1.0  # tanh output


def test_encoder_batch_norm_updates_in_training_only():
  x = jax.random.normal(jax.random.key(0), (4, 32, 32, 1))
  enc = models.Encoder(width=2, s_dim=3, z_dim=3)
  variables = enc.init(jax.random.key(1), x, train=False)
  _, updated = enc.apply(variables, x, train=True, mutable=['batch_stats'])
  before = jax.tree.leaves(variables['batch_stats'])
  after = jax.tree.leaves(updated['batch_stats'])
  assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_upconv_equals_strided_conv_transpose():
  x = jax.random.normal(jax.random.key(0), (2, 3, 4, 5))
  up = models.UpConv(features=6)
  up_vars = up.init(jax.random.key(1), x)
  bias = jax.random.normal(jax.random.key(2), (6,))
  kernel = up_vars['params']['Conv_0']['kernel']  # (1, 1, 5, 2 * 2 * 6)
  # Output channel (dy, dx, c) of the 1x1 conv is tap (dy, dx) of the
  # transposed kernel; flax's ConvTranspose (a fractionally strided conv)
  # applies its kernel spatially flipped.
  k = kernel[0, 0].reshape(5, 2, 2, 6).transpose(1, 2, 0, 3)[::-1, ::-1]
  ref = nn.ConvTranspose(6, (2, 2), (2, 2), padding='VALID')
  ref_out = ref.apply({'params': {'kernel': k, 'bias': bias}}, x)
  out = up.apply({'params': {'Conv_0': {'kernel': kernel}, 'bias': bias}}, x)
  assert out.shape == (2, 6, 8, 6)
  np.testing.assert_allclose(out, ref_out, atol=1e-5)


def test_label_discriminator_depends_on_label():
  x = jax.random.normal(jax.random.key(0), (3, 32, 32, 3))
  d = models.LabelDiscriminator(width=4, num_classes=10, dropout_rate=0.5)
  variables = d.init(jax.random.key(1), x, jnp.zeros(3, jnp.int32), train=False)
  a = d.apply(variables, x, jnp.array([0, 1, 2]), train=False)
  b = d.apply(variables, x, jnp.array([3, 4, 5]), train=False)
  assert a.shape == (3,)
  assert not np.allclose(a, b)


def _batch_and_fakes(b=2, size=8):
  """Images whose every pixel holds its (example, group) number, so that
  where an input came from can be read off it."""
  ids = np.arange(b * 3, dtype=np.float32).reshape(b, 3)
  images = np.broadcast_to(ids[:, :, None, None, None], (b, 3, size, size, 1))
  labels = (10 * np.arange(b)[:, None] + np.array([1, 1, 2])).astype(np.int32)
  fakes = -1 - np.broadcast_to(np.arange(b * 2, dtype=np.float32).reshape(
      b, 2)[:, :, None, None, None], (b, 2, size, size, 1))
  return {'images': images, 'labels': labels}, fakes


def test_label_discriminator_sees_fakes_with_the_label_of_their_s():
  batch, fakes = _batch_and_fakes()
  d = models.LabelDiscriminator(width=4, num_classes=30)
  (real_x, real_y), (fake_x, fake_y) = d.real_and_fake(batch, fakes)
  # Real: (x2, id2), (x3, id3); fake (Dec(s2, z3), id2), (Dec(s3, z2), id3).
  np.testing.assert_array_equal(real_x[:, 0, 0, 0], [1, 2, 4, 5])
  np.testing.assert_array_equal(real_y, [1, 2, 11, 12])
  np.testing.assert_array_equal(fake_x[:, 0, 0, 0], [-1, -2, -3, -4])
  np.testing.assert_array_equal(fake_y, real_y)
  variables = d.init(jax.random.key(0),
                     *d.init_inputs(real_x, real_y), train=False)
  assert d.apply(variables, fake_x, fake_y, train=False).shape == (4,)


def test_pair_discriminator_compares_x1_with_x2_or_a_fake():
  batch, fakes = _batch_and_fakes()
  d = models.PairDiscriminator(width=4)
  (real_a, real_b), (fake_a, fake_b) = d.real_and_fake(batch, fakes)
  np.testing.assert_array_equal(real_a[:, 0, 0, 0], [0, 3])  # x1
  np.testing.assert_array_equal(real_b[:, 0, 0, 0], [1, 4])  # x2, same class
  np.testing.assert_array_equal(fake_a, real_a)
  np.testing.assert_array_equal(fake_b[:, 0, 0, 0], [-1, -3])  # Dec(s2, z3)
  variables = d.init(jax.random.key(0),
                     *d.init_inputs(real_a, batch['labels'][:, 0]),
                     train=False)
  logits = d.apply(variables, fake_a, fake_b, train=False)
  assert not np.allclose(logits, d.apply(variables, real_a, real_b,
                                         train=False))


def test_weight_grad_chunk_reaches_every_network():
  config = default.get_config('tiny')
  config.model.weight_grad_chunk = 4
  networks = models.build_networks(config, num_classes=10)
  assert networks.encoder.weight_grad_chunk == 4
  assert networks.decoder.weight_grad_chunk == 4
  assert networks.discriminator.weight_grad_chunk == 4


def test_reparameterize_moments():
  mean = jnp.full((20000, 1), 2.0)
  logvar = jnp.full((20000, 1), np.log(9.0))  # sigma = 3
  z = models.reparameterize(jax.random.key(0), mean, logvar)
  assert float(jnp.mean(z)) == pytest.approx(2.0, abs=0.1)
  assert float(jnp.std(z)) == pytest.approx(3.0, abs=0.1)


def test_weight_grad_chunks_change_no_parameter_and_no_gradient():
  """Chunked weight gradients (dvae_jax/model/conv.py) keep every parameter name and
  shape (checkpoints stay loadable) and give the same gradients."""
  s = jax.random.normal(jax.random.key(0), (24, 6))
  z = jax.random.normal(jax.random.key(1), (24, 7))
  grads = []
  for chunk in (0, 8):
    dec = models.Decoder(width=4, image_size=32, channels=3,
                         weight_grad_chunk=chunk)
    variables = dec.init(jax.random.key(2), s, z, train=False)

    def loss(params):
      out, _ = dec.apply({**variables, 'params': params}, s, z, train=True,
                         mutable=['batch_stats'])
      return jnp.sum(out * jnp.cos(jnp.arange(out.size).reshape(out.shape)))

    grads.append(jax.grad(loss)(variables['params']))
  assert (jax.tree.structure(grads[0]) == jax.tree.structure(grads[1]))
  # Float32 sums in another order: agree to ~1e-6 of each array's scale.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(
      a, b, rtol=1e-4, atol=1e-6 * float(np.abs(b).max())), *grads)
