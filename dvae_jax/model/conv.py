"""A drop-in `lax.conv_general_dilated` whose weight gradient is summed over
batch chunks: the same function and gradients, a different schedule.

Why: on XLA:CPU (jaxlib 0.10.2, YNNPACK convolutions) the weight gradient of a
convolution over a large batch is one big-window convolution that ran up to
3.8x slower than the same gradient summed over chunks of 8 images (a 3x3 conv
on 112 x 16x16x32: 20.5 ms whole, 8.3 ms in chunks; all of a default step's
weight gradients: 103 vs 64 ms; `python -m benchmarks.conv_grad`).
Accelerators have no such problem, so `networks.build_networks` turns it on only
for the CPU backend (`config.model.weight_grad_chunk`).
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax

# Below this many output positions (images x height x width) the whole-batch
# weight gradient was as fast or faster than chunks (4x4 maps, or 48 images
# at 8x8, in benchmarks/conv_grad.py).
MIN_CHUNKED_POSITIONS = 4096


def chunked_weight_grad(images_per_chunk: int):
  """A `conv_general_dilated` for `flax.linen.Conv(conv_general_dilated=...)`
  whose weight gradient is the sum of per-chunk gradients, chunks of
  `images_per_chunk` images along the batch axis (0 turns chunking off)."""
  return functools.partial(_conv, images_per_chunk=images_per_chunk)


def _conv(lhs, rhs, window_strides, padding, lhs_dilation=None,
          rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
          precision=None, *, images_per_chunk: int):
  conv = functools.partial(
      lax.conv_general_dilated, window_strides=window_strides,
      padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
      dimension_numbers=dimension_numbers,
      feature_group_count=feature_group_count, precision=precision)
  out = jax.eval_shape(conv, lhs, rhs)
  batch = lhs.shape[0]
  if (images_per_chunk <= 0 or batch <= images_per_chunk or
      out.size // out.shape[-1] < MIN_CHUNKED_POSITIONS or
      lax.conv_dimension_numbers(lhs.shape, rhs.shape,
                                 dimension_numbers).lhs_spec[0] != 0):
    return conv(lhs, rhs)
  return with_chunked_weight_grad(conv, -(-batch // images_per_chunk),
                                  lhs, rhs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def with_chunked_weight_grad(conv, num_chunks: int, lhs, rhs):
  """conv(lhs, rhs), whose gradient in rhs is the sum of the gradients of
  num_chunks chunks of the batch (lhs's axis 0); conv: (lhs, rhs) -> out."""
  return conv(lhs, rhs)


def _forward(conv, num_chunks, lhs, rhs):
  return conv(lhs, rhs), (lhs, rhs)


def _backward(conv, num_chunks, residuals, grad_out):
  lhs, rhs = residuals
  _, lhs_vjp = jax.vjp(lambda x: conv(x, rhs), lhs)
  (grad_lhs,) = lhs_vjp(grad_out)
  grad_rhs = jnp.zeros(rhs.shape, jnp.float32)
  for x, g in zip(jnp.array_split(lhs, num_chunks),
                  jnp.array_split(grad_out, num_chunks)):
    _, rhs_vjp = jax.vjp(lambda w, x=x: conv(x, w), rhs)
    grad_rhs += rhs_vjp(g)[0].astype(jnp.float32)
  return grad_lhs, grad_rhs.astype(rhs.dtype)


with_chunked_weight_grad.defvjp(_forward, _backward)
