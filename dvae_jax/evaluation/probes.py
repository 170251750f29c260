"""Identity probes (the paper's Table 1): how well a classifier trained on a
code predicts the class. s should score near a supervised classifier, z near
chance. The MLP probe (two hidden layers of 256) follows the successors'
protocol (Jha et al. 2018; Szabo et al. 2018)."""
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def chance_accuracy(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
  """Accuracy of always predicting the most frequent training class."""
  classes, counts = np.unique(train_labels, return_counts=True)
  return float(np.mean(test_labels == classes[np.argmax(counts)]))


def _score(probe, train_codes, train_labels, test_codes, test_labels) -> dict:
  probe.fit(train_codes, train_labels)
  return {'train': float(probe.score(train_codes, train_labels)),
          'test': float(probe.score(test_codes, test_labels))}


def logistic_probe(train_codes: np.ndarray, train_labels: np.ndarray,
                   test_codes: np.ndarray, test_labels: np.ndarray,
                   seed: int = 0, max_iter: int = 300) -> dict:
  """Multinomial logistic regression on standardized codes (N, D).

  Returns {'train': accuracy on the fitting codes, 'test': on the others}.
  """
  probe = make_pipeline(
      StandardScaler(),
      LogisticRegression(max_iter=max_iter, random_state=seed))
  return _score(probe, train_codes, train_labels, test_codes, test_labels)


def mlp_probe(train_codes: np.ndarray, train_labels: np.ndarray,
              test_codes: np.ndarray, test_labels: np.ndarray,
              seed: int = 0, max_iter: int = 100,
              hidden=(256, 256)) -> dict:
  """An MLP (ReLU, Adam, seeded) on standardized codes (N, D); max_iter
  epochs bound its time. Returns {'train': accuracy, 'test': accuracy}."""
  probe = make_pipeline(
      StandardScaler(),
      MLPClassifier(hidden_layer_sizes=tuple(hidden), max_iter=max_iter,
                    random_state=seed, early_stopping=False))
  with warnings.catch_warnings():  # max_iter bounds the time by design
    warnings.simplefilter('ignore', ConvergenceWarning)
    return _score(probe, train_codes, train_labels, test_codes, test_labels)


def sample_z(z_mean: np.ndarray, z_logvar: np.ndarray,
             seed: int) -> np.ndarray:
  """One draw of q(z|x) = N(mean, exp(logvar)) per row, (N, D)."""
  eps = np.random.default_rng(seed).standard_normal(z_mean.shape)
  return (z_mean + np.exp(0.5 * z_logvar) * eps).astype(np.float32)
