"""The portable export: a whole workbook as one JSON document, and back.

Format (``format: "heron-research-workbook"``, ``format_version: 2``), described by the
JSON Schema published as ``schema/workbook-export.schema.json``::

    {
      "format": "heron-research-workbook",
      "format_version": 2,
      "exported_by": "heron-research 0.1.0",
      "workbook": {"id": "...", "created_at": "2025-01-06T08:00:00.000000Z", "schema_version": 3,
                   "side": "client",            # or "practitioner": a practice workbook,
                   "client_workbook_id": null,  # bound to this client workbook id
                   "received": null},           # the last bundle received (see below)
      "records": [                  # the current version of every record, deleted ones too
        {"kind": "emotion_episode", "id": "...", "side": "client", "sharing": "practitioner",
         "created_at": "...", "updated_at": "...", "deleted_at": null, "revision": 2,
         "data": {...the record's fields...}}, ...],
      "revisions": [                # every saved version, oldest first per record
        {"record_id": "...", "revision": 1, "kind": "...", "side": "client", "sharing": "...",
         "saved_at": "...", "deleted": false, "data": {...}}, ...],
      "withheld": [                 # a practice workbook: counts of the client's entries
        {"kind": "emotion_episode", "occurred_on": "2025-03-01", "count": 2}, ...]
    }

``received`` is ``{"sequence": 3, "created_at": "...", "consent": {...} or null}``: the number
and time of the last bundle taken in, and for a practice workbook the client's consent
entry in force when it was made.

Format 1 (before records knew their writing side) is still imported: it has no ``side``,
``client_workbook_id``, ``received`` or ``withheld``, and each entry gets the side the
workbook's migration 3 gives stored rows (the practitioner for kinds only they write, else
the client).

Timestamps are UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. Keys are sorted and the output is
deterministic, so ``export(import(export(w))) == export(w)`` byte for byte.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from heron_research._version import __version__
from heron_research.errors import ExportFormatError
from heron_research.records import RECORD_TYPES, ConsentEntry, Record, Sharing, Side
from heron_research.records.base import DOCUMENT_CONTEXT, LimitsSchema, _problem
from heron_research.workbook.files import write_private
from heron_research.workbook.schema import SCHEMA_VERSION, side_before_v3
from heron_research.workbook.store import Workbook
from heron_research.workbook.stored import (
    Received,
    RecordRow,
    RevisionRow,
    Stamp,
    WithheldRow,
    WorkbookRows,
    when_columns,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "export_data",
    "export_json",
    "export_schema",
    "import_json",
    "import_text",
    "read_export",
    "write_export",
]

FORMAT = "heron-research-workbook"
FORMAT_VERSION = 2
#: The export formats this version imports (1: before records knew their writing side).
READABLE_VERSIONS = (1, 2)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_SIDE = "The side that wrote it: only that side edits it (format 2; absent in format 1)"


class ReceivedInfo(_Strict):
    """The last bundle the workbook took in (heron-research receive)."""

    sequence: int = Field(ge=1, description="The bundle's number: a later one is larger")
    created_at: Stamp
    consent: ConsentEntry | None = Field(
        default=None,
        description="A practice workbook: the client's consent entry in force when the bundle "
        "was made (none recorded: null)",
    )


class WithheldEntry(_Strict):
    """How many of the client's entries of a kind and day a practice workbook's last bundle
    left out: a count, no content and no ids."""

    kind: Literal[tuple(RECORD_TYPES)]  # type: ignore[valid-type]
    occurred_on: str | None = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="The entries' day (null: undated kinds)"
    )
    count: int = Field(ge=1)


class WorkbookInfo(_Strict):
    id: str = Field(min_length=1, max_length=64, description="The workbook's random id")
    created_at: Stamp
    schema_version: int = Field(ge=1, description="Workbook schema version it was exported from")
    side: Side | None = Field(
        default=None,
        description="client: a client's own workbook; practitioner: a practitioner's practice "
        "workbook for one client (format 2; absent in format 1: a client's)",
    )
    client_workbook_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A practice workbook: the client workbook it is bound to",
    )
    received: ReceivedInfo | None = None


def _entry_model(kind: str, record: type[Record]) -> type[BaseModel]:
    return create_model(  # one envelope per kind, so `data` is checked against its record
        f"{record.__name__}Entry",
        __base__=_Strict,
        kind=(Literal[kind], Field(description="The record kind")),  # type: ignore[valid-type]
        id=(str, Field(min_length=1, max_length=64)),
        side=(Side | None, Field(default=None, description=_SIDE)),
        sharing=(Sharing, ...),
        created_at=(Stamp, ...),
        updated_at=(Stamp, ...),
        deleted_at=(Stamp | None, None),
        revision=(int, Field(ge=1)),
        data=(record, Field(description=f"The {record.facts.label} itself")),
    )


_ENTRIES = tuple(_entry_model(kind, cls) for kind, cls in RECORD_TYPES.items())
RecordEntry = Annotated[Union[_ENTRIES], Field(discriminator="kind")]  # noqa: UP007


class RevisionEntry(_Strict):
    record_id: str = Field(min_length=1, max_length=64)
    revision: int = Field(ge=1)
    kind: Literal[tuple(RECORD_TYPES)]  # type: ignore[valid-type]
    side: Side | None = Field(default=None, description=_SIDE)
    sharing: Sharing
    saved_at: Stamp
    deleted: bool = Field(description="This revision marks a deletion (true) or a save/restore")
    data: dict[str, Any] = Field(description="The record's fields as saved then")


class ExportDocument(_Strict):
    """A whole heron-research workbook."""

    model_config = ConfigDict(
        extra="forbid",
        title="heron-research workbook export",
        json_schema_extra={"$id": "https://heron-research.example/workbook-export.schema.json"},
    )
    format: Literal["heron-research-workbook"]
    format_version: Literal[1, 2]
    exported_by: str
    workbook: WorkbookInfo
    records: list[RecordEntry]  # type: ignore[valid-type]
    revisions: list[RevisionEntry]
    withheld: list[WithheldEntry] = Field(
        default_factory=list,
        description="A practice workbook: counts of the client's entries per kind and day that "
        "their last bundle left out (format 2)",
    )


def export_schema() -> dict[str, Any]:
    """The JSON Schema of the export format (what ``make schema`` publishes)."""
    schema = ExportDocument.model_json_schema(mode="validation", schema_generator=LimitsSchema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def export_data(wb: Workbook) -> dict[str, Any]:
    """The workbook as a JSON-ready dict in the export format."""
    rows = wb.export_rows()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_by": f"heron-research {__version__}",
        "workbook": {
            "id": rows.workbook_id,
            "created_at": rows.created_at,
            "schema_version": rows.schema_version,
            "side": Side(rows.side).value,
            "client_workbook_id": rows.client_workbook_id,
            "received": None
            if rows.received is None
            else {
                "sequence": rows.received.sequence,
                "created_at": rows.received.created_at,
                "consent": rows.received.consent,
            },
        },
        "records": [
            {
                "kind": r.kind,
                "id": r.id,
                "side": r.side,
                "sharing": r.sharing,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "deleted_at": r.deleted_at,
                "revision": r.revision,
                "data": json.loads(r.data),
            }
            for r in rows.records
        ],
        "revisions": [
            {
                "record_id": v.record_id,
                "revision": v.revision,
                "kind": v.kind,
                "side": v.side,
                "sharing": v.sharing,
                "saved_at": v.saved_at,
                "deleted": bool(v.deleted),
                "data": json.loads(v.data),
            }
            for v in rows.revisions
        ],
        "withheld": [
            {"kind": w.kind, "occurred_on": w.occurred_on, "count": w.count} for w in rows.withheld
        ],
    }


def export_json(wb: Workbook) -> str:
    """The workbook as export-format JSON text (deterministic: sorted keys, fixed layout)."""
    return json.dumps(export_data(wb), ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def write_export(wb: Workbook, path: str | os.PathLike[str]) -> Path:
    """Write the export to ``path``, owner-only (it holds everything in the workbook).

    An existing file at ``path`` is replaced in one step (:func:`write_private`): if the
    export fails or is killed part-way, the old file is still there, whole."""
    return write_private(path, export_json(wb))


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    """Words for a place in the export, e.g. 'record 3 (emotion_episode 1a2b…)'."""
    if len(loc) >= 2 and loc[0] in ("records", "revisions") and isinstance(loc[1], int):
        try:
            item = raw[loc[0]][loc[1]]
            ident = item.get("id") or item.get("record_id")
            return f"{loc[0][:-1]} {loc[1] + 1} ({item.get('kind')} {ident})"
        except (AttributeError, IndexError, KeyError, TypeError):
            return f"{loc[0][:-1]} {loc[1] + 1}"
    return ".".join(str(p) for p in loc) or "the document"


def _words(err: Any) -> str:
    """pydantic's message, without the "Value error, " it puts before a validator's own."""
    return str(err["msg"]).removeprefix("Value error, ")


def _parse(text: str, source: str) -> ExportDocument:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportFormatError(f"{source} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ExportFormatError(f"{source} is not a heron-research workbook export")
    if raw.get("format_version") not in READABLE_VERSIONS:
        raise ExportFormatError(
            f"{source} uses export format {raw.get('format_version')!r}; this heron-research "
            f"reads formats {' and '.join(map(str, READABLE_VERSIONS))}"
        )
    try:
        # a document's times must carry their offset (naive ones would be read as local)
        return ExportDocument.model_validate(raw, context=dict(DOCUMENT_CONTEXT))
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False)[:5]:
            loc = tuple(err["loc"])
            if "data" in loc:
                i = loc.index("data")
                kind = raw[loc[0]][loc[1]].get("kind") if len(loc) > 1 else None
                problem = (
                    _problem(RECORD_TYPES[kind], {**err, "loc": loc[i + 1 :]})
                    if kind in RECORD_TYPES
                    else None
                )
                detail = str(problem) if problem else err["msg"]
            elif loc and loc[0] in ("records", "revisions"):
                rest = loc[2:]
                if rest and rest[0] in RECORD_TYPES:  # the union's tag: named by _where
                    rest = rest[1:]
                detail = f"{'.'.join(str(p) for p in rest) or 'entry'}: {_words(err)}"
            else:  # the place is already named in full by _where, e.g. "workbook.id"
                detail = _words(err)
            lines.append(f"{_where(loc, raw)}: {detail}")
        more = exc.error_count() - len(lines)
        suffix = f" (and {more} more problems)" if more > 0 else ""
        raise ExportFormatError(
            f"{source} does not match the export format: " + "; ".join(lines) + suffix
        ) from None


def import_json(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Workbook:
    """Make a new workbook at ``dest`` from an export file ``source`` and return it open.

    The export is checked completely before anything is written; the new workbook appears
    at ``dest`` only once every entry is in it, so a problem, or the program being killed
    part-way, leaves no half-imported file behind.
    """
    source = Path(source)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportFormatError(f"{source}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ExportFormatError(
            f"cannot read {source}: it is not text (byte {exc.start + 1} is not UTF-8), so it "
            "is not a heron-research export"
        ) from None
    except OSError as exc:
        raise ExportFormatError(f"cannot read {source}: {exc.strerror or exc}") from None
    return import_text(text, dest, source=str(source))


def read_export(text: str, *, source: str = "the export") -> WorkbookRows:
    """Export text validated, straight to the workbook's rows (no SQLite file is made).

    The whole document is checked against the format and every record against its model;
    :class:`ExportFormatError` names what is wrong. The rows are what an import writes
    (:meth:`Workbook.import_rows`), and :class:`~heron_research.workbook.rows.RowsReader`
    reads them as a read-only workbook.
    """
    doc = _parse(text, source)
    if doc.workbook.schema_version > SCHEMA_VERSION:
        raise ExportFormatError(
            f"{source} comes from workbook format {doc.workbook.schema_version}; upgrade "
            "heron-research to import it"
        )
    ids = [r.id for r in doc.records]
    if len(set(ids)) != len(ids):
        raise ExportFormatError(f"{source} lists a record id twice")
    versions = [(v.record_id, v.revision) for v in doc.revisions]
    if len(set(versions)) != len(versions):
        raise ExportFormatError(f"{source} lists a revision of a record twice")
    for r in doc.records:
        if r.data.id != r.id or r.data.sharing != r.sharing:
            raise ExportFormatError(
                f"{source}: record {r.id} has a different id or sharing in data"
            )
    info = doc.workbook
    if doc.format_version >= 2:
        missing = [e for e in (info, *doc.records, *doc.revisions) if e.side is None]
        if missing:
            raise ExportFormatError(
                f"{source}: format 2 gives every entry its side; some have none"
            )
    elif info.client_workbook_id or info.received or doc.withheld:
        raise ExportFormatError(f"{source}: format 1 has no practice workbooks")
    side = Side(info.side or Side.CLIENT)
    if (side is Side.PRACTITIONER) != (info.client_workbook_id is not None):
        raise ExportFormatError(
            f"{source}: a practice workbook, and only one, names the client workbook it is for"
        )
    for r in doc.records:
        writer = r.side or side_before_v3(r.kind)
        if not r.data.facts.written_by(writer):
            raise ExportFormatError(
                f"{source}: record {r.id} says the {writer} wrote it; only the "
                f"{' or '.join(sorted(r.data.facts.writers))} writes {r.data.facts.plural}"
            )
    received = info.received
    return WorkbookRows(
        workbook_id=doc.workbook.id,
        created_at=doc.workbook.created_at,
        schema_version=doc.workbook.schema_version,
        records=tuple(
            RecordRow(
                r.id,
                r.kind,
                r.sharing.value,
                *when_columns(r.data),
                r.created_at,
                r.updated_at,
                r.deleted_at,
                r.revision,
                json.dumps(r.data.to_data(), ensure_ascii=False, sort_keys=True),
                Side(r.side or side_before_v3(r.kind)).value,
            )
            for r in doc.records
        ),
        revisions=tuple(
            RevisionRow(
                v.record_id,
                v.revision,
                v.kind,
                v.sharing.value,
                v.saved_at,
                int(v.deleted),
                json.dumps(v.data, ensure_ascii=False, sort_keys=True),
                Side(v.side or side_before_v3(v.kind)).value,
            )
            for v in doc.revisions
        ),
        side=side,
        client_workbook_id=info.client_workbook_id,
        received=None
        if received is None
        else Received(
            received.sequence,
            received.created_at,
            received.consent.to_data() if received.consent is not None else None,
        ),
        withheld=tuple(WithheldRow(w.kind, w.occurred_on, w.count) for w in doc.withheld),
    )


def import_text(text: str, dest: str | os.PathLike[str], *, source: str = "the export") -> Workbook:
    """Like :func:`import_json` for export text already in memory."""
    rows = read_export(text, source=source)
    # built whole under a temporary name: killed part-way, no half-imported workbook is left
    return Workbook.create(
        dest,
        workbook_id=rows.workbook_id,
        side=rows.side,
        client_workbook_id=rows.client_workbook_id,
        fill=lambda wb: wb.import_rows(rows),
    )


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write-schema":
        Path(argv[1]).write_text(
            json.dumps(export_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return 0
    print("usage: python -m heron_research.workbook.portable --write-schema PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
