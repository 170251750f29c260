"""Identity probes (the paper's Table 1): how well a classifier trained on a
code predicts the class. s should score near a supervised classifier, z near
chance."""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline


def chance_accuracy(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
  """Accuracy of always predicting the most frequent training class."""
  classes, counts = np.unique(train_labels, return_counts=True)
  return float(np.mean(test_labels == classes[np.argmax(counts)]))


def logistic_probe(train_codes: np.ndarray, train_labels: np.ndarray,
                   test_codes: np.ndarray, test_labels: np.ndarray,
                   seed: int = 0, max_iter: int = 300) -> dict:
  """Multinomial logistic regression on standardized codes (N, D).

  Returns {'train': accuracy on the fitting codes, 'test': on the others}.
  """
  probe = make_pipeline(
      StandardScaler(),
      LogisticRegression(max_iter=max_iter, random_state=seed))
  probe.fit(train_codes, train_labels)
  return {'train': float(probe.score(train_codes, train_labels)),
          'test': float(probe.score(test_codes, test_labels))}
