"""What the store hands out and takes in: stored records, revisions, health and raw rows.

These are plain values with no connection to a file, so the modules that build on them
(frames, the portable export, the research batch) need not import the store itself.
Everything here is also importable from :mod:`heron_research.workbook.store`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, Field

from heron_research.records import Record, record_type
from heron_research.records.base import FIRST_YEAR, LAST_YEAR, Sharing, year_pattern
from heron_research.records.consent import ConsentState
from heron_research.records.facts import Side
from heron_research.visibility import Audience, visible_levels

__all__ = [
    "ROW_ORDER",
    "STAMP_PATTERN",
    "Health",
    "Received",
    "RecordRow",
    "Revision",
    "RevisionRow",
    "Stamp",
    "StoredRecord",
    "StoredRow",
    "WithheldRow",
    "WorkbookRows",
    "audience_levels",
    "parse_stamp",
    "stamp",
    "when_columns",
]


def stamp(moment: datetime) -> str:
    """A UTC timestamp in one fixed, sortable format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> datetime:
    """The inverse of :func:`stamp` (an aware UTC datetime)."""
    return datetime.fromisoformat(text).astimezone(UTC)


#: A stamp as the JSON Schema states it: the shape of :func:`stamp`, a year from
#: ``FIRST_YEAR`` to ``LAST_YEAR``, and fields in their ranges (the schema's ``date-time``
#: format rules out the days a month does not have).
STAMP_PATTERN = (
    f"^{year_pattern()}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{6}Z$"
)
_STAMP_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")


def _real_stamp(text: str) -> str:
    """``text`` if it is a real UTC time in the format of :func:`stamp`, in the years the
    reports handle; ValueError saying what is allowed otherwise."""
    shown = text if len(text) <= 40 else text[:37] + "…"
    rule = (
        f"must be a real UTC time written YYYY-MM-DDTHH:MM:SS.ffffffZ, in the years "
        f"{FIRST_YEAR} to {LAST_YEAR} (it is {shown!r})"
    )
    if not _STAMP_SHAPE.match(text):
        raise ValueError(rule)
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise ValueError(rule) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(rule)
    return text


#: A stored time in a document (export, bundle): validated as :func:`_real_stamp` says, and
#: stated in the JSON Schema as :data:`STAMP_PATTERN` with the ``date-time`` format.
Stamp = Annotated[
    str,
    AfterValidator(_real_stamp),
    Field(
        description=f"UTC time, YYYY-MM-DDTHH:MM:SS.ffffffZ, years {FIRST_YEAR}-{LAST_YEAR}",
        json_schema_extra={"pattern": STAMP_PATTERN, "format": "date-time"},
    ),
]


def when_columns(record: Record) -> tuple[str | None, str | None]:
    """(local calendar day, UTC timestamp) that place a record in time, if it has a date:
    the store's ``occurred_on`` and ``occurred_at`` columns."""
    when = record.when()
    if when is None:
        return None, None
    if isinstance(when, datetime):
        return when.date().isoformat(), stamp(when)
    return when.isoformat(), None


#: The order records of one kind are read in, everywhere: by day and time (undated first),
#: then in the order they were made. Columns of the ``records`` table and fields of
#: :class:`RecordRow` alike; a missing value sorts first, as in SQLite.
ROW_ORDER = ("occurred_on", "occurred_at", "created_at", "id")


def audience_levels(
    audience: Audience | str, consent: ConsentState, *, include_deleted: bool = False
) -> frozenset[Sharing]:
    """The sharing levels a read for ``audience`` returns under ``consent``: what
    :func:`heron_research.visibility.visible_levels` allows. Deleted records are the
    client's alone (:class:`ValueError` if another audience asks for them)."""
    if include_deleted and Audience(audience) is not Audience.CLIENT:
        raise ValueError("only the client's view can include deleted records")
    return visible_levels(audience, consent)


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: the validated record plus what the workbook keeps about it."""

    record: Record
    created_at: datetime
    updated_at: datetime
    revision: int
    deleted_at: datetime | None = None
    #: the side that wrote it: only that side edits or deletes it
    side: Side = Side.CLIENT

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
    side: Side = Side.CLIENT


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


@dataclass(frozen=True)
class StoredRow:
    """A record as the workbook stores it: its JSON (validated when it was saved), parsed
    but not validated again (what :meth:`Workbook.raw_rows` returns)."""

    kind: str
    id: str
    revision: int
    updated_at: str
    data: dict[str, Any]

    def validated(self) -> StoredRow:
        """The same record validated again by its model (as ``Workbook.records`` does) and
        written back as JSON: for JSON whose shape this version's models would not write."""
        data = record_type(self.kind).model_validate(self.data).to_data()
        return StoredRow(self.kind, self.id, self.revision, self.updated_at, data)


class RecordRow(NamedTuple):
    """One row of the ``records`` table: the current version of a record, as text."""

    id: str
    kind: str
    sharing: str
    occurred_on: str | None
    occurred_at: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None
    revision: int
    data: str  # the record as JSON, keys sorted
    side: str  # the side that wrote it (client or practitioner)


class WithheldRow(NamedTuple):
    """One row of the ``withheld`` table of a practice workbook: how many of the client's
    entries of ``kind`` on ``occurred_on`` (``None``: undated) the last bundle left out."""

    kind: str
    occurred_on: str | None
    count: int


class RevisionRow(NamedTuple):
    """One row of the ``revisions`` table: a saved version of a record."""

    record_id: str
    revision: int
    kind: str
    sharing: str
    saved_at: str
    deleted: int  # 1 for a deletion, 0 for a save or a restore
    data: str
    side: str


@dataclass(frozen=True)
class Received:
    """What a workbook keeps of the last bundle it took in (``heron-research receive``).

    ``sequence`` and ``created_at`` are the bundle's: a later bundle has a larger sequence.
    In a practice workbook ``consent`` is the consent entry in force in the client's
    workbook when the bundle was made (its fields, as :class:`ConsentEntry` data), or
    ``None`` if none was recorded; a client workbook keeps no consent of its practitioner.
    """

    sequence: int
    created_at: str
    consent: dict[str, Any] | None = None


@dataclass(frozen=True)
class WorkbookRows:
    """A whole workbook as rows: what :meth:`Workbook.export_rows` reads and
    :meth:`Workbook.import_rows` writes (the portable export is these rows as JSON).

    ``records`` are in export order (kind, created_at, id); ``revisions`` by record id and
    revision. ``side`` is the workbook's own: a client's workbook, or a practitioner's
    practice workbook bound to the client workbook ``client_workbook_id``."""

    workbook_id: str
    created_at: str
    schema_version: int
    records: tuple[RecordRow, ...]
    revisions: tuple[RevisionRow, ...]
    side: Side = Side.CLIENT
    client_workbook_id: str | None = None
    received: Received | None = None
    withheld: tuple[WithheldRow, ...] = ()
