"""Each loss term against a value computed by hand."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dvae_jax.model import losses


def test_mse_is_mean_over_all_pixels():
  x = jnp.zeros((2, 2, 2, 1))
  x_hat = x.at[0, 0, 0, 0].set(2.0)  # one error of 2 among 8 pixels
  assert float(losses.mse(x_hat, x)) == pytest.approx(4.0 / 8)


def test_reconstruction_sums_the_three_groups():
  x = [jnp.zeros((1, 2, 2, 1))] * 3
  r = [jnp.full((1, 2, 2, 1), v) for v in (1.0, 2.0, 3.0)]
  assert float(losses.reconstruction_loss(r, x)) == pytest.approx(1 + 4 + 9)


def test_swap_loss():
  x1, x2 = jnp.zeros((1, 1, 1, 1)), jnp.ones((1, 1, 1, 1))
  # Dec(s2, z1) = 0.5 against x1 = 0; Dec(s1, z2) = 0 against x2 = 1.
  value = losses.swap_loss(x1 + 0.5, x1, x1, x2)
  assert float(value) == pytest.approx(0.25 + 1.0)


def test_gaussian_kl_hand_computed():
  mean = jnp.array([[1.0, 0.0], [0.0, 0.0]])
  logvar = jnp.array([[0.0, math.log(2.0)], [0.0, 0.0]])
  # Example 0: 0.5 * [(1 + 1 - 1 - 0) + (0 + 2 - 1 - log 2)]; example 1: 0.
  expected = 0.5 * (1.0 + 1.0 - math.log(2.0)) / 2
  assert float(losses.gaussian_kl(mean, logvar)) == pytest.approx(expected)


def test_gaussian_kl_zero_at_prior():
  assert float(losses.gaussian_kl(jnp.zeros((3, 4)), jnp.zeros((3, 4)))) == 0


def test_bce_with_logits_and_label_smoothing():
  logits = jnp.array([0.0, 2.0])
  p = 1 / (1 + math.exp(-2.0))
  t = 0.95
  expected = 0.5 * (math.log(2.0) + -(t * math.log(p) + (1 - t) * math.log(1 - p)))
  assert float(losses.bce_with_logits(logits, t)) == pytest.approx(expected, rel=1e-5)
  assert float(losses.generator_adversarial_loss(logits, t)) == pytest.approx(
      expected, rel=1e-5)


def test_discriminator_loss_weighs_real_and_fake_equally():
  real, fake = jnp.array([3.0]), jnp.array([-1.0, -1.0])
  p_real = 1 / (1 + math.exp(-3.0))
  real_term = -(0.95 * math.log(p_real) + 0.05 * math.log(1 - p_real))
  fake_term = math.log(1 + math.exp(-1.0))  # -log(1 - sigmoid(-1))
  expected = 0.5 * (real_term + fake_term)
  assert float(losses.discriminator_loss(real, fake, 0.95)) == pytest.approx(
      expected, rel=1e-5)


def test_classification_loss():
  logits = jnp.log(jnp.array([[0.5, 0.25, 0.25]]))
  assert float(losses.classification_loss(logits, jnp.array([1]))) == (
      pytest.approx(math.log(4.0), rel=1e-5))


def test_label_dependence_is_one_when_codes_are_the_labels():
  # Codes -1, -1, 1, 1 (already standardized) and labels 0, 0, 1, 1: the
  # kernel is c*J + (1-c)*L with L the same-label matrix, and centering
  # removes J, so the alignment of K with L is exactly 1.
  codes = jnp.array([[-1.0], [-1.0], [1.0], [1.0]])
  value = losses.label_dependence(codes, jnp.array([0, 0, 1, 1]))
  assert float(value) == pytest.approx(1.0, abs=1e-5)


def test_label_dependence_is_zero_when_codes_ignore_the_labels():
  # Each class holds one -1 and one 1: the centered code kernel is
  # proportional to v v^T with v = (1, -1, 1, -1), the centered label kernel
  # to u u^T with u = (1, 1, -1, -1), and u . v = 0.
  codes = jnp.array([[-1.0], [1.0], [-1.0], [1.0]])
  value = losses.label_dependence(codes, jnp.array([0, 0, 1, 1]))
  assert float(value) == pytest.approx(0.0, abs=1e-6)


def test_label_dependence_ignores_the_scale_of_a_dimension():
  # Shrinking the dimension that carries the label must not hide it: the
  # probes standardize every dimension, and so does this term.
  rng = np.random.RandomState(0)
  labels = np.repeat(np.arange(4), 8)
  codes = rng.randn(32, 3)
  codes[:, 0] += 2.0 * labels
  shrunk = codes * np.array([1e-3, 1.0, 1.0])
  a = losses.label_dependence(jnp.array(codes), jnp.array(labels))
  b = losses.label_dependence(jnp.array(shrunk), jnp.array(labels))
  assert float(a) == pytest.approx(float(b), rel=1e-3)
  assert float(a) > 0.3


def test_standardize_puts_every_dimension_at_variance_one():
  # Spreads 1e-3 around 1e-2 and 10 around 5: both come out at -1, 1.
  x = jnp.array([[-1e-3, -10.0], [1e-3, 10.0]]) + jnp.array([1e-2, 5.0])
  np.testing.assert_allclose(np.asarray(losses.standardize(x)),
                             [[-1, -1], [1, 1]], rtol=1e-4)
