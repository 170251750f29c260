"""The one table of metric keys: lookups by key and pattern, summary.json."""
from dvae_jax.evaluation import metric_keys


def test_exact_keys_win_over_patterns_and_patterns_match_one_word():
  assert metric_keys.find('mig/identity').title == 'MIG of identity'
  assert metric_keys.find('mig/scale').key == 'mig/{factor}'
  assert metric_keys.find('probe/mlp/s/train').key == 'probe/{probe}/{code}/train'
  assert metric_keys.find('probe/linear/s/heldout').summary == 's_probe_heldout'
  assert metric_keys.find('dci/pos_x_in_z').title == 'share in z'
  assert metric_keys.find('mig/a/b') is None  # a {word} is one path part
  assert metric_keys.find('kl') is None


def test_kinds_say_how_a_value_is_shown():
  assert metric_keys.kind('probe/mlp/z_sample/heldout') == metric_keys.PCT
  assert metric_keys.kind('unseen/retrieval_chance') == metric_keys.PCT
  assert metric_keys.kind('probe/num_identities') == metric_keys.COUNT
  assert metric_keys.kind('quality/kid_swap') == metric_keys.NUM
  assert metric_keys.kind('not/in/the/table') == metric_keys.NUM


def test_summary_takes_the_rows_marked_for_it_that_were_measured():
  metrics = {'step': 3, 'unseen/reconstruction_mse': 0.25,
             'probe/linear/s/heldout': 0.5, 'swap/leak': 0.1}
  assert metric_keys.summary(metrics) == {
      'test_reconstruction_mse': 0.25, 's_probe_heldout': 0.5, 'step': 3}


def test_grid_columns_follow_the_table():
  assert [m.title for m in metric_keys.with_word('factor')] == [
      'R^2 from z', 'R^2 from s', 'share in z', 'MIG']
