"""Receiving: what ``heron-research receive`` does, between a bundle file and a workbook.

Two flows, chosen by the bundle's audience:

* **A practitioner receives a client's bundle** (``audience: practitioner``) into their
  *practice workbook* for that client, made on first receipt (``--into`` a path that does
  not exist) and bound to the client's workbook id. A later bundle (a larger sequence)
  replaces the client's entries wholesale with what it holds: an entry made private,
  deleted, or withheld because consent was withdrawn disappears, with its history (no
  trace in records or history; the store overwrites deleted content). The practitioner's
  own entries are kept; practitioner entries the bundle carries that the practice workbook
  does not hold yet (made in the client's own file) are added. The counts of what the
  client kept back and the client's consent in force are stored, so the practitioner's
  report made there equals the one made from the client's workbook for them.
* **A client receives their practitioner's bundle** (``audience: client``): merged keyed by
  id and side. Practitioner entries are added or replaced, and those absent from the
  bundle are removed; an entry of a kind the practitioner does not write, or whose id is
  one of the client's own entries, is refused by itself and the summary says so.

Either way, a bundle whose sequence is not larger than the last one received changes
nothing and says so; everything else is refused whole, before anything is written: a
wrong key, a damaged or foreign file, a bundle for another workbook, a research bundle
(an input of ``batch``), a newer format. A receipt is one transaction (a new practice
workbook appears whole or not at all), so a receive killed part-way leaves the workbook as
it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from heron_research.errors import BundleError, BundleWorkbookError, ShareError
from heron_research.exchange.bundle import BundleDocument, BundleRecord, decrypt_bundle
from heron_research.exchange.keys import load_identity
from heron_research.exchange.share import IDENTITY_SETTING
from heron_research.records import ConsentEntry, Sharing, Side, record_type, validate_record
from heron_research.visibility import Audience
from heron_research.workbook.snapshot import read_quietly
from heron_research.workbook.store import Workbook
from heron_research.workbook.stored import (
    Received,
    RecordRow,
    WithheldRow,
    parse_stamp,
    when_columns,
)

__all__ = ["ReceiveResult", "Refused", "receive"]

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Refused:
    """An entry of a practitioner's bundle that was not taken in, and why."""

    kind: str
    id: str
    reason: str


@dataclass(frozen=True)
class ReceiveResult:
    """What a receipt did."""

    path: Path
    practice: bool  # into a practice workbook (else: a client's workbook)
    created: bool  # the practice workbook was made by this receipt
    sequence: int
    applied: bool  # False: the bundle was not newer than the last one received
    last_sequence: int | None = None
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    kept: int = 0  # the receiver's own entries, left as they were
    refused: tuple[Refused, ...] = field(default=())

    def lines(self) -> list[str]:
        """The summary in words, for the CLI and the lab."""
        who = "your client's" if self.practice else "your practitioner's"
        if not self.applied:
            return [
                f"Bundle {self.sequence} is not newer than bundle {self.last_sequence}, the last "
                f"one {self.path} received: nothing was changed."
            ]
        made = "Made the practice workbook" if self.created else "Updated"
        out = [
            f"{made} {self.path} from {who} bundle {self.sequence}: {self.added:,} entries "
            f"added, {self.replaced:,} updated, {self.unchanged:,} unchanged, "
            f"{self.removed:,} removed."
        ]
        if self.practice:
            out.append(
                f"The client's entries there are now exactly what they share; your own "
                f"{self.kept:,} entries are as they were."
            )
        for refused in self.refused:
            label = record_type(refused.kind).facts.label
            out.append(f"Refused the {label} {refused.id}: {refused.reason}.")
        return out


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{path}: no such bundle file") from None
    except IsADirectoryError:
        raise BundleError(f"{path} is a folder, not a bundle file") from None
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None


def _identity_path(into: Path, given: str | os.PathLike[str] | None) -> Path:
    if given is not None:
        return Path(given).expanduser().resolve()
    if into.exists():
        known = read_quietly(into, lambda wb: wb.get_setting(IDENTITY_SETTING))
        if known:
            return Path(known)
    raise ShareError(
        "your key is not known yet: give --identity FILE (the key whose public recipient you "
        "gave the sender); it is remembered for next time"
    )


def _row(entry: BundleRecord) -> RecordRow:
    """A bundle entry as the store's row (its data validated by its model again)."""
    record = validate_record(record_type(entry.kind), entry.data, document=True)
    day, at = when_columns(record)
    return RecordRow(
        entry.id,
        entry.kind,
        entry.sharing.value,
        day,
        at,
        entry.created_at,
        entry.updated_at,
        None,
        entry.revision,
        json.dumps(record.to_data(), ensure_ascii=False, sort_keys=True),
        Side(entry.side).value,
    )


def _consent(doc: BundleDocument) -> dict[str, object] | None:
    """The client's consent entry in force, as a practice workbook keeps it."""
    c = doc.consent
    if not c.given or c.recorded_at is None or c.principles_version is None:
        return None
    seed = f"{doc.client_workbook_id}:{c.recorded_at}".encode()
    entry = ConsentEntry(
        id=hashlib.sha256(seed).hexdigest()[:32],
        sharing=Sharing.PRACTITIONER,
        recorded_at=datetime.fromisoformat(c.recorded_local)
        if c.recorded_local
        else parse_stamp(c.recorded_at),
        principles_version=c.principles_version,
        training=c.training,
        practitioner_sharing=c.practitioner_sharing,
        research=c.research if c.research_consented is None else c.research_consented,
    )
    return entry.to_data()


def _received(doc: BundleDocument, *, practice: bool) -> Received:
    p = doc.provenance
    return Received(p.sequence, p.created_at, _consent(doc) if practice else None)


def _not_newer(wb: Workbook, doc: BundleDocument, practice: bool) -> ReceiveResult | None:
    last = wb.received()
    if last is not None and doc.provenance.sequence <= last.sequence:
        return ReceiveResult(
            wb.path, practice, False, doc.provenance.sequence, False, last.sequence
        )
    return None


# --- a practitioner receives their client's bundle ------------------------------------------


def _into_practice(wb: Workbook, doc: BundleDocument, created: bool) -> ReceiveResult:
    """Replace the client's entries in practice workbook ``wb`` with ``doc``'s (in the
    caller's transaction)."""
    theirs = wb.side_rows(Side.CLIENT)
    mine = wb.side_rows(Side.PRACTITIONER)
    put: list[RecordRow] = []
    refused: list[Refused] = []
    added = replaced = unchanged = 0
    for entry in (*doc.records, *doc.people):
        if entry.side is Side.PRACTITIONER:
            if entry.id not in mine:  # made in the client's own file: now yours here
                put.append(_row(entry))
                added += 1
            continue
        if entry.id in mine:
            refused.append(Refused(entry.kind, entry.id, "its id is one of your own entries"))
            continue
        row = _row(entry)
        put.append(row)
        before = theirs.get(entry.id)
        if before is None:
            added += 1
        elif before._replace(occurred_on=None, occurred_at=None) == row._replace(
            occurred_on=None, occurred_at=None
        ):
            unchanged += 1
        else:
            replaced += 1
    kept_ids = {r.id for r in put}
    removed = sum(1 for rid in theirs if rid not in kept_ids)
    wb.replace_received(
        remove=list(theirs),  # wholesale: no earlier version of theirs stays
        put=put,
        received=_received(doc, practice=True),
        withheld=[WithheldRow(w.kind, w.occurred_on, w.count) for w in doc.withheld],
    )
    return ReceiveResult(
        wb.path,
        True,
        created,
        doc.provenance.sequence,
        True,
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        removed=removed,
        kept=len(mine),
        refused=tuple(refused),
    )


def _receive_practice(
    into: Path, doc: BundleDocument, key_path: Path, clock: Clock | None
) -> ReceiveResult:
    client = doc.client_workbook_id
    if not into.exists():
        results: list[ReceiveResult] = []

        def fill(wb: Workbook) -> None:
            with wb.atomic():
                results.append(_into_practice(wb, doc, True))
                wb.set_setting(IDENTITY_SETTING, str(key_path))

        Workbook.create(
            into, side=Side.PRACTITIONER, client_workbook_id=client, clock=clock, fill=fill
        ).close()
        return results[0]
    with Workbook.open(into, clock=clock) as wb:
        if not wb.is_practice:
            raise BundleWorkbookError(
                f"{into} is a client's own workbook; a bundle from a client goes into your "
                "practice workbook for them (--into a new path makes one). Nothing was changed."
            )
        if wb.client_workbook_id != client:
            raise BundleWorkbookError(
                f"this bundle comes from another client's workbook ({client[:8]}...), not the "
                f"one {into} is for ({wb.client_workbook_id[:8]}...). Nothing was changed."
            )
        with wb.atomic():
            same = _not_newer(wb, doc, True)
            if same is not None:
                return same
            result = _into_practice(wb, doc, False)
            wb.set_setting(IDENTITY_SETTING, str(key_path))
        return result


# --- a client receives their practitioner's bundle ------------------------------------------


def _into_client(wb: Workbook, doc: BundleDocument) -> ReceiveResult:
    held = wb.sides(e.id for e in (*doc.records, *doc.people))
    theirs = wb.side_rows(Side.PRACTITIONER)
    put: list[RecordRow] = []
    refused: list[Refused] = []
    taken: set[str] = set()
    added = replaced = unchanged = 0
    for entry in (*doc.records, *doc.people):
        facts = record_type(entry.kind).facts
        if entry.side is not Side.PRACTITIONER or not facts.written_by(Side.PRACTITIONER):
            writers = " or ".join(sorted(facts.writers))
            refused.append(
                Refused(entry.kind, entry.id, f"only the {writers} writes {facts.plural}")
            )
            continue
        if entry.id in held and held[entry.id][1] is Side.CLIENT:
            refused.append(
                Refused(entry.kind, entry.id, "it is your own entry; only you change it")
            )
            continue
        if entry.id in held and held[entry.id][0] != entry.kind:
            refused.append(Refused(entry.kind, entry.id, "its id belongs to another kind"))
            continue
        taken.add(entry.id)
        row = _row(entry)
        before = theirs.get(entry.id)
        if before is None:
            put.append(row)
            added += 1
        elif before._replace(occurred_on=None, occurred_at=None) == row._replace(
            occurred_on=None, occurred_at=None
        ):
            unchanged += 1  # what you hold already: its history stays as it is
        else:
            put.append(row)
            replaced += 1
    gone = [rid for rid in theirs if rid not in taken]
    wb.replace_received(remove=gone, put=put, received=_received(doc, practice=False))
    return ReceiveResult(
        wb.path,
        False,
        False,
        doc.provenance.sequence,
        True,
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        removed=len(gone),
        kept=len(wb.side_rows(Side.CLIENT)),
        refused=tuple(refused),
    )


def _receive_client(
    into: Path, doc: BundleDocument, key_path: Path, clock: Clock | None
) -> ReceiveResult:
    if not into.exists():
        raise BundleWorkbookError(
            f"{into}: no such workbook; your practitioner's bundle goes into your own workbook"
        )
    with Workbook.open(into, clock=clock) as wb:
        if wb.is_practice:
            raise BundleWorkbookError(
                f"{into} is a practice workbook; a practitioner's bundle goes into the client's "
                "own workbook. Nothing was changed."
            )
        if wb.id != doc.client_workbook_id:
            raise BundleWorkbookError(
                f"this bundle is for another workbook ({doc.client_workbook_id[:8]}...), not "
                f"{into} ({wb.id[:8]}...). Nothing was changed."
            )
        with wb.atomic():
            same = _not_newer(wb, doc, False)
            if same is not None:
                return same
            result = _into_client(wb, doc)
            wb.set_setting(IDENTITY_SETTING, str(key_path))
        return result


def receive(
    bundle: str | os.PathLike[str],
    into: str | os.PathLike[str],
    *,
    identity: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
) -> ReceiveResult:
    """Take the bundle file ``bundle`` into the workbook ``into`` (see the module's text).

    ``identity`` is the receiver's key file (default: the one ``into`` remembers); it is
    remembered. Everything that can be refused is refused before anything is written.
    """
    source, into = Path(bundle), Path(into)
    key_path = _identity_path(into, identity)
    key = load_identity(key_path)
    doc = decrypt_bundle(_read(source), [key], source=str(source))
    audience = Audience(doc.provenance.audience)
    if audience is Audience.RESEARCH:
        raise BundleWorkbookError(
            f"{source} is a research bundle: it is an input of heron-research batch (with the "
            "study's key), not of receive. Nothing was changed."
        )
    if audience is Audience.PRACTITIONER:
        return _receive_practice(into, doc, key_path, clock)
    return _receive_client(into, doc, key_path, clock)
