"""The kernels report notebooks run on: started warm, stopped promptly, and (for a
caseload) kept for the next notebook.

:func:`start_kernel` starts a python3 kernel in a private folder (its sockets there too, on
POSIX) that imports the report code while it starts (:data:`WARM_UP`), so the kernel's
imports overlap the runner's own. :func:`stop_kernel` stops it and removes its files.

:class:`ReusedKernel` is one kernel, with one client, for the notebooks of a caseload: the
client's channels are opened once, and between two notebooks the kernel's namespace is
cleared (:data:`RESET`) over that client, so each further notebook pays neither a kernel
start nor a client start (each client start waits for the kernel to answer and then for
its output channel to fall quiet). A kernel that died is replaced by a new one.
:class:`Background` runs a callable in a thread (nbconvert's exporter is made that way
while the notebook runs).

Every kernel object is used from the thread that made it: its client lives on that
thread's event loop. :meth:`ReusedKernel.kill` is the one method another thread may call.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from heron_research.errors import ReportError
from heron_research.reports.warm import without_optional

__all__ = [
    "RESET",
    "WARM_UP",
    "Background",
    "ReusedKernel",
    "close_thread_loop",
    "start_kernel",
    "stop_kernel",
]

#: what the kernel imports while it starts (in the kernel's own process): the report
#: kind's section module is added by :func:`start_kernel`
WARM_UP = "from heron_research.reports.warm import warm_up; warm_up({modules}); del warm_up"
#: what a reused kernel runs between two notebooks of a caseload: the last report's names
#: are forgotten (its modules stay imported) and chart ids start again, so each report is
#: the page a single ``heron-research report`` makes
RESET = (
    "get_ipython().reset(new_session=False)\n"
    "from heron_research.charts import restart_ids; restart_ids(); del restart_ids"
)
#: seconds a kernel has to answer its first request, and to clear its namespace
READY_TIMEOUT_S = 120
RESET_TIMEOUT_S = 60


class Background:
    """Run a callable in a thread; :meth:`result` waits and re-raises its error."""

    def __init__(self, work: Callable[[], Any], name: str) -> None:
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._result = work()
        except BaseException as exc:  # handed to the caller in result()
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def start_kernel(cwd: Path, modules: tuple[str, ...] = ()) -> Any:
    """Start a python3 kernel in ``cwd`` that imports the report code (and ``modules``)
    while it starts up; its jupyter_client ``AsyncKernelManager``."""
    with without_optional():
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

    if os.name == "posix":  # sockets in the private work folder: no port another user can reach
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(cwd / "kernel"))
    else:
        km = AsyncKernelManager(kernel_name="python3")
    run_sync(km.start_kernel)(
        cwd=str(cwd),
        extra_arguments=[
            f"--IPKernelApp.exec_lines={WARM_UP.format(modules=', '.join(map(repr, modules)))}",
            # no history of the report's code (it names the workbook) under ~/.ipython
            "--HistoryManager.enabled=False",
            "--HistoryManager.hist_file=:memory:",
        ],
    )
    return km


def stop_kernel(km: Any, *, now: bool = False) -> None:
    """Stop ``km``'s kernel (if it is still running) and remove its connection files;
    ``now``: kill it rather than ask it to shut down (it holds nothing to save)."""
    from jupyter_core.utils import run_sync

    try:
        if run_sync(km.is_alive)():
            run_sync(km.shutdown_kernel)(now=now)
    finally:
        run_sync(km.cleanup_resources)()


class ReusedKernel:
    """One kernel and one open client for the notebooks of a caseload run, in a private
    folder of its own; a new kernel only after one died."""

    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = modules
        self.work = Path(tempfile.mkdtemp(prefix="heron-caseload-"))
        self.km: Any = None
        self.kc: Any = None
        self.used = False
        self.answered = False
        self.killed = False
        self._pid: int | None = None

    def start(self) -> None:
        """Start the kernel and open its client (if there is none, or the last one died),
        without waiting for it: the kernel imports the report code while the caller goes
        on; :meth:`ready` waits."""
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            self.drop()
        if self.km is None:
            if self.killed:
                raise ReportError("the caseload was stopped")
            self.km = start_kernel(self.work, self.modules)
            self._pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
            self.kc = self.km.client()
            # no heartbeat thread (the kernel manager says whether the kernel is alive) and
            # no stdin: a killed kernel then leaves no channel thread to fail on its own
            self.kc.start_channels(stdin=False, hb=False)
            self.kc.allow_stdin = False
            self.answered = False
            self.used = False

    def ready(self) -> tuple[Any, Any]:
        """(kernel manager, client) of a live kernel that has answered, with nothing left
        of the last notebook in its namespace."""
        from jupyter_core.utils import run_sync

        self.start()
        if not self.answered:
            try:
                run_sync(self.kc.wait_for_ready)(timeout=READY_TIMEOUT_S)
            except BaseException:
                self.drop()
                raise
            self.answered = True
        if self.used and not self._reset():
            self.drop()
            return self.ready()
        self.used = True
        return self.km, self.kc

    def _reset(self) -> bool:
        """Clear the namespace over the open client; whether that worked (a kernel that
        died meanwhile is noticed within a second)."""
        from queue import Empty

        from jupyter_core.utils import run_sync

        msg_id = self.kc.execute(RESET, silent=True, store_history=False)
        deadline = time.monotonic() + RESET_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                reply = run_sync(self.kc.get_shell_msg)(timeout=1)
            except Empty:
                if not run_sync(self.km.is_alive)():
                    return False
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return bool(reply.get("content", {}).get("status") == "ok")
        return False

    def drop(self) -> None:
        """Close the client and stop the kernel; the next :meth:`start` makes new ones."""
        kc, self.kc = self.kc, None
        km, self.km = self.km, None
        self._pid = None
        try:
            if kc is not None:
                kc.stop_channels()
        finally:
            if km is not None:  # a report's kernel holds nothing to save: no need to wait
                stop_kernel(km, now=True)

    def kill(self) -> None:
        """Kill the kernel's process now (from any thread): the notebook running on it stops
        with a dead kernel, no new kernel is started (:meth:`start` raises ReportError),
        and :meth:`close` then cleans up on the owning thread."""
        self.killed = True  # and no new one is started
        pid = self._pid
        if pid is not None:
            with suppress(ProcessLookupError, PermissionError):  # gone already
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    def close(self) -> None:
        try:
            self.drop()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def close_thread_loop() -> None:
    """Close the event loop jupyter_client's calls made for this thread (a caseload lane's,
    at its end): its sockets are released now, not by the garbage collector later."""
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    if not loop.is_running():
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
