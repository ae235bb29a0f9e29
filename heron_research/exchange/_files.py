"""Writing a private file atomically: a temporary file beside it, fsync, then into place.

Keys and bundles are written this way, so a crash part-way never leaves a half-written
file under the real name, and the file is owner-only (0600) from its first byte.
"""

from __future__ import annotations

import os
import uuid
from contextlib import suppress
from pathlib import Path

from heron_research.workbook.store import sync_folder

__all__ = ["write_private"]


def write_private(path: Path, data: bytes, *, replace: bool = False) -> Path:
    """Write ``data`` to ``path`` owner-only (0600) and atomically.

    Without ``replace`` an existing ``path`` is never touched: :class:`FileExistsError`.
    The data goes to a temporary file in the same folder, is flushed to disk, and only
    then takes the name (a hard link, which never replaces a file, or a rename when
    ``replace`` is given or the disk has no hard links).
    """
    path = Path(path)
    if not replace and path.exists():
        raise FileExistsError(path)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, 0o600)  # whatever the umask
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(partial, path)
        else:
            try:
                os.link(partial, path)
            except FileExistsError:
                raise
            except OSError:  # no hard links here (FAT, exFAT): rename, having looked
                if path.exists():
                    raise FileExistsError(path) from None
                os.rename(partial, path)
    finally:
        with suppress(FileNotFoundError):
            partial.unlink()
    sync_folder(path.parent)
    return path
