"""The generator's optional loss terms beyond the paper, as a registry.

The train step computes the paper's objective (reconstruction, swap, KL, the
adversarial term) from one shared forward pass, then adds every term of TERMS
whose weight is > 0: `w.<weight_key> * term.loss(forward)`, reported under
`term.name`. A term that needs more network passes makes them in its own
function from `forward.networks` and `forward.gen_params` (the reverse cycle
did, at 92d12fe). Terms have no adversaries of their own today; the two
that had one were removed after they lost (the z classifier, at 2930140;
the two-step method's z adversary, with K updates of its own per step, at
7070a1c: docs/EXTENDING.md says how it was built). The pure loss math is in
model/losses.py.
"""
import dataclasses
from typing import Any, Callable

import jax

from dvae_jax.model import losses
from dvae_jax.model.networks import flatten_groups

# The seven decodes of a step, as (s source, z source) groups:
# reconstructions (1,1) (2,2) (3,3); same-class swaps (2,1) (1,2);
# adversarial fakes (2,3) (3,2), which should show the identity of their s.
S_GROUPS = (0, 1, 2, 1, 0, 1, 2)
Z_GROUPS = (0, 1, 2, 0, 1, 2, 1)
FAKES = slice(5, 7)


@dataclasses.dataclass(frozen=True)
class Forward:
  """What the step's forward pass produced, for the terms to read. Codes are
  per group: (B, 3, D) for the batch's (x1, x2, x3)."""
  images: jax.Array  # (B, 3, H, W, C)
  labels: jax.Array  # (B, 3) int32
  s: jax.Array  # (B, 3, s_dim)
  z: jax.Array  # (B, 3, z_dim): samples of q(z|x)
  z_mean: jax.Array  # (B, 3, z_dim)
  z_logvar: jax.Array  # (B, 3, z_dim)
  decoded: jax.Array  # (B, 7, H, W, C): Dec(s, z) by S_GROUPS, Z_GROUPS
  gen_params: Any  # what the generator's gradient is taken of
  networks: Any  # model.networks.Networks

  @property
  def fakes(self) -> jax.Array:
    """(B, 2, H, W, C): the cross-class swaps Dec(s2, z3), Dec(s3, z2)."""
    return self.decoded[:, FAKES]


@dataclasses.dataclass(frozen=True)
class Term:
  """A generator loss term: reported as metrics[name], weighted by
  config.loss.<weight_key>, active when that weight is > 0."""
  name: str
  weight_key: str
  loss: Callable[[Forward], jax.Array]  # scalar


def _s_classification(f: Forward) -> jax.Array:
  """A linear head on s (in gen_params) must name the identity."""
  logits = f.networks.s_classifier.apply(
      {'params': f.gen_params['s_classifier']}, flatten_groups(f.s))
  return losses.classification_loss(logits, f.labels.reshape(-1))


def _z_label_dependence(f: Forward) -> jax.Array:
  """The z means must not depend on the identity (kernel alignment)."""
  return losses.label_dependence(flatten_groups(f.z_mean),
                                 f.labels.reshape(-1))


# In the order they are added to the generator's total.
TERMS = (
    Term('s_classification', 's_classifier', _s_classification),
    Term('z_label_dependence', 'z_independence', _z_label_dependence),
)


def active(loss_config) -> tuple:
  """The terms of TERMS whose weight in loss_config (config.loss) is > 0."""
  return tuple(t for t in TERMS if loss_config[t.weight_key] > 0)
