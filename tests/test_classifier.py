"""The supervised baseline / judge: it learns, it is deterministic, its cache
returns the same network and is invalidated by a change of settings."""
import os

import numpy as np
import pytest

from dvae_jax.evaluation import classifier

SETTINGS = dict(num_classes=3, width=2, steps=40, batch_size=16,
                learning_rate=1e-2, seed=0)


def _images(n=96, seed=0):
  """Three classes told apart by colour: red, green, blue squares."""
  rng = np.random.default_rng(seed)
  labels = np.arange(n) % 3
  images = rng.integers(0, 60, (n, 16, 16, 3)).astype(np.uint8)
  images[np.arange(n), 4:12, 4:12, labels] = 250
  return images, labels


def test_learns_separable_classes_and_is_deterministic():
  images, labels = _images()
  clf = classifier.train_classifier(images, labels, **SETTINGS)
  assert np.mean(clf.predict(images) == labels) > 0.9
  logits, feats = clf.logits_and_features(images[:5])
  assert logits.shape == (5, 3) and feats.shape == (5, 2 * 8)
  again = classifier.train_classifier(images, labels, **SETTINGS)
  np.testing.assert_array_equal(clf.predict(images), again.predict(images))


@pytest.mark.parametrize('where', ['local', 'ram'])
def test_cache_round_trip_and_invalidation(where, tmp_path, ram_workdir,
                                           monkeypatch):
  """Also in a workdir on a non-local file system (conftest.RamPath), where
  nothing may land in a local folder named ram:."""
  cache = (str(tmp_path / 'cache') if where == 'local' else
           f'{ram_workdir}/classifier')
  (tmp_path / 'cwd').mkdir()
  monkeypatch.chdir(tmp_path / 'cwd')
  images, labels = _images()
  key = {'dataset': 'colours'}
  first = classifier.cached_classifier(cache, key, images, labels, **SETTINGS)
  calls = []
  real_train = classifier.train_classifier
  monkeypatch.setattr(classifier, 'train_classifier',
                      lambda *a, **k: calls.append(1) or real_train(*a, **k))
  cached = classifier.cached_classifier(cache, key, images, labels,
                                        **SETTINGS)
  assert not calls
  np.testing.assert_array_equal(first.logits_and_features(images)[0],
                                cached.logits_and_features(images)[0])
  classifier.cached_classifier(cache, {'dataset': 'other'}, images, labels,
                               **SETTINGS)
  assert calls == [1]
  assert not os.listdir(tmp_path / 'cwd')
