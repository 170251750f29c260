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
from dvae_jax.training import numerics, terms as terms_lib
# The seven decodes of a step (terms.py; FAKES also for benchmarks/).
from dvae_jax.training.terms import FAKES, S_GROUPS, Z_GROUPS  # noqa: F401


def _forward(gen_params, state, batch, networks, rng):
  """The paper's forward pass: encode the three groups, decode the seven
  (s, z) pairs of S_GROUPS, Z_GROUPS as one batch. -> (terms.Forward, the
  encoder's and decoder's updated batch stats)."""
  images = batch['images']
  b, g = images.shape[:2]

  def apply(name, *inputs):
    """networks.<name> on inputs -> (outputs, updated batch_stats)."""
    out, updated = getattr(networks, name).apply(
        {'params': gen_params[name], 'batch_stats': state.batch_stats[name]},
        *inputs, train=True, mutable=['batch_stats'])
    return out, updated['batch_stats']

  (s, z_mean, z_logvar), enc_stats = apply(
      'encoder', models.flatten_groups(images))
  z = models.reparameterize(rng, z_mean, z_logvar)
  grouped = lambda codes: codes.reshape(b, g, -1)
  s, z = grouped(s), grouped(z)
  # The two-step method's s learns from the labels alone (its classifier
  # term reads forward.s), never from what is decoded from it.
  s_decoded = (jax.lax.stop_gradient(s) if networks.encoder.separate_s
               else s)
  s_in = s_decoded[:, S_GROUPS].reshape(b * len(S_GROUPS), -1)
  z_in = z[:, Z_GROUPS].reshape(b * len(Z_GROUPS), -1)
  decoded, dec_stats = apply('decoder', s_in, z_in)
  forward = terms_lib.Forward(
      images=images, labels=batch['labels'], s=s, z=z,
      z_mean=grouped(z_mean), z_logvar=grouped(z_logvar),
      decoded=decoded.reshape((b, len(S_GROUPS)) + images.shape[2:]),
      gen_params=gen_params, networks=networks)
  return forward, {'encoder': enc_stats, 'decoder': dec_stats}


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

  def generator_loss(gen_params):
    f, batch_stats = _forward(gen_params, state, batch, networks, z_rng)
    flat = models.flatten_groups
    terms = {
        'reconstruction': losses.reconstruction_loss(
            [f.decoded[:, i] for i in range(3)],
            [f.images[:, i] for i in range(3)]),
        'swap': losses.swap_loss(f.decoded[:, 3], f.decoded[:, 4],
                                 f.images[:, 0], f.images[:, 1]),
        'kl': losses.gaussian_kl(flat(f.z_mean), flat(f.z_logvar)),
    }
    total = (w.reconstruction * terms['reconstruction'] +
             w.swap * terms['swap'] + kl_weight * terms['kl'])
    if networks.discriminator is not None:
      _, fake = _adversary_logits(networks, state.adv_params, batch, f.fakes,
                                  gen_d_rng, train=True)
      terms['adversarial'] = losses.generator_adversarial_loss(
          fake, w.real_target)
      total += w.adversarial * terms['adversarial']
    for term in terms_lib.active(w):  # beyond the paper: terms.py
      terms[term.name] = term.loss(f)
      total += w[term.weight_key] * terms[term.name]
    terms['generator_total'] = total
    extras = {'fakes': f.fakes, 'batch_stats': batch_stats}
    return total, (terms, extras)

  (_, (terms, extras)), gen_grads = jax.value_and_grad(
      generator_loss, has_aux=True)(state.gen_params)
  gen_params, gen_opt_state = _update(gen_tx, gen_grads, state.gen_opt_state,
                                      state.gen_params)

  fakes = jax.lax.stop_gradient(extras['fakes'])

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
