"""The workbook: one SQLite file per client, written only through this class.

* WAL journal, ``synchronous=FULL``, a busy timeout, and explicit transactions: every
  write that reads first starts with ``BEGIN IMMEDIATE`` so two notebooks writing at once
  wait for each other instead of failing.
* The file is created owner-only (0600); SQLite gives its ``-wal`` and ``-shm`` files the
  same mode.
* Saving a record that exists adds a revision: earlier versions are kept in
  ``revisions`` and deletion only marks the record, so both are reversible.
* Reads go through :func:`heron_research.visibility.visible_levels`: an audience never
  receives a record its sharing level and the consent in force do not allow. The
  practitioner sees a person-register entry only when it is shared and an entry they see
  names that person: what a share bundle carries, so a report made from the practitioner's
  practice workbook equals the one made here for them.
* Every record has one writing side (:class:`~heron_research.records.facts.Side`), and the
  workbook has its own: a client's workbook, or a practitioner's *practice workbook* bound
  to one client workbook. :meth:`Workbook.save` and :meth:`Workbook.delete` refuse to change
  a record the other side wrote (:class:`OtherSideError`); only
  :meth:`Workbook.replace_received` (``heron-research receive``) replaces those.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.errors import (
    NewerWorkbookError,
    NotAWorkbookError,
    OlderWorkbookError,
    OtherSideError,
    RecordNotFoundError,
    WorkbookBusyError,
    WorkbookCorruptError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookNotFoundError,
    WorkbookReadOnlyError,
)
from heron_research.records import PERSON, RECORD_TYPES, ConsentEntry, Record, record_type
from heron_research.records.base import Sharing, validate_record
from heron_research.records.consent import ConsentState, consent_state
from heron_research.records.facts import Side
from heron_research.visibility import Audience, visible_levels
from heron_research.workbook.files import (
    new_partial,
    put_in_place,
    remove_workbook_files,
    sweep_partials,
    sync_folder,
)
from heron_research.workbook.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from heron_research.workbook.stored import (
    ROW_ORDER,
    Health,
    Received,
    RecordRow,
    Revision,
    RevisionRow,
    StoredRecord,
    StoredRow,
    WithheldRow,
    WorkbookRows,
    audience_levels,
    parse_stamp,
    stamp,
    when_columns,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Health",
    "Received",
    "RecordRow",
    "Revision",
    "RevisionRow",
    "StoredRecord",
    "StoredRow",
    "WithheldRow",
    "Workbook",
    "WorkbookRows",
    "parse_stamp",
    "remove_workbook_files",
    "stamp",
    "sweep_partials",
    "sync_folder",
]

_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 15.0

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _on_read_only_disk(path: Path) -> bool:
    """Whether ``path``'s folder is on a read-only filesystem or cannot be written."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(folder, os.W_OK)


def _sqlite_error(path: Path, exc: sqlite3.DatabaseError) -> WorkbookError:
    """The package's error for an SQLite error on ``path``, in words a person can act on."""
    text = str(exc).lower()
    if not isinstance(exc, sqlite3.OperationalError):
        return WorkbookCorruptError(f"{path} is damaged and cannot be read ({exc})", path)
    if "locked" in text or "busy" in text:
        return WorkbookBusyError(
            f"{path} is busy: another program kept it locked for more than "
            f"{BUSY_TIMEOUT_S:.0f} s. Nothing was lost; try again.",
            path,
        )
    if "readonly" in text or "read-only" in text:
        return WorkbookReadOnlyError(
            f"{path} cannot be written (it is read-only). Nothing was changed.", path
        )
    if "unable to open" in text and _on_read_only_disk(path):
        return WorkbookReadOnlyError(
            f"{path} is on a read-only disk or in a read-only folder, where a workbook "
            "cannot be opened (it needs to write its journal beside it). Copy it somewhere "
            "you can write and open the copy. Nothing was changed.",
            path,
        )
    if "disk is full" in text or "full" in text:
        return WorkbookError(
            f"the disk holding {path} is full; this entry was not saved. Free some space "
            "and save again.",
            path,
        )
    if "disk i/o" in text:
        return WorkbookError(
            f"the disk reported an error writing {path}; this entry was not saved.", path
        )
    return WorkbookError(f"{path}: {exc}", path)


#: SQLite's lock bytes in a database file: the pending byte, the reserved byte, the shared range
_LOCK_BYTES = (0x40000000, 2 + 510)


def _wait_while_written(path: Path) -> None:
    """Wait (up to :data:`BUSY_TIMEOUT_S`) while another process holds a write lock on the
    workbook file (SQLite's pending, reserved or exclusive lock), as SQLite's own busy
    timeout would: an immutable open takes no lock of its own, so would not see it.
    Readers (a shared lock) do not count. Raises the store's busy error.

    An open-file-description lock query (Linux) sees locks held by this process too (a
    thread-based Dask worker); elsewhere the POSIX query sees other processes' locks."""
    import fcntl
    import struct
    import time

    query = getattr(fcntl, "F_OFD_GETLK", fcntl.F_GETLK)
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        start, length = _LOCK_BYTES
        while True:
            probe = struct.pack("hhqqi", fcntl.F_RDLCK, os.SEEK_SET, start, length, 0)
            held = struct.unpack("hhqqi", fcntl.fcntl(fd, query, probe))[0]
            if held == fcntl.F_UNLCK:
                return
            if time.monotonic() >= deadline:
                raise _sqlite_error(path, sqlite3.OperationalError("database is locked"))
            time.sleep(0.05)
    finally:
        os.close(fd)


class Workbook:
    """A client's workbook file. Use :meth:`create` or :meth:`open`, ideally in ``with``."""

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        *,
        readonly: bool,
        clock: Clock | None,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self._db = connection
        self._clock: Clock = clock or _utc_now
        self._depth = 0  # nesting of atomic() blocks
        self._closed = False

    # --- opening and creating -----------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        workbook_id: str | None = None,
        clock: Clock | None = None,
        fill: Callable[[Workbook], None] | None = None,
        side: Side | str = Side.CLIENT,
        client_workbook_id: str | None = None,
    ) -> Workbook:
        """Make a new, empty workbook file (owner-only) and open it.

        ``side`` is the workbook's own: a client's workbook (the default), or a
        practitioner's practice workbook, which needs the ``client_workbook_id`` it is bound
        to (the client's entries reach it only through ``heron-research receive``).

        ``fill``, if given, is called with the new workbook before it appears under its
        name (an import writes its entries there): the workbook appears with everything
        ``fill`` wrote or not at all, even if the program is killed part-way.

        The file is made whole under a temporary name beside ``path`` and only then linked
        to ``path``, so a crash part-way never leaves a half-made file that blocks the name:
        there is either no workbook at ``path`` or a complete one. (A crash can leave the
        temporary ``.NAME.*.creating`` file behind; it holds no entries, and the next
        writable open of ``path`` (as at the end of a create) removes it:
        :func:`sweep_partials`.)
        """
        import uuid

        path = Path(path)
        side = Side(side)
        if (side is Side.PRACTITIONER) != (client_workbook_id is not None):
            raise ValueError("a practice workbook, and only one, is bound to a client workbook id")
        meta: dict[str, str] = {}  # a client's workbook: no side in meta means the client's
        if client_workbook_id is not None:
            meta = {"side": side.value, "client_workbook_id": client_workbook_id}

        def exists() -> WorkbookExistsError:
            return WorkbookExistsError(f"{path} already exists; choose another name", path)

        if path.exists():
            raise exists()
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        try:
            partial, fd = new_partial(path)  # locked until the partial is gone (closed only
            # after SQLite's connection is: closing another descriptor of an open database
            # would drop SQLite's own locks)
        except OSError as exc:
            raise WorkbookError(f"cannot create {path}: {exc.strerror}", path) from None
        try:
            db = cls._connect(partial, readonly=False)
            try:
                db.execute("PRAGMA journal_mode = WAL")
                wb = cls(path, db, readonly=False, clock=clock)  # errors name the real path
                wb._migrate(
                    initial_meta={
                        "workbook_id": workbook_id or uuid.uuid4().hex,
                        "created_at": stamp(wb._clock()),
                        **meta,
                    }
                )
                if fill is not None:
                    fill(wb)
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.close()  # the only connection: SQLite removes the -wal and -shm
            try:
                put_in_place(partial, path, replace=False)  # never replaces a file at path
            except FileExistsError:
                raise exists() from None
        except WorkbookError:
            raise
        except OSError as exc:
            raise WorkbookError(f"cannot create {path}: {exc.strerror}", path) from None
        finally:
            remove_workbook_files(partial)
            os.close(fd)
        sync_folder(path.parent)  # make the new name itself survive a power cut
        try:
            return cls.open(path, clock=clock)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        clock: Clock | None = None,
        immutable: bool = False,
    ) -> Workbook:
        """Open an existing workbook, upgrading an older format (unless ``readonly``).

        Refuses, with a message that says why, a missing path, a file that is not SQLite,
        someone else's SQLite file, and a workbook from a newer heron-research.

        ``immutable`` (read-only) reads the file as it is on disk and creates nothing beside
        it (no ``-wal`` or ``-shm`` file; a read-only folder is fine): for a reader that
        checks for itself that the file did not change while it read (the research batch).
        It waits, as a normal open would, while another program holds a write lock on the
        file. SQLite then ignores a ``-wal`` file: a workbook whose ``-wal`` holds entries
        must be opened otherwise (or copied with its ``-wal``).
        """
        if immutable and not readonly:
            raise ValueError("immutable=True is for read-only opens")
        path = Path(path)
        if not path.exists():
            raise WorkbookNotFoundError(f"{path}: no such workbook", path)
        if path.is_dir():
            raise NotAWorkbookError(f"{path} is a folder, not a workbook file", path)
        try:
            with path.open("rb") as fh:
                header = fh.read(100)
        except OSError as exc:
            raise WorkbookError(f"cannot read {path}: {exc.strerror}", path) from None
        if not header.startswith(_SQLITE_MAGIC):
            raise NotAWorkbookError(
                f"{path} is not a heron-research workbook (it is not an SQLite database)", path
            )
        if not readonly:
            sweep_partials(path)  # what a killed create of this name left beside it
        db = None
        try:
            if immutable:
                _wait_while_written(path)
            db = cls._connect(path, readonly=readonly, immutable=immutable)
            wb = cls(path, db, readonly=readonly, clock=clock)
            # read through SQLite, not the header bytes: the newest header may be in the WAL
            app_id, found = wb._pragma("application_id"), wb._pragma("user_version")
            if app_id != APPLICATION_ID:
                db.close()
                raise NotAWorkbookError(
                    f"{path} is an SQLite database, but not a heron-research workbook", path
                )
            if found > SCHEMA_VERSION:
                db.close()
                raise NewerWorkbookError(path, found, SCHEMA_VERSION)
            if not readonly and db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # e.g. a copy made with VACUUM INTO (rollback journal): back to WAL, which
                # the store relies on (readers never block a save)
                db.execute("PRAGMA journal_mode = WAL")
            if found < SCHEMA_VERSION:
                if readonly:
                    db.close()
                    raise OlderWorkbookError(path, found, SCHEMA_VERSION)
                wb._migrate()
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            raise _sqlite_error(path, exc) from None
        except BaseException:
            if db is not None:
                db.close()
            raise
        return wb

    @staticmethod
    def _connect(path: Path, *, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
        if readonly:
            db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if immutable else ''}",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
            )
        else:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            # deleted content is overwritten, not left in free pages: what a later bundle
            # removes from a practice workbook leaves no trace in the file
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = FULL")
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Close the file. The workbook object cannot be used afterwards."""
        self._closed = True
        self._db.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workbook {str(self.path)!r}>"

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLite's errors into the package's, with a message a person can act on."""
        if self._closed:
            raise WorkbookError(
                f"{self.path} has been closed; open it again with Workbook.open()", self.path
            )
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise _sqlite_error(self.path, exc) from None

    @contextmanager
    def atomic(self, *, write: bool = True) -> Iterator[None]:
        """One transaction (or a savepoint when nested).

        ``write=True`` starts with ``BEGIN IMMEDIATE``: the write lock is taken before
        anything is read, so a read-then-write cannot be overtaken by another process.
        """
        if write and self.readonly:
            raise WorkbookReadOnlyError(f"{self.path} was opened read-only", self.path)
        with self._errors():
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            else:
                self._db.execute(f"SAVEPOINT sp{self._depth}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                else:
                    self._db.execute(f"ROLLBACK TO sp{self._depth}")
                    self._db.execute(f"RELEASE sp{self._depth}")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")
            else:
                self._db.execute(f"RELEASE sp{self._depth}")

    def _pragma(self, name: str) -> int:
        return int(self._db.execute(f"PRAGMA {name}").fetchone()[0])

    def _migrate(self, initial_meta: dict[str, str] | None = None) -> None:
        for migration in MIGRATIONS:
            with self.atomic():
                if self._pragma("user_version") >= migration.version:
                    continue  # another process got there first
                if migration.version == 1:
                    if self._db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
                        raise NotAWorkbookError(
                            f"{self.path} is an SQLite database, but not a heron-research workbook",
                            self.path,
                        )
                    self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                for statement in migration.statements:
                    self._db.execute(statement)
                if migration.version == 1:
                    meta = dict(initial_meta or {})
                    meta.setdefault("created_at", stamp(self._clock()))
                    meta.setdefault("workbook_id", os.urandom(16).hex())
                    self._db.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)", sorted(meta.items())
                    )
                self._db.execute(f"PRAGMA user_version = {migration.version}")
        # put the header (application id, version) into the main file, not only the WAL
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # --- facts about the workbook -------------------------------------------------------

    def _meta(self, key: str) -> str:
        with self._errors():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise WorkbookCorruptError(f"{self.path} has no {key}", self.path)
        return str(row[0])

    @property
    def id(self) -> str:
        """The workbook's own random id (research pseudonyms are keyed on it)."""
        return self._meta("workbook_id")

    @property
    def created_at(self) -> datetime:
        return parse_stamp(self._meta("created_at"))

    def _meta_or(self, key: str) -> str | None:
        with self._errors():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def side(self) -> Side:
        """The workbook's own side: the client's workbook, or the practitioner's practice
        workbook for one client (a workbook made before sides were stored is a client's)."""
        return Side(self._meta_or("side") or Side.CLIENT)

    @property
    def is_practice(self) -> bool:
        """Whether this is a practitioner's practice workbook."""
        return self.side is Side.PRACTITIONER

    @property
    def client_workbook_id(self) -> str:
        """The client's workbook this one is about: its own id, or for a practice workbook
        the client workbook it is bound to."""
        return self._meta_or("client_workbook_id") or self.id

    def received(self) -> Received | None:
        """What this workbook keeps of the last bundle it received, if any."""
        text = self._meta_or("received")
        if text is None:
            return None
        found = json.loads(text)
        return Received(int(found["sequence"]), str(found["created_at"]), found.get("consent"))

    @property
    def schema_version(self) -> int:
        with self._errors():
            return self._pragma("user_version")

    def now(self) -> datetime:
        """The workbook's clock (the demo uses a simulated one)."""
        return self._clock()

    # --- writing ------------------------------------------------------------------------

    def save(
        self,
        record: Record,
        *,
        expected_revision: int | None = None,
        side: Side | str | None = None,
    ) -> StoredRecord:
        """Save a validated record: insert it, or add a new revision if its id exists.

        ``expected_revision`` guards an edit: if someone saved the record since it was
        loaded, nothing is written and :class:`WorkbookError` says so.

        ``side`` is who writes (default: the workbook's own side). A new record is that
        side's; in a client's workbook a new record of a kind only the practitioner writes
        is the practitioner's unless ``side`` says otherwise (their entries made in the
        client's own file, as before bundles). An edit by a side other than the record's
        writer is refused (:class:`OtherSideError`), as is any client entry written into a
        practice workbook (those arrive only with ``heron-research receive``).
        """
        with self.atomic():
            return self._save(record, expected_revision, side)

    def save_many(
        self, records: Iterable[Record], *, side: Side | str | None = None
    ) -> list[StoredRecord]:
        """Save several records in one transaction: all of them, or none."""
        with self.atomic():
            return [self._save(r, None, side) for r in records]

    def _writer(self, kind: str, side: Side | str | None, *, new: bool) -> Side:
        """The side a write by ``side`` (default: the workbook's own) is made as."""
        facts = record_type(kind).facts
        own = self.side
        acting = own if side is None else Side(side)
        if new and side is None and not facts.written_by(acting) and own is Side.CLIENT:
            [acting] = facts.writers  # a kind of one writer: theirs, in the client's file
        if not facts.written_by(acting):
            raise OtherSideError(
                f"only the {' or '.join(sorted(facts.writers))} writes {facts.plural}; "
                "nothing was saved",
                self.path,
            )
        if own is Side.PRACTITIONER and acting is Side.CLIENT:
            raise OtherSideError(
                f"{self.path} is a practice workbook: the client's entries come only from "
                "their bundles (heron-research receive); nothing was saved",
                self.path,
            )
        return acting

    def _refuse_other_side(self, kind: str, written_by: str, acting: Side) -> None:
        if Side(written_by) is not acting:
            label = record_type(kind).facts.label
            raise OtherSideError(
                f"this {label} was written by the {written_by}; only they change it (their "
                "next bundle brings their changes). Nothing was changed.",
                self.path,
            )

    def _save(
        self, record: Record, expected_revision: int | None, side: Side | str | None
    ) -> StoredRecord:
        if not isinstance(record, Record):
            raise TypeError("save() takes a record; validate form data with Record.from_data()")
        # models are mutable and model_copy(update=...) skips validation: check again
        record = validate_record(type(record), record.model_dump(warnings=False))
        now = stamp(self._clock())
        data = json.dumps(record.to_data(), ensure_ascii=False, sort_keys=True)
        day, at = when_columns(record)
        row = self._db.execute(
            "SELECT kind, revision, created_at, side FROM records WHERE id = ?", (record.id,)
        ).fetchone()
        if row is None:
            if expected_revision not in (None, 0):
                raise RecordNotFoundError(f"no {record.kind} with id {record.id}", self.path)
            writer = self._writer(record.kind, side, new=True)
            revision, created = 1, now
            self._db.execute(
                "INSERT INTO records (id, kind, sharing, occurred_on, occurred_at, created_at,"
                " updated_at, deleted_at, revision, data, side)"
                " VALUES (?,?,?,?,?,?,?,NULL,?,?,?)",
                (
                    record.id,
                    record.kind,
                    record.sharing.value,
                    day,
                    at,
                    now,
                    now,
                    revision,
                    data,
                    writer.value,
                ),
            )
        else:
            kind, current, created, written_by = row
            if kind != record.kind:
                raise WorkbookError(
                    f"id {record.id} belongs to a {kind}, not a {record.kind}", self.path
                )
            self._refuse_other_side(kind, written_by, self.side if side is None else Side(side))
            writer = self._writer(kind, side, new=False)
            if expected_revision is not None and expected_revision != current:
                raise WorkbookError(
                    f"this {record.facts.label} was changed elsewhere since it was opened "
                    f"(revision {current}, you had {expected_revision}); reload it and make "
                    "your change again. Nothing was overwritten.",
                    self.path,
                )
            revision = current + 1
            self._db.execute(
                "UPDATE records SET sharing=?, occurred_on=?, occurred_at=?, updated_at=?,"
                " revision=?, data=? WHERE id=?",
                (record.sharing.value, day, at, now, revision, data, record.id),
            )
        self._db.execute(
            "INSERT INTO revisions (record_id, revision, kind, sharing, saved_at, deleted, data,"
            " side) VALUES (?,?,?,?,?,0,?,?)",
            (record.id, revision, record.kind, record.sharing.value, now, data, writer.value),
        )
        return StoredRecord(
            record=record,
            created_at=parse_stamp(created),
            updated_at=parse_stamp(now),
            revision=revision,
            side=writer,
        )

    def _mark_deleted(self, record_id: str, deleted: bool, side: Side | str | None) -> StoredRecord:
        with self.atomic():
            row = self._db.execute(
                "SELECT kind, sharing, revision, data, deleted_at, side FROM records WHERE id = ?",
                (record_id,),
            ).fetchone()
            if row is None:
                raise RecordNotFoundError(f"no record with id {record_id}", self.path)
            kind, sharing, current, data, deleted_at, written_by = row
            self._refuse_other_side(kind, written_by, self.side if side is None else Side(side))
            if (deleted_at is not None) == deleted:
                return self.get_stored(record_id)
            now = stamp(self._clock())
            revision = current + 1
            self._db.execute(
                "UPDATE records SET deleted_at=?, updated_at=?, revision=? WHERE id=?",
                (now if deleted else None, now, revision, record_id),
            )
            self._db.execute(
                "INSERT INTO revisions (record_id, revision, kind, sharing, saved_at, deleted,"
                " data, side) VALUES (?,?,?,?,?,?,?,?)",
                (record_id, revision, kind, sharing, now, int(deleted), data, written_by),
            )
            return self.get_stored(record_id)

    def delete(self, record_id: str, *, side: Side | str | None = None) -> StoredRecord:
        """Delete a record. Reversible with :meth:`restore`; its history is kept.

        Only its writing side deletes it (``side``, default: the workbook's own)."""
        return self._mark_deleted(record_id, True, side)

    def restore(self, record_id: str, *, side: Side | str | None = None) -> StoredRecord:
        """Bring back a deleted record (only its writing side does)."""
        return self._mark_deleted(record_id, False, side)

    def log_event(self, action: str, detail: str = "") -> None:
        """Note that something happened to the workbook (export, report...). No content."""
        with self.atomic():
            self._db.execute(
                "INSERT INTO events (at, action, detail) VALUES (?,?,?)",
                (stamp(self._clock()), action, detail),
            )

    # --- reading ------------------------------------------------------------------------

    @staticmethod
    def _stored(row: tuple[Any, ...]) -> StoredRecord:
        kind, data, created, updated, revision, deleted, side = row
        record = record_type(kind).model_validate_json(data)
        return StoredRecord(
            record=record,
            created_at=parse_stamp(created),
            updated_at=parse_stamp(updated),
            revision=revision,
            deleted_at=parse_stamp(deleted) if deleted else None,
            side=Side(side),
        )

    _COLUMNS = "kind, data, created_at, updated_at, revision, deleted_at, side"

    def get_stored(self, record_id: str) -> StoredRecord:
        """A record with its stored facts (deleted ones too)."""
        with self._errors():
            row = self._db.execute(
                f"SELECT {self._COLUMNS} FROM records WHERE id = ?", (record_id,)
            ).fetchone()
        if row is None:
            raise RecordNotFoundError(f"no record with id {record_id}", self.path)
        return self._stored(row)

    def get(self, record_id: str) -> Record:
        """The current version of a record (the client's view: sharing is not checked)."""
        return self.get_stored(record_id).record

    def history(self, record_id: str) -> list[Revision]:
        """Every saved version of a record, oldest first."""
        with self._errors():
            rows = self._db.execute(
                "SELECT record_id, revision, kind, sharing, saved_at, deleted, data, side"
                " FROM revisions WHERE record_id = ? ORDER BY revision",
                (record_id,),
            ).fetchall()
        if not rows:
            raise RecordNotFoundError(f"no record with id {record_id}", self.path)
        return [
            Revision(
                r[0], r[1], r[2], r[3], parse_stamp(r[4]), bool(r[5]), json.loads(r[6]), Side(r[7])
            )
            for r in rows
        ]

    def consent(self, as_of: datetime | None = None) -> ConsentState:
        """The consent in force ``as_of`` (default: the workbook clock's now).

        A practice workbook holds the client's consent as it was when their last bundle was
        made (the client's ledger stays with the client)."""
        if self.is_practice:
            received = self.received()
            found = received.consent if received is not None else None
            ledger = [ConsentEntry.model_validate(found)] if found else []
            return consent_state(ledger, as_of=as_of or self._clock())
        entries = [
            s.record
            for s in self._query("consent", None, None, None, include_deleted=False)
            if isinstance(s.record, ConsentEntry)
        ]
        return consent_state(entries, as_of=as_of or self._clock())

    def visible_levels(self, audience: Audience | str) -> frozenset[Sharing]:
        """The sharing levels ``audience`` may see now (see :mod:`heron_research.visibility`)."""
        return visible_levels(audience, self.consent())

    def records(
        self,
        kind: str,
        *,
        since: date | None = None,
        until: date | None = None,
        audience: Audience | str = Audience.CLIENT,
        include_deleted: bool = False,
    ) -> list[StoredRecord]:
        """Records of one kind that ``audience`` may see, in the period (days inclusive).

        Records without a date (people) are not filtered by period.
        """
        record_type(kind)
        levels = audience_levels(audience, self.consent(), include_deleted=include_deleted)
        return self._query(
            kind, since, until, levels, include_deleted=include_deleted, audience=audience
        )

    @staticmethod
    def _where(
        kinds: list[str],
        since: date | None,
        until: date | None,
        include_deleted: bool,
    ) -> tuple[list[str], list[Any]]:
        """The ``WHERE`` conditions (and their arguments) for records of ``kinds`` in the
        period; an undated record (a person) is in every period."""
        sql = [f"kind IN ({','.join('?' * len(kinds))})"]
        args: list[Any] = list(kinds)
        if since is not None:
            sql.append("(occurred_on IS NULL OR occurred_on >= ?)")
            args.append(since.isoformat())
        if until is not None:
            sql.append("(occurred_on IS NULL OR occurred_on <= ?)")
            args.append(until.isoformat())
        if not include_deleted:
            sql.append("deleted_at IS NULL")
        return sql, args

    @staticmethod
    def _levels(levels: frozenset[Sharing], *, negate: bool = False) -> tuple[str, list[str]]:
        """The condition that a record is shared at one of ``levels`` (or at none of them)."""
        values = sorted(s.value for s in levels)
        return f"sharing {'NOT IN' if negate else 'IN'} ({','.join('?' * len(values))})", values

    @classmethod
    def _named_people(cls, levels: frozenset[Sharing]) -> tuple[str, list[str]]:
        """The condition that a person is named by a current entry shared at ``levels``
        (in its ``people`` list or its ``person_id``, as a share bundle finds them)."""
        condition, values = cls._levels(levels)
        shown = f"r.kind != ? AND r.deleted_at IS NULL AND r.{condition}"
        sql = (
            "id IN (SELECT j.value FROM records AS r, json_each(r.data, '$.people') AS j"
            f" WHERE {shown} UNION SELECT json_extract(r.data, '$.person_id') FROM records AS r"
            f" WHERE {shown} AND json_extract(r.data, '$.person_id') IS NOT NULL)"
        )
        return sql, [PERSON, *values, PERSON, *values]

    @staticmethod
    def _register_hidden(kind: str, audience: Audience | str) -> bool:
        """Whether ``audience`` sees ``kind`` only as far as the entries it sees name it:
        the practitioner and the people register."""
        return kind == PERSON and Audience(audience) is Audience.PRACTITIONER

    def _query(
        self,
        kind: str,
        since: date | None,
        until: date | None,
        levels: frozenset[Sharing] | None,
        *,
        include_deleted: bool,
        audience: Audience | str = Audience.CLIENT,
    ) -> list[StoredRecord]:
        where, args = self._where([kind], since, until, include_deleted)
        if levels is not None:
            if not levels:
                return []
            condition, values = self._levels(levels)
            where.append(condition)
            args.extend(values)
            if self._register_hidden(kind, audience):
                condition, values = self._named_people(levels)
                where.append(condition)
                args.extend(values)
        sql = f"SELECT {self._COLUMNS} FROM records WHERE {' AND '.join(where)} ORDER BY "
        with self._errors():
            rows = self._db.execute(sql + ", ".join(ROW_ORDER), args).fetchall()
        return [self._stored(r) for r in rows]

    def raw_rows(
        self,
        kinds: Iterable[str],
        audience: Audience | str,
        *,
        consent: ConsentState | None = None,
        include_deleted: bool = False,
    ) -> list[StoredRow]:
        """The current version of every record of ``kinds`` that ``audience`` may see, as
        stored: parsed JSON, not validated again. By kind, then in the order of
        :meth:`records`.

        Who sees what is decided as everywhere, by
        :func:`heron_research.visibility.visible_levels` under ``consent`` (default: the
        consent in force now, :meth:`consent`). Validating each record again is most of
        the cost of reading a workbook; the store validated every record when it was saved
        (and an import every exported one). :meth:`StoredRow.validated` validates one
        whose JSON does not have the shape this version writes.
        """
        kinds = list(kinds)
        for kind in kinds:
            record_type(kind)
        levels = audience_levels(
            audience,
            consent if consent is not None else self.consent(),
            include_deleted=include_deleted,
        )
        if not levels or not kinds:
            return []
        where, args = self._where(kinds, None, None, include_deleted)
        condition, values = self._levels(levels)
        where.append(condition)
        args.extend(values)
        if any(self._register_hidden(kind, audience) for kind in kinds):
            named, more = self._named_people(levels)
            where.append(f"(kind != ? OR {named})")
            args.extend([PERSON, *more])
        sql = (
            f"SELECT kind, id, revision, updated_at, data FROM records"
            f" WHERE {' AND '.join(where)} ORDER BY kind, {', '.join(ROW_ORDER)}"
        )
        with self._errors():
            rows = self._db.execute(sql, args).fetchall()
        return [
            StoredRow(kind, rid, revision, updated, json.loads(data))
            for kind, rid, revision, updated, data in rows
        ]

    def withheld_count(
        self,
        kind: str,
        audience: Audience | str,
        *,
        since: date | None = None,
        until: date | None = None,
        consent: ConsentState | None = None,
    ) -> int:
        """How many current records of ``kind`` in the period ``audience`` may not see under
        ``consent`` (default: the consent in force now): counted in SQL, so no entry's
        content is read. The complement of :meth:`records` for that audience.

        A practice workbook adds the counts the client's last bundle carried of the
        entries the client kept back (the ``withheld`` table; no content, no ids)."""
        record_type(kind)
        levels = visible_levels(audience, consent if consent is not None else self.consent())
        where, args = self._where([kind], since, until, include_deleted=False)
        if levels:
            condition, values = self._levels(levels)
            if self._register_hidden(kind, audience):
                named, more = self._named_people(levels)
                condition, values = f"{condition} AND {named}", [*values, *more]
            where.append(f"NOT ({condition})")
            args.extend(values)
        kept, kept_args = self._where([kind], since, until, include_deleted=True)
        with self._errors():
            row = self._db.execute(
                f"SELECT count(*) FROM records WHERE {' AND '.join(where)}", args
            ).fetchone()
            received = (0,)
            if Audience(audience) is Audience.PRACTITIONER:  # what the counts were made for
                received = self._db.execute(
                    f"SELECT coalesce(sum(count), 0) FROM withheld WHERE {' AND '.join(kept)}",
                    kept_args,
                ).fetchone()
        return int(row[0]) + int(received[0])

    def withheld_rows(
        self, audience: Audience | str, *, consent: ConsentState | None = None
    ) -> list[WithheldRow]:
        """How many of the client's current entries of each kind and day ``audience`` may
        not see under ``consent`` (default: the consent in force now): counts only, read in
        SQL, as a practitioner bundle carries them (an undated kind's day is ``None``)."""
        levels = visible_levels(audience, consent if consent is not None else self.consent())
        where, args = ["side = ?", "deleted_at IS NULL"], [Side.CLIENT.value]
        if levels:
            condition, values = self._levels(levels)
            if Audience(audience) is Audience.PRACTITIONER:
                named, more = self._named_people(levels)
                condition = f"{condition} AND (kind != ? OR {named})"
                values = [*values, PERSON, *more]
            where.append(f"NOT ({condition})")
            args.extend(values)
        with self._errors():
            rows = self._db.execute(
                f"SELECT kind, occurred_on, count(*) FROM records WHERE {' AND '.join(where)}"
                " GROUP BY kind, occurred_on ORDER BY kind, coalesce(occurred_on, '')",
                args,
            ).fetchall()
        return [WithheldRow(kind, day, int(n)) for kind, day, n in rows]

    def frame(
        self,
        table: str,
        *,
        since: date | None = None,
        until: date | None = None,
        audience: Audience | str = Audience.CLIENT,
    ) -> pd.DataFrame:
        """A typed DataFrame: a record kind (``"emotion_episode"``) or one of its parts
        (``"emotion_episode.emotions"``), filtered by period and audience."""
        from heron_research.workbook.frames import build_frame

        kind = table.split(".", 1)[0]
        return build_frame(table, self.records(kind, since=since, until=until, audience=audience))

    def frames(
        self,
        kind: str,
        *,
        since: date | None = None,
        until: date | None = None,
        audience: Audience | str = Audience.CLIENT,
    ) -> dict[str, pd.DataFrame]:
        """A record kind's table and all its part tables, from one read of the records.

        The same as calling :meth:`frame` for each name in ``table_names(kind)``, but
        the records are read and validated once.
        """
        from heron_research.workbook.frames import build_frame, table_names

        stored = self.records(kind, since=since, until=until, audience=audience)
        return {name: build_frame(name, stored) for name in table_names(kind)}

    def change_count(self) -> int:
        """A number that grows with every save, deletion and restore, from any process:
        while it stays the same, nothing read from the workbook has changed."""
        with self._errors():
            row = self._db.execute("SELECT coalesce(max(rowid), 0) FROM revisions").fetchone()
        return int(row[0])

    def counts(self, *, include_deleted: bool = False) -> dict[str, int]:
        """How many records of each kind the workbook holds (every kind listed)."""
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        with self._errors():
            rows = self._db.execute(
                f"SELECT kind, count(*) FROM records {where} GROUP BY kind"
            ).fetchall()
        found = dict(rows)
        return {kind: int(found.get(kind, 0)) for kind in RECORD_TYPES}

    def check(self) -> Health:
        """Integrity, schema version and record counts: is this workbook healthy?"""
        with self._errors():
            integrity = self._db.execute("PRAGMA integrity_check").fetchone()[0]
            deleted = self._db.execute(
                "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL"
            ).fetchone()[0]
            revisions = self._db.execute("SELECT count(*) FROM revisions").fetchone()[0]
        return Health(
            path=self.path,
            workbook_id=self.id,
            schema_version=self.schema_version,
            integrity=str(integrity),
            counts=self.counts(),
            deleted=int(deleted),
            revisions=int(revisions),
            file_mode=oct(self.path.stat().st_mode & 0o777),
        )

    # --- a whole workbook as rows: export and import -----------------------------------

    def export_rows(self) -> WorkbookRows:
        """Every record (deleted ones too) and every revision, as stored, from one read:
        what the portable export holds."""
        with self.atomic(write=False), self._errors():
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            records = self._db.execute(
                f"SELECT {', '.join(RecordRow._fields)} FROM records ORDER BY kind, created_at, id"
            ).fetchall()
            revisions = self._db.execute(
                f"SELECT {', '.join(RevisionRow._fields)} FROM revisions"
                " ORDER BY record_id, revision"
            ).fetchall()
            withheld = self._db.execute(
                f"SELECT {', '.join(WithheldRow._fields)} FROM withheld"
                " ORDER BY kind, coalesce(occurred_on, '')"
            ).fetchall()
            version = self._pragma("user_version")
            received = self.received()
        return WorkbookRows(
            workbook_id=meta["workbook_id"],
            created_at=meta["created_at"],
            schema_version=version,
            records=tuple(RecordRow(*r) for r in records),
            revisions=tuple(RevisionRow(*r) for r in revisions),
            side=Side(meta.get("side", Side.CLIENT)),
            client_workbook_id=meta.get("client_workbook_id"),
            received=received,
            withheld=tuple(WithheldRow(*r) for r in withheld),
        )

    def import_rows(self, rows: WorkbookRows) -> None:
        """Fill this new, empty workbook with ``rows`` (an import): its id and creation
        time, every record and every revision, in one transaction.

        Each record is validated by its model again and placed in time from its own data
        (the rows' ``occurred_on`` and ``occurred_at`` are not trusted). A workbook that
        holds records already is refused.
        """
        with self.atomic():
            if self._db.execute("SELECT count(*) FROM records").fetchone()[0]:
                raise WorkbookError(f"{self.path} is not empty; import into a new workbook")
            meta = {"workbook_id": rows.workbook_id, "created_at": rows.created_at}
            if rows.client_workbook_id is not None:
                meta["side"] = Side(rows.side).value
                meta["client_workbook_id"] = rows.client_workbook_id
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                sorted(meta.items()),
            )
            if rows.received is not None:
                self._set_received(rows.received)
            self._insert_records(rows.records)
            self._db.executemany(
                f"INSERT INTO revisions ({', '.join(RevisionRow._fields)})"
                f" VALUES ({','.join('?' * len(RevisionRow._fields))})",
                rows.revisions,
            )
            self._db.executemany(
                f"INSERT INTO withheld ({', '.join(WithheldRow._fields)}) VALUES (?,?,?)",
                rows.withheld,
            )

    def _insert_records(self, records: Iterable[RecordRow]) -> None:
        """Insert record rows, each validated by its model again and placed in time from
        its own data (the rows' ``occurred_on`` and ``occurred_at`` are not trusted)."""
        for r in records:
            day, at = when_columns(record_type(r.kind).model_validate_json(r.data))
            self._db.execute(
                f"INSERT INTO records ({', '.join(RecordRow._fields)})"
                f" VALUES ({','.join('?' * len(RecordRow._fields))})",
                r._replace(occurred_on=day, occurred_at=at),
            )

    def _set_received(self, received: Received) -> None:
        value = {"sequence": received.sequence, "created_at": received.created_at}
        if received.consent is not None:
            value["consent"] = received.consent
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('received', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps(value, ensure_ascii=False, sort_keys=True),),
        )

    # --- receiving: the one path that replaces the other side's records (issue 12) --------

    def sides(self, ids: Iterable[str]) -> dict[str, tuple[str, Side]]:
        """For each of ``ids`` the workbook holds (deleted ones too): its kind and the side
        that wrote it."""
        found: dict[str, tuple[str, Side]] = {}
        wanted = list(dict.fromkeys(ids))
        with self._errors():
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT id, kind, side FROM records WHERE id IN ({marks})", chunk
                ).fetchall()
                found.update((rid, (kind, Side(side))) for rid, kind, side in rows)
        return found

    def side_rows(self, side: Side | str) -> dict[str, RecordRow]:
        """Every record ``side`` wrote (deleted ones too), as stored, by id."""
        with self._errors():
            rows = self._db.execute(
                f"SELECT {', '.join(RecordRow._fields)} FROM records WHERE side = ?",
                (Side(side).value,),
            ).fetchall()
        return {r[0]: RecordRow(*r) for r in rows}

    def replace_received(
        self,
        *,
        remove: Iterable[str],
        put: Iterable[RecordRow],
        received: Received,
        withheld: Iterable[WithheldRow] | None = None,
    ) -> None:
        """What ``heron-research receive`` writes, in one transaction: the records ``remove``
        names go with their whole history (no trace in records or history), each of
        ``put`` becomes the current version of its record with that version as a revision
        (an older version of it, if held, is kept as history), ``received`` is remembered
        and, for a practice workbook, ``withheld`` replaces the counts of what the client
        kept back. This is the only write that changes records the other side wrote; the
        caller (:mod:`heron_research.exchange.receive`) decides which.

        Then the WAL is checkpointed and emptied, so a removed entry is gone from the
        file's bytes too (deleted content is overwritten: ``secure_delete``)."""
        gone = list(remove)
        rows = list(put)
        with self.atomic():
            for start in range(0, len(gone), 500):
                chunk = gone[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self._db.execute(f"DELETE FROM revisions WHERE record_id IN ({marks})", chunk)
                self._db.execute(f"DELETE FROM records WHERE id IN ({marks})", chunk)
            for start in range(0, len(rows), 500):
                chunk = [r.id for r in rows[start : start + 500]]
                self._db.execute(
                    f"DELETE FROM records WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
            self._insert_records(rows)
            self._db.executemany(
                "INSERT INTO revisions (record_id, revision, kind, sharing, saved_at, deleted,"
                " data, side) VALUES (?,?,?,?,?,0,?,?)"
                " ON CONFLICT (record_id, revision) DO UPDATE SET kind = excluded.kind,"
                " sharing = excluded.sharing, saved_at = excluded.saved_at, deleted = 0,"
                " data = excluded.data, side = excluded.side",
                [(r.id, r.revision, r.kind, r.sharing, r.updated_at, r.data, r.side) for r in rows],
            )
            if withheld is not None:
                self._db.execute("DELETE FROM withheld")
                self._db.executemany(
                    f"INSERT INTO withheld ({', '.join(WithheldRow._fields)}) VALUES (?,?,?)",
                    list(withheld),
                )
            self._set_received(received)
        if self._depth == 0:
            with self._errors():
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- settings: small values the workbook remembers (issue 12) --------------------------

    #: Settings live in the ``meta`` table under this prefix (never the workbook's own facts).
    _SETTING_PREFIX = "setting."

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """The value remembered under ``key`` (such as the practitioner's age recipient, or
        the last bundle number per audience), or ``default``. The portable export leaves
        settings out: they belong to this copy on this computer."""
        with self._errors():
            row = self._db.execute(
                "SELECT value FROM meta WHERE key = ?", (self._SETTING_PREFIX + key,)
            ).fetchone()
        return default if row is None else str(row[0])

    def set_setting(self, key: str, value: str | None) -> None:
        """Remember ``value`` under ``key`` (``None`` forgets it), in one transaction."""
        if not key:
            raise ValueError("a setting needs a name")
        with self.atomic():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (self._SETTING_PREFIX + key,))
            else:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self._SETTING_PREFIX + key, str(value)),
                )
