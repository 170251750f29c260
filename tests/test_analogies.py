"""Swaps scored against the truth (evaluation/analogies.py), on hand-made
"models": one that returns the truth, ones that copy an input, one whose
decoder ignores its inputs."""
import numpy as np
import pytest

from dvae_jax.evaluation import analogies

NUM_IDS, SIDE = 12, 3  # 12 identities x 3 x 3 poses (two nuisances)
NAMES = ('light', 'view')


def _truth_set(drop=0):
  """Every identity in every pose, an independent noise image each (so only
  the true image is near a swap that equals it); `drop` (label, pose) images
  left out at random."""
  rng = np.random.default_rng(1)
  labels = np.repeat(np.arange(NUM_IDS), SIDE * SIDE)
  grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE),
                              indexing='ij'), -1).reshape(-1, 2)
  factors = np.tile(grid, (NUM_IDS, 1)).astype(np.float32)
  images = rng.integers(0, 256, (len(labels), 8, 8, 3), dtype=np.uint8)
  keep = np.sort(rng.permutation(len(labels))[drop:])
  return images[keep], labels[keep], factors[keep]


def _score(images, labels, factors, pairs, swapped, reconstructed=None):
  if reconstructed is None:
    reconstructed = images[pairs.t]  # a perfect autoencoder
  return analogies.score_swaps(images, labels, factors, pairs, swapped,
                               reconstructed, NAMES)


def test_pairs_are_other_identities_in_other_poses_with_their_truth():
  images, labels, factors = _truth_set(drop=30)
  pairs = analogies.draw_pairs(labels, factors, 500, seed=0)
  assert len(pairs.a) == 500
  assert np.all(labels[pairs.a] != labels[pairs.b])
  assert np.all((factors[pairs.a] != factors[pairs.b]).any(1))
  assert np.array_equal(labels[pairs.t], labels[pairs.a])
  assert np.array_equal(factors[pairs.t], factors[pairs.b])
  # 30 of 108 images are missing: about 30/108 of the draws find no truth.
  assert 0.18 < (pairs.tried - 500) / pairs.tried < 0.38
  again = analogies.draw_pairs(labels, factors, 500, seed=0)
  assert np.array_equal(again.a, pairs.a) and again.tried == pairs.tried


def test_returning_the_truth_scores_one_and_retrieves_everything():
  images, labels, factors = _truth_set()
  pairs = analogies.draw_pairs(labels, factors, 400, seed=0)
  m = _score(images, labels, factors, pairs, images[pairs.t])
  assert m['score'] == 1.0
  assert m['mse/swap'] == 0.0 and m['ssim/swap'] == pytest.approx(1.0)
  assert m['pose'] == 1.0 and m['identity'] == 1.0
  assert m['pose/light'] == 1.0 and m['pose/view'] == 1.0
  # Chance by hand: a has 9 poses, one of them b's; 3 share b's light; at
  # b's pose 11 other identities, one of them a.
  assert m['pose_chance'] == pytest.approx(1 / 9)
  assert m['pose_chance/light'] == pytest.approx(3 / 9)
  assert m['identity_chance'] == pytest.approx(1 / 11)
  assert m['pairs'] == 400 and m['pairs_without_truth'] == 0
  # The reconstructions are the truth too.
  assert m['reconstruction_pose'] == 1.0
  assert m['reconstruction_identity'] == 1.0


def test_copying_the_better_input_scores_zero():
  images, labels, factors = _truth_set()
  pairs = analogies.draw_pairs(labels, factors, 400, seed=0)
  m = _score(images, labels, factors, pairs, images[pairs.a])
  better = 'copy_s' if m['mse/copy_s'] <= m['mse/copy_z'] else 'copy_z'
  copied = images[pairs.a] if better == 'copy_s' else images[pairs.b]
  m = _score(images, labels, factors, pairs, copied)
  assert m['score'] == 0.0
  assert m['mse/swap'] == m[f'mse/{better}']


def test_score_by_hand_and_undefined_when_reconstruction_is_no_better():
  # B = min(0.4, 0.3) = 0.3: (0.3 - 0.2) / (0.3 - 0.1) = 0.5.
  assert analogies.analogy_score(0.2, 0.4, 0.3, 0.1) == pytest.approx(0.5)
  assert analogies.analogy_score(0.2, 0.4, 0.3, 0.3) is None
  assert analogies.analogy_score(0.2, 0.4, 0.3, 0.35) is None


def test_copying_the_z_source_retrieves_identity_at_chance():
  images, labels, factors = _truth_set()
  pairs = analogies.draw_pairs(labels, factors, 3000, seed=0)
  m = _score(images, labels, factors, pairs, images[pairs.b])
  # b's identity is left out of the identity gallery: the copy is nearest
  # to an unrelated image, a's with probability 1/11.
  assert m['identity'] == pytest.approx(m['identity_chance'], abs=0.025)


def test_reconstruction_retrievals_are_of_the_reconstructions_not_the_swaps():
  images, labels, factors = _truth_set()
  pairs = analogies.draw_pairs(labels, factors, 3000, seed=0)
  constant = np.full((len(pairs.a),) + images.shape[1:], 128, np.uint8)
  # Perfect swaps, a decoder that reconstructs nothing: the reconstructions
  # retrieve at chance, the swaps everything.
  m = _score(images, labels, factors, pairs, images[pairs.t],
             reconstructed=constant)
  assert m['pose'] == 1.0 and m['identity'] == 1.0
  assert m['reconstruction_pose'] == pytest.approx(m['pose_chance'], abs=0.025)
  assert m['reconstruction_identity'] == pytest.approx(m['identity_chance'],
                                                       abs=0.025)


def test_a_constant_decoder_retrieves_pose_and_identity_at_chance():
  images, labels, factors = _truth_set()
  pairs = analogies.draw_pairs(labels, factors, 3000, seed=0)
  constant = np.full((len(pairs.a),) + images.shape[1:], 128, np.uint8)
  m = _score(images, labels, factors, pairs, constant)
  assert m['pose'] == pytest.approx(m['pose_chance'], abs=0.025)
  assert m['pose/view'] == pytest.approx(m['pose_chance/view'], abs=0.04)
  assert m['identity'] == pytest.approx(m['identity_chance'], abs=0.025)


def test_variants_are_scored_with_the_same_retrievals():
  images, labels, factors = _truth_set()
  pairs = analogies.draw_pairs(labels, factors, 3000, seed=0)
  m = analogies.score_swaps(
      images, labels, factors, pairs, images[pairs.b], images[pairs.t],
      NAMES, variants={'own_s': images[pairs.t], 'group_s': images[pairs.b]})
  assert m['own_s_pose'] == 1.0 and m['own_s_identity'] == 1.0
  # group_s copies b here: the swap's own retrievals, not the truth's.
  assert m['group_s_identity'] == m['identity']
  assert m['group_s_pose'] == m['pose']
  assert m['identity'] == pytest.approx(m['identity_chance'], abs=0.025)


def test_group_sources_are_other_images_of_a_never_in_bs_pose():
  images, labels, factors = _truth_set(drop=30)
  pairs = analogies.draw_pairs(labels, factors, 300, seed=0)
  pose = analogies._pose_ids(factors)
  groups = analogies.group_sources(labels, factors, pairs, 4, seed=0)
  assert len(groups) == 300
  for g, a, b, t in zip(groups, pairs.a, pairs.b, pairs.t):
    assert g[0] == a and len(set(g.tolist())) == len(g)
    assert np.all(labels[g] == labels[a])
    assert np.all(pose[g] != pose[b]) and t not in g
    # 9 poses less b's, less the dropped: 4 unless a has fewer than 4 left.
    left = np.sum((labels == labels[a]) & (pose != pose[b]))
    assert len(g) == min(4, left)
  again = analogies.group_sources(labels, factors, pairs, 4, seed=0)
  assert all(np.array_equal(x, y) for x, y in zip(groups, again))
  assert [len(g) for g in analogies.group_sources(labels, factors, pairs, 1,
                                                  0)] == [1] * 300


def test_rendered_truth_set_draws_every_identity_in_every_pose():
  poses = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], np.float32)
  render = lambda labels, factors: (
      labels[:, None, None, None] * 10 + factors[:, :1, None, None] * 100
  ).astype(np.uint8) * np.ones((1, 2, 2, 1), np.uint8)
  images, labels, factors = analogies.rendered_truth_set(
      render, np.array([4, 2, 4, 7]), poses)
  assert labels.tolist() == [2, 2, 2, 4, 4, 4, 7, 7, 7]
  assert np.array_equal(factors, np.tile(poses, (3, 1)))
  assert images[4, 0, 0, 0] == 4 * 10 + 30


class _Oracle:
  """A "model" that reads identity and pose from pixels (0, 0) and (0, 1)
  (tests/test_folder.py's posed images) and draws the true image of its s's
  identity in its z's pose: a perfect analogy maker."""

  def __init__(self, images):
    self.truth = {(int(x[0, 0, 0]), int(x[0, 1, 0])): x for x in images}

  def encode(self, images):
    s = images[:, 0, 0, :1].astype(np.float32)
    z = images[:, 0, 1, :1].astype(np.float32)
    return s, z, np.zeros_like(z)

  def decode(self, s, z):
    # s and z read back to the nearest value an image holds (multiples of
    # 20); an identity it has no image of: a gray image.
    gray = np.full_like(next(iter(self.truth.values())), 128)
    near = lambda v: int(20 * np.round(v / 20))
    return np.stack([self.truth.get((near(a), near(b)), gray)
                     for a, b in zip(s[:, 0], z[:, 0])])


class _PoseBiasedOracle(_Oracle):
  """The oracle with an s that moves with the pose: by -12, -4.8, 4.8, 12
  at poses 0-3, so an s of pose 0 or 3 reads back as the next identity;
  s averaged over 3 poses or more never does."""

  def encode(self, images):
    s, z, logvar = super().encode(images)
    bias = np.array([-12, -4.8, 4.8, 12], np.float32)
    return s + bias[(z[:, 0] / 20).astype(int)][:, None], z, logvar


def _posed_context(tmp_path, model_class, **eval_settings):
  from configs import default
  from dvae_jax.data import pipeline
  from dvae_jax.evaluation import families
  from tests.test_folder import _posed_npz
  config = default.get_config('tiny')
  config.data_dir = str(tmp_path / 'tfds')
  config.data_path = str(_posed_npz(tmp_path / 'd.npz', num_ids=8))
  config.test_classes = 4
  config.image_size = 8
  config.eval.update(eval_settings)
  data = pipeline.Data(config)
  test = data.load('test', shard=False)
  return config, families.Context(config, data, model_class(test.images),
                                  str(tmp_path))


def test_the_family_scores_an_npz_with_factors_against_its_truth(tmp_path):
  from dvae_jax.evaluation import families
  config, ctx = _posed_context(tmp_path, _Oracle)
  m = families.ground_truth_metrics(ctx)
  assert m['analogy/pairs'] == config.eval.num_pairs
  assert m['analogy/score'] == 1.0
  assert m['analogy/pose'] == 1.0 and m['analogy/identity'] == 1.0
  assert m['analogy/pose_chance'] == pytest.approx(1 / 4)
  assert m['analogy/identity_chance'] == pytest.approx(1 / 3)
  for variant in ('own_s', 'group_s'):
    assert m[f'analogy/{variant}_pose'] == 1.0
    assert m[f'analogy/{variant}_identity'] == 1.0


def test_group_s_averages_s_over_the_identitys_other_poses(tmp_path):
  from dvae_jax.evaluation import families
  _, ctx = _posed_context(tmp_path, _PoseBiasedOracle, s_group_images=8)
  m = families.ground_truth_metrics(ctx)
  # One image's s misreads the identity at 2 of 4 poses; a's image is at one
  # of them about half the time, t's too.
  assert 0.2 < m['analogy/identity'] < 0.8
  assert 0.2 < m['analogy/own_s_identity'] < 0.8
  # The mean over a's 3 poses other than b's always reads back as a.
  assert m['analogy/group_s_identity'] == 1.0
  assert m['analogy/group_s_pose'] == 1.0
  _, ctx = _posed_context(tmp_path, _PoseBiasedOracle, s_group_images=0)
  m = families.ground_truth_metrics(ctx)
  assert 'analogy/group_s_identity' not in m and 'analogy/own_s_identity' in m
