"""Sample quality in the judge's feature space: Frechet distance (Heusel et
al. 2017, the FID formula) and kernel inception distance (Binkowski et al.
2018, unbiased MMD^2 with the cubic polynomial kernel). Features come from our
own classifier, not Inception, so values compare only within this project;
the real-vs-real figure beside them is the floor that sampling noise sets."""
import warnings

import numpy as np
import scipy.linalg


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
  """||mu_x - mu_y||^2 + Tr(C_x + C_y - 2 (C_x C_y)^(1/2)); x (N, D), y (M, D)."""
  mu_x, mu_y = x.mean(0), y.mean(0)
  c_x = np.cov(x, rowvar=False)
  c_y = np.cov(y, rowvar=False)
  with warnings.catch_warnings():  # fewer samples than dims: singular, still fine
    warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
    covmean = scipy.linalg.sqrtm(c_x @ c_y)
  covmean = np.real(covmean)  # round-off leaves tiny imaginary parts
  d = np.sum((mu_x - mu_y)**2) + np.trace(c_x + c_y - 2 * covmean)
  return float(max(d, 0.))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
  d = x.shape[1]
  k = lambda a, b: (a @ b.T / d + 1) ** 3
  kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
  m, n = len(x), len(y)
  return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) +
               (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) -
               2 * kxy.mean())


def kernel_distance(x: np.ndarray, y: np.ndarray, num_subsets: int = 10,
                    subset_size: int = 500, seed: int = 0) -> dict:
  """KID: mean and std of MMD^2 over seeded random subsets; x (N, D), y (M, D)."""
  rng = np.random.default_rng(seed)
  size = min(subset_size, len(x), len(y))
  values = [_mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                           y[rng.choice(len(y), size, replace=False)])
            for _ in range(num_subsets)]
  return {'mean': float(np.mean(values)), 'std': float(np.std(values))}
