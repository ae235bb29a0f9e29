"""Helpers for leak scans: a sandboxed user, file walks, mode checks, content search.

A leak scan runs the real commands as a user would, with every place a program may write
for that user (``HOME``, ``TMPDIR``, the XDG folders) pointing into one sandbox folder,
so "every file the session created" is simply every file under the sandbox. Then:

* :func:`walk` lists what is there (with modes, without following links);
* :func:`mode_problems` names data files that are not 0600 and their folders not 0700;
* :func:`find_needles` searches files for strings that must not be there (a canary, the
  client's text, the workbook id), :func:`history_files` finds IPython history databases;
* :func:`snapshot` and :func:`changed_since` catch files written *outside* the sandbox;
* :func:`process_tree`, :func:`listening_addresses` and :func:`unix_socket_paths` say
  where a running process tree can be reached;
* :func:`http_status` asks a local server something without following redirects;
* :func:`notebook_problems` names outputs, execution counts and widget state in a notebook.

Used by ``tests/browser/test_leak_scan.py`` (issue 6, case 8); nothing here is specific
to JupyterLab or to one command.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
import stat
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SANDBOX_VARS",
    "Entry",
    "Hit",
    "Sandbox",
    "changed_since",
    "find_needles",
    "history_files",
    "history_rows",
    "http_status",
    "is_loopback",
    "is_sqlite",
    "listening_addresses",
    "mode_problems",
    "notebook_problems",
    "process_tree",
    "snapshot",
    "unix_socket_paths",
    "walk",
]

#: Variables a sandboxed user gets (all inside the sandbox).
SANDBOX_VARS = (
    "HOME",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
)

#: Inherited variables that could send writes elsewhere or change what the programs do.
_DROPPED_PREFIXES = ("JUPYTER", "IPYTHON", "XDG_", "HERON_", "DASK_", "MPLCONFIGDIR", "PYTEST")

#: Files larger than this are read in part only (no file of a session is near it).
_READ_LIMIT = 64 * 1024 * 1024


# --- the sandboxed user ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    """A folder standing in for everything a user's programs may write to.

    ``home``, ``tmp``, ``config``, ``data``, ``cache`` and ``runtime`` are its folders for
    HOME, TMPDIR and the XDG variables; ``work`` (in home) is where the user keeps files.
    """

    root: Path
    home: Path = field(init=False)
    tmp: Path = field(init=False)
    config: Path = field(init=False)
    data: Path = field(init=False)
    cache: Path = field(init=False)
    runtime: Path = field(init=False)
    work: Path = field(init=False)

    def __post_init__(self) -> None:
        names = ("home", "tmp", "config", "data", "cache", "runtime")
        for name, folder in zip(names, (*names[:-1], "run"), strict=True):
            object.__setattr__(self, name, self.root / folder)  # frozen: set once here
        object.__setattr__(self, "work", self.home / "work")

    @classmethod
    def create(cls, root: Path) -> Sandbox:
        """Make ``root`` and its home, tmp, XDG and work folders (all 0700)."""
        box = cls(root)
        for folder in (root, box.home, box.tmp, box.config, box.data, box.cache, box.runtime):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        box.work.mkdir(mode=0o700, exist_ok=True)
        os.chmod(box.work, 0o700)
        return box

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (this process's environment) pointed at the sandbox.

        Jupyter, IPython, Dask, heron and XDG settings are dropped, so nothing inherited
        sends a write elsewhere; ``PATH``, the locale and the like are kept.
        """
        source = os.environ if base is None else base
        env = {k: v for k, v in source.items() if not k.upper().startswith(_DROPPED_PREFIXES)}
        env.update(
            {
                "HOME": str(self.home),
                "TMPDIR": str(self.tmp),
                "XDG_CONFIG_HOME": str(self.config),
                "XDG_DATA_HOME": str(self.data),
                "XDG_CACHE_HOME": str(self.cache),
                "XDG_RUNTIME_DIR": str(self.runtime),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("PWD", None)
        env.pop("OLDPWD", None)
        return env


# --- files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One thing found by :func:`walk`: its path, permission bits and kind."""

    path: Path
    mode: int
    kind: str  # "file", "dir", "link", "socket" or "other"
    size: int

    @property
    def is_file(self) -> bool:
        return self.kind == "file"


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


def walk(root: Path, *, include_root: bool = False) -> list[Entry]:
    """Everything under ``root`` (and ``root`` itself if asked), never following links."""
    found: list[Entry] = []
    if include_root and root.exists():
        info = root.lstat()
        found.append(Entry(root, stat.S_IMODE(info.st_mode), _kind(info.st_mode), info.st_size))
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs) + sorted(files):
            path = Path(folder, name)
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed while we looked
                continue
            found.append(Entry(path, stat.S_IMODE(info.st_mode), _kind(info.st_mode), info.st_size))
    return found


def mode_problems(
    entries: Iterable[Entry], is_data: Callable[[Entry], bool], *, stop_at: Path
) -> list[str]:
    """Data files not 0600, and folders holding them (up to ``stop_at``) not 0700.

    Only the permission bits count (a sticky bit on a private folder is harmless).
    """
    entries = list(entries)
    seen = {e.path: e.mode for e in entries if e.kind == "dir"}  # modes as walked
    problems: list[str] = []
    folders: set[Path] = set()
    for entry in entries:
        if not (entry.is_file and is_data(entry)):
            continue
        if entry.mode & 0o777 != 0o600:
            problems.append(f"{entry.path}: file mode {entry.mode:04o}, not 0600")
        parent = entry.path.parent
        while parent != stop_at and stop_at in parent.parents:
            folders.add(parent)
            parent = parent.parent
    for folder in sorted(folders):
        mode = seen[folder] if folder in seen else stat.S_IMODE(folder.lstat().st_mode)
        if mode & 0o777 != 0o700:
            problems.append(f"{folder}/: folder mode {mode:04o}, not 0700")
    return problems


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` starts with SQLite's file header."""
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


@dataclass(frozen=True)
class Hit:
    """A needle (by its label) found in a file."""

    path: Path
    label: str

    def __str__(self) -> str:
        return f"{self.path}: {self.label}"


def find_needles(paths: Iterable[Path], needles: Mapping[str, str]) -> list[Hit]:
    """Every (file, needle label) where the needle's UTF-8 bytes occur in the file.

    Raw bytes, so text inside SQLite pages, JSON and logs is found alike. Files that
    cannot be read (gone, a socket) are skipped.
    """
    encoded = {label: text.encode("utf-8") for label, text in needles.items() if text}
    hits: list[Hit] = []
    for path in paths:
        try:
            with path.open("rb") as fh:
                data = fh.read(_READ_LIMIT)
        except OSError:
            continue
        hits.extend(Hit(path, label) for label, needle in encoded.items() if needle in data)
    return hits


def history_files(entries: Iterable[Entry]) -> list[Path]:
    """IPython history databases (``history.sqlite`` and its journals) among ``entries``."""
    return [e.path for e in entries if e.is_file and e.path.name.startswith("history.sqlite")]


def history_rows(path: Path) -> int:
    """Rows of input kept in an IPython history database (read-only; -1 if unreadable)."""
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return -1
    try:
        return int(db.execute("SELECT count(*) FROM history").fetchone()[0])
    except sqlite3.Error:
        return -1
    finally:
        db.close()


# --- outside the sandbox --------------------------------------------------------------------

#: (inode, size, mtime) of a file: enough to tell it changed.
Stamp = tuple[int, int, int]


def snapshot(roots: Iterable[Path], *, depth: int | None = None) -> dict[Path, Stamp]:
    """The files under ``roots`` (to ``depth`` levels; ``None``: all), with their stamps."""
    found: dict[Path, Stamp] = {}
    for root in roots:
        if not root.is_dir():
            continue
        base = len(root.parts)
        for folder, dirs, files in os.walk(root, followlinks=False):
            if depth is not None and len(Path(folder).parts) - base >= depth:
                dirs[:] = []
            for name in files:
                path = Path(folder, name)
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    found[path] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


def changed_since(before: Mapping[Path, Stamp], after: Mapping[Path, Stamp]) -> list[Path]:
    """Files new or changed between two snapshots."""
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


# --- processes and sockets ------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it that is still running."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [pid] + [p.pid for p in root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def listening_addresses(pids: Iterable[int]) -> set[tuple[str, int]]:
    """Every TCP address (v4 and v6) on which one of ``pids`` listens."""
    import psutil

    wanted = set(pids)
    found: set[tuple[str, int]] = set()
    for conn in psutil.net_connections(kind="inet"):
        if conn.pid in wanted and conn.status == psutil.CONN_LISTEN and conn.laddr:
            found.add((conn.laddr.ip, conn.laddr.port))
    return found


def unix_socket_paths(pids: Iterable[int]) -> set[str]:
    """The paths of the named Unix sockets ``pids`` hold (abstract and unnamed left out)."""
    import psutil

    found: set[str] = set()
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="unix")
        except psutil.Error:
            continue
        for conn in conns:
            address = conn.laddr if isinstance(conn.laddr, str) else ""
            if address.startswith("/"):
                found.add(address)
    return found


def is_loopback(address: str) -> bool:
    """Whether an IP address (v4, v6 or v4-mapped v6) is a loopback address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def http_status(url: str, *, token: str | None = None, timeout: float = 10) -> int:
    """The status of a GET to a local server: no proxy, redirects not followed."""
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)


# --- notebooks ------------------------------------------------------------------------------


def notebook_problems(path: Path) -> list[str]:
    """Outputs, execution counts and widget state kept in a notebook file."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    problems: list[str] = []
    if nb.metadata.get("widgets"):
        problems.append(f"{path}: widget state in the notebook's metadata")
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{path}: cell {number} keeps {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"{path}: cell {number} keeps execution count {cell.execution_count}")
        if cell.metadata.get("widgets"):
            problems.append(f"{path}: cell {number} keeps widget state")
    return problems
