"""The jitted train step: one generator update, then one adversary update on
the fakes of the same forward pass. It knows nothing of files.

A batch is {'images': (B, 3, H, W, C) float32 in [-1, 1], 'labels': (B, 3)
int32}: group 0 and 1 (x1, x2) share a class, group 2 (x3) is any class.
Groups sit on axis 1 so that splitting B across devices keeps every reshape
local to a device.
"""
import functools
from typing import Any, Dict

import jax
import jax.numpy as jnp
import optax

from dvae_jax.model import losses, networks as models
from dvae_jax.runtime import parallel
from dvae_jax.training import numerics

# The seven decodes of a step, as (s source, z source) groups:
# reconstructions (1,1) (2,2) (3,3); same-class swaps (2,1) (1,2);
# adversarial fakes (2,3) (3,2), which should show the identity of their s.
S_GROUPS = (0, 1, 2, 1, 0, 1, 2)
Z_GROUPS = (0, 1, 2, 0, 1, 2, 1)
FAKES = slice(5, 7)


def _generator_terms(gen_params, state, batch, networks, rng, train: bool,
                     reverse_cycle: bool, forward_cycle: bool):
  """Forward pass of encoder and decoder; returns per-term losses and extras."""
  images = batch['images']
  b, g = images.shape[:2]

  def apply(name, *inputs):
    """networks.<name> on inputs -> (outputs, updated batch_stats)."""
    out, updated = getattr(networks, name).apply(
        {'params': gen_params[name], 'batch_stats': state.batch_stats[name]},
        *inputs, train=train, mutable=['batch_stats'])
    return out, updated['batch_stats']

  flat = images.reshape((b * g,) + images.shape[2:])
  (s, z_mean, z_logvar), enc_stats = apply('encoder', flat)
  z = models.reparameterize(rng, z_mean, z_logvar)
  s, z = s.reshape(b, g, -1), z.reshape(b, g, -1)
  s_in = s[:, S_GROUPS].reshape(b * len(S_GROUPS), -1)
  z_in = z[:, Z_GROUPS].reshape(b * len(Z_GROUPS), -1)
  decoded, dec_stats = apply('decoder', s_in, z_in)
  decoded = decoded.reshape((b, len(S_GROUPS)) + images.shape[2:])
  if reverse_cycle:
    # Beyond the paper: the cycle-consistent VAE's reverse cycle. z from the
    # prior, decoded with x3's s, must come back out of the encoder whatever
    # the s: a z that the encoder reads differently per identity fails it.
    z_prior = jax.random.normal(jax.random.fold_in(rng, 1), (b, z.shape[-1]),
                                z.dtype)
    cycled, _ = apply('decoder', s[:, 2], z_prior)
    (_, z_back, _), _ = apply('encoder', cycled)
  if forward_cycle:
    # Beyond the paper: the cross-class swaps Dec(s2, z3), Dec(s3, z2) must
    # encode back to the s and z they were drawn from, so a swap shows its s
    # source's identity and keeps its z source's pose.
    swapped = decoded[:, FAKES].reshape((-1,) + images.shape[2:])
    (s_back, z_back_fw, _), _ = apply('encoder', swapped)
    s_drawn = s[:, list(S_GROUPS[FAKES])].reshape(s_back.shape)
    z_drawn = z[:, list(Z_GROUPS[FAKES])].reshape(z_back_fw.shape)
  terms = {
      'reconstruction': losses.reconstruction_loss(
          [decoded[:, i] for i in range(3)], [images[:, i] for i in range(3)]),
      'swap': losses.swap_loss(decoded[:, 3], decoded[:, 4], images[:, 0],
                               images[:, 1]),
      'kl': losses.gaussian_kl(z_mean, z_logvar),
  }
  if reverse_cycle:
    terms['reverse_cycle'] = losses.reverse_cycle_loss(z_back, z_prior)
  if forward_cycle:
    terms['forward_cycle'] = (losses.forward_cycle_loss(s_back, s_drawn) +
                              losses.forward_cycle_loss(z_back_fw, z_drawn))
  extras = {
      'fakes': decoded[:, FAKES],  # (B, 2, H, W, C): Dec(s2, z3), Dec(s3, z2)
      'z': z,  # (B, 3, z_dim)
      's': s,  # (B, 3, s_dim)
      'z_mean': z_mean.reshape(b, g, -1),
      'batch_stats': {'encoder': enc_stats, 'decoder': dec_stats},
  }
  return terms, extras


def _adversary_logits(networks, adv_params, batch, fakes, rng, train: bool):
  """D's logits on the (real, fake) inputs it builds from batch and fakes."""
  d = networks.discriminator
  variables = {'params': adv_params['discriminator']}
  rng_real, rng_fake = jax.random.split(rng)
  real_inputs, fake_inputs = d.real_and_fake(batch, fakes)
  real = d.apply(variables, *real_inputs, train=train,
                 rngs={'dropout': rng_real})
  fake = d.apply(variables, *fake_inputs, train=train,
                 rngs={'dropout': rng_fake})
  return real, fake


def _update(tx, grads, opt_state, params):
  """One optimizer step: (new params, new optimizer state)."""
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state


def step_rngs(seed: int, step: jax.Array):
  """The keys of one step, (z noise, D dropout in the generator update, D
  dropout in the adversary update), folded from the step number so that a
  resumed run draws the same numbers."""
  rng = jax.random.fold_in(jax.random.key(seed), step)
  return tuple(jax.random.split(rng, 3))


def train_step(state, batch, *, setup) -> tuple[Any, Dict[str, jax.Array]]:
  """One update of both players. Pure: state (a state.TrainState), batch ->
  new state, metrics. setup: the state.Setup the state was made by."""
  networks, gen_tx, adv_tx = setup.networks, setup.gen_tx, setup.adv_tx
  config = setup.config
  z_rng, gen_d_rng, adv_d_rng = step_rngs(config.seed, state.step)
  w = config.loss
  kl_weight = w.kl / (config.image_size**2 * config.channels)
  # What the identity classifier on z sees: samples (noise can hide identity
  # that the means keep), the means, or the means standardized over the batch
  # (shrinking a dimension then hides nothing from it, as from the probes).
  z_key = {'sample': 'z', 'mean': 'z_mean',
           'standardized_mean': 'z_mean'}[w.z_classifier_input]
  z_view = (losses.standardize if w.z_classifier_input == 'standardized_mean'
            else lambda codes: codes)

  def generator_loss(gen_params):
    terms, extras = _generator_terms(gen_params, state, batch, networks,
                                     z_rng, train=True,
                                     reverse_cycle=w.reverse_cycle > 0,
                                     forward_cycle=w.forward_cycle > 0)
    total = (w.reconstruction * terms['reconstruction'] +
             w.swap * terms['swap'] + kl_weight * terms['kl'])
    if 'reverse_cycle' in terms:
      total += w.reverse_cycle * terms['reverse_cycle']
    if 'forward_cycle' in terms:
      total += w.forward_cycle * terms['forward_cycle']
    if networks.discriminator is not None:
      _, fake = _adversary_logits(networks, state.adv_params, batch,
                                  extras['fakes'], gen_d_rng, train=True)
      terms['adversarial'] = losses.generator_adversarial_loss(
          fake, w.real_target)
      total += w.adversarial * terms['adversarial']
    if networks.s_classifier is not None:
      s_logits = networks.s_classifier.apply(
          {'params': gen_params['s_classifier']},
          models.flatten_groups(extras['s']))
      terms['s_classification'] = losses.classification_loss(
          s_logits, batch['labels'].reshape(-1))
      total += w.s_classifier * terms['s_classification']
    if w.z_independence > 0:
      terms['z_label_dependence'] = losses.label_dependence(
          models.flatten_groups(extras['z_mean']), batch['labels'].reshape(-1),
          floor=w.z_independence_floor)
      total += w.z_independence * terms['z_label_dependence']
    if networks.z_classifier is not None:
      logits = networks.z_classifier.apply(
          {'params': state.adv_params['z_classifier']},
          z_view(models.flatten_groups(extras[z_key])))
      terms['z_confusion'] = losses.classifier_confusion_loss(logits)
      total += w.z_classifier * terms['z_confusion']
    terms['generator_total'] = total
    return total, (terms, extras)

  (_, (terms, extras)), gen_grads = jax.value_and_grad(
      generator_loss, has_aux=True)(state.gen_params)
  gen_params, gen_opt_state = _update(gen_tx, gen_grads, state.gen_opt_state,
                                      state.gen_params)

  fakes = jax.lax.stop_gradient(extras['fakes'])
  z = jax.lax.stop_gradient(z_view(models.flatten_groups(extras[z_key])))

  def adversary_loss(adv_params):
    adv_terms = {}
    total = 0.0
    if networks.discriminator is not None:
      real, fake = _adversary_logits(networks, adv_params, batch, fakes,
                                     adv_d_rng, train=True)
      adv_terms['discriminator'] = losses.discriminator_loss(
          real, fake, w.real_target)
      adv_terms['discriminator_accuracy'] = 0.5 * (
          jnp.mean(real > 0) + jnp.mean(fake < 0))
      total += adv_terms['discriminator']
    if networks.z_classifier is not None:
      logits = networks.z_classifier.apply(
          {'params': adv_params['z_classifier']}, z)
      z_labels = batch['labels'].reshape(-1)
      adv_terms['z_classifier'] = losses.classification_loss(logits, z_labels)
      adv_terms['z_classifier_accuracy'] = jnp.mean(
          jnp.argmax(logits, -1) == z_labels)
      total += adv_terms['z_classifier']
    return total, adv_terms

  (_, adv_terms), adv_grads = jax.value_and_grad(
      adversary_loss, has_aux=True)(state.adv_params)
  adv_params, adv_opt_state = _update(adv_tx, adv_grads, state.adv_opt_state,
                                      state.adv_params)

  new_state = state.replace(
      step=state.step + 1, gen_params=gen_params, gen_opt_state=gen_opt_state,
      batch_stats=extras['batch_stats'], adv_params=adv_params,
      adv_opt_state=adv_opt_state)
  metrics = {**terms, **adv_terms,
             'generator_grad_norm': optax.global_norm(gen_grads),
             'adversary_grad_norm': optax.global_norm(adv_grads),
             'generator_param_norm': optax.global_norm(gen_params)}
  metrics[numerics.FLAG] = numerics.nonfinite_flag(metrics)
  if config.skip_nonfinite_updates:
    # The step count still advances: the next step draws the next batch.
    new_state = numerics.keep_old_if(metrics[numerics.FLAG], new_state,
                                     state.replace(step=new_state.step))
  return new_state, metrics


def make_train_step(setup):
  """jit(train_step) for setup's mesh: batch split over devices, state
  replicated and donated (updated in place)."""
  replicated = parallel.replicated(setup.mesh)
  return jax.jit(functools.partial(train_step, setup=setup),
                 in_shardings=(replicated, parallel.data_sharded(setup.mesh)),
                 out_shardings=(replicated, replicated), donate_argnums=0)
