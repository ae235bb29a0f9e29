"""Starting a report kernel quickly and leanly.

Two optional extras that libraries import "if installed" cost a report much and give it
nothing, so :func:`without_optional` hides them while the heavy modules are imported:

* ``rfc3987_syntax``: jsonschema (under nbformat and altair) imports it, when installed, to
  check IRI formats, and building its parser takes 1.5-3 s at every start. Reports never
  validate IRIs.
* ``pyarrow``: pandas 3 loads it (about 70 MB) to back text columns when installed, and
  papermill loads it for HDFS paths. Report frames are small and local: pandas' own
  string storage serves them, and reports never read from HDFS.

Afterwards both import normally again if anything asks for them explicitly.

The runner starts the kernel with ``exec_lines`` calling :func:`warm_up` (with the report
kind's section module, from the report-kind table), so these imports
happen while the runner itself is still importing papermill, not after; a notebook run any
other way (JupyterLab, nbval) calls it from its first cell.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MODULES", "OPTIONAL_EXTRAS", "warm_up", "without_optional"]

OPTIONAL_EXTRAS = ("rfc3987_syntax", "pyarrow")
#: the modules every report notebook imports, heaviest first (the runner adds the report
#: kind's own section module)
MODULES = ("pandas", "altair")


@contextmanager
def without_optional(names: tuple[str, ...] = OPTIONAL_EXTRAS) -> Iterator[None]:
    """Within the block, importing any of ``names`` not yet imported raises ImportError
    (libraries treat them as not installed); afterwards they can be imported as usual."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not here"
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def warm_up(*modules: str) -> None:
    """Import what a report notebook uses (leanly), and ``modules``, and start the chart
    renderer's engine."""
    with without_optional():
        for name in (*MODULES, *modules):
            importlib.import_module(name)
    from heron_research.charts import start_warm_up

    start_warm_up()
