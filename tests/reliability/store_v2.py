"""The store's write code as the release at schema version 2 had it (before migration 3
gave records and revisions their writing side), for ``package_at`` to put in place.

Copied from ``heron_research/workbook/store.py`` as it was then (``_save``,
``_mark_deleted``, ``_stored``, ``_COLUMNS``), taking and ignoring the ``side`` argument
today's public ``save`` and ``delete`` pass: a release at version 2 or 1 writes the rows
that release wrote. Never edit it to follow today's store.
"""

from __future__ import annotations

import json
from typing import Any

from heron_research.errors import RecordNotFoundError, WorkbookError
from heron_research.records import Record, record_type
from heron_research.records.base import validate_record
from heron_research.workbook.store import StoredRecord, Workbook, parse_stamp, stamp
from heron_research.workbook.stored import when_columns

#: the last schema version whose rows this code writes
WRITES_UP_TO = 2


def _save(
    self: Workbook, record: Record, expected_revision: int | None, side: object = None
) -> StoredRecord:
    if not isinstance(record, Record):
        raise TypeError("save() takes a record; validate form data with Record.from_data()")
    # models are mutable and model_copy(update=...) skips validation: check again
    record = validate_record(type(record), record.model_dump(warnings=False))
    now = stamp(self._clock())
    data = json.dumps(record.to_data(), ensure_ascii=False, sort_keys=True)
    day, at = when_columns(record)
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


def _mark_deleted(
    self: Workbook, record_id: str, deleted: bool, side: object = None
) -> StoredRecord:
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


#: what ``package_at`` puts on :class:`Workbook` for a release at version 2 or older
METHODS = {
    "_save": _save,
    "_mark_deleted": _mark_deleted,
    "_stored": staticmethod(_stored),
    "_COLUMNS": _COLUMNS,
}
