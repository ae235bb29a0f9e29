"""The lab's Python kernel: ipykernel's own app, whose sockets never drop what it sends.

Run as ``python -m heron_research.kernel_app -f CONNECTION_FILE`` in place of
``python -m ipykernel_launcher`` (:class:`heron_research.lab_kernels.LosslessServerKernelManager`
makes that substitution). Each socket the app binds gets an unlimited send queue
(``SNDHWM=0``, ZeroMQ's default is 1,000 messages): when the lab's server is too busy to
read, iopub messages wait in the kernel's memory instead of being dropped.

Kept apart from :mod:`heron_research.lab_kernels` so that the kernel's process imports
nothing of the server (jupyter_server alone takes over a second to import): a kernel whose
heartbeat is late is taken for dead by Jupyter's clients.
"""

from __future__ import annotations

import sys
from typing import Any

import zmq
from ipykernel.kernelapp import IPKernelApp

__all__ = ["LosslessKernelApp", "main"]


class LosslessKernelApp(IPKernelApp):
    """The stock ipykernel app; each socket it binds has an unbounded send queue."""

    def _bind_socket(self, s: zmq.Socket[Any], port: int) -> int:
        s.setsockopt(zmq.SNDHWM, 0)
        return super()._bind_socket(s, port)


def main() -> None:
    """Start the kernel, as ``ipykernel_launcher`` does."""
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # as ipykernel_launcher does: the working folder is not a source
    LosslessKernelApp.launch_instance()


if __name__ == "__main__":
    main()
