"""Figure layouts, on a fake model whose code is the image itself:
s = the image's first half of pixels, z = the second, Dec puts them back."""
import numpy as np

from dvae_jax.data import pipeline as input_pipeline
from dvae_jax.evaluation import figures

H = W = 4


class FakeModel:
  """encode/decode of inference.Model on (N, 4, 4, 3) uint8 images."""

  def encode(self, images):
    flat = images.reshape(len(images), -1).astype(np.float32)
    half = flat.shape[1] // 2
    return flat[:, :half], flat[:, half:], np.zeros_like(flat[:, half:])

  def decode(self, s, z):
    flat = np.clip(np.round(np.concatenate([s, z], 1)), 0, 255)
    return flat.astype(np.uint8).reshape(len(s), H, W, 3)

  def swap_grid(self, s_images, z_images):
    s, _, _ = self.encode(s_images)
    _, z, _ = self.encode(z_images)
    out = self.decode(np.repeat(s, len(z), 0), np.tile(z, (len(s), 1)))
    return out.reshape((len(s), len(z)) + out.shape[1:])


def _data(classes=6, per_class=3):
  rng = np.random.default_rng(0)
  n = classes * per_class
  return input_pipeline.SplitData(
      rng.integers(0, 255, (n, H, W, 3)).astype(np.uint8),
      np.repeat(np.arange(classes), per_class), None)


def _cell(figure, row, col):
  y, x = 1 + row * (H + 1), 1 + col * (W + 1)
  return figure[y:y + H, x:x + W]


def test_all_figures_have_the_expected_layout():
  figs = figures.all_figures(FakeModel(), _data(), rows=2, steps=3, seed=0)
  cells = {'swap_grid': (3, 3), 'analogies': (2, 4),
           'interpolation_s': (2, 5), 'interpolation_z': (2, 5),
           'prior_samples': (2, 4)}
  for name, (r, k) in cells.items():
    assert figs[name].shape == (r * (H + 1) + 1, k * (W + 1) + 1, 3), name


def test_interpolation_ends_at_the_sources():
  data = _data()
  start, end = data.images[:2], data.images[3:5]
  fig = figures.interpolation(FakeModel(), start, end, 3, along='s')
  # First step is Dec(s_start, z_start) = start; last step takes s from end.
  np.testing.assert_array_equal(_cell(fig, 0, 1), start[0])
  last = _cell(fig, 0, 3).reshape(-1)
  half = last.size // 2
  np.testing.assert_array_equal(last[:half], end[0].reshape(-1)[:half])
  np.testing.assert_array_equal(last[half:], start[0].reshape(-1)[half:])


def test_analogy_with_identical_a_and_b_returns_c():
  data = _data()
  a, c = data.images[:2], data.images[6:8]
  fig = figures.analogies(FakeModel(), a, a, c)
  np.testing.assert_array_equal(_cell(fig, 1, 3), c[1])


def test_grid_sources_are_distinct_identities():
  data = _data()  # pixel values identify the image: find each source's label
  s_src, z_src = figures.grid_sources(data, 4, seed=0)
  assert len(s_src) == len(z_src) == 4
  of = lambda src: [int(np.flatnonzero((data.images == im).all(axis=(1, 2, 3)))
                        [0]) for im in src]
  s_idx, z_idx = of(s_src), of(z_src)
  assert len(set(data.labels[s_idx])) == 4  # four identities
  assert not set(s_idx) & set(z_idx)  # z sources are other images


def test_same_identity_pairs_are_two_images_of_one_identity_each():
  labels = np.array([0, 1, 1, 2, 2, 2, 3])  # 0 and 3 have one image
  a, b = figures.same_identity_pairs(labels, 5, seed=0)
  assert len(a) == 2  # only identities 1 and 2 have two images
  assert np.all(labels[a] == labels[b]) and np.all(a != b)
  assert sorted(labels[a]) == [1, 2]


def test_truth_swaps_rows_are_a_b_swap_and_truth():
  """4 identities x 3 poses; the fake model's swap of a and b is a's first
  half of pixels with b's second half, so the truth is built that way."""
  from dvae_jax.evaluation import analogies
  rng = np.random.default_rng(1)
  s_part = rng.integers(0, 255, (4, H * W * 3 // 2))
  z_part = rng.integers(0, 255, (3, H * W * 3 // 2))
  labels, poses = np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)
  images = np.concatenate([s_part[labels], z_part[poses]], 1).astype(
      np.uint8).reshape(12, H, W, 3)
  pairs = analogies.draw_pairs(labels, poses[:, None], 7, seed=0)
  model = FakeModel()
  swapped = model.decode(model.encode(images[pairs.a])[0],
                         model.encode(images[pairs.b])[1])
  figure = figures.truth_swaps(images, pairs, swapped, 5)
  assert figure.shape == (1 + 5 * (H + 1), 1 + 4 * (W + 1), 3)
  for row in range(5):
    a, b = _cell(figure, row, 0), _cell(figure, row, 1)
    np.testing.assert_array_equal(_cell(figure, row, 2),
                                  _cell(figure, row, 3))  # swap == truth
    np.testing.assert_array_equal(a, images[pairs.a[row]])
    assert not np.array_equal(a, b)
