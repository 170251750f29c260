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
  # The built-in data's class count, as the tiny runs that resume with an s
  # classifier (test_train): one init program for both.
  setup = state_lib.Setup.create(config, glyphs.NUM_IDENTITIES,
                                 parallel.make_mesh())
  abstract, state = setup.abstract_state(), setup.init()
  assert (jax.tree.structure(abstract) == jax.tree.structure(state))
  for a, x in zip(jax.tree.leaves(abstract), jax.tree.leaves(state)):
    assert (a.shape, a.dtype) == (x.shape, x.dtype)
    assert a.sharding.is_equivalent_to(x.sharding, x.ndim)
  head = state.gen_params['s_classifier']['kernel']
  # The class count sizes the s classifier.
  assert head.shape[-1] == glyphs.NUM_IDENTITIES


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
