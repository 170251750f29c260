"""state.Setup: the one construction path of a train state."""
import jax
import numpy as np

from configs import default
from dvae_jax.data.datasets import glyphs
from dvae_jax.runtime import parallel
from dvae_jax.training import state as state_lib


def test_abstract_state_is_the_init_state_without_values():
  """What a restore (and the AOT check) targets is what init makes: the same
  tree, shapes, dtypes and shardings."""
  config = default.get_config('tiny')
  config.loss.s_classifier = 1.0
  setup = state_lib.Setup.create(config, 5, parallel.make_mesh())
  abstract, state = setup.abstract_state(), setup.init()
  assert (jax.tree.structure(abstract) == jax.tree.structure(state))
  for a, x in zip(jax.tree.leaves(abstract), jax.tree.leaves(state)):
    assert (a.shape, a.dtype) == (x.shape, x.dtype)
    assert a.sharding.is_equivalent_to(x.sharding, x.ndim)
  head = state.gen_params['s_classifier']['kernel']
  assert head.shape[-1] == 5  # the class count sizes the s classifier


def test_init_is_a_function_of_the_seed():
  config = default.get_config('tiny')
  classes = glyphs.NUM_IDENTITIES  # the tiny runs' init: in the tests' cache
  a = state_lib.Setup.create(config, classes).init()
  b = state_lib.Setup.create(config, classes).init()
  config.seed = 1
  c = state_lib.Setup.create(config, classes).init()
  jax.tree.map(np.testing.assert_array_equal, a.gen_params, b.gen_params)
  assert not np.array_equal(a.gen_params['encoder']['s_head']['kernel'],
                            c.gen_params['encoder']['s_head']['kernel'])


def _learning_rates(tx, params, steps):
  """The learning rate of each leaf at each of `steps` updates by tx, read
  off Adam's first-moment-normalized step: with the same gradient (ones)
  every update, Adam's direction is exactly 1 per coordinate (m_hat = g,
  v_hat = g^2), so each update is -lr (to Adam's eps)."""
  grads = jax.tree.map(np.ones_like, params)
  opt_state, rates = tx.init(params), []
  for _ in range(steps):
    updates, opt_state = tx.update(grads, opt_state, params)
    rates.append(jax.tree.map(lambda u: float(-np.mean(u)), updates))
  return rates


def test_learning_rates_decay_linearly_over_the_last_steps_of_stage_2():
  config = default.get_config('tiny')
  config.learning_rate, config.disc_learning_rate = 0.1, 0.2
  config.num_train_steps, config.lr_decay_steps = 6, 3
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  params = {'w': np.zeros(3, np.float32)}
  np.testing.assert_allclose(
      [r['w'] for r in _learning_rates(gen_tx, params, 6)],
      [0.1, 0.1, 0.1, 0.1, 0.2 / 3, 0.1 / 3], rtol=1e-5)
  np.testing.assert_allclose(
      [r['w'] for r in _learning_rates(adv_tx, params, 6)],
      [0.2, 0.2, 0.2, 0.2, 0.4 / 3, 0.2 / 3], rtol=1e-5)
  # With the two-step method's stages (2 + 4 steps) the decay counts stage
  # 2's own updates; s's stage keeps its rate.
  config.model.separate_s_encoder, config.s_pretrain_steps = True, 2
  gen_tx, adv_tx = state_lib.build_optimizers(config)
  params = {'encoder': {'s_head': np.zeros(2, np.float32),
                        'z_head': np.zeros(2, np.float32)}}
  rates = _learning_rates(gen_tx, params, 6)
  np.testing.assert_allclose([r['encoder']['s_head'] for r in rates],
                             [0.1, 0.1, 0, 0, 0, 0], rtol=1e-5)
  np.testing.assert_allclose([r['encoder']['z_head'] for r in rates],
                             [0, 0, 0.1, 0.1, 0.2 / 3, 0.1 / 3],
                             rtol=1e-5, atol=1e-7)
  rates = _learning_rates(adv_tx, {'w': np.zeros(3, np.float32)}, 6)
  np.testing.assert_allclose([r['w'] for r in rates],
                             [0, 0, 0.2, 0.2, 0.4 / 3, 0.2 / 3],
                             rtol=1e-5, atol=1e-7)


def test_without_decay_the_learning_rates_are_constant():
  config = default.get_config('two_step,tiny')
  gen_tx, _ = state_lib.build_optimizers(config)
  params = {'encoder': {'s_head': np.zeros(2, np.float32),
                        'z_head': np.zeros(2, np.float32)}}
  rates = _learning_rates(gen_tx, params, 6)
  lr = config.learning_rate
  np.testing.assert_allclose([r['encoder']['z_head'] for r in rates],
                             [0, 0, lr, lr, lr, lr], rtol=1e-5)
