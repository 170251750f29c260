"""The jitted step: compiles once, is a pure function of (state, batch), learns."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from dvae_jax.runtime import parallel
from dvae_jax.training import state as state_lib, step as train_step_lib

NUM_CLASSES = 5


def _setup(adversary='label', z_classifier=0.0, dtype='float32',
           z_classifier_input='sample'):
  config = default.get_config('tiny')
  config.adversary = adversary
  config.loss.z_classifier = z_classifier
  config.loss.z_classifier_input = z_classifier_input
  config.model.dtype = dtype
  networks = state_lib.build_networks(config, NUM_CLASSES)
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  mesh = parallel.make_mesh(jax.devices()[:1])
  init = state_lib.make_init_fn(networks, gen_tx, adv_tx, (32, 32, 3),
                                config.model.z_dim, mesh)
  step = train_step_lib.make_train_step(networks, gen_tx, adv_tx, config, mesh)
  return config, init, step, mesh


def _batch(config, seed=0):
  rng = np.random.default_rng(seed)
  b = config.batch_size
  labels = rng.integers(0, NUM_CLASSES, (b, 3)).astype(np.int32)
  labels[:, 1] = labels[:, 0]
  images = rng.uniform(-1, 1, (b, 3, 32, 32, 3)).astype(np.float32)
  return {'images': images, 'labels': labels}


@pytest.mark.parametrize('adversary,z_classifier', [
    ('label', 0.0), ('pair', 0.0), ('none', 0.0), ('label', 1.0)])
def test_step_compiles_once_and_reports_every_term(adversary, z_classifier):
  config, init, step, mesh = _setup(adversary, z_classifier)
  state = init(jax.random.key(0))
  for seed in range(3):
    state, metrics = step(state, parallel.global_batch(_batch(config, seed),
                                                        mesh))
  assert step._cache_size() == 1
  assert int(state.step) == 3
  expected = {'reconstruction', 'swap', 'kl', 'generator_total',
              'generator_grad_norm', 'adversary_grad_norm'}
  if adversary != 'none':
    expected |= {'adversarial', 'discriminator', 'discriminator_accuracy'}
    assert 'discriminator' in state.adv_params
  else:
    assert 'discriminator' not in state.adv_params
  if z_classifier:
    expected |= {'z_confusion', 'z_classifier', 'z_classifier_accuracy'}
  assert expected <= set(metrics)
  assert all(np.isfinite(float(v)) for v in metrics.values())


@pytest.mark.parametrize('z_input', ['sample', 'mean'])
def test_z_classifier_sees_samples_or_means(z_input):
  config, init, step, mesh = _setup('none', 1.0, z_classifier_input=z_input)
  networks = state_lib.build_networks(config, NUM_CLASSES)
  state = init(jax.random.key(0))
  batch = _batch(config)
  flat = batch['images'].reshape((-1, 32, 32, 3))
  (_, z_mean, z_logvar), _ = networks.encoder.apply(
      {'params': state.gen_params['encoder'],
       'batch_stats': state.batch_stats['encoder']},
      flat, train=True, mutable=['batch_stats'])
  if z_input == 'sample':
    z_rng = train_step_lib.step_rngs(config.seed, state.step)[0]
    z_mean = state_lib.models.reparameterize(z_rng, z_mean, z_logvar)
  logits = networks.z_classifier.apply(
      {'params': state.adv_params['z_classifier']}, z_mean)
  expected = float(train_step_lib.losses.classification_loss(
      logits, batch['labels'].reshape(-1)))
  _, metrics = step(state, parallel.global_batch(batch, mesh))
  np.testing.assert_allclose(metrics['z_classifier'], expected, rtol=1e-5)


def test_reverse_cycle_term_by_hand():
  config, init, _, mesh = _setup('none')
  config.loss.reverse_cycle = 1.0
  networks = state_lib.build_networks(config, NUM_CLASSES)
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  step = train_step_lib.make_train_step(networks, gen_tx, adv_tx, config, mesh)
  state = init(jax.random.key(0))
  batch = _batch(config)
  b = config.batch_size

  def apply(name, *args):
    out, _ = getattr(networks, name).apply(
        {'params': state.gen_params[name],
         'batch_stats': state.batch_stats[name]},
        *args, train=True, mutable=['batch_stats'])
    return out

  s, _, _ = apply('encoder', batch['images'].reshape((-1, 32, 32, 3)))
  z_rng = train_step_lib.step_rngs(config.seed, state.step)[0]
  z_prior = jax.random.normal(jax.random.fold_in(z_rng, 1),
                              (b, config.model.z_dim))
  cycled = apply('decoder', s.reshape(b, 3, -1)[:, 2], z_prior)
  _, z_back, _ = apply('encoder', cycled)
  expected = float(jnp.mean(jnp.abs(z_back - z_prior)))
  _, metrics = step(state, parallel.global_batch(batch, mesh))
  np.testing.assert_allclose(metrics['reverse_cycle'], expected, rtol=1e-5)
  # The generator total includes it with its weight.
  without = (metrics['generator_total'] - metrics['reconstruction'] *
             config.loss.reconstruction - metrics['swap'] * config.loss.swap -
             metrics['kl'] * config.loss.kl / (32 * 32 * 3))
  np.testing.assert_allclose(without, expected, rtol=1e-4, atol=1e-6)


def test_bad_z_classifier_input_is_a_user_error():
  config = default.get_config('tiny')
  config.loss.z_classifier_input = 'median'
  with pytest.raises(state_lib.errors.UserError, match='z_classifier_input'):
    state_lib.build_networks(config, NUM_CLASSES)


def test_step_is_a_pure_function_of_state_and_batch():
  config, init, step, mesh = _setup()
  batch = _batch(config)
  results = []
  for _ in range(2):
    state, metrics = step(init(jax.random.key(0)),
                          parallel.global_batch(batch, mesh))
    results.append((jax.device_get(state.gen_params), float(
        metrics['generator_total'])))
  assert results[0][1] == results[1][1]
  jax.tree.map(np.testing.assert_array_equal, results[0][0], results[1][0])


def test_noise_depends_on_the_step():
  """The rng is folded from state.step: the same state at another step draws
  other z noise, so the KL-free reconstruction differs."""
  config, init, step, mesh = _setup('none')
  batch = parallel.global_batch(_batch(config), mesh)
  state = init(jax.random.key(0))
  _, m0 = step(state, batch)
  state = init(jax.random.key(0)).replace(step=jnp.array(7, jnp.int32))
  _, m7 = step(state, batch)
  assert float(m0['reconstruction']) != float(m7['reconstruction'])


def test_generator_learns_a_fixed_batch():
  config, init, step, mesh = _setup()
  batch = parallel.global_batch(_batch(config), mesh)
  state = init(jax.random.key(0))
  state, first = step(state, batch)
  first = float(first['reconstruction'] + first['swap'])
  for _ in range(30):
    state, metrics = step(state, batch)
  assert float(metrics['reconstruction'] + metrics['swap']) < 0.8 * first


def test_batch_stats_and_both_players_update():
  config, init, step, mesh = _setup('label', 1.0)
  state0 = jax.device_get(init(jax.random.key(0)))
  state1, _ = step(init(jax.random.key(0)),
                   parallel.global_batch(_batch(config), mesh))
  state1 = jax.device_get(state1)
  for field in ('gen_params', 'batch_stats', 'adv_params'):
    changed = jax.tree.leaves(jax.tree.map(
        lambda a, b: not np.array_equal(a, b), getattr(state0, field),
        getattr(state1, field)))
    assert all(changed), field


def _noise_driven(path) -> bool:
  """Leaves moved by rounding noise alone: an UpConv bias feeds a batch norm,
  so its true gradient is 0 and Adam turns float noise into +-lr steps (and
  the decoder's running means follow it). Two correct programs differ there."""
  keys = jax.tree_util.keystr(path)
  return ('UpConv' in keys and 'bias' in keys) or (
      "['decoder']" in keys and "['mean']" in keys)


def test_multi_step_equals_single_steps():
  """k steps scanned in one call give the states and metrics of k calls."""
  k = 3
  config, init, step, mesh = _setup()
  networks = state_lib.build_networks(config, NUM_CLASSES)
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  multi = train_step_lib.make_multi_step(networks, gen_tx, adv_tx, config,
                                         mesh, k)
  batches = [_batch(config, seed) for seed in range(k)]
  state = init(jax.random.key(0))
  single_metrics = []
  for batch in batches:
    state, metrics = step(state, parallel.global_batch(batch, mesh))
    single_metrics.append(metrics)
  single_state, single_metrics = jax.device_get((state, single_metrics))
  stacked = jax.tree.map(lambda *xs: np.stack(xs), *batches)
  scan_state, scan_metrics = jax.device_get(
      multi(init(jax.random.key(0)), stacked))

  assert int(scan_state.step) == k
  for i in range(k):
    for name, value in single_metrics[i].items():
      np.testing.assert_allclose(scan_metrics[name][i], value, rtol=1e-5,
                                 err_msg=f'step {i} {name}')

  def close(path, a, b):
    if _noise_driven(path):
      np.testing.assert_allclose(a, b, atol=k * config.learning_rate)
    else:
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5,
                                 err_msg=jax.tree_util.keystr(path))
  jax.tree_util.tree_map_with_path(close, scan_state, single_state)


def test_bfloat16_compute_step_is_finite():
  """config.model.dtype=bfloat16: bf16 compute, float32 params and losses."""
  config, init, step, mesh = _setup(dtype='bfloat16')
  state = init(jax.random.key(0))
  for seed in range(2):
    state, metrics = step(state, parallel.global_batch(_batch(config, seed),
                                                        mesh))
  assert all(np.isfinite(float(v)) for v in metrics.values())
  assert all(leaf.dtype == jnp.float32
             for leaf in jax.tree.leaves(state.gen_params))
  assert metrics['generator_total'].dtype == jnp.float32


def test_s_classifier_and_z_independence_terms_by_hand():
  config, _, _, mesh = _setup('none')
  config.loss.s_classifier = 0.7
  config.loss.z_independence = 0.3
  networks = state_lib.build_networks(config, NUM_CLASSES)
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  init = state_lib.make_init_fn(networks, gen_tx, adv_tx, (32, 32, 3),
                                config.model.z_dim, mesh)
  step = train_step_lib.make_train_step(networks, gen_tx, adv_tx, config, mesh)
  state = init(jax.random.key(0))
  assert state.gen_params['s_classifier']['kernel'].shape == (
      config.model.s_dim, NUM_CLASSES)
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
  expected_dep = float(train_step_lib.losses.label_dependence(z_mean, labels))
  _, metrics = step(state, parallel.global_batch(batch, mesh))
  np.testing.assert_allclose(metrics['s_classification'], expected_ce,
                             rtol=1e-5)
  np.testing.assert_allclose(metrics['z_label_dependence'], expected_dep,
                             rtol=1e-4)
  rest = (metrics['generator_total'] - metrics['reconstruction'] *
          config.loss.reconstruction - metrics['swap'] * config.loss.swap -
          metrics['kl'] * config.loss.kl / (32 * 32 * 3))
  np.testing.assert_allclose(rest, 0.7 * expected_ce + 0.3 * expected_dep,
                             rtol=1e-4, atol=1e-6)


def test_fixed_z_noise_has_no_variance_head():
  config = default.get_config('tiny')
  config.model.z_noise_std = 0.5
  networks = state_lib.build_networks(config, NUM_CLASSES)
  x = jnp.zeros((2, 32, 32, 3))
  variables = networks.encoder.init(jax.random.key(0), x, train=False)
  assert 'z_logvar_head' not in variables['params']
  _, _, logvar = networks.encoder.apply(variables, x, train=False)
  np.testing.assert_allclose(logvar, np.log(0.25), rtol=1e-6)
