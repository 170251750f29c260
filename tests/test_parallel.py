"""Data parallelism: processes read disjoint shards that cover the data;
joining a distributed run. N devices compute what one does: checked by
tests/test_multiprocess.py's worker, which has 4 devices and the step."""
import jax
import pytest

from dvae_jax.runtime import distributed, parallel
from dvae_jax.data import pipeline as input_pipeline


@pytest.mark.parametrize('process_count', [2, 3])
def test_process_shards_are_disjoint_and_cover_the_split(
    tiny_config, monkeypatch, process_count):
  builder = input_pipeline.get_builder(tiny_config)
  rows = lambda d: {(l, im.tobytes()) for l, im in zip(d.labels, d.images)}
  whole = input_pipeline.load_split(tiny_config, builder, 'heldout',
                                    shard=False)
  assert len(rows(whole)) == len(whole.labels)  # every example is distinct
  monkeypatch.setattr(jax, 'process_count', lambda: process_count)
  shards = []
  for i in range(process_count):
    monkeypatch.setattr(jax, 'process_index', lambda i=i: i)
    shards.append(rows(input_pipeline.load_split(tiny_config, builder,
                                                 'heldout')))
  assert sum(map(len, shards)) == len(whole.labels)
  assert set().union(*shards) == rows(whole)
  assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_fingerprint_sees_any_change():
  tree = {'a': jax.numpy.ones((3,)), 'b': jax.numpy.zeros((2, 2))}
  assert parallel.fingerprint(tree) == parallel.fingerprint(
      jax.tree.map(lambda x: x + 0, tree))
  assert parallel.fingerprint(tree) != parallel.fingerprint(
      {**tree, 'b': tree['b'].at[1, 1].set(1e-7)})


def test_distributed_only_when_asked(monkeypatch):
  calls = []
  monkeypatch.setattr(jax.distributed, 'initialize',
                      lambda **kw: calls.append(kw))
  for var in distributed.ENV_VARS:
    monkeypatch.delenv(var, raising=False)
  assert not distributed.maybe_initialize(False)
  assert distributed.maybe_initialize(True)
  assert calls[-1] == {'initialization_timeout': 300,
                       'coordinator_address': None, 'num_processes': None,
                       'process_id': None}  # JAX detects the cluster
  monkeypatch.setenv('JAX_COORDINATOR_ADDRESS', '10.0.0.1:1234')
  monkeypatch.setenv('JAX_NUM_PROCESSES', '4')
  monkeypatch.setenv('JAX_PROCESS_ID', '2')
  assert distributed.maybe_initialize(False, process_id=3)  # env asks for it
  assert calls[-1] == {'initialization_timeout': 300,
                       'coordinator_address': '10.0.0.1:1234',
                       'num_processes': 4, 'process_id': 3}
