"""The jitted step: compiles once, is a pure function of (state, batch), learns."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from conftest import count_traces
from dvae_jax.data.datasets import glyphs
from dvae_jax.model import losses
from dvae_jax.runtime import parallel
from dvae_jax.training import state as state_lib, terms as terms_lib

# The model's classes: the built-in data's, so that the tiny variant's step
# and init are the programs the tiny runs of other tests compile (cached
# once); the batches draw labels from the first few.
MODEL_CLASSES = glyphs.NUM_IDENTITIES
BATCH_CLASSES = 5


@functools.lru_cache(maxsize=None)
def _setup(adversary='label', dtype='float32', with_terms=False):
  """(config, setup) of the tiny config on one device, with every term of
  terms.TERMS at weight 1 if with_terms; one per variant, so the tests of a
  variant share its compiled step (do not change config)."""
  config = default.get_config('tiny')
  config.adversary = adversary
  config.model.dtype = dtype
  for term in terms_lib.TERMS if with_terms else ():
    config.loss[term.weight_key] = 1.0
  return config, state_lib.Setup.create(
      config, MODEL_CLASSES, parallel.make_mesh(jax.devices()[:1]))


def _batch(config, seed=0):
  rng = np.random.default_rng(seed)
  b = config.batch_size
  labels = rng.integers(0, BATCH_CLASSES, (b, 3)).astype(np.int32)
  labels[:, 1] = labels[:, 0]
  images = rng.uniform(-1, 1, (b, 3, 32, 32, 3)).astype(np.float32)
  return {'images': images, 'labels': labels}


@pytest.mark.parametrize('adversary,with_terms', [
    ('label', False), ('pair', False), ('none', False), ('label', True)])
def test_step_compiles_once_and_reports_every_term(adversary, with_terms):
  config, setup = _setup(adversary, with_terms=with_terms)
  step = setup.train_step()
  state, _ = step(setup.init(),
                  parallel.global_batch(_batch(config), setup.mesh))
  with count_traces() as traces:
    for seed in (1, 2):
      state, metrics = step(state, parallel.global_batch(_batch(config, seed),
                                                          setup.mesh))
  assert traces == []  # compiled once
  assert int(state.step) == 3
  expected = {'reconstruction', 'swap', 'kl', 'generator_total',
              'generator_grad_norm', 'adversary_grad_norm'}
  if adversary != 'none':
    expected |= {'adversarial', 'discriminator', 'discriminator_accuracy'}
    assert 'discriminator' in state.adv_params
  else:
    assert 'discriminator' not in state.adv_params
  if with_terms:
    expected |= {term.name for term in terms_lib.TERMS}
  assert expected <= set(metrics)
  assert all(np.isfinite(float(v)) for v in metrics.values())


def test_step_is_a_pure_function_of_state_and_batch():
  config, setup = _setup()
  step, batch = setup.train_step(), _batch(config)
  results = []
  for _ in range(2):
    state, metrics = step(setup.init(),
                          parallel.global_batch(batch, setup.mesh))
    results.append((jax.device_get(state.gen_params), float(
        metrics['generator_total'])))
  assert results[0][1] == results[1][1]
  jax.tree.map(np.testing.assert_array_equal, results[0][0], results[1][0])


def test_noise_depends_on_the_step():
  """The rng is folded from state.step: the same state at another step draws
  other z noise, so the KL-free reconstruction differs."""
  config, setup = _setup('none')
  step = setup.train_step()
  batch = parallel.global_batch(_batch(config), setup.mesh)
  _, m0 = step(setup.init(), batch)
  state = setup.init().replace(step=jnp.array(7, jnp.int32))
  _, m7 = step(state, batch)
  assert float(m0['reconstruction']) != float(m7['reconstruction'])


def test_generator_learns_a_fixed_batch():
  config, setup = _setup()
  step = setup.train_step()
  batch = parallel.global_batch(_batch(config), setup.mesh)
  state, first = step(setup.init(), batch)
  first = float(first['reconstruction'] + first['swap'])
  for _ in range(30):
    state, metrics = step(state, batch)
  assert float(metrics['reconstruction'] + metrics['swap']) < 0.8 * first


def test_batch_stats_and_both_players_update():
  config, setup = _setup('label', with_terms=True)
  state0 = jax.device_get(setup.init())
  state1, _ = setup.train_step()(
      setup.init(), parallel.global_batch(_batch(config), setup.mesh))
  state1 = jax.device_get(state1)
  for field in ('gen_params', 'batch_stats', 'adv_params'):
    changed = jax.tree.leaves(jax.tree.map(
        lambda a, b: not np.array_equal(a, b), getattr(state0, field),
        getattr(state1, field)))
    assert all(changed), field


def test_bfloat16_compute_step_is_finite():
  """config.model.dtype=bfloat16: bf16 compute, float32 params and losses."""
  config, setup = _setup(dtype='bfloat16')
  step, state = setup.train_step(), setup.init()
  for seed in range(2):
    state, metrics = step(state, parallel.global_batch(_batch(config, seed),
                                                        setup.mesh))
  assert all(np.isfinite(float(v)) for v in metrics.values())
  assert all(leaf.dtype == jnp.float32
             for leaf in jax.tree.leaves(state.gen_params))
  assert metrics['generator_total'].dtype == jnp.float32


def _setup_without_adversary(**loss):
  """(config, Setup) of the tiny config on one device, no adversary, with
  the loss weights given."""
  config = default.get_config('tiny')
  config.adversary = 'none'
  config.loss.update(loss)
  return config, state_lib.Setup.create(config, MODEL_CLASSES,
                                        parallel.make_mesh(jax.devices()[:1]))


def test_s_classifier_and_z_independence_terms_by_hand():
  config, setup = _setup_without_adversary(s_classifier=0.7,
                                           z_independence=0.3)
  networks, mesh = setup.networks, setup.mesh
  state = setup.init()
  assert state.gen_params['s_classifier']['kernel'].shape == (
      config.model.s_dim, MODEL_CLASSES)
  batch = _batch(config)
  labels = batch['labels'].reshape(-1)
  (s, z_mean, _), _ = networks.encoder.apply(
      {'params': state.gen_params['encoder'],
       'batch_stats': state.batch_stats['encoder']},
      batch['images'].reshape((-1, 32, 32, 3)), train=True,
      mutable=['batch_stats'])
  head = state.gen_params['s_classifier']
  logits = np.asarray(s) @ np.asarray(head['kernel']) + np.asarray(head['bias'])
  log_p = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
  expected_ce = -np.mean(log_p[np.arange(len(labels)), labels])
  expected_dep = float(losses.label_dependence(z_mean, labels))
  # A fresh model's z means depend on the labels by chance (about 0.2), far
  # more than the tolerances below: a term left out or misweighted shows.
  assert expected_dep > 0.05
  _, metrics = setup.train_step()(state, parallel.global_batch(batch, mesh))
  np.testing.assert_allclose(metrics['s_classification'], expected_ce,
                             rtol=1e-5)
  np.testing.assert_allclose(metrics['z_label_dependence'], expected_dep,
                             rtol=1e-4)
  rest = (metrics['generator_total'] - metrics['reconstruction'] *
          config.loss.reconstruction - metrics['swap'] * config.loss.swap -
          metrics['kl'] * config.loss.kl / (32 * 32 * 3))
  np.testing.assert_allclose(rest, 0.7 * expected_ce + 0.3 * expected_dep,
                             rtol=1e-4, atol=1e-6)


def _leaves(tree) -> dict:
  """{key path: leaf} of a tree of dicts."""
  return {tuple(p.key for p in path): leaf
          for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def _by_stage(gen_params):
  """(the s parameters, the others) of gen_params as {key path: array}, by
  state.stage_labels (what the optimizer's stages use)."""
  stage = _leaves(state_lib.stage_labels(gen_params))
  params = _leaves(gen_params)
  return tuple({k: np.asarray(v) for k, v in params.items()
                if stage[k] == part} for part in ('s', 'rest'))


def test_two_step_method_trains_s_by_the_labels_alone_then_the_rest():
  # The step of test_train's :two_step,tiny run (one program for both).
  config = default.get_config('two_step,tiny')
  assert config.model.separate_s_encoder and config.s_pretrain_steps == 2
  setup = state_lib.Setup.create(config, MODEL_CLASSES,
                                 parallel.make_mesh(jax.devices()[:1]))
  networks, mesh = setup.networks, setup.mesh
  step = setup.train_step()
  state = setup.init()
  # Host copies: the step donates (deletes) the state it is given.
  states = [jax.device_get(state)]
  for seed in range(3):
    state, _ = step(state, parallel.global_batch(_batch(config, seed), mesh))
    states.append(jax.device_get(state))

  def split(state):
    """(s params, the other generator params, adversary params) as dicts."""
    return (*_by_stage(state.gen_params),
            {k: np.asarray(v) for k, v in _leaves(state.adv_params).items()})

  def changed(before, after):
    return {k for k in before if not np.array_equal(before[k], after[k])}

  (s0, rest0, adv0), (s1, rest1, adv1), (s2, rest2, adv2), (s3, rest3, adv3) = (
      split(st) for st in states)
  assert ('encoder', 's_trunk', 'ConvBlock_0', 'Conv_0', 'kernel') in s0
  # Stage 1 (two updates): s and its classifier move, nothing else does.
  for before, after in ((s0, s1), (s1, s2)):
    assert changed(before, after) == set(before)
  assert changed(rest0, rest2) == set() and changed(adv0, adv2) == set()
  # Stage 2: s stays, everything else moves.
  assert changed(s2, s3) == set()
  assert changed(rest2, rest3) == set(rest2) and changed(adv2, adv3) == set(adv2)

  # The first update is Adam's first step, -lr * g / (|g| + eps), with g the
  # gradient of the s classifier's cross-entropy alone: a gradient from the
  # reconstruction reaching s would change the sign of some of it.
  batch = _batch(config, 0)
  labels = batch['labels'].reshape(-1)
  flat = batch['images'].reshape((-1, 32, 32, 3))

  def weighted_ce(gen_params):
    (s, _, _), _ = networks.encoder.apply(
        {'params': gen_params['encoder'],
         'batch_stats': states[0].batch_stats['encoder']},
        flat, train=True, mutable=['batch_stats'])
    logits = networks.s_classifier.apply(
        {'params': gen_params['s_classifier']}, s)
    return config.loss.s_classifier * losses.classification_loss(logits,
                                                                 labels)

  grads, _ = _by_stage(jax.grad(weighted_ce)(states[0].gen_params))
  for key, g in grads.items():
    expected = s0[key] - config.learning_rate * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(s1[key], expected, atol=1e-6, err_msg=key)
