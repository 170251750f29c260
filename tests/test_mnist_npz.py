"""configs/mnist.py with --config.data_path=train.npz in the real copy's format."""
import numpy as np

from configs import mnist as mnist_config
from dvae_jax.data import pipeline as input_pipeline

PER_CLASS = 20


def test_mnist_npz_is_padded_to_32_gray_with_a_tenth_held_out(tmp_path):
  # MNIST's .npz layout: images uint8 (N, 28, 28), labels uint8 (N,).
  rng = np.random.default_rng(0)
  labels = np.repeat(np.arange(10, dtype=np.uint8), PER_CLASS)
  images = rng.integers(1, 256, (len(labels), 28, 28), dtype=np.uint8)
  np.savez(tmp_path / 'train.npz', images=images, labels=labels)
  config = mnist_config.get_config('tiny')
  config.data_dir = str(tmp_path / 'tfds')
  config.data_path = str(tmp_path / 'train.npz')
  builder = input_pipeline.get_builder(config)
  assert input_pipeline.dataset_info(config, builder).image_shape == (32, 32, 1)
  originals = {im.tobytes(): int(l) for im, l in zip(images, labels)}

  def read(split):
    data = input_pipeline.load_split(config, builder, split, shard=False)
    assert data.images.shape[1:] == (32, 32, 1)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert not data.images[:, border].any()  # centre-padded with zeros
    keys = [im[2:30, 2:30, 0].tobytes() for im in data.images]
    assert [originals[k] for k in keys] == data.labels.tolist()  # exact pixels
    return set(keys)

  train = read(config.train_split)
  heldout = read(config.heldout_split)
  # test_classes = 0: 'test' is the folder builder's 'heldout', a tenth of
  # every digit; the config probes and tests on it.
  assert config.heldout_split == config.test_split == 'test'
  assert heldout == read('heldout') and not train & heldout
  assert len(heldout) == 10 * PER_CLASS // 10
  assert len(train) + len(heldout) == len(images)
