"""Whether another process has a workbook open: :func:`open_elsewhere`, kept here for the
modules that import it from this name; it lives with the other file helpers in
:mod:`heron_research.workbook.files`."""

from heron_research.workbook.files import open_elsewhere

__all__ = ["open_elsewhere"]
