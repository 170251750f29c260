"""Known nuisance factors (built-in dataset): how well each is predicted from
a code, as R^2 on held-out codes (Eastwood & Williams 2018, "informativeness",
with R^2 in place of their error).

A circular factor (rotation) becomes (cos, sin) of its angle, so 0 and 2*pi
are one value; its R^2 is the mean over the two. Predictors are seeded random
forests: nonlinear, and their impurity importances serve the DCI module.
"""
import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import r2_score

CIRCULAR_FACTORS = ('rotation',)


def factor_targets(factors: np.ndarray, names,
                   circular=CIRCULAR_FACTORS) -> dict:
  """Factors (N, F) normalized to [0, 1] -> {name: targets (N, k)}, k = 2
  (cos, sin of 2*pi*value) for circular factors, else 1."""
  out = {}
  for j, name in enumerate(names):
    v = factors[:, j].astype(np.float64)
    if name in circular:
      out[name] = np.stack([np.cos(2 * np.pi * v), np.sin(2 * np.pi * v)], 1)
    else:
      out[name] = v[:, None]
  return out


def forest(classification: bool, seed: int, trees: int, depth: int):
  """The one predictor family of the factor metrics (seeded, one core)."""
  cls = RandomForestClassifier if classification else RandomForestRegressor
  return cls(n_estimators=trees, max_depth=depth, random_state=seed, n_jobs=1)


def r2_per_factor(train_codes: np.ndarray, train_targets: dict,
                  test_codes: np.ndarray, test_targets: dict, seed: int = 0,
                  trees: int = 20, depth: int = 10) -> dict:
  """One multi-output forest on codes (N, D) -> {name: R^2 on the test codes}.

  R^2 is 1 for a perfect prediction, about 0 (or below) for a code that
  carries nothing of the factor.
  """
  names = list(train_targets)
  split = np.cumsum([train_targets[n].shape[1] for n in names])[:-1]
  model = forest(False, seed, trees, depth)
  model.fit(train_codes, np.concatenate([train_targets[n] for n in names], 1))
  pred = np.split(model.predict(test_codes).reshape(len(test_codes), -1),
                  split, axis=1)
  return {n: float(r2_score(test_targets[n], p))
          for n, p in zip(names, pred)}
