"""Reading a workbook without leaving anything beside it.

A read-only SQLite connection to a workbook in WAL mode creates its ``-wal`` and ``-shm``
files when they are missing and, being read-only, cannot remove them when it closes: every
report, check or batch would leave two files beside the client's workbook.
:func:`read_quietly` avoids that. When the workbook has no ``-wal`` or ``-shm`` file (no
program has it open), it is read ``immutable`` (nothing is created) and its
:func:`signature` is compared before and after; if it changed meanwhile (another program
wrote it), or it has those files already, it is read with an ordinary read-only open,
which sees every committed entry.

:func:`signature` is also the research batch's check that an input did not change while it
was read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from heron_research.workbook.store import Clock, Workbook

__all__ = ["COMPANIONS", "Signature", "read_quietly", "signature", "wal_file"]

T = TypeVar("T")

#: the files SQLite keeps beside a workbook in WAL mode while it is open
COMPANIONS = ("-wal", "-shm")
Signature = tuple[tuple[int, int, int, int, int] | None, ...]


def wal_file(path: Path) -> Path:
    """The workbook's ``-wal`` file (which may not exist)."""
    return path.with_name(path.name + "-wal")


def _stat(path: Path) -> tuple[int, int, int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def signature(path: Path) -> Signature:
    """What changes whenever the file or its ``-wal`` file is written: device, inode, size,
    modification and change times (the change time is set by the system on every write and
    cannot be set back by a program)."""
    main = _stat(path)
    if main is None:
        raise FileNotFoundError(f"{path}: no such file")
    wal = _stat(wal_file(path))
    # an empty -wal file holds nothing (SQLite makes one when a reader opens the workbook).
    # The -wal's change time is left out: SQLite run as root chowns the -wal on every open,
    # so a reader's own open would look like a change; its size and mtime still tell.
    return (main, (*wal[:4], 0) if wal is not None and wal[2] > 0 else None)


def _has_companions(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).exists() for suffix in COMPANIONS)


def read_quietly(
    path: str | os.PathLike[str],
    read: Callable[[Workbook], T],
    *,
    clock: Clock | None = None,
) -> T:
    """``read(wb)`` on the workbook at ``path`` opened read-only, leaving nothing beside it
    when nothing was there (see the module's docstring). ``read`` may be called twice (the
    second time on an ordinary read-only open, when the file changed during the first):
    it must only read. Errors are those of :meth:`Workbook.open` and of ``read``."""
    from heron_research.workbook.store import Workbook

    path = Path(path)
    if path.is_file() and not _has_companions(path):
        before = signature(path)
        try:
            with Workbook.open(path, readonly=True, clock=clock, immutable=True) as wb:
                result = read(wb)
        except Exception:
            if _unchanged(path, before):
                raise  # the file's own problem: an ordinary open says the same
        else:
            if _unchanged(path, before):
                return result
    with Workbook.open(path, readonly=True, clock=clock) as wb:
        return read(wb)


def _unchanged(path: Path, before: Signature) -> bool:
    try:
        return signature(path) == before and not _has_companions(path)
    except FileNotFoundError:
        return False
