"""Split rules shared by our builders: which images of a class are held out."""
import numpy as np

# Share of each training class's images kept for the 'heldout' split, where
# the identity probes are scored (training identities, unseen images).
HELDOUT_FRACTION = 0.1


def heldout_mask(count: int, seed: int, fraction: float = HELDOUT_FRACTION
                 ) -> np.ndarray:
  """(count,) bool: which of a class's images go to 'heldout'.

  At least one when the class has 3+ images, never so many that fewer than
  two stay for training (x1 and x2 of a triplet share a class). Seeded, so a
  rebuild gives the same split.
  """
  n_held = 0 if count < 3 else min(max(1, int(count * fraction)), count - 2)
  mask = np.zeros(count, bool)
  mask[np.random.default_rng(seed).permutation(count)[:n_held]] = True
  return mask
