"""Which images of a class are held out."""
import numpy as np
import pytest

from dvae_jax.data.datasets import splits


@pytest.mark.parametrize('count,held', [(1, 0), (2, 0), (3, 1), (9, 1),
                                        (10, 1), (25, 2), (400, 40)])
def test_heldout_mask_sizes(count, held):
  mask = splits.heldout_mask(count, seed=0)
  assert mask.shape == (count,) and mask.sum() == held
  assert count - held >= min(count, 2)


def test_heldout_mask_is_seeded():
  np.testing.assert_array_equal(splits.heldout_mask(50, 3),
                                splits.heldout_mask(50, 3))
  assert not np.array_equal(splits.heldout_mask(50, 3),
                            splits.heldout_mask(50, 4))
