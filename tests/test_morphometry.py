"""Slant and stroke thickness (evaluation/morphometry.py) of drawn strokes."""
import numpy as np
import pytest

from dvae_jax.evaluation import morphometry


def _stroke(width: int, lean: float, height: int = 20, size: int = 32):
  """A bar `width` pixels wide and `height` tall whose left edge moves
  `lean` columns right per row upwards: (size, size, 1) uint8, ink 255."""
  image = np.zeros((size, size), np.uint8)
  top = (size - height) // 2
  for i in range(height):
    row = top + i
    left = int(round(10 + lean * (height - 1 - i)))
    image[row, left:left + width] = 255
  return image[..., None]


def test_slant_of_drawn_strokes_by_hand():
  upright, right, left = (_stroke(3, lean) for lean in (0.0, 0.5, -0.25))
  slants = morphometry.slant(np.stack([upright, right, left]))
  # A bar sheared by k columns per row leans at arctan(k).
  assert slants[0] == pytest.approx(0.0, abs=1e-9)
  assert slants[1] == pytest.approx(np.arctan(0.5), abs=0.03)
  assert slants[2] == pytest.approx(np.arctan(-0.25), abs=0.03)


def test_thickness_is_area_over_skeleton_length():
  bars = np.stack([_stroke(w, 0.0) for w in (1, 3, 5)])
  t = morphometry.thickness(bars)
  # Area 20 * w; the skeleton of an upright bar is its middle column, 20
  # pixels, shorter by up to w // 2 at each end.
  for w, value in zip((1, 3, 5), t):
    assert 20 * w / 20 <= value <= 20 * w / (20 - 2 * (w // 2))
  assert t[0] == 1.0  # a one-pixel line is its own skeleton


def test_no_ink_gives_nan_and_the_threshold_is_relative():
  dark = np.zeros((1, 32, 32, 1), np.uint8)
  assert np.isnan(morphometry.slant(dark)[0])
  assert np.isnan(morphometry.thickness(dark)[0])
  faint = (_stroke(3, 0.5) // 5)[None]  # ink at 51 of 255: the same stroke
  assert morphometry.slant(faint)[0] == morphometry.slant(
      _stroke(3, 0.5)[None])[0]


def test_style_correlation_follows_the_reference():
  leans = np.linspace(-0.4, 0.4, 9)
  widths = [1, 2, 3, 4, 5, 1, 2, 3, 4]
  refs = np.stack([_stroke(w, k) for w, k in zip(widths, leans)])
  same = morphometry.style_correlations(refs, refs)
  assert same['slant_r'] == pytest.approx(1.0)
  assert same['thickness_r'] == pytest.approx(1.0)
  upright = np.stack([_stroke(3, 0.0)] * 9)  # one style for every reference
  assert np.isnan(morphometry.style_correlations(upright, refs)['slant_r'])
  reversed_ = morphometry.style_correlations(refs[::-1], refs)
  assert reversed_['slant_r'] == pytest.approx(-1.0, abs=0.01)
