"""Tests for the procedural glyphs dataset (renderer and tfds builder)."""

import collections

import numpy as np
import pytest
import tensorflow_datasets as tfds

from dvae_jax.data.datasets import glyphs

MID = np.full(glyphs.NUM_FACTORS, 0.5, np.float32)
IDX = {name: i for i, name in enumerate(glyphs.FACTOR_NAMES)}
# A pixel differing from the background by more than this is foreground.
FG_THRESHOLD = 20


def with_factor(name, value, base=MID):
  f = base.copy()
  f[IDX[name]] = value
  return f


def foreground(img):
  """(H, W) bool mask of pixels that differ from the (glyph-free) corner."""
  diff = np.abs(img.astype(np.int32) - img[:1, :1].astype(np.int32))
  return diff.max(-1) > FG_THRESHOLD


def centroid(mask):
  ys, xs = np.nonzero(mask)
  return xs.mean(), ys.mean()


def test_render_shape_dtype_and_determinism():
  f = glyphs.sample_factors(np.random.default_rng(0), 1)[0]
  a = glyphs.render(7, f)
  assert a.shape == (32, 32, 3) and a.dtype == np.uint8
  np.testing.assert_array_equal(a, glyphs.render(7, f.copy()))
  assert glyphs.render(7, f, size=64).shape == (64, 64, 3)
  # Identity params depend on the seed.
  assert not np.array_equal(a, glyphs.render(7, f, seed=1))


def test_render_batch_matches_render():
  rng = np.random.default_rng(1)
  ids = rng.integers(0, glyphs.NUM_IDENTITIES, 10)
  f = glyphs.sample_factors(rng, 10)
  batch = glyphs.render_batch(ids, f)
  assert batch.shape == (10, 32, 32, 3) and batch.dtype == np.uint8
  for i in range(10):
    np.testing.assert_array_equal(batch[i], glyphs.render(ids[i], f[i]))


def test_sample_factors():
  f = glyphs.sample_factors(np.random.default_rng(0), 1000)
  assert f.shape == (1000, 5) and f.dtype == np.float32
  assert f.min() >= 0 and f.max() <= 1
  assert np.all(f.mean(0) > 0.4) and np.all(f.mean(0) < 0.6)
  assert glyphs.FACTOR_NAMES == ('pos_x', 'pos_y', 'scale', 'rotation', 'light')
  assert set(glyphs.factor_ranges()) == set(glyphs.FACTOR_NAMES)


def test_identities_are_distinct():
  n = glyphs.NUM_IDENTITIES
  imgs = glyphs.render_batch(np.arange(n), np.tile(MID, (n, 1)))
  flat = imgs.reshape(n, -1).astype(np.float32)
  # Row by row: all pairs at once were a (n, n, 3072) array of 0.8 GB.
  dist = np.stack([np.abs(row - flat).mean(-1) for row in flat])
  np.fill_diagonal(dist, np.inf)
  assert dist.min() > 1.0  # mean abs difference in uint8 levels


def test_glyph_stays_inside_image():
  f = glyphs.sample_factors(np.random.default_rng(2), 200)
  ids = np.arange(200)
  # Worst case position and scale: the glyph may touch, but not cross, edges.
  f[:, IDX['pos_x']] = f[:, IDX['pos_y']] = 1.0
  f[:, IDX['scale']] = 1.0
  imgs = glyphs.render_batch(ids, f)
  bg = imgs[:, :1, :1]
  inside = [foreground(img).sum() for img in imgs]
  assert min(inside) > 0
  # The far corner region is always background.
  assert np.all(np.abs(imgs[:, :8, :8].astype(int) - bg) <= FG_THRESHOLD)


def test_light_changes_brightness():
  means = [glyphs.render(3, with_factor('light', v)).mean()
           for v in (0.0, 0.5, 1.0)]
  assert means[0] < means[1] < means[2]
  assert means[2] > 1.8 * means[0]


@pytest.mark.parametrize('identity', [0, 11, 123, 222])
def test_position_moves_centre_of_mass(identity):
  com = lambda name, v: centroid(foreground(
      glyphs.render(identity, with_factor(name, v))))
  (x0, y0), (x1, y1) = com('pos_x', 0.0), com('pos_x', 1.0)
  lo, hi = glyphs.FACTOR_RANGES['pos_x']
  expected = (hi - lo) * 32
  assert 0.8 * expected < x1 - x0 < 1.2 * expected
  assert abs(y1 - y0) < 1.0
  (x0, y0), (x1, y1) = com('pos_y', 0.0), com('pos_y', 1.0)
  assert 0.8 * expected < y1 - y0 < 1.2 * expected  # pos_y moves down
  assert abs(x1 - x0) < 1.0


@pytest.mark.parametrize('identity', [0, 11, 123, 222])
def test_scale_changes_area(identity):
  small = foreground(glyphs.render(identity, with_factor('scale', 0.))).sum()
  big = foreground(glyphs.render(identity, with_factor('scale', 1.))).sum()
  lo, hi = glyphs.FACTOR_RANGES['scale']
  assert 0.75 * (hi / lo)**2 < big / small < 1.25 * (hi / lo)**2


@pytest.mark.parametrize('identity', [0, 11, 123, 222])
def test_rotation(identity):
  imgs = [glyphs.render(identity, with_factor('rotation', v), size=64)
          for v in (0.0, 0.25, 1.0)]
  masks = [foreground(im) for im in imgs]
  iou = lambda a, b: (a & b).sum() / (a | b).sum()
  # rotation 0 and 1 are both 0 mod 2*pi; a quarter turn changes the shape.
  assert np.abs(imgs[0].astype(np.float32) - imgs[2]).mean() < 0.5
  assert iou(masks[0], masks[2]) > 0.97
  assert iou(masks[0], masks[1]) < 0.8
  areas = [m.sum() for m in masks]
  assert abs(areas[1] / areas[0] - 1) < 0.1
  # Rotation is about the glyph's centre, which stays at the image centre, so
  # the centroid's distance to it is preserved.
  radii = [np.hypot(*(np.array(centroid(m)) - 31.5)) for m in masks[:2]]
  assert abs(radii[0] - radii[1]) < 1.5


def test_same_identity_differs_under_nuisances():
  f = glyphs.sample_factors(np.random.default_rng(3), 2)
  a, b = glyphs.render(5, f[0]), glyphs.render(5, f[1])
  assert np.abs(a.astype(np.float32) - b).mean() > 3.0


@pytest.fixture(scope='module')
def built(glyphs_data_dir):
  """(data_dir, builder, {split: numpy batch}) of res32, built once."""
  data_dir = glyphs_data_dir
  builder = glyphs.ensure_built(data_dir)
  data = {
      split: tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1,
                                              shuffle_files=False))
      for split, *_ in glyphs.SPLITS
  }
  return data_dir, builder, data


def test_builder_info(built):
  data_dir, builder, _ = built
  assert builder.info.name == 'dvae_glyphs'
  assert builder.builder_config.name == 'res32'
  assert str(builder.info.version) == '1.0.0'
  names = list(glyphs.FACTOR_NAMES)
  assert list(builder.info.metadata['factor_names']) == names
  assert builder.info.features['label'].num_classes == 250
  assert {k: v.num_examples for k, v in builder.info.splits.items()} == {
      'train': 8000, 'heldout': 2000, 'test': 1000}
  # Second call reuses the prepared data.
  again = glyphs.ensure_built(data_dir)
  assert again.is_prepared() and again.data_dir == builder.data_dir
  assert list(again.info.metadata['factor_names']) == names


@pytest.mark.parametrize('split,identities,per_identity', [
    ('train', range(0, 200), 40),
    ('heldout', range(0, 200), 10),
    ('test', range(200, 250), 20),
])
def test_split_contents(built, split, identities, per_identity):
  data = built[2][split]
  assert data['image'].shape == (len(identities) * per_identity, 32, 32, 3)
  assert data['image'].dtype == np.uint8
  assert data['factors'].dtype == np.float32
  assert data['factors'].min() >= 0 and data['factors'].max() <= 1
  counts = collections.Counter(data['label'].tolist())
  assert counts == {i: per_identity for i in identities}


@pytest.mark.parametrize('split', ['train', 'heldout', 'test'])
def test_stored_images_equal_render(built, split):
  data = built[2][split]
  n = 64
  np.testing.assert_array_equal(
      data['image'][:n], glyphs.render_batch(data['label'][:n],
                                             data['factors'][:n]))


def test_build_is_deterministic(built):
  """Stored factors are exactly the seeded per-split streams."""
  data = built[2]
  for split, index, identities, per_identity in glyphs.SPLITS:
    rng = np.random.default_rng([glyphs.SEED, index])
    expected = {(i, tuple(f)) for i in identities
                for f in glyphs.sample_factors(rng, per_identity).tolist()}
    stored = {(int(l), tuple(f)) for l, f in
              zip(data[split]['label'], data[split]['factors'].tolist())}
    assert stored == expected
  # Heldout nuisances are new draws, not copies of train ones.
  train = {tuple(f) for f in data['train']['factors'].tolist()}
  assert not train & {tuple(f) for f in data['heldout']['factors'].tolist()}


def test_ground_truth_renderer_redraws_stored_images_only_where_they_match(
    built):
  """What evaluation's ground-truth swap asks the dataset for."""
  _, builder, data = built
  render = builder.ground_truth_renderer(glyphs.FACTOR_NAMES, (32, 32, 3))
  test = data['test']
  np.testing.assert_array_equal(render(test['label'][:8], test['factors'][:8]),
                                test['image'][:8])
  # A model that sees other images, or other factors, has no ground truth.
  assert builder.ground_truth_renderer(glyphs.FACTOR_NAMES, (16, 16, 3)) is None
  assert builder.ground_truth_renderer(glyphs.FACTOR_NAMES, (32, 32, 1)) is None
  assert builder.ground_truth_renderer(('pos_x',), (32, 32, 3)) is None
