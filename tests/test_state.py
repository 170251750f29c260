"""state.py: how the networks are built from the config."""
import jax
import pytest

from configs import default
from dvae_jax.runtime import errors
from dvae_jax.training import state as state_lib


def test_weight_grad_chunk_is_automatic_on_one_cpu_device():
  expected = 8 if (jax.default_backend() == 'cpu' and
                   jax.device_count() == 1) else 0
  assert state_lib.weight_grad_chunk(None) == expected
  assert state_lib.weight_grad_chunk(0) == 0
  assert state_lib.weight_grad_chunk(16) == 16


def test_weight_grad_chunk_reaches_every_network():
  config = default.get_config('tiny')
  config.model.weight_grad_chunk = 4
  networks = state_lib.build_networks(config, num_classes=10)
  assert networks.encoder.weight_grad_chunk == 4
  assert networks.decoder.weight_grad_chunk == 4
  assert networks.discriminator.weight_grad_chunk == 4


def test_negative_weight_grad_chunk_is_a_user_error():
  config = default.get_config('tiny')
  config.model.weight_grad_chunk = -1
  with pytest.raises(errors.UserError, match='weight_grad_chunk'):
    state_lib.build_networks(config, num_classes=10)
