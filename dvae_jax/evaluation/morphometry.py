"""Handwriting style of digit images, after Morpho-MNIST (Castro et al.,
JMLR 2019, github.com/dccastro/Morpho-MNIST): slant and stroke thickness.

Used where a dataset knows no nuisances (MNIST): a swap Dec(s_a, z_b) carries
b's style when its slant and thickness follow b's across many pairs (Pearson
r, `style_correlations`). Images are uint8 (N, H, W, C) or (N, H, W), light
ink on a dark ground, as MNIST; the ink is the pixels at or above halfway
between the image's darkest and lightest value (Morpho-MNIST's threshold).
"""
import numpy as np
from skimage import morphology


def _gray(images: np.ndarray) -> np.ndarray:
  images = np.asarray(images, np.float32)
  return images.mean(-1) if images.ndim == 4 else images


def ink(images: np.ndarray) -> np.ndarray:
  """(N, H, W[, C]) -> (N, H, W) bool, the binarized strokes."""
  gray = _gray(images)
  lo = gray.min((1, 2), keepdims=True)
  hi = gray.max((1, 2), keepdims=True)
  return (gray >= lo + 0.5 * (hi - lo)) & (hi > lo)


def slant(images: np.ndarray) -> np.ndarray:
  """(N,) radians, positive when the strokes lean right (/): the shear of
  the ink's second moments, arctan(-cov(column, row) / var(row)), rows
  counted downwards. NaN for an image without ink or of one row."""
  mask = ink(images).astype(np.float64)
  n, h, w = mask.shape
  rows, cols = np.mgrid[:h, :w]
  area = mask.sum((1, 2))
  with np.errstate(invalid='ignore', divide='ignore'):
    mean_r = (mask * rows).sum((1, 2)) / area
    mean_c = (mask * cols).sum((1, 2)) / area
    dr = rows[None] - mean_r[:, None, None]
    dc = cols[None] - mean_c[:, None, None]
    cov = (mask * dr * dc).sum((1, 2)) / area
    var = (mask * dr * dr).sum((1, 2)) / area
    return np.arctan(-cov / var)


def thickness(images: np.ndarray) -> np.ndarray:
  """(N,) mean stroke width in pixels: ink area over the length of its
  skeleton (skimage's skeletonize, in pixels). NaN without ink."""
  mask = ink(images)
  out = np.full(len(mask), np.nan)
  for i, m in enumerate(mask):
    length = morphology.skeletonize(m).sum()
    if length:
      out[i] = m.sum() / length
  return out


def pearson(x: np.ndarray, y: np.ndarray) -> float:
  """Pearson r over the entries where both are finite; NaN if fewer than 3
  or either is constant there."""
  ok = np.isfinite(x) & np.isfinite(y)
  x, y = x[ok], y[ok]
  if len(x) < 3 or x.std() == 0 or y.std() == 0:
    return float('nan')
  return float(np.corrcoef(x, y)[0, 1])


def style_correlations(images: np.ndarray, references: np.ndarray) -> dict:
  """Pearson r of slant and thickness between images (N, ...) and the
  references (N, ...) they should take their style from."""
  return {'slant_r': pearson(slant(images), slant(references)),
          'thickness_r': pearson(thickness(images), thickness(references))}
