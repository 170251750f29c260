"""Log filters shared by the command lines."""
import logging as pylogging


class DropLibraryChatter(pylogging.Filter):
  """Orbax logs every step of every save at INFO; keep its warnings only, and
  without the tracebacks it attaches: we report its errors in one line."""

  def filter(self, record):
    if '/orbax/' not in record.pathname:
      return True
    record.exc_info, record.exc_text = None, None
    return record.levelno >= pylogging.WARNING
