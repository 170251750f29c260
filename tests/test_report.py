"""The markdown report renders every section, also with metrics missing."""
from dvae_jax.evaluation import report


def test_report_shows_values_and_dashes_for_missing():
  text = report.markdown({'step': 7, 'probe/linear/s/heldout': 0.953,
                          'factors/r2_z_mean/scale': 0.5, 'mig/scale': 0.25})
  assert '# Evaluation at step 7' in text
  assert '95.3%' in text
  assert '| scale | 0.5 | - | - | 0.25 |' in text
  assert '## Sample quality' in text
