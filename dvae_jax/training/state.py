"""The train state pytree, and the model setup built from a config: networks,
optimizers, mesh, and the state's init, shape and step."""
import dataclasses
import functools
from typing import Any, Tuple

import flax
import jax
import jax.numpy as jnp
import optax

from dvae_jax.model import networks as models
from dvae_jax.runtime import checkpointing, parallel
from dvae_jax.training import step as step_lib


@flax.struct.dataclass
class TrainState:
  """Everything a step reads and writes; one pytree, checkpointed whole."""
  step: jax.Array  # () int32: the number of updates made
  gen_params: Any  # {'encoder': ..., 'decoder': ...}
  gen_opt_state: Any
  batch_stats: Any  # batch norm's running statistics {'encoder', 'decoder'}
  adv_params: Any  # {'discriminator'?: ...}
  adv_opt_state: Any


# The generator's parameters that make s in the two-step method: its own
# trunk and head in the encoder, and the classifier on s.
S_ENCODER_PARAMS = (('encoder', 's_trunk'), ('encoder', 's_head'),
                    ('s_classifier',))


def stage_labels(gen_params) -> Any:
  """gen_params' tree with 's' for the leaves under S_ENCODER_PARAMS, 'rest'
  for the others: which stage of the two-step method trains each."""
  def label(path, _):
    keys = tuple(p.key for p in path)
    return 's' if any(keys[:len(p)] == p for p in S_ENCODER_PARAMS) else 'rest'
  return jax.tree_util.tree_map_with_path(label, gen_params)


def build_optimizers(config) -> Tuple[optax.GradientTransformation,
                                      optax.GradientTransformation]:
  """Adam (beta1 from the config) for the generator and for the adversaries.

  With config.s_pretrain_steps = N > 0, the two-step method's two stages
  (Hadad et al. 2018): for the first N steps only the s encoder and its
  classifier move (stage 1: s learns the labels); from step N on they stay
  as they are and everything else trains (stage 2). Each part's Adam counts
  only its own steps (optax.conditionally_mask keeps a masked part's state).
  Two simplifications: a stage-1 step
  costs a whole step (the masked parts' gradients are computed, then
  dropped), and the fixed s encoder's batch norm still normalizes by the
  batch in training and updates its running statistics, as every other
  layer does; evaluation uses those statistics.
  """
  gen = optax.adam(config.learning_rate, b1=config.b1)
  adv = optax.adam(config.disc_learning_rate, b1=config.b1)
  stage_1 = config.s_pretrain_steps
  if not stage_1:
    return gen, adv
  in_stage_1 = lambda count: count < stage_1
  in_stage_2 = lambda count: count >= stage_1
  gen = optax.multi_transform(
      {'s': optax.conditionally_mask(gen, in_stage_1),
       'rest': optax.conditionally_mask(gen, in_stage_2)}, stage_labels)
  return gen, optax.conditionally_mask(adv, in_stage_2)


def init_state(networks: models.Networks, gen_tx, adv_tx, image_shape,
               rng) -> TrainState:
  """A fresh TrainState; image_shape (H, W, C). Run it under jax.jit."""
  x = jnp.zeros((2,) + tuple(image_shape), jnp.float32)
  labels = jnp.zeros((2,), jnp.int32)
  rngs = jax.random.split(rng, 4)
  enc, dec = models.init_coders(networks.encoder, networks.decoder, rngs[0],
                                rngs[1], x)
  adv_params = {}
  if networks.discriminator is not None:
    adv_params['discriminator'] = networks.discriminator.init(
        rngs[2], *networks.discriminator.init_inputs(x, labels),
        train=False)['params']
  gen_params = {'encoder': enc['params'], 'decoder': dec['params']}
  if networks.s_classifier is not None:
    gen_params['s_classifier'] = networks.s_classifier.init(
        rngs[3], jnp.zeros((2, networks.encoder.s_dim)))['params']
  batch_stats = {'encoder': enc['batch_stats'], 'decoder': dec['batch_stats']}
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      gen_params=gen_params,
      gen_opt_state=gen_tx.init(gen_params),
      batch_stats=batch_stats,
      adv_params=adv_params,
      adv_opt_state=adv_tx.init(adv_params))


@dataclasses.dataclass(frozen=True)
class Setup:
  """What a config builds besides its data: the networks, both optimizers and
  the mesh; from them a fresh state, its abstract shape, and the train step.
  The one construction path of a train state: training, the AOT check, the
  benchmarks and the tests use it (evaluation/inference.py restores only the
  encoder and decoder, and needs no optimizer)."""
  config: Any
  networks: models.Networks
  gen_tx: optax.GradientTransformation
  adv_tx: optax.GradientTransformation
  mesh: jax.sharding.Mesh

  @classmethod
  def create(cls, config, num_classes: int, mesh=None) -> 'Setup':
    """num_classes sizes the label-conditioned parts; mesh: all devices,
    which must divide config.batch_size (a UserError, before anything is
    built or compiled)."""
    mesh = parallel.make_mesh() if mesh is None else mesh
    parallel.check_batch_divisible(config.batch_size, mesh)
    return cls(config, models.build_networks(config, num_classes),
               *build_optimizers(config), mesh)

  @property
  def image_shape(self) -> Tuple[int, int, int]:
    """(H, W, C) of the model's images."""
    c = self.config
    return (c.image_size, c.image_size, c.channels)

  @functools.cached_property
  def _init(self):
    """jit(init_state), its state replicated over the mesh: rng -> state."""
    return jax.jit(
        functools.partial(init_state, self.networks, self.gen_tx,
                          self.adv_tx, self.image_shape),
        out_shardings=parallel.replicated(self.mesh))

  def init(self) -> TrainState:
    """A fresh state from config.seed, replicated over the mesh."""
    return self._init(jax.random.key(self.config.seed))

  def abstract_state(self):
    """The state's shapes, dtypes and shardings: a restore target, or what
    the AOT check compiles against."""
    shapes = jax.eval_shape(self._init, jax.random.key(self.config.seed))
    return checkpointing.abstract_like(shapes, parallel.replicated(self.mesh))

  def train_step(self):
    """jit(step.train_step) for the mesh: state, batch -> state, metrics.
    The same function at every call, so it compiles once per Setup."""
    return self._train_step

  @functools.cached_property
  def _train_step(self):
    return step_lib.make_train_step(self)
