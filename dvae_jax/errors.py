"""Errors that are the user's to fix: shown as one line, never a traceback."""


class UserError(ValueError):
  """Bad input (config, data, workdir); the message names the problem and the fix."""
