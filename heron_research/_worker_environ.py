"""Imported first by the server local Dask workers are forked from (see
:mod:`heron_research._worker_server`): the user's own ``distributed.nanny.pre-spawn-environ``
(from Dask's config files and ``DASK_*`` variables) into the server's environment, before
anything else is imported there.

The server is started before this package, or Dask, is imported by the command (so that its
imports run beside the command's own), with a copy of Dask's defaults for these variables.
Importing Dask only to read the user's config would hold the server's start back; it is read
here instead, where Dask is imported anyway. A variable the user's config sets (or unsets,
with a null) replaces a default, not one the command's own environment gave; the libraries
that read them (the maths libraries' ``*_NUM_THREADS``) are imported after this.
``PYTHONHASHSEED`` and ``MALLOC_TRIM_THRESHOLD_`` are read as the interpreter starts: those
keep the value the server started with.
"""

from __future__ import annotations

import os

import dask

from heron_research._worker_server import DEFAULTED

#: read by the interpreter as it starts: too late to change here
AT_START = frozenset({"PYTHONHASHSEED", "MALLOC_TRIM_THRESHOLD_"})


def apply_user_config() -> None:
    """Set the user's ``pre-spawn-environ`` values over the defaults the server started with.

    Dask's own defaults are not loaded yet (they come with ``distributed``'s config): what
    :func:`dask.config.get` returns now is the user's."""
    defaulted = set(filter(None, os.environ.pop(DEFAULTED, "").split(",")))
    for name, value in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items():
        name = str(name)
        if name in AT_START:
            continue
        if value is None:  # the user's config unsets a default (as a nanny leaves it unset)
            if name in defaulted:
                os.environ.pop(name, None)
        elif name in defaulted or name not in os.environ:
            os.environ[name] = str(value)


apply_user_config()
