"""Whether another process has a workbook open.

A workbook is in SQLite's WAL mode. Every connection to it, in any process, holds a shared
POSIX lock on one byte of the ``-shm`` file (SQLite's "dead man's switch", byte 128: after
the 8 WAL lock bytes that start at byte 120) for as long as it is open, idle or not. Asking
for an exclusive lock on that byte, without waiting, therefore tells whether any *other*
process has the workbook open: a JupyterLab kernel left running, say, whose later saves
would go nowhere if the file were replaced under it.

POSIX locks belong to a process, and closing any descriptor of a file drops all of that
process's locks on it. So never ask this about a workbook this process has open itself:
the answer would be "no", and asking would drop SQLite's own lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["open_elsewhere"]

#: the byte of the -shm file every open connection holds a shared lock on (SQLite's os_unix.c:
#: UNIX_SHM_BASE = (22 + SQLITE_SHM_NLOCK) * 4 = 120, UNIX_SHM_DMS = UNIX_SHM_BASE + 8)
_DMS_BYTE = 128


def open_elsewhere(path: str | os.PathLike[str]) -> bool:
    """True if another process has the workbook at ``path`` open (it must not be replaced).

    False when nobody has it open, when it is not in WAL mode (no ``-shm`` file) and when
    the ``-shm`` file cannot be opened for writing (then no connection could be using it).
    """
    shm = Path(f"{os.fspath(path)}-shm")
    try:
        fd = os.open(shm, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _DMS_BYTE)
        except OSError:
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _DMS_BYTE)
        return False
    finally:
        os.close(fd)
