"""The kernel manager ``heron-research lab`` gives JupyterLab: no kernel output dropped.

A kernel publishes its output (and every ipywidgets ``comm_open``) on a ZeroMQ PUB
socket; the server reads it through a SUB socket. ZeroMQ drops PUB messages once the
queue towards a slow reader holds its high-water mark (1,000 messages on each side by
default). The lab runs kernels over Unix sockets (``ipc``), whose small buffers leave
little slack beyond that, and the workbook app opens some 1,500 widgets at once for a
year's workbook. On a busy machine the server fell behind, messages were dropped, and
the client saw "Error displaying widget: model not found" or a cell that never finished.

Both ends lift the limit. The server's sockets take an unlimited receive queue
(``RCVHWM=0``), so ZeroMQ's own I/O thread drains the kernel's socket while the server is
busy. That alone still lost messages on a loaded 2-core machine (4,507 of 5,000 widget
openings: the server's I/O thread was not scheduled in time and the kernel's own send queue,
1,000 messages, overflowed). So a Python kernel is started as
:mod:`heron_research.kernel_app`, the stock ipykernel app whose sockets also have an
unlimited send queue (``SNDHWM=0``): a message the kernel sends waits in its memory until
the server takes it, never dropped.
Memory grows only by what the kernel actually sent.

Loaded inside the JupyterLab server process (``--ServerApp.kernel_manager_class``); it
needs only jupyter_server and pyzmq, both already there.
"""

from __future__ import annotations

import zmq
import zmq.asyncio
from jupyter_server.services.kernels.kernelmanager import (
    AsyncMappingKernelManager,
    ServerKernelManager,
)
from traitlets import default

__all__ = ["LosslessKernelManager", "LosslessServerKernelManager"]

#: the module the stock Python kernel spec runs, and ours in its place
_STOCK_LAUNCHER = "ipykernel_launcher"
_LOSSLESS_LAUNCHER = "heron_research.kernel_app"


class LosslessServerKernelManager(ServerKernelManager):
    """One kernel's manager: a Python kernel is started as :mod:`heron_research.kernel_app`."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        for i in range(len(cmd) - 1):
            if cmd[i] == "-m" and cmd[i + 1] == _STOCK_LAUNCHER:
                cmd[i + 1] = _LOSSLESS_LAUNCHER
                break
        return cmd


class LosslessKernelManager(AsyncMappingKernelManager):
    """JupyterLab's kernel manager, with unbounded queues on both ends of kernel sockets."""

    @default("kernel_manager_class")
    def _lossless_kernel_manager_class(self) -> str:
        return f"{__name__}.LosslessServerKernelManager"

    @default("context")
    def _lossless_context(self) -> zmq.asyncio.Context:
        context = zmq.asyncio.Context()
        self._created_context = True  # destroyed with the manager, as the default one is
        context.setsockopt(zmq.RCVHWM, 0)  # default for every socket made from it
        return context
