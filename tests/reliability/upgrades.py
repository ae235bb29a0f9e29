"""Harness for issue 6, case 4: upgrades killed at each step, and an older package.

* :class:`Killer` starts this file as a small fork server: one Python process that imports
  the package once and then, for each request, forks a child that creates or opens a
  workbook with the real package and is SIGKILLed at a chosen moment: just before its k-th
  SQL statement (counted with ``sqlite3.Connection.set_trace_callback``, installed on
  every connection the child makes), after ``create``/``open`` returned but before
  ``close``, or after a delay the server times. Forking from a warm, single-threaded
  process makes a kill cost milliseconds instead of an interpreter start.
* :func:`state` reads everything a workbook file holds straight from SQLite, so a kill's
  result can be compared with the file an uninterrupted upgrade makes.
* :func:`package_at` is the package as a release that knew only the first ``version``
  migrations (in this process); ``python upgrades.py older VERSION ARGS...`` runs the
  ``heron-research`` command line as that release would, in a process of its own.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

HERE = Path(__file__).resolve()

#: what every test-made new workbook is created with, so that two creations are equal
NEW_WORKBOOK_ID = "0123456789abcdef0123456789abcdef"
CREATED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return CREATED_AT


# --- what a workbook file holds --------------------------------------------------------


@dataclass(frozen=True)
class State:
    """Everything in a workbook file that a kill could damage, read through SQLite."""

    user_version: int
    application_id: int
    schema: tuple[tuple[Any, ...], ...]  # (type, name, tbl_name, sql), without page numbers
    rows: dict[str, Counter[tuple[Any, ...]]]  # every row of every table

    def total_rows(self) -> int:
        return sum(c.total() for c in self.rows.values())

    def rows_missing_from(self, other: State) -> int:
        """How many of this state's rows ``other`` lacks (table by table)."""
        missing = 0
        for table, rows in self.rows.items():
            missing += (rows - other.rows.get(table, Counter())).total()
        return missing


def _connect(path: Path) -> sqlite3.Connection:
    # read-write, as the package opens it: a hot journal is rolled back, a WAL recovered
    return sqlite3.connect(path, isolation_level=None, timeout=5)


def state(path: Path) -> State:
    db = _connect(path)
    try:
        schema = tuple(
            db.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"
            ).fetchall()
        )
        tables = [name for kind, name, _, _ in schema if kind == "table"]
        return State(
            user_version=db.execute("PRAGMA user_version").fetchone()[0],
            application_id=db.execute("PRAGMA application_id").fetchone()[0],
            schema=schema,
            rows={t: Counter(db.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables},
        )
    finally:
        db.close()


def integrity(path: Path) -> str:
    db = _connect(path)
    try:
        return "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def journal_mode(path: Path) -> str:
    db = _connect(path)
    try:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        db.close()


def copy_workbook(source: Path, target: Path) -> None:
    """Copy a workbook file and its WAL, if it has one (the -shm is rebuilt from the WAL)."""
    target.write_bytes(source.read_bytes())
    target.chmod(0o600)
    wal = Path(f"{source}-wal")
    if wal.exists():
        Path(f"{target}-wal").write_bytes(wal.read_bytes())


# --- the package as an older release ------------------------------------------------------


def _patch_versions(version: int) -> list[tuple[object, str, object]]:
    """Make every loaded heron_research module know only the first ``version`` migrations.

    Returns what was replaced, to put back. A release differs from the next only by
    knowing fewer migrations, so this is an older release, as far as the file is concerned;
    except that releases before migration 3 wrote rows without a writing side, so for them
    the store's write code is the one they had (``store_v2.py``).
    """
    from heron_research.workbook import schema

    current = {"MIGRATIONS": schema.MIGRATIONS, "SCHEMA_VERSION": schema.SCHEMA_VERSION}
    older = {"MIGRATIONS": schema.MIGRATIONS[:version], "SCHEMA_VERSION": version}
    assert 1 <= version <= schema.SCHEMA_VERSION, version
    replaced: list[tuple[object, str, object]] = []
    for name, module in sorted(sys.modules.items()):
        if name != "heron_research" and not name.startswith("heron_research."):
            continue
        for attr, value in current.items():
            if getattr(module, attr, None) is value:
                replaced.append((module, attr, value))
                setattr(module, attr, older[attr])
    import store_v2

    from heron_research.workbook.store import Workbook

    if version <= store_v2.WRITES_UP_TO:  # the rows that release wrote, not today's
        for attr, value in store_v2.METHODS.items():
            replaced.append((Workbook, attr, Workbook.__dict__[attr]))
            setattr(Workbook, attr, value)
    return replaced


@contextmanager
def package_at(version: int) -> Iterator[None]:
    """The package (in this process) as the release whose newest format was ``version``."""
    import heron_research.workbook.portable
    import heron_research.workbook.store  # noqa: F401

    replaced = _patch_versions(version)
    try:
        yield
    finally:
        for module, attr, value in replaced:
            setattr(module, attr, value)


def run_older(
    version: int, *args: object, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``heron-research ARGS`` as the release that knew formats up to ``version``."""
    return subprocess.run(
        [sys.executable, str(HERE), "older", str(version), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _older_main(version: int, args: list[str]) -> NoReturn:
    import heron_research.cli
    import heron_research.lab
    import heron_research.reports.runner
    import heron_research.workbook.portable

    def started(*_args: object, **_kwargs: object) -> NoReturn:
        print("STARTED A KERNEL OR SERVER", file=sys.stderr, flush=True)
        os._exit(3)

    heron_research.lab.start_lab = started  # type: ignore[assignment]
    heron_research.reports.runner._render = started  # type: ignore[assignment]
    if not _patch_versions(version):
        print("nothing to patch: the simulation would not be an older package", file=sys.stderr)
        os._exit(4)
    sys.argv[0] = "heron-research"
    heron_research.cli.main(args)
    os._exit(0)  # main() always exits; not reached


# --- killing a child at a chosen moment ------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one child did: killed or not, its SQL statements in order, how long it took."""

    killed: bool
    statements: tuple[str, ...]
    seconds: float
    error: str | None = None


class Killer:
    """The fork server (this file run as a script), started and stopped by the test."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(
        self,
        action: str,
        path: Path,
        *,
        kill_at: int | None = None,
        kill_when_returned: bool = False,
        kill_after: float | None = None,
    ) -> Run:
        """Create or open ``path`` in a child, killed before statement ``kill_at`` (from 1),
        when ``create``/``open`` has returned, or ``kill_after`` seconds after the fork."""
        assert action in ("create", "open"), action
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {
            "action": action,
            "path": str(path),
            "kill_at": kill_at,
            "kill_when_returned": kill_when_returned,
            "kill_after": kill_after,
        }
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError(f"the fork server ended (exit {self.process.wait(timeout=10)})")
        done = json.loads(reply)
        return Run(done["killed"], tuple(done["statements"]), done["seconds"], done["error"])

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        finally:
            self.process.stdout.close()

    def __enter__(self) -> Killer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(request: dict[str, Any], out: int) -> NoReturn:
    """In the forked child: do the action, telling the server each statement first."""
    from heron_research.workbook import Workbook

    def tell(*message: str) -> None:
        os.write(out, (json.dumps(message) + "\n").encode())

    count = 0

    def trace(statement: str) -> None:  # SQLite calls this before running a statement
        nonlocal count
        count += 1
        tell("sql", " ".join(statement.split())[:160])
        if count == request["kill_at"]:
            os.kill(os.getpid(), signal.SIGKILL)

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        db.set_trace_callback(trace)
        return db

    code = 0
    try:
        sqlite3.connect = connect  # type: ignore[assignment]  (this child only)
        path = Path(request["path"])
        if request["action"] == "create":
            wb = Workbook.create(path, workbook_id=NEW_WORKBOOK_ID, clock=fixed_clock)
        else:
            wb = Workbook.open(path)
        if request["kill_when_returned"]:
            os.kill(os.getpid(), signal.SIGKILL)
        wb.close()
    except BaseException as exc:  # reported to the test, which fails on it
        tell("error", f"{type(exc).__name__}: {exc}")
        code = 1
    finally:
        os._exit(code)


def _serve() -> None:
    import heron_research.workbook  # noqa: F401  (imported once, before any fork)

    for line in sys.stdin:
        request = json.loads(line)
        read_end, write_end = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(request, write_end)
        os.close(write_end)
        if request["kill_after"] is not None:
            time.sleep(request["kill_after"])
            os.kill(pid, signal.SIGKILL)  # a no-op if the child has already ended
        with os.fdopen(read_end, "rb") as pipe:
            told = [json.loads(m) for m in pipe.read().decode().splitlines()]
        seconds = time.perf_counter() - started
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        errors = [m[1] for m in told if m[0] == "error"]
        if not killed and not errors and os.waitstatus_to_exitcode(status) != 0:
            errors.append(f"the child ended with status {status}")
        reply = {
            "killed": killed,
            "statements": [m[1] for m in told if m[0] == "sql"],
            "seconds": seconds,
            "error": errors[0] if errors else None,
        }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        _serve()
    elif sys.argv[1:2] == ["older"]:
        _older_main(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit("usage: upgrades.py serve | upgrades.py older VERSION ARGS...")
