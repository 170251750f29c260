"""Progress lines: counts, percentage, elapsed time and ETA."""
from dvae_jax.runtime import progress


def test_progress_lines(monkeypatch):
  now = [100.]
  monkeypatch.setattr(progress.time, 'time', lambda: now[0])
  logged = []
  monkeypatch.setattr(progress.logging, 'info',
                      lambda fmt, *args: logged.append(fmt % args))
  p = progress.Progress('judge', 1000, every_s=30, unit='steps')
  now[0] = 110.
  p.update(250)  # within 30 s of the start: quiet
  assert not logged
  now[0] = 140.
  p.update(400)
  assert logged == ['judge: 400/1000 steps (40%), 40 s elapsed, ETA 1 min 00 s']
  now[0] = 7340.
  p.update(1000)  # the end is always logged, without an ETA
  assert logged[-1] == 'judge: 1000/1000 steps (100%), 2 h 00 min elapsed'
