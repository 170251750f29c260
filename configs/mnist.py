"""MNIST (tfds `mnist`): class = digit. `--config=configs/mnist.py[:tiny]`.

Downloaded by tfds on first use; offline, `--config.data_path=DIR/train.npz`
(`images` uint8 (N, 28, 28), `labels` (N,)) reads the digits from a file
instead (dvae_jax/data/datasets/folder.py). Its 'test' split is then a tenth of
each digit's images held out of training, not the official test set (see
docs/DATASETS.md). Numbers follow the authors' code; what is not set
here is configs/default.py's.
"""
from configs import default


def get_config(variant: str = ''):
  config = default.get_config(variant)
  config.dataset = 'mnist'
  config.channels = 1
  config.resize = 'pad'  # the authors' code pads 28 -> 32
  # MNIST has no identities beyond the 10 digits, so no split can hold out
  # unseen ones: probes and swap grids both use the test images of the same
  # digits (with data_path, the held-out tenth; keep test_classes at 0).
  config.heldout_split = 'test'
  config.test_split = 'test'
  # No nuisance is known: the swaps' style (slant, thickness) against the
  # z source's stands in for the ground truth.
  config.eval.metrics = tuple('style' if m == 'ground_truth' else m
                              for m in config.eval.metrics)
  if 'tiny' not in default.variants(variant):
    # s and z of 16 dims: the MNIST rows of Jha et al. 2018 (their
    # cycle-consistent VAE paper), the
    # published numbers to compare with.
    config.model.s_dim = 16
    config.model.z_dim = 16
  return config
