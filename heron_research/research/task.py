"""One input, start to finish: the task a Dask worker runs for each workbook, export or bundle.

:func:`process_source` notes the file's signature, opens it read-only, asks the consent gate,
reads only what the research audience may see, runs the anonymiser steps and returns Arrow
record batches (a few kilobytes) with what the manifest needs. It never raises for a bad input:
a file that cannot be read comes back as ``erred`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from heron_research.records.consent import ConsentState
from heron_research.records.models import CO_COUNSELLING_SESSION, PERSON
from heron_research.research import anonymise
from heron_research.research.anonymise import FreeText, ParticipantData
from heron_research.research.arrow import read_batch, to_batches
from heron_research.research.bundles import BundleReader, StudyIdentities
from heron_research.research.gate import EXCLUSION_REASONS
from heron_research.research.keys import Pseudonymiser
from heron_research.research.sources import (
    ERROR_REASONS,
    ChangedWhileReading,
    Format,
    Source,
    StoredRow,
    classify_error,
    consent_decision,
    content_digest,
    open_source,
    sniff,
    stored_rows,
)
from heron_research.research.tables import (
    TABLES,
    Context,
    Item,
    ItemField,
    Position,
    RecordField,
    Table,
    kinds_read,
)
from heron_research.visibility import Audience
from heron_research.workbook.snapshot import Signature, signature

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "SourceResult",
    "TaskSettings",
    "extract",
    "process_source",
    "process_sources",
    "read_batch",
]

Status = Literal["included", "excluded", "erred"]


@dataclass(frozen=True)
class TaskSettings:
    """What every task needs: the pseudonym key, the free-text mode, the consent moment and
    the study's age identities (for research bundles)."""

    keys: Pseudonymiser
    free_text: FreeText
    as_of: datetime
    identities: StudyIdentities = field(default_factory=StudyIdentities)


@dataclass
class SourceResult:
    """What one input gave. ``detail`` may name the file: it is shown to the researcher on
    their terminal and never written into the dataset."""

    index: int
    status: Status
    code: str
    input_ref: str
    detail: str = ""
    source_format: Format | None = None
    participant_id: str | None = None
    #: the latest save in the workbook (UTC stamp): of two copies of a workbook, the newer wins
    last_saved: str = ""
    #: table name -> one Arrow IPC record batch message (without its schema: see batch())
    tables: dict[str, bytes] = field(default_factory=dict)
    #: a research bundle of an older format (people blank, own words "other")
    older_bundle: bool = False
    #: the free-text mode the batches were made with (it decides their schema)
    free_text: FreeText = "none"
    terms: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        if self.status == "included":
            return "research consent in force"
        if self.status == "excluded":
            return EXCLUSION_REASONS[self.code]
        return ERROR_REASONS[self.code]

    def batch(self, table: str) -> pa.RecordBatch:
        """A table's rows as an Arrow record batch."""
        return read_batch(self.tables[table], table, self.free_text)


# --- extraction ------------------------------------------------------------------------------


def _rows(spec: Table, records: list[dict[str, Any]], context: Context) -> dict[str, list[Any]]:
    """The raw column lists of one table from the stored records of its kind."""
    columns: dict[str, list[Any]] = {c.name: [] for c in spec.columns}
    if spec.items is None:
        for col in spec.columns:
            get = col.get
            if type(get) is RecordField:
                name = get.name
                columns[col.name] = [r[name] for r in records]
            elif get is not None:
                columns[col.name] = [get(r, None, context) for r in records]
        return columns
    items = [(r, item) for r in records for item in enumerate(r[spec.items])]
    for col in spec.columns:
        get = col.get
        if type(get) is ItemField:
            name = get.name
            columns[col.name] = [item[1][name] for _, item in items]
        elif type(get) is RecordField:
            name = get.name
            columns[col.name] = [r[name] for r, _ in items]
        elif type(get) is Item:
            columns[col.name] = [item[1] for _, item in items]
        elif type(get) is Position:
            columns[col.name] = [item[0] for _, item in items]
        elif get is not None:
            columns[col.name] = [get(r, item, context) for r, item in items]
    return columns


def _tables(by_kind: dict[str, list[StoredRow]], context: Context) -> dict[str, dict[str, list]]:
    return {
        spec.name: _rows(spec, [row.data for row in by_kind.get(spec.kind, ())], context)
        for spec in TABLES
        if spec.kind is not None
    }


def _context(people: list[StoredRow], by_kind: dict[str, list[StoredRow]]) -> Context:
    return Context(
        {p.id: str(p.data["relationship"]) for p in people},
        {kind: [row.data for row in rows] for kind, rows in by_kind.items()},
    )


def _names(wb: Source, people: list[StoredRow], consent: ConsentState) -> list[tuple[str, str]]:
    """Every name the client has used for someone (earlier aliases too) and co-counselling
    peers, each with what to write instead: for scrubbing free text. (``consent``: the one
    the gate judged; the client's own view does not depend on it, and is not read again.)"""
    names: list[tuple[str, str]] = []
    for row in people:
        aliases = {str(row.data.get("alias", ""))}
        if row.revision > 1:
            aliases |= {str(v.data.get("alias", "")) for v in wb.history(row.id)}
        relationship = str(row.data.get("relationship", "person"))
        names.extend((alias, relationship) for alias in sorted(aliases) if alias)
    peers = stored_rows(
        wb, [CO_COUNSELLING_SESSION], Audience.CLIENT, consent=consent, include_deleted=True
    )
    for row in peers:
        names.append((str(row.data.get("peer_alias", "")), "peer"))
    return names


def extract(wb: Source, *, with_names: bool = False) -> tuple[ParticipantData | None, str]:
    """The research-visible records of an open workbook as raw columns, or None and the
    exclusion code if the consent gate says no (or nothing is shared for research).

    Consent is judged at the workbook clock's now (:func:`process_source` opens workbooks
    with a clock that reads the batch's moment); a research bundle is judged on the
    consent in force when it was made (see
    :func:`~heron_research.research.sources.consent_decision`). The consent ledger is read
    validated, as the gate's input; the gate asks
    :func:`heron_research.visibility.visible_levels` which sharing levels research may see,
    and only records at those levels are read. The people register is read in full (the
    client's view) for relationships and, to scrub free text, names; neither table is
    exported.
    """
    decision = consent_decision(wb)
    if not decision.included:
        return None, decision.code
    rows = stored_rows(wb, kinds_read(), Audience.RESEARCH, consent=decision.state)
    if not rows:
        return None, "nothing_shared"
    people = stored_rows(
        wb, [PERSON], Audience.CLIENT, consent=decision.state, include_deleted=True
    )
    by_kind: dict[str, list[StoredRow]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    try:
        tables = _tables(by_kind, _context(people, by_kind))
    except (KeyError, TypeError, ValueError, AttributeError):
        # stored JSON not in the shape this version writes: validate it as the store would
        people = [p.validated() for p in people]
        by_kind = {kind: [r.validated() for r in group] for kind, group in by_kind.items()}
        tables = _tables(by_kind, _context(people, by_kind))
    data = ParticipantData(
        workbook_id=wb.id,
        tables=tables,
        names=_names(wb, people, decision.state) if with_names else [],
        exported_ids=frozenset(row.id for row in rows),
        visible_people=frozenset(
            p.id for p in stored_rows(wb, [PERSON], Audience.RESEARCH, consent=decision.state)
        ),
        last_saved=max(row.updated_at for row in (*rows, *people)),
    )
    return data, "included"


def anonymised(data: ParticipantData, settings: TaskSettings) -> ParticipantData:
    """Run the per-participant anonymiser steps in order."""
    steps: list[Callable[[ParticipantData], ParticipantData]] = [
        lambda d: anonymise.pseudonymise(d, settings.keys),
        anonymise.shift_time,
        anonymise.free_text_step(settings.free_text),
        anonymise.scrub_own_words,
        anonymise.participant_row,
    ]
    for step in steps:
        data = step(data)
    return data


# --- the task --------------------------------------------------------------------------------


def _erred(
    index: int, ref: str, exc: BaseException, path: Path, source_format: Format | None
) -> SourceResult:
    code = classify_error(exc)
    detail = str(exc) if code != "failed" else f"{type(exc).__name__}: {exc}"
    if code == "changed":
        detail = f"{path} changed while it was being read"
    return SourceResult(
        index, "erred", code, ref, detail=detail or code, source_format=source_format
    )


def _content_ref(keys: Pseudonymiser, path: Path) -> str:
    """A reference for an input that could not be read as a workbook: from its bytes."""
    try:
        return keys.input_ref(f"sha256:{content_digest(path)}")
    except OSError:
        return keys.input_ref(f"path:{path}")


def _changed(file: Path, before: Signature | None) -> bool:
    """Whether the file changed since ``before`` (its signature before it was read)."""
    if before is None:
        return False
    try:
        return signature(file) != before
    except OSError:
        return True


def process_source(path: str, index: int, settings: TaskSettings) -> SourceResult:
    """Read one input into anonymised record batches; never raises for a bad input.

    The input is named in the manifest by a keyed hash of its format and workbook id (of
    its bytes, if it could not be read as a workbook), never by its path. A research
    bundle's free text was left out or scrubbed on the client's machine, with the client's
    own people register: the batch has no names to scrub it with, and runs the scrubber's
    patterns over it again (what the client's scrubber wrote, they leave as it is).
    """
    return process_sources([path], index, settings)[0]


def process_sources(paths: list[str], first: int, settings: TaskSettings) -> list[SourceResult]:
    """:func:`process_source` for several inputs (numbered from ``first``) in one task: each
    is read and anonymised alone, and the included ones' rows are converted to Arrow
    together (see :func:`~heron_research.research.arrow.to_batches`)."""
    staged = [_anonymise_source(path, first + i, settings) for i, path in enumerate(paths)]
    included = [(at, data) for at, (_, data) in enumerate(staged) if data is not None]
    try:
        converted = to_batches([data for _, data in included], settings.free_text)
    except Exception:  # one participant's rows the conversion refuses: find whose, alone
        converted = [_batches_alone(data, settings.free_text) for _, data in included]
    results = [result for result, _ in staged]
    for (at, _), tables in zip(included, converted, strict=True):
        if isinstance(tables, Exception):
            result = results[at]
            results[at] = _erred(
                result.index, result.input_ref, tables, Path(paths[at]), result.source_format
            )
        else:
            results[at].tables = tables
    return results


def _batches_alone(data: ParticipantData, free_text: FreeText) -> dict[str, bytes] | Exception:
    try:
        return to_batches([data], free_text)[0]
    except Exception as exc:
        return exc


def _anonymise_source(
    path: str, index: int, settings: TaskSettings
) -> tuple[SourceResult, ParticipantData | None]:
    """One input read and anonymised: its result (without its Arrow batches) and, if it is
    included, its anonymised rows; never raises for a bad input."""
    file = Path(path)
    keys = settings.keys
    fmt: Format | None = None
    before: Signature | None = None
    try:
        before = signature(file)
        fmt = sniff(file)
        with open_source(file, fmt, settings.as_of, settings.identities) as wb:
            workbook_id = wb.id
            data, code = extract(wb, with_names=not isinstance(wb, BundleReader))
            older = isinstance(wb, BundleReader) and wb.older_format
            if data is not None and isinstance(wb, BundleReader):
                data.last_saved = wb.created_at  # the bundle stands for the workbook then
        if signature(file) != before:
            raise ChangedWhileReading(path)
    except Exception as exc:
        if not isinstance(exc, ChangedWhileReading) and _changed(file, before):
            exc = ChangedWhileReading(path)  # read while being written: the file's fault
        return _erred(index, _content_ref(keys, file), exc, file, fmt), None
    ref = keys.input_ref(f"{fmt}:{workbook_id}")
    if data is None:
        return SourceResult(index, "excluded", code, ref, detail=path, source_format=fmt), None
    try:
        data = anonymised(data, settings)
        result = SourceResult(
            index,
            "included",
            "included",
            ref,
            source_format=fmt,
            participant_id=data.participant_id,
            last_saved=data.last_saved,
            older_bundle=older,
            free_text=settings.free_text,
            terms=anonymise.custom_terms(data),
        )
    except Exception as exc:  # a bug or a record the steps cannot handle: report, go on
        return _erred(index, ref, exc, file, fmt), None
    return result, data
