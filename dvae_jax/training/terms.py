"""The generator's optional loss terms beyond the paper, as a registry.

The train step computes the paper's objective (reconstruction, swap, KL, the
adversarial term) from one shared forward pass, then adds every term of TERMS
whose weight is > 0: `w.<weight_key> * term.loss(forward)`, reported under
`term.name`. A term that needs more network passes makes them in its own
function from `forward.networks` and `forward.gen_params` (the reverse cycle
did, at 92d12fe). A term with an adversary of its own (a
network in adv_params) trains it in the step's adversary update through
`term.train_adversary`. The pure loss math is in model/losses.py.
"""
import dataclasses
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import jax.numpy as jnp

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
  adv_params: Any  # the adversaries' parameters (constants here)
  networks: Any  # model.networks.Networks
  loss_config: Any  # config.loss

  @property
  def fakes(self) -> jax.Array:
    """(B, 2, H, W, C): the cross-class swaps Dec(s2, z3), Dec(s3, z2)."""
    return self.decoded[:, FAKES]


@dataclasses.dataclass(frozen=True)
class AdversaryInputs:
  """What the adversary update trains on: the batch and the generator's
  outputs of the step, all constants."""
  batch: Dict[str, jax.Array]  # images (B, 3, H, W, C), labels (B, 3)
  z: jax.Array  # (B*3, z_dim) samples
  z_mean: jax.Array  # (B*3, z_dim)
  fakes: jax.Array  # (B, 2, H, W, C): Dec(s2, z3), Dec(s3, z2)
  rng: jax.Array  # the update's dropout key; a term folds in its own number
  networks: Any
  loss_config: Any


@dataclasses.dataclass(frozen=True)
class Term:
  """A generator loss term: reported as metrics[name], weighted by
  config.loss.<weight_key>, active when that weight is > 0. train_adversary,
  for a term with its own adversary: (inputs, adv_params) -> (its loss,
  metrics), added to the adversary update's total."""
  name: str
  weight_key: str
  loss: Callable[[Forward], jax.Array]  # scalar
  train_adversary: Optional[Callable[[AdversaryInputs, Any],
                                     Tuple[jax.Array, Dict]]] = None


def z_classifier_input(loss_config, z: jax.Array,
                       z_mean: jax.Array) -> jax.Array:
  """What the identity classifier on z sees, from samples and means (N, D):
  samples (noise can hide identity that the means keep), the means, or the
  means standardized over the batch (shrinking a dimension then hides
  nothing from it, as from the probes)."""
  choice = loss_config.z_classifier_input
  if choice == 'sample':
    return z
  return losses.standardize(z_mean) if choice == 'standardized_mean' else z_mean


def _s_classification(f: Forward) -> jax.Array:
  """A linear head on s (in gen_params) must name the identity."""
  logits = f.networks.s_classifier.apply(
      {'params': f.gen_params['s_classifier']}, flatten_groups(f.s))
  return losses.classification_loss(logits, f.labels.reshape(-1))


def _z_label_dependence(f: Forward) -> jax.Array:
  """The z means must not depend on the identity (kernel alignment)."""
  return losses.label_dependence(flatten_groups(f.z_mean),
                                 f.labels.reshape(-1))


def _z_confusion(f: Forward) -> jax.Array:
  """The identity classifier on z (an adversary, trained by the step's
  adversary update) must be confused."""
  codes = z_classifier_input(f.loss_config, flatten_groups(f.z),
                             flatten_groups(f.z_mean))
  logits = f.networks.z_classifier.apply(
      {'params': f.adv_params['z_classifier']}, codes)
  return losses.classifier_confusion_loss(logits)


def _train_z_classifier(a: AdversaryInputs, adv_params):
  """The identity classifier on z learns to name the identity from z."""
  codes = z_classifier_input(a.loss_config, a.z, a.z_mean)
  logits = a.networks.z_classifier.apply(
      {'params': adv_params['z_classifier']}, codes)
  labels = a.batch['labels'].reshape(-1)
  loss = losses.classification_loss(logits, labels)
  return loss, {'z_classifier': loss, 'z_classifier_accuracy':
                jnp.mean(jnp.argmax(logits, -1) == labels)}


# In the order they are added to the generator's total.
TERMS = (
    Term('s_classification', 's_classifier', _s_classification),
    Term('z_label_dependence', 'z_independence', _z_label_dependence),
    Term('z_confusion', 'z_classifier', _z_confusion, _train_z_classifier),
)


def active(loss_config) -> tuple:
  """The terms of TERMS whose weight in loss_config (config.loss) is > 0."""
  return tuple(t for t in TERMS if loss_config[t.weight_key] > 0)
