"""Periodic progress lines with an ETA for long loops (a log file, a
notebook or CI show them where a progress bar would not)."""
import time

from absl import logging


def duration(seconds: float) -> str:
  """'12 s', '3 min 05 s' or '2 h 07 min'."""
  seconds = int(round(seconds))
  if seconds < 60:
    return f'{seconds} s'
  if seconds < 3600:
    return f'{seconds // 60} min {seconds % 60:02d} s'
  return f'{seconds // 3600} h {seconds % 3600 // 60:02d} min'


class Progress:
  """`Progress('judge', 1000).update(i)` logs 'judge: 250/1000 (25%),
  12 s elapsed, ETA 36 s' at most every `every_s` seconds, and at the end."""

  def __init__(self, what: str, total: int, every_s: float = 30.,
               unit: str = ''):
    self.what, self.total, self.every_s = what, max(int(total), 1), every_s
    self.unit = f' {unit}' if unit else ''
    self.start = self._last = time.time()

  def line(self, done: int) -> str:
    elapsed = time.time() - self.start
    text = (f'{self.what}: {done}/{self.total}{self.unit} '
            f'({100 * done / self.total:.0f}%), {duration(elapsed)} elapsed')
    if 0 < done < self.total:
      text += f', ETA {duration(elapsed * (self.total - done) / done)}'
    return text

  def update(self, done: int) -> None:
    now = time.time()
    if done >= self.total or now - self._last >= self.every_s:
      self._last = now
      logging.info('%s', self.line(done))
