"""Where in z a probe finds identity: the KL of each z dimension, and the
identity probe on the active dimensions and on the others apart.

A dimension the KL has nearly emptied (its means spread little against its
noise) still holds whatever its means vary with: samples hide it, the
standardized means that the probes read do not. When the z-mean probe is
high and the z-sample probe is not, `dims/probe_inactive` says whether the
weak dimensions carry it (docs/RESULTS.md, MNIST).
"""
import numpy as np

from dvae_jax.evaluation import probes

# A dimension carrying at least this many nats (mean KL to the prior) counts
# as active: 0.5 nats is a mean spread of 1 against unit noise, so in a weak
# dimension a sample is more noise than mean.
ACTIVE_NATS = 0.5


def kl_per_dimension(z_mean: np.ndarray, z_logvar: np.ndarray) -> np.ndarray:
  """Mean KL(q(z_d|x) || N(0, 1)) over the rows, in nats: (N, D) -> (D,)."""
  return 0.5 * np.mean(np.square(z_mean) + np.exp(z_logvar) - 1.0 - z_logvar,
                       axis=0)


def dimension_metrics(train_mean: np.ndarray, train_logvar: np.ndarray,
                      train_labels: np.ndarray, test_mean: np.ndarray,
                      test_labels: np.ndarray, seed: int = 0) -> dict:
  """The active dimensions of z (their KL on the fitting codes) and the
  linear identity probe's accuracy on the test codes' means from the active
  dimensions alone and from the rest alone (a key is left out when its set
  of dimensions is empty)."""
  kl = kl_per_dimension(train_mean, train_logvar)
  active = kl >= ACTIVE_NATS
  m = {'dims/active': int(active.sum()), 'dims/kl_total': float(kl.sum()),
       'dims/kl_inactive': float(kl[~active].sum())}
  for name, cols in (('active', active), ('inactive', ~active)):
    if cols.any():
      m[f'dims/probe_{name}'] = probes.logistic_probe(
          train_mean[:, cols], train_labels, test_mean[:, cols], test_labels,
          seed=seed)['test']
  return m
