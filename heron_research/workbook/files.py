"""Files on disk: private folders, the one owner-only atomic writer, and a workbook's files.

Everything the package writes that holds a client's words is owner-only: folders 0700,
files 0600. Files are written by :func:`write_private`, which never shows a reader (or a
crash) a half-written file: the text goes to a temporary file in the same folder, is
flushed to disk, and then takes the name in one step.

A workbook is an SQLite database with up to three files beside it (its rollback journal,
or ``-wal`` and ``-shm``). :meth:`Workbook.create` builds a new one under a partial name
(``.NAME.*.creating``, locked while it is built) and links it into place;
:func:`sweep_partials` removes what a killed create left. :func:`open_elsewhere` tells
whether another process has a workbook open, from the lock SQLite holds on its ``-shm``.

POSIX locks belong to a process, and closing any descriptor of a file drops all of that
process's locks on it. So never ask :func:`open_elsewhere` about a workbook this process
has open itself: the answer would be "no", and asking would drop SQLite's own lock.
"""

from __future__ import annotations

import errno
import glob
import os
import secrets
import stat
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

__all__ = [
    "SIDECARS",
    "lock_partial",
    "new_partial",
    "open_elsewhere",
    "private_folder",
    "put_in_place",
    "remove_workbook_files",
    "sweep_partials",
    "sync_folder",
    "write_private",
]

#: The files SQLite may keep beside a database (its journal in either mode).
SIDECARS = ("-journal", "-wal", "-shm")

#: the byte of the -shm file every open connection holds a shared lock on (SQLite's os_unix.c:
#: UNIX_SHM_BASE = (22 + SQLITE_SHM_NLOCK) * 4 = 120, UNIX_SHM_DMS = UNIX_SHM_BASE + 8)
_DMS_BYTE = 128


# --- folders ---------------------------------------------------------------------------------


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a new or replaced file name) to disk, where that is possible."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def private_folder(folder: Path, *, tighten: bool = False) -> Path:
    """Make ``folder`` (and missing parents) if needed; a folder made here is owner-only.

    An existing folder is left as it is, unless ``tighten``: then it is made owner-only if
    this user owns it (a folder the package made for its own files, like the demo's).
    :class:`FileExistsError` if ``folder`` is a file; other problems as :class:`OSError`.
    """
    try:
        folder.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        if not folder.is_dir():
            raise
    else:
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
        return folder
    if tighten:
        info = folder.stat()
        owner = getattr(os, "getuid", lambda: info.st_uid)()
        if info.st_uid == owner and stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(folder, 0o700)
    return folder


# --- the one writer --------------------------------------------------------------------------


def put_in_place(temporary: Path, path: Path, *, replace: bool) -> None:
    """Give ``temporary``'s file the name ``path`` in one step.

    ``replace`` moves it over whatever ``path`` was (readers see the old file or the new,
    never a mix). Otherwise :class:`FileExistsError` if ``path`` exists: the file is linked
    to ``path`` (a link, unlike a rename, never replaces a file) and ``temporary`` keeps its
    name; on a disk without hard links (FAT, exFAT) it is renamed, having looked first.
    """
    if replace:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:
        if path.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
        os.rename(temporary, path)


def write_private(
    path: str | os.PathLike[str],
    data: bytes | str | Iterable[bytes | str],
    *,
    replace: bool = True,
) -> Path:
    """Write ``data`` (bytes, text, or an iterable of chunks) to ``path``, owner-only (0600).

    The data goes to a temporary file in the same folder, which is flushed to disk and
    then takes the name (:func:`put_in_place`; with ``replace=False`` an existing ``path``
    stays and :class:`FileExistsError` is raised), and the folder is flushed. So if the
    program fails or is killed part-way, ``path`` is the old file, whole, or the new one,
    whole: never a partial file. Text is written as UTF-8. What a killed writer left
    beside ``path`` (its temporary file) is removed by the next write to ``path``.
    """
    path = Path(path)
    chunks = [data] if isinstance(data, bytes | str) else data
    _sweep_writes(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:  # name the file the caller asked for, not our temporary one
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            fh.flush()
            os.fchmod(fh.fileno(), 0o600)  # the umask can only have narrowed it; be exact
            os.fsync(fh.fileno())
        put_in_place(temporary, path, replace=replace)
    finally:
        temporary.unlink(missing_ok=True)  # after a link, or after a failure
    sync_folder(path.parent)
    return path


def _sweep_writes(path: Path) -> None:
    """Remove the temporary files of writers of ``path`` that are no longer running."""
    pattern = glob.escape(str(path.with_name(f".{path.name}."))) + "*-*.tmp"
    for name in glob.glob(pattern):
        pid = Path(name).name[len(path.name) + 2 :].partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            with suppress(OSError):
                os.unlink(name)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: running
        return True
    return True


# --- a workbook's files ----------------------------------------------------------------------


def new_partial(path: Path) -> tuple[Path, int]:
    """A new, empty, owner-only file beside ``path`` to build a workbook in, and its open
    descriptor, holding the lock :func:`sweep_partials` respects (keep it open until the
    partial is gone: closing it releases the lock)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(6)}.creating")
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    lock_partial(fd)
    return partial, fd


def lock_partial(fd: int) -> bool:
    """Take the exclusive lock a creator holds on its partial file while it builds it.

    An ``flock`` (not SQLite's own POSIX locks): the system drops it when the creator
    exits or is killed, however that happens. False where there is no ``flock``.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no sweeping, the leftovers stay (they hold no entries)
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def remove_workbook_files(path: Path, *, sidecars_only: bool = False) -> list[Path]:
    """Remove a database file and its journal, ``-wal`` and ``-shm``; the ones removed."""
    removed = []
    for suffix in SIDECARS if sidecars_only else ("", *SIDECARS):
        with suppress(OSError):
            Path(f"{path}{suffix}").unlink()
            removed.append(Path(f"{path}{suffix}"))
    return removed


def sweep_partials(path: Path) -> list[Path]:
    """Remove what killed :meth:`Workbook.create` calls left beside ``path``; the removed.

    A ``.NAME.*.creating`` file is removed (with its journal, ``-wal`` and ``-shm``) only
    when no live process holds its lock, so a create still running elsewhere is never
    disturbed. Such a file holds no entries, or, if the kill came between linking it into
    place and removing it, is a second name for the finished workbook: removing it loses
    nothing. Journal or WAL files whose partial is already gone go too.
    """
    removed: list[Path] = []
    pattern = glob.escape(str(path.with_name(f".{path.name}."))) + "*.creating*"
    partials = set()
    for name in glob.glob(pattern):  # the partials, and sidecars left without one
        for suffix in SIDECARS:
            name = name.removesuffix(suffix)
        if name.endswith(".creating"):
            partials.add(Path(name))
    for partial in sorted(partials):
        if _same_file(partial, path):
            # a second name of the finished workbook: removing a name is always safe, and
            # it is never opened here (closing a descriptor of a database this process
            # has open would drop SQLite's locks on it)
            removed.extend(remove_workbook_files(partial))
        elif not partial.exists():  # only its journal or WAL is left: nobody creates it
            removed.extend(remove_workbook_files(partial, sidecars_only=True))
        else:
            removed.extend(_remove_if_abandoned(partial))
    return removed


def _remove_if_abandoned(partial: Path) -> list[Path]:
    """Remove ``partial`` and its sidecars if no live creator holds its lock."""
    try:
        fd = os.open(partial, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return []
    try:
        if not lock_partial(fd):
            return []  # being created right now (or no flock here)
        return remove_workbook_files(partial)  # while the lock is held
    finally:
        os.close(fd)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def open_elsewhere(path: str | os.PathLike[str]) -> bool:
    """True if another process has the workbook at ``path`` open (it must not be replaced).

    A workbook is in SQLite's WAL mode. Every connection to it, in any process, holds a
    shared POSIX lock on one byte of the ``-shm`` file (SQLite's "dead man's switch", byte
    128: after the 8 WAL lock bytes that start at byte 120) for as long as it is open, idle
    or not. Asking for an exclusive lock on that byte, without waiting, tells whether any
    *other* process has it open: a JupyterLab kernel left running, say, whose later saves
    would go nowhere if the file were replaced under it.

    False when nobody has it open, when it is not in WAL mode (no ``-shm`` file) and when
    the ``-shm`` file cannot be opened for writing (then no connection could be using it).
    """
    import fcntl

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
