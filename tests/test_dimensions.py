"""Per-dimension KL and the probe on active vs weak z dimensions."""
import numpy as np
import pytest

from dvae_jax.evaluation import dimensions


def test_kl_per_dimension_by_hand():
  # Dim 0: means 1 and -1, variance 1: 0.5 * (1 + 1 - 1 - 0) = 0.5 nats.
  # Dim 1: mean 0, variance e^-2: 0.5 * (e^-2 - 1 + 2) nats.
  z_mean = np.array([[1.0, 0.0], [-1.0, 0.0]])
  z_logvar = np.array([[0.0, -2.0], [0.0, -2.0]])
  np.testing.assert_allclose(dimensions.kl_per_dimension(z_mean, z_logvar),
                             [0.5, 0.5 * (np.exp(-2) + 1)])


def _codes(n, rng):
  """One active dimension that ignores the label, three weak ones (means
  spread 0.3 against unit noise, under 0.1 nats) that each carry a little
  of it: only together do they name the class."""
  labels = rng.integers(0, 4, n)
  signs = np.array([[1, 1, -1], [1, -1, 1], [-1, 1, 1], [-1, -1, -1]])
  weak = 0.3 * (0.6 * signs[labels] + 0.4 * rng.standard_normal((n, 3)))
  z_mean = np.concatenate([2.0 * rng.standard_normal((n, 1)), weak], 1)
  z_logvar = np.concatenate([np.full((n, 1), -3.0), np.zeros((n, 3))], 1)
  return z_mean, z_logvar, labels


def test_weak_dimensions_that_name_the_class_are_found():
  rng = np.random.default_rng(0)
  train, test = _codes(2000, rng), _codes(500, rng)
  kl = dimensions.kl_per_dimension(train[0], train[1])
  assert kl[0] > 1 and np.all(kl[1:] < dimensions.ACTIVE_NATS)
  m = dimensions.dimension_metrics(*train, test[0], test[2])
  assert m['dims/active'] == 1
  assert m['dims/kl_total'] == pytest.approx(kl.sum())
  assert m['dims/kl_inactive'] == pytest.approx(kl[1:].sum())
  assert m['dims/probe_active'] < 0.35  # chance 0.25
  assert m['dims/probe_inactive'] > 0.9


def test_an_empty_set_of_dimensions_has_no_probe_key():
  rng = np.random.default_rng(1)
  z_mean, z_logvar, labels = _codes(200, rng)
  m = dimensions.dimension_metrics(z_mean[:, :1], z_logvar[:, :1], labels,
                                   z_mean[:, :1], labels)
  assert m['dims/active'] == 1 and 'dims/probe_inactive' not in m
