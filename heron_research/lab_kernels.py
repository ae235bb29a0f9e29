"""The kernel manager ``heron-research lab`` gives JupyterLab: no kernel output dropped.

A kernel publishes its output (and every ipywidgets ``comm_open``) on a ZeroMQ PUB
socket; the server reads it through a SUB socket. ZeroMQ drops PUB messages once the
queue towards a slow reader holds its high-water mark (1,000 messages on each side by
default). The lab runs kernels over Unix sockets (``ipc``), whose small buffers leave
little slack beyond that, and the workbook app opens some 1,500 widgets at once for a
year's workbook. On a busy machine the server fell behind, messages were dropped, and
the client saw "Error displaying widget: model not found" or a cell that never finished.

Here the server's sockets take an unlimited receive queue (``RCVHWM=0``). ZeroMQ's own
I/O thread keeps draining the kernel's socket into it while the server is busy, so the
kernel's side never fills; memory grows only by what the kernel actually sent.

Loaded inside the JupyterLab server process (``--ServerApp.kernel_manager_class``); it
needs only jupyter_server and pyzmq, both already there.
"""

from __future__ import annotations

import zmq
import zmq.asyncio
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import default

__all__ = ["LosslessKernelManager"]


class LosslessKernelManager(AsyncMappingKernelManager):
    """JupyterLab's kernel manager, with an unbounded receive queue on kernel sockets."""

    @default("context")
    def _lossless_context(self) -> zmq.asyncio.Context:
        context = zmq.asyncio.Context()
        self._created_context = True  # destroyed with the manager, as the default one is
        context.setsockopt(zmq.RCVHWM, 0)  # default for every socket made from it
        return context
