"""Examples grouped by class: what every draw by label needs (the triplet
batches' x2 of x1's class, same-class swap pairs, the figures' sources,
retrieval's gallery and queries)."""
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ClassIndex:
  """labels (N,) grouped by class; K classes.

  classes (K,): the labels present, ascending. counts (K,): examples of each.
  order (N,): example indices sorted by class, ascending within a class.
  starts (K,): where each class begins in `order`. class_of (N,): each
  example's class as a position in `classes`. rank (N,): its position within
  its class. All int64 but `classes` (the labels' dtype).
  """
  classes: np.ndarray
  counts: np.ndarray
  order: np.ndarray
  starts: np.ndarray
  class_of: np.ndarray
  rank: np.ndarray

  @classmethod
  def of(cls, labels: np.ndarray) -> 'ClassIndex':
    labels = np.asarray(labels).reshape(-1)
    classes, class_of, counts = np.unique(labels, return_inverse=True,
                                          return_counts=True)
    counts = counts.astype(np.int64)
    order = np.argsort(labels, kind='stable').astype(np.int64)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(labels), np.int64)
    rank[order] = np.arange(len(labels)) - np.repeat(starts, counts)
    return cls(classes, counts, order, starts,
               class_of.reshape(-1).astype(np.int64), rank)

  def members(self, k: int) -> np.ndarray:
    """The indices of class classes[k]'s examples, ascending: (counts[k],)."""
    return self.order[self.starts[k]:self.starts[k] + self.counts[k]]
