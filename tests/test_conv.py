"""Convolutions with chunked weight gradients: same outputs and gradients as
lax.conv_general_dilated, for every convolution shape the networks use."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from dvae_jax.model import conv

NHWC = ('NHWC', 'HWIO', 'NHWC')
# (input shape, kernel shape, strides, padding): the paper's 3x3 convblocks,
# the 2x2 stride-2 ones, the up-convolution's 1x1, and an uneven batch.
CASES = [((20, 16, 16, 3), (3, 3, 3, 5), (1, 1), 'SAME'),
         ((20, 16, 16, 4), (2, 2, 4, 6), (2, 2), 'VALID'),
         ((20, 16, 16, 4), (1, 1, 4, 8), (1, 1), 'VALID'),
         ((19, 16, 16, 2), (3, 3, 2, 3), (1, 1), 'SAME')]


def _weight_grad_convs(conv_fn, x, w, strides=(1, 1), padding='SAME'):
  """How many convolutions in the weight gradient's jaxpr output w's shape."""
  jaxpr = str(jax.make_jaxpr(jax.grad(_loss, argnums=2),
                             static_argnums=(0, 3, 4))(conv_fn, x, w, strides,
                                                       padding))
  shape = ','.join(map(str, w.shape))
  return len(re.findall(rf'f32\[{shape}\] = conv_general_dilated', jaxpr))


def _loss(conv_fn, x, w, strides, padding):
  y = conv_fn(x, w, strides, padding,
              dimension_numbers=lax.conv_dimension_numbers(x.shape, w.shape,
                                                           NHWC))
  # A loss that weighs every output differently, so no gradient is trivial.
  return jnp.sum(y * jnp.cos(jnp.arange(y.size).reshape(y.shape)))


@pytest.mark.parametrize('x_shape,w_shape,strides,padding', CASES)
def test_chunked_gradients_equal_lax(x_shape, w_shape, strides, padding,
                                     monkeypatch):
  monkeypatch.setattr(conv, 'MIN_CHUNKED_POSITIONS', 1)
  x = jax.random.normal(jax.random.key(0), x_shape)
  w = jax.random.normal(jax.random.key(1), w_shape)
  chunked = conv.chunked_weight_grad(4)
  grad = lambda f: jax.jit(jax.grad(_loss, argnums=(1, 2)),
                           static_argnums=(0, 3, 4))(f, x, w, strides, padding)
  (dx, dw), (dx_ref, dw_ref) = grad(chunked), grad(lax.conv_general_dilated)
  np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dw, dw_ref, rtol=1e-5, atol=1e-4)
  # The chunked path is really taken: one weight-gradient convolution per
  # chunk of 4 images instead of one.
  assert _weight_grad_convs(chunked, x, w, strides, padding) == -(
      -x_shape[0] // 4)
  assert _weight_grad_convs(lax.conv_general_dilated, x, w, strides,
                            padding) == 1
  np.testing.assert_allclose(
      _loss(chunked, x, w, strides, padding),
      _loss(lax.conv_general_dilated, x, w, strides, padding), rtol=1e-6)


def test_small_maps_and_small_batches_keep_the_whole_batch_gradient():
  w = jnp.ones((3, 3, 2, 2))
  for x_shape, chunk in [((64, 4, 4, 2), 8),   # 1024 positions < 4096
                         ((8, 32, 32, 2), 8),  # batch no larger than a chunk
                         ((64, 32, 32, 2), 0)]:  # chunking off
    x = jnp.ones(x_shape)
    assert _weight_grad_convs(conv.chunked_weight_grad(chunk), x, w) == 1, (
        x_shape)


def test_bfloat16_gradient_is_accumulated_in_float32(monkeypatch):
  monkeypatch.setattr(conv, 'MIN_CHUNKED_POSITIONS', 1)
  x = jax.random.normal(jax.random.key(0), (32, 8, 8, 4)).astype(jnp.bfloat16)
  w = jax.random.normal(jax.random.key(1), (3, 3, 4, 4)).astype(jnp.bfloat16)
  grad = lambda f: jax.grad(_loss, argnums=2)(f, x, w, (1, 1), 'SAME')
  dw, dw_ref = grad(conv.chunked_weight_grad(4)), grad(lax.conv_general_dilated)
  assert dw.dtype == jnp.bfloat16
  np.testing.assert_allclose(dw.astype(np.float32), dw_ref.astype(np.float32),
                             rtol=2e-2, atol=0.5)
