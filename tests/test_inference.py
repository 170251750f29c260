"""inference.Model: a trained model's encode/decode as numpy functions."""
import gc
import weakref

import jax
import numpy as np

from configs import default
from conftest import count_traces
from dvae_jax.data.datasets import glyphs
from dvae_jax.evaluation import inference
from dvae_jax.runtime import parallel
from dvae_jax.training import state as state_lib

IMAGES = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), np.uint8)


def _networks_and_state(seed):
  config = default.get_config('tiny')
  config.seed = seed
  # The built-in data's class count: the init of the tiny runs, which the
  # tests' compilation cache holds.
  setup = state_lib.Setup.create(config, glyphs.NUM_IDENTITIES,
                                 parallel.make_mesh(jax.devices()[:1]))
  return setup.networks, setup.init()


def _use(model):
  s, z, _ = model.encode(IMAGES)
  return model.decode(s, z)


def test_models_of_equal_networks_share_the_compiled_programs():
  """The trainer makes a Model at every image step: none may recompile."""
  _use(inference.Model.of(*_networks_and_state(0), batch_size=4))
  networks, state = _networks_and_state(1)  # rebuilt networks, other params
  with count_traces() as traces:
    out = _use(inference.Model.of(networks, state, batch_size=4))
  assert traces == []
  assert out.shape == IMAGES.shape and out.dtype == np.uint8


def test_a_used_model_keeps_no_parameters_alive():
  networks, state = _networks_and_state(0)
  _use(inference.Model.of(networks, state, batch_size=4))
  kernel = weakref.ref(state.gen_params['encoder']['s_head']['kernel'])
  del state
  gc.collect()
  assert kernel() is None


def test_encode_and_decode_any_number_of_images():
  """Chunks of batch_size, the last one padded: the same codes as one call."""
  model = inference.Model.of(*_networks_and_state(0), batch_size=2)
  whole = inference.Model.of(*_networks_and_state(0), batch_size=8)
  for a, b in zip(model.encode(IMAGES), whole.encode(IMAGES)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(_use(model).shape, IMAGES.shape)
