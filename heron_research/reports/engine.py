"""The papermill engine reports run on, registered once with papermill when this module is
first imported (as papermill registers its own engines at the end of ``papermill.engines``).

The runner imports this module only once the report's kernel is starting, so papermill's
import overlaps the kernel's start-up instead of adding to it; Python's module cache makes
the registration happen once per process however many reports run.
"""

from __future__ import annotations

from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

__all__ = ["ENGINE", "PrestartedKernelEngine"]

#: the name reports pass to :func:`papermill.execute_notebook` as ``engine_name``
ENGINE = "heron-research"


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
        **kwargs: Any,
    ) -> Any:
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
        client = PapermillNotebookClient(nb_man, shutdown_kernel="immediate", **final)
        return client.execute(cleanup_kc=True)


papermill_engines.register(ENGINE, PrestartedKernelEngine)
