"""The markdown report renders every section, also with metrics missing."""
from dvae_jax.evaluation import report


def test_report_shows_values_and_dashes_for_missing():
  text = report.markdown({'step': 7, 'probe/linear/s/heldout': 0.953,
                          'factors/r2_z_mean/scale': 0.5, 'mig/scale': 0.25})
  assert '# Evaluation at step 7' in text
  assert '95.3%' in text
  assert '| scale | 0.5 | - | - | 0.25 |' in text
  assert '## Sample quality' in text


def test_report_shows_the_truth_scores_and_a_row_per_nuisance():
  text = report.markdown({
      'step': 7, 'analogy/score': None, 'analogy/mse/swap': 0.125,
      'analogy/pose': 0.5, 'analogy/pose/action': 0.75,
      'analogy/pose_chance/action': 0.2, 'analogy/pose/frame': 0.25,
      'analogy/pose_chance/frame': 0.125, 'style/slant_r': 0.9})
  assert '## Unseen identities against the truth' in text
  assert '| analogy score (1: as good as reconstructing the truth, 0: no ' \
         'better than copying an input) | - |' in text  # undefined: a dash
  assert '| MSE of the swap | 0.125 |' in text
  assert '| action | 75.0% | 20.0% |' in text
  assert '| frame | 25.0% | 12.5% |' in text
  assert "| slant of the swap vs the z source's (Pearson r) | 0.9 |" in text
