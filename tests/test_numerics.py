"""NaN/Inf in a loss or gradient: stop naming the step and the term with the
newest checkpoint finite, or (skip_nonfinite_updates) keep the old state."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

from conftest import on_batch, restore_params
from dvae_jax.runtime import checkpointing, errors
from dvae_jax.training import numerics, loop as train


def _metrics(**values):
  out = {'reconstruction': 0.5, 'generator_grad_norm': 1.0, **values}
  out = {k: jnp.float32(v) for k, v in out.items()}
  out[numerics.FLAG] = numerics.nonfinite_flag(out)
  return out


def test_guard_names_the_first_bad_step_and_terms():
  guard = numerics.Guard(skip=False)
  guard.add(1, _metrics())
  guard.add(2, _metrics(generator_grad_norm=np.inf))  # finite loss, bad grad
  guard.add(3, _metrics(reconstruction=np.nan, generator_grad_norm=np.nan))
  with pytest.raises(errors.NonFiniteError,
                     match=r'step 2 gave non-finite values '
                     r'\(generator_grad_norm=inf\); training stopped'):
    guard.check()
  assert guard.check() == 0  # checked steps are not checked again


def test_guard_counts_skipped_steps():
  guard = numerics.Guard(skip=True)
  guard.add(1, _metrics(reconstruction=np.nan))
  guard.add(2, _metrics())
  assert guard.check() == 1


def test_keep_old_if():
  new, old = {'w': jnp.array([1.0, np.nan])}, {'w': jnp.array([3.0, 4.0])}
  np.testing.assert_array_equal(
      numerics.keep_old_if(jnp.float32(1), new, old)['w'], [3.0, 4.0])
  np.testing.assert_array_equal(
      numerics.keep_old_if(jnp.float32(0), new, old)['w'], [1.0, np.nan])


def _nan_images(batch):
  batch = dict(batch)
  batch['images'] = np.full_like(batch['images'], np.nan)
  return batch


def _state(workdir, step):
  """(gen_params, adv_params, batch_stats) of checkpoint `step`, as numpy."""
  return restore_params(workdir, step,
                        ('gen_params', 'adv_params', 'batch_stats'))


def _finite(tree):
  return all(np.isfinite(x).all() for x in jax.tree.leaves(tree))


def test_nan_stops_training_and_keeps_last_good_checkpoint(
    tiny_config, tmp_path, monkeypatch):
  on_batch(monkeypatch, 4, _nan_images)  # the data of step 5
  with pytest.raises(errors.NonFiniteError,
                     match=r'step 5 gave non-finite values \(.*'
                     r'reconstruction=nan.*\); training stopped and no '
                     r'checkpoint after step 4 was written') as stopped:
    train.train_and_evaluate(tiny_config, str(tmp_path))
  assert stopped.value.exit_code == 3
  manager = checkpointing.make_manager(str(tmp_path), keep=10, read_only=True)
  assert manager.all_steps() == [3]
  assert _finite(restore_params(str(tmp_path), 3))


def test_skip_nonfinite_updates_keeps_the_old_state(tiny_config, tmp_path,
                                                    monkeypatch, caplog):
  tiny_config.skip_nonfinite_updates = True
  tiny_config.checkpoint_every_steps = 1
  tiny_config.keep_checkpoints = 10
  # One cheap family: the evaluation is not under test. (The probes' fit on
  # NaN codes failed when a skipped step took the new batch norm statistics;
  # the checks of the state below see that directly.)
  tiny_config.eval.metrics = ('unseen',)
  on_batch(monkeypatch, 4, _nan_images)
  with caplog.at_level('WARNING', logger='absl'):
    summary = train.train_and_evaluate(tiny_config, str(tmp_path))
  assert summary['step'] == 6
  assert 'Skipped 1 non-finite update(s), the first at step 5' in caplog.text
  workdir = str(tmp_path)
  jax.tree.map(np.testing.assert_array_equal, _state(workdir, 4),
               _state(workdir, 5))
  assert _finite(_state(workdir, 6))
  assert not np.array_equal(
      jax.tree.leaves(restore_params(workdir, 6))[0],
      jax.tree.leaves(restore_params(workdir, 5))[0])
