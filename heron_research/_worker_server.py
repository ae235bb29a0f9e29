"""The server a local Dask cluster's workers are forked from (the research batch's).

Kept apart from :mod:`heron_research.research` and importing nothing of the package (nor
Dask, pandas or pyarrow, not even to start the server), so that the command line can start
the server as its first step, before it imports the batch: the server's imports then run
beside the command's own. See :func:`worker_server`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

__all__ = ["DASK_PRE_SPAWN_ENVIRON", "DEFAULTED", "WORKER_MODULES", "available", "worker_server"]

#: what a local worker starts with, imported once in the process workers are forked from
#: (the first: the user's Dask config for the environment, before the rest is imported)
WORKER_MODULES = (
    "heron_research._worker_environ",
    "distributed",
    "pyarrow",  # (and numpy; not pandas: see heron_research.research.arrays)
    "heron_research.research.task",
)
#: names the server's environment took from :data:`DASK_PRE_SPAWN_ENVIRON` (for the server)
DEFAULTED = "HERON_WORKER_DEFAULTED"
#: Dask's default ``distributed.nanny.pre-spawn-environ`` (distributed.yaml)
DASK_PRE_SPAWN_ENVIRON = {
    "MALLOC_TRIM_THRESHOLD_": 65536,
    "OMP_NUM_THREADS": 1,
    "MKL_NUM_THREADS": 1,
    "OPENBLAS_NUM_THREADS": 1,
}


@contextmanager
def worker_server() -> Iterator[None]:
    """The process the local workers are forked from, started at once: it imports what a
    worker needs (Dask, this package's task, pyarrow) while this process imports
    Dask, starts the scheduler and lists the inputs, and each worker then starts with them
    imported. A worker started afresh (Dask's default, ``spawn``) spends 1-2 s of CPU
    importing them itself, and as long again tearing its interpreter down at the end. The
    server is a fresh interpreter, not a copy of this process: the study key is never in it.

    Dask's ``distributed.worker.multiprocessing-method: forkserver`` (set by
    :func:`heron_research.research.batch.dask_client`) uses the standard library's server,
    started here with :data:`WORKER_MODULES` to preload (Dask's own list for it, in
    ``distributed.utils.get_mp_context``, is taken later and changes nothing then). Dask's
    ``pre-spawn-environ`` (``PYTHONHASHSEED`` and allocator settings), which a nanny sets
    before it starts a worker, is set for the server's start from a copy of Dask's
    defaults, without importing Dask here (and this process's own environment restored at
    once); the user's own values for it are set in the server as it starts (see
    :mod:`heron_research._worker_environ`). On exit the server is stopped, without waiting for it to
    tear its interpreter down (it holds nothing): a batch leaves no process behind.
    Re-entrant: only the outermost use starts and stops it."""
    import multiprocessing
    import multiprocessing.forkserver as forkserver

    server = forkserver._forkserver  # the module's one server
    if not available() or getattr(server, "_forkserver_pid", None) is not None:
        yield  # none on this system (Dask spawns), or running (an outer use, or another's)
        return
    environ = _pre_spawn_environ()
    before = {name: os.environ.get(name) for name in environ}
    os.environ.update(environ)
    try:
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_MODULES))
        forkserver.ensure_running()  # the server (and every worker) starts with ``environ``
    finally:  # this process's own environment as it was (kernels, later subprocesses)
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield
    finally:
        _stop(server)


def available() -> bool:
    """Whether this system has a fork server (not Windows); without one, Dask spawns."""
    import multiprocessing

    return "forkserver" in multiprocessing.get_all_start_methods()


def _stop(server: Any) -> None:
    import signal

    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with suppress(OSError):
        os.kill(pid, signal.SIGTERM)  # no Python teardown: it holds nothing
    with suppress(OSError, ChildProcessError):
        server._stop()  # closes its pipe, reaps it, removes its socket


def _pre_spawn_environ() -> dict[str, str]:
    """The variables a Dask nanny sets before it spawns a worker process: Dask's defaults,
    a value this process's environment has kept; which were defaulted is passed on for the
    user's config to replace (see :mod:`heron_research._worker_environ`)."""
    env = {name: os.environ.get(name, str(value)) for name, value in DASK_PRE_SPAWN_ENVIRON.items()}
    env["PYTHONHASHSEED"] = "6640"  # as Dask's nanny: one hash seed for every worker
    env[DEFAULTED] = ",".join(name for name in env if name not in os.environ)
    return env
