"""Errors that end a run cleanly: shown as one line, never a traceback."""
import signal


class UserError(ValueError):
  """Bad input (config, data, workdir); the message names the problem and the fix."""


class Stopped(Exception):
  """Training stopped on purpose; the newest checkpoint is good. exit_code is
  what the command line exits with."""
  exit_code = 1


class Preempted(Stopped):
  """SIGTERM or SIGINT: the step finished and its checkpoint is written."""

  def __init__(self, signum: int, step: int, checkpoint_dir: str):
    self.signum, self.step = signum, step
    self.exit_code = 128 + signum  # what a shell reports for the signal
    saved = (f'checkpoint saved in {checkpoint_dir}' if step else
             'no step was done yet')
    super().__init__(
        f'{signal.Signals(signum).name} received: stopped at step {step} '
        f'({saved}); run the same command again to resume')


class NonFiniteError(Stopped):
  """A loss or gradient became NaN or Inf."""
  exit_code = 3


def summary(e: BaseException) -> str:
  """'Type: first line of the message' (at most 300 characters): an error of
  a library, for a one-line log."""
  text = str(e)
  return f'{type(e).__name__}: {text.splitlines()[0][:300] if text else ""}'
