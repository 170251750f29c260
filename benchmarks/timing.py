"""Interleaved timing: robust ratios on a machine that others also use.

Each contender runs `steps` steps per round; rounds alternate between the
contenders (the order rotating every round), so slow phases of background load
hit all of them alike, and the median over rounds drops the outliers.
"""
import statistics
import time
from typing import Callable, Dict, List


def interleaved(runners: Dict[str, Callable[[int], None]], rounds: int,
                steps: int) -> Dict[str, List[float]]:
  """runners[name](n) runs n steps and returns once they are done.

  Returns seconds per step of every round, per name.
  """
  names = list(runners)
  times = {name: [] for name in names}
  for r in range(rounds):
    for name in names[r % len(names):] + names[:r % len(names)]:
      start = time.perf_counter()
      runners[name](steps)
      times[name].append((time.perf_counter() - start) / steps)
  return times


def summary(seconds_per_step: List[float], images_per_step: int) -> dict:
  """Median step time and images/s, with the spread over rounds."""
  median = statistics.median(seconds_per_step)
  return {
      'step_ms': 1e3 * median,
      'step_ms_min': 1e3 * min(seconds_per_step),
      'step_ms_max': 1e3 * max(seconds_per_step),
      'images_per_s': images_per_step / median,
      'rounds': len(seconds_per_step),
  }
