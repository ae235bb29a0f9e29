"""A workbook's rows read without SQLite, the way a read-only :class:`Workbook` reads them.

:class:`RowsReader` answers the reads the research batch makes of a workbook (its id and
clock, the consent ledger, an audience's raw rows, a record's history) from
:class:`~heron_research.workbook.stored.WorkbookRows` held in memory: a JSON export that
:func:`heron_research.workbook.portable.read_export` validated. Who sees what is decided by
the same function as in the store (:func:`~heron_research.workbook.stored.audience_levels`,
that is :func:`heron_research.visibility.visible_levels`), and rows come in the store's
order (:data:`~heron_research.workbook.stored.ROW_ORDER`), so a batch gives the same
dataset from an export as from the workbook it was made from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from heron_research.errors import RecordNotFoundError
from heron_research.records import PERSON, Record, record_type
from heron_research.records.base import Sharing
from heron_research.records.consent import ConsentState, consent_state
from heron_research.records.facts import Side
from heron_research.visibility import Audience
from heron_research.workbook.stored import (
    ROW_ORDER,
    RecordRow,
    Revision,
    RevisionRow,
    StoredRecord,
    StoredRow,
    WorkbookRows,
    audience_levels,
    parse_stamp,
)

__all__ = ["RowsReader"]


def _order(row: RecordRow) -> tuple[Any, ...]:
    """The sort key of :data:`ROW_ORDER` (a missing value first, as SQLite sorts NULL)."""
    key: list[Any] = []
    for name in ROW_ORDER:
        value = getattr(row, name)
        key.extend((value is not None, value or ""))
    return tuple(key)


class RowsReader:
    """A read-only view of :class:`WorkbookRows` with the read methods of a Workbook that
    the research batch uses. ``clock`` (default: the real time) is the reader's now."""

    def __init__(self, rows: WorkbookRows, *, clock: Callable[[], datetime] | None = None):
        self.rows = rows
        self._clock = clock or (lambda: datetime.now(UTC))
        by_kind: dict[str, list[RecordRow]] = {}
        for row in rows.records:
            by_kind.setdefault(row.kind, []).append(row)
        self._by_kind = {kind: sorted(group, key=_order) for kind, group in by_kind.items()}
        self._revisions: dict[str, list[RevisionRow]] = {}
        for revision in sorted(rows.revisions, key=lambda v: (v.record_id, v.revision)):
            self._revisions.setdefault(revision.record_id, []).append(revision)

    @property
    def id(self) -> str:
        """The workbook's own random id."""
        return self.rows.workbook_id

    def now(self) -> datetime:
        return self._clock()

    def _current(
        self,
        kind: str,
        levels: frozenset[Sharing],
        include_deleted: bool,
        audience: Audience | str = Audience.CLIENT,
    ) -> list[RecordRow]:
        record_type(kind)
        values = {level.value for level in levels}
        found = [
            row
            for row in self._by_kind.get(kind, ())
            if row.sharing in values and (include_deleted or row.deleted_at is None)
        ]
        if kind == PERSON and Audience(audience) is Audience.PRACTITIONER:
            named = self._named_people(values)
            found = [row for row in found if row.id in named]
        return found

    def _named_people(self, values: set[str]) -> set[str]:
        """The people named by current entries shared at ``values`` (the store's rule: the
        practitioner sees a person only when an entry they see names them)."""
        named: set[str] = set()
        for kind, rows in self._by_kind.items():
            if kind == PERSON:
                continue
            for row in rows:
                if row.sharing in values and row.deleted_at is None:
                    data = json.loads(row.data)
                    people = data.get("people")
                    if isinstance(people, list):
                        named.update(p for p in people if isinstance(p, str))
                    if isinstance(data.get("person_id"), str):
                        named.add(data["person_id"])
        return named

    def records(
        self,
        kind: str,
        *,
        audience: Audience | str = Audience.CLIENT,
        include_deleted: bool = False,
    ) -> list[StoredRecord]:
        """Records of one kind that ``audience`` may see, validated (:meth:`Workbook.records`
        without the period)."""
        levels = audience_levels(audience, self.consent(), include_deleted=include_deleted)
        return [
            StoredRecord(
                record=record_type(row.kind).model_validate_json(row.data),
                created_at=parse_stamp(row.created_at),
                updated_at=parse_stamp(row.updated_at),
                revision=row.revision,
                deleted_at=parse_stamp(row.deleted_at) if row.deleted_at else None,
                side=Side(row.side),
            )
            for row in self._current(kind, levels, include_deleted, audience)
        ]

    def consent(self, as_of: datetime | None = None) -> ConsentState:
        """The consent in force ``as_of`` (default: the reader's now)."""
        everything = frozenset(Sharing)
        entries: list[Record] = [
            record_type(row.kind).model_validate_json(row.data)
            for row in self._current("consent", everything, include_deleted=False)
        ]
        return consent_state(entries, as_of=as_of or self._clock())  # type: ignore[arg-type]

    def raw_rows(
        self,
        kinds: Iterable[str],
        audience: Audience | str,
        *,
        consent: ConsentState | None = None,
        include_deleted: bool = False,
    ) -> list[StoredRow]:
        """:meth:`Workbook.raw_rows`: the records of ``kinds`` ``audience`` may see, by
        kind and then in the store's order, their JSON parsed but not validated again."""
        levels = audience_levels(
            audience,
            consent if consent is not None else self.consent(),
            include_deleted=include_deleted,
        )
        return [
            StoredRow(row.kind, row.id, row.revision, row.updated_at, json.loads(row.data))
            for kind in sorted(set(kinds))
            for row in self._current(kind, levels, include_deleted, audience)
        ]

    def history(self, record_id: str) -> list[Revision]:
        """Every saved version of a record, oldest first."""
        found = self._revisions.get(record_id)
        if not found:
            raise RecordNotFoundError(f"no record with id {record_id}")
        return [
            Revision(
                v.record_id,
                v.revision,
                v.kind,
                v.sharing,
                parse_stamp(v.saved_at),
                bool(v.deleted),
                json.loads(v.data),
                Side(v.side),
            )
            for v in found
        ]
