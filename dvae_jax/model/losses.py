"""The loss terms of the method, one pure function each (arrays in, scalar out).

They know nothing of modules or optimizers; weights are applied by the train
step from the config. Every term is a mean over the batch, so its size does not
depend on the batch or on the number of devices.
"""
import jax
import jax.numpy as jnp
import optax


def mse(x_hat: jax.Array, x: jax.Array) -> jax.Array:
  """Mean squared error over all elements of (N, H, W, C) images."""
  return jnp.mean(jnp.square(x_hat - x))


def reconstruction_loss(recons, images) -> jax.Array:
  """sum_i MSE(Dec(s_i, z_i), x_i) over the three groups; each (N, H, W, C)."""
  return sum(mse(r, x) for r, x in zip(recons, images))


def swap_loss(dec_s2_z1, dec_s1_z2, x1, x2) -> jax.Array:
  """MSE(Dec(s2, z1), x1) + MSE(Dec(s1, z2), x2): same-class s must interchange."""
  return mse(dec_s2_z1, x1) + mse(dec_s1_z2, x2)


def gaussian_kl(mean: jax.Array, logvar: jax.Array) -> jax.Array:
  """KL(N(mean, exp(logvar)) || N(0, I)), summed over dims, mean over (N,).

  mean, logvar: (N, D); logvar is log sigma^2 everywhere (the authors' code
  mixes log sigma and log sigma^2, a fault not copied).
  """
  kl = 0.5 * jnp.sum(jnp.square(mean) + jnp.exp(logvar) - 1.0 - logvar, axis=-1)
  return jnp.mean(kl)


def bce_with_logits(logits: jax.Array, target: float) -> jax.Array:
  """Mean binary cross-entropy of logits (N,) against a constant target in [0, 1]."""
  labels = jnp.full_like(logits, target)
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels))


def generator_adversarial_loss(fake_logits: jax.Array,
                               real_target: float) -> jax.Array:
  """Non-saturating generator loss: the fakes should be called real."""
  return bce_with_logits(fake_logits, real_target)


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array,
                       real_target: float) -> jax.Array:
  """BCE with one-sided label smoothing: real -> real_target, fake -> 0.

  The mean of the two halves, so real and fake count equally.
  """
  return 0.5 * (bce_with_logits(real_logits, real_target) +
                bce_with_logits(fake_logits, 0.0))


def classification_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Softmax cross-entropy of logits (N, K) against integer labels (N,)."""
  return jnp.mean(
      optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def standardize(codes: jax.Array) -> jax.Array:
  """codes (N, D) with each dimension at mean 0 and variance 1 over the batch,
  so that shrinking a dimension hides nothing from what reads it (the probes
  standardize too)."""
  x = codes - jnp.mean(codes, axis=0)
  return x / jnp.sqrt(jnp.mean(jnp.square(x), axis=0) + 1e-12)


def label_dependence(codes: jax.Array, labels: jax.Array) -> jax.Array:
  """How much codes (N, D) depend on integer labels (N,): the normalized HSIC
  (kernel alignment, CKA) of a Gaussian kernel on the standardized codes with
  the same-label kernel, in [0, 1]; 0 when the codes are independent of the
  labels (Gretton et al. 2005; Kornblith et al. 2019).

  The kernel width is the median squared distance (no gradient through it).
  """
  n = codes.shape[0]
  x = standardize(codes)
  sq = jnp.sum(jnp.square(x[:, None] - x[None]), axis=-1)  # (N, N)
  width = jax.lax.stop_gradient(jnp.median(sq) + 1e-6)
  k = jnp.exp(-sq / width)
  l = (labels[:, None] == labels[None]).astype(k.dtype)
  h = jnp.eye(n) - 1.0 / n
  kc, lc = h @ k @ h, h @ l @ h
  return jnp.sum(kc * lc) / jnp.sqrt(jnp.sum(kc * kc) * jnp.sum(lc * lc) +
                                      1e-12)
