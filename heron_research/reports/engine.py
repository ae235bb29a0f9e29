"""The papermill engine reports run on, registered once with papermill when this module is
first imported (as papermill registers its own engines at the end of ``papermill.engines``).

The runner imports this module only once the report's kernel is starting, so papermill's
import overlaps the kernel's start-up instead of adding to it; Python's module cache makes
the registration happen once per process however many reports run.

When the kernel dies in a cell (a library aborting the process, the memory running out),
the engine writes that into the cell that was running, as an error output named
:data:`KERNEL_DIED`, and lets papermill finish as for any failing cell: papermill then saves
the partial notebook and raises its execution error, so the runner names the section and
keeps the notebook, as it does when a section raises.
"""

from __future__ import annotations

from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

__all__ = ["ENGINE", "KERNEL_DIED", "PrestartedKernelEngine"]

#: the name reports pass to :func:`papermill.execute_notebook` as ``engine_name``
ENGINE = "heron-research"
#: the error name written into the cell that was running when the kernel died
KERNEL_DIED = "KernelDied"


def _mark_dead_kernel(nb_man: Any, reason: str) -> bool:
    """Put an error output in the cell that was running when the kernel died: the last one
    papermill started (cells not reached have no start time). False if none had started
    (the kernel died before the first section: there is no section to name)."""
    started = [
        (i, cell)
        for i, cell in enumerate(nb_man.nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return False
    index, cell = started[-1]
    from nbformat import v4

    cell.setdefault("outputs", []).append(
        v4.new_output(
            "error",
            ename=KERNEL_DIED,
            evalue=f"the report's kernel stopped while this section ran ({reason})",
            traceback=[],
        )
    )
    nb_man.cell_exception(cell, cell_index=index)
    return True


class PrestartedKernelEngine(NBClientEngine):
    """Runs the notebook on a kernel started beforehand (``km``) and still shuts it down
    afterwards (papermill's own engine leaves a kernel it did not start running)."""

    @classmethod
    def execute_managed_notebook(  # type: ignore[override]
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        keep_kernel: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Execute the notebook; with ``keep_kernel`` the kernel stays up for the next
        notebook (a caseload run), otherwise it is stopped when the last cell replies. A
        client passed in (``kc``, already open) is used as it is and left open."""
        from nbclient.exceptions import DeadKernelError

        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(
            kwargs,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        # the notebook is complete when the last cell replies: stop the kernel at once
        # rather than wait for it to tear down pandas and the chart engine
        given = final.pop("kc", None)
        client = PapermillNotebookClient(nb_man, shutdown_kernel="immediate", **final)
        if given is not None:  # nbclient then opens no client of its own
            client.kc = given
        try:
            return client.execute(cleanup_kc=not keep_kernel)
        except DeadKernelError as exc:
            if not _mark_dead_kernel(nb_man, str(exc) or "it died"):
                raise  # before any section: the runner says the notebook could not run
            return nb_man.nb
        finally:
            if keep_kernel and given is None and client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE, PrestartedKernelEngine)
