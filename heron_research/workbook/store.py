"""The workbook: one SQLite file per client, written only through this class.

* WAL journal, ``synchronous=FULL``, a busy timeout, and explicit transactions: every
  write that reads first starts with ``BEGIN IMMEDIATE`` so two notebooks writing at once
  wait for each other instead of failing.
* The file is created owner-only (0600); SQLite gives its ``-wal`` and ``-shm`` files the
  same mode.
* Saving a record that exists adds a revision: earlier versions are kept in
  ``revisions`` and deletion only marks the record, so both are reversible.
* Reads go through :func:`heron_research.visibility.visible_levels`: an audience never
  receives a record its sharing level and the consent in force do not allow.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron_research.errors import (
    NewerWorkbookError,
    NotAWorkbookError,
    OlderWorkbookError,
    RecordNotFoundError,
    WorkbookBusyError,
    WorkbookCorruptError,
    WorkbookError,
    WorkbookExistsError,
    WorkbookNotFoundError,
    WorkbookReadOnlyError,
)
from heron_research.records import RECORD_TYPES, ConsentEntry, Record, record_type
from heron_research.records.base import Sharing, validate_record
from heron_research.records.consent import ConsentState, consent_state
from heron_research.visibility import Audience, visible_levels
from heron_research.workbook.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Health", "Revision", "StoredRecord", "Workbook"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 15.0

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A UTC timestamp in one fixed, sortable format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> datetime:
    """The inverse of :func:`stamp` (an aware UTC datetime)."""
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: the validated record plus what the workbook keeps about it."""

    record: Record
    created_at: datetime
    updated_at: datetime
    revision: int
    deleted_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def sharing(self) -> Sharing:
        return self.record.sharing


@dataclass(frozen=True)
class Revision:
    """One saved version of a record (``deleted`` marks a deletion or a restore)."""

    record_id: str
    revision: int
    kind: str
    sharing: str
    saved_at: datetime
    deleted: bool
    data: dict[str, Any]


@dataclass(frozen=True)
class Health:
    """What ``heron-research check`` reports."""

    path: Path
    workbook_id: str
    schema_version: int
    integrity: str  # "ok" or SQLite's first complaint
    counts: dict[str, int]
    deleted: int
    revisions: int
    file_mode: str

    @property
    def ok(self) -> bool:
        return self.integrity == "ok"


def _when_columns(record: Record) -> tuple[str | None, str | None]:
    """(local calendar day, UTC timestamp) that place a record in time, if it has a date."""
    when = record.when()
    if when is None:
        return None, None
    if isinstance(when, datetime):
        return when.date().isoformat(), stamp(when)
    return when.isoformat(), None


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


def _lock_partial(fd: int) -> bool:
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


#: The files SQLite may keep beside a database (its journal in either mode).
_SIDECARS = ("-journal", "-wal", "-shm")


def remove_workbook_files(path: Path, *, sidecars_only: bool = False) -> list[Path]:
    """Remove a database file and its journal, ``-wal`` and ``-shm``; the ones removed."""
    removed = []
    for suffix in _SIDECARS if sidecars_only else ("", *_SIDECARS):
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
    import glob

    removed: list[Path] = []
    pattern = glob.escape(str(path.with_name(f".{path.name}."))) + "*.creating*"
    partials = set()
    for name in glob.glob(pattern):  # the partials, and sidecars left without one
        for suffix in _SIDECARS:
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
        if not _lock_partial(fd):
            return []  # being created right now (or no flock here)
        return remove_workbook_files(partial)  # while the lock is held
    finally:
        os.close(fd)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a new or replaced file name) to disk, where that is possible."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
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
    ) -> Workbook:
        """Make a new, empty workbook file (owner-only) and open it.

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

        def exists() -> WorkbookExistsError:
            return WorkbookExistsError(f"{path} already exists; choose another name", path)

        if path.exists():
            raise exists()
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.creating")
        try:
            fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError as exc:
            raise WorkbookError(f"cannot create {path}: {exc.strerror}", path) from None
        # held until the partial is gone (closed only after SQLite's connection is, as
        # closing another descriptor of an open database would drop SQLite's own locks)
        _lock_partial(fd)
        try:
            db = cls._connect(partial, readonly=False)
            try:
                db.execute("PRAGMA journal_mode = WAL")
                wb = cls(path, db, readonly=False, clock=clock)  # errors name the real path
                wb._migrate(
                    initial_meta={
                        "workbook_id": workbook_id or uuid.uuid4().hex,
                        "created_at": stamp(wb._clock()),
                    }
                )
                if fill is not None:
                    fill(wb)
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.close()  # the only connection: SQLite removes the -wal and -shm
            try:
                os.link(partial, path)  # unlike a rename, never replaces a file at path
            except FileExistsError:
                raise exists() from None
            except OSError:  # no hard links on this disk (FAT, exFAT): rename, having looked
                if path.exists():
                    raise exists() from None
                os.rename(partial, path)
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
    ) -> Workbook:
        """Open an existing workbook, upgrading an older format (unless ``readonly``).

        Refuses, with a message that says why, a missing path, a file that is not SQLite,
        someone else's SQLite file, and a workbook from a newer heron-research.
        """
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
            db = cls._connect(path, readonly=readonly)
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
    def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
        if readonly:
            db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
            )
        else:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
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

    @property
    def schema_version(self) -> int:
        with self._errors():
            return self._pragma("user_version")

    def now(self) -> datetime:
        """The workbook's clock (the demo uses a simulated one)."""
        return self._clock()

    # --- writing ------------------------------------------------------------------------

    def save(self, record: Record, *, expected_revision: int | None = None) -> StoredRecord:
        """Save a validated record: insert it, or add a new revision if its id exists.

        ``expected_revision`` guards an edit: if someone saved the record since it was
        loaded, nothing is written and :class:`WorkbookError` says so.
        """
        with self.atomic():
            return self._save(record, expected_revision)

    def save_many(self, records: Iterable[Record]) -> list[StoredRecord]:
        """Save several records in one transaction: all of them, or none."""
        with self.atomic():
            return [self._save(r, None) for r in records]

    def _save(self, record: Record, expected_revision: int | None) -> StoredRecord:
        if not isinstance(record, Record):
            raise TypeError("save() takes a record; validate form data with Record.from_data()")
        # models are mutable and model_copy(update=...) skips validation: check again
        record = validate_record(type(record), record.model_dump(warnings=False))
        now = stamp(self._clock())
        data = json.dumps(record.to_data(), ensure_ascii=False, sort_keys=True)
        day, at = _when_columns(record)
        row = self._db.execute(
            "SELECT kind, revision, created_at FROM records WHERE id = ?", (record.id,)
        ).fetchone()
        if row is None:
            if expected_revision not in (None, 0):
                raise RecordNotFoundError(f"no {record.kind} with id {record.id}", self.path)
            revision, created = 1, now
            self._db.execute(
                "INSERT INTO records (id, kind, sharing, occurred_on, occurred_at, created_at,"
                " updated_at, deleted_at, revision, data) VALUES (?,?,?,?,?,?,?,NULL,?,?)",
                (record.id, record.kind, record.sharing.value, day, at, now, now, revision, data),
            )
        else:
            kind, current, created = row
            if kind != record.kind:
                raise WorkbookError(
                    f"id {record.id} belongs to a {kind}, not a {record.kind}", self.path
                )
            if expected_revision is not None and expected_revision != current:
                raise WorkbookError(
                    f"this {kind.replace('_', ' ')} was changed elsewhere since it was opened "
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
            "INSERT INTO revisions (record_id, revision, kind, sharing, saved_at, deleted, data)"
            " VALUES (?,?,?,?,?,0,?)",
            (record.id, revision, record.kind, record.sharing.value, now, data),
        )
        return StoredRecord(
            record=record,
            created_at=parse_stamp(created),
            updated_at=parse_stamp(now),
            revision=revision,
        )

    def _mark_deleted(self, record_id: str, deleted: bool) -> StoredRecord:
        with self.atomic():
            row = self._db.execute(
                "SELECT kind, sharing, revision, data, deleted_at FROM records WHERE id = ?",
                (record_id,),
            ).fetchone()
            if row is None:
                raise RecordNotFoundError(f"no record with id {record_id}", self.path)
            kind, sharing, current, data, deleted_at = row
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
                " data) VALUES (?,?,?,?,?,?,?)",
                (record_id, revision, kind, sharing, now, int(deleted), data),
            )
            return self.get_stored(record_id)

    def delete(self, record_id: str) -> StoredRecord:
        """Delete a record. Reversible with :meth:`restore`; its history is kept."""
        return self._mark_deleted(record_id, True)

    def restore(self, record_id: str) -> StoredRecord:
        """Bring back a deleted record."""
        return self._mark_deleted(record_id, False)

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
        kind, data, created, updated, revision, deleted = row
        record = record_type(kind).model_validate_json(data)
        return StoredRecord(
            record=record,
            created_at=parse_stamp(created),
            updated_at=parse_stamp(updated),
            revision=revision,
            deleted_at=parse_stamp(deleted) if deleted else None,
        )

    _COLUMNS = "kind, data, created_at, updated_at, revision, deleted_at"

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
                "SELECT record_id, revision, kind, sharing, saved_at, deleted, data"
                " FROM revisions WHERE record_id = ? ORDER BY revision",
                (record_id,),
            ).fetchall()
        if not rows:
            raise RecordNotFoundError(f"no record with id {record_id}", self.path)
        return [
            Revision(r[0], r[1], r[2], r[3], parse_stamp(r[4]), bool(r[5]), json.loads(r[6]))
            for r in rows
        ]

    def consent(self, as_of: datetime | None = None) -> ConsentState:
        """The consent in force ``as_of`` (default: the workbook clock's now)."""
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
        levels = self.visible_levels(audience)
        if include_deleted and Audience(audience) is not Audience.CLIENT:
            raise ValueError("only the client's view can include deleted records")
        return self._query(kind, since, until, levels, include_deleted=include_deleted)

    def _query(
        self,
        kind: str,
        since: date | None,
        until: date | None,
        levels: frozenset[Sharing] | None,
        *,
        include_deleted: bool,
    ) -> list[StoredRecord]:
        sql = [f"SELECT {self._COLUMNS} FROM records WHERE kind = ?"]
        args: list[Any] = [kind]
        if levels is not None:
            if not levels:
                return []
            sql.append(f"AND sharing IN ({','.join('?' * len(levels))})")
            args.extend(sorted(s.value for s in levels))
        if since is not None:
            sql.append("AND (occurred_on IS NULL OR occurred_on >= ?)")
            args.append(since.isoformat())
        if until is not None:
            sql.append("AND (occurred_on IS NULL OR occurred_on <= ?)")
            args.append(until.isoformat())
        if not include_deleted:
            sql.append("AND deleted_at IS NULL")
        sql.append("ORDER BY occurred_on, occurred_at, created_at, id")
        with self._errors():
            rows = self._db.execute(" ".join(sql), args).fetchall()
        return [self._stored(r) for r in rows]

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

    # --- raw rows for export/import (same package) ----------------------------------------

    def _dump_rows(self) -> tuple[dict[str, str], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with self.atomic(write=False), self._errors():
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            records = self._db.execute(
                "SELECT id, kind, sharing, created_at, updated_at, deleted_at, revision, data"
                " FROM records ORDER BY kind, created_at, id"
            ).fetchall()
            revisions = self._db.execute(
                "SELECT record_id, revision, kind, sharing, saved_at, deleted, data"
                " FROM revisions ORDER BY record_id, revision"
            ).fetchall()
        return meta, records, revisions

    def _set_created_at(self, value: str) -> None:
        with self.atomic():
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'created_at'", (value,))

    def _load_rows(
        self,
        records: list[tuple[Any, ...]],
        revisions: list[tuple[Any, ...]],
    ) -> None:
        with self.atomic():
            if self._db.execute("SELECT count(*) FROM records").fetchone()[0]:
                raise WorkbookError(f"{self.path} is not empty; import into a new workbook")
            for rid, kind, sharing, created, updated, deleted, revision, data in records:
                record = record_type(kind).model_validate_json(data)
                day, at = _when_columns(record)
                self._db.execute(
                    "INSERT INTO records (id, kind, sharing, occurred_on, occurred_at,"
                    " created_at, updated_at, deleted_at, revision, data)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (rid, kind, sharing, day, at, created, updated, deleted, revision, data),
                )
            self._db.executemany(
                "INSERT INTO revisions (record_id, revision, kind, sharing, saved_at, deleted,"
                " data) VALUES (?,?,?,?,?,?,?)",
                revisions,
            )

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
